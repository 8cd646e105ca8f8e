"""Sharpness-Aware Minimization (Foret et al. 2021) as a two-pass train step around any optimizer.

Each step: the gradient g at w; the ascent to w + rho * g / ||g||; the gradient
there, which the wrapped optimizer (SGD, Adam, AdamW) then applies at w.
A custom train step is backend-specific in Keras 3: the two live in
``keras_internals``; the rest of the project stays on the portable Keras API.
BatchNormalization statistics and the reported metrics come from the first pass.
"""

from __future__ import annotations

import keras

from ..errors import ParamsError


class SharpnessAware(keras.Model):
    """Trains ``inner`` with SAM; save ``inner`` afterwards (a plain Keras model)."""

    def __init__(self, inner: keras.Model, rho: float, **kwargs):
        super().__init__(name=f"sam_{inner.name}", **kwargs)
        self.inner = inner
        self.rho = float(rho)

    def call(self, inputs, training=False):
        return self.inner(inputs, training=training)


def sharpness_aware(inner: keras.Model, rho: float) -> keras.Model:
    """``inner`` wrapped for SAM training on the active backend."""
    backend = keras.backend.backend()
    from .keras_internals import jax_train_step, tensorflow_train_step

    if backend == "tensorflow":
        train_step = tensorflow_train_step()
    elif backend == "jax":
        train_step = jax_train_step()
    else:
        raise ParamsError(f"sam_rho > 0 needs the tensorflow or jax Keras backend; this one is {backend!r}")
    cls = type("SharpnessAware", (SharpnessAware,), {"train_step": train_step})
    return cls(inner, rho)
