"""EvalMod: remove q_0 I from t = m + q_0 I, slot by slot, with a scaled cosine and double angles.

After CoeffsToSlots every slot holds y = t_i / q_0 = I_i + m_i / q_0, with
I_i an integer in [-K, K] and |m_i / q_0| << 1.  Reduction modulo 1 is not
a polynomial, but near the integers it is the sine (Cheon, Han, Kim, Kim and
Song, Eurocrypt 2018):

    y mod 1 = m_i / q_0 ~ sin(2 pi y) / (2 pi),

with a relative error of (2 pi m_i / q_0)^2 / 6: the larger the message ratio
q_0 / Delta, the more precise, and the smaller the admissible values.

The sine of a wide argument needs a high degree, so (Han and Ki, CT-RSA
2020; Bossuat, Mouchet, Troncoso-Pastoriza and Hubaux, Eurocrypt 2021) we
approximate the *scaled cosine*

    c_0(y) = cos(2 pi (y - 1/4) / 2^r)       on y in [-K, K],

by a Chebyshev interpolant of degree d in x = y / K (the input is read at
scale s K, which divides it by K for free), then apply r double-angle steps
c_(j+1) = 2 c_j^2 - 1, which give c_r = cos(2 pi (y - 1/4)) = sin(2 pi y).
The final constant q_0 / (2 pi Delta) is folded into the scale (a ciphertext
of v at scale s is a ciphertext of a v at scale s / a).

Levels: ceil(log2(d + 1)) for the Chebyshev series (depth-optimal,
`ckks.circuits.polynomial.chebval`) plus r for the double angles (plus the arcsine's).
Scales: the series returns the input scale s_x; each double angle squares
and rescales (s -> s^2 / q_l), the factor 2 is an exact integer
multiplication and the 1 a plaintext subtraction at the current scale.
**Arcsine correction** (Cheon, Han, Kim, Kim and Song's sine error removed as in Lee, Lee, Kim and No,
"High-precision bootstrapping of RNS-CKKS", and Bossuat et al.'s ``ArcSineDeg`` in Lattigo): with
``arcsine_degree`` = a > 0 the chain ends with the Taylor polynomial of arcsin of degree a,
u + u^3/6 + 3 u^5/40 + ..., on u = sin(2 pi y): arcsin(sin(2 pi y)) = 2 pi (y mod 1) for
|y mod 1| < 1/4.  The sine's relative error (2 pi m / q_0)^2 / 6 drops to the first omitted
term's, e.g. (3/40)(2 pi m / q_0)^4 for a = 3, so a much smaller message ratio q_0 / Delta
keeps the same precision, and every error EvalMod makes in y (noise of the DFT and of the
polynomial, multiplied by q_0 / Delta on the values) shrinks with the ratio.  It costs
ceil(log2(a + 1)) levels (2 for a = 3).

`approximation_error` measures the error of the whole chain in
floating point, so a configuration can be checked before anything is
encrypted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from ckks.circuits.polynomial import chebval, levels_for_degree
from ckks.errors import InputError
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator

__all__ = ["EvalModConfig", "eval_mod", "eval_mod_plain", "approximation_error"]


@dataclass(frozen=True)
class EvalModConfig:
    """The EvalMod polynomial: range K, Chebyshev degree d, double-angle count r, arcsine degree a.

    Attributes:
        k_range: K, the bound on |y| = |t / q_0| (from the secret's Hamming weight).
        degree: d, the degree of the Chebyshev interpolant of the scaled cosine.
        double_angles: r.
        arcsine_degree: a, 0 (no correction: the sine itself) or an odd degree 3 .. 15 of the arcsine's
            Taylor polynomial applied last (see the module docstring).
    """

    k_range: int
    degree: int
    double_angles: int
    arcsine_degree: int = 0

    def __post_init__(self):
        """Validate the fields.

        Raises:
            InputError: a field is not a positive integer (``double_angles`` may be 0), or ``arcsine_degree``
                is neither 0 nor odd in 3 .. 15.
        """
        for name in ("k_range", "degree", "double_angles"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "double_angles" else 1):
                raise InputError(f"EvalModConfig.{name} must be a positive integer, got {value!r}")
        a = self.arcsine_degree
        if isinstance(a, bool) or not isinstance(a, int) or not (a == 0 or (a % 2 == 1 and 3 <= a <= 15)):
            raise InputError(f"EvalModConfig.arcsine_degree must be 0 or an odd integer in 3 .. 15, got {a!r}")

    @property
    def levels(self) -> int:
        """Levels EvalMod consumes: ceil(log2(d + 1)) + r (+ ceil(log2(a + 1)) for the arcsine)."""
        arcsine = levels_for_degree(self.arcsine_degree) if self.arcsine_degree else 0
        return levels_for_degree(self.degree) + self.double_angles + arcsine

    def arcsine_coefficients(self) -> np.ndarray:
        """Chebyshev coefficients on [-1, 1] of the arcsine's Taylor polynomial of degree a (empty for a = 0)."""
        if not self.arcsine_degree:
            return np.zeros(0)
        power = np.zeros(self.arcsine_degree + 1)
        for k in range((self.arcsine_degree + 1) // 2):  # arcsin u = sum (2k)! / (4^k k!^2 (2k + 1)) u^(2k+1)
            power[2 * k + 1] = math.comb(2 * k, k) / (4**k * (2 * k + 1))
        return npcheb.poly2cheb(power)

    def coefficients(self) -> np.ndarray:
        """Chebyshev coefficients of c_0(K x) = cos(2 pi (K x - 1/4) / 2^r) on x in [-1, 1]."""
        k, r = self.k_range, self.double_angles
        return npcheb.chebinterpolate(lambda x: np.cos(2 * np.pi * (k * x - 0.25) / 2**r), self.degree)


def eval_mod_plain(y: np.ndarray, config: EvalModConfig) -> np.ndarray:
    """The EvalMod chain in floating point: approximately sin(2 pi y) (no 1/2pi factor), or 2 pi (y mod 1) with
    the arcsine correction.

    Args:
        y: real values in [-K, K].
        config: the polynomial.

    Returns:
        c_r(y), the double-angle iterate of the Chebyshev interpolant.
    """
    v = npcheb.chebval(np.asarray(y, dtype=np.float64) / config.k_range, config.coefficients())
    for _ in range(config.double_angles):
        v = 2 * v * v - 1
    if config.arcsine_degree:
        v = npcheb.chebval(v, config.arcsine_coefficients())
    return v


def approximation_error(config: EvalModConfig, message_ratio: float, points: int = 257) -> float:
    """max |eval_mod_plain(y) / 2pi - (y mod 1)| over y = I + f, |I| < K, |f| <= 1 / message_ratio.

    This is the error on m / q_0, both the polynomial's and the sine's; multiplied
    by the message ratio q_0 / Delta it is the error on the values.

    Args:
        config: the polynomial.
        message_ratio: q_0 / (Delta * max |value|).
        points: samples per integer.

    Returns:
        The maximum absolute error (in units of q_0).
    """
    frac = np.linspace(-1.0, 1.0, points) / message_ratio
    integers = np.arange(-config.k_range + 1, config.k_range)
    y = (integers[:, None] + frac[None, :]).ravel()
    fractional = np.tile(frac, len(integers))
    return float(np.max(np.abs(eval_mod_plain(y, config) / (2 * np.pi) - fractional)))


def eval_mod(
    ct: Ciphertext, config: EvalModConfig, factor: float, evaluator: Evaluator, encoder: Encoder
) -> Ciphertext:
    """factor * sin(2 pi y) / (2 pi) slot-wise, for ``ct`` holding x = y / K.

    Args:
        ct: x = y / K in [-1, 1] (real slots) at level l, scale s_x.
        config: the polynomial.
        factor: the constant folded into the output scale (q_0 / Delta for bootstrapping).
        evaluator: the scheme evaluator (with the relinearization key).
        encoder: the encoder.

    Returns:
        The result at level l - config.levels, scale s_c / (factor / 2 pi), where s_c is the
        scale after the last double angle.

    Raises:
        LevelError: fewer than ``config.levels`` levels are left.
    """
    c = chebval(ct, config.coefficients(), (-1.0, 1.0), evaluator, encoder)
    for _ in range(config.double_angles):
        square = evaluator.rescale(evaluator.relinearize(evaluator.multiply(c, c)))
        doubled = evaluator.multiply_integer(square, 2)
        c = evaluator.sub_plain(doubled, encoder.encode_constant(1.0, doubled.scale, doubled.level))
    if config.arcsine_degree:
        c = chebval(c, config.arcsine_coefficients(), (-1.0, 1.0), evaluator, encoder)
    constant = factor / (2 * math.pi)
    return Ciphertext(c.params, c.data, c.scale / constant, c.key_id)
