"""Assignment: EvalMod, the scaled cosine and the double-angle steps.

Fill in the functions (see README.md). ``v`` encrypts x = y / K in [-1, 1], one per slot, with
y = I + m/q_0 (I an integer, |I| < K, |m/q_0| small); the result must hold sin(2 pi y) / (2 pi) in
the same slots, using at most ceil(log2(degree + 1)) + double_angles + 2 levels.
"""

from __future__ import annotations

import numpy as np  # noqa: F401


def scaled_cosine(y, k_range: int, double_angles: int):
    """c_0(y) = cos(2 pi (y - 1/4) / 2^r) on a numpy array y (r = double_angles)."""
    raise NotImplementedError("scaled_cosine: write me")


def cosine_coefficients(k_range: int, degree: int, double_angles: int) -> list[float]:
    """Chebyshev coefficients a_0 .. a_degree with sum_i a_i T_i(x) ~ c_0(K x) on x in [-1, 1]."""
    raise NotImplementedError("cosine_coefficients: write me")


def double_angles(c, steps: int):
    """Apply c -> 2 c^2 - 1 ``steps`` times (to a numpy array; the same code can serve ciphertexts)."""
    raise NotImplementedError("double_angles: write me")


def error_growth(steps: int) -> float:
    """The worst-case factor (to first order) by which ``steps`` double angles multiply an error of c_0."""
    raise NotImplementedError("error_growth: write me")


def eval_mod_plain(y, k_range: int, degree: int, steps: int):
    """The whole chain in floating point: series at x = y / K, ``steps`` double angles, / (2 pi)."""
    raise NotImplementedError("eval_mod_plain: write me")


def chebyshev_series(v, coefficients):
    """sum_i a_i T_i(v) on a ciphertext in ceil(log2(degree + 1)) + 1 levels (not graded on its own)."""
    raise NotImplementedError("chebyshev_series: write me")


def eval_mod(v, k_range: int, degree: int, steps: int):
    """~ sin(2 pi y) / (2 pi) for the encrypted x = y / K, in ceil(log2(degree + 1)) + steps + 2 levels."""
    raise NotImplementedError("eval_mod: write me")
