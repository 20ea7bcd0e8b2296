"""HE-friendly conversion of a trained ReLU/max-pool network (Baruch et al. 2022).

The methodology of Baruch, Drucker, Greenberg and Moshkowich, "A methodology
for training homomorphic encryption friendly neural networks" (ACNS 2022
workshops, arXiv:2111.03362), as implemented here:

1. train a teacher with ReLU and max-pooling (ordinary training);
2. copy it, replace every max-pool by an average pool of the same window, and
   every ReLU by a trainable quadratic ``a x^2 + b x + c``, initialised either
   at the identity-like form (``a=0, b=1, c=0``) or at the least-squares fit of
   ReLU over the pre-activation range observed on the training data
   (`fit_relu_quadratic`);
3. move from ReLU to the quadratic smoothly: the activation is
   ``(1 - t) ReLU(x) + t q(x)`` with ``t`` raised linearly from ``1/E`` to 1
   over ``E`` transition epochs while the whole network trains;
4. fine-tune with the knowledge-distillation loss (Hinton et al. 2015): the
   teacher's logits softened at a temperature ``T``, mixed with the hard-label
   cross-entropy (`nn.losses.DistillationLoss`).

The result contains only polynomial layers, so ``multiplicative_depth()``
tells the encrypted-inference compiler how many levels it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nn.activations import QuadraticActivation, ReLU, ReLUToQuadratic
from nn.errors import ConfigError, ShapeError
from nn.layers import AvgPool2d, Layer, MaxPool2d
from nn.losses import DistillationLoss
from nn.model import Sequential
from nn.optim import Adam, cosine_schedule
from nn.train import (
    Callback,
    EarlyStopping,
    GradientClipping,
    History,
    LearningRateSchedule,
    ProgressLogger,
    fit,
)

__all__ = [
    "INITS",
    "ConversionResult",
    "TransitionSchedule",
    "convert_and_distill",
    "finalize",
    "fit_relu_quadratic",
    "he_friendly_copy",
    "preactivation_ranges",
    "set_transition",
]

INITS = ("identity", "lsq")


def preactivation_ranges(model: Sequential, x: np.ndarray, batch_size: int = 512) -> dict[int, tuple[float, float]]:
    """``{layer index: (min, max)}`` of the inputs each ReLU layer of ``model`` sees on ``x``.

    Raises:
        ShapeError: ``x`` holds no sample.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ShapeError(f"preactivation_ranges needs a non-empty batch of samples, got shape {x.shape}")
    ranges: dict[int, tuple[float, float]] = {}
    for start in range(0, x.shape[0], batch_size):
        h = x[start : start + batch_size]
        for i, layer in enumerate(model.layers):
            if isinstance(layer, ReLU):
                lo, hi = ranges.get(i, (np.inf, -np.inf))
                ranges[i] = (min(lo, float(h.min())), max(hi, float(h.max())))
            h = layer.forward(h)
    return ranges


def fit_relu_quadratic(lo: float, hi: float, num: int = 2001) -> tuple[float, float, float]:
    """Least-squares ``(a, b, c)`` minimising ``int_lo^hi (a x^2 + b x + c - max(x, 0))^2 dx``
    (discretised on ``num`` uniform points).

    On a symmetric range ``[-r, r]`` this is ``a = 15/(32 r)``, ``b = 1/2``, ``c = 3 r/32``.

    Raises:
        ConfigError: the range is not finite with lo < hi.
    """
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ConfigError(f"the fitting range must satisfy lo < hi (finite), got [{lo}, {hi}]")
    t = np.linspace(lo, hi, num)
    a, b, c = np.polyfit(t, np.maximum(t, 0.0), 2)
    return float(a), float(b), float(c)


def _initial_coefficients(init: str, rng: tuple[float, float] | None) -> tuple[float, float, float]:
    if init == "identity":
        return 0.0, 1.0, 0.0
    if rng is None:
        raise ConfigError("init='lsq' needs calibration data: pass x (e.g. the training inputs)")
    return fit_relu_quadratic(*rng)


def he_friendly_copy(
    teacher: Sequential, x: np.ndarray | None = None, *, init: str = "lsq", mix: float = 0.0
) -> Sequential:
    """A copy of ``teacher`` with max-pool -> average pool and ReLU -> `ReLUToQuadratic`.

    ``init`` chooses the quadratic's start: ``"identity"`` (``a=0, b=1, c=0``) or
    ``"lsq"`` (least-squares fit of ReLU over the range of that ReLU's inputs on
    ``x``).  ``mix`` is the initial transition weight (0 = still ReLU; 1 = pure
    quadratic).  The teacher is not modified.

    Raises:
        ConfigError: ``init`` is not one of `INITS`.
    """
    if init not in INITS:
        raise ConfigError(f"init must be one of {INITS}, got {init!r}")
    ranges = preactivation_ranges(teacher, x) if x is not None else {}
    student = teacher.copy()
    layers: list[Layer] = []
    for i, layer in enumerate(student.layers):
        if isinstance(layer, MaxPool2d):
            layers.append(AvgPool2d(layer.kernel_size, layer.stride))
        elif isinstance(layer, ReLU):
            a, b, c = _initial_coefficients(init, ranges.get(i))
            layers.append(ReLUToQuadratic(a, b, c, mix=mix))
        else:
            layers.append(layer)
    return Sequential(layers)


def set_transition(model: Sequential, mix: float) -> None:
    """Set the ReLU-to-quadratic weight ``t`` of every `ReLUToQuadratic` layer."""
    for layer in model.layers:
        if isinstance(layer, ReLUToQuadratic):
            layer.mix = mix


def finalize(model: Sequential) -> Sequential:
    """Replace each finished (``mix == 1``) `ReLUToQuadratic` by a plain
    `QuadraticActivation` with the same coefficients (same function).

    Raises:
        ConfigError: a ReLUToQuadratic layer is still mid-transition (mix < 1).
    """
    layers: list[Layer] = []
    for i, layer in enumerate(model.copy().layers):
        if isinstance(layer, ReLUToQuadratic):
            if layer.mix != 1.0:
                raise ConfigError(
                    f"layer {i} is still {layer.mix:.2f} quadratic / {1 - layer.mix:.2f} ReLU; "
                    "finish the transition (set_transition(model, 1.0) and fine-tune) before finalize"
                )
            layer = QuadraticActivation(layer.a, layer.b, layer.c)
        layers.append(layer)
    return Sequential(layers)


@dataclass
class ConversionResult:
    """The HE-friendly student and what its training observed.

    Attributes:
        model: The finalized student (only polynomial layers).
        transition: The `History` of the transition epochs (empty without them).
        finetune: The `History` of the fine-tuning epochs (empty without them).
        initial_coefficients: ``{layer index: (a, b, c)}`` of each quadratic before training.
    """

    model: Sequential
    transition: History
    finetune: History
    initial_coefficients: dict[int, tuple[float, float, float]]


class TransitionSchedule(Callback):
    """Raise the ReLU-to-quadratic weight linearly: ``t = (epoch + 1) / epochs`` before each epoch.

    Sets the ``mix`` of every `ReLUToQuadratic` layer of
    the model being trained (step 3 of the methodology, module docstring), so
    the last of ``epochs`` epochs trains the pure quadratic.

    Args:
        epochs: Number of transition epochs.

    Raises:
        ConfigError: If ``epochs`` is not a positive integer.
    """

    def __init__(self, epochs: int) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ConfigError(f"the transition needs a positive integer number of epochs, got {epochs!r}")
        self.epochs = int(epochs)

    def on_epoch_begin(self, epoch: int) -> None:
        """Set the transition weight of this epoch (capped at 1).

        Args:
            epoch: The epoch about to run, counted from 0.
        """
        set_transition(self.model, min(1.0, (epoch + 1) / self.epochs))


def _check_arguments(
    transition_epochs: int, finetune_epochs: int, patience: int | None, validation: tuple[Any, Any] | None
) -> None:
    for name, value in (("transition_epochs", transition_epochs), ("finetune_epochs", finetune_epochs)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    if transition_epochs + finetune_epochs == 0:
        raise ConfigError("transition_epochs + finetune_epochs must be at least 1")
    if patience is not None and validation is None:
        raise ConfigError("early stopping (patience=...) needs validation=(x_val, y_val)")


def _quadratic_coefficients(model: Sequential) -> dict[int, tuple[float, float, float]]:
    return {
        i: (layer.a, layer.b, layer.c) for i, layer in enumerate(model.layers) if isinstance(layer, ReLUToQuadratic)
    }


def _shared_callbacks(clip_grad_norm: float | None, log: Callable[[str], Any] | None) -> list[Callback]:
    callbacks: list[Callback] = [] if log is None else [ProgressLogger(log)]
    return callbacks if clip_grad_norm is None else [*callbacks, GradientClipping(clip_grad_norm)]


def _transition_callbacks(epochs: int) -> list[Callback]:
    return [TransitionSchedule(epochs)] if epochs else []


def _finetune_callbacks(
    lr: float, epochs: int, patience: int | None, log: Callable[[str], Any] | None
) -> list[Callback]:
    if epochs == 0:
        return []
    callbacks: list[Callback] = [LearningRateSchedule(cosine_schedule(lr, epochs))]
    if patience is not None:
        callbacks.append(EarlyStopping("val_loss", patience, log=log))
    return callbacks


@dataclass
class _Distillation:
    """What both training phases share: the student, the data, the loss and one optimizer."""

    student: Sequential
    x: np.ndarray
    y: np.ndarray
    fit_args: dict[str, Any]
    callbacks: list[Callback]
    log: Callable[[str], Any] | None

    def phase(self, title: str, epochs: int, seed: int, callbacks: list[Callback]) -> History:
        if epochs == 0:
            return History()
        if self.log is not None:
            self.log(title)
        callbacks = [*self.callbacks, *callbacks]
        return fit(self.student, self.x, self.y, epochs=epochs, seed=seed, callbacks=callbacks, **self.fit_args)


def convert_and_distill(
    teacher: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    *,
    init: str = "lsq",
    transition_epochs: int = 5,
    finetune_epochs: int = 10,
    temperature: float = 4.0,
    alpha: float = 0.7,
    lr: float = 1e-3,
    batch_size: int = 32,
    seed: int = 0,
    clip_grad_norm: float | None = 5.0,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    patience: int | None = None,
    verbose: bool = True,
    log: Callable[[str], Any] = print,
) -> ConversionResult:
    """Run the whole methodology (module docstring, steps 2-4) on a trained teacher.

    ``transition_epochs`` epochs with the ReLU-to-quadratic weight
    ``t = (epoch + 1) / transition_epochs`` (`TransitionSchedule`; 0
    epochs: replace at once), then ``finetune_epochs`` epochs of pure-quadratic
    fine-tuning, both with `DistillationLoss` and one Adam
    optimizer (constant learning rate during the transition, cosine-decayed
    during fine-tuning).

    Args:
        teacher: The trained ReLU/max-pool model (not modified).
        x: Training inputs (also used to fit the quadratics with ``init="lsq"``).
        y: Integer class labels.
        init: Start of the quadratics: ``"lsq"`` or ``"identity"`` (see `he_friendly_copy`).
        transition_epochs: Epochs of the smooth ReLU-to-quadratic transition.
        finetune_epochs: Epochs of pure-quadratic fine-tuning.
        temperature: Distillation temperature ``T``.
        alpha: Weight of the soft (teacher) loss.
        lr: Adam's learning rate.
        batch_size: Mini-batch size.
        seed: Seeds the transition's shuffling; the fine-tuning uses ``seed + 1``.
        clip_grad_norm: Clip gradients to this global norm (`GradientClipping`);
            None: no clipping.
        validation: ``(x_val, y_val)`` evaluated after each epoch.
        patience: Early-stop the fine-tuning on ``val_loss`` (`EarlyStopping`,
            best weights restored); needs ``validation``.
        verbose: Report the phases and each epoch's metrics through ``log``.
        log: Where the progress lines go.

    Returns:
        The finalized HE-friendly model and both phases' histories.

    Raises:
        ConfigError: If the epoch counts are negative or both zero, ``init`` is unknown,
            ``patience`` is given without ``validation``, or another training argument is
            out of range.
        ShapeError: If the data have inconsistent shapes.
    """
    _check_arguments(transition_epochs, finetune_epochs, patience, validation)
    say = log if verbose else None
    finetune_callbacks = _finetune_callbacks(lr, finetune_epochs, patience, say)
    student = he_friendly_copy(teacher, x, init=init, mix=0.0 if transition_epochs else 1.0)
    initial = _quadratic_coefficients(student)
    fit_args = {
        "batch_size": batch_size,
        "loss": DistillationLoss(temperature, alpha),
        "optimizer": Adam(student.parameters(), lr=lr),
        "teacher": teacher,
        "validation": validation,
        "verbose": False,
    }
    run = _Distillation(student, x, y, fit_args, _shared_callbacks(clip_grad_norm, say), say)
    title = f"transition: ReLU -> quadratic over {transition_epochs} epochs"
    transition = run.phase(title, transition_epochs, seed, _transition_callbacks(transition_epochs))
    set_transition(student, 1.0)
    title = f"fine-tuning with distillation (T={temperature}, alpha={alpha}) for {finetune_epochs} epochs"
    finetune = run.phase(title, finetune_epochs, seed + 1, finetune_callbacks)
    return ConversionResult(finalize(student), transition, finetune, initial)
