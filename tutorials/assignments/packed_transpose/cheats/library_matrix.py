"""Cheat: the library's encrypted matrix (CKKSMatrix) and its transpose.

Blocked: ckks.matrix (CKKSMatrix) is forbidden in this assignment: reaching it raises.
must fail: test_transpose_diagonal[4], test_transpose_diagonal[8], test_transpose_scaled, test_transpose_bsgs[8]
"""

import ckks


def _transpose(v, d, factor=1.0):
    matrix = ckks.CKKSMatrix(v, d)  # the same row-major layout
    return matrix.transpose().vector * factor


def transpose_diagonal(v, d):
    return _transpose(v, d)


def transpose_scaled(v, d, factor):
    return _transpose(v, d, factor)


def transpose_bsgs(v, d):
    return _transpose(v, d)
