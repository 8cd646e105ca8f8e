"""Lookahead as airbench94 uses it (Zhang et al. 2019; Jordan 2024): a slow copy of the weights that the
fast ones are pulled back to every few steps.

Every ``EVERY`` steps the slow copy moves towards the weights by ``1 - decay`` and the weights are set to it;
``decay`` rises as ``BASE * progress**3``, so early on the slow copy follows the weights and the pull is
weak, and at the end it averages over many steps; after the last step the weights are the slow copy.
BatchNormalization's moving statistics are averaged with the weights, as the paper's state dict is. The same
move is made after every epoch's last step (the paper's runs count steps across epochs), so the weights and
their slow copy agree whenever validation runs or a checkpoint is saved: a resumed run needs nothing more.
"""

from __future__ import annotations

import keras
import numpy as np

EVERY = 5
BASE = 0.95**5


class Lookahead(keras.callbacks.Callback):
    def __init__(self, total_steps: int):
        super().__init__()
        self.total_steps = max(int(total_steps), 1)
        self.slow: list[np.ndarray] = []

    def _variables(self) -> list:
        return [v for v in self.model.variables if "float" in str(v.dtype)]

    def on_train_begin(self, logs=None):
        self.slow = [np.array(keras.ops.convert_to_numpy(v)) for v in self._variables()]

    def _pull(self, decay: float) -> None:
        for variable, slow in zip(self._variables(), self.slow):
            slow += (1.0 - decay) * (np.asarray(keras.ops.convert_to_numpy(variable)) - slow)
            variable.assign(slow.astype(variable.dtype))

    def on_train_batch_end(self, batch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        decay = BASE * min(step / self.total_steps, 1.0) ** 3
        if step % EVERY == 0:
            self._pull(decay)
        elif batch == self.params["steps"] - 1:  # the epoch's last step: validation and checkpoints come next
            self._pull(1.0 if step >= self.total_steps else decay)  # the run's end: the weights become the slow copy
