"""Reference solution: EvalMod, the scaled cosine and the double-angle steps.

After CoeffsToSlots a slot holds y = I + m/q_0 with I an integer, |I| < K, and |m/q_0| small;
y mod 1 = m/q_0 ~ sin(2 pi y) / (2 pi).  The sine of y in [-K, K] needs a high degree, so:

1. ``cosine_coefficients``: Chebyshev interpolation of the scaled cosine
   c_0(y) = cos(2 pi (y - 1/4) / 2^r) in x = y / K (the series lives on [-1, 1]); the argument
   spans only 2 pi K / 2^r, so a low degree suffices.
2. ``chebyshev_series``: the series on the ciphertext in the Chebyshev basis (the power basis
   has coefficients up to 2^(d-1): their rounding errors would swamp the result).  T_1 = x,
   T_2j = 2 T_j^2 - 1, and for j < i < 2j (j a power of two) T_i = 2 T_j T_(i-j) - T_(2j-i):
   T_i at depth ceil(log2 i); then one level for the products by the coefficients.  Scales: the
   deeper operand of a product is first brought to the other's level by ``u * 1.0`` (the canonical
   scale), so that all terms at one level share one scale and can be added.
3. ``double_angles``: r steps c -> 2 c^2 - 1 (one level each; 2 c is an exact integer product)
   give c_r = cos(2 pi (y - 1/4)) = sin(2 pi y).  An error e in c_0 becomes up to 4 e per step
   (the derivative of 2c^2 - 1 is 4c): the series needs 4^r times the final precision.
4. One level for the factor 1 / (2 pi).

Levels: ceil(log2 d) + 1 + r + 1 (= ceil(log2(d + 1)) + r + 2 for d = 2^m - 1).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev


def scaled_cosine(y, k_range: int, double_angles: int):
    """c_0(y) = cos(2 pi (y - 1/4) / 2^r) on a numpy array y."""
    y = np.asarray(y, dtype=float)
    return np.cos(2 * np.pi * (y - 0.25) / 2**double_angles)


def cosine_coefficients(k_range: int, degree: int, double_angles: int) -> list[float]:
    """a_0 .. a_d with sum_i a_i T_i(x) ~ c_0(K x) on x in [-1, 1] (Chebyshev interpolation)."""
    series = chebyshev.chebinterpolate(lambda x: scaled_cosine(k_range * x, k_range, double_angles), degree)
    return [float(a) for a in series]


def double_angles(c, steps: int):
    """steps times c -> 2 c^2 - 1 (numpy arrays or ciphertexts: one level per step)."""
    for _ in range(steps):
        c = 2 * c * c - 1
    return c


def error_growth(steps: int) -> float:
    """The first-order worst-case factor by which r double angles multiply an error of c_0: 4^r."""
    return 4.0**steps


def eval_mod_plain(y, k_range: int, degree: int, steps: int):
    """The whole chain in floating point: ~ sin(2 pi y) / (2 pi) for y in [-K, K]."""
    x = np.asarray(y, dtype=float) / k_range
    c = chebyshev.chebval(x, cosine_coefficients(k_range, degree, steps))
    return double_angles(c, steps) / (2 * np.pi)


def _down_to(u, level: int):
    """u moved down to ``level`` at the canonical scale (u * 1.0: one level each)."""
    while u.level > level:
        u = u * 1.0
    return u


def _times(u, w):
    """u * w with both operands first brought to the same level, so that equal levels mean equal scales."""
    level = min(u.level, w.level)
    return _down_to(u, level) * _down_to(w, level)


def chebyshev_series(v, coefficients):
    """sum_i a_i T_i(v) on a ciphertext in ceil(log2 d) + 1 levels."""
    a = [float(c) for c in coefficients]
    degree = len(a) - 1
    t = {1: v}
    for i in range(2, degree + 1):
        j = 1 << (i.bit_length() - 1)  # the largest power of two <= i
        if i == j:
            t[i] = 2 * (t[j // 2] * t[j // 2]) - 1  # T_2h = 2 T_h^2 - 1
        else:
            t[i] = 2 * _times(t[j], t[i - j]) - t[2 * j - i]  # T_(j+k) = 2 T_j T_k - T_(j-k)
    result = None
    for i in range(1, degree + 1):
        if a[i] == 0.0:
            continue
        term = t[i] * a[i]
        result = term if result is None else result + term
    return result + a[0]


def eval_mod(v, k_range: int, degree: int, steps: int):
    """~ sin(2 pi y) / (2 pi) for the encrypted x = y / K; ceil(log2(degree + 1)) + steps + 2 levels."""
    c = chebyshev_series(v, cosine_coefficients(k_range, degree, steps))
    return double_angles(c, steps) * (1 / (2 * math.pi))
