"""Cheat: the library's own matrix-vector product.

Blocked: CKKSVector.matmul is switched off and ckks.circuits cannot be imported.
must fail: test_diagonal_method[8], test_baby_step_giant_step[8], test_dense_layer[16]
"""

import numpy as np


def diagonals(matrix):
    w = np.asarray(matrix, dtype=float)
    n = w.shape[0]
    return [w[np.arange(n), (np.arange(n) + i) % n] for i in range(n)]


def matvec_diagonal(v, matrix):
    return v.matmul(np.asarray(matrix).T)


def matvec_bsgs(v, matrix):
    return v.matmul(np.asarray(matrix).T)


def dense(v, matrix, bias):
    return matvec_bsgs(v, matrix) + list(bias)
