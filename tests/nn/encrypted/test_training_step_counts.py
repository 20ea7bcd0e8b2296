"""The per-step operation counts of encrypted training, derived from the layout (nn.encrypted.training).

The counts come from the scheme's counting hook (`ckks.scheme.counting`, read by
`training_packing.OpCounts`); the expected numbers here are derived independently from
the layout's permutations: for each permutation, its distinct rotation offsets (source
slot - slot, reduced into (-d^2/2, d^2/2] for a periodic input, where a weight is
non-zero) give its masks (one plaintext product each) and its rotations (the non-zero
ones, one key switch each: the training generates a key for every step); the group sum
of a product is log2(d) rotations and the all-reduce of a gradient log2(S / d^2).
Nothing is copied from a run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from nn.datasets import load_iris
from nn.encrypted import training

pytestmark = [pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning"),
              pytest.mark.filterwarnings("ignore::ckks.errors.PrecisionWarning")]

N, BATCH = 2048, 12
TOY = {"poly_degree": N, "security": None, "scale_bits": 50, "headroom_bits": 10, "verbose": False}


def offsets(spec: list, periodic: bool, d: int) -> set[int]:
    """The rotation offsets of a permutation given per group as (sources, weights)."""
    n = d * d
    found: set[int] = set()
    for sources, weights in spec:
        off = np.asarray(sources) - np.arange(n)
        if periodic:
            off = (off - 1 + n // 2) % n - n // 2 + 1  # into (-n/2, n/2]
        found |= {int(r) for r in off[np.asarray(weights) != 0]}
    return found


def expected_step_counts(net, slots: int, batch: int, integer_activation: bool) -> dict:
    """One training step of `training._Server.step`, operation by operation."""
    d = net.d
    lay = training._Layout(net, 0.2, slots)
    rated = lay.rated(batch)

    def masks(spec, periodic):
        return len(offsets(spec, periodic, d))

    def rotations(*pairs):
        return len(set().union(*(offsets(spec, periodic, d) for spec, periodic in pairs)) - {0})

    groups, blocks = int(math.log2(d)), int(math.log2(slots // (d * d)))
    left_f, right_t, rated_f = masks(lay.left, False), masks(lay.right, True), masks(rated, False)
    affine = 0 if integer_activation else 2  # c2 z + c1 and 2 c2 z + c1: a plaintext product and a rescale each
    rot = (
        rotations((lay.right, True)) + groups  # Z1 = X W1: W1's rotations, the group sum
        + rotations((lay.right, True), (lay.transpose, True))  # W2 -> right operand and W2^T, hoisted together
        + rotations((lay.left, False)) + groups  # Z2 = A1 W2
        + rotations((lay.keep, True))  # (W2^T, row h masked) -> right operand
        + rotations((lay.left, False), (lay.right, False))  # E, rotated once for dA1 and dW2
        + groups  # dA1 = E W2^T
        + rotations((rated, False)) + blocks  # dW1 = X^T dZ1, all-reduced
        + rotations((lay.transpose, False)) + rotations((lay.scaled_left(), False))  # A1^T -> left operand
        + blocks  # dW2 = A1^T E, all-reduced
    )
    pt = (
        masks(lay.right, True) + masks(lay.transpose, True)  # the two permutations of W2
        + left_f  # W2's masked copies for Z2
        + 1  # Y brought down to E's level and scale
        + masks(lay.keep, True) + left_f  # W2^T's permutation and masked copies for dA1
        + masks(lay.transpose, False) + masks(lay.scaled_left(), False)  # A1^T, then its left layout
        + rated_f  # its masked copies (the rate in the masks)
        + 2  # W1 and W2 brought down to the updates' level
        + affine
    )
    ct_ct = right_t + 1 + left_f + left_f + 1 + rated_f + rated_f  # Z1, A1, Z2, dA1, dZ1, dW1, dW2
    rescales = (
        1 + 1 + 2 + left_f + 1 + 1  # Z1, A1, W2's two permutations, its masked copies, Z2, E
        + 1 + left_f + 1 + 1  # W2^T permuted, its masked copies, dA1, dZ1
        + 1 + 1 + 1 + 2  # dW1, A1^T, its left layout, dW2 (unrescaled copies: two rescales)
        + 2 + affine  # the two updates
    )
    relin = 7
    return {
        "rotations": rot,
        "ct_ct_multiplications": ct_ct,
        "pt_multiplications": pt,
        "relinearizations": relin,
        "key_switches": rot + relin,
        "rescales": rescales,
        "hoisted_decompositions": 8,  # W1, W2, A1, W2^T, E, dZ1, A1, A1^T: one hoisted set each
        "depth": training.step_depth() if integer_activation else training.step_depth(0.5, 0.25),
        "uploaded_ciphertexts": right_t + rated_f + 1,  # X masked for W1, X^T masked for dZ1, Y
    }


@pytest.mark.parametrize("activation", [None, (0.0, 0.5, 0.25)], ids=["square", "non_integer"])
def test_counts_per_step_follow_from_the_layout(activation):
    ds = load_iris()
    rng = np.random.default_rng(0)
    act = nn.Square() if activation is None else nn.PolyActivation(list(activation))
    model = nn.Sequential([nn.Linear(4, 7, init="xavier", rng=rng), act, nn.Linear(7, 3, init="xavier", rng=rng)])
    report = training.train(model, ds.x_train[:24], ds.y_train[:24], epochs=1, learning_rate=0.2, batch_size=BATCH,
                            seed=0, max_steps=2, **TOY)
    expected = expected_step_counts(training._network(model), N // 2, BATCH, activation is None)
    assert len(report.step_counts) == 2
    for counts in report.step_counts:
        assert {k: counts[k] for k in expected} == expected
    assert {k: v for k, v in report.counts.items() if k != "naive"} == expected


def test_the_primitives_that_moved_to_ops_still_work_with_a_deprecation_warning():
    import ckks
    from nn.encrypted.training_packing import PermutationEngine

    ctx = ckks.Context(1024, [40, 30, 40], scale_bits=30, security=None)
    ctx.generate_galois_keys([1], progress=False)
    engine = PermutationEngine(ctx, 2)
    x = np.arange(8, dtype=float) / 8
    ct = ctx.encrypt(x).ciphertext
    plain = ctx.encoder.encode(np.ones(ctx.slots), ctx.params.data_moduli[ct.level], ct.level)
    calls = {"rotate_many": lambda: engine.rotate_many(ct, [1])[1], "rescale": lambda: engine.rescale(
        engine.multiply_plain(ct, plain)), "scalar": lambda: engine.scalar(ct, 0.5),
        "add_constant": lambda: engine.add_constant(ct, 0.25)}
    expected = {"rotate_many": np.roll(x, -1), "rescale": x, "scalar": 0.5 * x, "add_constant": x + 0.25}
    for name, call in calls.items():
        with pytest.warns(DeprecationWarning, match=rf"PermutationEngine\.{name} is deprecated.*ops\.{name}"):
            out = call()
        got = ctx.decrypt(ckks.CKKSVector(ctx, out, ctx.slots))[:8]
        np.testing.assert_allclose(got, expected[name], atol=1e-3)
