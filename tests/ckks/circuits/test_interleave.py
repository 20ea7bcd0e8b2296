"""Interleaved packing: B copies of an S/B-slot circuit in one ciphertext (`ckks.circuits.interleave`)."""

from __future__ import annotations

import numpy as np
import pytest

from ckks.circuits import interleave as il
from ckks.circuits.linear_transform import vector_matrix_transform
from ckks.errors import InputError, InputTypeError

N = 256  # S = 128 slots
COPIES = 8  # S' = 16 slots per copy


@pytest.fixture(scope="module")
def ictx(toy):
    context = toy(N, (50, 30, 30, 50), 30, seed=5)
    steps = il.physical_steps(range(-15, 16), COPIES, context.slots)
    context.generate_galois_keys(steps=steps, progress=False)
    return context


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(3).uniform(-1, 1, (COPIES, 16))


def test_interleave_puts_value_i_of_copy_j_at_slot_i_times_b_plus_j(rows):
    v = il.interleave(rows, 128)
    assert v.shape == (128,)
    for j in range(COPIES):
        for i in range(16):
            assert v[i * COPIES + j] == rows[j, i]
    np.testing.assert_array_equal(il.deinterleave(v, COPIES), rows)


def test_short_rows_are_zero_padded():
    v = il.interleave(np.ones((4, 3)), 64)
    np.testing.assert_array_equal(il.deinterleave(v, 4)[:, 3:], 0)
    np.testing.assert_array_equal(il.deinterleave(v, 4)[:, :3], 1)


def test_physical_steps_are_multiples_of_the_copies_modulo_the_ring():
    assert il.physical_steps([1, -1, 16, 0, 17], 8, 128) == [8, 120]


def test_rotating_the_view_rotates_every_copy_cyclically(ictx, rows):
    rot = il.InterleavedRotator(ictx.rotator, COPIES)
    ct = ictx.encrypt(il.interleave(rows, ictx.slots)).ciphertext
    for k in (1, 3, -5, 15):
        got = il.deinterleave(_decrypt(ictx, rot.rotate(ct, k)), COPIES).real
        np.testing.assert_allclose(got, np.roll(rows, -k, axis=1), atol=1e-4)
    many = rot.rotate_many(ct, [2, -2])
    np.testing.assert_allclose(il.deinterleave(_decrypt(ictx, many[-2]), COPIES).real, np.roll(rows, 2, axis=1),
                               atol=1e-4)


def test_a_linear_transform_of_s_prime_slots_acts_on_every_copy(ictx, rows):
    """M built for 16 slots, applied through the views, is M (x) I_B: every copy gets x_j @ M."""
    m = np.random.default_rng(4).uniform(-1, 1, (16, 10))
    t = vector_matrix_transform(m, 16)
    enc, rot = il.InterleavedEncoder(ictx.encoder, COPIES), il.InterleavedRotator(ictx.rotator, COPIES)
    ct = ictx.encrypt(il.interleave(rows, ictx.slots)).ciphertext
    out = t.apply(ct, ictx.evaluator, enc, rot)
    got = il.deinterleave(_decrypt(ictx, out), COPIES).real
    np.testing.assert_allclose(got[:, :10], rows @ m, atol=1e-3)
    np.testing.assert_allclose(got[:, 10:], 0, atol=1e-3)


def test_the_encoder_view_repeats_a_vector_in_every_copy(ictx):
    enc = il.InterleavedEncoder(ictx.encoder, COPIES)
    plain = enc.encode(np.arange(5.0), 2.0**30, 1)
    np.testing.assert_allclose(enc.decode(plain).real, np.tile(np.r_[np.arange(5.0), np.zeros(11)], (COPIES, 1)),
                               atol=1e-6)
    assert enc.slots == 16 and enc.params.slots == 16 and enc.params.poly_degree == N


def _decrypt(ctx, ct) -> np.ndarray:
    from ckks.vector import CKKSVector

    return np.asarray(CKKSVector(ctx, ct, ctx.slots).decrypt())


@pytest.mark.parametrize("copies", [3, 6, 256])
def test_copies_must_be_a_power_of_two_dividing_the_slots(copies):
    with pytest.raises(InputError, match="power of two"):
        il.check_copies(copies, 128)


def test_bad_inputs_are_refused_with_what_to_do(ictx):
    with pytest.raises(InputTypeError):
        il.check_copies(2.5, 128)
    with pytest.raises(InputError, match="hold 16 values"):
        il.interleave(np.ones((8, 17)), 128)
    with pytest.raises(InputError, match="2-D"):
        il.interleave(np.ones(8), 128)
    with pytest.raises(InputError, match="at most 16 values"):
        il.InterleavedEncoder(ictx.encoder, COPIES).encode(np.ones(17), 2.0**30, 1)
    with pytest.raises(InputError, match="power of two"):
        il.InterleavedRotator(ictx.rotator, 6)
