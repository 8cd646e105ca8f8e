"""One trainer per ``model`` name. Each writes ``model.keras`` (raw inputs in, logits out)
into its output folder and returns the summary that becomes train.json."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from .arrays import read_classes, read_embeddings, read_split
from .batches import Batches
from .distribution import placement, scaled
from .errors import ParamsError
from .heads import build_head, embedding_stats
from .io import atomic_file, normalize_keras_archive, read_json
from .params import Params
from .training import FitResult, apply_precision, fit_classifier


def save_model(model: keras.Model, path: Path) -> None:
    """The architecture and weights, for inference: an uncompiled view of ``model`` saves no optimizer
    state (half the file for Adam), which the epoch checkpoints keep instead. The file is made
    byte-reproducible, so the same weights give the same DVC hash."""
    inference = keras.Model(model.inputs, model.outputs, name=model.name)
    with atomic_file(path) as tmp:
        inference.save(tmp)
        normalize_keras_archive(tmp)


def trainable_count(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def summary(model: keras.Model, name: str, kind: str, result: FitResult, n_train: int, n_val: int, **extra) -> dict:
    """train.json's content, plus a ``timing`` entry the stage writes elsewhere (see ``FitResult.timing``)."""
    return {
        "model": name,
        "input": kind,
        "params": int(model.count_params()),
        "trainable_params": trainable_count(model),
        "train_images": n_train,
        "val_images": n_val,
        **result.outcome(),
        **extra,
        "timing": result.timing(),
    }


# ---------------------------------------------------------------- linear probe


def logistic_regression_as_keras(mean, scale, coef, intercept) -> keras.Model:
    """A fitted StandardScaler + LogisticRegression as a Keras model with the same logits."""
    dim, classes = coef.shape[1], coef.shape[0]
    inputs = keras.Input((dim,), name="embedding")
    x = keras.layers.Normalization(mean=mean, variance=np.square(scale), name="standardize")(inputs)
    dense = keras.layers.Dense(classes, name="logits")
    outputs = dense(x)
    dense.set_weights([coef.T.astype(np.float32), intercept.astype(np.float32)])
    return keras.Model(inputs, outputs, name="linear_probe")


def train_linear_probe(params: Params, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> dict:
    """Multinomial logistic regression on standardized embeddings; C chosen on validation accuracy, then loss."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.preprocessing import StandardScaler

    from .live import open_live

    recipe = params.models.linear_probe
    classes = np.arange(len(read_classes(split_dir)))
    x_train, y_train = read_embeddings(features_dir, split_dir, "train")
    x_val, y_val = read_embeddings(features_dir, split_dir, "val")
    scaler = StandardScaler().fit(x_train)
    z_train, z_val = scaler.transform(x_train), scaler.transform(x_val)
    live = open_live(out / "live")
    fits, start = [], time.perf_counter()
    for c in recipe.C:
        clf = LogisticRegression(C=c, max_iter=recipe.max_iter, random_state=params.seed).fit(z_train, y_train)
        scores = {
            "train/accuracy": clf.score(z_train, y_train),
            "train/loss": log_loss(y_train, clf.predict_proba(z_train), labels=classes),
            "val/accuracy": clf.score(z_val, y_val),
            "val/loss": log_loss(y_val, clf.predict_proba(z_val), labels=classes),
            "C": c,
        }
        for name, value in scores.items():
            live.log_metric(name, float(value))
        live.next_step()
        fits.append((scores["val/accuracy"], -scores["val/loss"], clf))
    seconds = time.perf_counter() - start
    live.end()
    # Best validation accuracy; ties go to the lower validation loss.
    best = max(range(len(fits)), key=lambda i: fits[i][:2])
    clf = fits[best][2]
    model = logistic_regression_as_keras(scaler.mean_, scaler.scale_, clf.coef_, clf.intercept_)
    save_model(model, out / "model.keras")
    result = FitResult(
        epochs_run=len(fits),
        best_epoch=best + 1,
        best_val_accuracy=float(fits[best][0]),
        seconds=round(seconds, 3),
        images_per_second=round(len(x_train) * len(fits) / seconds, 1),
    )
    return summary(
        model, "linear_probe", "embeddings", result, len(x_train), len(x_val), precision="float64", best_C=recipe.C[best]
    )


# ------------------------------------------------------------------------ head


def fit_head(recipe, key: str, params: Params, split_dir: Path, features_dir: Path, live_dir: Path, checkpoint=None):
    """A dense head fitted on the cached embeddings: (model, FitResult, train size, val size)."""
    classes = len(read_classes(split_dir))
    x_train, y_train = read_embeddings(features_dir, split_dir, "train")
    x_val, y_val = read_embeddings(features_dir, split_dir, "val")
    mean, variance = embedding_stats(x_train)
    model = build_head(x_train.shape[1], classes, recipe.hidden_units, recipe.dropout, mean, variance, params.seed)
    train = Batches(x_train, y_train, classes, recipe.batch_size, seed=params.seed)
    val = Batches(x_val, y_val, classes, recipe.batch_size)
    result = fit_classifier(model, recipe, params.train, train, val, live_dir, key, checkpoint)
    return model, result, len(x_train), len(x_val)


def train_head(params: Params, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> dict:
    keras.utils.set_random_seed(params.seed)
    policy = apply_precision(params.train.mixed_precision)
    place = placement(params.train.distribution)
    recipe = scaled(params.models.head, place.replicas)
    with place.scope():
        model, result, n_train, n_val = fit_head(
            recipe, "models.head", params, split_dir, features_dir, out / "live", _phase(checkpoints, "head")
        )
    save_model(model, out / "model.keras")
    return summary(model, "head", "embeddings", result, n_train, n_val, precision=policy, **_placed(place, recipe))


# -------------------------------------------------------------------- finetune


def finetune_backbone(manifest: dict, fine_tune_at: int) -> keras.Model:
    """The featurize stage's backbone, trainable from layer ``fine_tune_at`` on, BatchNormalization frozen.

    Built from the manifest (backbone, weights, alpha, size), so with the same seed
    it is the very network whose embeddings the cache holds, random init included.
    """
    from .backbones import build_backbone, resolve_weights

    weights, _ = resolve_weights(manifest["backbone"], manifest["weights"], manifest["alpha"], manifest["image_size"])
    backbone = build_backbone(manifest["backbone"], weights, manifest["alpha"], manifest["image_size"])
    if fine_tune_at >= len(backbone.layers):
        raise ParamsError(
            f"models.finetune.fine_tune_at must be below the {len(backbone.layers)} layers of "
            f"{manifest['backbone']}; got {fine_tune_at}"
        )
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= fine_tune_at and not isinstance(layer, keras.layers.BatchNormalization)
    return backbone


def finetune_model(manifest: dict, backbone: keras.Model, head: keras.Model, input_size: int, augment, seed: int):
    """pixels -> augment -> ImageNet scaling -> resize -> backbone -> head, the backbone in inference mode.

    Calling the backbone with ``training=False`` keeps every BatchNormalization layer
    on its ImageNet moving statistics, never updated: the fix for the collapse of a
    frozen ResNet50 with a new head (validation accuracy falling from ~50% to ~30%).
    """
    from .architectures.classifier import augmentation
    from .backbones import BACKBONES
    from .layers import ImageNetPreprocess

    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    augmenter = augmentation(augment, input_size, seed)
    x = augmenter(inputs) if augmenter is not None else inputs
    x = ImageNetPreprocess(BACKBONES[manifest["backbone"]].preprocessing, name="imagenet_scale")(x)
    if input_size != manifest["image_size"]:
        x = keras.layers.Resizing(manifest["image_size"], manifest["image_size"], name="resize")(x)
    x = backbone(x, training=False)
    return keras.Model(inputs, head(x), name=f"{manifest['backbone']}_finetune")


def train_finetune(params: Params, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> dict:
    keras.utils.set_random_seed(params.seed)
    policy = apply_precision(params.train.mixed_precision)
    place = placement(params.train.distribution)
    recipe = scaled(params.models.finetune, place.replicas)
    manifest = read_json(Path(features_dir) / "manifest.json")
    images, labels = read_split(split_dir, "train")
    val_images, val_labels = read_split(split_dir, "val")
    classes = len(read_classes(split_dir))
    with place.scope():
        backbone = finetune_backbone(manifest, recipe.fine_tune_at)  # first: same seed state as featurize
        # Phase 1: the head on the cached embeddings (seconds), instead of through the frozen backbone.
        head, head_result, _, _ = fit_head(
            scaled(recipe.head, place.replicas), "models.finetune.head", params, split_dir, features_dir,
            out / "live_head", _phase(checkpoints, "head"),
        )
        model = finetune_model(manifest, backbone, head, images.shape[1], recipe.augment, params.seed)
        # Phase 2: end to end from fine_tune_at, at a low learning rate.
        augment = recipe.augment
        train = Batches(images, labels, classes, recipe.batch_size, params.seed, augment.mixup_alpha, augment.cutmix_alpha)
        val = Batches(val_images, val_labels, classes, recipe.batch_size)
        result = fit_classifier(
            model, recipe, params.train, train, val, out / "live", "models.finetune", _phase(checkpoints, "main")
        )
    save_model(model, out / "model.keras")
    report = summary(
        model,
        "finetune",
        "images",
        result,
        len(labels),
        len(val_labels),
        precision=policy,
        **_placed(place, recipe),
        backbone=manifest["backbone"],
        head_phase=head_result.outcome(),
    )
    report["timing"]["head_phase"] = head_result.timing()
    return report


# ---------------------------------------------------------------- from scratch


def build_features(name: str, recipe, image_size: int) -> keras.Model:
    from .hardware import accelerators

    if name == "mobilenet_v1":
        from .architectures.mobilenet_v1 import build_mobilenet_v1

        return build_mobilenet_v1(image_size, recipe.alpha, recipe.shallow, tuple(recipe.strides))
    if name == "mobilenet_v2":
        from .architectures.mobilenet_v2 import build_mobilenet_v2

        return build_mobilenet_v2(image_size, recipe.alpha, tuple(recipe.strides))
    from .architectures.resnext import build_resnext

    implementation = recipe.grouped_conv
    if implementation == "auto":  # TensorFlow has no CPU kernel for grouped convolutions
        implementation = "native" if accelerators() else "split"
    return build_resnext(
        image_size, recipe.depth, recipe.cardinality, recipe.bottleneck_width, recipe.widen_factor, implementation
    )


def train_from_scratch(params: Params, split_dir: Path, features_dir: Path, out: Path, checkpoints=None) -> dict:
    from .architectures.classifier import image_classifier

    keras.utils.set_random_seed(params.seed)
    policy = apply_precision(params.train.mixed_precision)
    place = placement(params.train.distribution)
    recipe = scaled(params.recipe, place.replicas)
    images, labels = read_split(split_dir, "train")
    val_images, val_labels = read_split(split_dir, "val")
    classes = len(read_classes(split_dir))
    size = images.shape[1]
    augment = recipe.augment
    with place.scope():
        features = build_features(params.model, recipe, size)
        model = image_classifier(features, size, classes, augment, getattr(recipe, "dropout", 0.0), params.seed)
        train = Batches(images, labels, classes, recipe.batch_size, params.seed, augment.mixup_alpha, augment.cutmix_alpha)
        val = Batches(val_images, val_labels, classes, recipe.batch_size)
        key = f"models.{params.model}"
        result = fit_classifier(model, recipe, params.train, train, val, out / "live", key, _phase(checkpoints, "main"))
    save_model(model, out / "model.keras")
    placed = _placed(place, recipe)
    return summary(model, params.model, "images", result, len(labels), len(val_labels), precision=policy, **placed)


TRAINERS = {
    "linear_probe": train_linear_probe,
    "head": train_head,
    "finetune": train_finetune,
    "mobilenet_v1": train_from_scratch,
    "mobilenet_v2": train_from_scratch,
    "resnext": train_from_scratch,
}


def train(params: Params, split_dir: Path, features_dir: Path, out: Path, checkpoints: Path | None = None) -> dict:
    """Train ``params.model``; with ``checkpoints``, resume from and save epoch checkpoints there."""
    return TRAINERS[params.model](params, split_dir, features_dir, out, checkpoints)


def _placed(place, recipe) -> dict:
    return {"replicas": place.replicas, "distribution": place.engine, "global_batch": recipe.batch_size}


def _phase(checkpoints: Path | None, name: str) -> Path | None:
    return None if checkpoints is None else Path(checkpoints) / name
