"""Autograder: key recovery from decryption results, and its failure under noise flooding."""

from __future__ import annotations

import numpy as np
import pytest

import ckks
from ckks.security.flooding import Flooding
from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in the grader's sandbox (tutorials/assignments/conftest.py): it sees the
# ciphertext, the public key and the shared values, never the secret key; ckks.attacks is out of reach.
FORBIDDEN = ["ckks.attacks", "ckks.demo", "nn"]
REASON = "write the attack yourself"
LIBRARY = True  # the submission may import ckks in its own process (FORBIDDEN parts are hidden)
TIME_LIMIT = 120.0


@pytest.fixture(scope="module")
def toy():
    # N = 1024 with 160 bits of modulus is far below the security standard: toy parameters to break
    return grading_context(1024, [60, 40, 60], 40)


@pytest.fixture(scope="module")
def real():
    return grading_context(8192, [60, 40, 40, 60], 40, security=128)


def oracle(ctx, ciphertext, flooding=None):
    """What the key owner shares: the N/2 decoded complex slots."""
    decryptor = ckks.Decryptor(ctx.params, ctx.secret_key, flooding=flooding)
    return ctx.encoder.decode(decryptor.decrypt(ciphertext))


def secret_of(ctx) -> np.ndarray:
    return ctx.secret_key.coefficients.astype(np.int64)


def test_is_secret_key_accepts_the_key(student, toy):
    assert student.is_secret_key(toy.public_key, secret_of(toy)), (
        "the true secret key was rejected: compute e = b + a*s mod q_0 (NTT form: coordinate-wise), inverse "
        "NTT, centre in (-q_0/2, q_0/2], and compare max |e| with 6 * sigma"
    )


def test_is_secret_key_rejects_others(student, toy):
    rng = fresh_rng()
    wrong = rng.integers(-1, 2, toy.params.poly_degree)
    assert not student.is_secret_key(toy.public_key, wrong), "a random ternary key was accepted"
    almost = secret_of(toy).copy()
    almost[0] = 1 if almost[0] != 1 else 0
    assert not student.is_secret_key(toy.public_key, almost), "a key with one wrong coefficient was accepted"
    assert not student.is_secret_key(toy.public_key, secret_of(toy) * 2), "a non-ternary candidate was accepted"


def test_recover_from_a_fresh_ciphertext(student, toy):
    v = toy.encrypt(fresh_rng().uniform(-1, 1, toy.slots))
    recovered = np.asarray(student.recover_secret(v.ciphertext, oracle(toy, v.ciphertext)))
    assert recovered.shape == (toy.params.poly_degree,), f"return N = 1024 coefficients, got shape {recovered.shape}"
    wrong = int(np.count_nonzero(recovered.astype(np.int64) != secret_of(toy)))
    assert wrong == 0, (
        f"{wrong} of 1024 coefficients are wrong. Hints: re-encode with embed_inverse(values) * ciphertext.scale "
        "and round; use all N/2 complex slots (not only the real parts); solve modulo q_0 in NTT form; centre"
    )


def test_recover_after_a_computation(student, toy):
    x = fresh_rng().uniform(-1, 1, toy.slots)
    v = toy.encrypt(x)
    w = v * v + v  # a server's computation: relinearized and rescaled, one level lower
    recovered = np.asarray(student.recover_secret(w.ciphertext, oracle(toy, w.ciphertext)))
    assert np.array_equal(recovered.astype(np.int64), secret_of(toy)), (
        "the attack should also work on a computed ciphertext at a lower level: use its own scale and its row "
        "for q_0"
    )


def test_recover_at_secure_parameters(student, real):
    v = real.encrypt(fresh_rng().uniform(-1, 1, 100))
    recovered = np.asarray(student.recover_secret(v.ciphertext, oracle(real, v.ciphertext)))
    assert np.array_equal(recovered.astype(np.int64), secret_of(real)), (
        "at N = 8192 (128-bit IND-CPA secure parameters) one decryption must still give the key away"
    )
    assert student.is_secret_key(real.public_key, recovered)


def test_flooding_defeats_the_attack(student, toy):
    v = toy.encrypt(fresh_rng().uniform(-1, 1, toy.slots))
    recovered = np.asarray(student.recover_secret(v.ciphertext, oracle(toy, v.ciphertext, Flooding())))
    assert not np.array_equal(recovered.astype(np.int64), secret_of(toy)), "flooding should stop the attack"
    assert not student.is_secret_key(toy.public_key, recovered), (
        "with noise flooding the recovered candidate is garbage, and is_secret_key must say so"
    )
