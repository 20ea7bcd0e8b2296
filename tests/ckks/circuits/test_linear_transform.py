"""Plaintext linear transforms (diagonal and BSGS), vector @ matrix, and Jiang et al. matrix products."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import ckks
from ckks.circuits import linear_transform, matrix_product
from ckks.errors import InputError, LevelError
from ckks.matrix import CKKSMatrix

SLOTS = 4096


@pytest.fixture(scope="module")
def ctx(galois_ctx8192) -> ckks.Context:
    """N = 8192, [60, 40, 40, 60] with the default Galois keys (+-2^i and conjugation)."""
    return galois_ctx8192


@pytest.fixture(scope="module")
def mctx() -> ckks.Context:
    """Three levels within the 128-bit bound of N = 8192, for matrix products (keys added per test)."""
    return ckks.Context(8192, [50, 35, 35, 35, 50], 35)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def err(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# -- vector @ plaintext matrix ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(10, 7), (7, 10), (64, 64), (1, 5), (5, 1), (100, 3)])
@pytest.mark.parametrize("method", ["bsgs", "diagonal"])
def test_matmul_matches_numpy(ctx, rng, shape, method):
    x = rng.uniform(-1, 1, shape[0])
    m = rng.uniform(-1, 1, shape)
    v = ctx.encrypt(x)
    out = v.matmul(m, method=method)
    assert out.size == shape[1] and out.level == v.level - 1
    assert err(out.decrypt(), x @ m) < 1e-5
    assert out.zero_tail  # slots beyond m are zero: a following sum needs no mask
    assert err(out.sum().decrypt(), [(x @ m).sum()]) < 1e-4


def test_matmul_aliases_and_garbage_tail(ctx, rng):
    x = rng.uniform(-1, 1, SLOTS)
    m = rng.uniform(-1, 1, (20, 6))
    dirty = ckks.CKKSVector(ctx, ctx.encrypt(x).ciphertext, 20)  # slots >= 20 hold other values
    expected = x[:20] @ m
    for out in (dirty.matmul(m), dirty.mm(m), dirty @ m):
        assert err(out.decrypt(), expected) < 1e-5


def test_bsgs_needs_fewer_rotations_than_diagonals():
    t = linear_transform.vector_matrix_transform(np.ones((64, 64)), SLOTS)
    assert t.plaintext_multiplications == 127
    assert t.rotations <= 24
    d = linear_transform.vector_matrix_transform(np.ones((64, 64)), SLOTS, method="diagonal")
    assert d.rotations == 126
    # sparse matrices only pay for their non-zero diagonals
    assert linear_transform.vector_matrix_transform(np.eye(64), SLOTS).rotations == 0


def test_matmul_shape_errors_name_the_argument(ctx):
    v = ctx.encrypt(np.ones(5))
    with pytest.raises(InputError, match=r"matrix has shape \(4, 3\).*5 values"):
        v.matmul(np.ones((4, 3)))
    with pytest.raises(InputError, match="matrix must be 2-D"):
        v.matmul(np.ones(5))
    with pytest.raises(ckks.errors.InputTypeError, match="matrix"):
        v.matmul([["a"] * 3] * 5)


def test_matmul_out_of_levels(ctx):
    v = ctx.encrypt(np.ones(4)) * 1.0 * 1.0
    with pytest.raises(LevelError, match="needs 1 levels but the ciphertext is at level 0"):
        v.matmul(np.ones((4, 4)))


def test_linear_transform_on_periodic_input(ctx, rng):
    """A transform on 16-periodic slots: rotations act modulo 16."""
    x = rng.uniform(-1, 1, 16)
    diagonals = {k: rng.uniform(-1, 1, 16) for k in (1, -3, 5)}
    t = linear_transform.LinearTransform(diagonals, SLOTS, period=16)
    ct = ctx.encrypt(np.tile(x, SLOTS // 16)).ciphertext
    out = t.apply(ct, ctx.evaluator, ctx.encoder, ctx.rotator)
    expected = sum(d * np.roll(x, -k) for k, d in diagonals.items())
    got = ctx.encoder.decode(ctx.decryptor.decrypt(out)).real
    assert out.level == ct.level - 1
    assert err(got[:16], expected) < 1e-5 and err(got[16:32], expected) < 1e-5
    with pytest.raises(InputError, match="period"):
        linear_transform.LinearTransform(diagonals, SLOTS, period=24)


# -- encrypted matrix x encrypted matrix (Jiang et al. 2018) -------------------------------------------------


@pytest.mark.parametrize("d", [4, 8, 16, 64])
def test_encrypted_matrix_product_and_transpose(mctx, rng, d):
    mctx.generate_galois_keys(CKKSMatrix.rotation_steps(mctx, d), progress=False)
    a_plain, b_plain = rng.uniform(-1, 1, (d, d)), rng.uniform(-1, 1, (d, d))
    a, b = CKKSMatrix.encrypt(mctx, a_plain), CKKSMatrix.encrypt(mctx, b_plain)
    product = a @ b
    assert product.level == a.level - 3 and product.shape == (d, d)
    assert err(product.decrypt(), a_plain @ b_plain) < 1e-3 * d
    transposed = a.T
    assert transposed.level == a.level - 1
    assert err(transposed.decrypt(), a_plain.T) < 1e-4
    twice = transposed.T
    assert err(twice.decrypt(), a_plain) < 1e-4


def test_matrix_product_composes_from_default_keys(rng):
    """Without the dedicated keys every rotation composes from +-2^i: same result, more key switches."""
    context = ckks.Context(8192, [50, 35, 35, 35, 50], 35)
    context.generate_galois_keys(progress=False)
    a_plain, b_plain = rng.uniform(-1, 1, (8, 8)), rng.uniform(-1, 1, (8, 8))
    product = CKKSMatrix.encrypt(context, a_plain) @ CKKSMatrix.encrypt(context, b_plain)
    assert err(product.decrypt(), a_plain @ b_plain) < 1e-2


def test_matrix_errors(mctx, ctx):
    with pytest.raises(InputError, match="d\\^2 = 9"):
        CKKSMatrix.encrypt(mctx, np.ones((3, 3)))
    with pytest.raises(InputError, match="square"):
        CKKSMatrix.encrypt(mctx, np.ones((4, 8)))
    a4, a8 = CKKSMatrix.encrypt(mctx, np.ones((4, 4))), CKKSMatrix.encrypt(mctx, np.ones((8, 8)))
    with pytest.raises(InputError, match="argument 'other'"):
        a4 @ a8
    shallow = CKKSMatrix.encrypt(ctx, np.ones((4, 4)))  # two levels only
    with pytest.raises(LevelError, match="needs 3 levels"):
        shallow @ shallow


def test_matrix_product_rotation_counts():
    steps = matrix_product.matrix_product_steps(64, SLOTS)
    sigma = matrix_product.sigma_transform(64, SLOTS)
    tau = matrix_product.tau_transform(64, SLOTS)
    assert sigma.plaintext_multiplications == 127 and tau.plaintext_multiplications == 64
    assert sigma.rotations < 30 and tau.rotations < 20  # baby-step giant-step: O(sqrt d)
    assert set(sigma.rotation_steps) <= set(steps) and 64 in steps and -63 in steps


def test_transforms_are_not_shared_between_parameter_sets(toy, rng):
    """Same N and scale, other primes: the second context must not get the first one's encoded diagonals."""
    plain = rng.uniform(-1, 1, (4, 4))
    for bits in ([40, 20, 20, 20, 40], [45, 20, 20, 20, 45]):
        context = toy(1024, bits, 20)
        context.generate_galois_keys(CKKSMatrix.rotation_steps(context, 4), progress=False)
        transposed = CKKSMatrix.encrypt(context, plain).T
        # Scale 2^20 at N = 1024 leaves about 7 bits after a key switch; another context's diagonals
        # would give errors of order 1 (or raise ContextMismatchError, as before the fix).
        assert err(transposed.decrypt(), plain.T) < 5e-2
    encoder = weakref.ref(context.encoder)
    del context, transposed
    gc.collect()
    assert encoder() is None  # the per-context cache of the transforms does not keep a context alive
