"""Cheat: the library's linear-transform circuit.

Blocked: ckks.circuits is forbidden in this assignment.
must fail: all
"""

from ckks.circuits import linear_transform  # noqa: F401


def matvec_bsgs(v, matrix):
    return v
