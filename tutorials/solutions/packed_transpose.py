"""Reference solution: the packed transpose of a d x d matrix with rotations and masks.

Layout: A is stored row-major in slots 0 .. d^2 - 1 (slot d i + j holds A[i, j]), zeros in the
other slots.  Output slot d i + j must receive A[j, i], which sits in input slot d j + i: the
offset is (d j + i) - (d i + j) = (d - 1)(j - i), one of the 2d - 1 multiples k (d - 1),
|k| < d.  So

    A^T = sum_k M_k * rot(A, k (d - 1)),    M_k = 1 on the slots d i + j with j - i = k,

2d - 2 rotations (k = 0 needs none) and one plaintext product (one level).  A factor (a
learning rate) folds into the masks for free.  Baby-step giant-step with k + (d - 1) = a g + b:

    A^T = sum_a rot( sum_b roll(M_k, s_a) * rot(A, b (d - 1)), s_a ),   k = a g + b,  s_a = a g (d - 1),

(np.roll(M, s) moves the mask right by s, so that the giant rotation brings it back): g - 1 baby
rotations and about (2d - 1) / g - 1 giant ones, about 2 sqrt(2d) - 2 instead of 2d - 2.
"""

from __future__ import annotations

import math

import numpy as np


def transpose_masks(d: int, slots: int, factor: float = 1.0) -> dict[int, np.ndarray]:
    """{rotation step r: mask} with A^T = sum_r mask_r * rot(A, r) (slot d i + j <- slot d j + i)."""
    masks: dict[int, np.ndarray] = {}
    for i in range(d):
        for j in range(d):
            step = (d - 1) * (j - i)
            masks.setdefault(step, np.zeros(slots))[d * i + j] = factor
    return masks


def transpose_diagonal(v, d: int, factor: float = 1.0):
    """factor * A^T with at most 2d - 1 rotations and one level."""
    out = None
    for step, mask in sorted(transpose_masks(d, v.context.slots, factor).items()):
        term = (v if step == 0 else v.rotate(step)) * mask
        out = term if out is None else out + term
    return out


def transpose_scaled(v, d: int, factor: float):
    """factor * A^T (the factor folded into the masks): still one level."""
    return transpose_diagonal(v, d, factor)


def transpose_bsgs(v, d: int):
    """A^T with about 2 sqrt(2d) rotations and one level (baby-step giant-step)."""
    slots = v.context.slots
    masks = transpose_masks(d, slots)
    g = math.ceil(math.sqrt(2 * d - 1))
    baby = {b: (v if b == 0 else v.rotate(b * (d - 1))) for b in range(g)}
    out = None
    for a in range(-((d - 1 + g - 1) // g), (d - 1) // g + 1):  # k = a g + b covers -(d - 1) .. d - 1
        shift = a * g * (d - 1)  # rot(A, k (d - 1)) = rot(rot(A, b (d - 1)), shift)
        inner = None
        for b in range(g):
            k = a * g + b
            if abs(k) < d:
                term = baby[b] * np.roll(masks[k * (d - 1)], shift)
                inner = term if inner is None else inner + term
        if inner is not None:
            inner = inner if a == 0 else inner.rotate(shift)
            out = inner if out is None else out + inner
    return out
