"""The SAM train steps and Keras fit under several TensorFlow workers: the one place that reaches into Keras'
private trainer API.

A custom train step in Keras 3 is backend-specific and must do what Keras' own
step does around the gradient (loss scaling, metric updates), which the public
API does not expose: ``_compute_loss``, ``_loss_tracker`` and
``_update_metrics_variables`` are private trainer methods. They are used only
here, so a Keras upgrade has one module to check (``tests/training/test_sam.py``
compares a step with the update computed by hand; tests/training/test_tf_workers.py trains on two workers). It
is the one module that imports from ``keras.src``.
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
        if tf.distribute.get_strategy().num_replicas_in_sync > 1:  # the ascent along the global batch's gradient
            grads = tf.distribute.get_replica_context().all_reduce("SUM", grads)
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


def fit_on_tensorflow_workers() -> None:
    """Make Keras' TensorFlow ``fit`` and ``evaluate`` run under ``tf.distribute.MultiWorkerMirroredStrategy``.

    Keras 3 fails there in two places (keras-team/keras#20585; tests/training/test_distribution.py keeps plain
    fit on two workers as a strict expected failure, so a fixed Keras shows up): before the first step it
    reduces the first data batch across workers to learn its shapes (``_maybe_symbolic_build``: TensorFlow
    cannot reduce a batch of several tensors), and after every step it averages the scalar logs over
    ``axis=0`` (``reduce_per_replica``: an invalid axis for a scalar). Here the shapes come from this
    process's own batch, and the logs are averaged over the workers whole. The train and test steps, the
    optimizer's cross-replica gradient sum and the callbacks are Keras' own. Idempotent.
    """
    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer, "_imgclf_workers", False):
        return
    keep_reduce = trainer.reduce_per_replica

    def local(value, strategy):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(lambda v: local(v, self.distribute_strategy), next(batches))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return keep_reduce(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    trainer._imgclf_workers = True
