"""Autograder: the packed transpose. Values, rotation counts and levels are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): no secret key,
# the library's matrix code (ckks.circuits.matrix_product, CKKSMatrix, nn's training packing)
# out of reach, every rotation counted as a key switch inside the library.
FORBIDDEN = ["ckks.circuits", "ckks.matrix", "ckks.scheme", "ckks.ring", "nn"]
DISABLED = [
    "CKKSVector.matmul",
    "CKKSVector.__matmul__",
    "CKKSVector.mm",
    "CKKSVector.mm_",
    "CKKSVector.enc_matmul_plain",
    "CKKSVector.bootstrap",
]
REASON = "build the transpose from rotate, + and plaintext masks yourself"
TIME_LIMIT = 60.0
SIZES = [4, 8, 16]
SLOTS = 256


@pytest.fixture(scope="module")
def ctx():
    # a teaching ring (security=None): 256 slots, two levels; a key for every multiple of d - 1
    steps = {m * (d - 1) % SLOTS for d in SIZES for m in range(-2 * d, 2 * d + 1)} - {0}
    return grading_context(512, [50, 30, 30, 50], 30, galois_steps=sorted(steps))


def packed(matrix: np.ndarray, slots: int = SLOTS) -> np.ndarray:
    out = np.zeros(slots)
    out[: matrix.size] = matrix.ravel()
    return out


def problem(ctx, d: int, seed: int):
    a = fresh_rng().uniform(-1, 1, (d, d))
    return a, ctx.encrypt(packed(a))


def check(student, v, result, want: np.ndarray, d: int, bound: int, what: str) -> None:
    rotations = student.counts["rotations"]
    got = np.real(np.asarray(result.decrypt()))
    error = np.abs(got - packed(want))
    if not np.allclose(got[: d * d], packed(want)[: d * d], atol=1e-3):
        wrong = int(np.argmax(error[: d * d]))
        i, j = divmod(wrong, d)
        pytest.fail(
            f"{what} is wrong for d = {d}: slot {wrong} (row {i}, column {j}) should hold A[{j}, {i}] = "
            f"{want[i, j]:.4f}, got {got[wrong]:.4f}. Hints: slot d i + j reads slot d j + i, an offset of "
            f"(d - 1)(j - i); rot(v, r)[l] = v[l + r]; mask AFTER rotating (the mask marks output slots)"
        )
    tail = float(np.max(error[d * d :], initial=0.0))
    assert tail < 1e-3, (
        f"{what} for d = {d}: the slots beyond d^2 = {d * d} must stay zero (got up to {tail:.3f}); "
        "a mask must be zero outside the output slots it selects"
    )
    assert rotations <= bound, f"{what} for d = {d}: {rotations} rotations, the bound is {bound}"
    used = v.level - result.level
    assert used <= 1, (
        f"{what} for d = {d} used {used} levels; one plaintext product per term (the mask) is one level: multiply "
        "each rotation by its mask once, and fold any constant factor into the masks"
    )


@pytest.mark.parametrize("d", [4, 8])
def test_transpose_masks(student, d):
    a = fresh_rng().uniform(-1, 1, (d, d))
    masks = student.transpose_masks(d, SLOTS)
    assert isinstance(masks, dict), "transpose_masks should return a dict {rotation step: mask}"
    x = packed(a)
    got = sum(np.asarray(mask, dtype=float) * np.roll(x, -int(step)) for step, mask in masks.items())
    assert np.allclose(got, packed(a.T)), (
        f"sum_r mask_r * rot(x, r) is not the transpose for d = {d}: output slot d i + j must read input slot "
        "d j + i, so the step is (d - 1)(j - i) and mask_r is 1 exactly on the output slots with that step "
        "(rot(x, r) = np.roll(x, -r))"
    )
    assert len(masks) <= 2 * d - 1, f"{len(masks)} steps for d = {d}: j - i takes only 2d - 1 = {2 * d - 1} values"


@pytest.mark.weight(2)
@pytest.mark.parametrize("d", SIZES)
def test_transpose_diagonal(student, ctx, d):
    a, v = problem(ctx, d, d)
    result = student.transpose_diagonal(v, d)
    check(student, v, result, a.T, d, 2 * d - 1, "the transpose")


@pytest.mark.weight(2)
def test_transpose_scaled(student, ctx):
    d, factor = 8, -0.05
    a, v = problem(ctx, d, 99)
    result = student.transpose_scaled(v, d, factor)
    check(student, v, result, factor * a.T, d, 2 * d - 1, f"{factor} * A^T")


@pytest.mark.weight(2)
@pytest.mark.parametrize("d", [8, 16])
def test_transpose_bsgs(student, ctx, d):
    a, v = problem(ctx, d, 100 + d)
    result = student.transpose_bsgs(v, d)
    bound = 2 * math.ceil(math.sqrt(2 * d))
    check(student, v, result, a.T, d, bound, "the baby-step giant-step transpose")
