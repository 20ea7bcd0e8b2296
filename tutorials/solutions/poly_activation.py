"""Reference solution: a polynomial activation under a level budget.

1. ``fit``: Chebyshev interpolation of f on [low, high] (in y = (2x - low - high) / (high - low),
   so that the series lives on [-1, 1]), converted to the power basis of y.  Interpolation at
   the Chebyshev points is within a small factor of the best polynomial of that degree; a
   Taylor series is not (it diverges beyond the radius of convergence, pi for the sigmoid).
2. ``activation``: one level for the affine map y = a x + b (a non-integer constant), then
   the degree d = 2^(depth - 1) - 1 polynomial in ceil(log2(d + 1)) = depth - 1 levels by
   binary splitting of each exponent (the constant goes into the lowest power), as in the
   ``fewest_levels`` assignment.  Scales: operands are multiplied only at the same level,
   and ``u * 1.0`` moves u one level down at the canonical scale.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev

_ERF = np.vectorize(math.erf, otypes=[float])


def activation_function(name: str, x):
    """The activation ``name`` ("sigmoid", "silu", "gelu", "tanh") of the plaintext array x."""
    x = np.asarray(x, dtype=float)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "silu":
        return x / (1.0 + np.exp(-x))
    if name == "gelu":
        return 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)))
    if name == "tanh":
        return np.tanh(x)
    raise ValueError(f"unknown activation {name!r}")


def fit(name: str, low: float, high: float, degree: int) -> list[float]:
    """c_0 .. c_degree of p(y) = sum_k c_k y^k ~ f(x), y = (2x - low - high) / (high - low)."""

    def in_y(y):
        return activation_function(name, (y * (high - low) + low + high) / 2.0)

    return [float(c) for c in chebyshev.cheb2poly(chebyshev.chebinterpolate(in_y, degree))]


def _down_to(u, level: int):
    while u.level > level:
        u = u * 1.0
    return u


def _times(u, w):
    level = min(u.level, w.level)
    return _down_to(u, level) * _down_to(w, level)


def evaluate(v, coefficients):
    """sum_k c_k v^k in ceil(log2(d + 1)) levels (binary splitting of the exponents)."""
    coefficients = [float(c) for c in coefficients]
    while len(coefficients) > 1 and abs(coefficients[-1]) < 1e-12:
        coefficients.pop()
    degree = len(coefficients) - 1
    powers = [v]  # powers[k] = v^(2^k), depth k
    while 2 ** len(powers) <= degree:
        powers.append(powers[-1] * powers[-1])
    result = None
    for i in range(1, degree + 1):
        c = coefficients[i]
        if abs(c) < 1e-12:
            continue
        bits = [k for k in range(i.bit_length()) if i >> k & 1]
        term = c * powers[bits[0]]
        for k in bits[1:]:
            term = _times(term, powers[k])
        result = term if result is None else result + term
    if result is None:
        return v * 0 + coefficients[0]
    return result + coefficients[0]


def activation(v, name: str, low: float, high: float, depth: int):
    """f(x) on [low, high] for the encrypted x in v, using at most ``depth`` levels."""
    degree = 2 ** (depth - 1) - 1
    coefficients = fit(name, low, high, degree)
    y = v * (2.0 / (high - low)) + (-(low + high) / (high - low))  # one level
    return evaluate(y, coefficients)
