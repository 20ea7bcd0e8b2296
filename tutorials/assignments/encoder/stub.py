"""Assignment: the CKKS encoder (canonical embedding). Fill in encode and decode."""

from __future__ import annotations

import numpy as np


def encode(values, n: int, scale: float) -> np.ndarray:
    """The N integer coefficients round(scale * sigma^-1(z, conj(z))) as an int64 array.

    values: up to n/2 complex numbers (pad with zeros); slot j sits at zeta^(5^j mod 2n), zeta = exp(i pi / n).
    """
    raise NotImplementedError("encode: your code here")


def decode(coefficients, n: int, scale: float) -> np.ndarray:
    """The n/2 complex slots m(zeta^(5^j mod 2n)) / scale of the polynomial with these coefficients."""
    raise NotImplementedError("decode: your code here")
