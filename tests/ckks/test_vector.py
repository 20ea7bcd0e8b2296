"""The high-level Context / CKKSVector API of the design's contract."""

from __future__ import annotations

import numpy as np
import pytest

import ckks
from ckks.errors import (
    ContextMismatchError,
    InputError,
    InputTypeError,
    KeyMissingError,
    LevelError,
    ScaleMismatchError,
)


@pytest.fixture(scope="module")
def ctx(toy):
    return toy(64, (50, 30, 30, 30, 50), 30, seed=1)


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    return rng.uniform(-1, 1, 20), rng.uniform(-1, 1, 20)


def close(vector, expected, bits=15):
    got = vector.decrypt() if isinstance(vector, ckks.CKKSVector) else vector
    assert got.shape == np.shape(expected)
    assert np.max(np.abs(got - expected)) < 2.0**-bits


def test_contract_expression(ctx, data):
    x, _ = data
    v = ctx.encrypt(x)
    w = v * v + 3.0 * v - list(x)
    close(w, x * x + 2 * x)
    assert w.level == ctx.params.max_level - 1
    assert w.scale == pytest.approx(2.0**60 / ctx.params.data_moduli[-1])
    close(ctx.decrypt(w), x * x + 2 * x)


def test_operators_with_vectors_scalars_and_arrays(ctx, data):
    x, y = data
    vx, vy = ctx.encrypt(x), ctx.encrypt(y)
    close(vx + vy, x + y)
    close(vx - vy, x - y)
    close(-vx, -x)
    close(vx + 0.5, x + 0.5)
    close(0.5 + vx, x + 0.5)
    close(1.0 - vx, 1.0 - x)
    close(vx - y, x - y)
    close(vx * vy, x * y)
    close(vx * y, x * y)
    close(y * vx, x * y)
    close(np.asarray(y) * vx, x * y)
    close(vx * 0.25, x * 0.25)
    close(vx.square(), x * x)


def test_integer_scalars_use_no_level(ctx, data):
    x, _ = data
    v = ctx.encrypt(x)
    w = v * 3
    assert w.level == v.level and w.scale == v.scale
    close(w, 3 * x)
    close(v * v + 3 * v, x * x + 3 * x)  # exact scale alignment across levels


def test_levels_align_across_depths(ctx, data):
    x, y = data
    vx, vy = ctx.encrypt(x), ctx.encrypt(y)
    deep = vx * vy * vx
    assert deep.level == ctx.params.max_level - 2
    close(deep + vy, x * y * x + y, bits=14)
    close(vy + deep, x * y * x + y, bits=14)
    close(deep * vy, x * y * x * y, bits=13)


def test_complex_values(ctx):
    z = np.array([1 + 1j, -0.5j, 0.25])
    v = ctx.encrypt(z)
    out = (v * v).decrypt()
    assert np.iscomplexobj(out)
    close(out, z * z)
    assert not np.iscomplexobj(ctx.encrypt([1.0, 2.0]).decrypt())


def test_sizes_follow_the_inputs(ctx, data):
    x, y = data
    v = ctx.encrypt(x[:5])
    assert len(v) == 5 and v.decrypt().shape == (5,)
    assert len(v + y) == 20
    assert len(ctx.encrypt(2.0)) == ctx.slots


def test_depth_runs_out(ctx, data):
    v = ctx.encrypt(data[0])
    for _ in range(ctx.params.max_level):
        v = v * v
    assert v.level == 0
    with pytest.raises(LevelError, match="allow a multiplicative depth of 3"):
        v * v
    with pytest.raises(LevelError, match="needs one more prime"):
        v * 0.5


def test_same_level_scale_mismatch(ctx, data):
    v = ctx.encrypt(data[0])
    w = ctx.encrypt(data[0], scale=2.0**25)
    with pytest.raises(ScaleMismatchError, match="2\\^30.0000 and 2\\^25.0000"):
        v + w


def test_public_copy_encrypts_and_evaluates_but_cannot_decrypt(ctx, data):
    x, y = data
    public = ctx.public_copy()
    assert not public.is_private and ctx.is_private
    v = public.encrypt(x) * ctx.encrypt(y)
    close(ctx.decrypt(v), x * y)
    with pytest.raises(KeyMissingError, match="no secret key"):
        public.decrypt(v)


def test_mixing_contexts_is_refused(ctx, toy, data):
    other = toy(64, (50, 30, 30, 30, 50), 30)
    with pytest.raises(ContextMismatchError):
        ctx.encrypt(data[0]) + other.encrypt(data[0])


def test_bad_inputs_raise_library_errors(ctx):
    with pytest.raises(InputError, match="only 32 slots"):
        ctx.encrypt(np.ones(33))
    with pytest.raises(InputError, match="NaN"):
        ctx.encrypt([np.nan])
    with pytest.raises(InputTypeError):
        ctx.encrypt("hello")
    with pytest.raises(InputTypeError):
        ctx.decrypt([1.0])


def test_operations_leave_operands_unchanged(ctx, data):
    x, y = data
    vx, vy = ctx.encrypt(x), ctx.encrypt(y)
    before = vx.ciphertext.data.copy(), vy.ciphertext.data.copy()
    _ = vx * vy + vx - 2.0 * vy
    assert (vx.ciphertext.data == before[0]).all() and (vy.ciphertext.data == before[1]).all()
    assert vx.level == ctx.params.max_level


def test_seeded_contexts_are_reproducible(toy):
    a = toy(32, (40, 30, 40), 30, seed=7)
    b = toy(32, (40, 30, 40), 30, seed=7)
    assert (a.secret_key.coefficients == b.secret_key.coefficients).all()
    assert (a.encrypt([1.0]).ciphertext.data == b.encrypt([1.0]).ciphertext.data).all()


def test_low_level_classes_are_exported():
    for name in ["Parameters", "KeyGenerator", "Encoder", "Encryptor", "Decryptor", "Evaluator"]:
        assert hasattr(ckks, name)
