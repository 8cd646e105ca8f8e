"""Frozen ImageNet backbones from ``keras.applications``, taking raw uint8 pixels.

The table below is plain data so params validation can name the allowed
backbones without importing Keras. Each entry says how its ImageNet weights
expect pixels to be scaled; that scaling and the resize run inside the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ParamsError

# Where keras.applications keeps its weight files; IMGCLF_WEIGHTS_MIRROR replaces it.
KERAS_WEIGHTS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Backbone:
    constructor: str  # attribute of keras.applications
    preprocessing: str  # caffe | tf | torch | none (the model scales inputs itself)
    has_alpha: bool = False


BACKBONES = {
    **{f"resnet{d}": Backbone(f"ResNet{d}", "caffe") for d in (50, 101, 152)},
    **{f"resnet{d}v2": Backbone(f"ResNet{d}V2", "tf") for d in (50, 101, 152)},
    "mobilenet": Backbone("MobileNet", "tf", has_alpha=True),
    "mobilenet_v2": Backbone("MobileNetV2", "tf", has_alpha=True),
    "mobilenet_v3_small": Backbone("MobileNetV3Small", "none", has_alpha=True),
    "mobilenet_v3_large": Backbone("MobileNetV3Large", "none", has_alpha=True),
    "vgg16": Backbone("VGG16", "caffe"),
    "vgg19": Backbone("VGG19", "caffe"),
    **{f"densenet{d}": Backbone(f"DenseNet{d}", "torch") for d in (121, 169, 201)},
    "inception_v3": Backbone("InceptionV3", "tf"),
    "inception_resnet_v2": Backbone("InceptionResNetV2", "tf"),
    "xception": Backbone("Xception", "tf"),
    "nasnet_mobile": Backbone("NASNetMobile", "tf"),
    "nasnet_large": Backbone("NASNetLarge", "tf"),
    **{f"efficientnet_b{i}": Backbone(f"EfficientNetB{i}", "none") for i in range(8)},
    **{f"efficientnet_v2_b{i}": Backbone(f"EfficientNetV2B{i}", "none") for i in range(4)},
    **{f"efficientnet_v2_{s}": Backbone(f"EfficientNetV2{s.upper()}", "none") for s in "sml"},
    **{f"convnext_{s}": Backbone(f"ConvNeXt{s.capitalize()}", "none") for s in ("tiny", "small", "base", "large", "xlarge")},
}

def imagenet_weights_file(name: str, alpha: float, image_size: int) -> tuple[str, str | None] | None:
    """(URL, md5 or None) of the no-top ImageNet weights Keras would fetch, where known.

    Known for the ResNet and MobileNet families; other backbones let Keras download
    its own file. The same file Keras uses means the same embeddings.
    """
    mirror = os.environ.get("IMGCLF_WEIGHTS_MIRROR", KERAS_WEIGHTS_BASE).rstrip("/") + "/"
    if name.startswith("resnet"):
        from keras.src.applications.resnet import WEIGHTS_HASHES

        return f"{mirror}resnet/{name}_weights_tf_dim_ordering_tf_kernels_notop.h5", WEIGHTS_HASHES[name][1]
    if name == "mobilenet":
        # Keras ships these sizes; for any other input size it loads the 224 file.
        rows = image_size if image_size in (128, 160, 192, 224) else 224
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}.get(alpha)
        if alpha_text is None:
            raise ParamsError("features.alpha must be one of 0.25, 0.5, 0.75, 1.0 for ImageNet MobileNet weights")
        return f"{mirror}mobilenet/mobilenet_{alpha_text}_{rows}_tf_no_top.h5", None
    if name == "mobilenet_v2":
        rows = image_size if image_size in (96, 128, 160, 192, 224) else 224
        if alpha not in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
            raise ParamsError("features.alpha must be one of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4 for ImageNet MobileNetV2 weights")
        return f"{mirror}mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha:g}_{rows}_no_top.h5", None
    return None


def resolve_weights(name: str, weights: str, alpha: float, image_size: int) -> tuple[str | None, Path | None]:
    """(argument for the keras.applications constructor, local weights file or None)."""
    if weights == "none":
        return None, None
    if weights == "imagenet":
        known = imagenet_weights_file(name, alpha, image_size)
        if known is None:
            return "imagenet", None  # Keras downloads and checks it itself
        from .download import cache_dir, download

        url, md5 = known
        path = download(url, cache_dir() / "weights" / url.rsplit("/", 1)[-1], md5)
        return str(path), path
    path = Path(weights)
    if not path.is_file():
        raise ParamsError(f"features.weights: no such weights file {weights!r} (or use 'imagenet' or 'none')")
    return str(path), path


def preprocess_layer(mode: str):
    """A layer that casts uint8 pixels to float32 and scales them the way ``mode`` expects."""
    from .layers import ImageNetPreprocess

    return ImageNetPreprocess(mode)


def build_backbone(name: str, weights: str | None, alpha: float, image_size: int):
    """The headless backbone with global average pooling, input (image_size, image_size, 3) float."""
    import keras

    spec = BACKBONES[name]
    kwargs = {"alpha": alpha} if spec.has_alpha else {}
    if not spec.has_alpha and alpha != 1.0:
        raise ParamsError(f"features.alpha applies to MobileNet backbones only; got {alpha:g} for {name!r}")
    constructor = getattr(keras.applications, spec.constructor)
    try:
        return constructor(
            include_top=False, weights=weights, input_shape=(image_size, image_size, 3), pooling="avg", **kwargs
        )
    except ValueError as exc:
        raise ParamsError(f"features: {name} cannot be built as asked ({exc})".replace("\n", " ")) from None
