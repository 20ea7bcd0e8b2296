"""Keys: one way to make each kind, their serialization next to their definition, and input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks import container
from ckks.errors import (
    ContextMismatchError,
    InputError,
    InputTypeError,
    InsecureWarning,
    KeyMissingError,
    LevelError,
    SerializationError,
    WrongContextError,
)
from ckks.ring.sampling import PRNG
from ckks.scheme.automorphism import check_steps, conjugation_element, galois_element, ntt_permutation, step_table
from ckks.scheme.ciphertext import Ciphertext, Plaintext
from ckks.scheme.keys import GaloisKeys, KeySwitchKey, check_key_pair, public_key_error
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.rotation import Rotator


def toy_params(moduli_bits=(50, 30, 30, 50), **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return ckks.Parameters(64, list(moduli_bits), 30, security=None, **kwargs)


@pytest.fixture(scope="module")
def params():
    return toy_params()


@pytest.fixture(scope="module")
def keys(params):
    keygen = ckks.KeyGenerator(params, prng=PRNG(b"keys-tests"))
    return {
        "keygen": keygen,
        "secret_key": keygen.secret_key,
        "public_key": keygen.create_public_key(),
        "relin_key": keygen.create_relin_keys(),
        "galois_keys": keygen.create_galois_keys([1, -2, 5], conjugation=True),
    }


# -- Galois keys from the key generator -----------------------------------------------------------------


def test_create_galois_keys_defaults_and_choices(params, keys):
    keygen = keys["keygen"]
    default = keygen.create_galois_keys()
    assert default.has_conjugation and default.has_step(1) and default.has_step(-1)
    chosen = keys["galois_keys"]
    assert chosen.steps() == sorted([1, params.slots - 2, 5]) and chosen.has_conjugation
    assert not keygen.create_galois_keys([3]).has_conjugation  # chosen steps: no conjugation unless asked
    assert len(keygen.create_galois_keys([0, params.slots])) == 0


def test_create_galois_keys_checks_its_arguments(keys):
    keygen = keys["keygen"]
    with pytest.raises(InputTypeError, match="rotation steps must be integers"):
        keygen.create_galois_keys([1.5])
    with pytest.raises(InputTypeError, match="steps must be a list of integers"):
        keygen.create_galois_keys("12")
    with pytest.raises(InputTypeError, match="conjugation"):
        keygen.create_galois_keys([1], conjugation="yes")
    with pytest.raises(InputTypeError, match="progress"):
        keygen.create_galois_keys([1], progress=1)


def test_galois_keys_merge_and_arrays(params, keys):
    galois = keys["galois_keys"]
    more = keys["keygen"].create_galois_keys([7])
    merged = galois.merge(more)
    assert set(merged.elements) == set(galois.elements) | set(more.elements)
    rebuilt = GaloisKeys.from_arrays(params, galois.key_id, galois.items())
    assert rebuilt.elements == galois.elements
    assert all(np.array_equal(rebuilt.keys[g].data, galois.keys[g].data) for g in galois.elements)
    stranger = ckks.KeyGenerator(params).create_galois_keys([1])
    with pytest.raises(ContextMismatchError, match="different secret keys"):
        galois.merge(stranger)
    with pytest.raises(InputTypeError):
        galois.merge({})


def test_rotator_has_no_apply_galois(params, keys):
    assert not hasattr(Rotator(params, keys["galois_keys"]), "apply_galois")


# -- serialization -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["secret_key", "public_key", "relin_key", "galois_keys"])
def test_keys_round_trip(params, keys, kind):
    key = keys[kind]
    blob = key.serialize()
    assert container.read_header(blob)["type"] == kind
    for loaded in (type(key).load(blob, params), container.loads(blob, params)):
        assert type(loaded) is type(key) and loaded.key_id == key.key_id and loaded.params == params
        if kind == "secret_key":
            assert np.array_equal(loaded.coefficients, key.coefficients)
        elif kind == "galois_keys":
            assert loaded.elements == key.elements
        else:
            assert np.array_equal(loaded.data, key.data)


def test_key_loading_checks_context(params, keys):
    blob = keys["public_key"].serialize()
    with pytest.raises(WrongContextError, match="load it into the context it was made with"):
        ckks.PublicKey.load(blob, toy_params((50, 30, 50)))
    with pytest.raises(SerializationError, match="expected a serialized relin_key"):
        ckks.RelinKey.load(blob, params)
    with pytest.raises(InputTypeError, match="needs the context"):
        ckks.PublicKey.load(blob, None)


def test_galois_keys_load_takes_the_key_id_from_a_context(keys, toy):
    ctx = toy(64)
    blob = keys["galois_keys"].serialize()
    with pytest.raises(WrongContextError, match="belongs to secret key"):
        GaloisKeys.load(blob, ctx)


def test_secret_key_refuses_pickle(keys):
    import pickle

    with pytest.raises(SerializationError, match="serialize"):
        pickle.dumps(keys["secret_key"])


def test_key_pair_check(params, keys):
    check_key_pair(keys["public_key"], keys["secret_key"])
    assert public_key_error(keys["public_key"], keys["secret_key"]) <= 19
    other = ckks.KeyGenerator(params).secret_key
    with pytest.raises(SerializationError, match="does not belong to the public key"):
        check_key_pair(keys["public_key"], other)


# -- input checks before the kernels ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tools(params, keys):
    encoder = ckks.Encoder(params)
    encryptor = ckks.Encryptor(params, keys["public_key"], keys["secret_key"])
    evaluator = ckks.Evaluator(params, keys["relin_key"])
    ct = encryptor.encrypt(encoder.encode(np.arange(4.0)))
    return encoder, encryptor, evaluator, ct


def test_plain_operations_refuse_ciphertexts(tools):
    _, _, evaluator, ct = tools
    for method in (evaluator.add_plain, evaluator.sub_plain, evaluator.multiply_plain):
        with pytest.raises(InputTypeError, match="expected a Plaintext"):
            method(ct, ct)
    with pytest.raises(InputTypeError, match="expected a Ciphertext"):
        evaluator.negate(tools[0].encode([1.0]))


def test_malformed_data_is_refused_before_the_kernels(params, keys, tools):
    encoder, encryptor, evaluator, ct = tools
    with pytest.raises(InputError, match="uint64"):  # the constructor refuses it (issue 12, item 8) ...
        Ciphertext(params, ct.data.astype(np.int64), ct.scale, ct.key_id)
    bad = ct.copy()  # ... and the evaluator still checks data changed after construction
    bad.data = ct.data.astype(np.int64)
    with pytest.raises(InputError, match="uint64"):
        evaluator.add(bad, ct)
    with pytest.raises(InputError, match="uint64"):
        ckks.Decryptor(params, keys["secret_key"]).decrypt(bad)
    with pytest.raises(InputError, match="N = 64"):
        Plaintext(params, np.zeros((1, 8), dtype=np.uint64), 2.0**30)
    short = encoder.encode([1.0])
    short.data = np.zeros((1, 8), dtype=np.uint64)
    with pytest.raises(InputError, match="N = 64"):
        encryptor.encrypt(short)
    with pytest.raises(InputError):
        KeySwitcher(params).switch(ct.data[1], keys["relin_key"].data[:1])
    with pytest.raises(InputError):
        KeySwitcher(params).decompose(ct.data[1].astype(np.float64))
    with pytest.raises(LevelError, match="levels only go down"):
        evaluator.mod_switch_to(ct, 1.0)
    with pytest.raises(InputError):
        ckks.PublicKey(params, np.zeros((2, 3, 64), dtype=np.uint64), "ab")
    with pytest.raises(InputError):
        ckks.SecretKey(params, np.full(64, 2), "ab")


def test_keys_of_other_parameters_are_refused(params, keys):
    other = toy_params((50, 30, 50))
    with pytest.raises(ContextMismatchError):
        ckks.Evaluator(other, keys["relin_key"])
    with pytest.raises(ContextMismatchError):
        Rotator(other, keys["galois_keys"])
    with pytest.raises(ContextMismatchError):
        ckks.Encryptor(other, keys["public_key"])
    with pytest.raises(InputTypeError):
        Rotator(params, {1: keys["relin_key"]})
    with pytest.raises(KeyMissingError):
        Rotator(params, None).rotate(ckks.Encryptor(params, keys["public_key"]).encrypt(
            ckks.Encoder(params).encode([1.0])), 1)


def test_automorphism_argument_checks():
    n = 64
    assert galois_element(-1, n) == pow(5, n // 2 - 1, 2 * n)
    assert conjugation_element(n) == 2 * n - 1
    assert step_table(n)[galois_element(3, n)] == 3
    assert check_steps(np.int64(4)) == [4]
    with pytest.raises(InputTypeError):
        galois_element(1.0, n)
    with pytest.raises(InputError, match="power of two"):
        conjugation_element(48)
    with pytest.raises(InputError, match="odd"):
        ntt_permutation(2, n)
    with pytest.raises(InputTypeError):
        check_steps([True])
    with pytest.raises(InputError):
        KeySwitchKey(toy_params(), np.zeros((1, 2, 4, 64), dtype=np.uint64), "ab")
