"""Shortcut: right values, but the factor is applied after the transpose and BSGS is the diagonal method.

Blocked: the levels and the rotations are checked, not only the values.
must fail: test_transpose_scaled, test_transpose_bsgs[8], test_transpose_bsgs[16]
"""

import numpy as np


def transpose_masks(d, slots):
    masks = {}
    for i in range(d):
        for j in range(d):
            masks.setdefault((d - 1) * (j - i), np.zeros(slots))[d * i + j] = 1.0
    return masks


def transpose_diagonal(v, d):
    out = None
    for step, mask in transpose_masks(d, v.context.slots).items():
        term = (v if step == 0 else v.rotate(step)) * mask
        out = term if out is None else out + term
    return out


def transpose_scaled(v, d, factor):
    return transpose_diagonal(v, d) * factor  # a second level


transpose_bsgs = transpose_diagonal  # 2d - 2 rotations
