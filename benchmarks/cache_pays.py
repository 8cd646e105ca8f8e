"""3. The cache pays: a head epoch on cached embeddings against the same head on images through the frozen backbone."""

from __future__ import annotations

import statistics
import time

import keras
import numpy as np

N_TRAIN = {224: (128, 64), 32: (512, 256)}  # image side -> (train, val) digits images
EPOCHS = 3


class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)

    def on_train_begin(self, logs=None):
        self.times = []


def _fit(model, x, y, xv, yv):
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    timer = Timer()
    history = model.fit(
        x, y, validation_data=(xv, yv), batch_size=32, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=[timer]
    )
    return statistics.median(timer.times[1:]), float(history.history["val_accuracy"][-1])


def run(size: int) -> dict:
    """Digits at ``size`` px through a random ResNet50: epoch seconds and val accuracy after 3 epochs, both ways."""
    from imgclf.data.digits import digits_images
    from imgclf.features.featurize import build_featurizer
    from imgclf.models.head import build_head
    from imgclf.params import FeaturesParams
    from imgclf.training.trainers import embedding_stats

    n_train, n_val = N_TRAIN[size]
    images, labels = digits_images(32)
    y = np.eye(10, dtype="float32")[labels]
    params = FeaturesParams(backbone="resnet50", weights="none", image_size=size)
    featurizer = build_featurizer(params, (32, 32, 3), None, seed=0)
    start = time.perf_counter()
    cached = featurizer.predict(images[: n_train + n_val], batch_size=32, verbose=0)
    featurize_s = time.perf_counter() - start
    mean, var = embedding_stats(cached[:n_train])

    def head():
        return build_head(2048, 10, [512], 0.3, mean, var, seed=0)

    cache_epoch, cache_acc = _fit(head(), cached[:n_train], y[:n_train], cached[n_train:], y[n_train : n_train + n_val])
    frozen = keras.Model(featurizer.input, head()(featurizer.output))  # the backbone stays frozen, inference-mode BN
    image_epoch, image_acc = _fit(
        frozen, images[:n_train], y[:n_train], images[n_train : n_train + n_val], y[n_train : n_train + n_val]
    )
    return {
        "image_size": size,
        "train_images": n_train,
        "cached_epoch_s": round(cache_epoch, 4),
        "through_backbone_epoch_s": round(image_epoch, 2),
        "ratio": round(image_epoch / cache_epoch, 1),
        "target": ">= 100 at 224",
        "met": image_epoch / cache_epoch >= 100 if size == 224 else None,
        "one_time_featurize_s": round(featurize_s, 2),
        "cached_val_accuracy": round(cache_acc, 4),
        "through_backbone_val_accuracy": round(image_acc, 4),
    }
