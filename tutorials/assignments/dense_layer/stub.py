"""Assignment: an encrypted dense layer, by the diagonal method and by baby-step giant-step.

Fill in the four functions (see README.md). The input vector ``v`` encrypts x (n values)
repeated over all N/2 slots; the result must hold W x in its first n slots.
"""

from __future__ import annotations

import numpy as np


def diagonals(matrix) -> list[np.ndarray]:
    """The n generalized diagonals d_i[j] = W[j, (j + i) mod n] of a square n x n matrix."""
    raise NotImplementedError("diagonals: write me")


def matvec_diagonal(v, matrix):
    """W x by the diagonal method: at most n - 1 rotations and one level."""
    raise NotImplementedError("matvec_diagonal: write me")


def matvec_bsgs(v, matrix):
    """W x by baby-step giant-step: at most 2 * ceil(sqrt(n)) rotations and one level."""
    raise NotImplementedError("matvec_bsgs: write me")


def dense(v, matrix, bias):
    """W x + b, the dense layer (use your BSGS product): one level."""
    raise NotImplementedError("dense: write me")
