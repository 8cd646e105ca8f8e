"""Custom Keras layers of the model zoo, registered so a saved ``.keras`` model reloads with them."""

from __future__ import annotations

import keras
from keras import ops

from ..features.preprocessing import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class GroupedConv2D(keras.layers.Layer):
    """A grouped convolution ("same" padding, no bias) with one kernel and two ways to run it.

    ``native`` hands the whole kernel to ``ops.conv``, which infers the groups from
    its shape: a single fused op on a GPU, but on TensorFlow's CPU path it goes
    through XLA and is very slow. ``split`` slices the input channels and the
    kernel's output channels into ``groups`` ordinary convolutions and concatenates
    them. Both compute the same function from the same (k, k, in/groups, filters)
    kernel, so weights move freely between them.
    """

    IMPLEMENTATIONS = ("native", "split")

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        groups: int,
        strides: int = 1,
        implementation: str = "native",
        kernel_initializer="he_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if implementation not in self.IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {self.IMPLEMENTATIONS}; got {implementation!r}")
        if filters % groups:
            raise ValueError(f"filters ({filters}) must be divisible by groups ({groups})")
        self.filters = filters
        self.kernel_size = kernel_size
        self.groups = groups
        self.strides = strides
        self.implementation = implementation
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(f"input channels ({channels}) must be divisible by groups ({self.groups})")
        shape = (self.kernel_size, self.kernel_size, channels // self.groups, self.filters)
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer=self.kernel_initializer)

    def call(self, inputs):
        kernel = ops.cast(self.kernel, self.compute_dtype)
        if self.implementation == "native" or self.groups == 1:
            return ops.conv(inputs, kernel, strides=self.strides, padding="same")
        parts = zip(ops.split(inputs, self.groups, axis=-1), ops.split(kernel, self.groups, axis=-1))
        return ops.concatenate([ops.conv(x, k, strides=self.strides, padding="same") for x, k in parts], axis=-1)

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        shrink = lambda size: None if size is None else -(-size // self.strides)  # noqa: E731  ceil, as "same"
        return (n, shrink(h), shrink(w), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "groups": self.groups,
            "strides": self.strides,
            "implementation": self.implementation,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class Mirror(keras.layers.Layer):
    """Pictures (N, H, W, C) flipped left to right, always. Models exported with flip TTA before StackViews
    (a Mirror layer, then Average) hold it, so it stays registered for them to load."""

    def call(self, inputs):
        return ops.flip(inputs, axis=-2)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package=PACKAGE)
class RandomShift(keras.layers.Layer):
    """In training, each picture moved by a random whole number of pixels, up to ``pixels`` each way, the
    borders reflected: the CIFAR recipes' pad-and-crop (airbench's, with 2). Keras' RandomTranslation moves by
    fractions of a pixel and interpolates, which blurs a 32x32 picture. At inference, the picture itself.

    The crop is a choice among the 2 * pixels + 1 offsets of each axis, made as sums over one-hot weights:
    plain array ops on every backend, a few multiply-adds per pixel beside the network's thousands.
    """

    def __init__(self, pixels: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.pixels, self.seed = int(pixels), seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or not self.pixels:
            return inputs
        reach = 2 * self.pixels + 1
        height, width = inputs.shape[1], inputs.shape[2]
        offsets = keras.random.randint((ops.shape(inputs)[0], 2), 0, reach, seed=self.generator)
        padded = ops.pad(inputs, [[0, 0], [self.pixels] * 2, [self.pixels] * 2, [0, 0]], mode="reflect")
        rows = ops.one_hot(offsets[:, 0], reach, dtype=inputs.dtype)[:, :, None, None, None]
        cols = ops.one_hot(offsets[:, 1], reach, dtype=inputs.dtype)[:, :, None, None, None]
        x = sum(rows[:, k] * padded[:, k : k + height] for k in range(reach))
        return sum(cols[:, k] * x[:, :, k : k + width] for k in range(reach))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pixels": self.pixels, "seed": self.seed}


def shifted(pictures, pixels: int):
    """Pictures (N, H, W, C) moved ``pixels`` down and right (negative: up and left), the borders reflected."""
    pad = abs(pixels)
    padded = ops.pad(pictures, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="reflect")
    start = pad - pixels
    return padded[:, start : start + pictures.shape[1], start : start + pictures.shape[2], :]


@keras.saving.register_keras_serializable(package=PACKAGE)
class StackViews(keras.layers.Layer):
    """Pictures (N, H, W, C) -> their views (V * N, H, W, C), view by view: each mirrored or not, then shifted.

    The test-time views of ``evaluate.tta`` (evaluation/tta.py) in one batch, so the exported model runs its
    network once on all of them and holds its weights once in every format.
    """

    def __init__(self, views: list, **kwargs):
        super().__init__(**kwargs)
        self.views = [[bool(mirror), int(shift)] for mirror, shift in views]  # [mirror, shift] pairs

    def call(self, inputs):
        made = []
        for mirror, shift in self.views:
            x = ops.flip(inputs, axis=-2) if mirror else inputs
            made.append(shifted(x, shift) if shift else x)
        return ops.concatenate(made, axis=0)

    def compute_output_shape(self, input_shape):
        return (None, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "views": self.views}


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeighViews(keras.layers.Layer):
    """Probabilities (V * N, K) of StackViews' views -> (N, K), their mean weighted by ``weights``."""

    def __init__(self, weights: list, **kwargs):
        super().__init__(**kwargs)
        self.view_weights = [float(w) for w in weights]

    def call(self, inputs):
        per_view = ops.reshape(inputs, (len(self.view_weights), -1, inputs.shape[-1]))
        weights = ops.reshape(ops.convert_to_tensor(self.view_weights, dtype=inputs.dtype), (-1, 1, 1))
        return ops.sum(per_view * weights, axis=0)

    def compute_output_shape(self, input_shape):
        return (None, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "weights": self.view_weights}
