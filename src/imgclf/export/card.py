"""model_card.md: what the exported model is, what it was trained and measured on, and where it falls short."""

from __future__ import annotations

import numpy as np

CARD_WORST = 5  # classes listed as the weakest
TTA_NOTES = {
    "flip": """
It averages each picture's logits with its mirror image's before the softmax (`evaluate.tta: flip`), as
evaluate scored it (with its mirror image's): twice the computation of the plain model per picture.""",
    "flip_translate": """
It averages each picture's logits with its mirror image's, and with those of the pair moved one pixel
down-right and one up-left (`evaluate.tta: flip_translate`; weights 1/4 each unmoved, 1/8 each moved), as
evaluate scored it (with its mirror image's): six times the computation of the plain model per picture.""",
}


def worst_classes(probs: np.ndarray, labels: np.ndarray, classes: list[str], n: int = CARD_WORST) -> list[dict]:
    """The ``n`` test classes with the lowest recall (share of their pictures predicted right)."""
    predicted = probs.argmax(1)
    rows = []
    for index in np.unique(labels):
        mine = labels == index
        rows.append(
            {"class": classes[index], "recall": float(np.mean(predicted[mine] == index)), "images": int(mine.sum())}
        )
    return sorted(rows, key=lambda r: (r["recall"], r["class"]))[:n]


def model_card(summary: dict, dataset: dict, preprocessing: dict, metrics: dict, worst: list[dict]) -> str:
    """Markdown for a person deciding whether to use the model."""
    run = summary.get("run", {})
    recipe = ", ".join(f"{k}={v}" for k, v in (summary.get("recipe") or {}).items() if not isinstance(v, dict))
    rows = "\n".join(
        f"| {name} | {f['size_bytes'] / 1e6:.2f} MB | {f['top1']:.4f} | {f['agreement']:.4%} | {f['max_abs_diff']:.2g} "
        f"| {f['latency_ms_p50']:.2f} / {f['latency_ms_p95']:.2f} | {f['images_per_second']:.0f} |"
        for name, f in metrics["formats"].items()
    )
    weakest = "\n".join(f"| {w['class']} | {w['recall']:.3f} | {w['images']} |" for w in worst)
    classes = preprocessing["classes"]
    shown = ", ".join(classes[:20]) + (f", ... ({len(classes)} in all)" if len(classes) > 20 else "")
    return f"""# Model card: {summary["model"]} image classifier

## What it is
A `{summary["model"]}` model ({summary["params"]:,} parameters) from uint8 RGB pictures of
{preprocessing["image_size"]}×{preprocessing["image_size"]} px to probabilities over {len(classes)} classes:
{shown}. Input pictures are made square by `{preprocessing["resize"]}` and resized exactly as the fetch stage
does (`imgclf predict` does it for you).{TTA_NOTES.get(preprocessing.get("tta"), "")}

## Data
Dataset `{dataset["dataset"]}` ({dataset.get("source") or "embedded"}): {dataset["train"]} training,
{dataset["val"]} validation and {dataset["test"]} test pictures; test-set fingerprint `{dataset["test_set"]}`.

## Training
Recipe: {recipe or "see train.json"}. Trained {summary.get("epochs_run")} epoch(s), best validation accuracy
{summary.get("best_val_accuracy", float("nan")):.4f} at epoch {summary.get("best_epoch")}, on {run.get("device", "unknown")}
(Keras {run.get("keras", "?")}, {run.get("backend", "?")} backend).

## Measured on the test split, per format
| format | size | top-1 | agreement with Keras | largest prob. diff | latency p50 / p95 (ms, 1 picture) | images/s (batch {metrics["batch_size"]}) |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

Weakest classes (Keras model, recall on the test split):

| class | recall | test pictures |
| --- | --- | --- |
{weakest}

Timings are from {metrics["hardware"]}; they do not carry over to other machines.

## Limitations
* It knows only these {len(classes)} classes: any picture gets one of them, however unrelated.
* Measured on {dataset["test"]} test pictures from the same source as the training data; pictures from
  elsewhere (other cameras, lighting, framing) may score lower.
* Probabilities are the softmax of the logits, not calibrated: read them as a ranking, not as frequencies.
* Quantized TFLite files (float16, dynamic, int8), where there are any, trade agreement for size: see each one's
  agreement with Keras above.
"""
