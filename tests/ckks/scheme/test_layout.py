"""Key-switching layouts (ckks.scheme.layout) and Context(key_switching="fast"), and the exact mod-down they rely on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks.errors import InputError, InputTypeError, ParameterError, SecurityError
from ckks.scheme.layout import MARGIN_BITS, fast_key_switching, key_switching_cost
from ckks.scheme.parameters import Parameters
from ckks.security.standard import max_modulus_bits

CHAIN_15 = [60] + [40] * 11  # the 2^15 ring of benchmarks/compare.py, without its special prime


@pytest.mark.parametrize("n, data", [(1 << 13, [60, 40, 40]), (1 << 14, [60] + [40] * 7), (1 << 15, CHAIN_15),
                                     (1 << 16, [60] + [40] * 20), (1 << 12, [30, 25, 25])])
def test_the_layout_is_secure_keeps_every_digit_below_p_and_is_never_costlier_than_seal(n, data):
    layout = fast_key_switching(n, data)
    bits = list(layout.moduli_bits)
    assert bits[: len(data)] == data and sum(bits) <= max_modulus_bits(n, 128)
    special = sum(bits[len(data):])
    assert len(bits) - len(data) == layout.special_count and sum(layout.digit_primes) == len(data)
    start = 0
    for size in layout.digit_primes:
        digit = sum(data[start : start + size])
        assert size == 1 or digit <= special - MARGIN_BITS  # several primes only under the margin
        start += size
    assert layout.cost <= key_switching_cost(n, [1] * len(data), 1)
    with warnings.catch_warnings():  # N = 2^12: SEAL's own layout, P (29 bits) below q_0 (30 bits), warns
        warnings.simplefilter("ignore")
        params = Parameters(n, scale_bits=data[1], **layout.parameters_kwargs())
    assert params.digit_sizes == layout.digit_primes and params.special_count == layout.special_count


def test_the_large_rings_get_few_large_digits():
    layout = fast_key_switching(1 << 15, CHAIN_15)
    assert len(layout.digit_primes) <= 3 < len(CHAIN_15)
    assert layout.cost < 0.6 * key_switching_cost(1 << 15, [1] * len(CHAIN_15), 1)


def test_the_cost_counts_fewer_ntts_for_fewer_digits():
    assert key_switching_cost(1 << 15, [6, 6], 5) < key_switching_cost(1 << 15, [1] * 12, 1)
    assert key_switching_cost(1 << 14, [1] * 8, 2) > key_switching_cost(1 << 14, [1] * 8, 1)  # more limbs, same digits


@pytest.mark.parametrize("args, error, match", [
    ((1 << 14, [60] * 8), ParameterError, "security bound"),        # 480 > 438 bits: no room for P
    ((1 << 14, "60,40"), InputTypeError, "moduli_bits"),
    ((1 << 14, [60, 70]), ParameterError, "between 2 and 61 bits"),
    ((1 << 14, [60, 40], 100), ParameterError, "security"),
    ((1 << 9, [20, 20]), SecurityError, "standard"),
])
def test_bad_layout_requests_raise_clear_errors(args, error, match):
    data = args[1]
    before = list(data) if isinstance(data, list) else data
    with pytest.raises(error, match=match):
        fast_key_switching(*args)
    assert data == before  # inputs unchanged


@pytest.mark.parametrize("args, match", [(([1, 0], 1), "digit_primes"), (([2], 0), "special_count"),
                                         (([], 1), "digit_primes")])
def test_bad_cost_arguments_raise(args, match):
    with pytest.raises(ParameterError, match=match):
        key_switching_cost(1 << 14, *args)
    with pytest.raises(ParameterError, match="poly_degree"):
        key_switching_cost(1000, [1], 1)


def test_a_fast_context_computes_as_precisely_as_the_seal_layout_and_round_trips():
    n, bits = 1 << 13, [60, 40, 40, 60]
    results = {}
    for key_switching in ("seal", "fast"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctx = ckks.Context(n, bits, 40, security=None, key_switching=key_switching, seed=7)
        ctx.generate_galois_keys(steps=[1], progress=False)
        v = np.random.default_rng(1).uniform(-1, 1, ctx.slots)
        out = (ctx.encrypt(v) * ctx.encrypt(v)).rotate(1).decrypt()
        results[key_switching] = np.max(np.abs(out - np.roll(v * v, -1)))
        loaded = ckks.Context.load(ctx.serialize())
        assert loaded.params.digit_sizes == ctx.params.digit_sizes
    assert results["fast"] < 2 ** -18 and results["seal"] < 2 ** -18


def test_a_fast_context_at_2_15_uses_few_digits_and_keeps_the_precision():
    ctx = ckks.Context(1 << 15, CHAIN_15 + [60], 40, key_switching="fast")
    assert ctx.params.dnum <= 3 and ctx.params.special_count > 1
    v = np.random.default_rng(2).uniform(-1, 1, ctx.slots)
    x = ctx.encrypt(v)
    assert np.max(np.abs(x.decrypt() - v)) < 2 ** -22  # fresh: the mod-down by a many-prime P is exact
    assert np.max(np.abs((x * x).decrypt() - v * v)) < 2 ** -21


@pytest.mark.parametrize("kwargs, error, match", [
    ({"key_switching": "hybrid"}, InputError, "key_switching"),
    ({"key_switching": "fast", "dnum": 2}, InputError, "dnum"),
])
def test_bad_key_switching_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        ckks.Context(1 << 13, [60, 40, 40, 60], 40, **kwargs)


def test_fresh_public_key_noise_does_not_grow_with_the_number_of_special_primes():
    """The mod-down's overflow correction: without it, the error had mean (K - 1) / 2 and lost bits."""
    from ckks.scheme.encoder import Encoder
    from ckks.scheme.encryption import Decryptor, Encryptor
    from ckks.scheme.keys import KeyGenerator

    noise = {}
    for special in ([60], [30, 30], [40, 40, 40]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = Parameters(1 << 12, [50, 40] + special, 40, security=None, special_count=len(special))
        keygen = KeyGenerator(params)
        encoder = Encoder(params)
        encryptor = Encryptor(params, public_key=keygen.create_public_key())
        decryptor = Decryptor(params, keygen.secret_key)
        zero = encoder.encode(np.zeros(params.poly_degree // 2))
        noise[len(special)] = max(np.max(np.abs(encoder.decode(decryptor.decrypt(encryptor.encrypt(zero)))))
                                  for _ in range(3))
    assert noise[2] < 4 * noise[1] and noise[3] < 4 * noise[1]


def test_a_fast_layout_is_refused_by_the_tenseal_twin_with_the_reason():
    from ckks.interop import tenseal_context

    ctx = ckks.Context(1 << 14, [60] + [40] * 7 + [60], 40, key_switching="fast")
    assert ctx.params.special_count > 1
    with pytest.raises(ParameterError, match="key_switching='seal'"):
        tenseal_context(ctx.params)
