"""SAM train step for the TensorFlow backend (mirrors Keras' own TensorFlow train step)."""

import tensorflow as tf
from keras.src.losses import loss as loss_module
from keras.src.trainers.data_adapters import data_adapter_utils


def _loss(model, x, y, sample_weight):
    y_pred = model(x, training=True)
    loss = model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
    return loss, y_pred


def train_step(self, data):
    x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
    weights = self.trainable_weights
    with tf.GradientTape() as tape:
        loss, y_pred = _loss(self, x, y, sample_weight)
        scaled = self.optimizer.scale_loss(loss)
    grads = tape.gradient(scaled, weights)
    # Ascent step: scale-invariant, so loss scaling under mixed precision cancels out.
    norm = tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads if g is not None])
    scale = self.rho / (norm + 1e-12)
    steps = [None if g is None else tf.cast(g, w.dtype) * tf.cast(scale, w.dtype) for g, w in zip(grads, weights)]
    for w, e in zip(weights, steps):
        if e is not None:
            w.assign_add(e)
    with tf.GradientTape() as tape:
        sharp_loss, _ = _loss(self, x, y, sample_weight)
        sharp_scaled = self.optimizer.scale_loss(sharp_loss)
    sharp_grads = tape.gradient(sharp_scaled, weights)
    for w, e in zip(weights, steps):
        if e is not None:
            w.assign_sub(e)
    self.optimizer.apply_gradients(zip(sharp_grads, weights))
    self._loss_tracker.update_state(loss_module.unscale_loss_for_distribution(loss), sample_weight=tf.shape(x)[0])
    return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
