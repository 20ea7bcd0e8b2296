"""Every public entry point refuses bad input with a ckks.errors exception that names the argument and the fix,
and an operation that raises leaves its inputs unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import ckks
from ckks import errors
from ckks.errors import (
    CKKSError,
    ContextMismatchError,
    InputError,
    InputTypeError,
    KeyMissingError,
    LevelError,
    ParameterError,
    ScaleMismatchError,
    SecurityError,
    SerializationError,
)

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")


@pytest.fixture(scope="module")
def toy_parameters():
    """ctx, other_keys and other_params (tests/ckks/conftest.py) with 60/40-bit primes: depth 2."""
    return 32, (60, 40, 40, 60), 40


@pytest.fixture(scope="module")
def objs(toy, ctx, other_keys, other_params):
    """Operands for the error cases (fresh vectors, a level-0 ciphertext, plaintexts)."""
    v = ctx.encrypt([1.0, 2.0])
    low = ctx.evaluator.mod_switch_to(v.ciphertext, 0)
    return {
        "v": v,
        "ct": v.ciphertext,
        "low": low,
        "size3": ctx.evaluator.square(v.ciphertext),
        "plain_low": ctx.encoder.encode([1.0], level=0),
        "plain_other_scale": ctx.encoder.encode([1.0], scale=2.0**20),
        "w_keys": other_keys.encrypt([1.0]),
        "w_params": other_params.encrypt([1.0]),
        "v_scale31": ctx.encrypt([1.0], scale=2.0**31),
        "v_scale30": ctx.encrypt([1.0], scale=2.0**30),
        "bare_evaluator": ckks.Evaluator(ctx.params),
        "toy": toy,
    }


# (name, call(ctx, objs), exception type, regex: the argument and the fix)
CASES = [
    # -- Parameters / Context ------------------------------------------------------------------
    ("N not a power of two", lambda c, o: ckks.Context(1000), ParameterError, "power of two .* choices are 8192"),
    ("N a string", lambda c, o: ckks.Context("8192"), InputTypeError, "poly_degree must be an integer"),
    ("one prime", lambda c, o: ckks.Context(8192, [60]), ParameterError, "at least one data prime .* typical chain"),
    ("prime too big", lambda c, o: ckks.Context(8192, [60, 70, 60]), ParameterError, "moduli_bits .* between 2 and 61"),
    ("moduli_bits a string", lambda c, o: ckks.Context(8192, "60,40"), InputTypeError, "moduli_bits must be a list"),
    ("scale_bits a string", lambda c, o: ckks.Context(8192, [60, 40, 60], "40"), InputTypeError,
     "scale_bits must be a real number"),
    ("scale above q0", lambda c, o: ckks.Context(8192, [40, 40, 60], 40), ParameterError,
     "scale_bits=40 .* use a larger first entry in moduli_bits or a smaller scale"),
    ("dnum 0", lambda c, o: ckks.Context(8192, [60, 40, 60], dnum=0), ParameterError,
     "dnum must be an integer between 1"),
    ("hamming_weight bool", lambda c, o: ckks.Context(8192, [60, 40, 60], hamming_weight=True), ParameterError,
     "hamming_weight must be None .* or an integer"),
    ("seed a string", lambda c, o: o["toy"](32, [60, 40, 60], 40, seed="abc"), InputTypeError,
     "seed must be None, a non-negative integer or bytes"),
    ("sigma negative", lambda c, o: ckks.Parameters(8192, [60, 40, 60], sigma=-1.0), ParameterError,
     "sigma must be a positive number .* uses 3.2"),
    ("sigma a string", lambda c, o: ckks.Parameters(8192, [60, 40, 60], sigma="3.2"), InputTypeError,
     "sigma must be a real number"),
    ("too many bits", lambda c, o: ckks.Context(8192, [60] * 5, 40), SecurityError,
     "remove primes from moduli_bits, use smaller ones, or double poly_degree"),
    ("toy N, secure", lambda c, o: ckks.Context(32, [60, 40, 60]), SecurityError, "pass security=None"),
    ("unknown level", lambda c, o: ckks.Context(8192, security=100), ParameterError, "security must be 128, 192, 256"),
    # -- encrypt -------------------------------------------------------------------------------------
    ("too many values to encode", lambda c, o: c.encoder.encode(np.ones(17)), InputError,
     "17 values but there are only 16 slots .* use a larger poly_degree or split the data"),
    ("2-D values", lambda c, o: c.encrypt(np.ones((2, 2))), InputError,
     r"one-dimensional, got shape \(2, 2\); flatten"),
    ("NaN", lambda c, o: c.encrypt([1.0, np.nan]), InputError, "values contain NaN or infinity"),
    ("inf", lambda c, o: c.encrypt([np.inf]), InputError, "values contain NaN or infinity"),
    ("strings", lambda c, o: c.encrypt(["a"]), InputTypeError, "values must be real or complex numbers"),
    ("None", lambda c, o: c.encrypt(None), InputTypeError, "values must be real or complex numbers"),
    ("ragged", lambda c, o: c.encrypt([[1.0], [2.0, 3.0]]), InputTypeError, "values must be a number or a 1-D"),
    ("huge values", lambda c, o: c.encrypt([1e33]), InputError, "encode smaller values or use a smaller scale"),
    ("scale a string", lambda c, o: c.encrypt([1.0], scale="big"), InputTypeError, "scale must be a positive number"),
    ("scale negative", lambda c, o: c.encrypt([1.0], scale=-1.0), InputError, "at least 1"),
    # -- CKKSVector ------------------------------------------------------------------------------------
    ("add a string", lambda c, o: o["v"] + "abc", InputTypeError, "values must be real or complex numbers"),
    ("multiply too long", lambda c, o: o["v"] * np.ones(17), InputError, "only 16 slots|sizes must be equal"),
    ("other keys", lambda c, o: o["v"] + o["w_keys"], ContextMismatchError,
     "different secret keys .* encrypt both with the same context"),
    ("other parameters", lambda c, o: o["v"] * o["w_params"], ContextMismatchError,
     "different parameters .* create them with the same context"),
    ("scales differ", lambda c, o: o["v_scale31"] + o["v_scale30"], ScaleMismatchError,
     r"scales 2\^31.0000 and 2\^30.0000.* multiply the one with the larger scale by 1.0 first"),
    ("out of depth", lambda c, o: o["v"] * o["v"] * o["v"] * o["v"], LevelError,
     r"multiplicative depth of 2; each extra level needs one more prime, e.g. moduli_bits=\[60, 40, 40, 40, 60\]"),
    ("no Galois key", lambda c, o: o["v"].rotate(3), KeyMissingError,
     r"rotation by 3 needs a Galois key .*generate_galois_keys\(steps=\[3\]\)"),
    ("decrypt an int", lambda c, o: c.decrypt(3), InputTypeError, "decrypt takes a CKKSVector, got int"),
    ("decrypt other keys", lambda c, o: c.decrypt(o["w_keys"]), ContextMismatchError, "different secret keys"),
    ("public decrypt", lambda c, o: c.public_copy().decrypt(o["v"]), KeyMissingError,
     "no secret key .* send the ciphertext to the owner"),
    # -- Encoder -----------------------------------------------------------------------------------------
    ("Encoder(None)", lambda c, o: ckks.Encoder(None), InputTypeError, "params must be ckks.Parameters"),
    ("encode level", lambda c, o: c.encoder.encode([1.0], level=5), LevelError,
     "level must be an integer between 0 and 2"),
    ("decode a ciphertext", lambda c, o: c.encoder.decode(o["ct"]), InputTypeError,
     "decode takes a Plaintext, got Ciphertext; decrypt a ciphertext first"),
    # -- Evaluator ---------------------------------------------------------------------------------------
    ("Evaluator(None)", lambda c, o: ckks.Evaluator(None), InputTypeError, "params must be ckks.Parameters"),
    ("relin_key wrong", lambda c, o: ckks.Evaluator(c.params, relin_key="key"), InputTypeError,
     r"relin_key must be a ckks.RelinKey \(KeyGenerator\(params\).create_relin_keys\(\)\)"),
    ("add an int", lambda c, o: c.evaluator.add(o["ct"], 1), InputTypeError,
     "expected a Ciphertext or Plaintext, got int"),
    ("mod_switch a str", lambda c, o: c.evaluator.mod_switch_to("ct", 0), InputTypeError, "expected a Ciphertext"),
    ("mod_switch up", lambda c, o: c.evaluator.mod_switch_to(o["low"], 2), LevelError, "levels only go down"),
    ("rescale level 0", lambda c, o: c.evaluator.rescale(o["low"]), LevelError,
     "no rescaling prime is left.* each extra level needs one more prime"),
    ("no relin key", lambda c, o: o["bare_evaluator"].relinearize(o["size3"]), KeyMissingError,
     r"relinearization key.*create it with KeyGenerator\(params\).create_relin_keys\(\)"),
    ("relinearize with a str", lambda c, o: c.evaluator.relinearize(o["size3"], "key"), InputTypeError,
     "relin_key must be a ckks.RelinKey"),
    ("multiply size 3", lambda c, o: c.evaluator.multiply(o["size3"], o["ct"]), InputError,
     "relinearize the operand first"),
    ("plain below", lambda c, o: c.evaluator.add_plain(o["ct"], o["plain_low"]), LevelError,
     "encode it at the ciphertext's level"),
    ("plain scale", lambda c, o: c.evaluator.add_plain(o["ct"], o["plain_other_scale"]), ScaleMismatchError,
     r"encode the plaintext at the ciphertext's scale \(ciphertext.scale\)"),
    ("integer a float", lambda c, o: c.evaluator.multiply_integer(o["ct"], 1.5), InputTypeError,
     "multiply_integer takes an int, got float"),
    # -- keys, Encryptor, Decryptor ----------------------------------------------------------------------
    ("KeyGenerator(str)", lambda c, o: ckks.KeyGenerator("params"), InputTypeError, "params must be ckks.Parameters"),
    ("KeyGenerator secret str", lambda c, o: ckks.KeyGenerator(c.params, secret_key="s"), InputTypeError,
     "secret_key must be a ckks.SecretKey"),
    ("KeyGenerator other secret", lambda c, o: ckks.KeyGenerator(o["w_params"].context.params, secret_key=c.secret_key),
     ContextMismatchError, "secret_key was made for other parameters"),
    ("Encryptor no key", lambda c, o: ckks.Encryptor(c.params), KeyMissingError,
     r"needs a public key or a secret key; make one with ckks.KeyGenerator\(params\).create_public_key\(\)"),
    ("Encryptor secret as public", lambda c, o: ckks.Encryptor(c.params, public_key=c.secret_key), InputTypeError,
     "public_key must be a ckks.PublicKey"),
    ("Encryptor other params", lambda c, o: ckks.Encryptor(o["w_params"].context.params, public_key=c.public_key),
     ContextMismatchError, "other parameters"),
    ("encrypt a list", lambda c, o: c.encryptor.encrypt([1.0]), InputTypeError, "expected a Plaintext, got list"),
    ("symmetric without secret", lambda c, o: c.encryptor.encrypt_symmetric(c.encoder.encode([1.0])), KeyMissingError,
     "symmetric encryption needs the secret key"),
    ("Decryptor(None)", lambda c, o: ckks.Decryptor(c.params, None), KeyMissingError,
     "decryption needs the secret key; a public context cannot decrypt"),
    ("decrypt a vector", lambda c, o: c.decryptor.decrypt(o["v"]), InputTypeError,
     "expected a Ciphertext, got CKKSVector"),
    # -- serialization (more in test_serialize.py) --------------------------------------------------------
    ("truncated", lambda c, o: ckks.CKKSVector.load(c, o["v"].serialize()[:-3]), SerializationError, "truncated"),
    ("other context", lambda c, o: ckks.CKKSVector.load(o["w_params"].context, o["v"].serialize()), SerializationError,
     "made for other parameters .* load it into the context it was made with"),
    ("not bytes", lambda c, o: ckks.Context.load(None), InputTypeError, "serialized data must be bytes"),
]


@pytest.mark.parametrize("name, call, error, match", CASES, ids=[case[0] for case in CASES])
def test_error_type_and_message(ctx, objs, name, call, error, match):
    with pytest.raises(error, match=match) as info:
        call(ctx, objs)
    assert isinstance(info.value, CKKSError)


def test_every_error_class_derives_from_ckks_error_and_a_builtin():
    for name in ("ParameterError", "SecurityError", "LevelError", "ScaleMismatchError", "KeyMissingError",
                 "ContextMismatchError", "SerializationError", "WrongContextError", "InputError", "InputTypeError"):
        cls = getattr(errors, name)
        assert issubclass(cls, CKKSError) and issubclass(cls, (ValueError, TypeError, KeyError)), name


def test_key_missing_message_is_readable():
    assert str(KeyMissingError("create it with x()")) == "create it with x()"


def _snapshot(*vectors):
    return [(v.ciphertext.data.copy(), v.ciphertext.scale, v.size) for v in vectors]


def test_raising_operations_leave_their_inputs_unchanged(ctx, objs):
    v, w = ctx.encrypt([1.0, 2.0]), objs["w_keys"]
    a, b = objs["v_scale31"], objs["v_scale30"]
    values = np.array([1.0, np.nan])
    before = _snapshot(v, w, a, b)
    for failing in (
        lambda: v + w,
        lambda: v * np.ones(17),
        lambda: a + b,
        lambda: v * v * v * v,
        lambda: ctx.decrypt(w),
        lambda: v.rotate(3),
        lambda: ctx.encrypt(values),
        lambda: ckks.CKKSVector.load(ctx, w.serialize()),
    ):
        with pytest.raises(CKKSError):
            failing()
    for (data, scale, size), vec in zip(before, (v, w, a, b)):
        np.testing.assert_array_equal(vec.ciphertext.data, data)
        assert vec.ciphertext.scale == scale and vec.size == size
    assert np.isnan(values[1]) and values[0] == 1.0
    np.testing.assert_allclose(v.decrypt(), [1.0, 2.0], atol=1e-4)


def test_low_level_failures_leave_inputs_unchanged(ctx, objs):
    ev = ctx.evaluator
    ct, low, size3 = objs["ct"], objs["low"], objs["size3"]
    before = [x.data.copy() for x in (ct, low, size3)]
    for failing in (
        lambda: ev.rescale(low),
        lambda: ev.multiply(size3, ct),
        lambda: ev.add_plain(ct, objs["plain_other_scale"]),
        lambda: ev.add(ct, objs["w_keys"].ciphertext),
    ):
        with pytest.raises(CKKSError):
            failing()
    for x, data in zip((ct, low, size3), before):
        np.testing.assert_array_equal(x.data, data)
