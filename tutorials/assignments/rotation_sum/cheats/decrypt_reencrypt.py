"""Cheat: decrypt, sum in the clear, encrypt the answer (no rotations at all).

Blocked: the submission's context has no secret key, so decrypt() raises.
must fail: test_total[16], test_total[256], test_total_everywhere, test_dot[4], test_dot[64]
"""


def total(v):
    return v.context.encrypt([float(sum(v.decrypt()))])


def total_everywhere(v):
    return v.context.encrypt([float(sum(v.decrypt()))] * v.context.slots)


def dot(u, w):
    return total(u * w)
