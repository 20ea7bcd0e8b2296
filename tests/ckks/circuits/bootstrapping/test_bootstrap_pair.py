"""Two real ciphertexts refreshed by one bootstrap (``Bootstrapper.bootstrap_pair``), on small teaching rings.

z = a + i b is bootstrapped once (the 1/2 of ``real=True`` folded into EvalMod), then a' = w + conj(w) and
b' = -i (w - conj(w)).  Checked against two single ``bootstrap(ct, real=True)`` calls, with full and sparse
packing (the same rings as test_bootstrapping.py).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks.circuits.bootstrapping import Bootstrapper, max_error_bits
from ckks.errors import ContextMismatchError, InputError, InputTypeError, InsecureWarning, KeyMissingError
from ckks.scheme.ciphertext import Ciphertext

N = 1024
SPARSE = 64


def _context(**options) -> ckks.Context:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ctx = ckks.Context.for_bootstrapping("teaching", poly_degree=N, **options)
    ctx.generate_bootstrapping_keys(progress=False)
    return ctx


@pytest.fixture(scope="module", params=["full", "sparse"])
def packed(request) -> tuple[ckks.Context, int]:
    if request.param == "full":
        return _context(), N // 2
    return _context(slots=SPARSE, cts_levels=2, stc_levels=2), SPARSE


def _real(ctx: ckks.Context, values, level: int) -> Ciphertext:
    return ctx.evaluator.mod_switch_to(ctx.encrypt(values).ciphertext, level)


def _slots(ctx: ckks.Context, ct: Ciphertext) -> np.ndarray:
    """All N/2 slots, as complex numbers (the imaginary parts too)."""
    return ctx.decrypt(ckks.CKKSVector(ctx, ct, ctx.slots, is_complex=True))


def test_pair_matches_two_real_bootstraps(packed):
    ctx, n = packed
    boot = ctx.bootstrapper
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    a, b = _real(ctx, x, 0), _real(ctx, y, 1)  # any levels: both go down to 0
    before = (a.data.copy(), b.data.copy(), a.level, b.level, a.scale, b.scale)
    a2, b2 = boot.bootstrap_pair(a, b)
    for out, ct in ((a2, a), (b2, b)):
        assert out.level == boot.config.compute_levels
        assert out.scale == ct.scale
    got_a, got_b = _slots(ctx, a2), _slots(ctx, b2)
    bits = min(max_error_bits(x, got_a[:n].real), max_error_bits(y, got_b[:n].real))
    single = min(max_error_bits(x, _slots(ctx, boot.bootstrap(a, real=True))[:n].real),
                 max_error_bits(y, _slots(ctx, boot.bootstrap(b, real=True))[:n].real))
    assert bits >= boot.config.precision_bits
    assert bits >= single - 1.5  # about one bit worse at most (measured: 0 to 1.1 bits)
    for got in (got_a, got_b):
        assert np.max(np.abs(got.imag)) < 2.0**-30  # real up to the conjugation's key-switching noise
        assert np.all(np.abs(got[n:]) < 2.0**-boot.config.precision_bits)  # sparse: the tail stays zero
    # the inputs are untouched
    assert np.array_equal(a.data, before[0]) and np.array_equal(b.data, before[1])
    assert (a.level, b.level, a.scale, b.scale) == before[2:]


def test_pair_runs_the_circuit_once(packed, monkeypatch):
    ctx, n = packed
    boot = ctx.bootstrapper
    runs = []
    circuit = boot._circuit
    monkeypatch.setattr(boot, "_circuit", lambda ct, halve, **kw: runs.append(halve) or circuit(ct, halve, **kw))
    x = np.linspace(-1, 1, n)
    a2, b2 = boot.bootstrap_pair(_real(ctx, x, 0), _real(ctx, -x, 0))
    assert runs == [True]
    assert max_error_bits(-x, _slots(ctx, b2)[:n].real) >= boot.config.precision_bits
    boot.bootstrap(_real(ctx, x, 0), real=True)
    assert runs == [True, True]  # bootstrap runs the same circuit


def test_pair_refuses_bad_inputs():
    ctx = _context()
    boot = ctx.bootstrapper
    a = _real(ctx, [0.5, -0.25], 0)
    with pytest.raises(InputTypeError, match="bootstrap_pair takes a Ciphertext"):
        boot.bootstrap_pair(a, [0.5])
    with pytest.raises(InputTypeError, match="bootstrap_pair takes a Ciphertext"):
        boot.bootstrap_pair(ctx.encrypt([0.5]), a)  # a CKKSVector, not its ciphertext
    fresh = ctx.encrypt([0.5, 0.5]).ciphertext
    size3 = ctx.evaluator.multiply(fresh, fresh)  # size 3 until relinearized
    with pytest.raises(InputError, match="size 2"):
        boot.bootstrap_pair(a, size3)
    halved = Ciphertext(ctx.params, a.data, a.scale / 2, a.key_id)
    with pytest.raises(InputError, match="equal scales"):
        boot.bootstrap_pair(a, halved)
    q0 = ctx.params.data_moduli[0]
    huge = Ciphertext(ctx.params, a.data, q0 / 16, a.key_id)
    with pytest.raises(InputError, match="too close to q_0"):
        boot.bootstrap_pair(huge, huge)
    other = _context(slots=SPARSE, cts_levels=2, stc_levels=2)  # other parameters (another chain)
    with pytest.raises(ContextMismatchError, match="other parameters"):
        boot.bootstrap_pair(a, _real(other, [0.5], 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        same_params = ckks.Context.for_bootstrapping("teaching", poly_degree=N)  # another secret key
    with pytest.raises(ContextMismatchError, match="different keys"):
        boot.bootstrap_pair(a, _real(same_params, [0.5], 0))
    keyless = Bootstrapper(ctx.params, boot.config, ctx.evaluator)
    with pytest.raises(KeyMissingError, match=r"generate_bootstrapping_keys\(\)"):
        keyless.bootstrap_pair(a, a)
    assert np.allclose(ctx.decrypt(ckks.CKKSVector(ctx, a, 2)), [0.5, -0.25], atol=1e-6)  # unchanged


def test_pair_output_scale_gives_both_values_at_that_scale_without_a_level(packed):
    """``bootstrap_pair(a, b, output_scale=s)`` folds s / scale into EvalMod's constant with the 1/2: two
    ciphertexts whose (common) scale drifted come back at s, the same values, the same level as without."""
    ctx, n = packed
    boot = ctx.bootstrapper
    x = np.linspace(-0.8, 0.8, n)
    a, b = _real(ctx, x, 0), _real(ctx, -x / 2, 1)
    drifted = [Ciphertext(ctx.params, ct.data, ct.scale * 1.37, ct.key_id) for ct in (a, b)]  # values / 1.37
    before = [(ct.data.copy(), ct.level, ct.scale) for ct in drifted]
    kept = boot.bootstrap_pair(*drifted)
    reset = boot.bootstrap_pair(*drifted, output_scale=ctx.params.scale)
    assert [ct.scale for ct in kept] == [ct.scale for ct in drifted]
    assert [ct.scale for ct in reset] == [ctx.params.scale] * 2
    assert [ct.level for ct in reset] == [ct.level for ct in kept] == [boot.config.compute_levels] * 2
    for out, want in zip(reset, (x / 1.37, -x / 2 / 1.37)):
        assert max_error_bits(want, _slots(ctx, out)[:n].real) >= boot.config.precision_bits
    assert all(np.array_equal(ct.data, d) and (ct.level, ct.scale) == (lv, s)
               for ct, (d, lv, s) in zip(drifted, before))  # inputs untouched
    for bad in (0.0, -1.0, float("inf"), "2", True, ctx.params.data_moduli[0]):
        with pytest.raises(InputError, match="output_scale"):
            boot.bootstrap_pair(*drifted, output_scale=bad)
