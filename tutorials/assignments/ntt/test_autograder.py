"""Autograder: the negacyclic NTT. Compares with the definitions in ckks.ring.reference."""

from __future__ import annotations

import random
import time

import pytest

from ckks.ring import reference
from ckks.ring.primes import coeff_modulus, primitive_root_of_unity


def setup(n: int, bits: int = 30) -> tuple[int, int]:
    q = coeff_modulus(n, [bits])[0]
    return q, primitive_root_of_unity(2 * n, q)


def random_poly(n: int, q: int, seed: int) -> list[int]:
    rng = random.Random(seed)
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


def test_large_ring_is_n_log_n(student):
    n = 4096
    q, psi = setup(n, 50)
    a = random_poly(n, q, 5)
    start = time.perf_counter()
    values = student.ntt(a, q, psi)
    elapsed = time.perf_counter() - start
    assert [int(v) for v in student.intt(values, q, psi)] == a, "round trip fails at N = 4096"
    assert elapsed < 5.0, (
        f"ntt took {elapsed:.1f} s at N = 4096: an O(N log N) transform takes well under a second; "
        "evaluating the polynomial at each root is O(N^2)"
    )
    for k in (0, 1, 1000, n - 1):
        root = pow(psi, 2 * int(format(k, "012b")[::-1], 2) + 1, q)
        assert int(values[k]) == sum(c * pow(root, i, q) for i, c in enumerate(a)) % q, f"wrong value at k = {k}"
