"""Autograder: the CKKS encoder. Compares with the library's encoder and with the definition."""

from __future__ import annotations

import numpy as np
import pytest

import ckks
from tutorials.assignments.sandbox import fresh_rng

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): numpy only.
FORBIDDEN = ["ckks", "nn"]
REASON = "write the encoder with numpy only (README)"
TIME_LIMIT = 60.0

def library_coefficients(values, n: int, scale: float) -> np.ndarray:
    params = ckks.Parameters(poly_degree=n, moduli_bits=[60, 60], scale_bits=30, security=None)
    z = np.zeros(n // 2, dtype=complex)
    z[: len(values)] = values
    return np.rint(ckks.Encoder(params).embed_inverse(z) * scale)


def random_slots(n: int, seed: int) -> np.ndarray:
    rng = fresh_rng()
    return rng.uniform(-1, 1, n // 2) + 1j * rng.uniform(-1, 1, n // 2)


def test_encode_returns_n_integers(student):
    out = np.asarray(student.encode([1.0, 2.0], 8, 2.0**10))
    assert out.shape == (8,), f"encode must return N = 8 coefficients, got shape {out.shape}"
    assert np.issubdtype(out.dtype, np.integer) or np.all(out == np.rint(out)), (
        "the coefficients must be integers: multiply by the scale, then round (np.rint)"
    )


def test_encode_real_constant(student):
    out = np.asarray(student.encode([3.0] * 4, 8, 2.0**10), dtype=float)
    want = np.zeros(8)
    want[0] = 3 * 2**10
    assert np.allclose(out, want), (
        "the same real value c in every slot is the constant polynomial c * scale: "
        f"expected {want.tolist()}, got {out.tolist()}"
    )


@pytest.mark.parametrize("n", [8, 16, 64])
def test_encode_matches_library(student, n):
    z = random_slots(n, n)
    got = np.asarray(student.encode(z, n, 2.0**20), dtype=float)
    want = library_coefficients(z, n, 2.0**20)
    if np.allclose(np.sort(got), np.sort(want), atol=1) and not np.allclose(got, want, atol=1):
        pytest.fail("right values in the wrong places: check the slot order (slot j at zeta^(5^j mod 2N))")
    assert np.allclose(got, want, atol=1), (
        "encode disagrees with the canonical embedding. Hints: place z_j at zeta^(5^j) AND conj(z_j) at "
        "zeta^(-5^j); the coefficients of sigma^-1 must come out real; scale before rounding"
    )


@pytest.mark.parametrize("n", [8, 16, 64])
def test_decode_inverts_encode(student, n):
    z = random_slots(n, 100 + n)
    scale = 2.0**30
    got = np.asarray(student.decode(library_coefficients(z, n, scale), n, scale))
    assert got.shape == (n // 2,), f"decode must return N/2 = {n // 2} slots, got shape {got.shape}"
    assert np.allclose(got, z, atol=1e-6), (
        "decode(m) should be m(zeta^(5^j)) / scale for j = 0..N/2-1 (zeta = exp(i*pi/N)); did you divide by the "
        "scale, and use the same slot order as encode?"
    )


def test_padding_with_zeros(student):
    n = 16
    got = np.asarray(student.decode(student.encode([0.5, -0.25], n, 2.0**30), n, 2.0**30))
    want = np.zeros(n // 2, dtype=complex)
    want[:2] = [0.5, -0.25]
    assert np.allclose(got, want, atol=1e-6), "fewer than N/2 values: the remaining slots hold zero"


def test_products_are_slotwise(student):
    n = 16
    scale = 2.0**20
    x, y = random_slots(n, 1), random_slots(n, 2)
    a = np.asarray(student.encode(x, n, scale), dtype=float)
    b = np.asarray(student.encode(y, n, scale), dtype=float)
    full = np.convolve(a, b)
    product = full[:n].copy()
    product[: n - 1] -= full[n:]
    got = np.asarray(student.decode(product, n, scale * scale))
    assert np.allclose(got, x * y, atol=1e-4), (
        "the negacyclic product of two encodings should decode to the slot-wise product: "
        "are you evaluating at the odd powers of zeta (the roots of X^N + 1)?"
    )


def test_rotation_by_x_to_the_5(student):
    n = 16
    scale = 2.0**30
    z = random_slots(n, 3)
    m = np.asarray(student.encode(z, n, scale), dtype=float)
    rotated = np.zeros(n)
    for i, c in enumerate(m):
        k = i * 5 % (2 * n)
        rotated[k % n] += c if k < n else -c
    got = np.asarray(student.decode(rotated, n, scale))
    assert np.allclose(got, np.roll(z, -1), atol=1e-6), (
        "m(X^5) should hold the slots rotated left by one: slot j must sit at zeta^(5^j)"
    )


def test_large_ring_is_fast_and_precise(student):
    n = 4096
    z = random_slots(n, 4)
    scale = 2.0**40
    m = student.encode(z, n, scale)
    got = np.asarray(student.decode(m, n, scale))
    error = np.max(np.abs(got - z))
    assert error < 2.0**-25, (
        f"round trip error {error:.2e} at N = 4096, scale 2^40 is too large: use float64/complex128 "
        "throughout and round only once, after scaling"
    )
