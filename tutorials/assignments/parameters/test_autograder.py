"""Autograder: parameter selection against the HE standard, and precision in bits."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckks
from ckks.errors import SecurityError
from tutorials.assignments.sandbox import fresh_rng

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py).
FORBIDDEN = ["ckks.attacks", "nn"]
REASON = "derive the parameters from the table of bounds yourself"
LIBRARY = True  # the submission may import ckks in its own process (FORBIDDEN parts are hidden)
TIME_LIMIT = 60.0
CASES = [(0, 40, 20), (1, 40, 20), (2, 40, 20), (3, 40, 20), (2, 20, 10), (5, 30, 10), (10, 40, 20), (7, 50, 10)]


def test_precision_bits(student):
    assert student.precision_bits([1.0, 2.0], [1.0, 2.0 + 2**-20]) == pytest.approx(20), (
        "an error of 2^-20 is 20 bits: -log2(max |got - want|)"
    )
    assert student.precision_bits(np.array([0.5]), np.array([0.75])) == pytest.approx(2)
    assert math.isinf(student.precision_bits([1.0], [1.0])), "no error at all: return float('inf')"
    assert student.precision_bits([0.0, 0.0], [2**-10, -(2**-5)]) == pytest.approx(5), "use the LARGEST error"


@pytest.mark.parametrize(("depth", "scale_bits", "integer_bits"), CASES)
def test_parameters_are_secure_and_deep_enough(student, depth, scale_bits, integer_bits):
    choice = student.choose_parameters(depth, scale_bits, integer_bits)
    n, bits = choice["poly_degree"], list(choice["moduli_bits"])
    try:
        params = ckks.Parameters(n, bits, choice["scale_bits"], security=128)
    except SecurityError as error:
        pytest.fail(f"N={n}, moduli_bits={bits} is not secure: {error}")
    assert params.max_level >= depth, f"{bits} allows depth {params.max_level}, the circuit needs {depth}"
    assert bits[0] >= scale_bits + integer_bits, "q_0 must hold the scale plus the integer bits of the result"
    assert all(b == scale_bits for b in bits[1:-1]), (
        "every rescaling prime should have scale_bits bits, so that rescaling brings the scale back to 2^scale_bits"
    )
    assert bits[-1] >= max(bits[:-1]), "the special prime should be at least as large as the largest data prime"


@pytest.mark.parametrize(("depth", "scale_bits", "integer_bits"), CASES)
def test_poly_degree_is_the_smallest(student, depth, scale_bits, integer_bits):
    choice = student.choose_parameters(depth, scale_bits, integer_bits)
    n, bits = choice["poly_degree"], list(choice["moduli_bits"])
    if n > 1024:
        with pytest.raises(SecurityError):
            ckks.Parameters(n // 2, bits, choice["scale_bits"], security=128)
            pytest.fail(f"N={n // 2} is already secure for {bits}: choose the smallest N (it is the fastest)")


@pytest.mark.parametrize(("depth", "scale_bits", "integer_bits"), [(40, 40, 20), (2, 55, 10)])
def test_impossible_requests_raise(student, depth, scale_bits, integer_bits):
    with pytest.raises(ValueError):
        student.choose_parameters(depth, scale_bits, integer_bits)
        pytest.fail(
            f"depth={depth}, scale_bits={scale_bits}, integer_bits={integer_bits} has no secure parameters "
            "(or a prime above 60 bits): raise ValueError with a helpful message"
        )


@pytest.mark.parametrize(
    ("n", "scale_bits", "integer_bits", "want"),
    [(8192, 40, 20, 2), (16384, 40, 20, 7), (32768, 50, 10, 15), (4096, 20, 10, 2), (8192, 30, 10, 4)],
)
def test_max_depth(student, n, scale_bits, integer_bits, want):
    got = student.max_depth(n, scale_bits, integer_bits)
    assert got == want, (
        f"max_depth({n}, {scale_bits}, {integer_bits}) should be {want}: (bound - q_0 bits - special bits) // "
        f"scale_bits, with the bound of N={n} from the HE standard"
    )


def test_the_chosen_parameters_compute(student):
    choice = student.choose_parameters(2, 40, 20)
    ctx = ckks.Context(choice["poly_degree"], choice["moduli_bits"], choice["scale_bits"])
    x = fresh_rng().uniform(-2, 2, 64)
    v = ctx.encrypt(x)
    v2 = v * v
    result = v2 * v2
    bits = student.precision_bits(result.decrypt(), x**4)
    assert bits > 15, f"x^4 on your parameters has only {bits:.1f} bits of precision"
