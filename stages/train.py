"""train: the model named by `model`, with its recipe from models.<model>.

The stage resolves one training job (recipe, seed, runtime) and hands it down. Every epoch is checkpointed under
--checkpoints, in a folder keyed by what the run depends on; rerunning after an interruption continues from
there. Of several processes (docs/distribution.md), 0 writes.
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
    start_keras(params.train.backend, cluster is not None)  # after validation: importing Keras takes seconds
    from imgclf.hardware import run_info
    from imgclf.training.dispatch import train_model
    from imgclf.training.job import precision_warning, resolve_job
    from imgclf.training.resume import checkpoint_folder

    job = resolve_job(params.model, params.model_recipe, params.seed, params.train, cluster)
    inputs = (Path(args.split), Path(args.features))
    checkpoints = checkpoint_folder(Path(args.checkpoints), job.config(), inputs, cluster)
    out = args.out if writer else tempfile.mkdtemp(prefix="imgclf-train-process-")
    if writer and (slow := precision_warning(job.runtime.precision)):
        warn(slow)
    with stage_output(out, params) as tmp, keras_state(job.seed):
        trained = train_model(job, *inputs, tmp, checkpoints)
        record = {**trained.summary, "classes": read_classes(args.split), "recipe": to_dict(job.recipe)}
        write_json(tmp / "train.json", {**record, "run": run_info()})
    who = "" if writer else f" (process {cluster.index} of {cluster.processes})"
    print(f"train{who}: {params.model}: {trained.outcome_line()}")
    if writer:  # timings are kept out of the hashed output: evaluate reruns only for a new model
        write_json(args.timing, trained.timing)
        write_table(args.progress, pd.DataFrame(trained.timing["curve"]))  # val accuracy against minutes
    remove_tree(checkpoints if writer else out)


if __name__ == "__main__":
    run_stage(main)
