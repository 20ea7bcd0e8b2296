"""Chebyshev approximations of functions on an interval, for encrypted evaluation.

CKKS evaluates only polynomials, so a function f (sigmoid, ReLU, exp, 1/x)
is replaced on an interval [a, b] by its degree-d Chebyshev interpolant

    p(x) = sum_k c_k T_k(y),   y = (2x - a - b) / (b - a) in [-1, 1],

through the d + 1 Chebyshev points of the first kind (``numpy.polynomial.
chebyshev.chebinterpolate``).  Interpolation at these nodes is within a
factor (2 + (2/pi) log(d + 1)) of the best uniform approximation (Trefethen,
"Approximation Theory and Approximation Practice", ch. 16), and the
coefficients are well conditioned, which is why the encrypted evaluation
(`ckks.CKKSVector.chebval`) stays in this basis instead of expanding
into powers of x.  `fit` reports the maximum error over a dense grid,
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
from ckks.validation import check_int, check_real

#: Points of the grid on which the approximation error is measured.
ERROR_GRID = 10_001


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + e^-x), computed as (1 + tanh(x / 2)) / 2 (no overflow).

    Args:
        x: values.

    Returns:
        float64 array of the same shape.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0).

    Args:
        x: values.

    Returns:
        float64 array of the same shape.
    """
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def inverse(x: np.ndarray) -> np.ndarray:
    """1 / x (fit it on an interval that avoids 0).

    Args:
        x: values.

    Returns:
        float64 array of the same shape.
    """
    return 1.0 / np.asarray(x, dtype=np.float64)


#: Functions known by name to `fit`.
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
        name: the function's name (its ``__name__`` for a callable).
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
        """d, the degree of the interpolant."""
        return len(self.coefficients) - 1

    def __call__(self, x) -> np.ndarray:
        """The polynomial in plaintext (numpy).

        Args:
            x: points (anywhere, but it approximates the function only on the interval).

        Returns:
            p(x), float64 array of the shape of ``x``.
        """
        alpha, beta = chebyshev_affine(self.interval)
        return npcheb.chebval(alpha * np.asarray(x, dtype=np.float64) + beta, self.coefficients)

    def evaluate(self, vector):
        """The polynomial on an encrypted vector: ``vector.chebval(coefficients, interval)``.

        Args:
            vector: a [`CKKSVector`][ckks.vector.CKKSVector] at level l >= ``self.levels``.

        Returns:
            p(x) slot-wise at level l - ``self.levels``, with the vector's scale.

        Raises:
            LevelError: fewer than ``self.levels`` levels are left.
        """
        return vector.chebval(self.coefficients, self.interval)

    def power_coefficients(self) -> np.ndarray:
        """The same polynomial in powers of x (for TenSEAL's polyval; ill-conditioned for large d).

        Returns:
            a_0 .. a_d with p(x) = sum_k a_k x^k.
        """
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
    """Interpolate ``function`` at the d + 1 Chebyshev points of ``interval``.

    Args:
        function: a callable on numpy arrays, or a name of `FUNCTIONS`
            ("sigmoid", "relu", "exp", "inverse", "tanh").
        interval: (a, b), finite, a < b.
        degree: d >= 0.

    Returns:
        The fit: coefficients in T_k, max error on ``ERROR_GRID`` points, levels.

    Raises:
        InputError: unknown function name, negative or non-integer degree, bad
            interval, or a function that is not finite on the interval.
        InputTypeError: ``function`` is neither a name nor a callable, or the interval is not numbers.
    """
    if isinstance(function, str):
        if function not in FUNCTIONS:
            raise InputError(f"unknown function {function!r}; known: {sorted(FUNCTIONS)}, or pass a callable")
        name, func = function, FUNCTIONS[function]
    elif callable(function):
        name, func = getattr(function, "__name__", "function"), function
    else:
        raise InputTypeError(f"function must be a name or a callable, got {type(function).__name__}")
    degree = check_int("degree", degree, 0, error=InputError, type_error=InputError)
    alpha, beta = chebyshev_affine(interval)
    a, b = (float(v) for v in interval)

    def on_unit(y: np.ndarray) -> np.ndarray:
        return np.asarray(func((y - beta) / alpha), dtype=np.float64)

    grid = np.linspace(a, b, ERROR_GRID)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = np.asarray(func(grid), dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{name} is not finite everywhere on [{a:g}, {b:g}] (e.g. 1/x must avoid 0)")
    coefficients = npcheb.chebinterpolate(on_unit, degree)
    error = float(np.max(np.abs(values - npcheb.chebval(alpha * grid + beta, coefficients))))
    return ChebyshevFit(name, coefficients, (a, b), error, chebyshev_levels(degree, (a, b)))


def fit_to_error(
    function: str | Callable[[np.ndarray], np.ndarray], interval: tuple[float, float], max_error: float,
    max_degree: int = 127,
) -> ChebyshevFit:
    """The lowest-degree fit whose measured error is at most ``max_error``.

    Args:
        function: a callable or a name of `FUNCTIONS`.
        interval: (a, b), finite, a < b.
        max_error: the largest acceptable max |f - p| on the grid (> 0).
        max_degree: the highest degree tried.

    Returns:
        The first fit of degree 1, 2, ... that reaches ``max_error``.

    Raises:
        InputError: no degree up to ``max_degree`` reaches ``max_error``, or an
            argument is invalid (see `fit`).
        InputTypeError: ``function`` is neither a name nor a callable.
    """
    max_error = check_real("max_error", max_error, 0.0, low_open=True)
    max_degree = check_int("max_degree", max_degree, 1)
    for degree in range(1, max_degree + 1):
        result = fit(function, interval, degree)
        if result.max_error <= max_error:
            return result
    raise InputError(
        f"no Chebyshev fit of degree <= {max_degree} reaches error {max_error:g} on {interval}; "
        "narrow the interval or accept a larger error"
    )
