"""Epoch checkpoints that let an interrupted train stage continue where it stopped.

A checkpoint holds everything the next epoch depends on: every model variable
(random-seed states included), the optimizer's variables, the state of the
callbacks that steer training (best weights, patience counters, timings) and
the dvclive log so far. Batches are ordered by (seed, epoch), so a resumed run
sees exactly the data an uninterrupted one would, and ends with the same weights.

Checkpoints live outside the DVC outputs, in a folder keyed by everything the
run depends on (params, data, code): DVC deletes a stage's outputs before it
reruns it, and an output with ``persist: true`` would cost the train stage its
run-cache. A changed param gives a new key, so training starts fresh.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import keras
import numpy as np

from ..io import atomic_dir, copy_tree, load_arrays, read_json, remove_tree, save_arrays, write_json, write_text
from .collectives import broadcast, broadcast_json

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the whole imgclf package


def _hash_files(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def _flat(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def run_fingerprint(config: dict, *data_dirs: Path) -> dict:
    """What a run depends on, key by key: its params (dotted, as in params.yaml), a digest of each input
    folder and of the package source. Processes that train together compare it (``training.cluster``)."""
    code = hashlib.sha256()
    for source in sorted(PACKAGE_DIR.rglob("*.py")):
        code.update(source.read_bytes())
    folders = {f"data in {Path(folder).as_posix()}": _hash_files(Path(folder)) for folder in data_dirs}
    return {**_flat(config), **folders, "code of the imgclf package": code.hexdigest()}


def run_key(fingerprint: dict) -> str:
    """A short hash of a ``run_fingerprint``: the checkpoint folder's name."""
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()[:16]


def checkpoint_folder(root: Path, config: dict, inputs: tuple[Path, ...], cluster=None) -> Path:
    """The run's checkpoint folder under ``root``, named by its ``run_key``. Processes training together first
    check that they run the same run (``cluster.same_run``): a mixed run must never start, nor be resumed."""
    fingerprint = run_fingerprint(config, *inputs)
    if cluster is not None:
        from .cluster import same_run

        same_run(cluster, fingerprint)
    return Path(root) / run_key(fingerprint)


def _values(variables) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in variables]


def callback_state(callback) -> dict | None:
    """The resumable state of the callbacks that carry any (None for the stateless ones)."""
    if isinstance(callback, keras.callbacks.EarlyStopping):
        best = None if callback.best is None else float(callback.best)
        return {
            "wait": callback.wait,
            "best": best,
            "best_epoch": callback.best_epoch,
            "stopped_epoch": callback.stopped_epoch,
        }
    if isinstance(callback, keras.callbacks.ReduceLROnPlateau):
        best = None if callback.best is None else float(callback.best)
        return {"wait": callback.wait, "best": best, "cooldown_counter": callback.cooldown_counter}
    state = getattr(callback, "resumable_state", None)
    return state() if state else None


def restore_callback(callback, state: dict) -> None:
    if hasattr(callback, "restore_state"):
        callback.restore_state(state)
        return
    for key, value in state.items():
        setattr(callback, key, value)


class Checkpoint:
    """The checkpoint of one ``fit``: ``<folder>/epoch-NNNN/`` named by ``<folder>/latest``.

    Each save writes a new epoch folder, then points ``latest`` at it with one
    atomic rename, then removes the older folders; a kill at any instant leaves
    ``latest`` naming a complete checkpoint. ``state`` is None until one is saved.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        pointer = self.folder / "latest"
        current = self.folder / pointer.read_text().strip() if pointer.exists() else None
        self.current = current if current and (current / "state.json").exists() else None
        self.state = read_json(self.current / "state.json") if self.current else None

    @property
    def live(self) -> Path:
        return self.current / "live"

    def restore(self, model: keras.Model) -> None:
        """Put the saved variables back into ``model`` and its optimizer."""
        for variable, value in zip(model.variables, load_arrays(self.current / "model.npz")):
            variable.assign(value)
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        for variable, value in zip(optimizer.variables, load_arrays(self.current / "optimizer.npz")):
            variable.assign(value)

    def best_weights(self, model: keras.Model) -> list[np.ndarray] | None:
        path = self.current / "best.npz"
        return load_arrays(path) if path.exists() else None

    def save(self, model: keras.Model, best, live_dir: Path, state: dict) -> None:
        name = f"epoch-{state['epoch']:04d}" + ("-final" if state.get("finished") else "")
        with atomic_dir(self.folder / name) as tmp:
            save_arrays(tmp / "model.npz", _values(model.variables))
            save_arrays(tmp / "optimizer.npz", _values(model.optimizer.variables))
            if best.best_weights is not None:
                save_arrays(tmp / "best.npz", best.best_weights)
            copy_tree(live_dir, tmp / "live")
            write_json(tmp / "state.json", state)
        write_text(self.folder / "latest", name)  # the commit point
        for old in self.folder.glob("epoch-*"):
            if old.name != name:
                remove_tree(old)
        self.current, self.state = self.folder / name, state


class EpochCheckpointer(keras.callbacks.Callback):
    """Saves a ``Checkpoint`` after every epoch; on a resumed run, first restores the callbacks' state.

    Must come last among the callbacks: it restores their state after their own
    ``on_train_begin`` has reset it, and it saves after they have seen the epoch.
    """

    def __init__(self, checkpoint: Checkpoint, callbacks: dict, best, live_dir: Path, history: dict, seconds: float):
        super().__init__()
        self.checkpoint = checkpoint
        self.callbacks = callbacks  # name -> callback with state
        self.best = best
        self.live_dir = live_dir
        self.history = history  # metric name -> values of the epochs before this run
        self.seconds = seconds
        self._clock = None

    def on_train_begin(self, logs=None):
        self._clock = time.perf_counter()
        if self.checkpoint.state:  # the callbacks' own on_train_begin has just reset them
            for name, state in self.checkpoint.state["callbacks"].items():
                restore_callback(self.callbacks[name], state)
            self.best.best_weights = self.checkpoint.best_weights(self.model)

    def elapsed(self) -> float:
        return self.seconds + time.perf_counter() - self._clock

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        states = {name: callback_state(cb) for name, cb in self.callbacks.items()}
        state = {"epoch": epoch + 1, "seconds": self.elapsed(), "history": self.history, "callbacks": states}
        self.checkpoint.save(self.model, self.best, self.live_dir, state)


class SharedCheckpoint(Checkpoint):
    """The checkpoint of a fit that several processes run together (training.cluster).

    Process 0 reads and writes it; the others get its state and variables by
    broadcast, so every process resumes the same epoch with the same weights,
    wherever the others' disks are. Restoring is a collective step: every
    process must call it.
    """

    def __init__(self, folder: Path, process: int):
        self.writer = process == 0
        super().__init__(folder if self.writer else Path(folder) / ".not-process-0")
        self.state = broadcast_json(self.state, self.writer)

    def restore(self, model: keras.Model) -> None:
        optimizer = model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        for variables, name in ((model.variables, "model.npz"), (optimizer.variables, "optimizer.npz")):
            local = load_arrays(self.current / name) if self.writer else _values(variables)
            for variable, value in zip(variables, broadcast(local, self.writer)):
                variable.assign(value)

    @property
    def live(self) -> Path:
        return super().live if self.writer else self.folder / "live"  # absent: nothing to copy

    def best_weights(self, model: keras.Model) -> list[np.ndarray] | None:
        local = super().best_weights(model) if self.writer else None
        if not broadcast_json(local is not None, self.writer):
            return None
        return broadcast(local if self.writer else model.get_weights(), self.writer)

    def save(self, model: keras.Model, best, live_dir: Path, state: dict) -> None:
        if self.writer:
            super().save(model, best, live_dir, state)
        else:
            self.state = state


def open_checkpoint(folder: Path | None, process: tuple[int, int]) -> Checkpoint | None:
    """The fit's checkpoint in ``folder`` (None: none kept); shared by broadcast when several processes train."""
    if folder is None:
        return None
    return SharedCheckpoint(folder, process[0]) if process[1] > 1 else Checkpoint(folder)
