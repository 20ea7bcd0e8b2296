"""Cheat: right coefficients, then the library's Chebyshev evaluation (CKKSVector.chebval) for the series.

Blocked: chebval, polyval and pow are switched off in the sandbox.
must fail: test_eval_mod[K4-d15-r2], test_eval_mod[K8-d15-r3], test_eval_mod[K8-d31-r3], test_mod_reduction
"""

import math

import numpy as np
from numpy.polynomial import chebyshev


def cosine_coefficients(k_range, degree, steps):
    f = lambda x: np.cos(2 * np.pi * (k_range * x - 0.25) / 2**steps)  # noqa: E731
    return list(chebyshev.chebinterpolate(f, degree))


def eval_mod(v, k_range, degree, steps):
    c = v.chebval(cosine_coefficients(k_range, degree, steps))
    for _ in range(steps):
        c = 2 * c * c - 1
    return c * (1 / (2 * math.pi))
