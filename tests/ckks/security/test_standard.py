"""The HE-standard table on its own, and noise flooding on duck-typed parameters (no scheme layer)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ckks.errors import InputError, ParameterError, SecurityError
from ckks.ring import primes
from ckks.ring.level import RingAtLevel
from ckks.ring.ntt import ntt_tables
from ckks.ring.rns import ratios_of
from ckks.ring.sampling import PRNG
from ckks.security.flooding import Flooding, rounded_gaussian
from ckks.security.standard import (
    MAX_MODULUS_BITS,
    SECURITY_LEVELS,
    check_modulus_bits,
    check_security_level,
    max_modulus_bits,
)

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")


def test_table_is_the_standards():
    assert SECURITY_LEVELS == (128, 192, 256)
    assert MAX_MODULUS_BITS[128] == {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881, 65536: 1761}
    for n in MAX_MODULUS_BITS[192]:  # more security, smaller moduli
        assert MAX_MODULUS_BITS[256][n] < MAX_MODULUS_BITS[192][n] < MAX_MODULUS_BITS[128][n]


@pytest.mark.parametrize("security, n", [(s, n) for s, table in MAX_MODULUS_BITS.items() for n in table])
def test_max_modulus_bits_reads_the_table(security, n):
    assert max_modulus_bits(n, security) == MAX_MODULUS_BITS[security][n]
    check_modulus_bits(n, MAX_MODULUS_BITS[security][n], security)
    with pytest.raises(SecurityError, match=f"exceeds the {security}-bit security bound"):
        check_modulus_bits(n, MAX_MODULUS_BITS[security][n] + 1, security)


def test_max_modulus_bits_errors():
    with pytest.raises(ParameterError, match="security=None has no modulus bound"):
        max_modulus_bits(8192, None)
    with pytest.raises(SecurityError, match="no 192-bit parameters for poly_degree=65536"):
        max_modulus_bits(65536, 192)
    with pytest.raises(SecurityError, match="poly_degree=512"):
        max_modulus_bits(512)
    with pytest.raises(SecurityError, match="N >= 1024"):
        check_modulus_bits(512, 10, 128)


@pytest.mark.parametrize("level", [100, "128", True, 128.5, 128.0])
def test_check_security_level_refuses_other_levels(level):
    with pytest.raises(ParameterError, match="security must be 128, 192, 256 or None"):
        check_security_level(level)


def test_check_security_level_accepts_the_levels():
    assert check_security_level(None) is None
    assert [check_security_level(s) for s in (128, np.int64(192), 256)] == [128, 192, 256]
    assert type(check_security_level(np.int64(192))) is int


# -- flooding takes the parameters duck-typed -------------------------------------------------------
class _Params:
    """The three things flooding needs from a parameter set."""

    poly_degree = 16

    def __init__(self):
        self.data_moduli = tuple(primes.coeff_modulus(16, [60, 60]))
        self._tables = ntt_tables(16, self.data_moduli)

    def at_level(self, level):
        return RingAtLevel(self._tables, np.arange(level + 1), ratios_of(self.data_moduli))


def test_flooding_adds_the_noise_in_ntt_form():
    params = _Params()
    policy = Flooding(noise_bound=1.0, statistical_security=8)
    ring = params.at_level(1)
    data = ring.zeros()
    policy.apply(data, params, PRNG(b"x"))
    noise = rounded_gaussian(PRNG(b"x"), 16, policy.sigma(params))
    coefficients = ring.to_coefficients(data)
    for limb, q in enumerate(ring.moduli):
        assert [int(c) for c in coefficients[limb]] == [int(e) % int(q) for e in noise]
    assert np.abs(noise).max() <= 8.6 * policy.sigma(params) and noise.any()


def test_flooding_that_does_not_fit_is_refused_on_duck_typed_parameters():
    params = _Params()
    with pytest.raises(ParameterError, match="does not fit the modulus at level 0"):
        Flooding(statistical_security=100).apply(params.at_level(0).zeros(), params, PRNG(b"x"), noise=64.0)


def test_flooding_sigma_and_lost_bits_need_only_the_ring_degree():
    policy = Flooding(noise_bound=2.0, statistical_security=20, queries=3)
    assert policy.sigma(_Params()) == pytest.approx(math.sqrt(36) * 2**10 * 2.0)
    assert policy.lost_bits(_Params()) == pytest.approx(math.log2(policy.sigma(_Params()) * math.sqrt(8)))
    with pytest.raises(InputError, match="queries must be an integer in"):
        Flooding(queries=True)
