"""Autograder: the encrypted dense layer. Values, levels and rotation counts are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): no secret key,
# the library's matrix products switched off and out of reach, every rotation counted (as a key
# switch inside the library).
FORBIDDEN = ["ckks.circuits", "ckks.matrix", "ckks.scheme", "ckks.ring", "nn"]
DISABLED = [
    "CKKSVector.matmul",
    "CKKSVector.__matmul__",
    "CKKSVector.mm",
    "CKKSVector.mm_",
    "CKKSVector.enc_matmul_plain",
    "CKKSVector.sum",
    "CKKSVector.dot",
]
REASON = "build the matrix-vector product from rotate, + and * yourself"
TIME_LIMIT = 60.0
SIZES = [8, 16, 64]


@pytest.fixture(scope="module")
def ctx():
    # a teaching ring (security=None): 128 slots, a key for every rotation 1 .. 63
    return grading_context(256, [40, 30, 40], 30, galois_steps=list(range(1, 64)))


def problem(ctx, n: int, seed: int):
    rng = fresh_rng()
    w = rng.uniform(-1, 1, (n, n))
    x = rng.uniform(-1, 1, n)
    return w, x, ctx.encrypt(np.tile(x, ctx.slots // n))


def first(result, n: int) -> np.ndarray:
    return np.asarray(result.decrypt())[:n]


def test_diagonals(student):
    w = np.arange(16.0).reshape(4, 4)
    got = [list(np.asarray(d, dtype=float)) for d in student.diagonals(w)]
    want = [[0, 5, 10, 15], [1, 6, 11, 12], [2, 7, 8, 13], [3, 4, 9, 14]]
    if got and got[1] == [4, 9, 14, 3]:
        pytest.fail("diagonal 1 should be W[j, j+1 mod n] (above the main diagonal, wrapping), not W[j+1, j]")
    assert got == want, f"the diagonals of [[0..3], [4..7], ...] are {want}, got {got}: d_i[j] = W[j, (j + i) mod n]"


@pytest.mark.weight(2)
@pytest.mark.parametrize("n", SIZES)
def test_diagonal_method(student, ctx, n):
    w, x, v = problem(ctx, n, n)
    result = student.matvec_diagonal(v, w)
    rotations = student.counts["rotations"]
    got = first(result, n)
    assert np.allclose(got, w @ x, atol=1e-3), (
        f"W x is wrong for n = {n} (max error {np.max(np.abs(got - w @ x)):.2e}). Hints: rotate the input by i "
        "and multiply by diagonal i repeated over all the slots (np.tile); rot(v, i)[j] = v[j + i]"
    )
    assert rotations <= n - 1, f"{rotations} rotations for n = {n}: the diagonal method needs n - 1 = {n - 1}"
    assert v.level - result.level == 1, f"one plaintext product is one level; you used {v.level - result.level}"


@pytest.mark.weight(3)
@pytest.mark.parametrize("n", SIZES)
def test_baby_step_giant_step(student, ctx, n):
    w, x, v = problem(ctx, n, 100 + n)
    result = student.matvec_bsgs(v, w)
    rotations = student.counts["rotations"]
    got = first(result, n)
    assert np.allclose(got, w @ x, atol=1e-3), (
        f"W x is wrong for n = {n} (max error {np.max(np.abs(got - w @ x)):.2e}). Hints: with k = j g + i, "
        "rotate the diagonal d_k RIGHT by j g (np.roll(d, j * g)) before multiplying it with rot(v, i), then "
        "rotate the inner sum left by j g"
    )
    bound = 2 * math.ceil(math.sqrt(n))
    assert rotations <= bound, (
        f"{rotations} rotations for n = {n}; baby-step giant-step needs at most {bound}: g - 1 baby steps "
        "rot(v, i), reused for every giant step, and n/g - 1 giant steps"
    )
    assert v.level - result.level == 1, f"still one level: you used {v.level - result.level}"


@pytest.mark.parametrize("n", [16, 64])
def test_dense_layer(student, ctx, n):
    w, x, v = problem(ctx, n, 200 + n)
    b = fresh_rng().uniform(-1, 1, n)
    result = student.dense(v, w, b)
    rotations = student.counts["rotations"]
    got = first(result, n)
    assert np.allclose(got, w @ x + b, atol=1e-3), "W x + b is wrong: add the bias, repeated like the input"
    assert rotations <= 2 * math.ceil(math.sqrt(n)), f"{rotations} rotations: use your BSGS product"
    assert v.level - result.level == 1, "adding a plaintext bias costs no level"
