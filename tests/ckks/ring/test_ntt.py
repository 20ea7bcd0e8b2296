"""The numba NTT against the O(N^2) definition and the schoolbook negacyclic product."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ckks.ring import primes, reference
from ckks.ring.ntt import bit_reverse_permutation, ntt_tables


@pytest.mark.parametrize("n", [4, 8, 16, 32, 64])
@pytest.mark.parametrize("bits", [30, 50, 61])
def test_forward_matches_definition(n, bits):
    q = primes.coeff_modulus(n, [bits])[0]
    tables = ntt_tables(n, (q,))
    rng = np.random.default_rng(n + bits)
    a = rng.integers(0, q, (1, n), dtype=np.uint64)
    got = tables.forward(a.copy())
    assert [int(x) for x in got[0]] == reference.ntt([int(x) for x in a[0]], q, int(tables.psi[0]))


@given(st.sampled_from([8, 16, 32]), st.data())
@settings(max_examples=60, deadline=None)
def test_ntt_product_is_the_negacyclic_product(n, data):
    chain = primes.coeff_modulus(n, [40, 55])
    tables = ntt_tables(n, tuple(chain))
    a = np.stack(
        [np.array(data.draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n)), dtype=np.uint64) for q in chain]
    )
    b = np.stack(
        [np.array(data.draw(st.lists(st.integers(0, q - 1), min_size=n, max_size=n)), dtype=np.uint64) for q in chain]
    )
    fa, fb = tables.forward(a.copy()), tables.forward(b.copy())
    product = (fa.astype(object) * fb.astype(object)) % np.array(chain, dtype=object)[:, None]
    back = tables.inverse(product.astype(np.uint64))
    for i, q in enumerate(chain):
        assert [int(x) for x in back[i]] == reference.negacyclic_product(list(a[i]), list(b[i]), q)


@pytest.mark.parametrize("n", [1024, 16384])
def test_inverse_undoes_forward_at_real_sizes(n):
    chain = primes.coeff_modulus(n, [60, 40, 61])
    tables = ntt_tables(n, tuple(chain))
    rng = np.random.default_rng(1)
    a = np.stack([rng.integers(0, q, n, dtype=np.uint64) for q in chain])
    b = tables.forward(a.copy())
    assert not (a == b).all()
    assert (tables.inverse(b) == a).all()


def test_inverse_matches_reference():
    n = 16
    q = primes.coeff_modulus(n, [45])[0]
    tables = ntt_tables(n, (q,))
    values = np.random.default_rng(3).integers(0, q, (1, n), dtype=np.uint64)
    got = tables.inverse(values.copy())
    assert [int(x) for x in got[0]] == reference.intt([int(x) for x in values[0]], q, int(tables.psi[0]))


def test_rows_select_tables_and_negative_rows_are_skipped():
    n = 32
    chain = primes.coeff_modulus(n, [30, 40])
    tables = ntt_tables(n, tuple(chain))
    a = np.stack([np.arange(n, dtype=np.uint64)] * 2)
    out = tables.forward(a.copy(), np.array([1, -1]))
    assert (out[1] == a[1]).all()
    single = tables.forward(a[:1].copy(), np.array([1]))
    assert (out[0] == single[0]).all()


def test_bit_reversal():
    assert bit_reverse_permutation(8).tolist() == [0, 4, 2, 6, 1, 5, 3, 7]
