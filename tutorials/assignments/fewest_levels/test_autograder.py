"""Autograder: depth-optimal polynomial evaluation on a CKKSVector."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckks
from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): no secret key,
# the library's polynomial evaluation switched off and its modules out of reach.
FORBIDDEN = ["ckks.circuits", "ckks.scheme", "ckks.ring", "nn"]
DISABLED = ["CKKSVector.polyval", "CKKSVector.chebval", "CKKSVector.pow", "CKKSVector.__pow__"]
REASON = "evaluate the polynomial with +, - and * yourself"
TIME_LIMIT = 60.0


@pytest.fixture(scope="module")
def ctx():
    # N = 1024 with this chain is below the security standard: a teaching ring, for grading speed
    return grading_context(1024, [60, 40, 40, 40, 60], 40)


X = fresh_rng().uniform(-1, 1, 256)


def check(student, ctx, coefficients, min_bits: float = 15.0):
    v = ctx.encrypt(X)
    degree = len(coefficients) - 1
    allowed = math.ceil(math.log2(degree + 1))
    try:
        result = student.evaluate(v, coefficients)
    except ckks.errors.LevelError as error:
        pytest.fail(f"degree {degree} ran out of levels ({error}); it needs only {allowed}")
    except ckks.errors.ScaleMismatchError as error:
        pytest.fail(
            f"scale mismatch ({error}). Multiply only operands at the same level, and use u * 1.0 to move u down "
            "one level at the canonical scale"
        )
    used = v.level - result.level
    assert used <= allowed, (
        f"degree {degree} used {used} levels; the minimum is ceil(log2({degree + 1})) = {allowed}. Multiply each "
        "coefficient into its lowest power, and build x^i from x, x^2, x^4 as a product tree"
    )
    want = np.polynomial.polynomial.polyval(X, coefficients)
    got = result.decrypt()[: X.size]
    bits = -np.log2(np.max(np.abs(got - want)))
    assert bits > min_bits, f"degree {degree}: only {bits:.1f} bits of precision (want > {min_bits})"


def test_constant_plus_linear(student, ctx):
    check(student, ctx, [0.5, -1.25])


@pytest.mark.parametrize("degree", [2, 3, 4, 5, 6, 7])
def test_random_polynomials(student, ctx, degree):
    coefficients = fresh_rng().uniform(-1, 1, degree + 1).tolist()
    check(student, ctx, coefficients)


def test_sparse_polynomial(student, ctx):
    check(student, ctx, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.75])


def test_sigmoid_approximation(student, ctx):
    # least-squares degree-7 fit of the sigmoid on [-1, 1]: the shape used by encrypted logistic regression
    coefficients = np.polynomial.polynomial.polyfit(X, 1 / (1 + np.exp(-4 * X)), 7).tolist()
    check(student, ctx, coefficients)
