"""Sparse packing through approximated ReLUs (`nn.encrypted.approximation`, `nn.encrypted.bootstrap`).

A sparse bootstrap adds the slots beyond the tensor into it, so everything a stage carries across a cut must
be zero there.  A ReLU carries t = x / R and the partial signs (odd polynomials of t) and, before its product,
the scaled sign g p / 2 (not the step g (1 + p) / 2, which is g / 2 on empty slots): it keeps zeros, and its
plan bootstraps with sparse packing and no mask.  Teaching preset (security=None, N = 2048) for the runs; the
128-bit plan is only compiled (no keys).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import nn
from ckks.vector import CKKSVector
from nn import encrypted
from nn.encrypted.approximation import MaxPoolStage, ReLUStage, SmoothStage, _chain
from nn.encrypted.bootstrap import bootstrapper_of
from nn.encrypted.ops import Ops

BOOT = {**TOY, "flooding": False, "bootstrap": "always", "approximate": True}


def _relu_mlp(inputs: int, width: int) -> nn.Sequential:
    layers = [nn.Linear(inputs, width, rng=3), nn.ReLU(), nn.Linear(width, width, rng=4), nn.ReLU(),
              nn.Linear(width, 3, rng=5)]
    for lin in layers[::2]:
        lin.params["bias"][:] = 0.2  # units active on part of the data
    return nn.Sequential(layers)


@pytest.mark.parametrize("bits", [5, 12])
def test_relu_carries_zeros_across_every_cut(bits):
    """At t = 0 every value a ReLU carries (the partial signs after each sign stage, g p / 2 before the product)
    and its output are exactly 0; the output equals the step form g t (1 + p) / 2."""
    stage = ReLUStage(["1:ReLU"], bits, (4,))
    stage.design(np.linspace(-2.0, 3.0, 101), "sample")
    stage.gain = 1.7  # an output factor as calibrate may fold in (nu then keeps everything carried below 1)
    assert stage.keeps_zero_tail
    g = stage.out_gain
    signs = stage._stages(0.5 * g, 0.0)
    zero = np.zeros((1, 1))
    for k in range(1, len(signs) + 1):  # the carried sign after sign stage k (k = len: g p / 2)
        assert _chain(zero, signs[:k])[0, 0] == 0.0
    assert stage.forward(zero)[0, 0] == 0.0
    t = np.linspace(-1.0, 1.0, 2001)[None, :]
    step = _chain(t, stage._stages(0.5 * g, 0.5 * g))  # g (1 + p) / 2
    np.testing.assert_allclose(stage.forward(t), t * step, rtol=0, atol=1e-12)
    assert np.max(np.abs(step)) <= 1.0  # the output's bound
    last = len(stage.segments()) - 1
    assert stage.segments()[last][0] == "product t (1 + p) / 2"
    assert np.max(np.abs(_chain(t, signs))) <= stage.cut_bound(last) <= 1.0


def test_zero_tails_declared_only_where_true():
    """Max-pool keeps zeros in the batch layout only (the sample layout's rotations wrap features into the top
    slots); a smooth activation only when its series has p(0) = 0 (tanh yes, sigmoid never)."""
    pools = {}
    for layout in ("sample", "batch"):
        pools[layout] = MaxPoolStage(["1:MaxPool2d"], 5, (1, 4, 4))
        pools[layout].design(np.linspace(-1.0, 2.0, 50), layout)
    assert pools["batch"].keeps_zero_tail and not pools["sample"].keeps_zero_tail
    smooth = {}
    for name in ("Tanh", "Sigmoid"):
        smooth[name] = SmoothStage(["1:" + name], 10, (4,), function=name)
        smooth[name].design(np.linspace(-3.0, 3.0, 50), "sample")
        value = smooth[name].forward(np.zeros((1, 1)))[0, 0]
        assert smooth[name].keeps_zero_tail == (abs(value) <= 2.0**-40)
    assert smooth["Tanh"].keeps_zero_tail and not smooth["Sigmoid"].keeps_zero_tail


@pytest.fixture(scope="module")
def relu_plan():
    x = np.random.default_rng(2).normal(size=(128, 4))
    model = _relu_mlp(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(model, (4,), 2, layout="sample", calibration=x, approx_bits=5, **BOOT)
        ctx = em.keygen(seed=1)
    return model, x, em, ctx


def test_relu_plan_is_sparse_without_mask_and_matches_plaintext(relu_plan):
    """The plan bootstraps inside the ReLUs with sparse packing and no mask; the decrypted logits are the plan's
    within its tolerance and the argmax is the plaintext model's."""
    model, x, em, ctx = relu_plan
    boot = em.bootstrap
    assert all(st.keeps_zero_tail for st in em.stages if st.kind == "relu")
    assert not boot.masked and boot.slots_refreshed < boot.config().poly_degree // 2
    assert "sparse packing)" in em.summary() and "masked" not in em.summary()
    p = boot.placement
    assert any(p.segments[j].part > 0 for j in p.bootstraps)  # some bootstraps inside a ReLU
    logits = model.forward(x)
    top = np.sort(logits, axis=1)
    idx = np.flatnonzero(top[:, -1] - top[:, -2] > 0.3)[:2]
    assert len(idx) == 2
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x[idx])))
    np.testing.assert_allclose(got, em.plan_forward(x[idx]), rtol=0, atol=em.tolerance)
    np.testing.assert_array_equal(np.argmax(got, axis=1), np.argmax(logits[idx], axis=1))


def test_sparse_bootstrap_at_every_cut_keeps_the_values(relu_plan):
    """A sparse bootstrap of everything carried before every segment of the first ReLU (the product's cut
    included, where the step would have added N / 2n copies of g / 2): the ReLU's outputs are the plan's, the
    slots beyond the tensor stay zero."""
    _, x, em, ctx = relu_plan
    ops = Ops(ctx)
    bootstrapper = bootstrapper_of(ctx)
    calls = []

    def refresh(cts, k):
        calls.append(k)
        return [bootstrapper.bootstrap(ct) for ct in cts]

    enc = em.encrypt(ctx, x[:1])
    cts = em._layout.run_stage(ops, 0, [v.ciphertext for v in enc.vectors])
    cts = em._layout.run_stage(ops, 1, refresh(cts, 0), refresh)
    assert calls == list(range(len(em.stages[1].segments())))
    got = ctx.decrypt(CKKSVector(ctx, cts[0], ctx.slots))
    want = em.stages[1].forward(em.stages[0].forward(em.features(x[:1])))[0]
    width = len(want)
    # the sign is steep near 0: the bootstraps' error (~2^-20) is amplified there, still far below 1e-2; the old
    # step cut was off by about N / 2n * g / 2 * t = 64 t
    np.testing.assert_allclose(got[:width], want, rtol=0, atol=1e-2)
    assert np.max(np.abs(got[width:em.bootstrap.slots_refreshed])) <= 1e-3


def test_128_bit_relu_mlp_plans_sparse_packing(digits):
    """The shipped four-ReLU MLP at 128 bits (compile only, no keys): every segment fits the 6 levels a bootstrap
    restores and no mask is needed, so the plan bootstraps with sparse packing (64 slots)."""
    from nn.encrypted import pretrained

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(pretrained.load("digits_mlp_relu4"), (1, 8, 8), 1, calibration=digits.x_train[:300],
                               approximate=True, approx_bits=12, security=128, flooding=False, layout="sample")
    boot = em.bootstrap
    assert boot is not None and boot.security == 128
    assert not boot.masked and boot.slots_refreshed == 64
    assert max(s.levels for s in boot.placement.segments) <= boot.compute_levels


def test_batch_layout_maxpool_bootstraps_sparse_without_mask():
    """Max-pool in the batch layout keeps zeros on the empty slots (samples beyond the batch): sparse packing, no
    mask, outputs the plan's within its tolerance."""
    rng = np.random.default_rng(3)
    model = nn.Sequential([nn.Conv2d(1, 1, 1, rng=0), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1, 3, rng=1)])
    x = rng.uniform(-1.0, 1.0, size=(64, 1, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(model, (1, 2, 2), 3, layout="batch", calibration=x, approx_bits=4, **BOOT)
        ctx = em.keygen(seed=1)
    boot = em.bootstrap
    assert not boot.masked and boot.slots_refreshed < boot.config().poly_degree // 2 and boot.placement.bootstraps
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x[:3])))
    np.testing.assert_allclose(got, em.plan_forward(x[:3]), rtol=0, atol=em.tolerance)
