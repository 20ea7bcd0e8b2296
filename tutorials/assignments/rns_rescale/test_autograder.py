"""Autograder: exact RNS rescaling. Compares with Python's big integers and with the library."""

from __future__ import annotations

import random

import numpy as np
import pytest

import ckks
from ckks.ring.primes import coeff_modulus
from tutorials.assignments.sandbox import fresh_rng, fresh_seed

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): the library's
# RNS code (and the rest of ckks) is off limits, the work is to write it.
FORBIDDEN = ["ckks", "nn"]
REASON = "write the CRT and the rescale yourself, with Python integers or numpy"
TIME_LIMIT = 60.0

def primes(n: int = 16, bits: tuple[int, ...] = (50, 40, 40)) -> list[int]:
    return coeff_modulus(n, list(bits))


def centred_randoms(big_q: int, count: int, seed: int) -> list[int]:
    rng = random.Random(fresh_seed())
    return [rng.randrange(big_q) - big_q // 2 for _ in range(count)]


def product(moduli) -> int:
    out = 1
    for q in moduli:
        out *= int(q)
    return out


def test_to_rns(student):
    moduli = primes()
    got = np.asarray(student.to_rns([5, -1, 0], moduli))
    assert got.shape == (3, 3), f"to_rns must return shape (len(moduli), N) = (3, 3), got {got.shape}"
    assert [int(v) for v in got[:, 1]] == [q - 1 for q in moduli], "-1 mod q is q - 1 (use Python's %)"
    assert [int(v) for v in got[:, 0]] == [5, 5, 5]


def test_from_rns_round_trip(student):
    moduli = primes()
    values = centred_randoms(product(moduli), 32, 1)
    residues = np.array([[v % q for v in values] for q in moduli], dtype=np.uint64)
    got = [int(v) for v in student.from_rns(residues, moduli)]
    assert got == values, (
        "from_rns must return the centred integers in (-Q/2, Q/2]: after the CRT sum reduce mod Q and "
        "subtract Q from values above Q/2"
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rescale_matches_big_integers(student, seed):
    moduli = primes()
    big_q = product(moduli)
    values = centred_randoms(big_q, 64, seed)
    residues = np.array([[v % q for v in values] for q in moduli], dtype=np.uint64)
    got = np.asarray(student.rescale(residues, moduli))
    assert got.shape == (2, 64), f"rescale drops the last prime: expected shape (2, 64), got {got.shape}"
    q_last = moduli[-1]
    rounded = [(2 * v + q_last) // (2 * q_last) for v in values]  # round(v / q_last), exactly
    floored = [v // q_last for v in values]
    want = [[r % q for r in rounded] for q in moduli[:-1]]
    got_list = [[int(v) for v in row] for row in got]
    if got_list == [[r % q for r in floored] for q in moduli[:-1]]:
        pytest.fail("you computed floor(x / q_l), not round(x / q_l): add h = floor(q_l / 2) first")
    assert got_list == want, (
        "rescale is not round(x / q_l) mod q_i. Hints: take r = (x_l + h) mod q_l from the LAST row, then "
        "(x_i + h - r) * q_l^-1 mod q_i for each other row; q_l^-1 is pow(q_l, -1, q_i)"
    )


def test_rescale_negative_and_small(student):
    moduli = primes()
    q_last = moduli[-1]
    values = [0, 1, -1, q_last // 2, -(q_last // 2), q_last, -q_last, 3 * q_last + 7, -5 * q_last - 9]
    residues = np.array([[v % q for v in values] for q in moduli], dtype=np.uint64)
    got = np.asarray(student.rescale(residues, moduli))
    want = [round(v / q_last) for v in values]
    got_values = []
    for j in range(len(values)):
        x = int(got[0, j])
        got_values.append(x - moduli[0] if x > moduli[0] // 2 else x)
    assert got_values == want, f"small and negative values: expected {want}, got {got_values}"


def test_rescale_agrees_with_the_library(student):
    params = ckks.Parameters(poly_degree=64, moduli_bits=[60, 40, 40, 60], security=None)
    level = params.max_level
    moduli = list(params.data_moduli[: level + 1])
    rng = fresh_rng()
    coefficient_form = np.array([rng.integers(0, q, 64, dtype=np.uint64) for q in moduli])
    ntt_form = params.tables.forward(coefficient_form.copy(), params.level_rows(level))
    library = params.rescaler(level).divide(ntt_form)
    library = params.tables.inverse(library, params.level_rows(level - 1))
    got = np.asarray(student.rescale(coefficient_form, moduli), dtype=np.uint64)
    assert np.array_equal(got, library), "your rescale disagrees with ckks' RNSDivider on 60/40-bit primes"


def test_rescale_many_primes(student):
    moduli = primes(32, (60, 50, 50, 50, 50, 50))
    big_q = product(moduli)
    values = centred_randoms(big_q, 32, 9)
    residues = np.array([[v % q for v in values] for q in moduli], dtype=np.uint64)
    got = np.asarray(student.rescale(residues, moduli))
    q_last = moduli[-1]
    for i, q in enumerate(moduli[:-1]):
        assert [int(v) for v in got[i]] == [((2 * v + q_last) // (2 * q_last)) % q for v in values], (
            f"row {i} is wrong with 6 primes: uint64 overflow? multiply as Python ints (int(v) * inverse % q)"
        )
