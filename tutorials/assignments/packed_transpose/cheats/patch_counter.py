"""Cheat: hide the rotations by replacing CKKSVector.rotate with a wrapper before the grader counts.

Blocked: the library is not in the student's process (``ckks`` there is a stand-in holding only
the error classes): the vectors are proxies, and rotations run, and are counted, in the grader.
must fail: all
"""

import numpy as np

import ckks

_rotate = ckks.CKKSVector.rotate
ckks.CKKSVector.rotate = lambda self, steps: _rotate(self, steps)


def transpose_masks(d, slots):
    masks = {}
    for i in range(d):
        for j in range(d):
            masks.setdefault((d - 1) * (j - i), np.zeros(slots))[d * i + j] = 1.0
    return masks


def transpose_diagonal(v, d):
    out = None
    for step, mask in transpose_masks(d, v.context.slots).items():
        term = v.rotate(step) * mask
        out = term if out is None else out + term
    return out


transpose_bsgs = transpose_diagonal


def transpose_scaled(v, d, factor):
    return transpose_diagonal(v, d) * factor
