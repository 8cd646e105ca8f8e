"""Helpers for tests that run the real pipeline as a user does: a fresh copy of the project, git, dvc."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from fakes import REPO

STAGES = ("validate", "fetch", "split", "featurize_shard@0", "featurize", "train", "evaluate", "export")
BIN = Path(sys.executable).parent
# For tests about the pipeline, not the backbone. A random MobileNet's embeddings are near zero, so bfloat16 and
# float32 give the same ones and `precision: auto` would go by speed alone, which is noise on a busy machine.
SMALL_BACKBONE = {"backbone": "mobilenet", "alpha": 0.25, "precision": "float32"}


def run(root: Path, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "IMGCLF_NO_PROGRESS": "1"}
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.org",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.org",
    )
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def ran(result: subprocess.CompletedProcess) -> list[str]:
    return re.findall(r"Running stage '([\w@]+)'", result.stdout + result.stderr)


def metrics(root: Path) -> dict:
    return json.loads((root / "metrics" / "eval.json").read_text())


def merge(into: dict, changes: dict) -> None:
    """Nested keys of ``changes`` set in ``into``, the others left as they are."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        else:
            into[key] = value


def edit_params(root: Path, changes: dict) -> None:
    """params.yaml and the models' recipes/<name>.yaml with nested ``changes`` merged, as a user edits them:
    ``models.<name>`` goes to that model's file, the rest to params.yaml (whose ``recipe`` every file inherits)."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    for name, own in (changes.get("models") or {}).items():
        path = root / "recipes" / f"{name}.yaml"
        mine = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        merge(mine, own)
        path.write_text(yaml.safe_dump(mine, sort_keys=False))
    merge(params, {k: v for k, v in changes.items() if k != "models"})
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def clone(root: Path, data_changes: dict | None = None, **sections: dict) -> Path:
    """The project's files as a fresh clone has them (no outputs, no lock), committed to a new git repo;
    ``data_changes`` and ``sections`` (e.g. ``export={"formats": []}``, nested dicts merged) edit params.yaml first."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in listed:
        if (REPO / name).is_file() and not name.startswith(("metrics/", "dvc.lock")):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    changes = {"data": data_changes or {}, **sections}
    if any(changes.values()):
        edit_params(root, changes)
    run(root, "git", "init", "-q")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", "fresh clone")
    return root


def tiny(root: Path) -> Path:
    """A fresh clone on 12 training images per class of the default data, prepared up to featurize; the
    backbone is a random MobileNet α=0.25 (1 MB, against ResNet50's 100 MB that every export would carry)."""
    clone(root, {"limit_per_class": 12, "test_limit_per_class": 3, "val_fraction": 0.25}, features=SMALL_BACKBONE)
    run(root, "dvc", "repro", "featurize")
    return root


def start(root: Path, *cmd: str) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "IMGCLF_NO_PROGRESS": "1"}
    return subprocess.Popen(
        cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def checkpointed_epoch(root: Path) -> int:
    """The last epoch checkpointed under ``root/checkpoints``; 0 for none (or one the next save is replacing)."""
    epochs = []
    for state in root.glob("checkpoints/*/*/epoch-*/state.json"):
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            epochs.append(json.loads(state.read_text())["epoch"])
    return max(epochs, default=0)


def wait_for_epoch(root: Path, epoch: int, processes: list, timeout_s: float = 300) -> bool:
    """Whether epoch ``epoch`` got checkpointed while ``processes`` all ran. The checkpoint file is the only
    signal a training process gives from outside, so it is polled (every 20 ms, up to ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while checkpointed_epoch(root) < epoch:
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            return False
        time.sleep(0.02)
    return True


def interrupt_after_epoch(root: Path, cmd: list[str], epoch: int, sig: int) -> tuple[int, str, str]:
    """Run ``cmd``; send ``sig`` to all of it (dvc and the stage) once epoch ``epoch`` is checkpointed.

    The moment the checkpoint is seen, the whole process group is frozen (SIGSTOP), then signalled, then let
    go: however fast its epochs, the run cannot end between the event and the signal."""
    shutil.rmtree(root / "checkpoints", ignore_errors=True)
    process = start(root, *cmd)
    reached = wait_for_epoch(root, epoch, [process])
    if reached:
        os.killpg(process.pid, signal.SIGSTOP)
        os.killpg(process.pid, sig)
        os.killpg(process.pid, signal.SIGCONT)
    out, err = process.communicate(timeout=120)
    assert reached, f"training ended before it could be interrupted:\n{out}\n{err}"
    return process.returncode, out, err
