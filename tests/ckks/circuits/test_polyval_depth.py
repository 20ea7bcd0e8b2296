"""polyval's depth, degree by degree, against TenSEAL's on the same coefficients (issue 27, item 6).

TenSEAL evaluates each term c_i x^i from the squares x^(2^j) and multiplies c_i in with a
plaintext multiplication (a level) unless c_i = 1; `CKKSVector.polyval` here multiplies an
integer leading coefficient of a power-of-two degree for free.  Both are measured, not
predicted: TenSEAL's levels are the primes its result lost (``coeff_modulus_size``), ours the
drop of ``level``.  The formula of `ckks.circuits.polynomial` is checked against the measurement.
"""

from __future__ import annotations

import numpy as np
import pytest
import tenseal as ts

from ckks.circuits.polynomial import free_leading_coefficient, levels_for_degree, plan_polynomial
from ckks.errors import InputError

DEGREES = range(1, 17)
KINDS = ("real", "integer", "monic")


def _coefficients(degree: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "real":
        c = rng.uniform(-1, 1, degree + 1)
        c[-1] = 0.5 + abs(c[-1])  # not an integer
        return c
    c = rng.integers(-3, 4, degree + 1).astype(np.float64)
    c[-1] = 1.0 if kind == "monic" else float(rng.choice([-3, -2, 2, 3]))
    return c


def _formula(degree: int, lead: float) -> int:
    """floor(log2 d) + 1, one less when d is a power of two and c_d an integer (module docstring)."""
    free = degree & (degree - 1) == 0 and float(lead).is_integer()
    return degree.bit_length() - 1 + (0 if free else 1)


def _tenseal_formula(coefficients: np.ndarray) -> int:
    """TenSEAL's depth read off its polyval: max over c_i != 0 of floor(log2 i) + [i not 2^j or c_i != 1]."""
    return max(
        (i.bit_length() - 1 + (0 if (i & (i - 1) == 0 and c == 1.0) else 1) for i, c in enumerate(coefficients)
         if i >= 1 and c != 0),
        default=0,
    )


@pytest.fixture(scope="module")
def contexts(toy):
    """Ours (N = 32, five 40-bit levels) and TenSEAL's (N = 8192, five 26-bit levels: only levels are read)."""
    ours = toy(32, (60, 40, 40, 40, 40, 40, 60), 40)
    theirs = ts.context(ts.SCHEME_TYPE.CKKS, 8192, coeff_mod_bit_sizes=[40, 26, 26, 26, 26, 26, 40])
    theirs.global_scale = 2**26
    return ours, theirs


def test_depth_is_tenseals_or_better_for_every_degree_up_to_16(contexts):
    ours, theirs = contexts
    rng = np.random.default_rng(27)
    x = np.linspace(-1, 1, 16)
    table = []
    for degree in DEGREES:
        for kind in KINDS:
            c = _coefficients(degree, kind, rng)
            v = ours.encrypt(x)
            result = v.polyval(c)
            our_levels = v.level - result.level
            assert np.max(np.abs(result.decrypt() - np.polynomial.polynomial.polyval(x, c))) < 1e-6
            t = ts.ckks_vector(theirs, x.tolist())
            their_levels = (
                t.ciphertext()[0].coeff_modulus_size() - t.polyval(c.tolist()).ciphertext()[0].coeff_modulus_size()
            )
            table.append((degree, kind, our_levels, their_levels))
            assert our_levels == _formula(degree, c[-1]) == plan_polynomial(c, keep_scale=False).depth
            assert their_levels == _tenseal_formula(c), "TenSEAL's depth is not what its source says"
            assert our_levels <= their_levels, f"degree {degree} ({kind}): {our_levels} levels, TenSEAL {their_levels}"
    # the gain is real: integer leading coefficients of degree 2^K (K >= 1), other than 1, save a level over TenSEAL
    gains = {(d, k) for d, k, o, t in table if o < t}
    assert gains == {(d, "integer") for d in (1, 2, 4, 8, 16)}


def test_a_free_leading_term_reads_the_result_at_the_scale_of_the_power(toy):
    ctx = toy(32, (60, 40, 40, 40, 60), 40)
    x = np.linspace(-1, 1, 16)
    v = ctx.encrypt(x)
    fourth = v.pow(4)
    p = v.polyval([1.0, -2.0, 0.5, 3.0, -1.0])
    assert p.level == fourth.level == v.level - 2
    assert p.scale == fourth.scale
    assert np.allclose((p - fourth).decrypt(), 1 - 2 * x + 0.5 * x**2 + 3 * x**3 - 2 * x**4, atol=1e-6)
    real = v.polyval([1.0, -2.0, 0.5, 3.0, -1.5])  # not an integer: the input's scale, one level more
    assert real.level == v.level - 3 and real.scale == v.scale


def test_the_circuit_keeps_the_scale_by_default():
    assert plan_polynomial([0, 0, 0, 0, 1.0]).depth == levels_for_degree(4) == 3
    assert plan_polynomial([0, 0, 0, 0, 1.0], keep_scale=False).free_leading
    assert free_leading_coefficient([1.0, 2.0, 3.0]) == 3
    assert free_leading_coefficient([1.0, 2.0, 3.5]) is None
    assert free_leading_coefficient([1.0, 2.0, 3.0, 1.0]) is None  # degree 3: not a power of two
    assert free_leading_coefficient([1.0, 2.0, 3.0 + 1j]) is None
    with pytest.raises(InputError, match="power basis only"):
        plan_polynomial([0, 1.0], "chebyshev", keep_scale=False)
