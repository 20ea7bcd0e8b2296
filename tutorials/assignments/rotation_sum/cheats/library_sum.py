"""Cheat: call the library's own sum and dot.

Blocked: CKKSVector.sum and CKKSVector.dot are switched off in the sandbox.
must fail: test_total[2], test_total[16], test_total[256], test_dot[4], test_dot[64]
"""


def total(v):
    return v.sum()


def total_everywhere(v):
    return v.sum()


def dot(u, w):
    return u.dot(w)
