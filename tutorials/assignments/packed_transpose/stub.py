"""Assignment: the packed transpose of a d x d matrix, with rotations and plaintext masks.

Fill in the functions (see README.md). ``v`` encrypts a d x d matrix A row-major in slots
0 .. d^2 - 1 (slot d i + j holds A[i, j]) and zeros elsewhere; the result must hold A^T the
same way.
"""

from __future__ import annotations

import numpy as np  # noqa: F401


def transpose_masks(d: int, slots: int) -> dict:
    """{rotation step r: mask (slots values)} such that A^T = sum_r mask_r * rot(A, r)."""
    raise NotImplementedError("transpose_masks: write me")


def transpose_diagonal(v, d: int):
    """A^T with at most 2d - 1 rotations and one level."""
    raise NotImplementedError("transpose_diagonal: write me")


def transpose_scaled(v, d: int, factor: float):
    """factor * A^T (e.g. a learning rate times a gradient's transpose), still one level."""
    raise NotImplementedError("transpose_scaled: write me")


def transpose_bsgs(v, d: int):
    """Bonus: A^T by baby-step giant-step, at most 2 * ceil(sqrt(2d)) rotations and one level."""
    raise NotImplementedError("transpose_bsgs: write me")
