"""SAM train step for the JAX backend (mirrors Keras' own stateless JAX train step)."""

import jax
import jax.numpy as jnp
from keras.src.trainers.data_adapters import data_adapter_utils


def train_step(self, state, data):
    trainable, non_trainable, optimizer_vars, metrics_vars = state
    x, y, sample_weight = data_adapter_utils.unpack_x_y_sample_weight(data)
    grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
    (_, aux), grads = grad_fn(
        trainable, non_trainable, metrics_vars, x, y, sample_weight, training=True, optimizer_variables=optimizer_vars
    )
    unscaled_loss, y_pred, new_non_trainable, new_metrics_vars = aux
    norm = jnp.sqrt(sum(jnp.sum(jnp.square(g.astype(jnp.float32))) for g in grads))
    scale = self.rho / (norm + 1e-12)
    perturbed = [w + (g * scale).astype(w.dtype) for w, g in zip(trainable, grads)]
    _, sharp_grads = grad_fn(
        perturbed, non_trainable, metrics_vars, x, y, sample_weight, training=True, optimizer_variables=optimizer_vars
    )
    trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, sharp_grads, trainable)
    logs, metrics_vars = self._update_metrics_variables(new_metrics_vars, unscaled_loss, x, y, y_pred, sample_weight)
    return logs, (trainable, new_non_trainable, optimizer_vars, metrics_vars)
