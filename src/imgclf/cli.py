"""The ``imgclf`` command: the tools around the pipeline, one subcommand each.

    imgclf predict PATH... [--model data/export] [--top-k 5] [--out predictions.csv] [--rev REV]
    imgclf leaderboard [--rev REV ...] [--all-commits] [--out DIR]
    imgclf plan --minutes N [-S key=value ...] [--lr-find]
    imgclf cluster-demo [--epochs N]

Errors print one line and exit 1; Ctrl-C exits 130, as in the stages.
"""

from __future__ import annotations

import argparse
import importlib
import os

# Before TensorFlow is imported: hides its C++ start-up chatter (CUDA probing).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# subcommand -> (module with add_arguments(parser) and run(args), one-line help)
COMMANDS = {
    "predict": ("imgclf.tools.predict", "classify pictures, folders and archives with an exported model"),
    "leaderboard": ("imgclf.tools.leaderboard", "rank experiments and commits by test top-1"),
    "plan": ("imgclf.tools.plan", "size a training run's epochs to a time budget, measured on your data"),
    "cluster-demo": ("imgclf.tools.cluster_demo", "train one model with two local processes and compare with one"),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="imgclf", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(command)
    return top


def main(argv: list[str] | None = None) -> None:
    from .stage import run_stage

    args = parser().parse_args(argv)
    run_stage(lambda: importlib.import_module(COMMANDS[args.command][0]).run(args))
