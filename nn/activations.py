"""Activation layers: ReLU (teachers), and the HE-friendly polynomial family.

CKKS evaluates only additions and multiplications, so an encrypted network's
activations must be polynomials.  This module provides

* `ReLU`: for teacher models only (depth ``None``);
* `Sigmoid`, `Tanh`, `GELU`, `SiLU`: smooth activations (depth ``None``), evaluated under
  encryption only by ``nn.encrypted.compile(..., approximate=True)`` (Chebyshev series on the
  calibrated range, `nn.encrypted.approximation`);
* `Square`: ``x^2``, the activation of CryptoNets (Gilad-Bachrach et al.,
  "CryptoNets: Applying Neural Networks to Encrypted Data with High Throughput
  and Accuracy", ICML 2016);
* `PolyActivation`: a polynomial with fixed coefficients;
* `QuadraticActivation`: ``a x^2 + b x + c`` with trainable coefficients,
  the activation of Baruch et al., "A methodology for training homomorphic
  encryption friendly neural networks" (ACNS workshops 2022, arXiv:2111.03362);
* `ReLUToQuadratic`: ``(1 - t) ReLU(x) + t (a x^2 + b x + c)``, the smooth
  transition from ReLU to the quadratic used during conversion;
* `SoftArgmax`: ``softmax(beta x)`` with inverse temperature ``beta``
  (Florencio et al., "An End-to-End Homomorphically Encrypted Neural Network").

Depth convention (CKKS levels, see `nn.layers`): ``Square`` costs 1 level
(one ciphertext-ciphertext product).  A polynomial of degree ``d`` with general
coefficients costs ``ceil(log2(d + 1))`` levels: the powers ``x^(2^i)`` need
``i`` levels and each coefficient one plaintext multiplication more; degree 2
therefore costs 2 levels (``(a x + b) x + c``: one level for ``a x``, one for the
product with ``x``).  An encrypted-inference compiler that folds ``a`` into the
next linear layer's weights evaluates a quadratic in 1 level; the depth
reported here is the unfolded, conservative count.  The count for degree ``d``
is the CKKS polynomial evaluator's own, ``ckks.circuits.polynomial.levels_for_degree``
(imported lazily: ``import nn`` runs no ``ckks`` code).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nn.errors import ConfigError, ShapeError
from nn.layers import Layer

__all__ = [
    "GELU",
    "Argmax",
    "PolyActivation",
    "QuadraticActivation",
    "ReLU",
    "ReLUToQuadratic",
    "SiLU",
    "Sigmoid",
    "SoftArgmax",
    "Square",
    "Tanh",
    "gelu",
    "log_softmax",
    "sigmoid",
    "softmax",
]


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable ``exp(z_i) / sum_j exp(z_j)`` along ``axis``."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable ``z_i - log sum_j exp(z_j)`` along ``axis``."""
    s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


class ReLU(Layer):
    """``max(x, 0)``; the sub-gradient at 0 is taken as 0.  Not HE-friendly (depth ``None``)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self._cache = x > 0
        return np.where(self._cache, x, 0.0)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self._cached()

    def multiplicative_depth(self) -> None:
        return None


_ERF = np.vectorize(math.erf, otypes=[np.float64])


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-x), as (1 + tanh(x / 2)) / 2 (no overflow)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 (Hendrycks and Gimpel, arXiv:1606.08415), exact erf."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)))


class _Smooth(Layer):
    """An element-wise smooth activation (not a polynomial: depth ``None``).

    ``nn.encrypted.compile(..., approximate=True)`` evaluates it by a Chebyshev series on the
    calibrated range (`nn.encrypted.approximation`); without it the compiler refuses it.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self._cache = x
        return self.function(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self.derivative(self._cached())

    def multiplicative_depth(self) -> None:
        return None


class Sigmoid(_Smooth):
    """``1 / (1 + e^-x)``; derivative ``s (1 - s)``."""

    @staticmethod
    def function(x: np.ndarray) -> np.ndarray:
        return sigmoid(x)

    @staticmethod
    def derivative(x: np.ndarray) -> np.ndarray:
        s = sigmoid(x)
        return s * (1.0 - s)


class Tanh(_Smooth):
    """``tanh(x)``; derivative ``1 - tanh(x)^2``."""

    @staticmethod
    def function(x: np.ndarray) -> np.ndarray:
        return np.tanh(x)

    @staticmethod
    def derivative(x: np.ndarray) -> np.ndarray:
        return 1.0 - np.tanh(x) ** 2


class GELU(_Smooth):
    """``x Phi(x)`` with the exact normal CDF Phi (Hendrycks and Gimpel 2016); derivative ``Phi(x) + x phi(x)``."""

    @staticmethod
    def function(x: np.ndarray) -> np.ndarray:
        return gelu(x)

    @staticmethod
    def derivative(x: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + _ERF(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


class SiLU(_Smooth):
    """``x sigmoid(x)`` (swish; Elfwing et al. 2018); derivative ``s (1 + x (1 - s))``."""

    @staticmethod
    def function(x: np.ndarray) -> np.ndarray:
        return x * sigmoid(x)

    @staticmethod
    def derivative(x: np.ndarray) -> np.ndarray:
        s = sigmoid(x)
        return s * (1.0 + x * (1.0 - s))


class Square(Layer):
    """``x^2`` (CryptoNets, Gilad-Bachrach et al. 2016); derivative ``2x``.  Depth: 1 level."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        self._cache = x
        return x * x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return 2.0 * self._cached() * grad

    def multiplicative_depth(self) -> int:
        return 1


def _check_coeffs(coeffs: Sequence[float] | np.ndarray) -> np.ndarray:
    c = np.asarray(coeffs, dtype=np.float64)
    if c.ndim != 1 or c.size == 0:
        raise ConfigError(f"coefficients must be a non-empty 1-D sequence (increasing degree), got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ConfigError(f"coefficients must be finite, got {c.tolist()}")
    return c


class PolyActivation(Layer):
    """``p(x) = sum_k coeffs[k] x^k`` applied element-wise (coefficients in increasing degree,
    as ``CKKSVector.polyval``).

    ``p'(x) = sum_k k coeffs[k] x^(k-1)``.  With ``trainable=True`` the
    coefficients are a parameter and ``dL/dcoeffs[k] = sum(dL/dy * x^k)``.
    Depth: ``ceil(log2(d + 1))`` for the degree ``d`` (highest non-zero
    coefficient); see the module docstring.
    """

    def __init__(self, coeffs: Sequence[float] | np.ndarray, *, trainable: bool = False) -> None:
        super().__init__()
        c = _check_coeffs(coeffs)
        self.trainable = bool(trainable)
        if self.trainable:
            self._add_param("coeffs", c)
        else:
            self._coeffs = c

    @property
    def coeffs(self) -> np.ndarray:
        """The coefficients, increasing degree (a copy)."""
        return (self.params["coeffs"] if self.trainable else self._coeffs).copy()

    def _c(self) -> np.ndarray:
        return self.params["coeffs"] if self.trainable else self._coeffs

    @property
    def degree(self) -> int:
        nz = np.flatnonzero(self._c())
        return int(nz[-1]) if nz.size else 0

    def _powers(self, x: np.ndarray) -> list[np.ndarray]:
        pw = [np.ones_like(x)]
        for _ in range(1, self._c().size):
            pw.append(pw[-1] * x)
        return pw

    def _eval(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Return ``p(x)``, ``p'(x)`` and the powers ``x^k``."""
        c = self._c()
        pw = self._powers(x)
        y = sum(ck * p for ck, p in zip(c, pw, strict=True))
        dy = sum(k * c[k] * pw[k - 1] for k in range(1, c.size)) if c.size > 1 else np.zeros_like(x)
        return np.asarray(y, dtype=np.float64), np.asarray(dy, dtype=np.float64), pw

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        y, dy, pw = self._eval(x)
        self._cache = (dy, pw)
        return y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        dy, pw = self._cached()
        if self.trainable:
            self.grads["coeffs"][...] = [np.sum(grad * p) for p in pw]
        return grad * dy

    def multiplicative_depth(self) -> int:
        """CKKS levels an encrypted evaluation of this polynomial consumes.

        The count comes from the CKKS polynomial evaluator
        (``ckks.circuits.polynomial.levels_for_degree``), imported here and not at
        module level so that ``import nn`` runs no ``ckks`` code.

        Returns:
            ``ceil(log2(d + 1))`` for the degree ``d`` (0 for a constant).
        """
        from ckks.circuits.polynomial import levels_for_degree

        return levels_for_degree(self.degree)

    def get_config(self) -> dict[str, Any]:
        return {"coeffs": self._c().tolist(), "trainable": self.trainable}


class QuadraticActivation(PolyActivation):
    """``a x^2 + b x + c`` with trainable ``a, b, c`` (Baruch et al. 2022).

    The default start ``a=0, b=1, c=0`` is the identity-like form: the network
    starts linear and learns its curvature.  `nn.convert.fit_relu_quadratic`
    gives the least-squares fit of ReLU on a range instead.  Depth: 2 levels
    (unfolded; 1 if a compiler folds ``a`` into the next linear layer).
    """

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 0.0) -> None:
        super().__init__([c, b, a], trainable=True)

    @property
    def a(self) -> float:
        return float(self.params["coeffs"][2])

    @property
    def b(self) -> float:
        return float(self.params["coeffs"][1])

    @property
    def c(self) -> float:
        return float(self.params["coeffs"][0])

    @property
    def degree(self) -> int:
        return 2

    def get_config(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "c": self.c}


class ReLUToQuadratic(QuadraticActivation):
    """Smooth transition ``(1 - t) ReLU(x) + t (a x^2 + b x + c)`` with ``t = mix`` in [0, 1].

    Used by `nn.convert` to move a trained ReLU network to quadratic
    activations gradually: ``mix`` is raised from 0 to 1 over a number of epochs
    while ``a, b, c`` (and the rest of the network) train.  At ``mix = 1`` it is
    exactly `QuadraticActivation`; before that it is not HE-friendly
    (depth ``None``).
    """

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 0.0, mix: float = 0.0) -> None:
        super().__init__(a, b, c)
        self.mix = mix

    @property
    def mix(self) -> float:
        return self._mix

    @mix.setter
    def mix(self, value: float) -> None:
        """Set the weight of the quadratic part (0: pure ReLU, 1: pure quadratic).

        Raises:
            ConfigError: the new value is outside [0, 1].
        """
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"mix must lie in [0, 1], got {value}")
        self._mix = value

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        y, dy, pw = self._eval(x)
        t = self._mix
        pos = x > 0
        self._cache = ((1.0 - t) * pos + t * dy, pw)
        return (1.0 - t) * np.where(pos, x, 0.0) + t * y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        dx, pw = self._cached()
        self.grads["coeffs"][...] = [self._mix * np.sum(grad * p) for p in pw]
        return grad * dx

    def multiplicative_depth(self) -> int | None:
        return super().multiplicative_depth() if self._mix == 1.0 else None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mix": self._mix}


class SoftArgmax(Layer):
    """``y = softmax(beta * x)`` along the last axis, inverse temperature ``beta > 0``.

    As ``beta`` grows the output tends to the one-hot arg-max (Florencio et al.,
    "An End-to-End Homomorphically Encrypted Neural Network").  Backward:
    ``dL/dx = beta * y * (g - sum_j g_j y_j)`` with ``g = dL/dy``.  In plaintext
    this layer is exact and has depth ``None``; the encrypted evaluation uses a
    polynomial approximation whose depth its compiler chooses (``depth_note``: what
    ``Sequential.summary`` prints for a final SoftArgmax instead of "not HE-friendly").

    With ``trainable=True`` beta is learned (Florencio et al.'s differentiable soft-argmax
    calibrates the output logits; temperature scaling, Guo, Pleiss, Sun and Weinberger, "On
    Calibration of Modern Neural Networks", ICML 2017, is the same with the network frozen, see
    `nn.train.calibrate_beta`).  The parameter is ``log_beta`` (beta stays positive):
    with ``u = beta x``, ``dL/du = y (g - sum_j g_j y_j)`` and
    ``dL/dlog_beta = beta * sum(dL/du * x)`` over the batch and the classes.

    Args:
        beta: the (initial) inverse temperature.
        trainable: learn beta by its gradient.

    Raises:
        ConfigError: ``beta`` is not a positive finite number.
    """

    #: the depth of a final SoftArgmax is not fixed by the layer: the encrypted compiler chooses it
    depth_note = "chosen by nn.encrypted.compile"

    def __init__(self, beta: float = 1.0, trainable: bool = False) -> None:
        super().__init__()
        beta = float(beta)
        if not (np.isfinite(beta) and beta > 0):
            raise ConfigError(f"beta (inverse temperature) must be a positive finite number, got {beta}")
        self.trainable = bool(trainable)
        if self.trainable:
            self._add_param("log_beta", np.array([np.log(beta)]))
        else:
            self._beta = beta

    @property
    def beta(self) -> float:
        """The inverse temperature (learned when ``trainable``)."""
        return float(np.exp(self.params["log_beta"][0])) if self.trainable else self._beta

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output on the batch ``x`` (see the class docstring).

        Raises:
            ShapeError: ``x`` is a scalar (no class axis).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1:
            raise ShapeError("SoftArgmax expects at least a 1-D input (classes on the last axis)")
        y = softmax(self.beta * x, axis=-1)
        self._cache = (x, y)
        return y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x, y = self._cached()
        du = y * (grad - np.sum(grad * y, axis=-1, keepdims=True))
        if self.trainable:
            self.grads["log_beta"][...] = self.beta * np.sum(du * x)
        return self.beta * du

    def multiplicative_depth(self) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {"beta": self.beta, "trainable": True} if self.trainable else {"beta": self.beta}


class Argmax(Layer):
    """The one-hot vector of the arg-max along the last axis (the first maximal index on exact ties).

    An output layer: ``nn.encrypted.compile`` evaluates it by comparisons (the differences of all
    pairs of logits, one sign each, and per class the product of its C - 1 step values; see
    `nn.encrypted.argmax`), and the decrypted output is that one-hot vector, (batch, classes).
    Under encryption logits closer than the comparison's margin are a tie: both classes get about
    the same partial value (two exactly equal leaders: 1/2 each) instead of a one-hot.

    It is piecewise constant, so it has no useful gradient: train the model without it and
    append it afterwards (``backward`` raises).
    """

    depth_note = "chosen by nn.encrypted.compile"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output on the batch ``x`` (see the class docstring).

        Raises:
            ShapeError: ``x`` has fewer than two classes on its last axis.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1 or x.shape[-1] < 2:
            raise ShapeError(f"Argmax expects at least two classes on the last axis, got shape {x.shape}")
        out = np.zeros_like(x)
        np.put_along_axis(out, x.argmax(axis=-1)[..., None], 1.0, axis=-1)
        self._cache = True
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Refuse: the arg-max has zero gradient almost everywhere.

        Raises:
            ConfigError: always; train without the Argmax layer and append it to the trained model.
        """
        raise ConfigError(
            "Argmax has no useful gradient (it is piecewise constant): train the model without it and append "
            "nn.Argmax() afterwards, or train with nn.SoftArgmax(beta, trainable=True)"
        )

    def multiplicative_depth(self) -> None:
        return None
