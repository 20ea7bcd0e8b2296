"""nn.Argmax with bootstraps (`nn.encrypted.bootstrap`): the teaching preset in both layouts, the placement,
the refusal with bootstrap="never", and plans that fit staying unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import nn
from ckks.errors import SecurityError
from nn import encrypted
from nn.encrypted import argmax, bootstrap
from nn.encrypted.placement import CostModel, PlacementError, Segment, place
from nn.errors import ConfigError

NO_FLOOD = {**TOY, "flooding": False}


def _model():
    return nn.Sequential([nn.Linear(4, 4, rng=0), nn.Square(), nn.Linear(4, 3, rng=1), nn.Argmax()])


def _data():
    return np.random.default_rng(0).normal(size=(64, 4))


@pytest.mark.parametrize("layout, count", [("sample", 2), ("batch", 5)])
def test_bootstrapped_argmax_is_the_plaintext_one_hot(layout, count):
    """Teaching preset (security=None): the placement (`nn.encrypted.placement`) bootstraps inside the
    comparison where the levels run out; the decrypted one-hot equals the plaintext arg-max on the samples tried."""
    model, x = _model(), _data()
    em = encrypted.compile(model, (4,), count, layout=layout, calibration=x, bootstrap="always", **NO_FLOOD)
    plan, stage = em.bootstrap, em.stages[-1]
    assert plan is not None and plan.preset == "teaching"
    p = plan.placement
    assert p.bootstraps and any(p.segments[j].stage == len(em.stages) - 1 for j in p.bootstraps)
    assert [(s.name.split(": ")[-1], s.levels) for s in p.segments if s.stage == len(em.stages) - 1] == \
        bootstrap.segments(stage)
    text = em.summary()
    levels_in = p.levels_in()
    for n, j in enumerate(p.bootstraps, start=1):
        assert f"bootstrap {n}: before {p.segments[j].name}, level {levels_in[j]} -> {plan.compute_levels}" in text
    ctx = em.keygen()
    logits = model.layers[2].forward(model.layers[1].forward(model.layers[0].forward(x)))
    top = np.sort(logits, axis=1)
    clear = np.flatnonzero(top[:, -1] - top[:, -2] > 4 * stage.margin_logits)[:count]  # beyond the tie margin
    assert len(clear) == count
    out = em.run(ctx.public_copy(), em.encrypt(ctx, x[clear]))
    assert out.vectors[0].level == plan.output_level
    got = em.decrypt(ctx, out)
    assert got.shape == (len(clear), 3)
    np.testing.assert_array_equal(np.argmax(got, axis=1), np.argmax(model.forward(x[clear]), axis=1))
    np.testing.assert_allclose(got, model.forward(x[clear]), atol=0.1)


def test_bootstrap_never_refuses_and_auto_explains_the_128_bit_chain():
    """A deep comparison (margin 2^-24) with flooding does not fit any 128-bit set: "never" refuses as before;
    "auto" would bootstrap at N = 2^16, whose 2^42 scale leaves too few bits after flooding, and says so."""
    model, x = _model(), _data()
    with pytest.raises(SecurityError, match="largest depth a 128-bit-secure parameter set allows"):
        encrypted.compile(model, (4,), 1, layout="sample", calibration=x, argmax_margin=2.0**-24, bootstrap="never")
    with pytest.raises(ConfigError, match=r"'128' bootstrapping chain.*flooding=False"):
        encrypted.compile(model, (4,), 1, layout="sample", calibration=x, argmax_margin=2.0**-24)


def test_a_plan_that_fits_is_unchanged_and_bad_values_are_refused():
    model, x = _model(), _data()
    auto = encrypted.compile(model, (4,), 1, layout="sample", calibration=x, **NO_FLOOD)
    never = encrypted.compile(model, (4,), 1, layout="sample", calibration=x, bootstrap="never", **NO_FLOOD)
    assert auto.bootstrap is None
    assert auto.params == never.params and "bootstraps: none (bootstrap='auto'" in auto.summary()  # says why
    for bad in ("sometimes", None, True):
        with pytest.raises(ConfigError, match="bootstrap must be one of"):
            encrypted.compile(model, (4,), 1, calibration=x, bootstrap=bad, **NO_FLOOD)
    plain = nn.Sequential([nn.Linear(4, 3, rng=0)])  # any model may bootstrap; one level needs none
    em = encrypted.compile(plain, (4,), 1, calibration=x, bootstrap="always", **NO_FLOOD)
    assert em.bootstrap is not None and em.bootstrap.placement.bootstraps == []


def test_placement_at_the_128_bit_chain():
    """Ten classes, 6 levels after a bootstrap (the "128" preset), 3 left at the arg-max: every segment fits
    the level it runs at, never a negative level; a segment deeper than a bootstrap restores is refused."""
    stage = argmax.design(np.random.default_rng(2).normal(size=(50, 10)), ["a"])
    chain = [Segment(name, 0, k, levels, 1.0) for k, (name, levels) in enumerate(bootstrap.segments(stage))]
    chain = [Segment("network", 0, 0, 3, 1.0)] + [Segment(s.name, 1, s.part, s.levels, 1.0) for s in chain]
    lc = 6
    got = place(chain, lc, lc, CostModel(65536, 16.2))
    level = lc
    for j, (seg, run) in enumerate(zip(chain, got.run_levels)):
        if j in got.bootstraps:
            level = lc
        assert seg.levels <= run <= level
        level = run - seg.levels
        assert level >= 0
    assert got.naive_bootstraps >= len(got.bootstraps)
    with pytest.raises(PlacementError, match="more than the 4 a bootstrap restores"):
        place(chain, 4, 4, CostModel(65536, 16.2))
