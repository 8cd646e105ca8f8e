"""Batches of images (or embeddings) from a memory map, in an order fixed by (seed, epoch).

The order of epoch ``e`` depends only on the seed and ``e`` (Keras must not
shuffle them again: ``fit(shuffle=False)``), so an interrupted run resumed at
epoch ``e`` sees exactly the batches it would have seen.
MixUp and CutMix need the labels, so they are applied here, per batch; every
other augmentation runs inside the model.
"""

from __future__ import annotations

import math

import keras
import numpy as np


def loader_threads() -> int:
    """Two loader threads on TensorFlow, one elsewhere.

    With one, Keras feeds ``fit`` on TensorFlow through a tf.data pipeline
    with autotuning on, and deleting an epoch's iterator then waits for the
    autotuner's next wake-up, up to a minute away: on full CIFAR-10 the process
    sat idle for 15-57 s at the start of most epochs of a CPU run (TensorFlow
    2.21, docs/measured.md). With two, Keras' own ordered thread pool fills the
    batches and it turns tf.data's autotuning off. JAX and PyTorch use no
    tf.data, and on JAX the pool broke the two-process resume
    (tests/training/test_cluster.py), so they keep one.
    """
    return 2 if keras.backend.backend() == "tensorflow" else 1


def mix_batch(images: np.ndarray, targets: np.ndarray, rng: np.random.Generator, mixup: float, cutmix: float):
    """MixUp (Zhang et al. 2018) or CutMix (Yun et al. 2019) of a batch with a shuffled copy of itself.

    With both alphas set, each batch uses one of the two at random. Returns float32 images.
    """
    images = images.astype(np.float32)
    use_cutmix = cutmix > 0 and (mixup <= 0 or rng.random() < 0.5)
    alpha = cutmix if use_cutmix else mixup
    lam = float(rng.beta(alpha, alpha))
    partner = rng.permutation(len(images))
    if use_cutmix:
        h, w = images.shape[1:3]
        cut_h, cut_w = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
        cy, cx = rng.integers(h), rng.integers(w)
        y0, y1 = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h)
        x0, x1 = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w)
        images[:, y0:y1, x0:x1] = images[partner, y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)  # the area actually kept
    else:
        images = lam * images + (1 - lam) * images[partner]
    return images, lam * targets + (1 - lam) * targets[partner]


def balanced_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class weights n / (classes * count), scikit-learn's ``class_weight="balanced"``."""
    from sklearn.utils.class_weight import compute_class_weight

    return compute_class_weight("balanced", classes=np.arange(num_classes), y=np.asarray(labels)).astype(np.float32)


class Batches(keras.utils.PyDataset):
    """(inputs, one-hot targets[, sample weights]) batches; shuffled per epoch when ``seed`` is given.

    ``views`` (V, N, ...) are alternative inputs of the same N items (cached
    augmented views): each epoch draws, per item, one of the V + 1 versions.
    ``class_weights`` (one per class) add per-sample weights: the weight of a
    sample is its target distribution times the class weights, so MixUp mixes
    weights as it mixes labels. ``alternate_flip`` (pictures, airbench's
    ``augment.flip: alternating``): a seeded half of the pictures is mirrored in
    even epochs, the other half in odd ones, so each picture is seen both ways in
    every two epochs (random flips leave a quarter of them one way in two).
    """

    def __init__(
        self,
        inputs: np.ndarray,
        labels: np.ndarray,
        num_classes: int,
        batch_size: int,
        seed: int | None = None,
        mixup: float = 0.0,
        cutmix: float = 0.0,
        epoch: int = 0,
        views: np.ndarray | None = None,
        class_weights: np.ndarray | None = None,
        alternate_flip: bool = False,
    ):
        super().__init__(workers=loader_threads(), use_multiprocessing=False)
        self.inputs = inputs
        self.targets = np.eye(num_classes, dtype=np.float32)[np.asarray(labels)]
        self.batch_size = batch_size
        self.seed = seed
        self.mixup = mixup
        self.cutmix = cutmix
        self.epoch = epoch
        self.views = views
        self.class_weights = class_weights
        self.mirrored = np.random.default_rng([seed or 0, 2]).random(len(labels)) < 0.5 if alternate_flip else None
        self.order = self._order()
        self.version = self._versions()

    @property
    def num_images(self) -> int:
        return len(self.targets)

    def _order(self) -> np.ndarray:
        if self.seed is None:
            return np.arange(self.num_images)
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.num_images)

    def __len__(self) -> int:
        return math.ceil(self.num_images / self.batch_size)

    def _versions(self) -> np.ndarray | None:
        """Per item, which version this epoch serves: 0 the input itself, v the view v - 1."""
        if self.views is None:
            return None
        return np.random.default_rng([self.seed or 0, self.epoch, 1]).integers(0, len(self.views) + 1, self.num_images)

    def _inputs(self, picked: np.ndarray) -> np.ndarray:
        inputs = np.asarray(self.inputs[picked])
        if self.version is not None:
            version = self.version[picked]
            viewed = version > 0
            inputs[viewed] = self.views[version[viewed] - 1, picked[viewed]]
        if self.mirrored is not None:
            flipped = self.mirrored[picked] != bool(self.epoch % 2)
            inputs[flipped] = inputs[flipped, :, ::-1]
        return inputs

    def __getitem__(self, index: int):
        picked = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        inputs, targets = self._inputs(picked), self.targets[picked]
        if self.mixup > 0 or self.cutmix > 0:
            rng = np.random.default_rng([self.seed or 0, self.epoch, index])
            inputs, targets = mix_batch(inputs, targets, rng, self.mixup, self.cutmix)
        if self.class_weights is not None:
            return inputs, targets, targets @ self.class_weights
        return inputs, targets

    def set_epoch(self, epoch: int) -> None:
        """Serve the batches of ``epoch``; ``training.fit_classifier`` calls this as each epoch begins.

        Keras' own ``on_epoch_end`` calls are not counted on: Keras also makes one
        while probing the first batches for their shapes.
        """
        if epoch != self.epoch:
            self.epoch = epoch
            self.order = self._order()
            self.version = self._versions()


class ProcessRows(keras.utils.PyDataset):
    """This process's rows of every global batch of ``batches``, when several processes train one model.

    Rows are contiguous, process 0's first, so the global batch Keras assembles
    from the processes' parts is the batch a single process would have had.
    Every process must give the same number of rows, so a last batch that does
    not divide evenly is trimmed to a multiple of the process count.
    """

    def __init__(self, batches: Batches, process: int, processes: int):
        super().__init__(workers=loader_threads(), use_multiprocessing=False)
        self.batches, self.process, self.processes = batches, process, processes

    @property
    def num_images(self) -> int:
        return self.batches.num_images

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        parts = self.batches[index]
        share = len(parts[0]) // self.processes
        if share == 0:
            raise ValueError(f"batch {index} has {len(parts[0])} rows for {self.processes} processes")
        return tuple(part[self.process * share : (self.process + 1) * share] for part in parts)

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)


class FirstBatches(keras.utils.PyDataset):
    """The first ``count`` batches of each epoch of ``batches``: a short epoch with a whole one's costs besides
    its steps (validation, logging, checkpoints), which ``imgclf plan`` times."""

    def __init__(self, batches: Batches, count: int):
        super().__init__(workers=loader_threads(), use_multiprocessing=False)
        self.batches, self.count = batches, min(count, len(batches))

    @property
    def num_images(self) -> int:
        return min(self.count * self.batches.batch_size, self.batches.num_images)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        return self.batches[index]

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)
