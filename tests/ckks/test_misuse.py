"""Issue 12, item 11 and "How it is checked": a misuse table over the public entry points.

Every row calls a public function or method with nonsense (including each call the security review
listed) and asserts (1) the exception is a `ckks.errors.CKKSError` subclass (never a bare ValueError,
TypeError, OverflowError, ZeroDivisionError or numba TypingError) and (2) the inputs are unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

import ckks
from ckks.container import loads
from ckks.errors import CKKSError
from ckks.scheme.ciphertext import Ciphertext
from ckks.security.flooding import Flooding

pytestmark = [
    pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning"),
    pytest.mark.filterwarnings("ignore::ckks.errors.PrecisionWarning"),
]

NAN = float("nan")


@pytest.fixture(scope="module")
def world(toy):
    ctx = toy(32, (60, 40, 40, 60), 40)
    ctx.generate_galois_keys([1], progress=False)
    v = ctx.encrypt([1.0, 2.0, 3.0, 4.0])
    w = ctx.encrypt([0.5, 0.5, 0.5, 0.5])
    return {
        "ctx": ctx,
        "v": v,
        "w": w,
        "ct": v.ciphertext,
        "pt": ctx.encoder.encode([1.0]),
        "ev": ctx.evaluator,
        "enc": ctx.encoder,
        "blob": v.serialize(),
        "ctx_blob": ctx.serialize(),
        "matrix": ckks.CKKSMatrix.encrypt(ctx, np.eye(2)) if hasattr(ckks, "CKKSMatrix") else None,
    }


def _fake_ct(o):
    return Ciphertext(o["ctx"].params, o["ct"].data.astype(np.float64), o["ct"].scale, o["ct"].key_id)


# (name, call(objects))
CASES = [
    # -- the calls of the review (issue 12, item 11) --------------------------------------------------------------
    ("encrypt 1e308 (NaN after the FFT)", lambda o: o["ctx"].encrypt([1e308])),
    ("Flooding statistical_security=3000", lambda o: Flooding(statistical_security=3000)),
    ("Flooding queries=10**400", lambda o: Flooding(queries=10**400)),
    ("generate_galois_keys('abc') with keys", lambda o: o["ctx"].generate_galois_keys("abc", progress=False)),
    ("generate_galois_keys([1.5])", lambda o: o["ctx"].generate_galois_keys([1.5], progress=False)),
    ("generate_galois_keys(None, progress='x')", lambda o: o["ctx"].generate_galois_keys([2], progress="x")),
    ("multiply_scalar scale=nan", lambda o: o["ev"].multiply_scalar(o["ct"], 2.0, scale=NAN)),
    ("multiply_scalar scale='x'", lambda o: o["ev"].multiply_scalar(o["ct"], 2.0, scale="x")),
    ("multiply_scalar scale below 1", lambda o: o["ev"].multiply_scalar(o["ct"], 2.0, scale=0.5)),
    ("multiply_plain(ct, ct)", lambda o: o["ev"].multiply_plain(o["ct"], o["ct"])),
    ("add_plain(ct, ct)", lambda o: o["ev"].add_plain(o["ct"], o["ct"])),
    ("encode_constant(nan)", lambda o: o["enc"].encode_constant(NAN, 2.0**40, 0)),
    ("encode_constant level 99", lambda o: o["enc"].encode_constant(1.0, 2.0**40, 99)),
    ("encode_constant level 100000", lambda o: o["enc"].encode_constant(1.0, 2.0**40, 100000)),
    ("loads(memoryview(blob)[::2])", lambda o: loads(memoryview(o["blob"])[::2], o["ctx"])),
    ("Ciphertext of float64 data", _fake_ct),
    ("Ciphertext of 2^20 columns", lambda o: Ciphertext(o["ctx"].params, np.zeros((2, 3, 1 << 20), np.uint64),
                                                        2.0**40, o["ctx"].key_id)),
    ("encrypt at a scale below 1 (square underflows)", lambda o: o["ctx"].encrypt([1.0], scale=1e-3)),
    ("encode at scale 0.5", lambda o: o["enc"].encode([1.0], scale=0.5)),
    ("encrypt(symmetric='no')", lambda o: o["ctx"].encrypt([1.0], symmetric="no")),
    ("mod_switch_to(ct, True)", lambda o: o["ev"].mod_switch_to(o["ct"], True)),
    ("mod_switch_to(ct, 1.5)", lambda o: o["ev"].mod_switch_to(o["ct"], 1.5)),
    ("matmul with a 0-column matrix", lambda o: o["v"].matmul(np.zeros((4, 0)))),
    # -- Context, Parameters, keys ------------------------------------------------------------------------------
    ("Context flooding='yes'", lambda o: ckks.Context(32, [60, 40, 60], 40, security=None, flooding="yes")),
    ("Context sparse secret at 128 bits", lambda o: ckks.Context(8192, security=128, hamming_weight=1)),
    ("Parameters sigma 0.01 at 128 bits", lambda o: ckks.Parameters(8192, [60, 40, 40, 60], sigma=0.01)),
    ("Parameters 100 primes", lambda o: ckks.Parameters(32768, [50] * 100, security=None)),
    ("Parameters sigma nan", lambda o: ckks.Parameters(32, [60, 40, 60], security=None, sigma=NAN)),
    ("KeyGenerator prng='x'", lambda o: ckks.KeyGenerator(o["ctx"].params, prng="x")),
    ("Encryptor without keys", lambda o: ckks.Encryptor(o["ctx"].params)),
    ("Decryptor of a public key", lambda o: ckks.Decryptor(o["ctx"].params, o["ctx"].public_key)),
    ("PublicKey of zeros", lambda o: ckks.PublicKey(o["ctx"].params, np.zeros_like(o["ctx"].public_key.data), "0")),
    ("galois keys memory limit", lambda o: o["ctx"].generate_galois_keys([3], progress=False, memory_limit=10)),
    ("galois keys memory limit 'x'", lambda o: o["ctx"].generate_galois_keys([3], progress=False, memory_limit="x")),
    ("estimate_noise of a non-function", lambda o: o["ctx"].estimate_noise(3, [1.0])),
    ("decrypt a string", lambda o: o["ctx"].decrypt("x")),
    ("decrypt flooding='yes'", lambda o: o["ctx"].decrypt(o["v"], flooding="yes")),
    ("set_flooding(3)", lambda o: o["ctx"].set_flooding(3)),
    # -- serialization ----------------------------------------------------------------------------------------------
    ("Context.load(str)", lambda o: ckks.Context.load("abc")),
    ("CKKSVector.load(None)", lambda o: ckks.CKKSVector.load(o["ctx"], None)),
    ("loads with a short MAC key", lambda o: loads(o["blob"], o["ctx"], mac_key=b"k")),
    ("loads unsigned data with a MAC key", lambda o: loads(o["blob"], o["ctx"], mac_key=b"k" * 32)),
    ("loads a truncated blob", lambda o: loads(o["blob"][:-1], o["ctx"])),
    # -- evaluator and vectors ---------------------------------------------------------------------------------------
    ("multiply size 3", lambda o: o["ev"].multiply(o["ev"].square(o["ct"]), o["ct"])),
    ("rescale at level 0", lambda o: o["ev"].rescale(o["ev"].mod_switch_to(o["ct"], 0))),
    ("multiply_integer 1.5", lambda o: o["ev"].multiply_integer(o["ct"], 1.5)),
    ("add_scalar nan", lambda o: o["ev"].add_scalar(o["ct"], NAN)),
    ("add_scalar 'x'", lambda o: o["ev"].add_scalar(o["ct"], "x")),
    ("relinearize with a public key", lambda o: o["ev"].relinearize(o["ct"], o["ctx"].public_key)),
    ("vector + string", lambda o: o["v"] + "a"),
    ("vector * None", lambda o: o["v"] * None),
    ("vector * inf", lambda o: o["v"] * float("inf")),
    ("vector * 1e308", lambda o: o["v"] * 1e308),
    ("vector ** -1", lambda o: o["v"] ** -1),
    ("vector.rotate('a')", lambda o: o["v"].rotate("a")),
    ("vector.polyval([])", lambda o: o["v"].polyval([])),
    ("vector.polyval(['a'])", lambda o: o["v"].polyval(["a"])),
    ("vector.chebval empty interval", lambda o: o["v"].chebval([1, 2], interval=(1, 1))),
    ("vector.dot('abc')", lambda o: o["v"].dot("abc")),
    ("vector.decrypt(flooding=2)", lambda o: o["v"].decrypt(flooding=2)),
    ("v * v overflows (values 1e12)", lambda o: (lambda x: x * x)(o["ctx"].encrypt([1e12]))),
]


def _snapshot(o) -> dict:
    return {
        "v": (o["v"].ciphertext.data.copy(), o["v"].size, o["v"].scale, o["v"].level),
        "w": (o["w"].ciphertext.data.copy(), o["w"].size, o["w"].scale),
        "ct": (o["ct"].data.copy(), o["ct"].scale),
        "pt": (o["pt"].data.copy(), o["pt"].scale),
        "blob": bytes(o["blob"]),
        "galois": sorted(o["ctx"].galois_keys.elements),
        "flooding": o["ctx"].flooding,
    }


def _same(a, b) -> bool:
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


@pytest.mark.parametrize("name, call", CASES, ids=[case[0] for case in CASES])
def test_misuse_raises_a_library_error_and_leaves_inputs_unchanged(world, name, call):
    before = _snapshot(world)
    with pytest.raises(CKKSError) as info:
        call(world)
    assert str(info.value), f"{name}: the error has no message"
    after = _snapshot(world)
    for key in before:
        assert _same(before[key], after[key]), f"{name} changed {key}"


def test_an_integer_step_is_one_step(world):
    """generate_galois_keys(5) is read as [5] (it used to raise TypeError once keys existed)."""
    ctx = world["ctx"]
    keys = ctx.generate_galois_keys(5, progress=False)
    assert keys.has_step(5)
