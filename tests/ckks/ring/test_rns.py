"""RNS: fast basis conversion, exact CRT decoding, division with rounding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ckks.ring import primes, reference, rns
from ckks.ring.ntt import ntt_tables

N = 16
CHAIN = primes.coeff_modulus(N, [60, 40, 40, 50, 60, 30])


def random_residues(seed, moduli, n=N):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, q, n, dtype=np.uint64) for q in moduli])


@pytest.mark.parametrize("split", [1, 2, 3])
def test_fast_basis_conversion_matches_definition(split):
    x = random_residues(split, CHAIN)
    source, target = CHAIN[:split], CHAIN[split:]
    got = rns.BasisConverter(source, target).convert(x[:split].copy())
    assert (got == reference.basis_convert(x[:split], source, target)).all()


def test_fast_basis_conversion_is_x_plus_small_multiple():
    x = random_residues(5, CHAIN[:3])
    big_b = rns.product(CHAIN[:3])
    values = reference.crt_reconstruct(x, CHAIN[:3])
    got = rns.BasisConverter(CHAIN[:3], CHAIN[3:]).convert(x)
    for j, v in enumerate(values):
        for t, c in enumerate(CHAIN[3:]):
            diff = (int(got[t, j]) - v) % c
            assert any(diff == (u * big_b) % c for u in range(3))


@given(st.lists(st.integers(-(2**200), 2**200), min_size=N, max_size=N))
@settings(max_examples=100, deadline=None)
def test_crt_decoder_is_exact_up_to_float_rounding(values):
    moduli = CHAIN[:5]
    residues = np.array([[v % q for v in values] for q in moduli], dtype=np.uint64)
    got = rns.CRTDecoder(moduli).to_float(residues)
    for g, v in zip(got, values):
        assert g == pytest.approx(float(v), rel=2**-50, abs=0)


def test_crt_decoder_centres_at_half_q():
    moduli = CHAIN[:2]
    big_q = rns.product(moduli)
    values = [big_q // 2, big_q // 2 + 1, 0, 1, big_q - 1] + [0] * (N - 5)
    residues = np.array([[v % q for v in values] for q in moduli], dtype=np.uint64)
    got = rns.CRTDecoder(moduli).to_float(residues)
    assert got[0] == float(big_q // 2) and got[1] == -float(big_q // 2)
    assert got[2:5].tolist() == [0.0, 1.0, -1.0]


@pytest.mark.parametrize("kept, dropped", [([0, 1, 2, 3], [4]), ([0, 1, 2], [3, 4]), ([0], [1])])
def test_divider_rounds_exactly(kept, dropped):
    rows = kept + dropped
    x = random_residues(9, [CHAIN[i] for i in rows])
    values = reference.crt_reconstruct(x, [CHAIN[i] for i in rows])
    big_q, big_d = rns.product(CHAIN[i] for i in kept), rns.product(CHAIN[i] for i in dropped)
    tables = ntt_tables(N, tuple(CHAIN))
    out = rns.RNSDivider(tables, kept, dropped).divide(tables.forward(x.copy(), rows))
    got = reference.crt_reconstruct(tables.inverse(out, kept), [CHAIN[i] for i in kept])
    for g, v in zip(got, values):
        error = reference.centre(g - (v + big_d // 2) // big_d, big_q)
        assert error == 0  # exact for any number of dropped primes (float64 overflow correction)
