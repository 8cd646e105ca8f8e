"""What every trainer returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Trained:
    """train.json's content (a function of params, data and seed) and the timing (seconds, images/s: varies
    run to run, so the stage writes it outside the DVC-hashed output)."""

    summary: dict
    timing: dict

    def outcome_line(self) -> str:
        """What the run reached, in words: the best epoch's validation accuracy, or for a model fitted without
        epochs (the linear probe's sweep over C), the C chosen."""
        accuracy = f"best val accuracy {self.summary['best_val_accuracy']:.4f}"
        if "best_C" in self.summary:
            return f"{accuracy} at C={self.summary['best_C']:g} (of {self.summary['epochs_run']} tried)"
        return f"{accuracy} at epoch {self.summary['best_epoch']} of {self.summary['epochs_run']}"
