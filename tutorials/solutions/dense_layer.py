"""Reference solution: the encrypted dense layer, by diagonals and by baby-step giant-step.

Layout: x (n values) is repeated over all N/2 slots, so a rotation by i moves x_{j+i mod n}
under slot j.  Diagonal i of W is d_i[j] = W[j, (j + i) mod n], and
W x = sum_i d_i * rot(x, i): n - 1 rotations, one plaintext product (one level).
BSGS with n = g b: W x = sum_j rot( sum_i roll(d_{jg+i}, jg) * rot(x, i), jg ):
g - 1 baby steps and b - 1 giant steps.
"""

from __future__ import annotations

import math

import numpy as np


def diagonals(matrix) -> list[np.ndarray]:
    """The n generalized diagonals d_i[j] = W[j, (j + i) mod n] of a square matrix."""
    w = np.asarray(matrix, dtype=float)
    n = w.shape[0]
    rows = np.arange(n)
    return [w[rows, (rows + i) % n] for i in range(n)]


def _tiled(values, slots: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.tile(values, slots // values.size)


def matvec_diagonal(v, matrix):
    """W x with n - 1 rotations and one level (x repeated over all slots in v)."""
    slots = v.context.slots
    out = None
    for i, d in enumerate(diagonals(matrix)):
        term = (v if i == 0 else v.rotate(i)) * _tiled(d, slots)
        out = term if out is None else out + term
    return out


def matvec_bsgs(v, matrix):
    """W x with about 2 sqrt(n) rotations and one level."""
    slots = v.context.slots
    d = diagonals(matrix)
    n = len(d)
    g = 2 ** math.ceil(math.log2(n) / 2)
    baby = [v] + [v.rotate(i) for i in range(1, g)]
    out = None
    for j in range(n // g):
        inner = None
        for i in range(g):
            term = baby[i] * _tiled(np.roll(d[j * g + i], j * g), slots)
            inner = term if inner is None else inner + term
        inner = inner if j == 0 else inner.rotate(j * g)
        out = inner if out is None else out + inner
    return out


def dense(v, matrix, bias):
    """W x + b (BSGS), one level."""
    return matvec_bsgs(v, matrix) + _tiled(bias, v.context.slots)
