"""Shortcut: Newton's iteration from a constant initial guess, as many steps as the budget allows.

Fine on a narrow range, but on [4 e^-4, 4] the relative error of the guess is 0.96 and three
Newton steps leave it near 0.5: the error bound is checked, not only the levels.
must fail: test_inverse[wide], test_soft_argmax[classes4]
"""

import math

import numpy as np
from numpy.polynomial import chebyshev


def denominator_range(low, high, classes):
    return classes * math.exp(low - high), float(classes)


def _down_to(u, level):
    while u.level > level:
        u = u * 1.0
    return u


def _times(u, w):
    level = min(u.level, w.level)
    return _down_to(u, level) * _down_to(w, level)


def _evaluate(v, coefficients):
    powers = [v]
    while 2 ** len(powers) < len(coefficients):
        powers.append(powers[-1] * powers[-1])
    result = None
    for i in range(1, len(coefficients)):
        bits = [k for k in range(i.bit_length()) if i >> k & 1]
        term = float(coefficients[i]) * powers[bits[0]]
        for k in bits[1:]:
            term = _times(term, powers[k])
        result = term if result is None else result + term
    return result + float(coefficients[0])


def exp_shifted(v, low, high, depth):
    series = chebyshev.chebinterpolate(
        lambda y: np.exp((y * (high - low) + low + high) / 2 - high), 2 ** (depth - 1) - 1
    )
    y = v * (2 / (high - low)) + (-(low + high) / (high - low))
    return _evaluate(y, chebyshev.cheb2poly(series))


def inverse(v, low, high, depth):
    c = 2 / (low + high)
    guess = v * (-c * c) + 2 * c  # the first Newton step from the constant c: one level
    for _ in range((depth - 1) // 2):
        guess = _times(guess, 2 - _times(v, guess))
    return guess


def soft_argmax(logits, low, high, depth):
    exp_depth = 4
    exps = [exp_shifted(z, low, high, exp_depth) for z in logits]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    inv = inverse(total, *denominator_range(low, high, len(logits)), depth - exp_depth - 1)
    return [_times(e, inv) for e in exps]
