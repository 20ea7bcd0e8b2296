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
from nn.errors import ConfigError

NO_FLOOD = {**TOY, "flooding": False}


def _model():
    return nn.Sequential([nn.Linear(4, 4, rng=0), nn.Square(), nn.Linear(4, 3, rng=1), nn.Argmax()])


def _data():
    return np.random.default_rng(0).normal(size=(64, 4))


@pytest.mark.parametrize("layout, count", [("sample", 2), ("batch", 5)])
def test_bootstrapped_argmax_is_the_plaintext_one_hot(layout, count):
    """Teaching preset (security=None): the plan bootstraps before the comparison and wherever the level runs
    out; the decrypted one-hot equals the plaintext arg-max on the samples tried."""
    model, x = _model(), _data()
    em = encrypted.compile(model, (4,), count, layout=layout, calibration=x, bootstrap="always", **NO_FLOOD)
    plan, stage = em.bootstrap, em.stages[-1]
    assert plan is not None and plan.preset == "teaching" and stage.bootstraps[0] == 0
    # every bootstrap after the first sits where the level left cannot hold the next segment
    segments = bootstrap.segments(stage)
    for k, level in plan.points[1:]:
        assert level < segments[k][1]
    text = em.summary()
    for n, ((_, level), what) in enumerate(zip(plan.points, plan.where), start=1):
        assert f"bootstrap {n}: before the arg-max's {what}" in text
        assert f"level {level} -> {plan.compute_levels}" in text
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
    assert auto.bootstrap is None and auto.stages[-1].bootstraps == ()
    assert auto.params == never.params and "bootstrap" not in auto.summary()
    for bad in ("sometimes", None, True):
        with pytest.raises(ConfigError, match="bootstrap must be one of"):
            encrypted.compile(model, (4,), 1, calibration=x, bootstrap=bad, **NO_FLOOD)
    plain = nn.Sequential([nn.Linear(4, 3, rng=0)])
    with pytest.raises(ConfigError, match="only before and inside an nn.Argmax"):
        encrypted.compile(plain, (4,), 1, calibration=x, bootstrap="always", **NO_FLOOD)


def test_placement_at_the_128_bit_chain():
    """Ten classes, 6 levels after a bootstrap (the "128" preset): a bootstrap before the comparison, then
    one before each segment the level cannot hold; never a negative level; a segment too deep is refused."""
    stage = argmax.design(np.random.default_rng(2).normal(size=(50, 10)), ["a"])
    lc = 6
    points = bootstrap.place(stage, 3, lc)
    assert points[0] == (0, 3)
    at = dict(points)
    level = 3
    for k, (_, need) in enumerate(bootstrap.segments(stage)):
        if k in at:
            assert at[k] == level and (k == 0 or level < need)
            level = lc
        else:
            assert level >= need
        level -= need
        assert level >= 0
    with pytest.raises(ConfigError, match="more than the 4 a bootstrap restores"):
        bootstrap.place(stage, 3, 4)
