"""train: the model named by `model`, with its recipe from models.<model>.

Every epoch is checkpointed under --checkpoints, in a folder keyed by the params,
data and code of the run; rerunning after an interruption continues from there.
"""

from pathlib import Path

from imgclf.arrays import read_classes
from imgclf.cli import paths, run_stage, stage_output
from imgclf.hardware import run_info
from imgclf.io import remove_tree, write_json
from imgclf.params import load_params, to_dict


def main() -> None:
    args = paths(__doc__, "split", "features", "checkpoints", "out", "timing")
    params = load_params()
    from imgclf.resume import run_key
    from imgclf.trainers import train  # after validation: importing Keras takes seconds

    config = {"seed": params.seed, "model": params.model, "train": to_dict(params.train), "recipe": to_dict(params.recipe)}
    checkpoints = Path(args.checkpoints) / run_key(config, Path(args.split), Path(args.features))
    with stage_output(args.out, params) as tmp:
        summary = train(params, Path(args.split), Path(args.features), tmp, checkpoints)
        timing = summary.pop("timing")  # kept out of the hashed output, so evaluate reruns only for a new model
        record = {**summary, "classes": read_classes(args.split), "recipe": to_dict(params.recipe), "run": run_info()}
        write_json(tmp / "train.json", record)
    write_json(args.timing, timing)
    remove_tree(checkpoints)
    print(f"train: {params.model}: best val accuracy {summary['best_val_accuracy']:.4f} at epoch {summary['best_epoch']}")


if __name__ == "__main__":
    run_stage(main)
