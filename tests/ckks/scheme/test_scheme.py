"""The SEAL-shaped low-level API: keys, encryption, evaluator, key switching."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks.errors import (
    ContextMismatchError,
    InputError,
    InputTypeError,
    InsecureWarning,
    KeyMissingError,
    LevelError,
    ScaleMismatchError,
)
from ckks.ring import reference
from ckks.ring.sampling import PRNG
from ckks.scheme.keyswitch import KeySwitcher


def toy_params(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        kwargs.setdefault("security", None)
        return ckks.Parameters(
            kwargs.pop("poly_degree", 64), kwargs.pop("moduli_bits", [50, 30, 30, 30, 50]), 30, **kwargs
        )


class Scheme:
    """Everything the low-level API needs for one parameter set."""

    def __init__(self, params):
        self.params = params
        self.keygen = ckks.KeyGenerator(params, prng=PRNG(b"scheme-tests"))
        self.sk = self.keygen.secret_key
        self.pk = self.keygen.create_public_key()
        self.rlk = self.keygen.create_relin_keys()
        self.encoder = ckks.Encoder(params)
        self.encryptor = ckks.Encryptor(params, self.pk, self.sk)
        self.decryptor = ckks.Decryptor(params, self.sk)
        self.evaluator = ckks.Evaluator(params, self.rlk)

    def enc(self, values, level=None):
        return self.encryptor.encrypt(self.encoder.encode(values, level=level))

    def dec(self, ct):
        return self.encoder.decode(self.decryptor.decrypt(ct)).real


@pytest.fixture(scope="module")
def scheme():
    return Scheme(toy_params())


@pytest.fixture
def xy():
    rng = np.random.default_rng(5)
    return rng.uniform(-1, 1, 32), rng.uniform(-1, 1, 32)


def test_public_and_secret_key_encryption(scheme, xy):
    x, _ = xy
    for ct in (scheme.enc(x), scheme.encryptor.encrypt_symmetric(scheme.encoder.encode(x))):
        assert ct.size == 2 and ct.level == 3 and ct.scale == 2.0**30
        assert np.max(np.abs(scheme.dec(ct) - x)) < 2**-18


def test_symmetric_ciphertext_keeps_the_seed_of_its_uniform_part(scheme, xy):
    ct = scheme.encryptor.encrypt_symmetric(scheme.encoder.encode(xy[0]))
    regenerated = scheme.params.at_level(ct.level).uniform(PRNG(ct.seed))
    assert (regenerated == ct.data[1]).all()


def test_public_key_is_an_rlwe_sample(scheme):
    params = scheme.params
    ring = params.at_level(params.max_level, special=True)
    b, a = scheme.pk.data
    a_s = ring.mul(a, scheme.sk.ntt)
    b_plus_as = (b.astype(object) + a_s.astype(object)) % ring.moduli.astype(object)[:, None]
    e = ring.to_coefficients(b_plus_as.astype(np.uint64))
    e = np.array([reference.centre(int(v), params.all_moduli[0]) for v in e[0].astype(np.uint64)])
    assert np.abs(e).max() <= 19 and np.abs(e).max() > 0


def test_levels_and_scales_follow_the_table(scheme, xy):
    ev, (x, y) = scheme.evaluator, xy
    a, b = scheme.enc(x), scheme.enc(y)
    product = ev.multiply(a, b)
    assert product.size == 3 and product.level == 3 and product.scale == 2.0**60
    relin = ev.relinearize(product)
    assert relin.size == 2 and relin.level == 3
    rescaled = ev.rescale(relin)
    q3 = scheme.params.data_moduli[3]
    assert rescaled.level == 2 and rescaled.scale == 2.0**60 / q3
    assert np.max(np.abs(scheme.dec(rescaled) - x * y)) < 2**-16
    switched = ev.mod_switch_to_next(a)
    assert switched.level == 2 and switched.scale == a.scale
    assert np.max(np.abs(scheme.dec(switched) - x)) < 2**-18


def test_unrelinearized_ciphertext_decrypts(scheme, xy):
    x, y = xy
    product = scheme.evaluator.multiply(scheme.enc(x), scheme.enc(y))
    assert product.size == 3
    assert np.max(np.abs(scheme.dec(product) - x * y)) < 2**-16


def test_add_sub_negate_and_plain_operations(scheme, xy):
    ev, (x, y) = scheme.evaluator, xy
    a, b = scheme.enc(x), scheme.enc(y)
    p = scheme.encoder.encode(y)
    cases = {
        "add": (ev.add(a, b), x + y),
        "sub": (ev.sub(a, b), x - y),
        "negate": (ev.negate(a), -x),
        "add_plain": (ev.add_plain(a, p), x + y),
        "sub_plain": (ev.sub_plain(a, p), x - y),
        "multiply_plain": (ev.rescale(ev.multiply_plain(a, p)), x * y),
        "multiply_integer": (ev.multiply_integer(a, -3), -3 * x),
        "add_scalar": (ev.add_scalar(a, 0.75), x + 0.75),
        "multiply_scalar": (ev.rescale(ev.multiply_scalar(a, -1.5)), -1.5 * x),
        "square": (ev.rescale(ev.relinearize(ev.square(a))), x * x),
    }
    for name, (ct, expected) in cases.items():
        assert np.max(np.abs(scheme.dec(ct) - expected)) < 2**-15, name


def test_add_switches_the_higher_level_down(scheme, xy):
    x, y = xy
    low = scheme.enc(x, level=1)
    result = scheme.evaluator.add(scheme.enc(y), low)
    assert result.level == 1
    assert np.max(np.abs(scheme.dec(result) - (x + y))) < 2**-17


def test_depth_runs_out_with_a_level_error(scheme, xy):
    ev = scheme.evaluator
    ct = scheme.enc(xy[0], level=0)
    with pytest.raises(LevelError, match="depth of 3.*moduli_bits=\\[50, 30, 30, 30, 30, 50\\]"):
        ev.rescale(ct)
    with pytest.raises(LevelError):
        ev.mod_switch_to_next(ct)


def test_scale_mismatch_names_both_scales(scheme, xy):
    ev = scheme.evaluator
    a = scheme.enc(xy[0])
    b = ev.multiply_plain(a, scheme.encoder.encode(xy[1]))
    with pytest.raises(ScaleMismatchError, match=r"2\^60.0000 and 2\^30.0000"):
        ev.add(b, a)


def test_inputs_are_unchanged_after_operations_and_errors(scheme, xy):
    ev = scheme.evaluator
    a, b = scheme.enc(xy[0]), scheme.enc(xy[1])
    before_a, before_b = a.data.copy(), b.data.copy()
    ev.rescale(ev.relinearize(ev.multiply(a, b)))
    ev.add(a, b)
    with pytest.raises(ScaleMismatchError):
        ev.add(ev.multiply_plain(a, scheme.encoder.encode(xy[1])), b)
    assert (a.data == before_a).all() and (b.data == before_b).all()


def test_objects_from_other_parameters_or_keys_are_refused(scheme, xy):
    other = Scheme(toy_params(moduli_bits=[50, 30, 30, 50]))
    with pytest.raises(ContextMismatchError, match="different parameters"):
        scheme.evaluator.add(scheme.enc(xy[0]), other.enc(xy[0]))
    same_params_other_key = Scheme(scheme.params)
    same_params_other_key.keygen = ckks.KeyGenerator(scheme.params)
    stranger = ckks.Encryptor(scheme.params, same_params_other_key.keygen.create_public_key())
    foreign = stranger.encrypt(scheme.encoder.encode(xy[0]))
    with pytest.raises(ContextMismatchError, match="different secret keys"):
        scheme.evaluator.add(scheme.enc(xy[0]), foreign)
    with pytest.raises(ContextMismatchError):
        scheme.decryptor.decrypt(foreign)


def test_missing_keys_and_bad_inputs(scheme, xy):
    ct = scheme.enc(xy[0])
    with pytest.raises(KeyMissingError, match="create_relin_keys"):
        ckks.Evaluator(scheme.params).relinearize(scheme.evaluator.multiply(ct, ct))
    with pytest.raises(KeyMissingError, match="public key or a secret key"):
        ckks.Encryptor(scheme.params)
    with pytest.raises(KeyMissingError, match="secret key"):
        ckks.Decryptor(scheme.params, None)
    with pytest.raises(InputTypeError, match="Ciphertext"):
        scheme.evaluator.add(ct, xy[0])
    with pytest.raises(InputError, match="relinearize the operand first"):
        scheme.evaluator.multiply(scheme.evaluator.multiply(ct, ct), ct)
    with pytest.raises(InputTypeError, match="int"):
        scheme.evaluator.multiply_integer(ct, 1.5)
    with pytest.raises(InputTypeError, match="real or complex number"):
        scheme.evaluator.multiply_scalar(ct, "2")
    with pytest.raises(InputError, match="finite"):
        scheme.evaluator.add_scalar(ct, float("nan"))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(dnum=2, special_count=2, moduli_bits=[50, 30, 30, 30, 50, 50]),
        dict(dnum=1, special_count=2, moduli_bits=[40, 30, 30, 61, 61]),
        dict(dnum=3, special_count=2, moduli_bits=[50, 30, 30, 30, 40, 40]),
        dict(digit_primes=[1, 3], special_count=2, moduli_bits=[50, 30, 30, 30, 50, 50]),  # unequal digits
        dict(digit_primes=[3, 1], special_count=2, moduli_bits=[40, 20, 20, 30, 50, 50]),
    ],
)
def test_key_switching_switches_the_key(kwargs):
    """c0 + c1 s = d s' + small error, for every digit layout."""
    params = toy_params(**kwargs)
    keygen = ckks.KeyGenerator(params, prng=PRNG(b"ks"))
    prng = PRNG(b"other")
    level = params.max_level
    s_prime = params.at_level(level).from_signed(prng.ternary(params.poly_degree))
    key = keygen.create_switch_key(s_prime)
    for lvl in range(level, -1, -1):
        ring = params.at_level(lvl)
        moduli = ring.moduli.astype(object)[:, None]
        d = ring.uniform(prng)
        c0, c1 = KeySwitcher(params).switch(d, key)
        lhs = (c0.astype(object) + c1.astype(object) * keygen.secret_key.ntt[: ring.limbs].astype(object)) % moduli
        rhs = ring.mul(d, np.ascontiguousarray(s_prime[: ring.limbs]))
        error = ring.to_coefficients(((lhs - rhs.astype(object)) % moduli).astype(np.uint64))
        q0 = params.data_moduli[0]
        worst = max(abs(reference.centre(int(v), q0)) for v in error[0])
        assert worst < 2**12, (kwargs, lvl, worst)


def test_special_modulus_smaller_than_a_digit_warns():
    from ckks.errors import PrecisionWarning

    with pytest.warns(PrecisionWarning, match="lose about 39 bits"):
        toy_params(dnum=1, moduli_bits=[40, 30, 30, 61])


def test_sparse_secret_has_the_requested_weight():
    params = toy_params(hamming_weight=8)
    sk = ckks.KeyGenerator(params).secret_key
    assert np.count_nonzero(sk.coefficients) == 8
