"""Test-set metrics with scikit-learn; tables with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from .calibration import expected_calibration_error

TOP_K = 5


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def classification_metrics(labels: np.ndarray, probs: np.ndarray, class_names: list[str]) -> dict:
    """top-1, top-5 (only with more than 5 classes), macro F1 over the classes the test set holds, log loss.

    A class with no test images has no recall and would add a zero F1, so it is
    left out of the macro average and named under ``classes_without_test_images``.
    """
    # a float32 softmax's rows sum to 1 within float32's rounding, past the float64 tolerance of sklearn's log
    # loss, which then warns on every run; renormalized in float64, the figures are the same
    probs = np.asarray(probs, np.float64)
    probs = probs / probs.sum(axis=1, keepdims=True)
    classes = np.arange(probs.shape[1])
    present = np.unique(labels)
    predicted = probs.argmax(axis=1)
    result = {"top1": float(accuracy_score(labels, predicted))}
    if len(classes) > TOP_K:
        result[f"top{TOP_K}"] = float(top_k_accuracy_score(labels, probs, k=TOP_K, labels=classes))
    result["macro_f1"] = float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0))
    result["balanced_accuracy"] = float(balanced_accuracy_score(labels, predicted))  # mean per-class recall
    result["ece"] = expected_calibration_error(probs, labels)
    result["log_loss"] = float(log_loss(labels, probs, labels=classes))
    result["images"] = len(labels)
    notes = []
    if len(classes) <= TOP_K:
        notes.append(f"top{TOP_K} not reported: with {len(classes)} classes it is 1.0 by construction")
    missing = [class_names[c] for c in classes if c not in set(present.tolist())]
    if missing:
        result["classes_without_test_images"] = missing
        notes.append(f"macro_f1 and per_class.csv cover the {len(present)} classes with test images")
    if notes:
        result["notes"] = notes
    return result


def per_class_table(labels: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class that has test images."""
    present = np.unique(labels)
    precision, recall, f1, support = precision_recall_fscore_support(labels, predicted, labels=present, zero_division=0)
    names = np.asarray(class_names, dtype=object)[present]
    return pd.DataFrame(
        {"class": names, "precision": precision, "recall": recall, "error": 1 - recall, "f1": f1, "support": support}
    )


def predictions_table(
    labels: np.ndarray, probs: np.ndarray, class_names: list[str], names: list[str] | None = None
) -> pd.DataFrame:
    """One row per test picture: its file (or index), true and predicted class, the predicted probability."""
    classes = np.asarray(class_names, dtype=object)
    predicted = probs.argmax(1)
    return pd.DataFrame(
        {
            "image": names if names is not None else np.arange(len(labels)),
            "true": classes[labels],
            "predicted": classes[predicted],
            "probability": probs[np.arange(len(labels)), predicted],
            "correct": predicted == labels,
        }
    )


def confusion_pairs(labels: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """One row per test image, the shape DVC's confusion-matrix template reads."""
    names = np.asarray(class_names, dtype=object)
    return pd.DataFrame({"actual": names[labels], "predicted": names[predicted]})
