"""Entry-point plumbing for stage scripts: paths from dvc.yaml, outputs put in place only whole and only
when params.yaml is unchanged, one-line errors, a clean Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# Must be set before TensorFlow is imported: hides its C++ start-up chatter (CUDA probing).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .errors import ParamsError, PipelineError
from .io import NO_SPACE, atomic_dir
from .params import PARAMS_FILE, Params, load_params
from .runtime import interrupts_remembered, raise_if_interrupted


def paths(description: str, *names: str, numbers: tuple[str, ...] = ()) -> argparse.Namespace:
    """Parse ``--<name> PATH`` options (and ``--<number> N`` for a foreach item); dvc.yaml is the one place the
    paths are written."""
    parser = argparse.ArgumentParser(description=description)
    for name in names:
        parser.add_argument(f"--{name}", required=True, metavar="PATH")
    for name in numbers:
        parser.add_argument(f"--{name}", required=True, type=int, metavar="N")
    return parser.parse_args()


def confirm_params(params: Params, path: str | Path = PARAMS_FILE) -> None:
    """Fail if ``path`` no longer holds the params this stage ran with.

    DVC records the params it finds in params.yaml after a stage ends; a second
    ``dvc exp run -S ...`` started meanwhile rewrites that file, and the first
    run's outputs would be filed (in dvc.lock and the run-cache) under the
    second run's values. Checked just before outputs are put in place.
    """
    try:
        now = load_params(path)
    except ParamsError:
        now = None
    if now != params:
        raise ParamsError(
            f"{path} changed while this stage ran (another `dvc exp run -S ...` or an edit), so its outputs "
            "would be recorded under the wrong params; nothing was written. Run one experiment at a time per "
            "workspace, or queue them: `dvc exp run --queue ...` then `dvc queue start`"
        )


@contextlib.contextmanager
def stage_output(out: str | Path, params: Params) -> Iterator[Path]:
    """A temporary folder that replaces ``out`` if the block succeeds, params.yaml is unchanged and no Ctrl-C came."""
    with atomic_dir(out) as tmp:
        yield tmp
        confirm_params(params)
        raise_if_interrupted()


NO_SPACE_TEXT = re.compile(r"(?:(\S+?)[;:,]?\s+)?(?:No space left on device|Disk quota exceeded)")


def out_of_space(exc: BaseException) -> str | None:
    """For an error that is a full disk (an OSError, or TensorFlow's errors that only say so in their text),
    the path being written ('' when it does not say); None for any other error. Causes are looked through."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_SPACE:
            return str(exc.filename or "")
        if found := NO_SPACE_TEXT.search(str(exc)):
            return found[1] or ""
        exc = exc.__cause__ or exc.__context__
    return None


def out_of_space_line(stage: str, path: str) -> str:
    where = Path(path or ".").absolute()
    existing = next((p for p in [where, *where.parents] if p.exists()), Path("/"))
    free_mb = shutil.disk_usage(existing).free / 1e6
    writing = f" writing {path}" if path else ""
    return (
        f"{stage}: no space left on device{writing} ({free_mb:.0f} MB free); nothing was written to the stage's outputs"
    )


def stage_name() -> str:
    """The DVC stage running (DVC names it in DVC_STAGE), else the script's or command's name."""
    return os.environ.get("DVC_STAGE") or Path(sys.argv[0]).stem


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage; a PipelineError, a full disk or Ctrl-C ends it with one line on stderr, not a traceback.
    Every output is written under a temporary name first (``io``), removed when the block fails."""
    try:
        with interrupts_remembered():
            main()
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        path = out_of_space(exc)
        if path is None:
            raise
        print(f"error: {out_of_space_line(stage_name(), path)}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: nothing was written to the stage's outputs", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Straight out: TensorFlow's teardown after an interrupt in the middle of a step was seen to abort
        # ("free(): invalid next size", SIGABRT) after this line; every output is already whole or absent.
        os._exit(130)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
