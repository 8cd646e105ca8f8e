"""Custom Keras layers, registered so a saved ``.keras`` model reloads with them."""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "imgclf"

# ImageNet channel statistics behind the caffe (BGR, 0..255) and torch (RGB, 0..1) conventions.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ImageNetPreprocess(keras.layers.Layer):
    """uint8 RGB pixels to the float scaling an ImageNet backbone was trained with.

    ``caffe``: RGB to BGR, minus the ImageNet mean (ResNet, VGG); ``tf``: to [-1, 1]
    (MobileNet, Inception); ``torch``: to [0, 1], then per-channel standardized
    (DenseNet); ``none``: float 0..255 for models that scale inputs themselves.
    """

    MODES = ("caffe", "tf", "torch", "none")

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}; got {mode!r}")
        self.mode = mode

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "caffe":
            return ops.flip(x, axis=-1) - ops.convert_to_tensor(CAFFE_BGR_MEAN, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor(TORCH_MEAN, self.compute_dtype)
            std = ops.convert_to_tensor(TORCH_STD, self.compute_dtype)
            return (x / 255.0 - mean) / std
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


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

    def __init__(self, filters: int, kernel_size: int, groups: int, strides: int = 1, implementation: str = "native", kernel_initializer="he_normal", **kwargs):
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
