"""1. Featurize throughput: the stage's batch loop against a plain ``model.predict`` on the same arrays."""

from __future__ import annotations

import numpy as np

from .harness import fractions_of_peak, interleaved, model_macs, random_images

SIZES = {32: 1024, 96: 192, 224: 64}  # image side -> images per timing, a few seconds each


def run(peaks: dict[str, float | None], repeats: int = 3) -> list[dict]:
    """``peaks``: float32 FLOP/s ceilings to report the achieved fraction of (measured GEMM, theoretical)."""
    from imgclf.features.featurize import build_featurizer, embed
    from imgclf.params import FeaturesParams

    rows = []
    for size, n in SIZES.items():
        params = FeaturesParams(backbone="resnet50", weights="none", image_size=size, batch_size=32)
        model = build_featurizer(params, (32, 32, 3), None, seed=0)
        images = random_images(n, 32)
        out = np.zeros((n, 2048), np.float32)
        batch = params.batch_size
        times = interleaved(
            {
                "stage": lambda model=model, images=images, out=out, batch=batch: embed(
                    model, images, out, batch, "bench"
                ),
                "predict": lambda model=model, images=images, batch=batch: model.predict(
                    images, batch_size=batch, verbose=0
                ),
            },
            repeats=repeats,
        )
        stage_rate, plain_rate = n / times["stage"], n / times["predict"]
        macs = model_macs(model)  # ResNet50 at 224: 3.86e9, the paper's "3.8 x 10^9 FLOPs"
        flops = 2 * macs * stage_rate
        rows.append(
            {
                "image_size": size,
                "stage_images_per_s": round(stage_rate, 1),
                "predict_images_per_s": round(plain_rate, 1),
                "ratio": round(stage_rate / plain_rate, 3),
                "target": ">= 0.95",
                "met": stage_rate / plain_rate >= 0.95,
                "gmacs_per_image": round(macs / 1e9, 3),
                "achieved_gflops": round(flops / 1e9, 1),
                **fractions_of_peak(flops, peaks),
            }
        )
    return rows
