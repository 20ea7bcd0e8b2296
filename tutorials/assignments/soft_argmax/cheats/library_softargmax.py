"""Cheat: the library's encrypted soft-argmax (nn.encrypted.softargmax).

Blocked: nn is forbidden in this assignment.
must fail: all
"""

from nn.encrypted import softargmax  # noqa: F401


def soft_argmax(logits, low, high, depth):
    return logits
