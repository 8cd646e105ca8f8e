"""Frozen ImageNet backbones from ``keras.applications`` and their weight files.

``catalog`` says how each backbone's ImageNet weights expect pixels to be
scaled; that scaling and the resize run inside the model.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from pathlib import Path

from ..errors import ParamsError
from .catalog import BACKBONES, alpha_problem

# Where keras.applications keeps its weight files; IMGCLF_WEIGHTS_MIRROR replaces it.
KERAS_WEIGHTS_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
# md5 of the no-top ResNet weight files, as keras.applications publishes them (keras/src/applications/resnet.py).
RESNET_NOTOP_MD5 = {
    "resnet50": "4d473c1dd8becc155b73f8504c6f6626",
    "resnet101": "88cf7a10940856eca736dc7b7e228a21",
    "resnet152": "ee4c566cf9a93f14d82f913c2dc6dd0c",
    "resnet50v2": "fac2f116257151a9d068a22e544a4917",
    "resnet101v2": "c0ed64b8031c3730f411d2eb4eea35b5",
    "resnet152v2": "ed17cf2e0169df9d443503ef94b23b33",
}


def imagenet_weights_file(name: str, alpha: float, image_size: int) -> tuple[str, str | None] | None:
    """(URL, md5 or None) of the no-top ImageNet weights Keras would fetch, where known.

    Known for the ResNet and MobileNet families; other backbones let Keras download
    its own file. The same file Keras uses means the same embeddings.
    """
    mirror = os.environ.get("IMGCLF_WEIGHTS_MIRROR", KERAS_WEIGHTS_BASE).rstrip("/") + "/"
    if name.startswith("resnet"):
        return f"{mirror}resnet/{name}_weights_tf_dim_ordering_tf_kernels_notop.h5", RESNET_NOTOP_MD5[name]
    if name == "mobilenet":
        # Keras ships these sizes; for any other input size it loads the 224 file.
        rows = image_size if image_size in (128, 160, 192, 224) else 224
        if problem := alpha_problem(name, "imagenet", alpha):
            raise ParamsError(problem)
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[alpha]
        return f"{mirror}mobilenet/mobilenet_{alpha_text}_{rows}_tf_no_top.h5", None
    if name == "mobilenet_v2":
        rows = image_size if image_size in (96, 128, 160, 192, 224) else 224
        if problem := alpha_problem(name, "imagenet", alpha):
            raise ParamsError(problem)
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
        from ..data.download import cache_dir, download

        url, md5 = known
        path = download(url, cache_dir() / "weights" / url.rsplit("/", 1)[-1], md5)
        return str(path), path
    path = Path(weights)
    if not path.is_file():
        raise ParamsError(f"features.weights: no such weights file {weights!r} (or use 'imagenet' or 'none')")
    return str(path), path


def on_pixels(pixels, name: str, image_size: int, backbone, training: bool | None = False):
    """pixels (uint8 or float, 0..255) -> the ImageNet scaling ``name``'s weights expect -> resized to
    ``image_size`` -> ``backbone`` in inference mode: the one graph featurize, fine-tuning and export share.

    Calling the backbone with ``training=False`` keeps every BatchNormalization layer
    on its ImageNet moving statistics: the fix for the collapse of a frozen
    ResNet50 with a new head (validation accuracy falling from ~50% to ~30%).
    Fine-tuning with adapted BatchNormalization passes ``training=None``: the mode
    the whole model is called in.
    """
    import keras

    from .preprocessing import ImageNetPreprocess

    x = ImageNetPreprocess(BACKBONES[name].preprocessing, name="imagenet_scale")(pixels)
    if tuple(pixels.shape[1:3]) != (image_size, image_size):
        x = keras.layers.Resizing(image_size, image_size, name="resize")(x)
    return backbone(x, training=training)


def build_backbone(name: str, weights: str | None, alpha: float, image_size: int, seed: int):
    """The headless backbone with global average pooling, input (image_size, image_size, 3) float.

    A random init (``weights`` None) is drawn from ``seed``, so the network is a function of these arguments
    wherever it is built (featurize, fine-tuning, export), whatever was drawn before. keras.applications
    constructors take no seed; Keras 3 seeds each unseeded initializer from Python's ``random`` as the layer is
    made, so that generator alone is seeded for the build and then put back as it was: the run's own draws
    (batch order, dropout, augmentation) go on as if the backbone had not been built.
    """
    with python_random_seeded(seed if weights is None else None):
        return _constructed(name, weights, alpha, image_size)


@contextlib.contextmanager
def python_random_seeded(seed: int | None) -> Iterator[None]:
    """Python's global generator seeded with ``seed`` in the block (untouched for None), its state put back after."""
    if seed is None:
        yield
        return
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def _constructed(name: str, weights: str | None, alpha: float, image_size: int):
    import keras

    spec = BACKBONES[name]
    kwargs = {"alpha": alpha} if spec.has_alpha else {}
    if problem := alpha_problem(name, "none", alpha):
        raise ParamsError(problem)
    constructor = getattr(keras.applications, spec.constructor)
    try:
        return constructor(
            include_top=False, weights=weights, input_shape=(image_size, image_size, 3), pooling="avg", **kwargs
        )
    except ValueError as exc:
        raise ParamsError(f"features: {name} cannot be built as asked ({exc})".replace("\n", " ")) from None
