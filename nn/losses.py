"""Loss functions: cross-entropy and the knowledge-distillation loss.

A loss is called as ``loss(outputs, labels, teacher_outputs=None)`` on a batch
and returns ``(value, grad)``: the mean loss over the batch and its gradient
with respect to ``outputs`` (same shape).  ``labels`` are integer class indices.
"""

from __future__ import annotations

import numpy as np

from nn.activations import log_softmax
from nn.errors import ConfigError, ShapeError

__all__ = ["CrossEntropy", "DistillationLoss", "Loss", "check_labels"]


def check_labels(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Validate a (N, C) output batch against N integer labels in ``[0, C)``; return the labels.

    Raises:
        ShapeError: ``outputs`` is not (batch, classes), or ``labels`` are not one class index per row.
    """
    outputs = np.asarray(outputs)
    labels = np.asarray(labels)
    if outputs.ndim != 2:
        raise ShapeError(f"outputs must be a (batch, classes) array, got shape {outputs.shape}")
    if labels.ndim != 1 or labels.shape[0] != outputs.shape[0]:
        raise ShapeError(
            f"labels must be a 1-D array of {outputs.shape[0]} class indices, got shape {labels.shape}; "
            "pass integer labels, not one-hot vectors"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ShapeError(f"labels must be integers (class indices), got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= outputs.shape[1]):
        raise ShapeError(
            f"labels must lie in [0, {outputs.shape[1]}), got range [{labels.min()}, {labels.max()}]; "
            "the model's last layer must have one output per class"
        )
    return labels


class Loss:
    """Base class of the losses: ``loss(outputs, labels, teacher_outputs=None) -> (value, grad)``."""

    needs_teacher = False

    def __call__(
        self, outputs: np.ndarray, labels: np.ndarray, teacher_outputs: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        raise NotImplementedError


class CrossEntropy(Loss):
    """Mean cross-entropy ``-1/N sum_n log p_n[y_n]``.

    With ``from_logits=True`` (default) ``p = softmax(z)`` and the gradient is
    ``(softmax(z) - onehot(y)) / N``.  With ``from_logits=False`` the outputs
    are already probabilities (e.g. after `nn.activations.SoftArgmax`)
    and the gradient is ``-onehot(y) / (N p)``; probabilities are clipped at
    ``eps`` to keep the logarithm finite.
    """

    def __init__(self, from_logits: bool = True, eps: float = 1e-12) -> None:
        self.from_logits = bool(from_logits)
        self.eps = float(eps)

    def __call__(
        self, outputs: np.ndarray, labels: np.ndarray, teacher_outputs: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        labels = check_labels(outputs, labels)
        n = outputs.shape[0]
        rows = np.arange(n)
        if self.from_logits:
            logp = log_softmax(outputs)
            grad = np.exp(logp)
            grad[rows, labels] -= 1.0
            return float(-logp[rows, labels].mean()), grad / n
        p = np.clip(outputs[rows, labels], self.eps, None)
        grad = np.zeros_like(outputs, dtype=np.float64)
        grad[rows, labels] = -1.0 / (n * p)
        return float(-np.log(p).mean()), grad


class DistillationLoss(Loss):
    """Knowledge-distillation loss (Hinton, Vinyals and Dean, "Distilling the
    Knowledge in a Neural Network", 2015), as used by Baruch et al. 2022.

    ``L = alpha * T^2 * KL(softmax(t/T) || softmax(z/T)) + (1 - alpha) * CE(z, y)``

    where ``z`` are the student's logits, ``t`` the teacher's, ``T`` the
    temperature.  The ``T^2`` factor keeps the soft-target gradient's magnitude
    independent of ``T``:
    ``dL/dz = alpha * T * (softmax(z/T) - softmax(t/T)) / N + (1 - alpha) * (softmax(z) - onehot(y)) / N``.

    Raises:
        ConfigError: ``temperature`` is not positive or ``alpha`` is outside [0, 1].
    """

    needs_teacher = True

    def __init__(self, temperature: float = 4.0, alpha: float = 0.7) -> None:
        temperature = float(temperature)
        alpha = float(alpha)
        if not (np.isfinite(temperature) and temperature > 0):
            raise ConfigError(f"temperature must be a positive number, got {temperature}")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha (weight of the soft-target term) must lie in [0, 1], got {alpha}")
        self.temperature = temperature
        self.alpha = alpha
        self._hard = CrossEntropy()

    def __call__(
        self, outputs: np.ndarray, labels: np.ndarray, teacher_outputs: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        if teacher_outputs is None:
            raise ConfigError("DistillationLoss needs the teacher's logits: pass teacher=... to nn.train.fit")
        teacher_outputs = np.asarray(teacher_outputs, dtype=np.float64)
        if teacher_outputs.shape != np.shape(outputs):
            raise ShapeError(
                f"teacher logits have shape {teacher_outputs.shape} but the student's have {np.shape(outputs)}; "
                "teacher and student must have the same number of classes"
            )
        hard, ghard = self._hard(outputs, labels)
        t = self.temperature
        n = outputs.shape[0]
        log_q = log_softmax(outputs / t)
        log_p = log_softmax(teacher_outputs / t)
        p = np.exp(log_p)
        kl = float(np.sum(p * (log_p - log_q)) / n)
        gsoft = t * (np.exp(log_q) - p) / n
        value = self.alpha * t * t * kl + (1.0 - self.alpha) * hard
        return value, self.alpha * gsoft + (1.0 - self.alpha) * ghard
