"""evaluate: test-set metrics, per-class table, confusion pairs and training curves under metrics/."""

from pathlib import Path

from imgclf.data.arrays import read_classes
from imgclf.evaluation.metrics import classification_metrics, confusion_pairs, per_class_table, softmax
from imgclf.evaluation.reports import check_classes, history_table, run_record, train_record
from imgclf.io import read_json, write_json, write_table
from imgclf.params import load_params
from imgclf.stage import paths, run_stage


def main() -> None:
    args = paths(__doc__, "split", "features", "train", "out")
    load_params()  # validates params.yaml; evaluate itself reads no knob
    classes = read_classes(args.split)
    summary = read_json(Path(args.train) / "train.json")
    check_classes(summary, classes, Path(args.train), Path(args.split))
    from imgclf.evaluation.inference import predict

    out = Path(args.out)
    labels, logits = predict(args.train, args.split, args.features)
    probs = softmax(logits)
    dataset = read_json(Path(args.split) / "dataset.json")
    metrics = classification_metrics(labels, probs, classes)
    write_json(out / "eval.json", {**metrics, "train": train_record(summary), "run": run_record(summary, dataset)})
    write_table(out / "per_class.csv", per_class_table(labels, probs.argmax(1), classes))
    write_table(out / "confusion.csv", confusion_pairs(labels, probs.argmax(1), classes))
    write_table(out / "history.csv", history_table(Path(args.train) / "live"))
    shown = "  ".join(f"{k} {metrics[k]:.4f}" for k in ("top1", "top5", "macro_f1") if k in metrics)
    print(f"evaluate: {shown}" + "".join(f"\n  note: {n}" for n in metrics.get("notes", [])))


if __name__ == "__main__":
    run_stage(main)
