"""Cheat: decrypt, multiply in the clear, encrypt the answer.

Blocked: the submission's context has no secret key.
must fail: test_diagonal_method[8], test_baby_step_giant_step[8], test_dense_layer[16]
"""

import numpy as np


def diagonals(matrix):
    w = np.asarray(matrix, dtype=float)
    n = w.shape[0]
    return [w[np.arange(n), (np.arange(n) + i) % n] for i in range(n)]


def _clear(v, matrix, bias=0.0):
    w = np.asarray(matrix)
    x = v.decrypt()[: w.shape[0]]
    return v.context.encrypt(np.tile(w @ x + bias, v.context.slots // w.shape[0])) * 1.0


def matvec_diagonal(v, matrix):
    return _clear(v, matrix)


def matvec_bsgs(v, matrix):
    return _clear(v, matrix)


def dense(v, matrix, bias):
    return _clear(v, matrix, np.asarray(bias))
