"""Progress bars on stderr, quiet enough for CI logs when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from tqdm import tqdm


def enabled() -> bool:
    """False when IMGCLF_NO_PROGRESS=1 (benchmarks, CI): bars and per-epoch lines are then silent."""
    return os.environ.get("IMGCLF_NO_PROGRESS") != "1"


def bar(total: int | None = None, desc: str = "", unit: str = "it", **kwargs) -> tqdm:
    interactive = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.2 if interactive else 10.0,
        disable=not enabled(),
        **kwargs,
    )


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """No bars or per-epoch lines in the block (a tool's own short measuring fits)."""
    before = os.environ.get("IMGCLF_NO_PROGRESS")
    os.environ["IMGCLF_NO_PROGRESS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["IMGCLF_NO_PROGRESS"]
        else:
            os.environ["IMGCLF_NO_PROGRESS"] = before
