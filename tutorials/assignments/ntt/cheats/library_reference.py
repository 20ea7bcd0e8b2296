"""Cheat: the library's own O(N^2) reference definitions (3.3 s at N = 4096, under the old 5 s limit).

Blocked: importing ckks is refused in this assignment.
must fail: all
"""

from ckks.ring.reference import intt, negacyclic_product, ntt  # noqa: F401


def multiply(a, b, q, psi):
    return negacyclic_product(a, b, q)
