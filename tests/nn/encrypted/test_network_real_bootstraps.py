"""Bootstraps in compiled networks return real values (`nn.encrypted.bootstrap.Executor`, ckks ``real=True``).

Regression (issue 21): at the 128-bit preset (N = 2^16, 64 sparse slots) a bootstrap's error is about 5e-5 in
the imaginary parts of the slots too; the composite sign of an approximated ReLU amplifies imaginary errors
(slopes of 60-300 per sign stage) until the real parts leave [-1, 1], and digits_mlp_relu4 decrypted garbage
(relative logit error 3.3e4).  The teaching ring's bootstraps are too precise to show it, so the test puts an
imaginary error into the bootstraps: with real bootstrap outputs it is dropped (a single real bootstrap) or read
as an ordinary real error (the second ciphertext of a pair, ``bootstrap_pair``); with complex ones (forced here for
the contrast) it grows through the ReLUs.
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


def test_imaginary_error_of_real_bootstraps_is_dropped_or_benign(plan, monkeypatch):
    """Every bootstrap's circuit output gets an imaginary error in the used slots, as a 128-bit sparse bootstrap
    makes: a single ``bootstrap(real=True)`` drops it; ``bootstrap_pair`` (a + i b) reads it as a real error of
    b, like any bootstrap's real error.  1e-5 here: the teaching ring's tolerance is made for its own, far more
    precise bootstraps (2^-27), and no real error of 1e-4 fits it (the 128-bit plan's tolerance does)."""
    model, x, em, ctx = plan
    circuit = Bootstrapper._circuit
    rng = np.random.default_rng(8)
    calls = []

    def noisy(self, ct, halve, **options):
        calls.append(halve)
        out = circuit(self, ct, halve, **options)
        e = np.zeros(ctx.slots, dtype=complex)  # outputs are halved here, doubled by the unpacking
        e[:em.bootstrap.slots_refreshed] = 0.5e-5j * rng.choice([-1.0, 1.0], em.bootstrap.slots_refreshed)
        return ctx.evaluator.add_plain(out, ctx.encoder.encode(e, out.scale, out.level))

    monkeypatch.setattr(Bootstrapper, "_circuit", noisy)
    sample = x[:2]
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, sample)))
    assert calls and all(calls)  # the executor asks for real outputs (the 1/2 folded into EvalMod)
    assert len(calls) < 2 * em.bootstrap.count  # in pairs: fewer circuits than ciphertexts
    assert float(np.max(np.abs(got - em.plan_forward(sample)))) <= em.tolerance


def test_complex_bootstrap_outputs_blow_up_in_the_relus(plan, monkeypatch):
    """The behaviour before the fix, forced: one ``bootstrap(real=False)`` per ciphertext, and an imaginary error
    of 1e-4 in every bootstrap's input (what a 128-bit sparse bootstrap makes itself): the error grows through
    the sign stages."""
    model, x, em, ctx = plan
    original = Bootstrapper.bootstrap
    rng = np.random.default_rng(8)

    def noisy(self, ct, real=False):
        e = np.zeros(ctx.slots, dtype=complex)
        e[:em.bootstrap.slots_refreshed] = 1e-4j * rng.choice([-1.0, 1.0], em.bootstrap.slots_refreshed)
        ct = ctx.evaluator.add_plain(ct, ctx.encoder.encode(e, ct.scale, ct.level))
        return original(self, ct, real=False)

    monkeypatch.setattr(Bootstrapper, "bootstrap", noisy)
    monkeypatch.setattr(Bootstrapper, "bootstrap_pair", lambda self, a, b: (self.bootstrap(a), self.bootstrap(b)))
    sample = x[:2]
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, sample)))
    # 6.3e-3 here, 9.4 times the tolerance (the real outputs of the test above: within it)
    assert float(np.max(np.abs(got - em.plan_forward(sample)))) > 5 * em.tolerance
