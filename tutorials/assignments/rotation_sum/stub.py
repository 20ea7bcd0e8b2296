"""Assignment: rotate-and-add sums and dot products on CKKSVectors."""

from __future__ import annotations


def total(v):
    """Slot 0 holds the sum of the len(v) values (len(v) a power of two); <= log2(len(v)) rotations."""
    raise NotImplementedError("total: your code here")


def total_everywhere(v):
    """Every slot holds the sum of all N/2 slots; <= log2(N/2) rotations."""
    raise NotImplementedError("total_everywhere: your code here")


def dot(u, w):
    """Slot 0 holds sum_i u_i w_i; one level, <= log2(len(u)) rotations."""
    raise NotImplementedError("dot: your code here")
