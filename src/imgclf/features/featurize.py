"""The embedding cache: a frozen backbone run once, in inference mode, over every split.

Heads then train on these vectors instead of on images through the frozen
backbone, which sidesteps the BatchNormalization train/inference mismatch and
skips the backbone's cost on every epoch.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.arrays import read_split
from ..errors import DataError
from ..hardware import native_bfloat16
from ..io import file_digest, new_array
from ..progress import bar
from ..runtime import interrupts_deferred, raise_if_interrupted
from .backbones import build_backbone, on_pixels, resolve_weights
from .catalog import BACKBONES
from .manifest import FeatureManifest
from .precision import CHECK_BATCHES, POLICIES, Choice, decide, measure
from .shards import check_shard_count, shard_rows
from .views import apply_view, view_plan

if TYPE_CHECKING:
    from .params import FeaturesParams

SPLITS = ("train", "val", "test")
FLOAT32_ONLY = ("test.npy", "test_flip.npy")  # made in the exported model's precision, whatever features.precision
# Stored as computed: a head then scores exactly the vectors the exported model feeds it (a float16 cache
# rounded them, and a model on the edge of a decision could predict otherwise than evaluate scored).
CACHE_DTYPE = np.float32


def build_featurizer(
    features: FeaturesParams, input_shape: tuple[int, int, int], weights_arg: str | None, seed: int, precision="float32"
):
    """uint8 images (N, H, W, 3) -> embeddings (N, D): scale, resize, frozen backbone, computed in ``precision``."""
    import keras

    from ..runtime import dtype_policy

    with dtype_policy(POLICIES[precision]):
        inputs = keras.Input(input_shape, dtype="uint8", name="pixels")
        backbone = build_backbone(features.backbone, weights_arg, features.alpha, features.image_size, seed)
        backbone.trainable = False
        outputs = on_pixels(inputs, features.backbone, features.image_size, backbone)
        return keras.Model(inputs, outputs, name=f"{features.backbone}_featurizer")


def featurizers(
    features: FeaturesParams, train: np.ndarray, weights_arg: str | None, seed: int
) -> tuple[object, object, Choice]:
    """(the float32 featurizer, the one for the training-side embeddings, the precision choice).

    A random init is the one ``seed`` draws (``backbones.build_backbone``), as in
    export and fine-tuning; a bfloat16 twin gets the float32 network's weights.
    The check pictures are the first training pictures of the whole split, so
    every shard compares the same ones and makes the same choice.
    """

    reference = build_featurizer(features, train.shape[1:], weights_arg, seed)
    twins = []

    def twin():
        if not twins:
            twins.append(build_featurizer(features, train.shape[1:], weights_arg, seed, "bfloat16"))
            twins[0].set_weights(reference.get_weights())
        return twins[0]

    check = np.asarray(train[: CHECK_BATCHES * features.batch_size])
    choice = decide(
        features.precision,
        native_bfloat16(),
        features.backbone,
        lambda: measure(reference, twin(), check, features.batch_size),
    )
    return reference, (twin() if choice.precision == "bfloat16" else reference), choice


def embed(model, images: np.ndarray, out: np.ndarray, batch_size: int, desc: str) -> float:
    """Write ``model(images)`` into ``out`` batch by batch; return seconds spent.

    Images are read from the memory map one batch at a time, so memory stays flat
    whatever the split size. The last batch is padded to full size so the compiled
    predict function is traced once.
    """
    start = time.perf_counter()
    with bar(len(images), desc=desc, unit="img") as progress, interrupts_deferred():  # Ctrl-C between batches
        for first in range(0, len(images), batch_size):
            batch = np.asarray(images[first : first + batch_size])
            n = len(batch)
            if n < batch_size:
                batch = np.concatenate([batch, np.zeros((batch_size - n, *batch.shape[1:]), batch.dtype)])
            vectors = np.asarray(model.predict_on_batch(batch))[:n].astype(out.dtype)
            if not np.all(np.isfinite(vectors)):
                raise DataError(f"{desc}: embeddings are not finite in {out.dtype} (check features.weights)")
            out[first : first + n] = vectors
            progress.update(n)
            raise_if_interrupted()
    return time.perf_counter() - start


class ViewOf:
    """Pictures of an array seen through a view (``views.view_plan``), a batch at a time.

    ``rows`` picks a shard's share; the plan is drawn for the whole array first,
    so a picture's view is the same in every shard layout.
    """

    def __init__(self, images: np.ndarray, view: int, seed: int, rows: tuple[int, int] | None = None):
        self.images, self.view = images, view
        self.start, self.stop = rows or (0, len(images))
        self.mirror, self.shift = view_plan(len(images), view, images.shape[1], seed)

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, part: slice) -> np.ndarray:
        rows = slice(self.start + (part.start or 0), min(self.stop, self.start + part.stop))
        if self.view == 0:
            return np.asarray(self.images[rows])
        return apply_view(np.asarray(self.images[rows]), self.mirror[rows], self.shift[rows])


def _jobs(images: dict, rows: dict, features: FeaturesParams, seed: int) -> list[tuple[str, ViewOf, int, str]]:
    """(file, pictures, view index or 0, progress label) for every array featurize writes."""
    jobs = [(f"{split}.npy", ViewOf(images[split], 0, seed, rows[split]), 0, split) for split in SPLITS]
    jobs.append(("test_flip.npy", ViewOf(images["test"], 1, seed, rows["test"]), 0, "test, mirrored"))
    jobs += [
        ("train_views.npy", ViewOf(images["train"], v, seed, rows["train"]), v, f"train view {v}")
        for v in range(1, features.views)
    ]
    return jobs


def featurize(
    split_dir: Path, out: Path, features: FeaturesParams, seed: int, shard: tuple[int, int] = (0, 1)
) -> tuple[FeatureManifest, dict]:
    """Write ``<split>.npy`` float32 (N, D) for train/val/test into ``out``; return (manifest, timing).

    Also ``test_flip.npy``, the embeddings of the mirrored test pictures (for
    ``evaluate.tta: flip``), and with ``features.views`` K > 1, ``train_views.npy``
    (K-1, N, D): the embeddings of K-1 augmented views of each training picture,
    drawn from ``seed``. ``shard`` (index, count) embeds only that shard's rows of
    every split (``shards.shard_rows``); ``timing["first"]`` says where they start.
    Runs under the caller's seed (``runtime.keras_state``), which draws the random
    init of ``weights: none``. ``features.precision`` applies to the training and
    validation embeddings (``precision``); the test ones are always float32.
    The manifest goes into the DVC output and holds only what the embeddings are
    a function of; the timing is kept apart so a rerun that yields the same
    vectors leaves the output's hash, and so every later stage, untouched.
    """
    weights_arg, weights_file = resolve_weights(
        features.backbone, features.weights, features.alpha, features.image_size
    )
    images = {split: read_split(split_dir, split)[0] for split in SPLITS}
    check_shard_count(shard[1], len(images["train"]), features.batch_size)
    rows = {split: shard_rows(len(images[split]), features.batch_size, shard[1], shard[0]) for split in SPLITS}
    reference, model, choice = featurizers(features, images["train"], weights_arg, seed)
    dim = int(model.output_shape[-1])
    views = None
    if features.views > 1:
        count = rows["train"][1] - rows["train"][0]
        views = new_array(out / "train_views.npy", (features.views - 1, count, dim), CACHE_DTYPE)
    seconds, total = 0.0, 0
    for name, source, view, desc in _jobs(images, rows, features, seed):
        target = views[view - 1] if view else new_array(out / name, (len(source), dim), CACHE_DTYPE)
        network = reference if name in FLOAT32_ONLY else model
        seconds += embed(network, source, target, features.batch_size, f"featurize {desc}")
        target.flush()
        total += len(source)
    manifest = _manifest(features, weights_file, images, rows, dim, choice, seed)
    timing = {
        "seconds": round(seconds, 3),
        "images": total,
        "images_per_second": round(total / seconds, 2) if seconds else None,
        "first": {split: rows[split][0] for split in SPLITS},
    }
    return manifest, timing


def _manifest(
    features: FeaturesParams, weights_file, images: dict, rows: dict, dim: int, choice: Choice, seed: int
) -> FeatureManifest:
    return FeatureManifest(
        backbone=features.backbone,
        keras_application=BACKBONES[features.backbone].constructor,
        weights=features.weights,
        weights_sha256=file_digest(weights_file) if weights_file else None,
        alpha=features.alpha,
        image_size=features.image_size,
        input_image_size=int(images["train"].shape[1]),
        preprocessing=BACKBONES[features.backbone].preprocessing,
        precision=choice.precision,
        precision_check=choice.record(),
        embedding_dim=dim,
        dtype=np.dtype(CACHE_DTYPE).name,
        count={split: rows[split][1] - rows[split][0] for split in SPLITS},
        seed=seed,
        views=features.views,
    )
