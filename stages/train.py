"""train: the model named by `model`, with its recipe from models.<model>."""

from pathlib import Path

from imgclf.cli import paths, run_stage
from imgclf.hardware import run_info
from imgclf.io import atomic_dir, write_json
from imgclf.params import load_params, to_dict


def main() -> None:
    args = paths(__doc__, "split", "features", "out")
    params = load_params()
    from imgclf.trainers import train  # after validation: importing Keras takes seconds

    with atomic_dir(args.out) as tmp:
        summary = train(params, Path(args.split), Path(args.features), tmp)
        write_json(tmp / "train.json", {**summary, "recipe": to_dict(params.recipe), "run": run_info()})
    print(f"train: {params.model}: best val accuracy {summary['best_val_accuracy']:.4f} at epoch {summary['best_epoch']}")


if __name__ == "__main__":
    run_stage(main)
