"""9. Decoding a folder of phone photos: fetch's decoder against a plain full-size, single-threaded decode.

A generated folder of 4000x3000 JPEGs (every third one stored sideways with an
EXIF orientation), two classes. Fetch decodes at reduced scale (JPEG DCT
scaling), on every core, streaming; the plain loop decodes each photo at full
size and resizes it, one at a time. Peak memory is the fetch stage's, run as a
process on the same folder.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .harness import interleaved

PHOTOS = 200
SIZE = (4000, 3000)
TARGET = 32


def photo_folder(root: Path, count: int = PHOTOS) -> Path:
    """Photo-like JPEGs (smooth gradients, a disc, sensor noise): about 1 MB each at quality 90."""
    from PIL import Image

    if root.exists() and len(list(root.rglob("*.jpg"))) == count:
        return root
    rng = np.random.default_rng(0)
    w, h = SIZE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    exif = Image.Exif()
    exif[0x0112] = 6
    for i in range(count):
        cls = ("cat", "dog")[i % 2]
        tint = rng.uniform(0.3, 1.0, 3)
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(300, 1200)
        disc = ((x - cx) ** 2 + (y - cy) ** 2 < r * r)[..., None] * 60
        base = (x / w * 180 + y / h * 60)[..., None] * tint + disc
        pixels = np.clip(base + rng.normal(0, 6, (h, w, 1)), 0, 255).astype(np.uint8)
        folder = root / "train" / cls
        folder.mkdir(parents=True, exist_ok=True)
        options = {"exif": exif.tobytes()} if i % 3 == 0 else {}
        Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=90, **options)
    return root


def plain_decode(paths: list[Path]) -> None:
    from PIL import Image

    for path in paths:
        with Image.open(path) as image:
            image.convert("RGB").resize((TARGET, TARGET), Image.Resampling.BILINEAR)


def run(root: Path, repeats: int = 3) -> dict:
    from imgclf.data.folder import fetch_folder
    from imgclf.data.parallel import available_cores
    from imgclf.params import DataParams

    from .memory import stage_peak

    folder = photo_folder(root / "photos")
    paths = sorted(folder.rglob("*.jpg"))
    data = DataParams(dataset="folder", path=str(folder), image_size=TARGET, test_fraction=0.2)
    out = root / "raw"
    times = interleaved(
        {"fetch": lambda: fetch_folder(data, 0, out), "plain": lambda: plain_decode(paths)}, repeats=repeats, warmup=0
    )
    peak, seconds = stage_peak(root, folder, TARGET)
    fetch_rate, plain_rate = len(paths) / times["fetch"], len(paths) / times["plain"]
    return {
        "photos": len(paths),
        "photo_px": f"{SIZE[0]}x{SIZE[1]}",
        "megabytes": round(sum(p.stat().st_size for p in paths) / 1e6, 1),
        "cores": available_cores(),
        "fetch_images_per_s": round(fetch_rate, 1),
        "plain_images_per_s": round(plain_rate, 1),
        "speedup": round(fetch_rate / plain_rate, 2),
        "target": ">= 4",
        "met": fetch_rate / plain_rate >= 4,
        "fetch_stage_peak_rss_gb": round(peak, 3),
        "fetch_stage_seconds": round(seconds, 1),
        "measured_at": time.strftime("%Y-%m-%d %H:%M"),
    }
