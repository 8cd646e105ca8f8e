"""2. bfloat16 featurize on CPU: speed against float32, and what it does to the head's top-1."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from imgclf.params import FeaturesParams

from .harness import SHARED, interleaved, random_images

MOBILENET_025 = SHARED / "weights" / "mobilenet_1_0_224_tf_no_top_alpha025.h5"
CIFAR10 = SHARED / "datasets" / "cifar10-jpg.tar.gz"


def _featurizer(params, precision: str):
    from imgclf.features.featurize import build_featurizer

    weights = None if params.weights == "none" else params.weights
    return build_featurizer(params, (32, 32, 3), weights, seed=0, precision=precision)


def speed(repeats: int = 3) -> dict:
    """ResNet50 at 224 (random weights): images/s under float32 and mixed_bfloat16, and embedding drift."""
    params = FeaturesParams(backbone="resnet50", weights="none", image_size=224, batch_size=32)
    models = {p: _featurizer(params, p) for p in ("float32", "bfloat16")}
    images = random_images(32, 32)
    times = interleaved(
        {p: (lambda m=m: m.predict(images, batch_size=32, verbose=0)) for p, m in models.items()}, repeats
    )
    f32, bf16 = (np.asarray(m.predict(images, verbose=0), np.float32) for m in models.values())
    return {
        "float32_images_per_s": round(32 / times["float32"], 2),
        "bfloat16_images_per_s": round(32 / times["bfloat16"], 2),
        "speedup": round(times["float32"] / times["bfloat16"], 3),
        "embedding_relative_error": round(float(np.linalg.norm(f32 - bf16) / np.linalg.norm(f32)), 4),
    }


def accuracy(raw: Path | None, tmp: Path, per_class: int = 300, test_per_class: int = 100) -> dict:
    """Test top-1 on CIFAR-10 (real images, ImageNet MobileNet-0.25 at 128 px) from float32 vs bfloat16 embeddings.

    Two downstream models: the linear probe (convex, deterministic: any difference is the
    embeddings') and the dense head (its early stopping adds run-to-run spread of its own).
    ``raw`` is a fetched CIFAR-10 folder (fetch's output), or None to skip.
    """
    if raw is None or not MOBILENET_025.exists():
        return {"skipped": f"needs the CIFAR-10 JPEGs and {MOBILENET_025}"}
    from imgclf.data.arrays import read_embeddings
    from imgclf.data.split import split_dataset
    from imgclf.evaluation.inference import predict
    from imgclf.features.featurize import featurize
    from imgclf.io import write_json
    from imgclf.params import Params
    from imgclf.runtime import keras_state
    from imgclf.training.dispatch import train_model
    from imgclf.training.job import resolve_job

    split = tmp / "split"
    split_dataset(raw, split, val_fraction=0.2, limit=per_class, test_limit=test_per_class, seed=0)
    result = {}
    for precision in ("float32", "bfloat16"):
        features = FeaturesParams(
            backbone="mobilenet", alpha=0.25, weights=str(MOBILENET_025), image_size=128, precision=precision
        )
        with keras_state(0):
            _, timing = featurize(split, tmp / precision, features, seed=0)
        result[f"{precision}_featurize_images_per_s"] = timing["images_per_second"]
        for model in ("linear_probe", "head"):
            out = tmp / f"{model}_{precision}"
            with keras_state(0):
                params = dataclasses.replace(Params(), model=model)
                job = resolve_job(model, params.model_recipe, params.seed, params.train)
                trained = train_model(job, split, tmp / precision, out)
            write_json(out / "train.json", trained.summary)
            labels, logits = predict(out, split, tmp / precision)
            result[f"{model}_{precision}_top1"] = round(float((logits.argmax(1) == labels).mean()), 4)
    result["train_images"] = len(read_embeddings(tmp / "float32", split, "train")[1])
    result["test_images"] = len(labels)
    return result


SCRATCH_MODELS = ("airbench", "mobilenet_v1", "mobilenet_v2", "resnext")


def training_speed(repeats: int = 3, steps: int = 4) -> list[dict]:
    """train_on_batch images/s of each from-scratch model at its params.yaml recipe, batch 128, under float32
    and mixed_bfloat16 (``train.mixed_precision``), timed in alternation: which models bfloat16 speeds up."""
    import keras

    from imgclf.models.registry import MODELS
    from imgclf.models.spec import BuildContext
    from imgclf.params import Params
    from imgclf.runtime import dtype_policy

    from .train_speed import BATCH, _compiled

    images = random_images(BATCH, 32)
    labels = np.eye(10, dtype="float32")[np.arange(BATCH) % 10]
    rows = []
    for name in SCRATCH_MODELS:
        recipe = getattr(Params().models, name)
        models = {}
        for policy in ("float32", "mixed_bfloat16"):
            keras.utils.set_random_seed(0)
            with dtype_policy(policy):
                built = MODELS[name].build(recipe, BuildContext((32, 32, 3), 10, 0, train_images=images))
                models[policy] = _compiled(built, recipe)

        def steps_of(model):
            return lambda: [model.train_on_batch(images, labels) for _ in range(steps)]

        times = interleaved({policy: steps_of(model) for policy, model in models.items()}, repeats)
        rows.append(
            {
                "model": name,
                "float32_images_per_s": round(steps * BATCH / times["float32"], 1),
                "mixed_bfloat16_images_per_s": round(steps * BATCH / times["mixed_bfloat16"], 1),
                "speedup": round(times["float32"] / times["mixed_bfloat16"], 2),
            }
        )
    return rows
