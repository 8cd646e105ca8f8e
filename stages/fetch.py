"""fetch: the dataset named by data.dataset as uint8 arrays, labels and classes.json."""

from imgclf.data.sources import fetch
from imgclf.io import write_json
from imgclf.params import load_params
from imgclf.stage import paths, run_stage, stage_output, warn


def main() -> None:
    args = paths(__doc__, "out")
    params = load_params()
    with stage_output(args.out, params) as tmp:
        report = fetch(params.data, params.seed, tmp)
        write_json(tmp / "report.json", report)
    for message in report["warnings"]:
        warn(message)
    copies = report["duplicates"]
    print(
        f"fetch: {report['dataset']}: {report['train']} train, {report['test']} test images -> {args.out}; "
        f"exact duplicates: {copies['within_train']} within train, {copies['within_test']} within test, "
        f"{copies['across_train_test']} across"
    )


if __name__ == "__main__":
    run_stage(main)
