"""The training loop: seeded mini-batch epochs, extended by Keras-style callbacks.

``fit`` shuffles with its own ``numpy.random.Generator`` seeded by ``seed``, so
the same model (built from the same seed), data, settings and callbacks give
bit-identical results.  Teacher outputs for knowledge distillation are computed
once, before training, and sliced with each mini-batch.

Everything beyond the plain loop is a `Callback`:

* `ProgressLogger`: one line of metrics per epoch (added by ``verbose=True``);
* `EarlyStopping`: stop when a metric stops improving, restore the best weights;
* `LearningRateSchedule`: set the optimizer's learning rate before each epoch;
* `GradientClipping`: rescale the gradients to a maximum global norm;
* `LambdaCallback`: plain functions as hooks;
* `nn.convert.TransitionSchedule`: the ReLU-to-quadratic transition of the conversion.

A callback sees the loop through the attributes ``fit`` gives it before
training: ``model``, ``optimizer``, ``history`` (the `History` being
filled) and ``params`` (``{"epochs", "batch_size", "samples", "metrics"}``).
The hooks are called in this order::

    on_train_begin()
    for each epoch:
        on_epoch_begin(epoch)
        for each mini-batch: forward, loss, backward, on_before_optimizer_step(batch), optimizer step
        on_epoch_end(epoch, logs)      # a true return value stops training after this epoch
    on_train_end()

Epochs and batches are counted from 0 in the hooks; ``logs["epoch"]`` and
``History.best_epoch`` count from 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nn.errors import ConfigError, ShapeError, TrainingDivergedError
from nn.losses import CrossEntropy, Loss
from nn.metrics import accuracy, expected_calibration_error, f1_score
from nn.model import Sequential
from nn.optim import Adam, Optimizer

__all__ = [
    "Callback",
    "EarlyStopping",
    "GradientClipping",
    "History",
    "LambdaCallback",
    "LearningRateSchedule",
    "ProgressLogger",
    "calibrate_beta",
    "evaluate",
    "fit",
]


@dataclass
class History:
    """What ``fit`` observed: one dict of metrics per epoch, and the early-stopping outcome.

    Attributes:
        epochs: One ``logs`` dict per finished epoch (``epoch``, ``loss``, ``accuracy`` and,
            with validation data, ``val_loss``, ``val_accuracy``, ``val_f1``).
        best_epoch: The 1-based epoch `EarlyStopping` judged best (None without it).
        stopped_early: Whether a callback stopped training before the last epoch.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def series(self, key: str) -> list[float]:
        """The values of one metric over the epochs.

        Args:
            key: A ``logs`` key, e.g. ``"val_accuracy"``.

        Returns:
            The values of ``key`` in epoch order (epochs without it are skipped).
        """
        return [e[key] for e in self.epochs if key in e]


# --- callbacks ----------------------------------------------------------------------------------


class Callback:
    """Base class of the training callbacks; every hook does nothing by default.

    Subclass it and override the hooks you need.  ``fit`` sets the attributes
    ``model``, ``optimizer``, ``history`` and ``params`` (see the module
    docstring) before calling `on_train_begin`.
    """

    model: Sequential
    optimizer: Optimizer
    history: History
    params: dict[str, Any]

    def set_context(self, model: Sequential, optimizer: Optimizer, history: History, params: dict[str, Any]) -> None:
        """Attach the callback to one training run (called by ``fit``).

        Args:
            model: The model being trained.
            optimizer: The optimizer updating it.
            history: The `History` that ``fit`` fills and returns.
            params: ``{"epochs", "batch_size", "samples", "metrics"}``; ``metrics`` lists the
                ``logs`` keys every epoch will report.
        """
        self.model, self.optimizer, self.history, self.params = model, optimizer, history, params

    def on_train_begin(self) -> None:
        """Called once before the first epoch (check arguments, reset state here)."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Called before each epoch.

        Args:
            epoch: The epoch about to run, counted from 0.
        """

    def on_before_optimizer_step(self, batch: int) -> None:
        """Called after each mini-batch's backward pass, before the optimizer step.

        The gradients are in ``param[2]`` for ``param in self.model.parameters()``
        and may be modified in place.

        Args:
            batch: The mini-batch within the epoch, counted from 0.
        """

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after each epoch, once its metrics are recorded in ``self.history``.

        Args:
            epoch: The epoch that just ran, counted from 0.
            logs: Its metrics (the dict stored in ``self.history.epochs``).

        Returns:
            True to stop training after this epoch; False or None to go on.
        """
        return None

    def on_train_end(self) -> None:
        """Called once after the last epoch (or after the epoch that stopped training)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_number(name: str, value: Any, *, low: float, high: float = np.inf, open_low: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    value = float(value)
    above = value > low if open_low else value >= low
    if not (np.isfinite(value) and above and value <= high):
        bracket = "(" if open_low else "["
        raise ConfigError(f"{name} must lie in {bracket}{low}, {high}], got {value}")
    return value


class ProgressLogger(Callback):
    """Report each epoch's metrics as one line: ``epoch 3/10  loss 0.4012  accuracy 0.8800 ...``.

    ``fit(verbose=True)`` adds one that prints, unless ``callbacks`` already holds one.

    Args:
        log: Where each line goes (``print`` by default; e.g. ``lines.append``).

    Raises:
        ConfigError: If ``log`` is not callable.
    """

    def __init__(self, log: Callable[[str], Any] = print) -> None:
        if not callable(log):
            raise ConfigError(f"log must be callable (e.g. print or a list's append), got {log!r}")
        self.log = log

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """Write the line for this epoch.

        Args:
            epoch: The epoch that just ran, counted from 0.
            logs: Its metrics.

        Returns:
            None (never stops training).
        """
        epochs = self.params["epochs"]
        self.log("epoch " + "  ".join(f"{v}/{epochs}" if k == "epoch" else f"{k} {v:.4f}" for k, v in logs.items()))


class EarlyStopping(Callback):
    """Stop training once ``monitor`` has not improved for ``patience`` epochs.

    Sets ``history.best_epoch`` (1-based) and, when it stops training,
    ``history.stopped_early``.  With ``restore_best_weights`` the parameters of
    the best epoch are copied back into the model when training ends (also when
    all epochs ran).

    Args:
        monitor: The ``logs`` key to watch: ``"val_loss"`` (default; needs ``fit(validation=...)``),
            ``"val_accuracy"``, ``"val_f1"``, ``"loss"`` or ``"accuracy"``.
        patience: Number of epochs without improvement after which training stops (0: stop at the
            first epoch that does not improve).
        restore_best_weights: Restore the parameters of the best epoch at the end of training.
        mode: ``"min"`` (lower is better), ``"max"``, or ``"auto"``: ``"min"`` if ``monitor``
            contains ``"loss"``, else ``"max"``.
        min_delta: An improvement must beat the best value by more than this.
        log: Where to report the stop (a one-line message); None: silent.

    Raises:
        ConfigError: If ``monitor`` is not a non-empty string, ``patience`` not a non-negative
            integer, ``mode`` not one of ``"auto"``, ``"min"``, ``"max"``, ``min_delta`` negative
            or not finite, or ``log`` neither None nor callable.  At the start of training, if
            ``monitor`` is not a metric that ``fit`` reports (e.g. ``"val_loss"`` without
            validation data).
    """

    MODES = ("auto", "min", "max")

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        *,
        restore_best_weights: bool = True,
        mode: str = "auto",
        min_delta: float = 0.0,
        log: Callable[[str], Any] | None = None,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ConfigError(f"monitor must be the name of a metric such as 'val_loss', got {monitor!r}")
        if not _is_int(patience) or patience < 0:
            raise ConfigError(f"patience must be a non-negative integer, got {patience!r}")
        if mode not in self.MODES:
            raise ConfigError(f"mode must be one of {self.MODES}, got {mode!r}")
        if log is not None and not callable(log):
            raise ConfigError(f"log must be None or callable, got {log!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.min_delta = _check_number("min_delta", min_delta, low=0.0, open_low=False)
        self.mode = ("min" if "loss" in monitor else "max") if mode == "auto" else mode
        self.log = log
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.wait = 0

    def on_train_begin(self) -> None:
        """Check that ``monitor`` will be reported and forget any previous run.

        Raises:
            ConfigError: If ``monitor`` is not among the metrics ``fit`` reports.
        """
        metrics = self.params["metrics"]
        if self.monitor not in metrics:
            hint = (
                " (validation metrics need fit(validation=(x_val, y_val)))" if self.monitor.startswith("val_") else ""
            )
            raise ConfigError(f"EarlyStopping monitors {self.monitor!r}, but fit reports only {metrics}{hint}")
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        """Remember the epoch if it improved ``monitor``; else count it against the patience.

        Args:
            epoch: The epoch that just ran, counted from 0.
            logs: Its metrics.

        Returns:
            True when ``patience`` epochs in a row have not improved ``monitor``.
        """
        score = logs[self.monitor] if self.mode == "min" else -logs[self.monitor]
        if self.best is None or score < self.best - self.min_delta:
            self.best, self.wait, self.history.best_epoch = score, 0, epoch + 1
            self.best_weights = [v.copy() for _, v, _ in self.model.parameters()]
            return False
        self.wait += 1
        if self.wait < max(self.patience, 1):
            return False
        if self.log is not None:
            self.log(f"early stopping: no improvement of {self.monitor} for {self.patience} epochs")
        return True

    def on_train_end(self) -> None:
        """Copy the best epoch's parameters back into the model (with ``restore_best_weights``)."""
        if self.restore_best_weights and self.best_weights is not None:
            for (_, v, _), b in zip(self.model.parameters(), self.best_weights, strict=True):
                v[...] = b


class LearningRateSchedule(Callback):
    """Set the optimizer's learning rate before each epoch.

    Either from a function of the epoch (e.g. `nn.optim.cosine_schedule`),
    or by step decay: the learning rate the optimizer had when training began,
    multiplied by ``gamma`` every ``step_size`` epochs
    (``lr_e = lr_0 * gamma ** (e // step_size)``).

    Args:
        schedule: ``epoch -> learning rate`` (epochs counted from 0).
        step_size: For step decay instead of ``schedule``: epochs between two decays.
        gamma: The step-decay factor, in (0, 1].

    Raises:
        ConfigError: If neither or both of ``schedule`` and ``step_size`` are given, ``schedule``
            is not callable, ``step_size`` is not a positive integer or ``gamma`` is outside
            (0, 1].  During training, if ``schedule`` returns a learning rate that is not a
            positive finite number.
    """

    def __init__(
        self, schedule: Callable[[int], float] | None = None, *, step_size: int | None = None, gamma: float = 0.1
    ) -> None:
        if (schedule is None) == (step_size is None):
            raise ConfigError("LearningRateSchedule needs exactly one of schedule=<epoch -> lr> and step_size=<epochs>")
        if schedule is not None and not callable(schedule):
            raise ConfigError(f"schedule must be a function epoch -> learning rate, got {schedule!r}")
        if step_size is not None and (not _is_int(step_size) or step_size < 1):
            raise ConfigError(f"step_size must be a positive integer, got {step_size!r}")
        self.schedule = schedule
        self.step_size = step_size
        self.gamma = _check_number("gamma", gamma, low=0.0, high=1.0)
        self.initial_lr: float | None = None

    def on_train_begin(self) -> None:
        """Remember the optimizer's learning rate (the start of the step decay)."""
        self.initial_lr = float(self.optimizer.lr)

    def _learning_rate(self, epoch: int) -> float:
        if self.schedule is not None:
            lr = self.schedule(epoch)
        else:
            lr = self.initial_lr * self.gamma ** (epoch // self.step_size)
        try:
            return _check_number(f"the learning rate of epoch {epoch}", lr, low=0.0)
        except ConfigError as exc:
            raise ConfigError(f"LearningRateSchedule: {exc}") from None

    def on_epoch_begin(self, epoch: int) -> None:
        """Set ``optimizer.lr`` to this epoch's learning rate.

        Args:
            epoch: The epoch about to run, counted from 0.

        Raises:
            ConfigError: If the schedule gives an invalid learning rate.
        """
        self.optimizer.lr = self._learning_rate(epoch)


class GradientClipping(Callback):
    """Rescale all gradients together so that their global L2 norm is at most ``max_norm``.

    The global norm is ``sqrt(sum of every gradient entry squared)`` over all
    parameters; when it exceeds ``max_norm`` every gradient is multiplied by
    ``max_norm / norm`` (the direction is kept).  ``last_norm`` holds the norm
    of the latest mini-batch before clipping.

    Args:
        max_norm: The largest global gradient norm let through; positive.

    Raises:
        ConfigError: If ``max_norm`` is not a positive finite number.
    """

    def __init__(self, max_norm: float) -> None:
        self.max_norm = _check_number("max_norm", max_norm, low=0.0)
        self.last_norm: float | None = None

    def on_before_optimizer_step(self, batch: int) -> None:
        """Clip the gradients of this mini-batch in place.

        Args:
            batch: The mini-batch within the epoch, counted from 0.
        """
        grads = [g for _, _, g in self.model.parameters()]
        norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
        self.last_norm = norm
        if norm > self.max_norm:
            for g in grads:
                g *= self.max_norm / norm


class LambdaCallback(Callback):
    """A callback made of plain functions, one per hook (each optional).

    Args:
        on_train_begin: Called as ``f()``.
        on_epoch_begin: Called as ``f(epoch)``.
        on_before_optimizer_step: Called as ``f(batch)``.
        on_epoch_end: Called as ``f(epoch, logs)``; a true return value stops training.
        on_train_end: Called as ``f()``.

    Raises:
        ConfigError: If a given hook is not callable.
    """

    def __init__(
        self,
        *,
        on_train_begin: Callable[[], Any] | None = None,
        on_epoch_begin: Callable[[int], Any] | None = None,
        on_before_optimizer_step: Callable[[int], Any] | None = None,
        on_epoch_end: Callable[[int, dict[str, float]], bool | None] | None = None,
        on_train_end: Callable[[], Any] | None = None,
    ) -> None:
        hooks = {
            "on_train_begin": on_train_begin,
            "on_epoch_begin": on_epoch_begin,
            "on_before_optimizer_step": on_before_optimizer_step,
            "on_epoch_end": on_epoch_end,
            "on_train_end": on_train_end,
        }
        for name, hook in hooks.items():
            if hook is not None and not callable(hook):
                raise ConfigError(f"LambdaCallback: {name} must be callable or None, got {hook!r}")
            if hook is not None:
                setattr(self, name, hook)


class _CallbackList:
    """Calls one hook on every callback, in order."""

    def __init__(self, callbacks: Sequence[Callback], verbose: bool) -> None:
        if isinstance(callbacks, Callback) or not isinstance(callbacks, Sequence):
            raise ConfigError(f"callbacks must be a list of nn.train.Callback objects, got {callbacks!r}")
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise ConfigError(
                    f"callbacks[{i}] is a {type(cb).__name__}, not an nn.train.Callback "
                    "(wrap plain functions in LambdaCallback)"
                )
        self.callbacks = list(callbacks)
        if verbose and not any(isinstance(cb, ProgressLogger) for cb in self.callbacks):
            self.callbacks.insert(0, ProgressLogger())

    def call(self, hook: str, *args: Any) -> list[Any]:
        return [getattr(cb, hook)(*args) for cb in self.callbacks]


# --- the loop -----------------------------------------------------------------------------------


def evaluate(model: Sequential, x: np.ndarray, y: np.ndarray, loss: Loss | None = None) -> dict[str, float]:
    """Loss, accuracy and macro-averaged F1 of ``model`` on ``(x, y)``.

    Args:
        model: The model to evaluate.
        x: Inputs, samples first.
        y: Integer class labels, one per sample.
        loss: Defaults to cross-entropy on logits; a loss that needs a teacher is replaced
            by cross-entropy here.

    Returns:
        ``{"loss", "accuracy", "f1"}``.

    Raises:
        ShapeError: If ``x`` and ``y`` do not fit the model or each other.
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


def _check_positive_int(name: str, value: Any) -> None:
    if not _is_int(value) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


@dataclass
class _Epoch:
    """One pass over the training data (everything that does not change between epochs)."""

    model: Sequential
    x: np.ndarray
    y: np.ndarray
    soft: np.ndarray | None
    loss: Loss
    optimizer: Optimizer
    batch_size: int
    callbacks: _CallbackList

    def run(self, epoch: int, order: np.ndarray) -> dict[str, float]:
        n = order.size
        total, correct = 0.0, 0
        for batch, start in enumerate(range(0, n, self.batch_size)):
            idx = order[start : start + self.batch_size]
            out = self.model.forward(self.x[idx])
            value, grad = self.loss(out, self.y[idx], None if self.soft is None else self.soft[idx])
            if not np.isfinite(value):
                raise TrainingDivergedError(
                    f"the training loss became {value} at epoch {epoch + 1}; lower the learning rate "
                    "or add a GradientClipping callback (polynomial activations can blow up)"
                )
            self.model.backward(grad)
            self.callbacks.call("on_before_optimizer_step", batch)
            self.optimizer.step()
            total += value * idx.size
            correct += int(np.sum(out.argmax(axis=1) == self.y[idx]))
        return {"epoch": epoch + 1, "loss": total / n, "accuracy": correct / n}


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
    callbacks: Sequence[Callback] = (),
    verbose: bool = True,
) -> History:
    """Train ``model`` on ``(x, y)`` with shuffled mini-batches.

    Each epoch records ``epoch`` (from 1), ``loss`` (mean training loss) and
    ``accuracy`` (training accuracy during the epoch) and, with ``validation``,
    ``val_loss``, ``val_accuracy`` and ``val_f1``.  Early stopping, learning-rate
    schedules, gradient clipping and progress output are callbacks (module
    docstring), e.g.::

        fit(model, x, y, epochs=30, optimizer=opt, validation=(xv, yv),
            callbacks=[GradientClipping(5.0), LearningRateSchedule(cosine_schedule(1e-3, 30)),
                       EarlyStopping("val_loss", patience=3)])

    Args:
        model: The model to train (its parameters are updated in place).
        x: Training inputs, samples first.
        y: Integer class labels, one per sample.
        epochs: Number of passes over the data (fewer if a callback stops training).
        batch_size: Samples per mini-batch (the last one may be smaller).
        loss: Defaults to `CrossEntropy`.
        optimizer: Defaults to `Adam` (lr 1e-3) on ``model.parameters()``.
        seed: Seeds the shuffling; same seed, same model and data: bit-identical training.
        validation: ``(x_val, y_val)`` evaluated after each epoch.
        teacher: A trained model whose outputs on ``x`` are passed to the loss
            (for `DistillationLoss`).
        callbacks: `Callback` objects, called in this order at each hook.
        verbose: Print one line per epoch (a `ProgressLogger` is put first in the
            callbacks unless they already hold one).

    Returns:
        The `History` of the run.

    Raises:
        ShapeError: If ``x``/``y`` or the validation data are empty or of inconsistent shapes.
        ConfigError: If ``epochs`` or ``batch_size`` is not a positive integer, the loss needs a
            teacher and none is given, ``callbacks`` holds something that is not a
            `Callback`, or a callback rejects its arguments.
        TrainingDivergedError: If the training loss becomes NaN or infinite.
    """
    x, y = _check_data(x, y, "fit")
    _check_positive_int("epochs", epochs)
    _check_positive_int("batch_size", batch_size)
    loss = CrossEntropy() if loss is None else loss
    optimizer = Adam(model.parameters()) if optimizer is None else optimizer
    if loss.needs_teacher and teacher is None:
        raise ConfigError(f"{type(loss).__name__} needs teacher logits: pass teacher=<trained model> to fit")
    if validation is not None:
        validation = _check_data(*validation, "validation")
    hooks = _CallbackList(callbacks, verbose)
    soft = teacher.predict(x) if teacher is not None else None
    history = History()
    metrics = ["loss", "accuracy"] + (["val_loss", "val_accuracy", "val_f1"] if validation is not None else [])
    params = {"epochs": epochs, "batch_size": batch_size, "samples": x.shape[0], "metrics": metrics}
    for cb in hooks.callbacks:
        cb.set_context(model, optimizer, history, params)
    one_epoch = _Epoch(model, x, y, soft, loss, optimizer, batch_size, hooks)
    rng = np.random.default_rng(seed)
    hooks.call("on_train_begin")
    for epoch in range(epochs):
        hooks.call("on_epoch_begin", epoch)
        logs = one_epoch.run(epoch, rng.permutation(x.shape[0]))
        if validation is not None:
            v = evaluate(model, *validation, loss)
            logs.update({"val_loss": v["loss"], "val_accuracy": v["accuracy"], "val_f1": v["f1"]})
        history.epochs.append(logs)
        if any(hooks.call("on_epoch_end", epoch, logs)):
            history.stopped_early = True
            break
    hooks.call("on_train_end")
    return history


@dataclass
class BetaCalibration:
    """What `calibrate_beta` did: beta, negative log-likelihood and ECE before and after (on its data)."""

    beta_before: float
    beta_after: float
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float


def calibrate_beta(
    model: Sequential, x: np.ndarray, y: np.ndarray, *, steps: int = 300, learning_rate: float = 0.05
) -> BetaCalibration:
    """Learn the inverse temperature of a final ``SoftArgmax(trainable=True)``, the rest of the model frozen.

    Temperature scaling (Guo, Pleiss, Sun and Weinberger, "On Calibration of Modern Neural Networks",
    ICML 2017) with Florencio et al.'s differentiable soft-argmax: the logits ``z`` are computed once,
    then ``log beta`` is trained by full-batch Adam on the cross-entropy of ``softmax(beta z)``, using the
    layer's own gradient ``dL/dlog_beta = beta sum(y (g - sum_j g_j y_j) z)``.  Training the whole model
    with `fit` learns beta jointly instead (the layer's parameter is then one of ``model.parameters()``).

    Args:
        model: a model whose last layer is ``nn.SoftArgmax(beta, trainable=True)`` (updated in place).
        x: calibration inputs (a held-out set is best; the training set works).
        y: their integer labels.
        steps: full-batch Adam steps.
        learning_rate: Adam's step size on ``log beta``.

    Returns:
        A `BetaCalibration` (beta, NLL and expected calibration error before and after, on ``x``).

    Raises:
        ConfigError: the last layer is not a trainable SoftArgmax, or ``steps`` is not a positive integer.
        ShapeError: ``x``/``y`` do not fit the model or each other.
        TrainingDivergedError: the loss became NaN or infinite (too large a learning rate).
    """
    from nn.activations import SoftArgmax

    layer = model.layers[-1] if len(model.layers) else None
    if not isinstance(layer, SoftArgmax) or not layer.trainable:
        raise ConfigError("calibrate_beta needs a model ending with nn.SoftArgmax(beta, trainable=True)")
    _check_positive_int("steps", steps)
    x, y = _check_data(x, y, "calibrate_beta")
    logits = Sequential(model.layers[:-1]).predict(x) if len(model.layers) > 1 else x
    loss = CrossEntropy(from_logits=False)
    before = layer.beta
    probs = layer.forward(logits)
    nll_before, ece_before = loss(probs, y)[0], expected_calibration_error(probs, y)
    opt = Adam([("beta", layer.params["log_beta"], layer.grads["log_beta"])], lr=learning_rate)
    for _ in range(steps):
        value, grad = loss(layer.forward(logits), y)
        if not np.isfinite(value):
            raise TrainingDivergedError("calibrate_beta: the loss became infinite; lower learning_rate")
        layer.backward(grad)
        opt.step()
    probs = layer.forward(logits)
    return BetaCalibration(before, layer.beta, nll_before, loss(probs, y)[0], ece_before,
                           expected_calibration_error(probs, y))
