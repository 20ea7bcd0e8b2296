"""Assignment: evaluate a polynomial on a CKKSVector with the fewest levels."""

from __future__ import annotations


def evaluate(v, coefficients):
    """sum_i coefficients[i] * v**i with ceil(log2(degree + 1)) levels (degree <= 7)."""
    raise NotImplementedError("evaluate: your code here")
