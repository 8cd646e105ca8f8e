"""4. Training throughput (images/s at batch 128) of every zoo model; 5. the input pipeline against it."""

from __future__ import annotations

import dataclasses
import statistics
import time

import keras
import numpy as np

from .harness import random_images

BATCH = 128


def _step_rate(model, x, y, steps: int = 4) -> float:
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return len(x) / statistics.median(times)


def _fit_rate(model, images, labels, epochs: int = 3, batch: int = BATCH) -> float:
    """Images/s of ``model.fit`` over ``Batches`` (the train stage's path), median of the epochs after the first."""
    from imgclf.training.batches import Batches
    from imgclf.training.fit import EpochTimer

    timer = EpochTimer()
    model.fit(Batches(images, labels, 10, batch, seed=0), epochs=epochs, shuffle=False, verbose=0, callbacks=[timer])
    return len(images) / statistics.median(timer.train_seconds[1:])


def _compiled(model, recipe, jit_compile="auto"):
    from imgclf.training.optim import add_weight_decay, make_optimizer

    add_weight_decay(model, recipe)
    model.compile(
        optimizer=make_optimizer(recipe, 100),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


def image_models() -> dict:
    """name -> (recipe, builder of the full pixels-to-logits model) for the from-scratch nets, at params defaults."""
    from imgclf.models.registry import MODELS
    from imgclf.models.spec import BuildContext
    from imgclf.params import Params

    models = Params().models
    context = BuildContext((32, 32, 3), num_classes=10, seed=0)
    out = {}
    for name in ("mobilenet_v1", "mobilenet_v2"):
        recipe = getattr(models, name)
        out[name] = (recipe, lambda n=name, r=recipe: MODELS[n].build(r, context))
    for impl in ("split", "native"):
        recipe = dataclasses.replace(models.resnext, grouped_conv=impl)
        out[f"resnext_{impl}"] = (recipe, lambda r=recipe: MODELS["resnext"].build(r, context))
    return out


def finetune_for_bench():
    """The finetune model at params defaults: ResNet50 (random init) trained from conv5, at 32 px."""
    from imgclf.features.manifest import FeatureManifest
    from imgclf.models.finetune import finetune_backbone, finetune_model
    from imgclf.params import Params

    models = Params().models
    manifest = FeatureManifest(
        backbone="resnet50",
        keras_application="ResNet50",
        weights="none",
        weights_sha256=None,
        alpha=1.0,
        image_size=32,
        input_image_size=32,
        preprocessing="caffe",
        precision="float32",
        embedding_dim=2048,
        dtype="float32",
        count={},
    )
    return finetune_model(
        manifest,
        finetune_backbone(manifest, "auto"),
        keras.Sequential([keras.Input((2048,)), keras.layers.Dense(10)]),
        32,
        models.finetune.augment,
        0,
    )


def training_rates() -> list[dict]:
    from imgclf.models.head import build_head
    from imgclf.params import Params

    models = Params().models
    rng = np.random.default_rng(0)
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, BATCH)]
    images = random_images(BATCH, 32)
    rows = []
    head = _compiled(build_head(2048, 10, [512], 0.3, np.zeros(2048), np.ones(2048), 0), models.head)
    rows.append(
        {
            "model": "head",
            "input": "2048-d embeddings",
            "images_per_s": round(_step_rate(head, rng.normal(size=(BATCH, 2048)).astype("float32"), y), 1),
        }
    )
    tuned = finetune_for_bench()
    rows.append(
        {
            "model": "finetune",
            "input": "32 px, ResNet50 from conv5",
            "params": tuned.count_params(),
            "images_per_s": round(_step_rate(_compiled(tuned, models.finetune.resolved("resnet50")), images, y), 1),
        }
    )
    for name, (recipe, build) in image_models().items():
        model = _compiled(build(), recipe)
        rows.append(
            {
                "model": name,
                "input": "32 px",
                "params": model.count_params(),
                "images_per_s": round(_step_rate(model, images, y), 1),
            }
        )
        if name == "mobilenet_v1":  # the same steps driven by model.fit, as the train stage does
            fit = _fit_rate(model, random_images(6 * BATCH, 32), np.arange(6 * BATCH) % 10)
            rows[-1].update(
                fit_images_per_s=round(fit, 1), fit_over_train_on_batch=round(fit / rows[-1]["images_per_s"], 2)
            )
    by_name = {r["model"]: r for r in rows}
    split, native = by_name["resnext_split"], by_name["resnext_native"]
    split["grouped_conv_speedup_vs_native"] = round(split["images_per_s"] / native["images_per_s"], 2)
    return rows


def linear_probe_rate() -> dict:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5000, 256)), rng.integers(0, 10, 5000)
    start = time.perf_counter()
    LogisticRegression(C=0.1, max_iter=1000).fit(x, y)
    return {
        "model": "linear_probe",
        "input": "256-d embeddings, one C",
        "images_per_s": round(5000 / (time.perf_counter() - start), 1),
    }


def input_pipeline(rates: list[dict], tmp) -> list[dict]:
    """Batches from a memory map plus the in-model augmentation, alone, against each from-scratch model's step.

    The augmentation runs compiled, as in training: inside a model whose only other
    layers are a pooling and a 10-way Dense, trained one batch at a time.
    """
    from imgclf.io import load_array, save_array
    from imgclf.models.classifier import augmentation
    from imgclf.training.batches import Batches

    rows = []
    save_array(tmp / "images.npy", random_images(2048, 32))
    images, labels = load_array(tmp / "images.npy"), np.arange(2048) % 10  # memory-mapped uint8, as in training
    for row in rates:
        if row["input"] != "32 px":
            continue
        recipe = image_models()[row["model"]][0]
        probe = keras.Sequential(
            [
                keras.Input((32, 32, 3)),
                augmentation(recipe.augment, 32, 0),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(10),
            ]
        )
        probe.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
        batches = Batches(images, labels, 10, BATCH, seed=0, mixup=recipe.augment.mixup_alpha)

        def one_pass(probe=probe, batches=batches):
            for i in range(len(batches)):
                probe.train_on_batch(*batches[i])

        one_pass()
        start = time.perf_counter()
        one_pass()
        rate = len(images) / (time.perf_counter() - start)
        rows.append(
            {
                "model": row["model"],
                "pipeline_images_per_s": round(rate, 1),
                "model_images_per_s": row["images_per_s"],
                "ratio": round(rate / row["images_per_s"], 1),
                "target": ">= 5",
                "met": rate / row["images_per_s"] >= 5,
            }
        )
    return rows
