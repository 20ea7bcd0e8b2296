"""Autograder: EvalMod, the scaled cosine and the double angles. Levels, max error and precision are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial import chebyshev, polynomial

import ckks
from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): no secret key,
# the library's polynomial evaluation and bootstrapping switched off, ckks.circuits (where the
# library's own EvalMod lives, ckks.circuits.bootstrapping.eval_mod) out of reach.
FORBIDDEN = ["ckks.circuits", "ckks.scheme", "ckks.ring", "nn"]
DISABLED = [
    "CKKSVector.polyval",
    "CKKSVector.polyval_",
    "CKKSVector.chebval",
    "CKKSVector.pow",
    "CKKSVector.pow_",
    "CKKSVector.__pow__",
    "CKKSVector.bootstrap",
    "Context.for_bootstrapping",
]
REASON = "compute the coefficients yourself (numpy is fine) and evaluate them with +, - and *"
TIME_LIMIT = 60.0

# (K, degree d, double angles r, target precision in bits against sin(2 pi y) / (2 pi))
# the level budget is ceil(log2(d + 1)) + r + 2; the reference solution reaches (bits):
# 16.7, 14.6, 23.4 (CKKS noise: the polynomial alone gives 28), 23.1 (the polynomial alone: 46)
CASES = [(4, 15, 2, 15.0), (8, 15, 3, 13.0), (8, 15, 4, 20.0), (8, 31, 3, 20.0)]
IDS = [f"K{k}-d{d}-r{r}" for k, d, r, _ in CASES]
#: |m / q_0| of the inputs of test_eval_mod ("near the integers") and of test_mod_reduction
NEAR = 1 / 16
SMALL = 2.0**-10


def budget(degree: int, steps: int) -> int:
    return math.ceil(math.log2(degree + 1)) + steps + 2


def cosine(y, steps: int):
    return np.cos(2 * np.pi * (np.asarray(y, dtype=float) - 0.25) / 2**steps)


def reference_coefficients(k: int, degree: int, steps: int) -> np.ndarray:
    return chebyshev.chebinterpolate(lambda x: cosine(k * x, steps), degree)


def reference_chain(y, k: int, degree: int, steps: int):
    c = chebyshev.chebval(np.asarray(y, dtype=float) / k, reference_coefficients(k, degree, steps))
    for _ in range(steps):
        c = 2 * c * c - 1
    return c / (2 * np.pi)


def near_integers(k: int, size: int, width: float, seed: int) -> np.ndarray:
    """y = I + f: I a random integer with |I| < K (both extremes included), |f| <= width."""
    rng = fresh_rng()
    integers = rng.integers(-k + 1, k, size)
    integers[:2] = -k + 1, k - 1
    fractions = rng.uniform(-width, width, size)
    fractions[2:4] = -width, width
    return integers + fractions


def bits(error: float) -> float:
    return -math.log2(max(error, 2.0**-60))


@pytest.fixture(scope="module")
def ctx():
    # a teaching ring (security=None): 512 slots, twelve 40-bit levels (two more than any budget)
    return grading_context(1024, [60] + [40] * 12 + [60], 40)


def test_scaled_cosine(student):
    y = np.linspace(-8, 8, 161)
    for k, steps in ((8, 3), (4, 0)):
        got = np.asarray(student.scaled_cosine(y, k, steps), dtype=float)
        want = cosine(y, steps)
        assert got.shape == want.shape, "scaled_cosine(y, K, r) should return one value per y"
        hint = ""
        if np.allclose(got, np.cos(2 * np.pi * y / 2**steps), atol=1e-9):
            hint = " You forgot the shift by 1/4: cos(2 pi (y - 1/4)) = sin(2 pi y), the form the double angles need."
        elif np.allclose(got, np.sin(2 * np.pi * y / 2**steps), atol=1e-9):
            hint = " Scale first, then take the cosine: sin(2 pi y / 2^r) doubled r times is not sin(2 pi y)."
        assert np.allclose(got, want, atol=1e-9), (
            f"scaled_cosine(y, K={k}, r={steps}) is wrong (max error {np.max(np.abs(got - want)):.2e}); it is "
            f"cos(2 pi (y - 1/4) / 2^r), which r double angles turn into cos(2 pi (y - 1/4)) = sin(2 pi y).{hint}"
        )


@pytest.mark.weight(2)
@pytest.mark.parametrize(("k", "degree", "steps"), [(8, 15, 3), (4, 15, 2)], ids=["K8-d15-r3", "K4-d15-r2"])
def test_cosine_coefficients(student, k, degree, steps):
    a = np.asarray(student.cosine_coefficients(k, degree, steps), dtype=float).reshape(-1)
    assert a.size == degree + 1, (
        f"cosine_coefficients(K={k}, d={degree}, r={steps}) should return {degree + 1} Chebyshev coefficients "
        f"a_0 .. a_{degree}, got {a.size}"
    )
    x = np.linspace(-1, 1, 4001)
    want = cosine(k * x, steps)
    error = np.max(np.abs(chebyshev.chebval(x, a) - want))
    best = np.max(np.abs(chebyshev.chebval(x, reference_coefficients(k, degree, steps)) - want))
    hint = ""
    if np.max(np.abs(polynomial.polyval(x, a) - want)) <= 3 * best + 1e-12:
        hint = (
            " Your coefficients are those of the POWER basis (x^i); the grader wants the CHEBYSHEV basis T_i(x): the "
            "power coefficients of a degree-31 series reach 2^30 and their rounding errors would swamp the result"
        )
    elif np.max(np.abs(chebyshev.chebval(x, a) - cosine(x, steps))) <= 3 * best + 1e-12:
        hint = " You fitted c_0(x); the series is in x = y / K, so fit c_0(K x) on [-1, 1]"
    assert error <= 3 * best + 1e-12, (
        f"the degree-{degree} series of the scaled cosine (K = {k}, r = {steps}) is off by up to {error:.2e} on "
        f"[-1, 1]; Chebyshev interpolation of that degree gets {best:.2e}. The coefficients a_i are those of "
        f"sum_i a_i T_i(x) ~ cos(2 pi (K x - 1/4) / 2^r), x = y / K in [-1, 1] (numpy.polynomial.chebyshev."
        f"chebinterpolate does it).{hint}"
    )


def test_double_angles(student):
    theta = np.linspace(-3, 3, 61)
    for steps in (1, 3):
        got = np.asarray(student.double_angles(np.cos(theta), steps), dtype=float)
        want = np.cos(2**steps * theta)
        assert np.allclose(got, want, atol=1e-9), (
            f"double_angles(cos(theta), {steps}) should be cos(2^{steps} theta) (max error "
            f"{np.max(np.abs(got - want)):.2e}): apply c -> 2 c^2 - 1 {steps} times"
        )


@pytest.mark.weight(2)
def test_error_growth(student):
    for steps in (1, 2, 3, 4):
        got = float(student.error_growth(steps))
        want = 4.0**steps
        hint = ""
        if math.isclose(got, 2.0**steps, rel_tol=1e-6):
            hint = " The angle doubles, but the error is multiplied by the derivative: d(2c^2 - 1)/dc = 4c, up to 4."
        assert math.isclose(got, want, rel_tol=1e-6), (
            f"error_growth({steps}) = {got:g}: an error e in c_0 becomes about |4 c| e after one double angle "
            f"(2 (c + e)^2 - 1 = 2 c^2 - 1 + 4 c e + 2 e^2), so up to {want:g} e after {steps}: the series must be "
            f"that much more precise than the result.{hint}"
        )


@pytest.mark.weight(2)
@pytest.mark.parametrize(("k", "degree", "steps"), [(8, 15, 3), (8, 15, 4)], ids=["K8-d15-r3", "K8-d15-r4"])
def test_eval_mod_plain(student, k, degree, steps):
    y = np.linspace(-k + 0.5, k - 0.5, 2001)
    got = np.asarray(student.eval_mod_plain(y, k, degree, steps), dtype=float)
    want = np.sin(2 * np.pi * y) / (2 * np.pi)
    error = np.max(np.abs(got - want))
    best = np.max(np.abs(reference_chain(y, k, degree, steps) - want))
    hint = ""
    if np.max(np.abs(got * 2 * np.pi - want)) <= 2 * best + 1e-12:
        hint = " You forgot the final factor 1 / (2 pi)."
    assert error <= 2 * best + 1e-12, (
        f"eval_mod_plain(y, K={k}, d={degree}, r={steps}) is off from sin(2 pi y) / (2 pi) by up to {error:.2e} "
        f"({bits(error):.1f} bits); the chain can reach {best:.2e} ({bits(best):.1f} bits). It is: x = y / K, the "
        f"Chebyshev series at x, {steps} double angles, then / (2 pi).{hint}"
    )


def _run(student, ctx, y, k, degree, steps):
    v = ctx.encrypt(y / k)
    try:
        result = student.eval_mod(v, k, degree, steps)
    except ckks.errors.LevelError as error:
        pytest.fail(
            f"eval_mod(K={k}, d={degree}, r={steps}) ran out of levels ({error}); the budget is "
            f"{budget(degree, steps)}. The three-term recurrence T_(i+1) = 2 x T_i - T_(i-1) (and Clenshaw, Horner) "
            "use one level per degree: build T_2j = 2 T_j^2 - 1 and T_(j+k) = 2 T_j T_k - T_(j-k) instead"
        )
    except ckks.errors.ScaleMismatchError as error:
        pytest.fail(
            f"scale mismatch ({error}). Before multiplying two ciphertexts at different levels, bring the higher one "
            "down with u * 1.0 (one level each): then all terms at one level have the same scale and add up"
        )
    used = v.level - result.level
    allowed = budget(degree, steps)
    assert used <= allowed, (
        f"eval_mod(K={k}, d={degree}, r={steps}) used {used} levels; the budget is {allowed}: "
        f"ceil(log2(d + 1)) = {math.ceil(math.log2(degree + 1))} for the T_i, 1 for the coefficients, {steps} for "
        "the double angles, 1 for 1 / (2 pi). Use the degree given (a higher one costs a level), and multiply by a "
        "non-integer constant only where the budget counts it (2 c is an integer product: free)"
    )
    return result


@pytest.mark.weight(3)
@pytest.mark.parametrize(("k", "degree", "steps", "target"), CASES, ids=IDS)
def test_eval_mod(student, ctx, k, degree, steps, target):
    y = near_integers(k, ctx.slots, NEAR, 100 * k + degree + steps)
    result = _run(student, ctx, y, k, degree, steps)
    got = np.real(np.asarray(result.decrypt()))[: y.size]
    want = np.sin(2 * np.pi * y) / (2 * np.pi)
    error = np.max(np.abs(got - want))
    worst = y[np.argmax(np.abs(got - want))]
    assert bits(error) >= target, (
        f"eval_mod(K={k}, d={degree}, r={steps}): max error {error:.2e} against sin(2 pi y) / (2 pi) on inputs "
        f"within {NEAR:g} of the integers (worst at y = {worst:.4f}), that is {bits(error):.1f} bits; the target is "
        f"{target:g} bits. Check the plaintext chain first (test_eval_mod_plain); if it passes, the encrypted "
        "evaluation differs from it: the Chebyshev basis (not powers), the coefficients of x = y / K, and every "
        "double angle on the series' output"
    )


@pytest.mark.weight(2)
def test_mod_reduction(student, ctx):
    k, degree, steps, target = 8, 31, 3, 20.0
    y = near_integers(k, ctx.slots, SMALL, 7)
    result = _run(student, ctx, y, k, degree, steps)
    got = np.real(np.asarray(result.decrypt()))[: y.size]
    fraction = y - np.round(y)
    error = np.max(np.abs(got - fraction))
    assert bits(error) >= target, (
        f"for y = I + m/q_0 with |m/q_0| <= 2^-10 the result should be y mod 1 = m/q_0 to {target:g} bits (the sine "
        f"itself is off by only (2 pi m/q_0)^2 / 6 relative); you reach {bits(error):.1f} bits (max error "
        f"{error:.2e}). This is what bootstrapping needs: the integer part I removed, the message kept"
    )
