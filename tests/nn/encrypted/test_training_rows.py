"""The row packing of encrypted training (nn.encrypted.training_rows): any layer sizes, both losses.

Parameters: N = 2048 (S = 1024 slots), security=None, scale 2^40 with 7 bits of headroom,
8 levels: one step between refreshes.  A step's error is a few rescale errors of
about sqrt(N) 2^-40 ~ 4e-11 relative to the scale, times the values met (below 2^6)
and summed over the segments (at most S = 1024 of them): TOL = 8 * 2^6 * 1024 *
sqrt(N) 2^-40 ~ 2e-5 per step bounds it with room to spare (measured: ~1e-8).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckks
import nn
from nn.datasets import load_iris
from nn.encrypted.training import train
from nn.encrypted.training_packing import PermutationEngine
from nn.encrypted.training_rows import RowsBatch, RowsLayout, RowsServer, rows_depth, softmax_slope
from nn.encrypted.training_twin import cross_entropy, surrogate_error
from nn.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")

N, SCALE_BITS = 2048, 40
TOL = 8 * 2**6 * 1024 * math.sqrt(N) * 2.0**-SCALE_BITS
TOY = {"poly_degree": N, "security": None, "scale_bits": SCALE_BITS, "verbose": False, "flooding": False,
       "packing": "rows"}


def mlp(n_in: int, hidden: int, n_out: int, seed: int = 0, activation=None) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential([nn.Linear(n_in, hidden, init="xavier", rng=rng), activation or nn.Square(),
                          nn.Linear(hidden, n_out, init="xavier", rng=rng)])


@pytest.fixture(scope="module")
def iris():
    return load_iris()


# -- layout ---------------------------------------------------------------------------------------------


def test_layout_sizes_follow_each_layer_not_the_largest():
    lay = RowsLayout(64, 16, 10, 8192)
    assert (lay.in_p, lay.hidden_p, lay.out_p, lay.width) == (64, 16, 16, 64)
    assert lay.segment == 1024 and lay.copies == 8 and lay.chunks(32) == 4 and lay.chunks(33) == 5
    assert lay.slot_use() == {"W1": 1.0, "W2": 160 / 1024}
    # the block packing would square everything to d = 128 and need 2 * 128^3 slots
    odd = RowsLayout(30, 5, 2, 1024)
    assert (odd.in_p, odd.hidden_p, odd.out_p, odd.segment) == (32, 8, 2, 256)
    assert RowsLayout(4, 7, 3, 1024, "softmax_ce").width == 8  # 2 o' for the class sums


def test_packing_round_trip_and_positions():
    lay = RowsLayout(5, 3, 3, 1024)
    rng = np.random.default_rng(0)
    w1, b1, w2, b2 = rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=3)
    vectors = lay.pack_weights(w1, b1, w2, b2)
    for got, want in zip(lay.unpack_weights(vectors), (w1, b1, w2, b2)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)  # the mean of identical copies
    seg = vectors[0][: lay.segment].reshape(lay.hidden_p, lay.width)
    assert seg[2, 4] == w1[4, 2] and np.all(seg[3:] == 0) and np.all(seg[:, 5:] == 0)
    np.testing.assert_array_equal(vectors[0], np.tile(vectors[0][: lay.segment], lay.copies))
    x = rng.normal(size=(2, 5))
    packed = lay.pack_inputs(x).reshape(-1, lay.hidden_p, lay.width)
    np.testing.assert_array_equal(packed[1, 2, :5], x[1])
    assert np.all(packed[2:] == 0)
    targets = lay.pack_targets(np.eye(3)[[2, 0]]).reshape(-1, lay.hidden_p, lay.width)
    assert targets[0, 3, 2] == 1 and targets[1, 0, 0] == 1 and targets.sum() == 2 * lay.hidden_p
    mask = lay.hidden_mask(2).reshape(-1, lay.hidden_p, lay.width)
    assert mask.sum() == 2 * 3 and np.all(mask[:2, :3, 0] == 1)


def test_layout_refuses_a_segment_larger_than_the_ring():
    with pytest.raises(ConfigError, match="segment of 2048 slots.*poly_degree=2048"):
        RowsLayout(64, 32, 10, 1024)


def test_galois_steps_cover_every_rotation_of_a_step():
    lay = RowsLayout(5, 3, 3, 1024, "softmax_ce")
    steps = set(lay.galois_steps())
    assert {1, 2, 4, -1, -2, 8, 16, -8, -16, -3} <= steps  # run sums, spreads, runs, class totals
    assert {lay.segment << t for t in range(int(math.log2(lay.copies)))} <= steps


# -- the softmax surrogate ---------------------------------------------------------------------------------


def test_softmax_slope_is_taylor_for_small_logits_and_flattens_for_large():
    assert softmax_slope(10, 0.05) == pytest.approx(1.0, abs=0.02)  # softmax ~ (1 + u) / K near 0
    slopes = [softmax_slope(10, r) for r in (1.0, 4.0, 8.0)]
    assert slopes[0] > slopes[1] > slopes[2] > 0
    for bad in (0.0, -1.0, float("inf"), "4"):
        with pytest.raises(ConfigError, match="logit_range"):
            softmax_slope(10, bad)
    with pytest.raises(ConfigError, match="at least 2 classes"):
        softmax_slope(1, 4.0)


def test_surrogate_error_sums_to_zero_and_leaves_padding_alone():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(6, 8))
    y = np.zeros((6, 8))
    y[np.arange(6), [0, 1, 2, 0, 1, 2]] = 1
    e = surrogate_error(z, y, 4, 3, 0.8)
    np.testing.assert_allclose(e[:4, :3].sum(axis=1), 0.0, atol=1e-12)
    assert np.all(e[4:] == 0) and np.all(e[:, 3:] == 0)
    assert cross_entropy(np.zeros((2, 4)), np.array([0, 3])) == pytest.approx(math.log(4))


# -- one step on ciphertexts against numpy --------------------------------------------------------------


def _reference_step(x, labels, weights, coeffs, lr, softmax, train_coefficients=False):
    (w1, b1, w2, b2), (c1, c2) = weights, coeffs
    y = np.eye(w2.shape[1])[labels]
    z1 = x @ w1 + b1
    a1 = c1 * z1 + c2 * z1 * z1
    z2 = a1 @ w2 + b2
    if softmax is None:
        e = z2 - y
    else:
        u = z2 - z2.mean(axis=1, keepdims=True)
        e = (1 + softmax * u) / w2.shape[1] - y
    da1 = e @ w2.T
    dz1 = da1 * (c1 + 2 * c2 * z1)
    r = lr / len(x)
    new = (w1 - r * x.T @ dz1, b1 - r * dz1.sum(0), w2 - r * a1.T @ e, b2 - r * e.sum(0))
    if train_coefficients:  # nn's trainable activation: one (c1, c2) shared by the units
        new += (np.array([c1 - r * np.sum(da1 * z1), c2 - r * np.sum(da1 * z1 * z1)]),)
    return new


@pytest.mark.parametrize("loss", ["mse", "softmax_ce"])
def test_one_step_matches_numpy_for_odd_sizes_and_a_partial_chunk(loss):
    n_in, hidden, n_out = 5, 3, 3
    ctx = ckks.Context(N, [47] + [SCALE_BITS] * rows_depth() + [47], scale_bits=SCALE_BITS, security=None)
    lay = RowsLayout(n_in, hidden, n_out, ctx.slots, loss)
    ctx.generate_galois_keys(lay.galois_steps(), progress=False)
    rng = np.random.default_rng(2)
    weights = (rng.normal(0, 0.4, (n_in, hidden)), rng.normal(0, 0.1, hidden), rng.normal(0, 0.4, (hidden, n_out)),
               rng.normal(0, 0.1, n_out))
    batch = lay.copies + 3  # a second chunk with 3 samples: the masks must silence its empty segments
    x, labels = rng.uniform(-1, 1, (batch, n_in)), rng.integers(0, n_out, batch)
    slope = softmax_slope(n_out, 3.0) if loss == "softmax_ce" else None
    public = ctx.public_copy()
    server = RowsServer(public, lay, 0.3, (0.5, 0.25), PermutationEngine(public, 1), slope or 1.0)
    enc = [ctx.encrypt(v, symmetric=True).ciphertext for v in lay.pack_weights(*weights)]
    c, onehot = lay.copies, np.eye(n_out)[labels]
    upload = RowsBatch([ctx.encrypt(lay.pack_inputs(x[i : i + c]), symmetric=True).ciphertext for i in (0, c)],
                       [ctx.encrypt(lay.pack_targets(onehot[i : i + c]), symmetric=True).ciphertext for i in (0, c)],
                       [c, 3], batch)
    inputs_before = [ct.data.copy() for ct in enc]
    new = server.step(enc, upload)
    assert all(np.array_equal(ct.data, before) for ct, before in zip(enc, inputs_before))  # inputs unchanged
    assert len({ct.level for ct in new}) == 1 and enc[0].level - new[0].level == rows_depth()
    got = lay.unpack_weights([ctx.decrypt(ckks.CKKSVector(ctx, ct, ctx.slots)) for ct in new])
    for g, want in zip(got, _reference_step(x, labels, weights, (0.5, 0.25), 0.3, slope)):
        np.testing.assert_allclose(g, want, atol=TOL)


# -- train(..., packing="rows") ---------------------------------------------------------------------------


def test_rows_training_matches_the_twin_through_a_partial_batch(iris):
    # 112 samples in batches of 50: the third batch has 12, its rate lr / 12 differs from the others'
    report = train(mlp(4, 7, 3), iris.x_train, iris.y_train, epochs=1, batch_size=50, learning_rate=0.3, **TOY)
    assert report.parameters["packing"] == "rows" and report.parameters["depth_per_step"] == rows_depth()
    assert report.steps == 3 and report.refreshes == 2  # one step of 8 levels per refresh
    assert report.history[0]["weight_diff"] < TOL
    assert report.history[0]["loss"] == pytest.approx(report.history[0]["twin_loss"], abs=1e-5)
    for layer in (0, 2):
        np.testing.assert_allclose(report.model[layer].params["weight"], report.twin_model[layer].params["weight"],
                                   atol=TOL)
    # counts of the first step (two chunks of 50 samples, 32 a ciphertext), from the layout, by ckks's counting hook
    lay = RowsLayout(4, 7, 3, N // 2)
    per_chunk = sum(len(steps) for steps in (
        lay.run_sum_steps(lay.in_p), lay.spread_steps(lay.out_p), lay.runs_sum_steps(), lay.runs_spread_steps(),
        lay.run_sum_steps(lay.out_p), lay.spread_steps(lay.in_p)))
    assert lay.chunks(50) == 2
    assert report.counts["rotations"] == 2 * per_chunk + 4 * len(lay.segments_sum_steps())
    assert report.counts["ct_ct_multiplications"] == 2 * 7 and report.counts["relinearizations"] == 2 * 7
    assert report.counts["depth"] == rows_depth() and report.counts["uploaded_ciphertexts"] == 4


def test_auto_packing_takes_rows_where_blocks_do_not_fit():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1, (16, 64)), rng.integers(0, 10, 16)
    report = train(mlp(64, 16, 10), x, y, epochs=1, batch_size=8, learning_rate=0.05, max_steps=1,
                   **{**TOY, "packing": "auto", "poly_degree": 4096})
    assert report.parameters["packing"] == "rows" and report.parameters["samples_per_ciphertext"] == 2
    assert report.history[0]["weight_diff"] < TOL
    with pytest.raises(ConfigError, match="need poly_degree >= 4194304; use packing='rows'"):
        train(mlp(64, 16, 10), x, y, epochs=1, batch_size=8, **{**TOY, "packing": "blocks"})


def test_softmax_surrogate_training_matches_its_twin(iris):
    report = train(mlp(4, 7, 3), iris.x_train, iris.y_train, epochs=1, batch_size=32, learning_rate=0.5,
                   max_steps=2, loss="softmax_ce", **TOY)
    assert report.parameters["loss"] == "softmax_ce"
    assert report.history[0]["weight_diff"] < TOL
    assert report.history[0]["loss"] == pytest.approx(report.history[0]["twin_loss"], abs=1e-5)  # cross-entropy


def test_bad_packing_and_loss_arguments_are_refused_before_encryption(iris, monkeypatch):
    def no_encryption(*args, **kwargs):
        raise AssertionError("encrypted before the checks")

    monkeypatch.setattr(ckks.Context, "encrypt", no_encryption)
    x, y, model = iris.x_train, iris.y_train, mlp(4, 7, 3)
    cases = [({"packing": "diagonal"}, "packing must be"), ({"loss": "hinge"}, "loss must be"),
             ({"loss": "softmax_ce", "packing": "blocks"}, "needs packing='rows'"),
             ({"loss": "softmax_ce", "logit_range": -1.0}, "logit_range"),
             ({"loss": "softmax_ce", "logit_range": True}, "logit_range"),
             ({"loss": "softmax_ce", "logit_range": 0.01}, r"centred logits in \[-0.01, 0.01\]")]
    for extra, message in cases:
        with pytest.raises(ConfigError, match=message):
            train(model, x, y, epochs=1, batch_size=16, **{**TOY, **extra})
    weights = model[0].params["weight"].copy()
    with pytest.raises(ConfigError, match="segment"):
        train(mlp(64, 32, 10), np.zeros((4, 64)), np.zeros(4, int), epochs=1, batch_size=4,
              **{**TOY, "poly_degree": 2048})
    np.testing.assert_array_equal(model[0].params["weight"], weights)


def test_one_step_trains_the_activation_coefficients():
    n_in, hidden, n_out = 5, 3, 3
    ctx = ckks.Context(N, [47] + [SCALE_BITS] * rows_depth() + [47], scale_bits=SCALE_BITS, security=None)
    lay = RowsLayout(n_in, hidden, n_out, ctx.slots)
    ctx.generate_galois_keys(lay.galois_steps(), progress=False)
    rng = np.random.default_rng(4)
    weights = (rng.normal(0, 0.4, (n_in, hidden)), rng.normal(0, 0.1, hidden), rng.normal(0, 0.4, (hidden, n_out)),
               rng.normal(0, 0.1, n_out))
    batch = lay.copies + 5
    x, labels = rng.uniform(-1, 1, (batch, n_in)), rng.integers(0, n_out, batch)
    public = ctx.public_copy()
    server = RowsServer(public, lay, 0.3, (0.0, 0.0), PermutationEngine(public, 1), trainable=True)
    vectors = lay.pack_weights(*weights) + lay.pack_coefficients(0.7, 0.2)
    enc = [ctx.encrypt(v, symmetric=True).ciphertext for v in vectors]
    c, onehot = lay.copies, np.eye(n_out)[labels]
    upload = RowsBatch([ctx.encrypt(lay.pack_inputs(x[i : i + c]), symmetric=True).ciphertext for i in (0, c)],
                       [ctx.encrypt(lay.pack_targets(onehot[i : i + c]), symmetric=True).ciphertext for i in (0, c)],
                       [c, 5], batch)
    new = server.step(enc, upload)
    assert len(new) == 6 and enc[0].level - new[0].level == rows_depth()
    values = [ctx.decrypt(ckks.CKKSVector(ctx, ct, ctx.slots)) for ct in new]
    want = _reference_step(x, labels, weights, (0.7, 0.2), 0.3, None, train_coefficients=True)
    for g, w in zip(lay.unpack_weights(values[:4]) + (lay.unpack_coefficients(values[4:]),), want):
        np.testing.assert_allclose(g, w, atol=TOL)
    assert not np.allclose(want[4], [0.7, 0.2], atol=1e-3)  # the step did move them


def test_a_trainable_quadratic_is_trained_like_its_twin(iris):
    model = mlp(4, 7, 3, activation=nn.QuadraticActivation(a=0.1, b=1.0))
    before = model[1].params["coeffs"].copy()
    report = train(model, iris.x_train, iris.y_train, epochs=1, batch_size=32, learning_rate=0.3, max_steps=3,
                   **{**TOY, "packing": "auto"})
    assert report.parameters["packing"] == "rows"  # auto: only the row packing trains the coefficients
    np.testing.assert_array_equal(model[1].params["coeffs"], before)  # the model itself is not modified
    trained, twin = report.model[1].params["coeffs"], report.twin_model[1].params["coeffs"]
    assert not np.allclose(trained, before, atol=1e-4)
    np.testing.assert_allclose(trained, twin, atol=TOL)
    assert report.history[0]["weight_diff"] < TOL
    with pytest.warns(UserWarning, match="keeps the activation's coefficients fixed"):
        fixed = train(model, iris.x_train, iris.y_train, epochs=1, batch_size=16, learning_rate=0.3, max_steps=1,
                      **{**TOY, "packing": "blocks", "scale_bits": 30})
    np.testing.assert_array_equal(fixed.model[1].params["coeffs"], before)
