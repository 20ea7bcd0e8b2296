"""Cheat: the library's encoder, which the README forbids importing.

Blocked: importing ckks is refused in this assignment.
must fail: all
"""

import numpy as np

import ckks


def encode(values, n, scale):
    params = ckks.Parameters(n, [60, 60], 30, security=None)
    z = np.zeros(n // 2, dtype=complex)
    z[: len(values)] = values
    return np.rint(ckks.Encoder(params).embed_inverse(z) * scale).astype(np.int64)


def decode(coefficients, n, scale):
    params = ckks.Parameters(n, [60, 60], 30, security=None)
    return ckks.Encoder(params).embed(np.asarray(coefficients, dtype=float)) / scale
