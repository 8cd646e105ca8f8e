"""The pixel scaling an ImageNet backbone was trained with, as a Keras layer, so models take raw uint8 pixels."""

from __future__ import annotations

import keras
from keras import ops

PACKAGE = "imgclf"  # registration namespace of the project's custom layers in saved models

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
