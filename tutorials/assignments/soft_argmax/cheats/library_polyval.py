"""Cheat: let the library evaluate the polynomials (CKKSVector.polyval / chebval).

Blocked: polyval, chebval and pow are switched off in the sandbox.
must fail: test_exp[width2], test_exp[width4], test_inverse[narrow], test_soft_argmax[classes3]
"""

import math

import numpy as np
from numpy.polynomial import chebyshev


def denominator_range(low, high, classes):
    return classes * math.exp(low - high), float(classes)


def exp_shifted(v, low, high, depth):
    series = chebyshev.chebinterpolate(lambda y: np.exp((y * (high - low) + low + high) / 2 - high), 7)
    return v.chebval(series, (low, high))


def inverse(v, low, high, depth):
    series = chebyshev.chebinterpolate(lambda y: 2 / (y * (high - low) + low + high), 15)
    return v.chebval(series, (low, high))


def soft_argmax(logits, low, high, depth):
    exps = [exp_shifted(z, low, high, depth) for z in logits]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    inv = inverse(total, *denominator_range(low, high, len(logits)), depth)
    return [e * inv for e in exps]
