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
    assert len(v + y[:5]) == 5
    assert len(ctx.encrypt(2.0)) == ctx.slots


def test_mismatched_sizes_raise_and_size_one_broadcasts(gctx, data):
    """Issue 11 item 2: no silent zero-padding (TenSEAL raises); a size-1 operand is broadcast."""
    x, y = data
    ctx = gctx
    v = ctx.encrypt(x[:4])
    for operation in (lambda: v * [1.0, 2.0], lambda: v + y, lambda: v - [1.0, 2.0], lambda: [1.0, 2.0] - v,
                      lambda: v + ctx.encrypt([2.0, 3.0]), lambda: v * ctx.encrypt(y), lambda: v - ctx.encrypt(y)):
        with pytest.raises(InputError, match="different sizes|sizes must be equal"):
            operation()
    two = ctx.encrypt([2.0])
    close(v + two, x[:4] + 2)
    close(two + v, x[:4] + 2)
    close(two - v, 2 - x[:4])
    close(v * two, 2 * x[:4])
    close(v + [2.0], x[:4] + 2)
    close(v * np.array([0.5]), 0.5 * x[:4])
    close(v - v.sum(), x[:4] - x[:4].sum())


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
    with pytest.raises(InputError, match="one-dimensional"):
        ctx.encrypt(np.ones((2, 3)))
    assert len(ctx.encrypt(np.ones(33)).ciphertexts) == 2  # longer than N/2: chunks (test_tenseal_parity.py)
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


def test_adding_a_scalar_keeps_sums_right(gctx):
    """Issue 11 item 1: (v + 1).sum() gave 4102 instead of 9 (the scalar filled the tail, the flag said zero).

    A scalar now goes only into the vector's own slots when its tail is zero, so the tail stays zero
    and sum() needs no mask; without a zero tail it fills every slot and the flag stays False.
    """
    v = gctx.encrypt([1.0, 2.0, 3.0])
    shifted = v + 1.0
    assert shifted.zero_tail and (v + [1.0, 1.0, 1.0]).zero_tail
    close(shifted.sum(), [9.0], bits=8)
    close((1.0 - v).sum(), [-3.0], bits=8)
    close((v - 0.5).dot(gctx.encrypt([1, 1, 1]) - 0.5), [2.25], bits=8)
    rotated = v.rotate(1)  # the last slot now holds v[0]: the tail is not zero
    assert not rotated.zero_tail
    assert not (rotated + 1.0).zero_tail
    close((rotated + 1.0).sum(), [5.0 + 3.0], bits=8)
    reloaded = ckks.CKKSVector.load(gctx, (v + 1.0).serialize())
    assert reloaded.zero_tail
    close(reloaded.sum(), [9.0], bits=8)


def test_vector_metadata_is_set_once(ctx):
    """zero_tail decides whether sum() may skip its mask: it (and the rest) is fixed at construction."""
    v = ctx.encrypt([1.0, 2.0])
    for name in ("zero_tail", "size", "is_complex", "ciphertext", "context"):
        with pytest.raises(AttributeError):
            setattr(v, name, getattr(v, name))
    assert ckks.CKKSVector(ctx, v.ciphertext, 2, zero_tail=True).zero_tail
    assert not ckks.CKKSVector(ctx, v.ciphertext, 2).zero_tail
    with pytest.raises(InputError, match="size"):
        ckks.CKKSVector(ctx, v.ciphertext, ctx.slots + 1)
    with pytest.raises(InputTypeError, match="ciphertext"):
        ckks.CKKSVector(ctx, v, 2)


def test_matrix_encryption_does_not_touch_the_encrypted_vector(ctx):
    """CKKSMatrix.encrypt builds its own vector (size d^2, no zero tail) instead of editing one."""
    m = ckks.CKKSMatrix.encrypt(ctx, np.eye(4))
    assert m.vector.size == 16 and not m.vector.zero_tail
    np.testing.assert_allclose(m.decrypt(), np.eye(4), atol=1e-3)


def test_default_scale_fits_the_chain():
    """Issue 11 item 3: [40] * 5 and [30] * 3 (SEAL's rotation example) were refused by their own default scale."""
    assert ckks.Parameters(8192, [40, 40, 40, 40, 40]).scale_bits == 39
    assert ckks.Parameters(8192, [30, 30, 30]).scale_bits == 29
    assert ckks.Parameters(8192, [60, 40, 40, 60]).scale_bits == 40  # unchanged where it fitted
    with pytest.raises(ckks.errors.ParameterError, match="leave scale_bits out .* 39 bits"):
        ckks.Parameters(8192, [40, 40, 40, 40, 40], 40)


def test_deepcopy_pow_zero_and_in_place_forms(gctx):
    """Issue 11 items 5 and 6 (TenSEAL parity): deepcopy shares the context; v ** 0 is encrypted ones."""
    import copy

    v = gctx.encrypt([1.0, -2.0, 3.0])
    clone = copy.deepcopy(v)
    assert clone.context is v.context and clone.ciphertext is not v.ciphertext
    close(clone, [1.0, -2.0, 3.0])
    ones = v**0
    close(ones, [1.0, 1.0, 1.0])
    assert ones.zero_tail and ones.level == gctx.params.max_level
    w = v.copy()
    assert w.add_(1.0) is w
    w.mul_(2).neg_()
    close(w, [-4.0, 2.0, -8.0])
    close(v, [1.0, -2.0, 3.0])
    assert v.size() == v.size == 3 and v.shape == [3] and v.scale() == v.scale
    assert v.add(1.0).sub(1.0).mul(2).neg().decrypt().shape == (3,)


def test_long_vectors_are_chunked(gctx):
    """Issue 11 item 7: more values than slots split over ciphertexts; sums and products cross the chunks."""
    slots = gctx.slots
    x = np.linspace(-1, 1, 2 * slots + 5)
    v = gctx.encrypt(x)
    assert len(v.ciphertexts) == 3 and v.size == x.size and v.zero_tail
    with pytest.raises(InputError, match="ciphertexts"):
        _ = v.ciphertext
    close(v, x)
    close(v * x, x * x)
    close(v + 1.0, x + 1.0)
    close((v + 1.0).sum(), [x.sum() + x.size], bits=8)
    close(v.dot(x), [x @ x], bits=8)
    matrix = np.random.default_rng(1).uniform(-1, 1, (x.size, 3))
    close(v.matmul(matrix), x @ matrix, bits=8)
    close(v.polyval([1.0, 0.5]), 1.0 + 0.5 * x)
    with pytest.raises(InputError, match="sizes must be equal"):
        v + x[:-1]
