"""Chebyshev approximations of functions on an interval, for encrypted evaluation.

CKKS evaluates only polynomials, so a function f (sigmoid, ReLU, exp, 1/x)
is replaced on an interval [a, b] by its degree-d Chebyshev interpolant

    p(x) = sum_k c_k T_k(y),   y = (2x - a - b) / (b - a) in [-1, 1],

through the d + 1 Chebyshev points of the first kind (``numpy.polynomial.
chebyshev.chebinterpolate``).  Interpolation at these nodes is within a
factor (2 + (2/pi) log(d + 1)) of the best uniform approximation (Trefethen,
"Approximation Theory and Approximation Practice", ch. 16), and the
coefficients are well conditioned, which is why the encrypted evaluation
(:meth:`ckks.CKKSVector.chebval`) stays in this basis instead of expanding
into powers of x.  :func:`fit` reports the maximum error over a dense grid,
so the user sees what the approximation costs before encrypting anything;
outside [a, b] the polynomial is no approximation at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from ckks.circuits.polynomial import chebyshev_affine, chebyshev_levels
from ckks.errors import InputError, InputTypeError

#: Points of the grid on which the approximation error is measured.
ERROR_GRID = 10_001


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def inverse(x: np.ndarray) -> np.ndarray:
    return 1.0 / np.asarray(x, dtype=np.float64)


#: Functions known by name to :func:`fit`.
FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": sigmoid,
    "relu": relu,
    "exp": np.exp,
    "inverse": inverse,
    "tanh": np.tanh,
}


@dataclass(frozen=True)
class ChebyshevFit:
    """A degree-d Chebyshev approximation of ``name`` on ``interval`` and its measured error.

    Attributes:
        coefficients: c_0 .. c_d of sum_k c_k T_k(y), y the interval mapped to [-1, 1].
        interval: (a, b).
        max_error: max |f(x) - p(x)| over ERROR_GRID equally spaced points of [a, b].
        levels: CKKS levels the encrypted evaluation consumes.
    """

    name: str
    coefficients: np.ndarray
    interval: tuple[float, float]
    max_error: float
    levels: int

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    def __call__(self, x) -> np.ndarray:
        """The polynomial in plaintext (numpy)."""
        alpha, beta = chebyshev_affine(self.interval)
        return npcheb.chebval(alpha * np.asarray(x, dtype=np.float64) + beta, self.coefficients)

    def evaluate(self, vector):
        """The polynomial on an encrypted :class:`ckks.CKKSVector` (``self.levels`` levels)."""
        return vector.chebval(self.coefficients, self.interval)

    def power_coefficients(self) -> np.ndarray:
        """The same polynomial in powers of x (for TenSEAL's polyval; ill-conditioned for large d)."""
        alpha, beta = chebyshev_affine(self.interval)
        in_y = npcheb.cheb2poly(self.coefficients)
        return np.polynomial.Polynomial(in_y)(np.polynomial.Polynomial([beta, alpha])).coef

    def __repr__(self) -> str:
        a, b = self.interval
        return (
            f"ChebyshevFit({self.name}, degree={self.degree}, interval=[{a:g}, {b:g}], "
            f"max_error={self.max_error:.3g}, levels={self.levels})"
        )


def fit(function: str | Callable[[np.ndarray], np.ndarray], interval: tuple[float, float], degree: int) -> ChebyshevFit:
    """Interpolate ``function`` (a callable, or a name of :data:`FUNCTIONS`) at Chebyshev points.

    Returns the coefficients and the maximum error measured on a dense grid.
    """
    if isinstance(function, str):
        if function not in FUNCTIONS:
            raise InputError(f"unknown function {function!r}; known: {sorted(FUNCTIONS)}, or pass a callable")
        name, func = function, FUNCTIONS[function]
    elif callable(function):
        name, func = getattr(function, "__name__", "function"), function
    else:
        raise InputTypeError(f"function must be a name or a callable, got {type(function).__name__}")
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise InputError(f"degree must be a non-negative integer, got {degree!r}")
    alpha, beta = chebyshev_affine(interval)
    a, b = (float(v) for v in interval)

    def on_unit(y: np.ndarray) -> np.ndarray:
        return np.asarray(func((y - beta) / alpha), dtype=np.float64)

    grid = np.linspace(a, b, ERROR_GRID)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = np.asarray(func(grid), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{name} is not finite everywhere on [{a:g}, {b:g}] (e.g. 1/x must avoid 0)")
    coefficients = npcheb.chebinterpolate(on_unit, int(degree))
    error = float(np.max(np.abs(values - npcheb.chebval(alpha * grid + beta, coefficients))))
    return ChebyshevFit(name, coefficients, (a, b), error, chebyshev_levels(int(degree), (a, b)))


def fit_to_error(
    function: str | Callable[[np.ndarray], np.ndarray], interval: tuple[float, float], max_error: float,
    max_degree: int = 127,
) -> ChebyshevFit:
    """The lowest-degree fit whose measured error is at most ``max_error`` (InputError if none up to max_degree)."""
    for degree in range(1, max_degree + 1):
        result = fit(function, interval, degree)
        if result.max_error <= max_error:
            return result
    raise InputError(
        f"no Chebyshev fit of degree <= {max_degree} reaches error {max_error:g} on {interval}; "
        "narrow the interval or accept a larger error"
    )
