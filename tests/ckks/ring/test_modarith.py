"""The numba modular-arithmetic kernels against Python's exact integers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ckks.ring import modarith, primes, reference
from ckks.ring.rns import ratios_of

WORD = st.integers(min_value=0, max_value=(1 << 64) - 1)
PRIMES = [primes.coeff_modulus(16, [b])[0] for b in (20, 40, 50, 60, 61)]


@given(WORD, WORD)
@settings(max_examples=400)
def test_mul_wide_is_the_exact_128_bit_product(a, b):
    high, low = modarith.mul_wide(np.uint64(a), np.uint64(b))
    assert (int(high) << 64) + int(low) == a * b


@given(st.integers(0, (1 << 128) - 1), st.sampled_from(PRIMES))
@settings(max_examples=400)
def test_barrett_reduces_any_128_bit_value(x, q):
    rh, rl = modarith.barrett_ratio(q)
    got = modarith.barrett_reduce_wide(
        np.uint64(x >> 64), np.uint64(x & ((1 << 64) - 1)), np.uint64(q), np.uint64(rh), np.uint64(rl)
    )
    assert int(got) == x % q


@given(WORD, st.sampled_from(PRIMES), st.data())
@settings(max_examples=400)
def test_shoup_multiplication(a, q, data):
    w = data.draw(st.integers(0, q - 1))
    ws = modarith.shoup_precompute(w, q)
    lazy = int(modarith.mul_shoup_lazy(np.uint64(a), np.uint64(w), np.uint64(ws), np.uint64(q)))
    assert lazy < 2 * q and lazy % q == a * w % q
    assert int(modarith.mul_shoup(np.uint64(a % (2 * q)), np.uint64(w), np.uint64(ws), np.uint64(q))) == a * w % q


def _random_poly(rng, moduli, n=64):
    return np.stack([rng.integers(0, q, n, dtype=np.uint64) for q in moduli])


def _exact(a):
    return a.astype(object)


def test_array_kernels_match_python_integers():
    rng = np.random.default_rng(7)
    moduli = np.array(PRIMES, dtype=np.uint64)
    q = moduli.astype(object)[:, None]
    ratios = ratios_of(PRIMES)
    a, b, c = (_random_poly(rng, PRIMES) for _ in range(3))
    out = np.empty_like(a)
    assert (modarith.poly_add(a, b, moduli, out) == (_exact(a) + _exact(b)) % q).all()
    assert (modarith.poly_sub(a, b, moduli, out) == (_exact(a) - _exact(b)) % q).all()
    assert (modarith.poly_neg(a, moduli, out) == (-_exact(a)) % q).all()
    assert (modarith.poly_mul(a, b, moduli, ratios, out) == _exact(a) * _exact(b) % q).all()
    assert (modarith.poly_mul_add(a, b, c, moduli, ratios, out) == (_exact(a) * _exact(b) + _exact(c)) % q).all()
    scalars = np.array(
        [int(x) % int(p) for x, p in zip(rng.integers(0, 1 << 62, len(PRIMES)), PRIMES)], dtype=np.uint64
    )
    shoup = modarith.shoup_per_limb(scalars, moduli)
    expected = _exact(a) * scalars.astype(object)[:, None] % q
    assert (modarith.poly_mul_scalar(a, scalars, shoup, moduli, out) == expected).all()


def test_tensor_product_kernel():
    rng = np.random.default_rng(8)
    moduli = np.array(PRIMES, dtype=np.uint64)
    q = moduli.astype(object)[:, None]
    a0, a1, b0, b1 = (_random_poly(rng, PRIMES) for _ in range(4))
    d = [np.empty_like(a0) for _ in range(3)]
    modarith.tensor_square_free(a0, a1, b0, b1, moduli, ratios_of(PRIMES), *d)
    A0, A1, B0, B1 = map(_exact, (a0, a1, b0, b1))
    assert (d[0] == A0 * B0 % q).all()
    assert (d[1] == (A0 * B1 + A1 * B0) % q).all()
    assert (d[2] == A1 * B1 % q).all()


def test_reduce_signed_handles_negative_values():
    values = np.array([-5, -1, 0, 1, 2**62, -(2**62)], dtype=np.int64)
    moduli = np.array(PRIMES[:2], dtype=np.uint64)
    out = np.empty((2, values.size), dtype=np.uint64)
    modarith.reduce_signed(values, moduli, out)
    for i, q in enumerate(PRIMES[:2]):
        assert [int(x) for x in out[i]] == [int(v) % q for v in values]


# -- the vectorizable "lane" kernels: bit-identical to the scalar ones and to Python's integers ----------
MASK = np.uint64(0xFFFFFFFF)


@given(WORD, WORD)
@settings(max_examples=400)
def test_mul_high_lanes_is_the_high_word(a, b):
    assert int(modarith.mul_high_lanes(np.uint64(a), np.uint64(b), MASK)) == (a * b) >> 64


@given(st.sampled_from(PRIMES))
@settings(max_examples=20)
def test_lane_mask_is_the_32_bit_mask(q):
    assert int(modarith.lane_mask(np.uint64(q))) == 0xFFFFFFFF


@given(st.integers(0, (1 << 128) - 1), st.sampled_from(PRIMES))
@settings(max_examples=400)
def test_barrett_lanes_reduces_any_128_bit_value(x, q):
    rh, rl = modarith.barrett_ratio(q)
    got = modarith.barrett_reduce_lanes(
        np.uint64(x >> 64), np.uint64(x & ((1 << 64) - 1)), np.uint64(q), np.uint64(rh), np.uint64(rl), MASK
    )
    assert int(got) == x % q


@given(st.sampled_from(PRIMES), st.data())
@settings(max_examples=400)
def test_mul_mod_lanes_matches_reference(q, data):
    a = data.draw(st.integers(0, q - 1))
    b = data.draw(st.integers(0, q - 1))
    rh, rl = modarith.barrett_ratio(q)
    got = modarith.mul_mod_lanes(np.uint64(a), np.uint64(b), np.uint64(q), np.uint64(rh), np.uint64(rl), MASK)
    assert int(got) == reference.mul_mod(a, b, q)


@given(WORD, st.sampled_from(PRIMES), st.data())
@settings(max_examples=400)
def test_shoup_lanes_multiplication(a, q, data):
    w = data.draw(st.integers(0, q - 1))
    ws = modarith.shoup_precompute(w, q)
    args = (np.uint64(w), np.uint64(ws), np.uint64(q), MASK)
    lazy = int(modarith.mul_shoup_lazy_lanes(np.uint64(a), *args))
    assert lazy < 2 * q and lazy % q == a * w % q
    assert lazy == int(modarith.mul_shoup_lazy(np.uint64(a), *args[:3]))
    assert int(modarith.mul_shoup_lanes(np.uint64(a), *args)) == a * w % q
