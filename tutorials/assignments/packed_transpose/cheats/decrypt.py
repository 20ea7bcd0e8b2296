"""Cheat: decrypt, transpose in the clear, encrypt the answer (one level down, no rotations).

Blocked: the submission's context has no secret key.
must fail: test_transpose_diagonal[4], test_transpose_diagonal[16], test_transpose_scaled, test_transpose_bsgs[16]
"""

import numpy as np


def _clear(v, d, factor=1.0):
    slots = v.context.slots
    a = np.real(v.decrypt())[: d * d].reshape(d, d)
    out = np.zeros(slots)
    out[: d * d] = factor * a.T.ravel()
    return v.context.encrypt(out) * 1.0


def transpose_diagonal(v, d):
    return _clear(v, d)


def transpose_scaled(v, d, factor):
    return _clear(v, d, factor)


def transpose_bsgs(v, d):
    return _clear(v, d)
