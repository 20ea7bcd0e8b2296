"""Shortcut: hand in the diagonal method as the BSGS product (right values, n - 1 rotations).

Blocked: the rotation count is checked, not only the values.
must fail: test_baby_step_giant_step[16], test_baby_step_giant_step[64], test_dense_layer[64]
"""

import numpy as np


def diagonals(matrix):
    w = np.asarray(matrix, dtype=float)
    n = w.shape[0]
    return [w[np.arange(n), (np.arange(n) + i) % n] for i in range(n)]


def matvec_diagonal(v, matrix):
    slots = v.context.slots
    out = None
    for i, d in enumerate(diagonals(matrix)):
        term = (v if i == 0 else v.rotate(i)) * np.tile(d, slots // d.size)
        out = term if out is None else out + term
    return out


matvec_bsgs = matvec_diagonal


def dense(v, matrix, bias):
    return matvec_bsgs(v, matrix) + np.tile(np.asarray(bias, dtype=float), v.context.slots // len(bias))
