"""Entry-point plumbing for stage scripts: quiet TensorFlow, one-line errors, clean Ctrl-C."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

# Must be set before TensorFlow is imported: hides its C++ start-up chatter (CUDA probing).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .errors import PipelineError  # noqa: E402


def paths(description: str, *names: str) -> argparse.Namespace:
    """Parse ``--<name> PATH`` options; dvc.yaml is the one place the paths are written."""
    parser = argparse.ArgumentParser(description=description)
    for name in names:
        parser.add_argument(f"--{name}", required=True, metavar="PATH")
    return parser.parse_args()


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage; a PipelineError or Ctrl-C ends it with one line on stderr, not a traceback."""
    try:
        main()
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted: nothing was written to the stage's outputs", file=sys.stderr)
        sys.exit(130)
