"""Cheat: regenerate the grader's inputs from its old fixed seeds and return W x, tied to the input.

The old autograder drew W and x from np.random.default_rng(n): the answer could be computed without
touching the ciphertext, then encrypted afresh.  Blocked: the inputs come from the OS on every run
(the replayed W x is wrong), and an encrypted result must be computed from the input ciphertext.
must fail: all
"""

import numpy as np


def _replayed(v, seed: int, n: int):
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, (n, n))
    x = rng.uniform(-1, 1, n)
    return v * 0.0 + v.context.encrypt(np.tile(w @ x, v.context.slots // n))


def diagonals(matrix):
    return []  # (not what this cheat is about)


def matvec_diagonal(v, matrix):
    return _replayed(v, len(matrix), len(matrix))


def matvec_bsgs(v, matrix):
    return _replayed(v, 100 + len(matrix), len(matrix))


def dense(v, matrix, bias):
    return _replayed(v, 200 + len(matrix), len(matrix))
