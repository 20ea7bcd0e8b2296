"""Optimizers: SGD with (Nesterov) momentum and Adam, updating parameters in place.

An optimizer is built from ``model.parameters()``: a list of
``(name, value, grad)`` triples whose arrays the layers own and update in
place.  ``step()`` applies one update from the current gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from nn.errors import ConfigError

__all__ = ["SGD", "Adam", "Optimizer", "cosine_schedule"]

ParamTriple = tuple[str, np.ndarray, np.ndarray]


def cosine_schedule(lr: float, epochs: int, final: float = 0.0) -> Callable[[int], float]:
    """Cosine learning-rate decay (Loshchilov and Hutter, SGDR, 2017):
    ``lr_e = final + (lr - final) * (1 + cos(pi e / epochs)) / 2`` for epoch ``e = 0 .. epochs-1``.
    Pass it to ``nn.train.LearningRateSchedule(...)`` in ``fit(callbacks=[...])``.

    Raises:
        ConfigError: ``epochs`` is not a positive integer.
    """
    lr = _check("lr", lr, 0.0, open_low=True)
    final = _check("final", final, 0.0)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
    return lambda e: final + (lr - final) * 0.5 * (1.0 + np.cos(np.pi * e / epochs))


def _check(name: str, value: float, low: float, high: float = np.inf, *, open_low: bool = False) -> float:
    value = float(value)
    ok = (value > low if open_low else value >= low) and value < high
    if not (np.isfinite(value) and ok):
        bracket = "(" if open_low else "["
        raise ConfigError(f"{name} must lie in {bracket}{low}, {high}), got {value}")
    return value


class Optimizer:
    """Base class: holds the parameter triples, a learning rate and an optional L2 weight decay.

    Weight decay adds ``weight_decay * w`` to the gradient of every parameter
    whose name ends in ``weight`` (biases and activation coefficients are not
    decayed).

    Raises:
        ConfigError: no parameters were given.
    """

    def __init__(self, params: Iterable[ParamTriple], lr: float, weight_decay: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ConfigError("the optimizer got no parameters; pass model.parameters() of a model with weights")
        self.lr = _check("lr", lr, 0.0, open_low=True)
        self.weight_decay = _check("weight_decay", weight_decay, 0.0)
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def _grad(self, name: str, value: np.ndarray, grad: np.ndarray) -> np.ndarray:
        if self.weight_decay and name.endswith("weight"):
            return grad + self.weight_decay * value
        return grad

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        for name, value, grad in self.params:
            self._update(name, value, self._grad(name, value, grad), self.state.setdefault(name, {}))

    def _update(self, name: str, value: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum ``mu``:
    ``v <- mu v + g``, ``w <- w - lr v`` (or ``w <- w - lr (g + mu v)`` with Nesterov)."""

    def __init__(
        self,
        params: Iterable[ParamTriple],
        lr: float = 0.01,
        momentum: float = 0.9,
        *,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = _check("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _update(self, name: str, value: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        v = state.setdefault("velocity", np.zeros_like(value))
        v *= self.momentum
        v += grad
        value -= self.lr * (grad + self.momentum * v if self.nesterov else v)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015):
    ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``,
    ``w <- w - lr * m_hat / (sqrt(v_hat) + eps)`` with bias-corrected ``m_hat, v_hat``."""

    def __init__(
        self,
        params: Iterable[ParamTriple],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.beta1 = _check("betas[0]", betas[0], 0.0, 1.0)
        self.beta2 = _check("betas[1]", betas[1], 0.0, 1.0)
        self.eps = _check("eps", eps, 0.0, open_low=True)
        self.t = 0

    def step(self) -> None:
        self.t += 1
        super().step()

    def _update(self, name: str, value: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        m = state.setdefault("m", np.zeros_like(value))
        v = state.setdefault("v", np.zeros_like(value))
        m *= self.beta1
        m += (1.0 - self.beta1) * grad
        v *= self.beta2
        v += (1.0 - self.beta2) * grad * grad
        m_hat = m / (1.0 - self.beta1**self.t)
        v_hat = v / (1.0 - self.beta2**self.t)
        value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
