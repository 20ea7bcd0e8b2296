"""Shortcut: a correct EvalMod with twice the degree it was given: more precise values, one level too many.

Blocked: the levels used are checked against the budget, not only the values.
must fail: test_eval_mod[K4-d15-r2], test_eval_mod[K8-d15-r4], test_eval_mod[K8-d31-r3], test_mod_reduction
"""

import math

import numpy as np
from numpy.polynomial import chebyshev


def _down_to(u, level):
    while u.level > level:
        u = u * 1.0
    return u


def _times(u, w):
    level = min(u.level, w.level)
    return _down_to(u, level) * _down_to(w, level)


def eval_mod(v, k_range, degree, steps):
    degree = 2 * degree + 1  # "more accurate"
    f = lambda x: np.cos(2 * np.pi * (k_range * x - 0.25) / 2**steps)  # noqa: E731
    a = chebyshev.chebinterpolate(f, degree)
    t = {1: v}
    for i in range(2, degree + 1):
        j = 1 << (i.bit_length() - 1)
        t[i] = 2 * (t[j // 2] * t[j // 2]) - 1 if i == j else 2 * _times(t[j], t[i - j]) - t[2 * j - i]
    c = sum((t[i] * float(a[i]) for i in range(2, degree + 1)), t[1] * float(a[1])) + float(a[0])
    for _ in range(steps):
        c = 2 * c * c - 1
    return c * (1 / (2 * math.pi))
