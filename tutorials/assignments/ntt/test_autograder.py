"""Autograder: the negacyclic NTT. Compares with the definitions in ckks.ring.reference."""

from __future__ import annotations

import random

import pytest

from ckks.ring import reference
from ckks.ring.primes import coeff_modulus, primitive_root_of_unity
from tutorials.assignments.sandbox import fresh_seed

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): no ckks at all
# (the library's NTT kernel and its O(N^2) reference definitions are what the assignment is about),
# and the work is measured by the CPU time of the submission's process, taken by the grader from outside.
FORBIDDEN = ["ckks", "nn"]
REASON = "write the NTT yourself, with Python integers"
TIME_LIMIT = 60.0


def setup(n: int, bits: int = 30) -> tuple[int, int]:
    q = coeff_modulus(n, [bits])[0]
    return q, primitive_root_of_unity(2 * n, q)


def random_poly(n: int, q: int, seed: int) -> list[int]:
    rng = random.Random(fresh_seed())
    return [rng.randrange(q) for _ in range(n)]


def test_tiny_example(student):
    q, psi, a = 17, 2, [1, 2, 3, 4]
    got = list(student.ntt(a, q, psi))
    want = reference.ntt(a, q, psi)
    if sorted(got) == sorted(want) and got != want:
        pytest.fail(f"right values, wrong order: expected {want}, got {got}; the output is in bit-reversed order")
    assert got == want, (
        f"ntt([1, 2, 3, 4], q=17, psi=2) should be {want} (the values of a at psi^1, psi^5, psi^3, psi^7), "
        f"got {got}"
    )


@pytest.mark.parametrize("n", [2, 8, 32, 128])
def test_ntt_matches_definition(student, n):
    q, psi = setup(n)
    a = random_poly(n, q, n)
    got = [int(x) for x in student.ntt(a, q, psi)]
    want = reference.ntt(a, q, psi)
    if sorted(got) == sorted(want) and got != want:
        pytest.fail("right values in the wrong order: NTT(a)[k] must be a(psi^(2*brv(k)+1))")
    assert got == want, (
        "ntt disagrees with the definition a(psi^(2*brv(k)+1)). Hints: negacyclic means the twiddles are odd "
        "powers of psi (not powers of omega = psi^2); stage m uses psi^brv(m+i); reduce mod q after each step"
    )


@pytest.mark.parametrize("n", [8, 128])
def test_intt_inverts_ntt(student, n):
    q, psi = setup(n)
    a = random_poly(n, q, 2 * n)
    got = [int(x) for x in student.intt(reference.ntt(a, q, psi), q, psi)]
    assert got == a, "intt(ntt(a)) should give a back: did you use psi^-1 and multiply by N^-1 mod q?"


@pytest.mark.parametrize("n", [8, 64])
def test_multiply_is_negacyclic(student, n):
    q, psi = setup(n)
    a, b = random_poly(n, q, 3 * n), random_poly(n, q, 4 * n)
    got = [int(x) for x in student.multiply(a, b, q, psi)]
    want = reference.negacyclic_product(a, b, q)
    assert got == want, (
        "multiply should give the product mod X^N + 1 (X^N = -1): a cyclic NTT (roots of X^N - 1) gives the "
        "product mod X^N - 1 instead"
    )


def test_multiply_by_x_wraps_with_minus(student):
    q, psi = setup(8)
    a = [1, 2, 3, 4, 5, 6, 7, 8]
    x = [0, 1, 0, 0, 0, 0, 0, 0]
    got = [int(v) for v in student.multiply(a, x, q, psi)]
    assert got == [q - 8, 1, 2, 3, 4, 5, 6, 7], "a * X shifts the coefficients up and the top one wraps to -8"


@pytest.mark.weight(2)
def test_work_grows_like_n_log_n(student):
    """CPU time for N = 2048 against N = 512, measured by the grader: about 4.9x for N log N, 16x for N^2."""
    seconds = {}
    for n, repeats in ((512, 2), (2048, 1)):  # the smaller one twice: its first call may pay for warming up
        q, psi = setup(n)
        a = random_poly(n, q, n)
        seconds[n] = min(_cpu(student, a, q, psi) for _ in range(repeats))
    growth = seconds[2048] / max(seconds[512], 1e-4)
    assert growth < 9, (
        f"quadrupling N from 512 to 2048 multiplied the CPU time of your ntt by {growth:.1f}: an O(N log N) "
        "transform grows by about 4.9, evaluating the polynomial at each root (O(N^2)) by 16"
    )


def _cpu(student, a, q, psi) -> float:
    student.ntt(a, q, psi)
    return student.cpu_seconds


def test_large_ring(student):
    n = 4096
    q, psi = setup(n, 50)
    a = random_poly(n, q, 5)
    values = student.ntt(a, q, psi)
    assert [int(v) for v in student.intt(values, q, psi)] == a, "round trip fails at N = 4096"
    for k in (0, 1, 1000, n - 1):
        root = pow(psi, 2 * int(format(k, "012b")[::-1], 2) + 1, q)
        assert int(values[k]) == sum(c * pow(root, i, q) for i, c in enumerate(a)) % q, f"wrong value at k = {k}"
