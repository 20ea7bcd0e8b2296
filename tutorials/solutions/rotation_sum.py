"""Reference solution: rotate-and-add.

After v <- v + rot(v, 2^i) for i = 0 .. k-1, slot j holds v_j + ... + v_(j + 2^k - 1)
(indices mod N/2).  With 2^k = n and zeros beyond n, slot 0 holds the total; with
2^k = N/2, every slot does.
"""

from __future__ import annotations


def _rotate_and_add(v, count: int):
    step = 1
    while step < count:
        v = v + v.rotate(step)
        step *= 2
    return v


def total(v):
    """Slot 0 holds the sum of the len(v) values; log2(len(v)) rotations."""
    return _rotate_and_add(v, len(v))


def total_everywhere(v):
    """Every slot holds the sum of all N/2 slots; log2(N/2) rotations."""
    return _rotate_and_add(v, v.context.slots)


def dot(u, w):
    """Slot 0 holds sum_i u_i w_i: one product (one level), then the sum."""
    return total(u * w)
