"""Prime generation: properties, and identity with SEAL's CoeffModulus::Create (via TenSEAL)."""

from __future__ import annotations

import pytest
import tenseal as ts

from ckks.errors import ParameterError
from ckks.ring import primes


def seal_primes(poly_degree: int, moduli_bits: list[int]) -> list[int]:
    """The primes SEAL chose, recovered from TenSEAL.

    TenSEAL exposes only the low 64-bit word of each chain level's modulus
    product; q_i = low(Q_i) * low(Q_{i-1})^-1 mod 2^64 recovers each prime
    (all primes are odd and below 2^64).
    """
    ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=poly_degree, coeff_mod_bit_sizes=moduli_bits)
    data = ctx.seal_context().data
    words = []
    level = data.last_context_data()
    while level is not None:
        words.append(level.total_coeff_modulus())
        level = level.prev_context_data()
    result, previous = [], 1
    for word in words:  # q_0, q_0 q_1, ..., Q*P (the key level)
        result.append(word * pow(previous, -1, 1 << 64) % (1 << 64))
        previous = word
    return result


@pytest.mark.parametrize(
    "poly_degree, moduli_bits",
    [
        (8192, [60, 40, 40, 60]),
        (8192, [40, 21, 21, 21, 21, 21, 21, 40]),
        (16384, [60, 40, 40, 40, 40, 40, 40, 40, 60]),
        (32768, [60, 50, 50, 50, 60]),
        (4096, [30, 20, 30, 20]),
    ],
)
def test_same_primes_as_seal(poly_degree, moduli_bits):
    assert primes.coeff_modulus(poly_degree, moduli_bits) == seal_primes(poly_degree, moduli_bits)


def test_primes_are_ntt_friendly_distinct_and_sized():
    chain = primes.coeff_modulus(1024, [30, 30, 30, 25])
    assert len(set(chain)) == 4
    for q, bits in zip(chain, [30, 30, 30, 25]):
        assert primes.is_prime(q)
        assert q % 2048 == 1
        assert q.bit_length() == bits


def test_too_many_primes_of_a_size_is_a_parameter_error():
    with pytest.raises(ParameterError, match="only .* primes of 12 bits"):
        primes.coeff_modulus(1024, [12] * 5)


@pytest.mark.parametrize("bits", [1, 62, 64])
def test_prime_size_out_of_range(bits):
    with pytest.raises(ParameterError, match="between 2 and 61"):
        primes.primes_congruent_one(bits, 16, 1)


def test_primitive_root_has_exact_order():
    q = primes.coeff_modulus(64, [40])[0]
    psi = primes.primitive_root_of_unity(128, q)
    assert pow(psi, 128, q) == 1
    assert pow(psi, 64, q) == q - 1  # primitive: psi^N = -1


def test_tenseal_twin_has_the_same_modulus_and_scale():
    from ckks import Parameters
    from ckks.interop import tenseal_context

    params = Parameters(8192, [60, 40, 40, 60], 40)
    twin = tenseal_context(params)
    data = twin.seal_context().data
    assert data.key_context_data().total_coeff_modulus() == rns_low_word(params.all_moduli)
    assert twin.global_scale == 2.0**40


def test_tenseal_twin_needs_parameters():
    from ckks.errors import InputTypeError
    from ckks.interop import tenseal_context

    with pytest.raises(InputTypeError, match="ctx.params"):
        tenseal_context("8192")


def rns_low_word(moduli) -> int:
    product = 1
    for q in moduli:
        product *= q
    return product % (1 << 64)
