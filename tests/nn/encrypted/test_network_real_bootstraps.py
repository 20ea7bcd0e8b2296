"""Bootstraps in compiled networks return real values (`nn.encrypted.bootstrap.Executor`, ckks ``real=True``).

Regression (issue 21): at the 128-bit preset (N = 2^16, 64 sparse slots) a bootstrap's error is about 5e-5 in
the imaginary parts of the slots too; the composite sign of an approximated ReLU amplifies imaginary errors
(slopes of 60-300 per sign stage) until the real parts leave [-1, 1], and digits_mlp_relu4 decrypted garbage
(relative logit error 3.3e4).  The teaching ring's bootstraps are too precise to show it, so the test puts an
imaginary error of that order into the encrypted inputs: with real bootstrap outputs it is dropped at the first
bootstrap; with complex ones (forced here for the contrast) it grows through the ReLUs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import nn
from ckks.circuits.bootstrapping.bootstrapper import Bootstrapper
from nn import encrypted

BOOT = {**TOY, "flooding": False, "bootstrap": "always", "approximate": True}


@pytest.fixture(scope="module")
def plan():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(256, 4))
    layers = [nn.Linear(4, 6, rng=3), nn.ReLU(), nn.Linear(6, 6, rng=4), nn.ReLU(), nn.Linear(6, 3, rng=5)]
    model = nn.Sequential(layers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(model, (4,), 2, layout="sample", calibration=x, approx_bits=12, **BOOT)
        ctx = em.keygen(seed=3)
    return model, x, em, ctx


@pytest.mark.parametrize("real", [True, False])
def test_imaginary_error_does_not_reach_the_relus(plan, monkeypatch, real):
    """Every bootstrap's input gets an imaginary error of 1e-4 in the used slots (what a 128-bit sparse bootstrap
    makes itself): with real outputs (the Executor's ``real=True``) the logits stay within the tolerance; with
    complex outputs (the behaviour before the fix, forced here) the error grows through the sign stages."""
    model, x, em, ctx = plan
    original = Bootstrapper.bootstrap
    rng = np.random.default_rng(8)
    calls = []

    def noisy(self, ct, real=False):
        calls.append(real)
        e = np.zeros(ctx.slots, dtype=complex)
        e[:em.bootstrap.slots_refreshed] = 1e-4j * rng.choice([-1.0, 1.0], em.bootstrap.slots_refreshed)
        ct = ctx.evaluator.add_plain(ct, ctx.encoder.encode(e, ct.scale, ct.level))
        return original(self, ct, real=real if forced is None else forced)

    forced = None if real else False
    monkeypatch.setattr(Bootstrapper, "bootstrap", noisy)
    sample = x[:2]
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, sample)))
    error = float(np.max(np.abs(got - em.plan_forward(sample))))
    assert calls and all(calls)  # the executor asks for real outputs
    if real:
        assert error <= em.tolerance
    else:
        assert error > 10 * em.tolerance
