"""The backbones featurize can run: name -> keras.applications constructor and the pixel scaling its weights expect.

Plain data, so params validation names the allowed backbones without importing Keras.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    **{
        f"convnext_{s}": Backbone(f"ConvNeXt{s.capitalize()}", "none")
        for s in ("tiny", "small", "base", "large", "xlarge")
    },
}
