"""The training loop: seeded mini-batch training with progress output and early stopping.

``fit`` shuffles with its own ``numpy.random.Generator`` seeded by ``seed``, so
the same model (built from the same seed), data and settings give bit-identical
results.  Teacher outputs for knowledge distillation are computed once, before
training, and sliced with each mini-batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nn.errors import ConfigError, ShapeError, TrainingDivergedError
from nn.losses import CrossEntropy, Loss
from nn.metrics import accuracy, f1_score
from nn.model import Sequential
from nn.optim import Adam, Optimizer

__all__ = ["History", "evaluate", "fit"]


@dataclass
class History:
    """What ``fit`` observed: one dict of metrics per epoch, and the early-stopping outcome."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def series(self, key: str) -> list[float]:
        """The values of one metric (e.g. ``"val_accuracy"``) over the epochs."""
        return [e[key] for e in self.epochs if key in e]


def evaluate(model: Sequential, x: np.ndarray, y: np.ndarray, loss: Loss | None = None) -> dict[str, float]:
    """``{"loss", "accuracy", "f1"}`` of ``model`` on ``(x, y)`` (F1 is macro-averaged).

    ``loss`` defaults to cross-entropy on logits; a loss that needs a teacher is
    replaced by cross-entropy here.
    """
    out = model.predict(x)
    loss = CrossEntropy() if loss is None or loss.needs_teacher else loss
    value, _ = loss(out, y)
    pred = out.argmax(axis=1)
    return {"loss": value, "accuracy": accuracy(y, pred), "f1": f1_score(y, pred)}


def _check_data(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    if x.ndim < 2 or y.ndim != 1 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ShapeError(
            f"{what}: x must be a non-empty batch (samples first) and y a 1-D label array of the same length, "
            f"got x {x.shape} and y {y.shape}"
        )
    return x, y


def _clip_gradients(model: Sequential, max_norm: float) -> None:
    grads = [g for _, _, g in model.parameters()]
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm


def fit(
    model: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    loss: Loss | None = None,
    optimizer: Optimizer | None = None,
    seed: int = 0,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    teacher: Sequential | None = None,
    patience: int | None = None,
    monitor: str = "val_loss",
    restore_best: bool = True,
    clip_grad_norm: float | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    on_epoch_begin: Callable[[int, Sequential], None] | None = None,
    verbose: bool = True,
    log: Callable[[str], Any] = print,
) -> History:
    """Train ``model`` on ``(x, y)`` with mini-batches; return the :class:`History`.

    ``loss`` defaults to :class:`~nn.losses.CrossEntropy`, ``optimizer`` to
    :class:`~nn.optim.Adam` (lr 1e-3).  With ``teacher`` given, its outputs on
    ``x`` are passed to the loss (for :class:`~nn.losses.DistillationLoss`).
    Each epoch records ``loss`` (mean training loss), ``accuracy`` (training
    accuracy during the epoch) and, with ``validation``, ``val_loss``,
    ``val_accuracy``, ``val_f1``; with ``verbose`` it prints them.

    Early stopping: with ``patience`` set, training stops once ``monitor``
    (``"val_loss"``, lower is better, or ``"val_accuracy"``/``"val_f1"``, higher
    is better) has not improved for ``patience`` epochs, and with
    ``restore_best`` the parameters of the best epoch are restored.
    ``lr_schedule(epoch)`` (e.g. :func:`nn.optim.cosine_schedule`) sets the
    optimizer's learning rate before each epoch, and ``on_epoch_begin(epoch,
    model)`` is called before each epoch (the conversion uses it to schedule the
    ReLU-to-quadratic transition).
    """
    x, y = _check_data(x, y, "fit")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    loss = CrossEntropy() if loss is None else loss
    optimizer = Adam(model.parameters()) if optimizer is None else optimizer
    if loss.needs_teacher and teacher is None:
        raise ConfigError(f"{type(loss).__name__} needs teacher logits: pass teacher=<trained model> to fit")
    if patience is not None:
        if validation is None:
            raise ConfigError("early stopping (patience=...) needs validation=(x_val, y_val)")
        if monitor not in ("val_loss", "val_accuracy", "val_f1"):
            raise ConfigError(f"monitor must be 'val_loss', 'val_accuracy' or 'val_f1', got {monitor!r}")
    if validation is not None:
        validation = _check_data(*validation, "validation")
    soft = teacher.predict(x) if teacher is not None else None

    rng = np.random.default_rng(seed)
    history = History()
    best: float | None = None
    best_params: list[np.ndarray] | None = None
    since_best = 0
    sign = 1.0 if monitor == "val_loss" else -1.0
    n = x.shape[0]
    for epoch in range(epochs):
        if lr_schedule is not None:
            optimizer.lr = float(lr_schedule(epoch))
        if on_epoch_begin is not None:
            on_epoch_begin(epoch, model)
        order = rng.permutation(n)
        total, correct = 0.0, 0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            out = model.forward(x[idx])
            value, grad = loss(out, y[idx], None if soft is None else soft[idx])
            if not np.isfinite(value):
                raise TrainingDivergedError(
                    f"the training loss became {value} at epoch {epoch + 1}; lower the learning rate "
                    "or set clip_grad_norm (polynomial activations can blow up)"
                )
            model.backward(grad)
            if clip_grad_norm is not None:
                _clip_gradients(model, clip_grad_norm)
            optimizer.step()
            total += value * idx.size
            correct += int(np.sum(out.argmax(axis=1) == y[idx]))
        logs = {"epoch": epoch + 1, "loss": total / n, "accuracy": correct / n}
        if validation is not None:
            v = evaluate(model, *validation, loss)
            logs.update({"val_loss": v["loss"], "val_accuracy": v["accuracy"], "val_f1": v["f1"]})
        history.epochs.append(logs)
        if verbose:
            log("epoch " + "  ".join(f"{k} {v:.4f}" if k != "epoch" else f"{v}/{epochs}" for k, v in logs.items()))
        if patience is not None:
            score = sign * logs[monitor]
            if best is None or score < best:
                best, since_best, history.best_epoch = score, 0, epoch + 1
                best_params = [v.copy() for _, v, _ in model.parameters()]
            else:
                since_best += 1
                if since_best >= patience:
                    history.stopped_early = True
                    if verbose:
                        log(f"early stopping: no improvement of {monitor} for {patience} epochs")
                    break
    if patience is not None and restore_best and best_params is not None:
        for (_, v, _), b in zip(model.parameters(), best_params, strict=True):
            v[...] = b
    return history
