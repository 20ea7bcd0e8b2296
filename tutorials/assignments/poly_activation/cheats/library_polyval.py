"""Cheat: fit correctly, then let the library evaluate the polynomial (CKKSVector.polyval).

Blocked: polyval, chebval and pow are switched off in the sandbox.
must fail: test_activation[sigmoid4], test_activation[tanh3], test_activation[gelu4], test_activation[sigmoid8]
"""

import math

import numpy as np
from numpy.polynomial import chebyshev


def activation_function(name, x):
    x = np.asarray(x, dtype=float)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "silu":
        return x / (1 + np.exp(-x))
    if name == "gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    return np.tanh(x)


def fit(name, low, high, degree):
    series = chebyshev.chebinterpolate(lambda y: activation_function(name, (y * (high - low) + low + high) / 2), degree)
    return list(chebyshev.cheb2poly(series))


def activation(v, name, low, high, depth):
    y = v * (2 / (high - low)) + (-(low + high) / (high - low))
    return y.polyval(fit(name, low, high, 2 ** (depth - 1) - 1))
