"""Cheat: the library's numba NTT kernel, reached through the top-level package.

Blocked: importing ckks is refused in this assignment.
must fail: all
"""

import numpy as np

import ckks


def ntt(a, q, psi):
    params = ckks.Parameters(len(a), [30, 30], security=None)
    return list(params.at_level(0).forward(np.array([a], dtype=np.uint64))[0])


def intt(values, q, psi):
    params = ckks.Parameters(len(values), [30, 30], security=None)
    return list(params.at_level(0).inverse(np.array([values], dtype=np.uint64))[0])


def multiply(a, b, q, psi):
    return intt([x * y % q for x, y in zip(ntt(a, q, psi), ntt(b, q, psi))], q, psi)
