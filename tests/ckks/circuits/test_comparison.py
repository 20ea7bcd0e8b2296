"""Comparison circuits: the composite minimax sign plan (numpy) and sign/compare/max/relu/slot_max encrypted."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.polynomial import chebyshev as npcheb

import ckks
from ckks.circuits import comparison
from ckks.circuits.polynomial import levels_for_degree
from ckks.errors import InputError, InputTypeError, LevelError, PrecisionWarning

#: A cheap plan for the encrypted checks: 8 bits beyond the margin 1/16, depth 7.
BITS, MARGIN = 8, 2.0**-4


def random_beyond(rng: np.random.Generator, margin: float, n: int) -> np.ndarray:
    """n values with margin <= |x| <= 1, half of them within 4 margins of the margin (the hard part)."""
    near = rng.uniform(margin, min(1.0, 4 * margin), n // 2)
    far = rng.uniform(margin, 1.0, n - n // 2)
    return np.concatenate([near, far]) * rng.choice([-1.0, 1.0], n)


# -- the plan, in plaintext ------------------------------------------------------------------------------


@pytest.mark.parametrize("bits, margin", [(4, None), (8, None), (12, None), (BITS, MARGIN), (10, 2.0**-6)])
def test_plan_meets_its_precision_beyond_the_margin(bits, margin):
    plan = comparison.sign_plan(bits, margin)
    eps = 2.0**-bits if margin is None else margin
    assert plan.margin == eps
    x = random_beyond(np.random.default_rng(bits), eps, 100_000)
    x[:2] = [eps, -eps]  # the margin itself is included
    error = np.max(np.abs(plan(x) - np.sign(x)))
    assert error <= 2.0**-bits
    assert error <= plan.error * (1 + 1e-6)  # the measured error the plan reports is not optimistic
    inside = np.random.default_rng(1).uniform(-1, 1, 100_000)
    assert np.max(np.abs(plan(inside))) <= plan.bound * (1 + 1e-9)
    assert plan.depth == sum(levels_for_degree(d) for d in plan.degrees)
    assert all(d % 2 == 1 and d <= max(comparison.STAGE_DEGREES) for d in plan.degrees)


def test_plan_is_odd_and_ties_give_zero():
    plan = comparison.sign_plan(BITS, MARGIN)
    x = np.random.default_rng(2).uniform(-1, 1, 1000)
    assert np.allclose(plan(-x), -plan(x), atol=1e-12)
    assert plan(0.0) == 0.0
    for c in plan.coefficients:
        assert np.all(c[::2] == 0)  # odd: only T_1, T_3, ...


def test_below_the_margin_the_sign_is_not_guaranteed():
    """The hard case: a quarter of the margin is not resolved to 2^-bits, but stays bounded."""
    plan = comparison.sign_plan(BITS, MARGIN)
    x = np.linspace(-MARGIN / 4, MARGIN / 4, 101)
    values = plan(x)
    assert np.max(np.abs(values - np.sign(x))) > 2.0**-BITS
    assert np.max(np.abs(values)) <= plan.bound
    assert np.all(np.sign(values[x != 0]) == np.sign(x[x != 0]))  # right sign, wrong magnitude


def test_more_bits_or_a_smaller_margin_never_cost_fewer_levels():
    assert comparison.sign_plan(4).depth <= comparison.sign_plan(8).depth <= comparison.sign_plan(12).depth
    assert comparison.sign_plan(8, 2.0**-2).depth <= comparison.sign_plan(8, 2.0**-4).depth
    assert comparison.sign_plan(8, 2.0**-4).depth <= comparison.sign_plan(8, 2.0**-8).depth


def test_minimax_stage_equioscillates_and_beats_least_squares():
    degree, a = 15, 0.1
    c, delta = comparison.minimax_sign_stage(degree, a)
    x = np.linspace(a, 1.0, 200_001)
    error = npcheb.chebval(x, c) - 1.0
    assert np.max(np.abs(error)) == pytest.approx(delta, rel=1e-6)
    # Chebyshev's alternation theorem: (degree + 3) / 2 extrema of alternating sign reaching delta
    extrema = np.flatnonzero(np.abs(error) >= delta * (1 - 1e-4))
    signs = np.sign(error[extrema])
    assert 1 + np.count_nonzero(np.diff(signs)) >= (degree + 3) // 2
    # a least-squares odd fit of the same degree is worse in the maximum norm
    basis = np.stack([npcheb.chebval(x, np.eye(degree + 1)[k]) for k in range(1, degree + 1, 2)], axis=1)
    ls = np.linalg.lstsq(basis, np.ones_like(x), rcond=None)[0]
    assert np.max(np.abs(basis @ ls - 1.0)) > delta


@pytest.mark.parametrize(
    "bits, margin, error",
    [
        (0, None, InputError),
        (comparison.MAX_BITS + 1, None, InputError),
        (8.5, None, InputTypeError),
        ("8", None, InputTypeError),
        (8, 0.0, InputError),
        (8, 1.0, InputError),
        (8, -0.1, InputError),
        (8, float("nan"), InputError),
        (8, "0.1", InputTypeError),
    ],
)
def test_plan_rejects_bad_precision_and_margin(bits, margin, error):
    with pytest.raises(error):
        comparison.sign_plan(bits, margin)


@pytest.mark.parametrize("degree, a, error", [(4, 0.1, InputError), (0, 0.1, InputError), (7, 0.0, InputError),
                                              (7, 1.0, InputError), (7.0, 0.1, InputTypeError)])
def test_minimax_stage_rejects_bad_arguments(degree, a, error):
    with pytest.raises(error):
        comparison.minimax_sign_stage(degree, a)


def test_slot_max_levels():
    plan = comparison.sign_plan(BITS, MARGIN)
    assert comparison.slot_max_levels(1, plan) == 0
    assert comparison.slot_max_levels(8, plan) == 3 * (plan.depth + 1)
    with pytest.raises(InputError, match="power of two"):
        comparison.slot_max_levels(6, plan)


# -- encrypted ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ctx() -> ckks.Context:
    """N = 4096 with 9 levels of 40 bits (toy security: the depth needs more modulus than 128-bit allows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = ckks.Context(4096, [60] + [40] * 9 + [60], 40, security=None)
    context.generate_galois_keys(steps=[1, 2], progress=False)
    return context


@pytest.fixture(scope="module")
def plan() -> comparison.SignPlan:
    return comparison.sign_plan(BITS, MARGIN)


def test_plan_fits_the_fixture(ctx, plan):
    assert plan.depth + 1 <= ctx.params.max_level


def decrypt(ctx, ct: ckks.Ciphertext) -> np.ndarray:
    return np.real(ctx.encoder.decode(ctx.decryptor.decrypt(ct)))


def test_sign_and_compare_match_numpy(ctx, plan):
    rng = np.random.default_rng(3)
    slots = ctx.params.slots
    x = rng.uniform(-1, 1, slots)
    x[:64] = random_beyond(rng, MARGIN, 64)
    x[64:80] = np.linspace(-MARGIN / 2, MARGIN / 2, 16)  # below the margin
    ct = ctx.encrypt(x).ciphertext
    before = ct.data.copy()
    out = comparison.sign(ct, ctx.evaluator, ctx.encoder, plan=plan)
    assert np.array_equal(ct.data, before)  # the input is left unchanged
    assert out.level == ct.level - plan.depth
    assert out.scale == pytest.approx(ct.scale)
    got = decrypt(ctx, out)
    beyond = np.abs(x) >= MARGIN
    assert np.max(np.abs(got - np.sign(x))[beyond]) <= 2.0**-BITS + 1e-4  # 1e-4: CKKS noise
    assert np.max(np.abs(got - plan(x))) <= 1e-4  # the encrypted circuit is the numpy model
    assert np.max(np.abs(got)) <= plan.bound + 1e-4

    a = rng.uniform(-0.5, 0.5, slots)
    b = rng.uniform(-0.5, 0.5, slots)
    b[:8] = a[:8]  # ties
    c = decrypt(ctx, comparison.compare(ctx.encrypt(a).ciphertext, ctx.encrypt(b).ciphertext, ctx.evaluator,
                                        ctx.encoder, plan=plan))
    beyond = np.abs(a - b) >= MARGIN
    assert np.max(np.abs(c - (a > b))[beyond]) <= 2.0 ** -(BITS + 1) + 1e-4
    assert np.max(np.abs(c[:8] - 0.5)) <= 1e-4


def test_maximum_and_relu_match_numpy_everywhere(ctx, plan):
    rng = np.random.default_rng(4)
    slots = ctx.params.slots
    a = rng.uniform(-0.5, 0.5, slots)
    b = a + rng.uniform(-2 * MARGIN, 2 * MARGIN, slots)  # many pairs closer than the margin
    b[slots // 2 :] = rng.uniform(-0.5, 0.5, slots - slots // 2)
    b = np.clip(b, -0.5, 0.5)
    ca, cb = ctx.encrypt(a).ciphertext, ctx.encrypt(b).ciphertext
    m = comparison.maximum(ca, cb, ctx.evaluator, ctx.encoder, plan=plan)
    assert m.level == ca.level - plan.maximum_depth
    assert np.max(np.abs(decrypt(ctx, m) - np.maximum(a, b))) <= plan.maximum_error + 1e-4
    x = rng.uniform(-1, 1, slots)
    r = comparison.relu(ctx.encrypt(x).ciphertext, ctx.evaluator, ctx.encoder, plan=plan)
    assert np.max(np.abs(decrypt(ctx, r) - np.maximum(x, 0))) <= plan.maximum_error + 1e-4


def test_slot_max_tournament(ctx):
    plan = comparison.sign_plan(4, 2.0**-2)  # depth 4: two rounds fit in 9 levels... with a refresh
    rng = np.random.default_rng(5)
    v = rng.uniform(-0.5, 0.5, ctx.params.slots)
    ct = ctx.encrypt(v).ciphertext
    with pytest.raises(LevelError, match=f"needs {2 * plan.maximum_depth} levels"):
        comparison.slot_max(ct, 4, ctx.evaluator, ctx.encoder, ctx.rotator, plan=plan)
    refreshed = []

    def refresh(c: ckks.Ciphertext) -> ckks.Ciphertext:  # a stand-in for bootstrapping
        refreshed.append(c.level)
        return ctx.encrypt(decrypt(ctx, c)).ciphertext

    out = comparison.slot_max(ct, 4, ctx.evaluator, ctx.encoder, ctx.rotator, plan=plan, refresh=refresh)
    assert len(refreshed) == 1
    got = decrypt(ctx, out)[::4]
    assert np.max(np.abs(got - v.reshape(-1, 4).max(axis=1))) <= 2 * plan.maximum_error + 1e-4
    two = comparison.slot_max(ct, 2, ctx.evaluator, ctx.encoder, ctx.rotator, plan=plan)
    assert two.level == ct.level - plan.maximum_depth
    assert np.max(np.abs(decrypt(ctx, two)[::2] - v.reshape(-1, 2).max(axis=1))) <= plan.maximum_error + 1e-4


def test_vector_methods(ctx):
    rng = np.random.default_rng(6)
    a, b = rng.uniform(-0.5, 0.5, 100), rng.uniform(-0.5, 0.5, 100)
    va, vb = ctx.encrypt(a), ctx.encrypt(b)
    kw = {"bits": BITS, "margin": MARGIN}
    plan = comparison.sign_plan(BITS, MARGIN)
    c = va.compare(vb, **kw)
    assert c.size == 100 and c.zero_tail
    assert np.max(np.abs(c.decrypt() - (a > b))[np.abs(a - b) >= MARGIN]) <= 2.0 ** -(BITS + 1) + 1e-4
    full = decrypt(ctx, c.ciphertext)
    assert np.max(np.abs(full[100:])) <= 1e-4  # the 1/2 that compare(0, 0) gives is removed from the tail
    assert np.max(np.abs(va.maximum(vb, **kw).decrypt() - np.maximum(a, b))) <= plan.maximum_error + 1e-4
    assert np.max(np.abs(va.relu(**kw).decrypt() - np.maximum(a, 0))) <= plan.maximum_error + 1e-4
    s = (2 * va).sign(**kw)
    assert np.max(np.abs(s.decrypt() - np.sign(a))[np.abs(2 * a) >= MARGIN]) <= 2.0**-BITS + 1e-4
    small = comparison.sign_plan(4, 2.0**-2)
    m = va.slot_max(2, bits=4, margin=2.0**-2)
    assert np.max(np.abs(m.decrypt()[::2] - a.reshape(-1, 2).max(axis=1))) <= small.maximum_error + 1e-4
    lower = vb * 1.0  # one level down, another scale: aligned as for v + w
    got = va.compare(lower, **kw).decrypt()
    assert np.max(np.abs(got - (a > b))[np.abs(a - b) >= MARGIN]) <= 2.0 ** -(BITS + 1) + 1e-4
    with pytest.raises(InputTypeError, match="CKKSVector"):
        va.compare(b)


def test_errors_on_bad_inputs(ctx, plan):
    ev, enc = ctx.evaluator, ctx.encoder
    ct = ctx.encrypt([0.5, -0.25]).ciphertext
    with pytest.raises(InputTypeError, match="Ciphertext"):
        comparison.sign(np.array([0.5]), ev, enc, plan=plan)
    with pytest.raises(InputTypeError, match="Ciphertext"):
        comparison.compare(ct, [0.1], ev, enc, plan=plan)
    with pytest.raises(InputTypeError, match="Evaluator"):
        comparison.sign(ct, enc, enc, plan=plan)
    with pytest.raises(InputTypeError, match="Encoder"):
        comparison.maximum(ct, ct, ev, None, plan=plan)
    with pytest.raises(InputTypeError, match="SignPlan"):
        comparison.sign(ct, ev, enc, plan="fast")
    with pytest.raises(InputError, match="bits"):
        comparison.sign(ct, ev, enc, bits=40)
    with pytest.raises(InputTypeError, match="Rotator"):
        comparison.slot_max(ct, 2, ev, enc, None, plan=plan)
    with pytest.raises(InputTypeError, match="refresh"):
        comparison.slot_max(ct, 2, ev, enc, ctx.rotator, plan=plan, refresh=3)
    with pytest.raises(InputError, match="power of two"):
        comparison.slot_max(ct, 3, ev, enc, ctx.rotator, plan=plan)
    big = ctx.encrypt([2.0, -0.5]).ciphertext  # a fresh encryption knows its largest value exactly
    with pytest.raises(InputError, match="multiply it by 0.5"):
        comparison.sign(big, ev, enc, plan=plan)
    maybe_big = ev.add(ct, ctx.encrypt([0.75, 0.0]).ciphertext)  # bound 1.25, not known to be attained
    with pytest.warns(PrecisionWarning, match="may hold values up to 1.25"):
        comparison.sign(maybe_big, ev, enc, plan=plan)
    low = ev.mod_switch_to(ct, plan.depth - 1)
    with pytest.raises(LevelError, match=f"needs {plan.depth} levels .* at level {plan.depth - 1}"):
        comparison.sign(low, ev, enc, plan=plan)
    with pytest.raises(LevelError, match=f"needs {plan.depth + 1} levels"):
        comparison.maximum(low, low, ev, enc, plan=plan)
    with pytest.raises(LevelError, match=f"needs {plan.depth + 1} levels"):
        ctx.encrypt([0.1]).relu(bits=BITS, margin=MARGIN).relu(bits=BITS, margin=MARGIN)
