"""Parameters: validation, digits, and the HomomorphicEncryption.org security check."""

from __future__ import annotations

import pytest

from ckks import Parameters
from ckks.errors import InputTypeError, InsecureWarning, ParameterError, PrecisionWarning, SecurityError
from ckks.scheme.parameters import MAX_MODULUS_BITS


def test_data_and_special_primes():
    p = Parameters(8192, [60, 40, 40, 60], 40)
    assert len(p.data_moduli) == 3 and len(p.special_moduli) == 1
    assert p.max_level == 2 and p.slots == 4096 and p.scale == 2.0**40
    assert p.total_bits == 200
    assert p.digits == [[0], [1], [2]]


def test_dnum_groups_digits():
    with pytest.warns(PrecisionWarning, match="80 bits but the special modulus P only 60"):
        p = Parameters(8192, [50, 30, 30, 30, 60], 30, dnum=2)
    assert p.digits == [[0, 1], [2, 3]]
    with pytest.raises(ParameterError, match="dnum"):
        Parameters(8192, [60, 40, 40, 60], 40, dnum=4)


@pytest.mark.parametrize("n, bits", [(8192, 218), (16384, 438), (32768, 881)])
def test_security_bound_128(n, bits):
    assert MAX_MODULUS_BITS[128][n] == bits
    with pytest.raises(SecurityError, match=f"exceeds the 128-bit security bound of {bits} bits"):
        Parameters(n, [60] * (bits // 60 + 1), 40)


def test_chain_at_the_bound_is_accepted():
    with pytest.warns(PrecisionWarning):  # P = 39 bits < q0: accepted, but flagged
        assert Parameters(8192, [59, 40, 40, 40, 39], 40).total_bits == 218


def test_higher_security_levels():
    with pytest.warns(PrecisionWarning):
        assert Parameters(8192, [60, 40, 50], 40, security=192).total_bits == 150  # <= 152
    with pytest.raises(SecurityError, match="192-bit"):
        Parameters(8192, [60, 40, 40, 60], 40, security=192)
    with pytest.raises(SecurityError, match="no 256-bit parameters for poly_degree=65536"):
        Parameters(65536, [60, 40, 60], 40, security=256)
    with pytest.raises(ParameterError, match="security must be 128, 192, 256 or None"):
        Parameters(8192, [60, 40, 60], 40, security=100)


def test_toy_parameters_need_security_none_and_warn():
    with pytest.raises(SecurityError, match="security=None"):
        Parameters(16, [30, 20, 30], 20)
    with pytest.warns(InsecureWarning, match="INSECURE"):
        Parameters(16, [30, 20, 30], 20, security=None)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(poly_degree=1000, moduli_bits=[60, 60]), ParameterError, "power of two"),
        (dict(poly_degree="8192", moduli_bits=[60, 60]), InputTypeError, "poly_degree"),
        (dict(poly_degree=8192, moduli_bits=[60]), ParameterError, "at least one data prime"),
        (dict(poly_degree=8192, moduli_bits=[60, 70]), ParameterError, "between 2 and 61"),
        (dict(poly_degree=8192, moduli_bits="60,40"), InputTypeError, "moduli_bits"),
        (dict(poly_degree=8192, moduli_bits=[60, 40.5, 60]), InputTypeError, "integers"),
        (dict(poly_degree=8192, moduli_bits=[40, 40, 60], scale_bits=40), ParameterError, "scale_bits"),
        (dict(poly_degree=8192, moduli_bits=[60, 40, 60], hamming_weight=0), ParameterError, "hamming_weight"),
    ],
)
def test_invalid_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        Parameters(**kwargs)


def test_fingerprint_identifies_parameters():
    a = Parameters(8192, [60, 40, 40, 60], 40)
    b = Parameters(8192, [60, 40, 40, 60], 30)
    c = Parameters(8192, [60, 40, 60], 40)
    assert a.fingerprint() == b.fingerprint() and a == b  # the scale is per ciphertext
    assert a.fingerprint() != c.fingerprint() and a != c
