"""Assignment: the encrypted soft-argmax (softmax) under a level budget.

Fill in the functions (see README.md). Batch layout: each ciphertext holds one value per
sample (slot); ``logits[i]`` holds the logit of class i of every sample.
"""

from __future__ import annotations

import numpy as np  # noqa: F401


def denominator_range(low: float, high: float, classes: int) -> tuple[float, float]:
    """(smallest, largest) value of S = sum_i exp(z_i - high) for ``classes`` logits z_i in [low, high]."""
    raise NotImplementedError("denominator_range: write me")


def exp_shifted(v, low: float, high: float, depth: int):
    """exp(x - high) for the encrypted x in [low, high], at most ``depth`` levels."""
    raise NotImplementedError("exp_shifted: write me")


def inverse(v, low: float, high: float, depth: int):
    """1/x for the encrypted x in [low, high] (0 < low), Newton or Goldschmidt, at most ``depth`` levels."""
    raise NotImplementedError("inverse: write me")


def soft_argmax(logits: list, low: float, high: float, depth: int) -> list:
    """softmax(z)_i for every class i (a list of vectors), logits in [low, high], at most ``depth`` levels."""
    raise NotImplementedError("soft_argmax: write me")
