"""evaluate: test-set metrics, per-class, confusion, calibration and prediction tables, training curves and
the most confident mistakes, under metrics/."""

from pathlib import Path

from imgclf.evaluation.evaluate import evaluate
from imgclf.params import load_params
from imgclf.runtime import start_keras
from imgclf.stage import paths, run_stage


def main() -> None:
    args = paths(__doc__, "split", "features", "train", "out")
    params = load_params()
    start_keras()  # after validation: Keras is slow to import
    metrics = evaluate(Path(args.split), Path(args.features), Path(args.train), Path(args.out), params.evaluate)
    shown = "  ".join(f"{k} {metrics[k]:.4f}" for k in ("top1", "top5", "macro_f1", "ece") if k in metrics)
    print(f"evaluate: {shown}  (tta: {metrics['tta']})" + "".join(f"\n  note: {n}" for n in metrics.get("notes", [])))


if __name__ == "__main__":
    run_stage(main)
