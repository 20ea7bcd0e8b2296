"""Tracked bounds through rotations: flooding and noise estimation work on sum, dot and matmul.

A rotation keeps the slot bound (it permutes the slots) and adds the key-switching noise
(`ckks.security.noise.keyswitch_noise`), so results built from rotations carry a noise bound that
flooded decryption and `Context.estimate_noise` can use, and that bound really bounds the error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckks
from ckks.security.flooding import Flooding

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.PrecisionWarning")

SLOTS = 4096
PLAIN = np.random.default_rng(2).uniform(-1, 1, SLOTS)


@pytest.fixture(scope="module")
def flooded() -> ckks.Context:
    """N = 8192, [60, 40, 40, 60], scale 2^40, every decryption flooded, the default Galois keys."""
    context = ckks.Context(8192, [60, 40, 40, 60], 40, flooding=True)
    context.generate_galois_keys(progress=False)
    return context


def _coefficient_error(ctx, vector, expected) -> float:
    """max |m' - Delta * embed^-1(expected)| over the coefficients: the actual decryption error."""
    ct = vector.ciphertext
    plain = ckks.Decryptor(ctx.params, ctx.secret_key).decrypt(ct)
    ring = ctx.params.at_level(ct.level)
    m = ctx.params.crt_decoder(ct.level).to_float(ring.to_coefficients(plain.data))
    ideal = ctx.encoder.embed_inverse(ctx.encoder.slot_vector(expected)) * ct.scale
    return float(np.max(np.abs(m - ideal)))


def _slot_sigma(ctx, vector) -> float:
    """The standard deviation of the flooding noise in one slot's real part: 2^lost_bits / scale."""
    policy = ctx.flooding
    return 2.0 ** policy.lost_bits(ctx.params, vector.ciphertext.noise) / vector.ciphertext.scale


CIRCUITS = {  # circuit, and the slot values of its result (sum and dot: the total in every slot)
    "sum": (lambda x, y: x.sum(), lambda x, y: np.full(SLOTS, x.sum())),
    "dot (cipher)": (lambda x, y: x.dot(y), lambda x, y: np.full(SLOTS, x @ y)),
    "dot (plain)": (lambda x, y: x.dot(PLAIN), lambda x, y: np.full(SLOTS, x @ PLAIN)),
    "rotate": (lambda x, y: x.rotate(5) + y.rotate(-7), lambda x, y: np.roll(x, -5) + np.roll(y, 7)),
}


@pytest.mark.parametrize("name", list(CIRCUITS))
def test_flooded_context_decrypts_results_of_rotations(flooded, name):
    circuit, model = CIRCUITS[name]
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 1, SLOTS), rng.uniform(-1, 1, SLOTS)
    result = circuit(flooded.encrypt(x), flooded.encrypt(y))
    assert result.ciphertext.noise is not None and result.ciphertext.bound is not None
    first, second = result.decrypt(), result.decrypt()  # the context floods every decryption
    assert not np.array_equal(first, second)
    tolerance = 7 * _slot_sigma(flooded, result) + 1e-4  # sum and dot: the sum of 4096 errors, tolerance ~ 1e2
    np.testing.assert_allclose(first, model(x, y)[: len(first)], atol=tolerance)


@pytest.mark.parametrize("name", list(CIRCUITS))
def test_tracked_noise_bounds_the_measured_error_after_rotations(flooded, name):
    circuit, model = CIRCUITS[name]
    rng = np.random.default_rng(4)
    for _ in range(2):
        x, y = rng.uniform(-1, 1, SLOTS), rng.uniform(-1, 1, SLOTS)
        result = circuit(flooded.encrypt(x), flooded.encrypt(y))
        error = _coefficient_error(flooded, result, model(x, y))
        bound = result.ciphertext.noise
        assert error <= bound, f"{name}: measured error {error:.3g} above the tracked bound {bound:.3g}"


def test_matmul_carries_a_bound_that_holds(flooded):
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, 64)
    matrix = rng.uniform(-1, 1, (64, 16))
    result = flooded.encrypt(x).matmul(matrix)
    assert result.ciphertext.noise is not None and result.ciphertext.bound is not None
    expected = np.zeros(SLOTS)
    expected[:16] = x @ matrix
    assert _coefficient_error(flooded, result, expected) <= result.ciphertext.noise
    np.testing.assert_allclose(result.decrypt(), x @ matrix, atol=7 * _slot_sigma(flooded, result) + 1e-4)


def test_estimate_noise_runs_circuits_with_rotations(flooded):
    x = np.random.default_rng(6).uniform(-1, 1, SLOTS)
    bound = flooded.estimate_noise(lambda v: v.sum(), x)
    assert math.isfinite(bound) and bound > 0
    served = ckks.CKKSVector.load(flooded, flooded.encrypt(x).sum().serialize())
    assert served.ciphertext.noise is None  # a bound is never read from bytes: use the estimate
    policy = Flooding(noise_bound=bound)
    sigma = 2.0 ** policy.lost_bits(flooded.params, None) / served.ciphertext.scale
    np.testing.assert_allclose(flooded.decrypt(served, flooding=policy), x.sum(), atol=7 * sigma + 1e-4)
