"""``refresh="bootstrap"``'s refresher (`nn.encrypted.training.BootstrapRefresher`): weights in pairs, one bootstrap
of a + i b each (an odd one out alone), at the nominal scale and level ``compute_levels``; teaching rings (insecure).

The tolerance: the teaching preset at N = 1024 promises ``precision_bits`` = 22 bits on |z| <= 1 for a single
bootstrap, a pair about one bit less (tests/ckks/circuits/bootstrapping/test_bootstrap_pair.py): 2^-20 a refresh.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks.errors import InsecureWarning
from nn.encrypted.bootstrap import PAIR_SCALE_RTOL
from nn.encrypted.training import BootstrapRefresher, check_bootstrap_available
from nn.errors import ConfigError

N = 1024
SLOTS = N // 2
TOL = 2.0**-20  # one refresh of a pair (see the module docstring)


def _bootstrapping(**options) -> ckks.Context:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ctx = ckks.Context.for_bootstrapping("teaching", security=None, poly_degree=N, compute_levels=2, **options)
    ctx.generate_bootstrapping_keys(progress=False)
    return ctx


@pytest.fixture(scope="module")
def ctx() -> ckks.Context:
    return _bootstrapping()


def _weights(ctx, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(count)
    return [rng.uniform(-0.9, 0.9, SLOTS) for _ in range(count)]


def _drifted(ctx, values: np.ndarray, factor: float):
    """``values`` at level 0 and a scale that drifted from the nominal one by ``factor`` (as after a step)."""
    ev = ctx.evaluator
    ct = ctx.encrypt(values).ciphertext
    q = ctx.params.data_moduli[ct.level]
    return ev.mod_switch_to(ev.rescale(ev.multiply_scalar(ct, 1.0, scale=q * factor)), 0)


def _decrypt(ctx, ct) -> np.ndarray:
    return np.real(ctx.decrypt(ckks.CKKSVector(ctx, ct, SLOTS)))


def _check(ctx, refreshed: list, values: list) -> None:
    """Same values, level compute_levels, the nominal scale (a pair's second within PAIR_SCALE_RTOL)."""
    s = ctx.params.scale
    assert refreshed[0].scale == s
    for ct, want in zip(refreshed, values):
        assert ct.level == ctx.bootstrapper.config.compute_levels
        assert abs(ct.scale / s - 1.0) <= PAIR_SCALE_RTOL
        assert np.max(np.abs(_decrypt(ctx, ct) - want)) < TOL


def test_a_refresh_bootstraps_two_weights_at_once_and_returns_them_at_the_nominal_scale(ctx):
    refresher = BootstrapRefresher(ctx.public_copy())  # the server's copy: no secret key
    values = _weights(ctx, 2)
    cts = [_drifted(ctx, values[0], 1 + 3e-6), _drifted(ctx, values[1], 1 - 4e-6)]  # scales 7e-6 apart, as at 128
    before = [(ct.data.copy(), ct.scale, ct.level) for ct in cts]
    out = refresher.refresh(cts)
    _check(ctx, out, values)
    assert out[0].scale == ctx.params.scale  # the first exactly; the second read at the first's scale and back:
    assert out[1].scale == pytest.approx(ctx.params.scale * cts[1].scale / cts[0].scale, rel=1e-15)  # exact values
    assert (refresher.refreshes, refresher.refreshed_ciphertexts, refresher.bootstraps) == (1, 2, 1)
    assert refresher.seconds > 0
    assert all(np.array_equal(ct.data, d) and (ct.scale, ct.level) == (s, lv) for ct, (d, s, lv) in zip(cts, before))


def test_an_odd_number_of_weights_bootstraps_the_last_one_alone(ctx):
    refresher = BootstrapRefresher(ctx)
    values = _weights(ctx, 3)
    out = refresher.refresh([_drifted(ctx, v, 1 + 1e-6 * k) for k, v in enumerate(values)])
    _check(ctx, out, values)
    assert out[2].scale == ctx.params.scale  # alone: exactly the nominal scale
    assert (refresher.bootstraps, refresher.refreshed_ciphertexts) == (2, 3)
    assert refresher.refresh([]) == [] and refresher.bootstraps == 2


def test_scales_too_far_apart_to_share_a_bootstrap_are_refreshed_alone_at_the_nominal_scale(ctx):
    refresher = BootstrapRefresher(ctx)
    values = _weights(ctx, 2)
    out = refresher.refresh([_drifted(ctx, values[0], 1.0), _drifted(ctx, values[1], 1 + 4 * PAIR_SCALE_RTOL)])
    _check(ctx, out, values)
    assert [ct.scale for ct in out] == [ctx.params.scale] * 2 and refresher.bootstraps == 2


def test_many_refreshes_in_a_row_do_not_drift_the_scale(ctx):
    """A stand-in for a training step: each weight times a plaintext of ones encoded at its own scale, then a
    rescale (scale s^2 / q: a deviation d from the nominal scale comes back as about 2 d + (s / q - 1), every
    second weight also off by 5e-6).  Without a reset the deviation doubles every step.  With the refresher it
    stays within PAIR_SCALE_RTOL for twelve refreshes and the values stay those of the start: a pair's second
    weight comes back at s r (r its scale over the first's), its deviation doubles on the next step, and once
    it passes PAIR_SCALE_RTOL the pair is bootstrapped alone, at s, for that refresh.  (The Iris training step
    is kinder: dW1's scale goes as s1^3 s2^2 and dW2's as s1^4 s2, so the next ratio is a constant over r and
    the pair never falls apart, tests/nn/encrypted/test_training.py.)"""
    ev, refresher = ctx.evaluator, BootstrapRefresher(ctx)
    values = _weights(ctx, 4)
    cts = [ctx.encrypt(v).ciphertext for v in values]
    deviations = []
    for _ in range(12):
        stepped = []
        for k, ct in enumerate(cts):
            factor = 1 + 5e-6 * (k % 2)
            stepped.append(ev.mod_switch_to(ev.rescale(ev.multiply_scalar(ct, 1.0, scale=ct.scale * factor)), 0))
        cts = refresher.refresh(stepped)
        deviations.append(max(abs(ct.scale / ctx.params.scale - 1.0) for ct in cts))
        assert all(ct.level == ctx.bootstrapper.config.compute_levels for ct in cts)
    assert max(deviations) <= PAIR_SCALE_RTOL
    # four weights: two bootstraps a refresh, four at the few refreshes where a pair had drifted apart
    assert 2 * 12 < refresher.bootstraps <= 3 * 12
    for ct, want in zip(cts, values):
        assert np.max(np.abs(_decrypt(ctx, ct) - want)) < 12 * TOL


def test_a_sparse_bootstrapping_context_is_refused_before_any_refresh():
    sparse = _bootstrapping(slots=64, cts_levels=2, stc_levels=2)
    with pytest.raises(ConfigError, match="sparse packing"):
        check_bootstrap_available(sparse)
    with pytest.raises(ConfigError, match="slots=512"):
        BootstrapRefresher(sparse.public_copy())
