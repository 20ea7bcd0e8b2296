"""Classification metrics: accuracy, confusion matrix, per-class and macro F1, expected calibration error."""

from __future__ import annotations

import numpy as np

from nn.errors import ShapeError

__all__ = ["accuracy", "confusion_matrix", "expected_calibration_error", "f1_score", "f1_scores"]


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


def expected_calibration_error(probabilities: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error (Naeini, Cooper and Hauskrecht, AAAI 2015; Guo et al., ICML 2017).

    The confidence of a sample is its largest probability ``max_i p_i``; the samples are put into
    ``bins`` equal-width confidence bins ``B_m`` on [0, 1] and

        ECE = sum_m |B_m| / n * |accuracy(B_m) - mean confidence(B_m)|.

    0 for a perfectly calibrated classifier.

    Args:
        probabilities: (n, classes) predicted probabilities (rows summing to 1).
        y_true: n integer labels.
        bins: number of confidence bins.

    Returns:
        The ECE, in [0, 1].

    Raises:
        ShapeError: ``probabilities`` is not (n, classes) with n labels, or holds values outside
            [0, 1] or NaN (pass probabilities, not logits).
        ConfigError: ``bins`` is not a positive integer.
    """
    from nn.errors import ConfigError

    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ShapeError(f"probabilities must be a (samples, classes) array, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < -1e-9 or p.max() > 1 + 1e-9:
        raise ShapeError("probabilities must lie in [0, 1]; apply a softmax to logits first")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ConfigError(f"bins must be a positive integer, got {bins!r}")
    y_true, pred = _pair(y_true, p.argmax(axis=1))
    conf = p.max(axis=1)
    which = np.minimum((conf * bins).astype(np.int64), bins - 1)
    correct = (pred == y_true).astype(np.float64)
    total = 0.0
    for m in range(bins):
        sel = which == m
        if sel.any():
            total += sel.sum() / conf.size * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)
