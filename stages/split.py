"""split: stratified, seeded train/validation split; the test set passes through untouched."""

from imgclf.data.split import describe_dataset, split_dataset
from imgclf.io import write_json
from imgclf.params import load_params
from imgclf.stage import paths, run_stage, stage_output


def main() -> None:
    args = paths(__doc__, "raw", "out")
    params = load_params()
    data = params.data
    with stage_output(args.out, params) as tmp:
        counts = split_dataset(
            args.raw,
            tmp,
            val_fraction=data.val_fraction,
            limit=data.limit_per_class,
            test_limit=data.test_limit_per_class,
            seed=params.seed,
        )
        write_json(tmp / "dataset.json", describe_dataset(args.raw, tmp, counts))
    print(f"split: {counts} -> {args.out}")


if __name__ == "__main__":
    run_stage(main)
