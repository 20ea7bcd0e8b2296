"""Cross-validation against TenSEAL (Microsoft SEAL) on the same parameters and inputs.

For each parameter set, the same computation runs in this library, in
TenSEAL and in numpy.  Both libraries must agree with numpy within the
precision the parameters promise, and our largest error may be at most
4x TenSEAL's on the same inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import tenseal as ts

PARAMETERS = [
    (8192, [60, 40, 40, 60]),
    (16384, [60, 40, 40, 40, 40, 60]),
    (32768, [60, 40, 40, 40, 40, 60]),
]
MARGIN = 4.0
#: Our keys are seeded so that a failure reproduces (TenSEAL's cannot be); messages print it.
SEED = 13


def promised_error(scale_bits: int, poly_degree: int) -> float:
    """The error the parameters promise for inputs in [-1, 1] through depth 3.

    A fresh ciphertext's error is about sqrt(N) * ||s|| / Delta in every slot;
    2^(log2 N + 8) / Delta bounds it with a large margin, and each level at
    most doubles it for values of magnitude <= 1.
    """
    return 2.0 ** (np.log2(poly_degree) + 8 - scale_bits)


@pytest.fixture(scope="module", params=PARAMETERS, ids=lambda p: f"N{p[0]}")
def pair(request, tenseal_pair):
    poly_degree, bits = request.param
    ours, theirs = tenseal_pair(poly_degree, bits)
    rng = np.random.default_rng(poly_degree)
    inputs = [rng.uniform(-1, 1, poly_degree // 2) for _ in range(4)]
    return ours, theirs, inputs


def compare(ours_result, theirs_result, expected, bound):
    ours_error = np.max(np.abs(np.asarray(ours_result) - expected))
    theirs_error = np.max(np.abs(np.asarray(theirs_result) - expected))
    seed = f"(our keys: seed {SEED}; inputs: default_rng(poly_degree))"
    assert ours_error < bound, f"ours {ours_error:.3e} above the promised {bound:.3e} {seed}"
    assert theirs_error < bound * 64, f"TenSEAL {theirs_error:.3e} {seed}"
    assert ours_error <= MARGIN * theirs_error, f"ours {ours_error:.3e} vs TenSEAL {theirs_error:.3e} {seed}"


def run_both(pair, operation):
    ours, theirs, inputs = pair
    mine = operation([ours.encrypt(x) for x in inputs], inputs).decrypt()
    seal = operation([ts.ckks_vector(theirs, x) for x in inputs], inputs).decrypt()
    return mine, seal


CASES = {
    "encrypt_decrypt": (lambda v, x: v[0], lambda x: x[0], 0),
    "add": (lambda v, x: v[0] + v[1], lambda x: x[0] + x[1], 0),
    "add_plain": (lambda v, x: v[0] + x[1], lambda x: x[0] + x[1], 0),
    "multiply_plain": (lambda v, x: v[0] * x[1], lambda x: x[0] * x[1], 1),
    "multiply_scalar": (lambda v, x: v[0] * 0.7, lambda x: x[0] * 0.7, 1),
    "multiply_relin_rescale": (lambda v, x: v[0] * v[1], lambda x: x[0] * x[1], 1),
    "x_times_y_plus_x": (lambda v, x: v[0] * v[1] + v[0], lambda x: x[0] * x[1] + x[0], 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_agrees_with_tenseal_and_numpy(pair, case):
    operation, reference, depth = CASES[case]
    ours, _, inputs = pair
    mine, seal = run_both(pair, operation)
    bound = promised_error(40, ours.params.poly_degree) * 2**depth
    compare(mine, seal, reference(inputs), bound)


def test_depth_three_product_chain(pair):
    """((x*y)*z)*w at N = 16384 and 32768; N = 8192's [60, 40, 40, 60] has depth 2, so (x*y)*z there."""
    ours, _, inputs = pair
    depth = min(3, ours.params.max_level)

    def chain(vectors, _):
        result = vectors[0]
        for v in vectors[1 : depth + 1]:
            result = result * v
        return result

    mine, seal = run_both(pair, chain)
    bound = promised_error(40, ours.params.poly_degree) * 2**depth
    compare(mine, seal, np.prod(inputs[: depth + 1], axis=0), bound)
