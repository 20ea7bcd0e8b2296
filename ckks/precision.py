"""Precision and noise introspection.

The precision of an approximate result is measured in bits:
``-log2(max |got - want|)``, so 20 bits means an absolute error below 2^-20
(about 1e-6).
"""

from __future__ import annotations

import numpy as np


def precision_bits(got, want) -> float:
    """Bits of precision of ``got`` against ``want``: -log2 of the largest absolute error.

    Args:
        got: the computed values.
        want: the exact values (same shape).

    Returns:
        The bits, ``inf`` when equal (or empty).
    """
    got = np.asarray(got)
    want = np.asarray(want)
    error = float(np.max(np.abs(got - want))) if got.size else 0.0
    return float("inf") if error == 0 else -float(np.log2(error))
