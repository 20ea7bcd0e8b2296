"""Cheat: decrypt, apply the exact function in the clear, encrypt the answer (two levels down).

Blocked: the submission's context has no secret key.
must fail: test_activation[sigmoid4], test_activation[gelu4], test_activation[silu6]
"""

import math

import numpy as np


def activation_function(name, x):
    x = np.asarray(x, dtype=float)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "silu":
        return x / (1 + np.exp(-x))
    if name == "gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    return np.tanh(x)


def activation(v, name, low, high, depth):
    x = np.real(v.decrypt())
    return v.context.encrypt(activation_function(name, x)) * 1.0
