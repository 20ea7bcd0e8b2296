"""Reference solution: the encrypted soft-argmax (softmax) under a level budget.

Layout ("batch"): ``logits[i]`` encrypts logit i of many samples, one sample per slot, so the
sum over classes is an addition (no rotation).  For logits in [low, high] (width w):

1. exp: softmax is invariant to a common shift, so use e_i = exp(z_i - high) in [e^-w, 1]:
   a Chebyshev interpolant of degree d in y = (2z - low - high) / w (one level for the map,
   ceil(log2(d + 1)) for the polynomial).
2. the denominator S = sum_i e_i lies in [C e^-w, C] (each e_i in [e^-w, 1]): the bound the
   inverse needs.
3. 1/S by Goldschmidt: an initial guess v_0 (a Chebyshev interpolant of 1/x on that range),
   e_0 = 1 - S v_0, then v <- v (1 + e), e <- e^2: one level per iteration, relative error
   e_0^(2^k).  (Newton, v <- v (2 - S v), converges as fast but costs two levels per step.)
4. p_i = e_i v: one level.

The degrees and the iteration count are chosen from the budget with a plaintext error model.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev


def denominator_range(low: float, high: float, classes: int) -> tuple[float, float]:
    """Bounds on S = sum_i exp(z_i - high) for logits z_i in [low, high]."""
    return classes * math.exp(low - high), float(classes)


# -- polynomial evaluation in ceil(log2(d + 1)) levels (as in fewest_levels) ------------------------


def _down_to(u, level: int):
    while u.level > level:
        u = u * 1.0
    return u


def _times(u, w):
    level = min(u.level, w.level)
    return _down_to(u, level) * _down_to(w, level)


def _evaluate(v, coefficients):
    coefficients = [float(c) for c in coefficients]
    degree = len(coefficients) - 1
    powers = [v]
    while 2 ** len(powers) <= degree:
        powers.append(powers[-1] * powers[-1])
    result = None
    for i in range(1, degree + 1):
        if coefficients[i] == 0:
            continue
        bits = [k for k in range(i.bit_length()) if i >> k & 1]
        term = coefficients[i] * powers[bits[0]]
        for k in bits[1:]:
            term = _times(term, powers[k])
        result = term if result is None else result + term
    return result + coefficients[0]


def _levels(degree: int) -> int:
    return math.ceil(math.log2(degree + 1))


def _fit(f, low: float, high: float, degree: int) -> list[float]:
    """Power coefficients in y = (2x - low - high) / (high - low) of the Chebyshev interpolant of f."""
    series = chebyshev.chebinterpolate(lambda y: f((y * (high - low) + low + high) / 2.0), degree)
    return list(chebyshev.cheb2poly(series))


def _grid(low: float, high: float) -> np.ndarray:
    return (np.cos(np.linspace(0.0, np.pi, 2001)) * (high - low) + low + high) / 2.0


def _approximate(v, f, low: float, high: float, degree: int):
    """f(x) by a degree-d polynomial: 1 + ceil(log2(d + 1)) levels (1 for d = 1: no map needed)."""
    coefficients = _fit(f, low, high, degree)
    if degree == 1:  # c0 + c1 y with y = a x + b is linear in x: one product
        a, b = 2.0 / (high - low), -(low + high) / (high - low)
        return v * (coefficients[1] * a) + (coefficients[0] + coefficients[1] * b)
    y = v * (2.0 / (high - low)) + (-(low + high) / (high - low))
    return _evaluate(y, coefficients)


# -- the three parts ---------------------------------------------------------------------------------


def exp_shifted(v, low: float, high: float, depth: int):
    """exp(x - high) for x in [low, high], at most ``depth`` levels."""
    degree = 2 ** (depth - 1) - 1
    return _approximate(v, lambda x: np.exp(x - high), low, high, degree)


def _inverse_plan(low: float, high: float, depth: int) -> tuple[int, int]:
    """(initial degree, Goldschmidt iterations) with the smallest modelled error within ``depth``."""
    x = _grid(low, high)
    best = None
    for degree in (1, 3, 7, 15):
        start = 1 if degree == 1 else 1 + _levels(degree)
        iterations = depth - start - 1
        if iterations < 0:
            continue
        guess = chebyshev.chebval((2 * x - low - high) / (high - low), _fit_cheb(low, high, degree))
        e0 = float(np.max(np.abs(1.0 - x * guess)))
        error = e0 ** (2**iterations) if e0 < 1 else math.inf
        if best is None or error < best[0]:
            best = (error, degree, iterations)
    if best is None:
        raise ValueError(f"an inverse needs at least 2 levels, the budget is {depth}")
    return best[1], best[2]


def _fit_cheb(low: float, high: float, degree: int) -> np.ndarray:
    return chebyshev.chebinterpolate(lambda y: 2.0 / (y * (high - low) + low + high), degree)


def inverse(v, low: float, high: float, depth: int):
    """1/x for x in [low, high] (0 < low), Goldschmidt iterations, at most ``depth`` levels."""
    degree, iterations = _inverse_plan(low, high, depth)
    guess = _approximate(v, lambda x: 1.0 / x, low, high, degree)
    error = 1.0 - _times(v, guess)  # e_0 = 1 - x v_0
    for _ in range(iterations):
        guess, error = _times(guess, 1.0 + error), error * error
    return guess


def _exp_levels(low: float, high: float, target: float = 1e-3) -> int:
    """The fewest levels (map included) for exp(x - high) on [low, high] with relative error below ``target``."""
    x = _grid(low, high)
    y = (2 * x - low - high) / (high - low)
    for levels in range(2, 6):
        coefficients = _fit(lambda t: np.exp(t - high), low, high, 2 ** (levels - 1) - 1)
        if np.max(np.abs(np.polynomial.polynomial.polyval(y, coefficients) / np.exp(x - high) - 1)) < target:
            return levels
    return 5


def soft_argmax(logits: list, low: float, high: float, depth: int) -> list:
    """softmax of the encrypted logits (one vector per class), at most ``depth`` levels."""
    classes = len(logits)
    exp_depth = _exp_levels(low, high)
    exps = [exp_shifted(z, low, high, exp_depth) for z in logits]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    s_low, s_high = denominator_range(low, high, classes)
    inv = inverse(total, s_low, s_high, depth - exp_depth - 1)
    return [_times(e, inv) for e in exps]
