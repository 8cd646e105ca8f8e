"""7. What DVC itself costs: a no-op `dvc repro`, and a rerun after one head param changes."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(root: Path, *cmd: str) -> float:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "IMGCLF_NO_PROGRESS": "1",
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@example.org",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@example.org",
    }
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def run(root: Path) -> dict:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if not name.startswith(("metrics/", "dvc.lock")):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    _run(root, "git", "init", "-q")
    _run(root, "git", "add", "-A")
    _run(root, "git", "commit", "-qm", "bench")
    first = _run(root, "dvc", "repro")
    noop = statistics.median(_run(root, "dvc", "repro") for _ in range(3))
    head = statistics.median(
        _run(root, "dvc", "exp", "run", "-S", f"models.head.epochs={e}") for e in (5, 6, 7)
    )  # new values: no run-cache hit
    keras_import = statistics.median(_run(root, sys.executable, "-c", "import keras") for _ in range(3))
    return {
        "first_repro_s": round(first, 1),
        "noop_repro_s": round(noop, 2),
        "head_param_rerun_s": round(head, 1),
        "python_import_keras_s": round(keras_import, 2),
        "note": "the rerun runs train and evaluate; each stage process pays the Keras import",
    }
