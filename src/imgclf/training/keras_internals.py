"""The SAM train steps: the one place that reaches into Keras' private trainer API.

A custom train step in Keras 3 is backend-specific and must do what Keras' own
step does around the gradient (loss scaling, metric updates), which the public
API does not expose: ``_compute_loss``, ``_loss_tracker`` and
``_update_metrics_variables`` are private trainer methods. They are used only
here, so a Keras upgrade has one module to check (``tests/training/test_sam.py``
compares a step with the update computed by hand). No ``keras.src`` module is
imported anywhere in the project.
"""

from __future__ import annotations

import keras


def tensorflow_train_step():
    """``train_step(self, data)`` for the TensorFlow backend (mirrors Keras' own)."""
    import tensorflow as tf

    def loss_of(model, x, y, sample_weight):
        y_pred = model(x, training=True)
        loss = model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        return loss, y_pred

    def unscaled(loss):
        # Keras sums per-replica losses under tf.distribute; the logged loss is the global mean.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return loss * tf.cast(replicas, loss.dtype) if replicas > 1 else loss

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        weights = self.trainable_weights
        with tf.GradientTape() as tape:
            loss, y_pred = loss_of(self, x, y, sample_weight)
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
            sharp_loss, _ = loss_of(self, x, y, sample_weight)
            sharp_scaled = self.optimizer.scale_loss(sharp_loss)
        sharp_grads = tape.gradient(sharp_scaled, weights)
        for w, e in zip(weights, steps):
            if e is not None:
                w.assign_sub(e)
        self.optimizer.apply_gradients(zip(sharp_grads, weights))
        self._loss_tracker.update_state(unscaled(loss), sample_weight=tf.shape(x)[0])
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    return train_step


def jax_train_step():
    """``train_step(self, state, data)`` for the JAX backend (mirrors Keras' own stateless step)."""
    import jax
    import jax.numpy as jnp

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (_, aux), grads = grad_fn(
            trainable,
            non_trainable,
            metrics_vars,
            x,
            y,
            sample_weight,
            training=True,
            optimizer_variables=optimizer_vars,
        )
        unscaled_loss, y_pred, new_non_trainable, new_metrics_vars = aux
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(g.astype(jnp.float32))) for g in grads))
        scale = self.rho / (norm + 1e-12)
        perturbed = [w + (g * scale).astype(w.dtype) for w, g in zip(trainable, grads)]
        _, sharp_grads = grad_fn(
            perturbed,
            non_trainable,
            metrics_vars,
            x,
            y,
            sample_weight,
            training=True,
            optimizer_variables=optimizer_vars,
        )
        trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, sharp_grads, trainable)
        logs, metrics_vars = self._update_metrics_variables(
            new_metrics_vars, unscaled_loss, x, y, y_pred, sample_weight
        )
        return logs, (trainable, new_non_trainable, optimizer_vars, metrics_vars)

    return train_step
