"""The backbones featurize can run: name -> keras.applications constructor, the pixel scaling its weights expect,
its layer count and the widths it has ImageNet weights for.

Plain data, so params validation names the allowed backbones, checks ``features.alpha`` and
``models.finetune.fine_tune_at`` without importing Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

MOBILENET_ALPHAS = (0.25, 0.5, 0.75, 1.0)
MOBILENET_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
MOBILENET_V3_ALPHAS = (0.75, 1.0)


@dataclass(frozen=True)
class Backbone:
    constructor: str  # attribute of keras.applications
    preprocessing: str  # caffe | tf | torch | none (the model scales inputs itself)
    layers: int  # len(model.layers) of the headless model with pooling: the index space of fine_tune_at
    imagenet_alphas: tuple[float, ...] = ()  # widths with published ImageNet weights; () = no alpha knob
    fine_tune_at: int | None = None  # a documented or measured first trainable layer; None = the last third

    @property
    def has_alpha(self) -> bool:
        return bool(self.imagenet_alphas)

    def default_fine_tune_at(self) -> int:
        """``models.finetune.fine_tune_at: auto``: the recipe's layer where one is known, else the last third
        of the layers trainable (an estimate, not measured)."""
        return self.fine_tune_at if self.fine_tune_at is not None else round(self.layers * 2 / 3)


# Layer counts read off Keras 3.15 (the same at every input size); ResNet50's 143 is conv5, the documented
# ResNet50 recipe (docs/models.md); MobileNet's 0 (the whole network) is what measured best on CIFAR-10.
BACKBONES = {
    "resnet50": Backbone("ResNet50", "caffe", 176, fine_tune_at=143),
    "resnet101": Backbone("ResNet101", "caffe", 346),
    "resnet152": Backbone("ResNet152", "caffe", 516),
    "resnet50v2": Backbone("ResNet50V2", "tf", 191),
    "resnet101v2": Backbone("ResNet101V2", "tf", 378),
    "resnet152v2": Backbone("ResNet152V2", "tf", 565),
    "mobilenet": Backbone("MobileNet", "tf", 87, MOBILENET_ALPHAS, fine_tune_at=0),
    "mobilenet_v2": Backbone("MobileNetV2", "tf", 155, MOBILENET_V2_ALPHAS),
    "mobilenet_v3_small": Backbone("MobileNetV3Small", "none", 158, MOBILENET_V3_ALPHAS),
    "mobilenet_v3_large": Backbone("MobileNetV3Large", "none", 188, MOBILENET_V3_ALPHAS),
    "vgg16": Backbone("VGG16", "caffe", 20),
    "vgg19": Backbone("VGG19", "caffe", 23),
    "densenet121": Backbone("DenseNet121", "torch", 428),
    "densenet169": Backbone("DenseNet169", "torch", 596),
    "densenet201": Backbone("DenseNet201", "torch", 708),
    "inception_v3": Backbone("InceptionV3", "tf", 312),
    "inception_resnet_v2": Backbone("InceptionResNetV2", "tf", 781),
    "xception": Backbone("Xception", "tf", 133),
    "nasnet_mobile": Backbone("NASNetMobile", "tf", 770),
    "nasnet_large": Backbone("NASNetLarge", "tf", 1040),
    **{
        f"efficientnet_b{i}": Backbone(f"EfficientNetB{i}", "none", n)
        for i, n in enumerate((238, 340, 340, 385, 475, 577, 667, 814))
    },
    **{f"efficientnet_v2_b{i}": Backbone(f"EfficientNetV2B{i}", "none", n) for i, n in enumerate((271, 335, 350, 410))},
    "efficientnet_v2_s": Backbone("EfficientNetV2S", "none", 514),
    "efficientnet_v2_m": Backbone("EfficientNetV2M", "none", 741),
    "efficientnet_v2_l": Backbone("EfficientNetV2L", "none", 1029),
    "convnext_tiny": Backbone("ConvNeXtTiny", "none", 134),
    "convnext_small": Backbone("ConvNeXtSmall", "none", 260),
    "convnext_base": Backbone("ConvNeXtBase", "none", 260),
    "convnext_large": Backbone("ConvNeXtLarge", "none", 260),
    "convnext_xlarge": Backbone("ConvNeXtXLarge", "none", 260),
}


def alpha_problem(name: str, weights: str, alpha: float) -> str | None:
    """What is wrong with ``features.alpha`` for this backbone and weights, or None."""
    spec = BACKBONES[name]
    if not spec.has_alpha and alpha != 1.0:
        return f"features.alpha applies to MobileNet backbones only; got {alpha:g} for {name!r}"
    if weights == "imagenet" and spec.has_alpha and alpha not in spec.imagenet_alphas:
        shown = ", ".join(f"{a:g}" for a in spec.imagenet_alphas)
        return f"features.alpha must be one of {shown} for ImageNet {name} weights; got {alpha:g}"
    return None
