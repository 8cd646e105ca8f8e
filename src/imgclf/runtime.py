"""The process-wide Keras state a stage runs under: its random seed and its dtype policy.

Library functions never set either; a stage's entry point opens ``keras_state``
once, and the policy is put back when it closes, so tests and notebooks that
build several models in one process see no leftovers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def keras_state(seed: int, dtype_policy: str = "float32") -> Iterator[None]:
    """Seed Python's, NumPy's and the backend's generators, and build models under ``dtype_policy``."""
    import keras

    keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
