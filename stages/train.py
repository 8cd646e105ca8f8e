"""train: the model named by `model`, with its recipe from models.<model>.

Every epoch is checkpointed under --checkpoints, in a folder keyed by the params, data and code of the run;
rerunning after an interruption continues from there. Of several processes (docs/distribution.md), 0 writes.
"""

import sys
import tempfile
from pathlib import Path

import pandas as pd

from imgclf.data.arrays import read_classes
from imgclf.io import remove_tree, write_json, write_table
from imgclf.params import load_params, to_dict
from imgclf.stage import paths, run_stage, stage_output, warn


def main() -> None:
    args = paths(__doc__, "split", "features", "checkpoints", "out", "timing", "progress")
    params = load_params()
    from imgclf.runtime import keras_state, start_keras
    from imgclf.training.cluster import join

    cluster, supervised = join(params.train, sys.argv)  # before Keras: JAX must join before its first array
    if supervised is not None:
        sys.exit(supervised)
    writer = cluster is None or cluster.index == 0  # the others train along and write nothing DVC tracks
    start_keras(params.train.backend)  # after validation: importing Keras takes seconds
    from imgclf.hardware import run_info
    from imgclf.models.registry import train
    from imgclf.training.resume import checkpoint_folder
    from imgclf.training.trainers import precision_policy, precision_warning

    recipe = to_dict(params.recipe)
    config = dict(seed=params.seed, model=params.model, train=to_dict(params.train), models={params.model: recipe})
    checkpoints = checkpoint_folder(Path(args.checkpoints), config, (Path(args.split), Path(args.features)), cluster)
    out = args.out if writer else tempfile.mkdtemp(prefix="imgclf-train-process-")
    policy = precision_policy(params.train.mixed_precision)
    if writer and (slow := precision_warning(policy)):
        warn(slow)
    with stage_output(out, params) as tmp, keras_state(params.seed):
        trained = train(params, Path(args.split), Path(args.features), tmp, checkpoints, policy)
        record = {**trained.summary, "classes": read_classes(args.split), "recipe": recipe, "run": run_info()}
        write_json(tmp / "train.json", record)
    print(
        f"train{'' if writer else f' (process {cluster.index} of {cluster.processes})'}: {params.model}: {trained.outcome_line()}"
    )
    if writer:  # timings are kept out of the hashed output: evaluate reruns only for a new model
        write_json(args.timing, trained.timing)
        write_table(args.progress, pd.DataFrame(trained.timing["curve"]))  # val accuracy against minutes
    remove_tree(checkpoints if writer else out)


if __name__ == "__main__":
    run_stage(main)
