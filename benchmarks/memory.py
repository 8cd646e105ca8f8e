"""6. Peak resident memory of fetch, split, featurize (its one shard, then the join) on the 60,000 CIFAR-10 images."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .harness import SHARED

REPO = Path(__file__).resolve().parents[1]
CIFAR10 = SHARED / "datasets" / "cifar10-jpg.tar.gz"
TARGET_GB = 2.0


STAGES = ("fetch", "split", "featurize_shard", "featurize")


def stage_command(name: str) -> list[str]:
    """The stage's script and arguments as dvc.yaml writes them (shard 0 of a foreach stage), so this section
    runs what `dvc repro` runs and cannot drift from it."""
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][name]
    cmd = " ".join((stage.get("do") or stage)["cmd"].split()).replace("${item}", "0")
    python, script, *args = cmd.split()
    assert python == "python" and script.startswith("stages/"), cmd
    return [str(REPO / script), *args]


def _stage(root: Path, script: str, *args: str) -> tuple[float, float]:
    """(peak RSS in GB, seconds) of one stage script run in ``root`` (where its params.yaml is)."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, script, *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "IMGCLF_NO_PROGRESS": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed: {done.stderr[-2000:]}")
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return peak_kb / 1024**2, time.perf_counter() - start


def _write_params(root: Path, folder: Path, image_size: int = 32) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"].update(dataset="folder", path=str(folder), image_size=image_size)
    # The cheapest backbone: memory, not speed, is measured here.
    params["features"].update(backbone="mobilenet", alpha=0.25, weights="none", image_size=32, batch_size=256)
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def stage_peak(root: Path, folder: Path, image_size: int) -> tuple[float, float]:
    """(peak RSS in GB, seconds) of the fetch stage on ``folder``."""
    _write_params(root / "fetch-stage", folder, image_size)
    return _stage(root / "fetch-stage", *stage_command("fetch"))


def run(root: Path) -> dict:
    if not CIFAR10.exists():
        return {"skipped": f"{CIFAR10} not found"}
    _write_params(root, CIFAR10)
    rows = {}
    for stage in STAGES:
        peak, seconds = _stage(root, *stage_command(stage))
        rows[stage] = {"peak_rss_gb": round(peak, 3), "seconds": round(seconds, 1)}
    images = 60_000
    return {
        "images": images,
        "float32_dataset_gb_at_32px": round(images * 32 * 32 * 3 * 4 / 1024**3, 3),
        "float32_dataset_gb_at_224px": round(images * 224 * 224 * 3 * 4 / 1024**3, 1),
        "stages": rows,
        "target": f"< {TARGET_GB} GB",
        "met": all(r["peak_rss_gb"] < TARGET_GB for r in rows.values()),
        "raw": str(root / "data" / "raw"),
    }
