"""Cheat: the transpose sources of the library's training packing (nn.encrypted.training_packing).

Blocked: nn is forbidden in this assignment.
must fail: all
"""

from nn.encrypted.training_packing import transpose_sources  # noqa: F401


def transpose_diagonal(v, d):
    return v
