"""Security: the HE-standard levels, toy parameters, public contexts, and decryption with noise flooding."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ckks
from ckks.errors import (
    InputError,
    InputTypeError,
    InsecureWarning,
    KeyMissingError,
    ParameterError,
    PrecisionWarning,
    SecurityError,
)
from ckks.precision import precision_bits
from ckks.ring.sampling import PRNG
from ckks.security.flooding import Flooding, default_noise_bound, flooding_sigma, rounded_gaussian
from ckks.security.standard import MAX_MODULUS_BITS

LEVELS = [(level, n, bound) for level, table in MAX_MODULUS_BITS.items() for n, bound in table.items()]


def chain_with_total(poly_degree: int, target: int) -> list[int] | None:
    """moduli_bits whose product has exactly ``target`` bits (None if NTT primes that small do not exist)."""
    for parts in range(2, 40):
        for extra in range(parts):
            base, rem = divmod(target + extra, parts)
            bits = [base + (1 if i < rem else 0) for i in range(parts)]
            if max(bits) > 60:
                continue
            try:
                params = ckks.Parameters(poly_degree, bits, 1, security=None)
            except ParameterError:
                continue
            if params.total_bits == target:
                return bits
    return None


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        warnings.simplefilter("ignore", PrecisionWarning)
        yield


@pytest.mark.parametrize("level, n, bound", LEVELS)
def test_each_level_accepts_the_bound_and_rejects_one_bit_more(level, n, bound):
    at_bound = chain_with_total(n, bound)
    if at_bound is not None:
        assert ckks.Parameters(n, at_bound, 1, security=level).total_bits == bound
    # The smallest chain above the bound (one bit more, unless primes = 1 mod 2N that small do not exist).
    total, above = next((t, c) for t in range(bound + 1, bound + 40) if (c := chain_with_total(n, t)) is not None)
    with pytest.raises(SecurityError, match=f"{total} bits exceeds the {level}-bit security bound of {bound}"):
        ckks.Parameters(n, above, 1, security=level)


def test_default_is_128_bits():
    assert ckks.Parameters(8192, [60, 40, 40, 60]).security == 128
    with pytest.raises(SecurityError, match="exceeds the 128-bit security bound of 218 bits"):
        ckks.Context(8192, [60, 40, 40, 40, 60])


@pytest.mark.parametrize("level", [192, 256])
def test_no_192_or_256_bit_entry_for_65536(level):
    with pytest.raises(SecurityError, match=f"no {level}-bit parameters for poly_degree=65536.*security=None"):
        ckks.Parameters(65536, [60, 60], 40, security=level)


@pytest.mark.parametrize("level", [100, "128", True, 128.0 + 0.5])
def test_unknown_security_levels_are_named(level):
    with pytest.raises(ParameterError, match="security must be 128, 192, 256 or None"):
        ckks.Parameters(32, [60, 40, 60], 40, security=level)


def test_tiny_rings_need_security_none():
    with pytest.raises(SecurityError, match="N >= 1024.*pass security=None"):
        ckks.Parameters(512, [30, 30], 20)


def test_security_none_warns_that_parameters_are_insecure():
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureWarning)
        with pytest.raises(InsecureWarning, match=r"security=None: N=32 .* INSECURE; use these parameters only for"):
            ckks.Parameters(32, [60, 40, 60], 40, security=None)


def test_fixed_seed_warns():
    with pytest.warns(InsecureWarning, match="fixed seed .* INSECURE"):
        ckks.Context(32, [60, 40, 60], 40, security=None, seed=1)


# -- public contexts ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ctx(toy):
    return toy(32, (60, 40, 40, 60), 40)


def test_public_copy_holds_no_secret(ctx):
    pub = ctx.public_copy()
    assert not pub.is_private and pub.secret_key is None and pub.decryptor is None
    assert pub.prng is not ctx.prng  # the server's randomness is its own
    assert pub.encryptor.secret_key is None
    assert all(value is not ctx.secret_key for value in vars(pub).values())


def test_public_copy_encrypts_and_evaluates_but_says_why_it_cannot_decrypt(ctx):
    pub = ctx.public_copy()
    v = pub.encrypt([1.0, 2.0])
    w = v * v + 1.0
    with pytest.raises(KeyMissingError, match="no secret key .* send the ciphertext to the owner of the secret key"):
        pub.decrypt(w)
    with pytest.raises(KeyMissingError, match="no secret key"):
        w.decrypt()
    with pytest.raises(KeyMissingError, match="symmetric=True encrypts with the secret key"):
        pub.encrypt([1.0], symmetric=True)
    with pytest.raises(KeyMissingError, match="Galois keys are made with the secret key"):
        pub.generate_galois_keys(steps=[1])
    np.testing.assert_allclose(ctx.decrypt(w), [2.0, 5.0], atol=1e-4)


def test_decryptor_without_secret_key_says_why(ctx):
    with pytest.raises(KeyMissingError, match="decryption needs the secret key"):
        ckks.Decryptor(ctx.params, ctx.public_key)


# -- noise flooding ---------------------------------------------------------------------------------
def test_flooding_sigma_follows_the_documented_bound():
    assert flooding_sigma(1.0, 30, 1) == pytest.approx(math.sqrt(12) * 2**15)
    assert flooding_sigma(8.0, 40, 4) == pytest.approx(math.sqrt(48) * 2**20 * 8)
    params = ckks.Parameters(8192, [60, 40, 40, 60])
    # without a tracked bound, sigma reports the bound of a fresh encryption: 6 sqrt((1 + 2N/3) / 12) + tiny
    assert default_noise_bound(params) == pytest.approx(6 * math.sqrt((1 + 8192 * 2 / 3) / 12), rel=1e-3)
    policy = Flooding()
    assert policy.sigma(params, noise=128.0) == pytest.approx(math.sqrt(12) * 2**15 * 128)
    assert policy.lost_bits(params, noise=128.0) == pytest.approx(math.log2(policy.sigma(params, 128.0)) + 6)


def test_rounded_gaussian_has_the_requested_spread():
    samples = rounded_gaussian(PRNG(b"fixed seed for a statistical test"), 200_000, 2.0**20)
    assert samples.dtype == np.int64
    assert abs(samples.mean()) < 0.02 * 2**20
    assert samples.std() == pytest.approx(2.0**20, rel=0.02)


def test_flooded_decryption_costs_the_documented_precision(ctx, rng):
    values = rng.uniform(-1, 1, ctx.slots)
    v = ctx.encrypt(values)
    plain = precision_bits(ctx.decrypt(v), values)
    policy = Flooding()
    flooded = precision_bits(ctx.decrypt(v, flooding=policy), values)
    expected = ctx.params.scale_bits - policy.lost_bits(ctx.params, v.ciphertext.noise)
    assert flooded < plain - 5  # flooding costs precision...
    assert expected - 4 < flooded < expected + 4  # ... about as much as documented


def test_flooded_decryptions_differ_every_time(ctx):
    v = ctx.encrypt([0.25])
    first, second = ctx.decrypt(v, flooding=True), ctx.decrypt(v, flooding=True)
    assert first[0] != second[0]
    np.testing.assert_allclose([first[0], second[0]], [0.25, 0.25], atol=1e-2)
    assert v.decrypt(flooding=Flooding(noise_bound=4.0))[0] == pytest.approx(0.25, abs=1e-3)


def test_flooding_that_does_not_fit_the_modulus_is_refused(toy):
    small = toy(32, (30, 20, 30), 20)
    v = small.encrypt([1.0])
    with pytest.raises(ParameterError, match="does not fit the modulus .* lower statistical_security"):
        small.decrypt(v, flooding=Flooding(statistical_security=120))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(noise_bound=-1.0), InputError, "noise_bound must be a positive finite number"),
        (dict(noise_bound=float("nan")), InputError, "noise_bound"),
        (dict(noise_bound="big"), InputTypeError, "noise_bound must be a number"),
        (dict(statistical_security=0), InputError, "statistical_security must be an integer in"),
        (dict(queries=1.5), InputError, "queries must be an integer in"),
        (dict(statistical_security=3000), InputError, r"statistical_security must be an integer in \[1, 256\]"),
        (dict(queries=10**400), InputError, "queries must be an integer in .* an integer of 1329 bits"),
    ],
)
def test_flooding_options_are_validated(kwargs, error, match):
    with pytest.raises(error, match=match):
        Flooding(**kwargs)


def test_flooding_argument_is_validated(ctx):
    v = ctx.encrypt([1.0])
    with pytest.raises(InputTypeError, match="flooding must be True, False, None, 'auto' or a ckks.security"):
        ctx.decrypt(v, flooding="yes")
    with pytest.raises(InputTypeError, match="flooding must be a ckks.security.flooding.Flooding or None"):
        ckks.Decryptor(ctx.params, ctx.secret_key, flooding=3)


def test_secret_key_refuses_pickle_and_says_what_to_use(toy):
    import pickle

    from ckks.errors import SerializationError

    ctx = toy(32, (40, 30, 40), 30)
    with pytest.raises(SerializationError, match="ctx.serialize"):
        pickle.dumps(ctx.secret_key)
    with pytest.raises(SerializationError, match="cannot be pickled"):
        pickle.dumps(ctx)


def test_empty_input_is_refused(toy):
    from ckks.errors import InputError

    with pytest.raises(InputError, match="values is empty"):
        toy(32, (40, 30, 40), 30).encrypt([])
