"""A feature network wrapped so the saved model takes raw pixels: augment, scale, features, logits."""

from __future__ import annotations

import keras
from keras import layers

from .layers import RandomShift


def augmentation(augment, image_size: int, seed: int) -> keras.Sequential | None:
    """Random flips, shifts, rotations and RandAugment, active only in training; None when all are off."""
    steps = []
    if augment.flip is True:  # "alternating" flips in the input pipeline (training.batches), by epoch
        steps.append(layers.RandomFlip("horizontal", seed=seed, name="flip"))
    if augment.translate:
        steps.append(RandomShift(augment.translate, seed=seed + 1, name="translate"))
    if augment.rotate:
        steps.append(layers.RandomRotation(augment.rotate / 360.0, fill_mode="reflect", seed=seed + 2, name="rotate"))
    if augment.randaugment_ops:
        steps.append(
            layers.RandAugment(
                value_range=(0, 255),
                num_ops=augment.randaugment_ops,
                factor=augment.randaugment_magnitude,
                seed=seed + 3,
                name="randaugment",
            )
        )
    return keras.Sequential(steps, name="augment") if steps else None


def image_classifier(
    features: keras.Model,
    image_size: int,
    num_classes: int,
    augment,
    dropout: float,
    seed: int,
    logit_scale: float = 1.0,
    logit_bias: bool = True,
    logit_init="glorot_uniform",
) -> keras.Model:
    """pixels (N, S, S, 3) in 0..255 -> logits; ``features`` takes images scaled to [-1, 1].

    ``logit_scale`` < 1 multiplies the logits: it slows the classifier's learning by its square, which
    features taken by a max over the map (large and all positive, as airbench's) need at SGD's learning rates.
    """
    inputs = keras.Input((image_size, image_size, 3), name="pixels")
    augmenter = augmentation(augment, image_size, seed)
    x = augmenter(inputs) if augmenter is not None else inputs
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(x)
    x = features(x)
    if dropout:
        x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    # float32 logits keep the softmax stable under mixed precision.
    outputs = layers.Dense(
        num_classes, use_bias=logit_bias, kernel_initializer=logit_init, dtype="float32", name="logits"
    )(x)
    if logit_scale != 1.0:
        outputs = layers.Rescaling(logit_scale, dtype="float32", name="logit_scale")(outputs)
    return keras.Model(inputs, outputs, name=features.name)
