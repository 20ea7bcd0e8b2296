"""Shortcut: a good fit, evaluated by numpy's polyval applied to the ciphertext (Horner's rule).

Right values, but one level per degree: the level budget is checked, not only the values.
must fail: test_activation[sigmoid4], test_activation[tanh3], test_activation[gelu4], test_activation[silu6]
"""

import math

import numpy as np
from numpy.polynomial import chebyshev, polynomial


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
    return [float(c) for c in chebyshev.cheb2poly(series)]


def activation(v, name, low, high, depth):
    y = v * (2 / (high - low)) + (-(low + high) / (high - low))
    return polynomial.polyval(y, fit(name, low, high, 2 ** (depth - 1) - 1))  # c0 + y (c1 + y (c2 + ...))
