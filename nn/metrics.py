"""Classification metrics: accuracy, confusion matrix, per-class and macro F1."""

from __future__ import annotations

import numpy as np

from nn.errors import ShapeError

__all__ = ["accuracy", "confusion_matrix", "f1_score", "f1_scores"]


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ShapeError(
            f"y_true and y_pred must be 1-D arrays of the same length, got shapes {y_true.shape} and {y_pred.shape}; "
            "pass class indices (use outputs.argmax(axis=1) for model outputs)"
        )
    if y_true.size == 0:
        raise ShapeError("metrics need at least one sample, got empty arrays")
    if min(y_true.min(), y_pred.min()) < 0:
        raise ShapeError("class indices must be non-negative integers")
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of samples with ``y_pred == y_true``."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """``M[i, j]`` = number of samples of true class ``i`` predicted as ``j``."""
    y_true, y_pred = _pair(y_true, y_pred)
    k = int(max(y_true.max(), y_pred.max()) + 1) if num_classes is None else int(num_classes)
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Per-class F1 = ``2 TP / (2 TP + FP + FN)`` (0 for a class never true nor predicted)."""
    m = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(m).astype(np.float64)
    denom = m.sum(axis=0) + m.sum(axis=1)
    return np.divide(2.0 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def f1_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro F1: the unweighted mean of the per-class F1 scores over the classes
    that occur in ``y_true`` or ``y_pred`` (as scikit-learn's ``average="macro"``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    present = np.union1d(y_true, y_pred)
    return float(f1_scores(y_true, y_pred)[present].mean())
