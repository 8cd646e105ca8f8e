"""Test-set metrics with scikit-learn; tables with pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_recall_fscore_support, top_k_accuracy_score


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> dict:
    """top-1, top-5, macro F1 and log loss over all classes (absent ones included)."""
    classes = np.arange(probs.shape[1])
    predicted = probs.argmax(axis=1)
    return {
        "top1": float(accuracy_score(labels, predicted)),
        "top5": float(top_k_accuracy_score(labels, probs, k=min(5, len(classes)), labels=classes)),
        "macro_f1": float(f1_score(labels, predicted, labels=classes, average="macro", zero_division=0)),
        "log_loss": float(log_loss(labels, probs, labels=classes)),
        "images": int(len(labels)),
    }


def per_class_table(labels: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=np.arange(len(class_names)), zero_division=0
    )
    return pd.DataFrame(
        {"class": class_names, "precision": precision, "recall": recall, "f1": f1, "support": support}
    )


def confusion_pairs(labels: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """One row per test image, the shape DVC's confusion-matrix template reads."""
    names = np.asarray(class_names, dtype=object)
    return pd.DataFrame({"actual": names[labels], "predicted": names[predicted]})
