"""Cheat: the library's Chebyshev fitting and evaluation circuit.

Blocked: ckks.circuits (chebyshev, polynomial) is forbidden in this assignment.
must fail: all
"""

from ckks.circuits import chebyshev  # noqa: F401


def activation(v, name, low, high, depth):
    return v
