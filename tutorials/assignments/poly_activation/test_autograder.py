"""Autograder: a polynomial activation under a level budget. Levels and the max error are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial import chebyshev, polynomial

import ckks
from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): no secret key,
# the library's polynomial evaluation switched off and its modules (ckks.circuits.polynomial,
# ckks.circuits.chebyshev) out of reach.
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
REASON = "fit the polynomial yourself (numpy is fine) and evaluate it with +, - and *"
TIME_LIMIT = 60.0

# (function, low, high, level budget, max error allowed on [low, high])
CASES = [
    ("sigmoid", -4.0, 4.0, 4, 5e-3),
    ("tanh", -3.0, 3.0, 4, 4e-2),
    ("gelu", -4.0, 4.0, 5, 1e-3),
    ("silu", -6.0, 6.0, 5, 4e-3),
    ("sigmoid", -8.0, 8.0, 5, 4e-3),
]
IDS = [f"{name}{int(high)}" for name, _, high, _, _ in CASES]


def exact(name: str, x: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "silu":
        return x / (1.0 + np.exp(-x))
    if name == "gelu":
        return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
    return np.tanh(x)


@pytest.fixture(scope="module")
def ctx():
    # a teaching ring (security=None): 512 slots, 5 levels of 40 bits
    return grading_context(1024, [60, 40, 40, 40, 40, 40, 60], 40)


@pytest.mark.parametrize("name", ["sigmoid", "silu", "gelu", "tanh"])
def test_activation_function(student, name):
    x = np.linspace(-5, 5, 41)
    got = np.asarray(student.activation_function(name, x), dtype=float)
    want = exact(name, x)
    assert got.shape == want.shape, f"activation_function({name!r}, x) should return one value per x"
    hint = " GELU is x * Phi(x) = x (1 + erf(x / sqrt 2)) / 2 (math.erf; numpy has no erf)" if name == "gelu" else ""
    assert np.allclose(got, want, atol=1e-9), f"{name}(x) is wrong (max error {np.max(np.abs(got - want)):.2e}).{hint}"


@pytest.mark.weight(2)
@pytest.mark.parametrize(
    ("name", "low", "high", "degree"), [("sigmoid", -8.0, 8.0, 7), ("gelu", -4.0, 4.0, 15)], ids=["sigmoid8", "gelu4"]
)
def test_fit(student, name, low, high, degree):
    coefficients = np.asarray(student.fit(name, low, high, degree), dtype=float).reshape(-1)
    assert coefficients.size == degree + 1, (
        f"fit(..., degree={degree}) should return {degree + 1} coefficients c_0 .. c_{degree}, got {coefficients.size}"
    )
    x = np.linspace(low, high, 4001)
    y = (2 * x - low - high) / (high - low)
    error = np.max(np.abs(polynomial.polyval(y, coefficients) - exact(name, x)))
    series = chebyshev.chebinterpolate(lambda t: exact(name, (t * (high - low) + low + high) / 2), degree)
    best = np.max(np.abs(chebyshev.chebval(y, series) - exact(name, x)))
    assert error <= 3 * best, (
        f"the degree-{degree} fit of {name} on [{low:g}, {high:g}] is off by up to {error:.2e}; a good fit of that "
        f"degree gets {best:.2e}. Hints: the coefficients are those of p(y) with y = (2x - low - high) / (high - low) "
        "in [-1, 1] (not of x); fit on the whole interval (interpolate at Chebyshev points, or least squares on a fine "
        "grid): a Taylor series around 0 is good only near 0, and the sigmoid's diverges beyond |x| = pi"
    )


@pytest.mark.weight(3)
@pytest.mark.parametrize(("name", "low", "high", "depth", "bound"), CASES, ids=IDS)
def test_activation(student, ctx, name, low, high, depth, bound):
    rng = fresh_rng()
    x = rng.uniform(low, high, ctx.slots)
    x[:2] = low, high
    v = ctx.encrypt(x)
    try:
        result = student.activation(v, name, low, high, depth)
    except ckks.errors.LevelError as error:
        pytest.fail(
            f"{name} on [{low:g}, {high:g}] ran out of levels ({error}); the budget is {depth} levels. Horner's rule "
            "(and numpy's polyval/chebval on a ciphertext) use one level per degree: build the powers as a product tree"
        )
    except ckks.errors.ScaleMismatchError as error:
        pytest.fail(
            f"scale mismatch ({error}). Multiply only operands at the same level, and use u * 1.0 to move u down "
            "one level at the canonical scale"
        )
    used = v.level - result.level
    assert used <= depth, (
        f"{name} on [{low:g}, {high:g}] used {used} levels; the budget is {depth}. The map x -> y in [-1, 1] costs one "
        f"(a non-integer constant), a degree-d polynomial ceil(log2(d + 1)): degree {2 ** (depth - 1) - 1} fits"
    )
    got = np.real(np.asarray(result.decrypt()))[: x.size]
    want = exact(name, x)
    error = np.max(np.abs(got - want))
    worst = x[np.argmax(np.abs(got - want))]
    assert error <= bound, (
        f"{name} on [{low:g}, {high:g}] with {depth} levels: max error {error:.2e} (at x = {worst:.2f}), the bound is "
        f"{bound:.0e}. Use the highest degree the budget allows and a fit over the WHOLE interval; if the error is "
        "largest at the ends, check the map to [-1, 1]"
    )
