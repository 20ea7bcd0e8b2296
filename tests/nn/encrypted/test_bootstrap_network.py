"""Bootstraps inside networks (`nn.encrypted.bootstrap`, `nn.encrypted.placement`) on the insecure teaching
preset (security=None, N = 2048): deep square stacks and a ReLU network, both layouts, compared with the
plaintext model; the refusals (no calibration, "never", keys above the memory limit); the level profile."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import nn
from ckks.errors import ParameterError, SecurityError
from nn import encrypted
from nn.encrypted.placement import level_profile
from nn.errors import ConfigError

BOOT = {**TOY, "flooding": False, "bootstrap": "always"}


def _square_stack(x: np.ndarray, width: int, hidden: int = 4) -> nn.Sequential:
    """Linear, Square, ... Linear: every linear layer standardised on ``x`` (units centred on 1, spread 0.35;
    logits centred on 0), so that the values neither vanish nor explode through the squares."""
    dims = [x.shape[1]] + [width] * hidden + [3]
    layers, h = [], x
    for i in range(len(dims) - 1):
        lin = nn.Linear(dims[i], dims[i + 1], rng=i)
        out = lin.forward(h)
        last = i == len(dims) - 2
        spread, centre = (1.0, 0.0) if last else (0.35, 1.0)
        lin.params["weight"] *= spread / out.std(axis=0)
        lin.params["bias"][:] = (lin.params["bias"] - out.mean(axis=0)) * spread / out.std(axis=0) + centre
        h = lin.forward(h)
        layers.append(lin)
        if not last:
            layers.append(nn.Square())
            h = h * h
    return nn.Sequential(layers)


def _relu_mlp(x: np.ndarray, width: int) -> nn.Sequential:
    layers = [nn.Linear(x.shape[1], width, rng=0), nn.ReLU(), nn.Linear(width, width, rng=1), nn.ReLU(),
              nn.Linear(width, 3, rng=2)]
    for lin in layers[::2]:
        lin.params["bias"][:] = 0.3  # units active on part of the data
    return nn.Sequential(layers)


def _clear(logits: np.ndarray, gap: float, count: int) -> np.ndarray:
    top = np.sort(logits, axis=1)
    idx = np.flatnonzero(top[:, -1] - top[:, -2] > gap)[:count]
    assert len(idx) == count
    return idx


def _check_run(em, model, x, idx):
    """Run on x[idx]: the plan's output within em.tolerance, the model's argmax, the stated output level, and the
    bootstraps the plan counts (two ciphertexts per bootstrap, `Bootstrapper.bootstrap_pair`)."""
    from ckks.circuits.bootstrapping.bootstrapper import Bootstrapper

    ctx = em.keygen()
    enc = em.encrypt(ctx, x[idx])
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        for name in ("bootstrap", "bootstrap_pair"):
            original = getattr(Bootstrapper, name)
            mp.setattr(Bootstrapper, name,
                       lambda self, *args, _f=original, _n=name, **kw: calls.append(_n) or _f(self, *args, **kw))
        out = em.run(ctx.public_copy(), enc)
    p = em.bootstrap.placement
    # the executor pairs the ciphertexts of every sample at a point (sample layout), of the one chunk (batch)
    runs = len(idx) if em.layout == "sample" else 1
    assert len(calls) == sum(-(-p.segments[j].ciphertexts * runs // 2) for j in p.bootstraps)
    assert len(calls) <= runs * em.bootstrap.count and "bootstrap_pair" in calls
    if runs == 1:
        assert len(calls) == em.bootstrap.count
    assert all(v.level == em.bootstrap.output_level for v in out.vectors)
    got = em.decrypt(ctx, out)
    np.testing.assert_allclose(got, em.plan_forward(x[idx]), rtol=0, atol=em.tolerance)
    np.testing.assert_array_equal(np.argmax(got, axis=1), np.argmax(model.forward(x[idx]), axis=1))
    return got


def _check_summary(em):
    text = em.summary()
    p, plan = em.bootstrap.placement, em.bootstrap
    assert "levels in -> out per stage: 0: " in text
    levels_in = p.levels_in()
    for n, j in enumerate(p.bootstraps, start=1):
        line = f"bootstrap {n}: before {p.segments[j].name}, level {levels_in[j]} -> {plan.compute_levels}"
        assert line in text and "modelled" in text.split(line)[1].splitlines()[0]
    assert f"naive 'bootstrap when empty' policy: {p.naive_bootstraps} bootstrap point(s)" in text
    assert f"{len(p.bootstraps)} bootstrap point(s), {plan.count} bootstrap(s) per" in text
    assert plan.count == sum((p.segments[j].ciphertexts + 1) // 2 for j in p.bootstraps)  # paired
    assert p.naive_bootstraps >= len(p.bootstraps) and p.naive_cost >= p.cost - 1e-12


@pytest.mark.parametrize("layout, count, width", [("sample", 2, 3), ("batch", 2, 2)])
def test_square_stack_bootstraps_between_stages(layout, count, width, capsys):
    """Nine levels, three after a bootstrap: at least two bootstraps, the values scaled into [-1, 1] before each
    (folded into the neighbouring linear stages); decrypted logits as the plaintext model's."""
    x = np.random.default_rng(0).normal(size=(64, 4))
    model = _square_stack(x, width)
    em = encrypted.compile(model, (4,), count, layout=layout, calibration=x, **BOOT)
    plan = em.bootstrap
    assert plan.compute_levels == 3 and len(plan.placement.bootstraps) >= 2
    assert plan.scales and set(plan.scales) == plan.folded  # some value bound > 1, all folded (no extra level)
    # sparse packing: 8 slots hold the widest tensor (sample layout) or the batch (batch layout)
    assert plan.slots_refreshed == 8 < em.params.slots
    _check_summary(em)
    idx = _clear(model.forward(x), 0.05, count)
    _check_run(em, model, x, idx)
    assert "bootstrapping keys: " in capsys.readouterr().err  # keygen states the keys' memory first


@pytest.mark.parametrize("layout, count, width", [("sample", 2, 3), ("batch", 2, 2)])
def test_relu_network_bootstraps_inside_the_approximations(layout, count, width):
    """A ReLU MLP approximated (composite sign, `nn.encrypted.approximation`; 4 bits keep the test short) needs
    at least two bootstraps, some inside the ReLUs; the encrypted argmax equals the plaintext model's on
    samples whose top two logits are clearly apart, the outputs are the plan's within its tolerance."""
    x = np.random.default_rng(1).normal(size=(128, 4))
    model = _relu_mlp(x, width)
    em = encrypted.compile(model, (4,), count, layout=layout, calibration=x, approximate=True, approx_bits=4,
                           **BOOT)
    p = em.bootstrap.placement
    assert len(p.bootstraps) >= 2 and any(p.segments[j].part > 0 for j in p.bootstraps)
    # everything a ReLU carries across its cuts (t, the partial signs, g p / 2) is 0 on empty slots: sparse
    # packing without a mask
    assert not em.bootstrap.masked and em.bootstrap.slots_refreshed == 8
    _check_summary(em)
    idx = _clear(model.forward(x), 0.5, count)
    _check_run(em, model, x, idx)


def test_inputs_beyond_the_calibrated_range_warn_before_a_bootstrap():
    """Values that would reach a bootstrap outside [-1, 1] (after its scaling): a RangeWarning at encrypt naming
    the bootstrap (no key needed: the check runs on the client's plaintext)."""
    from nn.encrypted.bootstrap import warn_ranges
    from nn.errors import RangeWarning

    x = np.random.default_rng(0).normal(size=(64, 4))
    em = encrypted.compile(_square_stack(x, 3), (4,), 1, layout="sample", calibration=x, **BOOT)
    feats = x[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RangeWarning)
        warn_ranges(em, feats)  # a calibration sample: no warning
    with pytest.warns(RangeWarning, match=r"the bootstrap before stage \d+ .* would see values up to"):
        warn_ranges(em, 6.0 * feats)


def test_level_profile_before_and_after_placement():
    x = np.random.default_rng(0).normal(size=(32, 4))
    model = _square_stack(x, 3)
    em = encrypted.compile(model, (4,), 1, layout="sample", calibration=x, **BOOT)
    prof = level_profile(em)
    assert prof["before"][0] == ("input", em.depth) and prof["before"][-1][1] == 0
    levels = [level for _, level in prof["after"]]
    assert min(levels) >= 0 and max(levels) == em.bootstrap.compute_levels
    boots = [name for name, _ in prof["after"] if name.startswith("bootstrap before")]
    assert len(boots) == len(em.bootstrap.placement.bootstraps) == len(prof["bootstraps"])
    flat = encrypted.compile(model, (4,), 1, layout="sample", calibration=x, **TOY)
    assert flat.bootstrap is None and level_profile(flat)["after"] == level_profile(flat)["before"]


def test_auto_compares_the_modelled_costs(monkeypatch):
    """Depth 51 at N = 2048 (security=None: a parameter set holds it): with the measured bootstrap times the
    longer chain is modelled faster and "auto" keeps it, saying so; were bootstraps (nearly) free, the
    placement is modelled faster and "auto" bootstraps and says why.  Depth 301 needs more than 64 primes:
    "auto" bootstraps."""
    from nn.encrypted import placement

    x = np.random.default_rng(0).normal(size=(32, 4))
    model = _square_stack(x, 3, hidden=25)
    shallow = encrypted.compile(model, (4,), 1, layout="sample", calibration=x, **TOY, flooding=False)
    assert shallow.bootstrap is None and shallow.depth == 51
    assert "bootstraps: none (bootstrap='auto': the modulus chain is modelled at" in shallow.summary()
    monkeypatch.setitem(placement.BOOTSTRAP_SECONDS, "teaching", (4096, 24, 1e-9))
    cheap = encrypted.compile(model, (4,), 1, layout="sample", calibration=x, **TOY, flooding=False)
    assert cheap.bootstrap is not None and "modelled faster than the longer modulus chain" in cheap.summary()
    assert cheap.bootstrap.alternative > cheap.bootstrap.placement.cost
    monkeypatch.undo()
    deep = encrypted.compile(_square_stack(x, 3, hidden=150), (4,), 1, layout="sample", calibration=x, **TOY,
                             flooding=False)
    assert deep.bootstrap is not None and "needs more than the 64 primes" in deep.summary()
    assert len(deep.bootstrap.placement.bootstraps) >= 100


def test_refusals_without_calibration_never_and_above_the_memory_limit():
    x = np.random.default_rng(0).normal(size=(32, 4))
    model = _square_stack(x, 3)
    with pytest.raises(ConfigError, match="pass calibration="):
        encrypted.compile(model, (4,), 1, layout="sample", input_range=(-1.0, 1.0), **BOOT)
    deep = _square_stack(x, 3, hidden=40)
    with pytest.raises(SecurityError, match="depth 81"):
        encrypted.compile(deep, (4,), 1, layout="sample", calibration=x, bootstrap="never", flooding=False)
    # "auto" bootstraps it at 128 bits (N = 2^16); its keys (about 10 GiB) are refused before any key exists
    em = encrypted.compile(deep, (4,), 1, layout="sample", calibration=x, flooding=False, memory_limit=1 << 30)
    assert em.bootstrap.preset == "128" and "no 128-bit-secure parameter set holds depth 81" in em.summary()
    with pytest.raises(ParameterError, match="bootstrapping plan's .* keys would take .* above the limit of 1.00 GiB"):
        em.keygen()


def test_sparse_packing_only_where_zeros_stay_zeros():
    """p(0) != 0 fills the empty slots: those plans bootstrap with full packing, or sparse with a mask before
    every bootstrap (one level)."""
    from ckks.circuits.bootstrapping import preset
    from nn.encrypted.bootstrap import sparse_slots
    from nn.encrypted.plan import AffineStage, PolyStage

    config = preset("teaching")
    affine = AffineStage(np.ones((20, 5)), np.zeros(5), ["0:Linear"])
    square = PolyStage(np.array([0.0, 0.5, 1.0]), "monic2", ["1:Square"])
    shifted = PolyStage(np.array([0.25, 0.0, 0.0, 1.0]), "poly", ["1:PolyActivation"])
    assert sparse_slots([affine, square, affine], "sample", config) == 32  # the 20-wide input
    assert sparse_slots([affine, square, affine], "batch", config, batch_size=100) == 128
    assert sparse_slots([affine, shifted, affine], "sample", config) == config.slots
    assert sparse_slots([affine, shifted, affine], "sample", config, masked=True) == 32  # zeroed before a bootstrap
    assert sparse_slots([affine, square, affine], "batch", config, batch_size=1500) == config.slots  # > N/4


def test_bootstrap_precision_bound_holds_for_sparse_real_bootstraps():
    """The plan's bound loses bits with sparse packing (the trace's N / 2n copies); a real bootstrap meets it."""
    import ckks
    from ckks.errors import InsecureWarning
    from nn.encrypted.bootstrap import REAL_OUTPUT_BITS, SPARSE_BITS_PER_DOUBLING, BootstrapPlan

    options = {"poly_degree": 1024, "slots": 32, "cts_levels": 2, "stc_levels": 2}
    plan = BootstrapPlan("teaching", options, None, 3, None, None, "test", 32)
    config = plan.config()
    full = BootstrapPlan("teaching", options, None, 3, None, None, "test", config.poly_degree // 2)
    assert full.precision_bits == int(np.floor(config.precision_bits - REAL_OUTPUT_BITS))
    lost = SPARSE_BITS_PER_DOUBLING * np.log2(config.poly_degree // 2 / 32)
    assert plan.precision_bits == int(np.floor(config.precision_bits - lost - REAL_OUTPUT_BITS)) < full.precision_bits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ctx = ckks.Context.for_bootstrapping("teaching", security=None, **options)
    ctx.generate_bootstrapping_keys(progress=False)
    x = np.random.default_rng(5).uniform(-1, 1, 32)
    v = ctx.encrypt(x)
    low = ctx.evaluator.mod_switch_to(v.ciphertext, 0)
    out = ctx.bootstrapper.bootstrap(low, real=True)
    got = ctx.decrypt(ckks.CKKSVector(ctx, out, 32)).real
    assert -np.log2(np.max(np.abs(got - x))) >= plan.precision_bits
    low2 = ctx.evaluator.mod_switch_to(ctx.encrypt(-x).ciphertext, 1)
    first, second = ctx.bootstrapper.bootstrap_pair(low, low2)  # what the executor runs: two per bootstrap
    for got, want in ((first, x), (second, -x)):
        assert -np.log2(np.max(np.abs(ctx.decrypt(ckks.CKKSVector(ctx, got, 32)).real - want))) >= plan.precision_bits


def test_executor_pairs_ciphertexts_and_counts_bootstraps():
    """`Executor` refreshes two ciphertexts per bootstrap (``bootstrap_pair``; an odd one out by ``bootstrap``,
    a pair whose scales are apart by two) and counts the bootstraps it runs: the plan's count."""
    from types import SimpleNamespace

    from nn.encrypted.bootstrap import PAIR_SCALE_RTOL, BootstrapPlan, Executor
    from nn.encrypted.placement import Placement, Segment

    class Ct(SimpleNamespace):
        def with_scale(self, scale):
            return Ct(name=self.name, scale=scale, level=self.level)

    calls = []
    boot = SimpleNamespace(
        galois_keys=object(),
        bootstrap=lambda ct, real: calls.append(("one", ct.name, real)) or Ct(name=ct.name + "'", scale=ct.scale,
                                                                                 level=3),
        bootstrap_pair=lambda a, b: calls.append(("pair", a.name, b.name, a.scale == b.scale)) or (
            Ct(name=a.name + "'", scale=a.scale, level=3), Ct(name=b.name + "'", scale=b.scale, level=3)))
    segments = [Segment("s0", 0, 0, 1, ciphertexts=5), Segment("s1", 1, 0, 1, ciphertexts=5)]
    placement = Placement(segments, [1], [3, 3], 0.0, 0.0, 3, 3)
    plan = BootstrapPlan("teaching", {}, None, 3, placement, None, "test", 8)
    ops = SimpleNamespace(context=SimpleNamespace(bootstrapper=boot), ev=None)
    executor = Executor(plan, ops)
    cts = [Ct(name=n, scale=2.0**40, level=0) for n in "abcde"]
    cts[3] = Ct(name="d", scale=2.0**40 * (1 + PAIR_SCALE_RTOL / 2), level=0)  # scales equal but for the last bits
    out = executor.before(1, cts)
    assert [c.name for c in out] == ["a'", "b'", "c'", "d'", "e'"] and [c.scale for c in out] == [c.scale for c in cts]
    assert calls == [("pair", "a", "b", True), ("pair", "c", "d", True), ("one", "e", True)]
    assert executor.count == plan.count == 3
    calls.clear()
    cts[1] = Ct(name="b", scale=2.0**41, level=0)  # scales apart: no pair
    executor.before(1, cts[:2])
    assert calls == [("one", "a", True), ("one", "b", True)] and executor.count == 5
    assert executor.before(0, cts) == cts  # no bootstrap placed before stage 0
