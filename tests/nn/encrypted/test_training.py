"""Encrypted training (nn.encrypted.training): packed steps match the plaintext twin; refreshes; bad input.

Parameters: N = 2048, security=None, moduli [60] + [50] * 12 + [60] (scale 2^50,
q0 / scale = 2^10: the key owner floods its refreshes and decryptions by default, which
costs 35 of the 50 bits), d = 8: 2 blocks of 8 samples per group, so batches of 12
samples exercise a padded block.  One step is 6 levels deep and the chain holds
two steps, so the key owner refreshes the weights once in three steps (before
the third).

Tolerance.  A CKKS rescale, encoding or key switch leaves an error of about
sqrt(N) 2^-scale_bits relative to the scale; a step multiplies such errors by
the magnitudes of the values it meets (at most 2^(headroom - 1) = 2^9 by the
twin's range check) and adds them over its 6 levels.  Per step the weights
move by at most  6 * 2^9 * sqrt(N) * 2^-30 ~ 1.3e-4, so after 3 steps they
must agree with the twin within TOL = 3 * 6 * 2^9 * sqrt(2048) * 2^-30 ~ 3.9e-4, the
tolerance of a 2^30 scale without flooding: flooding (standard deviation about
2^(35 - 2) / 2^50 per slot and refresh) leaves the same 30-bit budget
(measured: ~1.3e-5 with flooding, ~2.6e-5 at scale 2^30 without).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ckks
import nn
from ckks.errors import KeyMissingError
from nn.datasets import load_iris
from nn.encrypted import training, training_packing
from nn.encrypted.training import naive_counts, step_depth, train, training_parameters
from nn.encrypted.training_packing import (
    PermutationEngine,
    offset_masks,
    phi_sigma_sources,
    psi_tau_sources,
    transpose_sources,
)
from nn.encrypted.training_twin import TwinState, augment_batch, twin_step
from nn.errors import ConfigError, DatasetError, ShapeError, TrainingDivergedError

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")

N, SCALE_BITS, HEADROOM, STEPS = 2048, 50, 10, 3
PRECISION_BITS = 30  # what the scale leaves after the flooding of the refreshes (see the module docstring)
TOL = STEPS * 6 * 2 ** (HEADROOM - 1) * math.sqrt(N) * 2.0**-PRECISION_BITS
TOY = {"poly_degree": N, "security": None, "scale_bits": SCALE_BITS, "headroom_bits": HEADROOM, "verbose": False}


def make_model(seed: int = 0, activation=None) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        [nn.Linear(4, 7, init="xavier", rng=rng), activation or nn.Square(), nn.Linear(7, 3, init="xavier", rng=rng)]
    )


@pytest.fixture(scope="module")
def iris():
    ds = load_iris()
    return ds.x_train[::3], ds.y_train[::3]  # 38 samples of all three classes


@pytest.fixture(scope="module")
def three_steps(iris):
    x, y = iris
    model = make_model()
    before = [p.copy() for _, p, _ in model.parameters()]
    report = train(model, x, y, epochs=1, learning_rate=0.2, batch_size=12, refresh="owner", seed=0,
                   max_steps=STEPS, **TOY)
    return model, before, report


def test_three_encrypted_steps_match_the_twin(three_steps):
    model, before, report = three_steps
    assert report.steps == STEPS
    assert report.history[0]["weight_diff"] < TOL
    for (name, enc, _), (_, twin, _) in zip(report.model.parameters(), report.twin_model.parameters()):
        assert np.max(np.abs(enc - twin)) < TOL, name
    assert abs(report.history[0]["loss"] - report.history[0]["twin_loss"]) < TOL
    # the input model is untouched; the trained one moved
    for p, q in zip(before, (p for _, p, _ in model.parameters())):
        np.testing.assert_array_equal(p, q)
    assert max(np.max(np.abs(p - q)) for p, (_, q, _) in zip(before, report.model.parameters())) > 10 * TOL


def test_refreshes_are_counted(three_steps):
    _, _, report = three_steps
    # 6 levels per step and 12 in the chain: steps 1 and 2 run on the fresh weights, step 3 after a refresh
    assert report.parameters["steps_per_refresh"] == 2
    assert report.refreshes == 1
    assert report.refreshed_ciphertexts == 2
    assert report.history[0]["refreshes"] == 1
    assert report.history[0]["levels_left"] == 6


def test_counts_per_step(three_steps):
    _, _, report = three_steps
    counts = report.counts
    assert counts["depth"] == step_depth() == 6
    for key in ("rotations", "ct_ct_multiplications", "pt_multiplications", "key_switches", "depth"):
        assert counts[key] > 0
    # one relinearization per product: Z1, A1, Z2, dA1, dZ1, dW1, dW2; the five moved products add one
    # tensor product per mask offset: 8 for Z1 (W1 is periodic), 15 = 2d - 1 for Z2, dA1, dW1 and dW2
    assert counts["relinearizations"] == 7
    # the client uploads X masked for W1's 8 offsets, X^T masked for dZ1's 15, and Y
    assert counts["uploaded_ciphertexts"] == 8 + 15 + 1
    assert counts["ct_ct_multiplications"] == 8 + 1 + 15 + 15 + 1 + 15 + 15
    assert counts["key_switches"] == counts["rotations"] + counts["relinearizations"]
    # the masked copies of dW2's product stay unrescaled (the product rescales twice): 15 rescales fewer
    assert counts["rescales"] == 46
    assert all(c == report.step_counts[0] for c in report.step_counts)
    naive = counts["naive"]
    assert naive["per_value"]["ct_ct_multiplications"] > 10 * counts["ct_ct_multiplications"]
    assert naive["per_sample"]["rotations"] > counts["rotations"]


def test_a_non_integer_activation_costs_one_level_more_and_matches_the_twin(iris):
    x, y = iris
    model = make_model(2, nn.PolyActivation([0.0, 0.5, 0.25]))
    report = train(model, x, y, epochs=1, learning_rate=0.2, batch_size=12, seed=0, max_steps=1, **TOY)
    assert report.counts["depth"] == step_depth(0.5, 0.25) == 7
    assert report.parameters["depth_per_step"] == 7 and report.parameters["steps_per_refresh"] == 2
    assert report.history[0]["weight_diff"] < TOL / STEPS


def test_twin_is_sgd_on_the_mse_of_the_network(iris):
    x, y = iris
    model = make_model(1, nn.PolyActivation([0.0, 0.5, 0.25]))
    net = training._network(model)
    state = training._augmented(model, net)
    xb, yb, lr = x[:10], y[:10], 0.1
    xa, ya = augment_batch(xb, yb, net.d, 3)
    twin_step(state, xa, ya, len(xb), lr, net.coeffs, net.hidden)
    reference = model.copy()
    out = reference.forward(xb)
    reference.backward((out - np.eye(3)[yb]) / len(xb))
    for layer in (reference[0], reference[2]):
        for key in layer.params:
            layer.params[key] -= lr * layer.grads[key]
    twin = training._to_model(model, net, state)
    for (name, a, _), (_, b, _) in zip(reference.parameters(), twin.parameters()):
        np.testing.assert_allclose(a, b, atol=1e-12, err_msg=name)


def test_packed_permutations_give_jiangs_product_and_the_transpose():
    rng = np.random.default_rng(0)
    d = 8
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    fa, fb = a.reshape(-1), b.reshape(-1)
    total = sum(fa[phi_sigma_sources(d, k)] * fb[psi_tau_sources(d, k)] for k in range(d))
    np.testing.assert_allclose(total.reshape(d, d), a @ b, atol=1e-12)
    np.testing.assert_array_equal(fa[transpose_sources(d)].reshape(d, d), a.T)


def test_parameters_and_depth():
    assert step_depth(0.0, 1.0) == 6
    assert step_depth(0.5, 0.25) == 7  # one level more for the non-integer 0.25 x^2 (measured below)
    secure = training_parameters(6)
    assert secure["poly_degree"] == 16384 and sum(secure["moduli_bits"]) <= 438
    assert len(secure["moduli_bits"]) == 2 + 12 and secure["scale_bits"] == 30  # two steps between refreshes
    # the key owner's flooding costs about 38 bits at N = 16384: the largest scale whose 6 levels fit with q0 = P = 60
    flooded = training_parameters(6, flooding=True, steps_per_refresh=None)
    assert flooded["moduli_bits"] == [60] + [53] * 6 + [60] and sum(flooded["moduli_bits"]) <= 438
    assert flooded["steps_per_refresh"] == 1
    assert len(training_parameters(6, steps_per_refresh=1)["moduli_bits"]) == 2 + 6
    with pytest.raises(ConfigError, match="bound"):
        training_parameters(6, poly_degree=16384, steps_per_refresh=4)
    with pytest.raises(ConfigError, match="steps_per_refresh"):
        training_parameters(6, steps_per_refresh=0)
    counts = naive_counts(4, 7, 3, 32)
    assert counts["per_value"]["rotations"] == 0 and counts["per_sample"]["rotations"] > 0


# -- bad input: a clear error before anything is encrypted, nothing mutated ---------------------------


@pytest.fixture
def no_encryption(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a ckks context was created before the input was validated")

    monkeypatch.setattr(training, "Context", refuse)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"y": "outside"}, DatasetError, "outside the model's 3 classes"),
        ({"y": "short"}, ShapeError, "y_train"),
        ({"x": "wide"}, ShapeError, r"shape \(n, 4\)"),
        ({"x": "nan"}, DatasetError, "NaN"),
        ({"x": "huge"}, DatasetError, "standardize"),
        ({"learning_rate": 5.0}, (ConfigError, TrainingDivergedError), "learning_rate"),
        ({"learning_rate": -0.1}, ConfigError, "learning_rate"),
        ({"batch_size": 0}, ConfigError, "batch_size"),
        ({"batch_size": 40}, ConfigError, "batch_size"),
        ({"epochs": 1.5}, ConfigError, "epochs"),
        ({"refresh": "sometimes"}, ConfigError, "refresh"),
        ({"activation_range": 0.5}, ConfigError, "valid range"),
    ],
)
def test_bad_input_raises_before_encryption(iris, no_encryption, change, error, match):
    x, y = iris
    x, y = x.copy(), y.copy()
    kwargs = {"epochs": 2, "learning_rate": 0.2, "batch_size": 12}
    kwargs.update({k: v for k, v in change.items() if k not in ("x", "y")})
    if change.get("y") == "outside":
        y[3] = 3
    if change.get("y") == "short":
        y = y[:-1]
    if change.get("x") == "wide":
        x = np.c_[x, x[:, :1]]
    if change.get("x") == "nan":
        x[0, 0] = np.nan
    if change.get("x") == "huge":
        x = x * 1000.0
    model = make_model()
    before = [p.copy() for _, p, _ in model.parameters()]
    with pytest.raises(error, match=match):
        train(model, x, y, **kwargs, **TOY)
    for p, (_, q, _) in zip(before, model.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.Sequential([nn.Linear(4, 3)]), "Linear, polynomial activation, Linear"),
        (nn.Sequential([nn.Linear(4, 7), nn.ReLU(), nn.Linear(7, 3)]), "nn.Square"),
        (nn.Sequential([nn.Linear(4, 7), nn.PolyActivation([1.0, 1.0, 1.0]), nn.Linear(7, 3)]), "p\\(0\\) = 0"),
        (nn.Sequential([nn.Linear(4, 7), nn.PolyActivation([0.0, 0.0, 0.0, 1.0]), nn.Linear(7, 3)]), "degree"),
    ],
)
def test_unsupported_models(iris, no_encryption, model, match):
    x, y = iris
    with pytest.raises(ConfigError, match=match):
        train(model, x, y, epochs=1, learning_rate=0.1, batch_size=12, **TOY)


def test_bootstrap_refresh_needs_a_bootstrapping_context(iris):
    import ckks
    from ckks.errors import LevelError

    x, y = iris
    kwargs = {"epochs": 1, "learning_rate": 0.1, "batch_size": 12, "refresh": "bootstrap", "verbose": False}
    with pytest.raises(ConfigError, match="security=None"):  # no 128-bit automatic preset
        train(make_model(), x, y, **kwargs)
    plain = ckks.Context(2048, [40] + [30] * 10 + [40], security=None)
    with pytest.raises(KeyMissingError, match="bootstrapping context"):
        train(make_model(), x, y, context=plain, **kwargs)
    with pytest.warns(ckks.errors.InsecureWarning):
        shallow = ckks.Context.for_bootstrapping("teaching", security=None, poly_degree=2048, compute_levels=3)
    with pytest.raises(LevelError, match="compute_levels=6"):
        train(make_model(), x, y, context=shallow, **kwargs)
    with pytest.warns(ckks.errors.InsecureWarning):
        keyless = ckks.Context.for_bootstrapping("teaching", security=None, poly_degree=2048, compute_levels=10)
    with pytest.raises(KeyMissingError, match="generate_bootstrapping_keys"):
        train(make_model(), x, y, context=keyless, **kwargs)


# -- refresh="bootstrap": no key owner during training ---------------------------------------------
#
# The teaching preset at N = 2048 with compute_levels = 6 (one step): q0 = 2^58, scale 2^45, so
# q0 / scale = 2^13.  A bootstrap promises precision_bits = 22 bits on values |z| <= 1 (the weights
# stay below 1 here), i.e. an error <= 2^-22 per refreshed weight; a step adds the CKKS rounding error
# 6 * 2^12 * sqrt(N) * 2^-45 (the same estimate as TOL, with headroom 13 and scale 2^45).  Three
# steps with a refresh before the second and third: TOL_BOOT = 3 * (2^-22 + 6 * 2^12 * sqrt(N) * 2^-45)
# ~ 7.2e-7.
BOOT_N = 2048
TOL_BOOT = STEPS * (2.0**-22 + 6 * 2.0**12 * math.sqrt(BOOT_N) * 2.0**-45)


@pytest.fixture(scope="module")
def bootstrap_steps(iris):
    import ckks

    x, y = iris
    ctx = ckks.Context.for_bootstrapping("teaching", security=None, poly_degree=BOOT_N, compute_levels=6)
    ctx.generate_bootstrapping_keys(progress=False)
    contexts, scales = [], []

    class SpyRefresher(training.BootstrapRefresher):
        def __init__(self, context):
            contexts.append(context)
            super().__init__(context)

        def refresh(self, ciphertexts, ticket=None):
            out = super().refresh(ciphertexts, ticket)
            scales.extend(ct.scale for ct in out)
            return out

    def owner_refresh(self, ciphertexts):
        raise AssertionError("the server called the key owner to refresh")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training.KeyOwner, "refresh", owner_refresh)
        mp.setattr(training, "BootstrapRefresher", SpyRefresher)
        # flooding=False: this checks the bootstrapping's own precision against TOL_BOOT; the key owner's
        # flooded decryption of the weights (on by default) costs about 2^-10 here (tests/nn/encrypted/
        # test_secure_defaults.py covers flooding)
        report = train(make_model(), x, y, epochs=1, learning_rate=0.2, batch_size=12, refresh="bootstrap",
                       seed=0, max_steps=STEPS, context=ctx, verbose=False, flooding=False)
    return ctx, contexts, report, scales


def test_bootstrap_refresh_matches_the_twin_without_the_key_owner(bootstrap_steps):
    ctx, contexts, report, scales = bootstrap_steps
    # every refresh returns the weights at the nominal scale: a step's output scale is a power of its input
    # scale over the primes, and a kept deviation grew about 5x a step until a bootstrap refused the scale.
    # W1 and W2 share one bootstrap: W1 at the nominal scale, W2 read at W1's scale and back (exact values)
    # within PAIR_SCALE_RTOL of it (nn.encrypted.bootstrap.bootstrap_in_pairs)
    from nn.encrypted.bootstrap import PAIR_SCALE_RTOL

    assert scales and all(s == ctx.params.scale for s in scales[::2])
    assert all(abs(s / ctx.params.scale - 1) <= PAIR_SCALE_RTOL for s in scales)
    assert report.bootstraps == report.refreshes  # one bootstrap a refresh for the two weight ciphertexts
    assert report.steps == STEPS
    # the refresher ran on the server's public copy, which finds the owner's bootstrapper and keys
    assert len(contexts) == 1 and not contexts[0].is_private
    assert training.check_bootstrap_available(ctx.public_copy()) is ctx.bootstrapper
    assert report.history[0]["weight_diff"] < TOL_BOOT
    for (name, enc, _), (_, twin, _) in zip(report.model.parameters(), report.twin_model.parameters()):
        assert np.max(np.abs(enc - twin)) < TOL_BOOT, name
    # compute_levels = 6 = one step: every step after the first starts with a bootstrap
    assert report.refreshes == STEPS - 1
    assert report.refreshed_ciphertexts == 2 * (STEPS - 1)
    assert report.history[0]["refreshes"] == STEPS - 1
    assert report.refresh_seconds > 0
    assert report.parameters["refresh"] == "bootstrap"
    assert report.parameters["compute_levels"] == 6 and report.parameters["steps_per_refresh"] == 1


def test_bootstrap_refresh_builds_the_teaching_preset(iris):
    x, y = iris
    report = train(make_model(), x, y, epochs=1, learning_rate=0.2, batch_size=12, refresh="bootstrap", seed=0,
                   max_steps=3, poly_degree=BOOT_N, security=None, verbose=False, flooding=False)  # as above
    # compute_levels = 2 steps (steps_per_refresh=2): one bootstrap, before the third step
    assert report.refreshes == 1
    assert report.parameters["compute_levels"] == 2 * step_depth() == 12
    assert report.history[0]["weight_diff"] < TOL_BOOT


def test_twin_state_copy_is_deep():
    state = TwinState(np.zeros((2, 2)), np.ones((2, 2)))
    other = state.copy()
    other.w1[0, 0] = 5.0
    assert state.w1[0, 0] == 0.0


def test_a_given_context_is_checked_before_encryption(iris):
    import ckks
    from ckks.errors import LevelError

    x, y = iris
    shallow = ckks.Context(2048, [40, 30, 30, 40], security=None)
    with pytest.raises(LevelError, match="6 levels"):
        train(make_model(), x, y, epochs=1, learning_rate=0.1, batch_size=12, context=shallow, verbose=False)
    with pytest.raises(KeyMissingError, match="private context"):
        train(make_model(), x, y, epochs=1, learning_rate=0.1, batch_size=12, context=shallow.public_copy(),
              verbose=False)
    assert shallow.galois_keys is None  # nothing was generated or encrypted


def test_the_gradient_all_reduce_adds_one_rescale_error_not_one_per_block():
    # moved_product(..., "all") sums S / d^2 = 256 blocks of which only block 0 holds data: the sum runs
    # before the rescale (at scale s^2, where key switching errors are negligible), so the result carries
    # one rescale error, as a single product does, not the sum of 256 (about 16 times larger)
    ctx = ckks.Context(2048, [40, 25, 25, 40], scale_bits=25, security=None, seed=1)
    ctx.generate_galois_keys()
    engine = PermutationEngine(ctx, 2)
    rng = np.random.default_rng(0)
    a, b = np.zeros(ctx.slots), np.zeros(ctx.slots)
    a[:4], b[:4] = rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4)
    ca, cb = ctx.encrypt(a).ciphertext, ctx.encrypt(b).ciphertext

    def dec(ct):
        return ctx.decrypt(ckks.CKKSVector(ctx, ct, ctx.slots))

    single = dec(engine.multiply(ca, cb)) - a * b
    reduced = dec(engine.moved_product({0: ca}, {0: cb}, "all")) - np.tile(a[:4] * b[:4], ctx.slots // 4)
    assert np.max(np.abs(reduced)) < 4 * np.max(np.abs(single))


def test_a_moved_product_with_unrescaled_masked_copies_adds_one_rescale_error():
    # perm(a) * (c b) summed over all blocks, c = 1/64 (a learning rate / batch) riding in the masks of the copies.
    # Rescaled copies carry one rescale error each, spread over all slots, and every output slot meets 2d - 1 = 7
    # of them per block summed, relative to the small c b; unrescaled copies carry only the rounding of the encoded
    # masks, and the product's second rescale divides its own error by the scale: one rescale error in all, as a
    # single product has.  (The training step computes dW2 this way.)
    ctx = ckks.Context(2048, [40, 25, 25, 40], scale_bits=25, security=None, seed=3)
    ctx.generate_galois_keys()
    d, c = 4, 1.0 / 64
    engine = PermutationEngine(ctx, d)
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-1, 1, ctx.slots), rng.uniform(-1, 1, ctx.slots)
    ca, cb = ctx.encrypt(a).ciphertext, ctx.encrypt(b).ciphertext
    spec = [(phi_sigma_sources(d, k), np.full(d * d, c)) for k in range(d)]
    masks = offset_masks(spec, False, d, ctx.slots)
    assert len(masks) == 2 * d - 1
    exact = sum(m * np.roll(a, -r) * b for r, m in masks.items())
    exact = np.tile(exact.reshape(-1, d * d).sum(axis=0), ctx.slots // (d * d))

    def error(ct, expected):
        return float(np.max(np.abs(ctx.decrypt(ckks.CKKSVector(ctx, ct, ctx.slots)) - expected)))

    rotated = engine.rotations_for(ca, [(spec, False)])
    before = engine.counts.rescales
    unrescaled = engine.masked_copies(cb, spec, False, "new", rescale=False)
    assert engine.counts.rescales == before and all(m.level == cb.level for m in unrescaled.values())
    new = engine.moved_product(rotated, unrescaled, "all", rescales=2)
    assert engine.counts.rescales == before + 2 and new.level == ca.level - 2
    old = engine.moved_product(rotated, engine.masked_copies(cb, spec, False, "old"), "all")
    assert old.level == new.level and abs(new.scale / old.scale - 1) < 1e-3
    single = error(engine.multiply(ca, cb), a * b)
    assert error(new, exact) < 2 * single
    assert error(old, exact) > 3 * error(new, exact)


def test_a_refresh_of_periodic_weights_averages_the_flooding_over_the_periods():
    # the key owner floods every refresh; a weight repeats its d^2 values S / d^2 times, and the mean of the flooded
    # copies (plaintext post-processing of flooded values: as safe to release) has sqrt(S / period) = 8 times less
    ctx = ckks.Context(2048, [60, 50, 60], 50, security=None, seed=5)
    period = 16
    truth = np.tile(np.random.default_rng(0).uniform(-1, 1, period), ctx.slots // period)
    errors = {}
    for p in (None, period):
        owner = training.KeyOwner(ctx)
        weights = [owner.encrypt(truth)]
        owner.plan_refreshes(1, level=ctx.params.max_level, budget=1, value_limit=4.0, period=p)
        owner.issue(weights)
        (fresh,) = owner.refresh(weights, owner.ticket)
        values = ctx.decrypt(ckks.CKKSVector(ctx, fresh, ctx.slots))
        errors[p] = float(np.sqrt(np.mean((values - truth) ** 2)))
    assert errors[period] < errors[None] / 4
    np.testing.assert_allclose(training_packing.periodic_mean(truth + 1.0, period), truth + 1.0)
    for bad in (3, 0, 2.0, True):  # 3 does not divide the 1024 slots
        with pytest.raises(ConfigError, match="period"):
            owner.plan_refreshes(1, 0, 1, 4.0, period=bad)
