"""Autograder: the encrypted soft-argmax. Levels, errors and argmax agreement are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckks
from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): no secret key,
# the library's polynomial evaluation switched off, nn (nn.encrypted.softargmax) and
# ckks.circuits out of reach.
FORBIDDEN = ["ckks.circuits", "ckks.scheme", "ckks.ring", "nn"]
DISABLED = [
    "CKKSVector.polyval",
    "CKKSVector.polyval_",
    "CKKSVector.chebval",
    "CKKSVector.pow",
    "CKKSVector.pow_",
    "CKKSVector.__pow__",
    "CKKSVector.bootstrap",
]
REASON = "build exp and the inverse from +, - and * yourself"
TIME_LIMIT = 60.0
AGREEMENT = 0.98  # argmax of the encrypted softmax = argmax of the logits, on random samples
MAX_ERROR = 1e-2  # max |p_i - softmax(z)_i|


@pytest.fixture(scope="module")
def ctx():
    # a teaching ring (security=None): 256 slots (samples), 13 levels of 40 bits
    return grading_context(512, [60] + [40] * 13 + [60], 40)


def run(function, *args):
    try:
        return function(*args)
    except ckks.errors.LevelError as error:
        pytest.fail(f"ran out of levels ({error}): count the levels of each step against the budget")
    except ckks.errors.ScaleMismatchError as error:
        pytest.fail(
            f"scale mismatch ({error}). Multiply only operands at the same level, and use u * 1.0 to move u down "
            "one level at the canonical scale"
        )


def decrypted(result, n: int) -> np.ndarray:
    return np.real(np.asarray(result.decrypt()))[:n]


@pytest.mark.parametrize(
    ("low", "high", "classes"),
    [(-1.0, 1.0, 3), (-2.0, 2.0, 4), (0.0, 5.0, 10)],
    ids=["classes3", "classes4", "classes10"],
)
def test_denominator_range(student, low, high, classes):
    want = (classes * math.exp(low - high), float(classes))
    got = tuple(float(b) for b in student.denominator_range(low, high, classes))
    assert np.allclose(got, want, rtol=1e-9), (
        f"for {classes} logits in [{low:g}, {high:g}], S = sum_i exp(z_i - high) lies in {want}, got {got}: each "
        "term is between exp(low - high) (z_i = low) and 1 (z_i = high)"
    )


@pytest.mark.weight(2)
@pytest.mark.parametrize(
    ("low", "high", "depth", "bound"), [(-1.0, 1.0, 3, 2e-2), (-2.0, 2.0, 4, 2e-3)], ids=["width2", "width4"]
)
def test_exp(student, ctx, low, high, depth, bound):
    x = fresh_rng().uniform(low, high, ctx.slots)
    x[:2] = low, high
    v = ctx.encrypt(x)
    result = run(student.exp_shifted, v, low, high, depth)
    used = v.level - result.level
    assert used <= depth, (
        f"exp on [{low:g}, {high:g}] used {used} levels, the budget is {depth}: one for the map to [-1, 1], "
        f"ceil(log2(d + 1)) for degree d (degree {2 ** (depth - 1) - 1} fits)"
    )
    want = np.exp(x - high)
    error = np.max(np.abs(decrypted(result, x.size) / want - 1))
    assert error <= bound, (
        f"exp(x - high) on [{low:g}, {high:g}] with {depth} levels: relative error {error:.1e}, the bound is "
        f"{bound:.0e}. Fit the shifted exponential on the whole interval (Chebyshev interpolation), at the highest "
        "degree the budget allows; a Taylor series around 0 loses accuracy at the ends"
    )


@pytest.mark.weight(2)
@pytest.mark.parametrize(
    ("low", "high", "depth", "bound"), [(0.5, 2.0, 5, 1e-3), (4 * math.exp(-4), 4.0, 8, 1e-2)], ids=["narrow", "wide"]
)
def test_inverse(student, ctx, low, high, depth, bound):
    x = fresh_rng().uniform(low, high, ctx.slots)
    x[:2] = low, high
    v = ctx.encrypt(x)
    result = run(student.inverse, v, low, high, depth)
    used = v.level - result.level
    assert used <= depth, (
        f"1/x on [{low:.3g}, {high:g}] used {used} levels, the budget is {depth}. Newton (v <- v (2 - x v)) costs two "
        "levels a step, Goldschmidt (v <- v (1 + e), e <- e^2, e_0 = 1 - x v_0) one"
    )
    error = np.max(np.abs(decrypted(result, x.size) * x - 1))
    worst = x[np.argmax(np.abs(decrypted(result, x.size) * x - 1))]
    assert error <= bound, (
        f"1/x on [{low:.3g}, {high:g}] with {depth} levels: relative error {error:.1e} (at x = {worst:.3g}), the bound "
        f"is {bound:.0e}. Each iteration squares the relative error e_0 = 1 - x v_0 of the initial guess: with a "
        "constant guess e_0 is close to 1 when high/low is large, so spend levels on a better initial guess (a "
        "Chebyshev fit of 1/x on [low, high]) and make sure |e_0| < 1 over the WHOLE interval, ends included"
    )


@pytest.mark.weight(4)
@pytest.mark.parametrize(
    ("classes", "low", "high", "depth"), [(3, -1.0, 1.0, 10), (4, -2.0, 2.0, 13)], ids=["classes3", "classes4"]
)
def test_soft_argmax(student, ctx, classes, low, high, depth):
    rng = fresh_rng()
    z = rng.uniform(low, high, (ctx.slots, classes))
    z[0], z[1], z[2], z[3] = low, high, low, high  # the extremes of the denominator
    z[2, 0], z[3, 0] = high, low
    logits = [ctx.encrypt(z[:, i]) for i in range(classes)]
    result = run(student.soft_argmax, logits, low, high, depth)
    assert len(result) == classes, f"return one vector of probabilities per class ({classes}), got {len(result)}"
    used = max(logits[0].level - r.level for r in result)
    assert used <= depth, (
        f"{used} levels for {classes} classes, the budget is {depth}: exp, then 1/S, then one product e_i * (1/S)"
    )
    p = np.stack([decrypted(r, ctx.slots) for r in result], axis=1)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True)
    error = np.max(np.abs(p - want))
    row = int(np.argmax(np.max(np.abs(p - want), axis=1)))
    assert error <= MAX_ERROR, (
        f"max error {error:.1e} against softmax (sample with logits {np.round(z[row], 2).tolist()}), the bound is "
        f"{MAX_ERROR:.0e}. Check each part: exp(z - high), S in [C e^(low - high), C], 1/S on that whole range"
    )
    random_rows = slice(4, None)
    agreement = float(np.mean(p[random_rows].argmax(axis=1) == z[random_rows].argmax(axis=1)))
    assert agreement >= AGREEMENT, f"argmax agrees on {agreement:.1%} of the samples, the target is {AGREEMENT:.0%}"
