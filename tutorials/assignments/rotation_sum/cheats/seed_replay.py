"""Cheat: regenerate the grader's inputs from its fixed seeds, encrypt the answer, tie it to the input.

The old autograders drew inputs from np.random.default_rng(n): the answer could be computed
without touching the ciphertext.  Blocked: inputs come from the OS on every run, so the replayed
answer is wrong in every test (``v * 0`` keeps the level, but every test now checks the value).
must fail: all
"""

import numpy as np


def total(v):
    n = len(v)
    x = np.random.default_rng(n).uniform(-1, 1, n)
    return v * 0 + v.context.encrypt([x.sum()])


def total_everywhere(v):
    x = np.random.default_rng(7).uniform(-1, 1, v.context.slots)
    return v * 0 + v.context.encrypt([x.sum()] * v.context.slots)


def dot(u, w):
    n = len(u)
    rng = np.random.default_rng(10 + n)
    x, y = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    return u * w * 0 + u.context.encrypt([x @ y])
