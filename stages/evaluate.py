"""evaluate: test-set metrics, per-class table, confusion pairs and training curves under metrics/."""

from pathlib import Path

from imgclf.arrays import read_classes
from imgclf.cli import paths, run_stage
from imgclf.evaluation import classification_metrics, confusion_pairs, per_class_table, softmax
from imgclf.io import read_json, write_json, write_table
from imgclf.params import load_params
from imgclf.reports import history_table, run_record, train_record


def main() -> None:
    args = paths(__doc__, "split", "features", "train", "out")
    load_params()  # validates params.yaml; evaluate itself reads no knob
    from imgclf.inference import predict

    out = Path(args.out)
    labels, logits = predict(args.train, args.split, args.features)
    probs = softmax(logits)
    classes = read_classes(args.split)
    summary = read_json(Path(args.train) / "train.json")
    dataset = read_json(Path(args.split) / "dataset.json")
    metrics = classification_metrics(labels, probs)
    write_json(out / "eval.json", {**metrics, "train": train_record(summary), "run": run_record(summary, dataset)})
    write_table(out / "per_class.csv", per_class_table(labels, probs.argmax(1), classes))
    write_table(out / "confusion.csv", confusion_pairs(labels, probs.argmax(1), classes))
    write_table(out / "history.csv", history_table(Path(args.train) / "live"))
    print(f"evaluate: top1 {metrics['top1']:.4f}  top5 {metrics['top5']:.4f}  macro F1 {metrics['macro_f1']:.4f}")


if __name__ == "__main__":
    run_stage(main)
