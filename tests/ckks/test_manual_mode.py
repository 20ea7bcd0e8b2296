"""TenSEAL's manual mode: the context flags auto_relin, auto_rescale and auto_mod_switch (issue 27, item 6).

Every behaviour is run side by side with TenSEAL under the same flags (``ckks.interop`` twin of
the same parameters): ciphertext size, levels (TenSEAL: ``coeff_modulus_size``), scale, the
decrypted values, and which operations refuse.  Where this library deliberately differs (a
plaintext is encoded at the vector's own level and scale, so it never needs a switch; a size-3
operand is not multiplied again) the test says so.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import tenseal as ts

import ckks
from ckks.errors import InputError, InputTypeError, LevelError, LevelMismatchError, ScaleMismatchError

X = [1.0, 2.0, 3.0]
Y = [0.5, -1.0, 2.0]
FLAGS = ("auto_relin", "auto_rescale", "auto_mod_switch")


@pytest.fixture(scope="module")
def pair(tenseal_pair):
    return tenseal_pair(8192, [60, 40, 40, 60])


@pytest.fixture
def manual(pair):
    """Set one flag off in both libraries for a test, and back on afterwards."""
    ours, theirs = pair
    changed = []

    def switch_off(*flags):
        for flag in flags:
            setattr(ours, flag, False)
            setattr(theirs, flag, False)
            changed.append(flag)
        return ours, theirs

    yield switch_off
    for flag in changed:
        setattr(ours, flag, True)
        setattr(theirs, flag, True)


def _limbs(tenseal_vector) -> int:
    return tenseal_vector.ciphertext()[0].coeff_modulus_size()


def _encrypt_both(ours, theirs, values):
    return ours.encrypt(values), ts.ckks_vector(theirs, values)


# -- the flags ----------------------------------------------------------------------------------------------


def test_flags_default_on_are_settable_and_checked(pair, toy):
    ours, theirs = pair
    assert [getattr(ours, f) for f in FLAGS] == [getattr(theirs, f) for f in FLAGS] == [True] * 3
    ctx = toy(auto_relin=False, auto_rescale=False, auto_mod_switch=False)
    assert [getattr(ctx, f) for f in FLAGS] == [False] * 3
    ctx.auto_rescale = True
    assert ctx.auto_rescale and not ctx.auto_relin
    with pytest.raises(InputTypeError, match="auto_relin"):
        ctx.auto_relin = "no"
    assert ctx.auto_relin is False  # unchanged by the refused assignment
    with pytest.raises(InputTypeError, match="auto_mod_switch"):
        toy(auto_mod_switch=1)


@pytest.mark.parametrize("flag", FLAGS)
def test_flags_survive_public_copy_deepcopy_and_serialization(toy, flag):
    """TenSEAL's test_auto_flags: each flag off, then back on, through every kind of copy."""
    ctx = toy()
    for value in (False, True):
        setattr(ctx, flag, value)
        copies = [ctx.public_copy(), copy.deepcopy(ctx.public_copy()), ckks.Context.load(ctx.serialize())]
        copies.append(ckks.Context.load(ctx.serialize(secret_key=True)))
        for dup in copies:
            assert {f: getattr(dup, f) for f in FLAGS} == {f: (value if f == flag else True) for f in FLAGS}


def test_default_flags_leave_the_serialized_context_unchanged(toy):
    ctx = toy()
    assert "auto_flags" not in ckks.container.read_header(ctx.serialize())
    ctx.auto_relin = False
    assert ckks.container.read_header(ctx.serialize())["auto_flags"] == {
        "relin": False, "rescale": True, "mod_switch": True
    }


# -- auto_relin ----------------------------------------------------------------------------------------------


def test_without_auto_relin_a_product_stays_size_3_until_relinearized(manual):
    ours, theirs = manual("auto_relin")
    (v, tv), (w, tw) = _encrypt_both(ours, theirs, X), _encrypt_both(ours, theirs, Y)
    p, tp = v * w, tv * tw
    assert p.ciphertext.size == tp.ciphertext()[0].size() == 3
    assert v.level - p.level == _limbs(tv) - _limbs(tp) == 1  # still rescaled
    expected = np.multiply(X, Y)
    assert np.allclose(p.decrypt(), expected, atol=1e-5) and np.allclose(tp.decrypt(), expected, atol=1e-5)
    # additions and plaintext products take size-3 operands in both libraries
    assert np.allclose((p + v).decrypt(), expected + X, atol=1e-5)
    assert np.allclose(np.array((tp + tv).decrypt()), expected + X, atol=1e-5)
    # explicit relinearization, out of place and in place
    q = p.relinearize()
    assert q.ciphertext.size == 2 and p.ciphertext.size == 3 and q.level == p.level
    assert np.allclose(q.decrypt(), expected, atol=1e-5)
    assert p.relinearize_() is p and p.ciphertext.size == 2
    # a size-3 operand is not multiplied again here (TenSEAL makes a size-4 ciphertext) nor rotated
    r = v * w
    with pytest.raises(InputError, match="relinearize"):
        r * w
    assert (r.relinearize() * w).ciphertext.size == 3


# -- auto_rescale -------------------------------------------------------------------------------------------


def test_without_auto_rescale_products_keep_their_level_until_rescaled(manual):
    ours, theirs = manual("auto_rescale")
    (v, tv), (w, tw) = _encrypt_both(ours, theirs, X), _encrypt_both(ours, theirs, Y)
    p, tp = v * w, tv * tw
    assert p.level == v.level and _limbs(tp) == _limbs(tv)
    assert p.scale == v.scale * w.scale == tp.ciphertext()[0].scale == 2.0**80
    plain, tplain = v * [1.0, 2.0, 3.0], tv * [1.0, 2.0, 3.0]  # the plaintext at the context's scale, as TenSEAL
    assert plain.scale == tplain.ciphertext()[0].scale == 2.0**80 and plain.level == v.level
    assert np.allclose(plain.decrypt(), [1.0, 4.0, 9.0], atol=1e-5)
    with pytest.raises(ScaleMismatchError, match="scale mismatch.*rescale"):
        p + v
    with pytest.raises(ValueError, match="scale mismatch"):
        tp + tv
    cube, tcube = v.pow(3), tv.pow(3)  # product by product: scale s^3, no level used in either
    assert cube.level == v.level and _limbs(tcube) == _limbs(tv) and cube.scale == 2.0**120
    assert np.allclose(cube.decrypt(), np.power(X, 3), atol=1e-4)
    assert np.allclose(tcube.decrypt(), np.power(X, 3), atol=1e-4)
    # the explicit rescale (TenSEAL's Python API has none): one level, scale / q, then the sum aligns
    r = p.rescale()
    assert r.level == v.level - 1 and r.scale == p.scale / ours.params.data_moduli[v.level]
    assert np.allclose((r + v).decrypt(), np.multiply(X, Y) + X, atol=1e-5)
    assert p.rescale_() is p and p.level == v.level - 1
    bottom = ours.encrypt(X).mod_switch_to(0)
    with pytest.raises(LevelError):
        bottom.rescale()


# -- auto_mod_switch ----------------------------------------------------------------------------------------


def test_without_auto_mod_switch_operands_at_different_levels_raise(manual):
    ours, theirs = manual("auto_mod_switch")
    (v, tv), (w, tw) = _encrypt_both(ours, theirs, X), _encrypt_both(ours, theirs, Y)
    p, tp = v * w, tv * tw
    for op in (lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b):
        with pytest.raises(LevelMismatchError, match="parameter mismatch"):
            op(p, v)
        with pytest.raises(ValueError, match="parameter mismatch"):
            op(tp, tv)
    with pytest.raises(LevelMismatchError):
        v.pow(3)  # x^1 * x^2, as TenSEAL computes it
    with pytest.raises(ValueError, match="parameter mismatch"):
        tv.pow(3)
    # explicit switching: the scale is kept, which is not p's (s^2 / q: exact scales, TenSEAL rounds them) ...
    down = v.mod_switch_to(p.level)
    assert down.level == p.level and down.scale == v.scale
    with pytest.raises(ScaleMismatchError, match="scale mismatch"):
        p + down
    # ... unless asked for: then the sum works; a plaintext is encoded at the vector's level (TenSEAL raises)
    down = v.mod_switch_to(p.level, scale=p.scale)
    assert down.level == p.level and down.scale == p.scale
    assert np.allclose(down.decrypt(), X, atol=1e-5)
    assert np.allclose((p + down).decrypt(), np.multiply(X, Y) + X, atol=1e-5)
    with pytest.raises(LevelError):
        v.mod_switch_to(v.level, scale=p.scale)  # setting the scale uses the level it drops
    with pytest.raises(InputError):
        v.mod_switch_to(0, scale=-1.0)
    assert np.allclose((p + [1.0, 1.0, 1.0]).decrypt(), np.multiply(X, Y) + 1, atol=1e-5)
    with pytest.raises(LevelError):
        v.mod_switch_to(v.level + 1)
    with pytest.raises(InputTypeError):
        v.mod_switch_to(0.5)
    assert v.mod_switch_to_(0) is v and v.level == 0


# -- TenSEAL's own tests of manual mode (tests/python/tenseal/tensors/test_ckks_vector.py) --------------------


@pytest.mark.parametrize(
    "flag, polynom, message",
    [("auto_mod_switch", p, "parameter mismatch") for p in ([0, 1, 1], [0, -1, 1], [0, 1, 0, 1], [0, 1, 0, 1])]
    + [("auto_rescale", p, "scale mismatch") for p in ([0, 1, 1], [0, -1, 1])],
)
def test_polynomial_modswitch_off_and_rescale_off(pair, flag, polynom, message):
    """TenSEAL's test_polynomial_modswitch_off (4 cases) and test_polynomial_rescale_off (2), run in both."""
    ours, theirs = pair
    data = [0, 1, 2, 3, 4]
    for ctx, vector in ((ours, ours.encrypt), (theirs, lambda d: ts.ckks_vector(theirs, d))):
        setattr(ctx, flag, False)
        try:
            with pytest.raises(ValueError, match=message):
                vector(data).polyval(polynom)
        finally:
            setattr(ctx, flag, True)


def test_polynomials_that_use_no_level_work_in_manual_mode(manual):
    ours, theirs = manual("auto_rescale", "auto_mod_switch")
    (v, tv) = _encrypt_both(ours, theirs, X)
    assert np.allclose(v.polyval([2.0, 1.0]).decrypt(), np.add(X, 2.0), atol=1e-5)
    assert np.allclose(tv.polyval([2.0, 1.0]).decrypt(), np.add(X, 2.0), atol=1e-5)
    assert np.allclose(v.polyval([2.0, 3.0]).decrypt(), 3 * np.array(X) + 2, atol=1e-5)  # free integer here
    with pytest.raises(ScaleMismatchError, match="scale mismatch"):
        v.chebval([0.0, 0.5, 0.25])


def test_relinearize_without_a_relinearization_key(pair):
    ours, _ = pair
    public = ours.public_copy()
    public.relin_key = None
    public.evaluator.relin_key = None
    with pytest.raises(ckks.errors.KeyMissingError):
        (public.encrypt(X) * public.encrypt(Y)).relinearize()
