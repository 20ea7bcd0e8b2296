"""Cheat: replace CKKSVector.rotate with an uncounted copy before the grader measures anything.

Blocked: the library is not in the student's process (``ckks`` there is a stand-in holding only
the error classes): the vectors are proxies, and rotations run, and are counted, in the grader.
must fail: all
"""

import ckks

_plain_rotate = ckks.CKKSVector.rotate
ckks.CKKSVector.rotate = lambda self, steps: _plain_rotate(self, steps)


def total(v):
    out = v
    for k in range(1, len(v)):
        out = out + v.rotate(k)
    return out


def total_everywhere(v):
    return total(v)


def dot(u, w):
    return total(u * w)
