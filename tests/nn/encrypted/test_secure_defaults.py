"""Secure by default in the ML layer (issue 25): flooded decryptions, a key owner that refreshes only what it
issued, output checks at decrypt, and one error hierarchy.

The key-recovery attack is ``ckks.attacks.recover_secret_from_real`` (Li and Micciancio, Eurocrypt 2021):
two ciphertexts and the N/2 real values their owner decrypted give the secret key by linear algebra.  It runs
on toy rings (N = 2048, insecure): the attack is the same at every N (tests/ckks/test_attacks.py runs it at
N = 8192, 128-bit).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ckks
import nn
from ckks.attacks import is_secret_key, recover_secret_from_real
from ckks.errors import CKKSError, ContextMismatchError, InsecureWarning, KeyMissingError, LevelError
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encryption import Decryptor
from nn import encrypted
from nn.encrypted.tensor import EncryptedBatch
from nn.encrypted.training import KeyOwner
from nn.errors import NNError, RefreshError

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")

TOY = {"security": None, "poly_degree": 2048}


def _model() -> nn.Sequential:
    return nn.Sequential([nn.Linear(16, 8, rng=1, init="xavier"), nn.Square(), nn.Linear(8, 4, rng=2, init="xavier")])


@pytest.fixture(scope="module")
def calibration():
    return np.random.default_rng(5).uniform(0, 1, size=(64, 16))


@pytest.fixture(scope="module")
def flooded(calibration):
    em = encrypted.compile(_model(), (16,), 2, layout="sample", calibration=calibration, **TOY)
    return em, em.keygen()


def _two_real_decryptions(ctx, decrypt):
    """The attacker's view: two ciphertexts of full real vectors and the values their owner decrypted."""
    rng = np.random.default_rng(11)
    vectors = [ctx.encrypt(rng.uniform(-1, 1, ctx.slots)) for _ in range(2)]
    outputs = [decrypt(v) for v in vectors]
    recovered = recover_secret_from_real([v.ciphertext for v in vectors], outputs)
    secret = ctx.secret_key.coefficients.astype(np.int64)
    return bool(np.array_equal(recovered, secret)), is_secret_key(ctx.public_key, recovered)


# -- the attack through the EncryptedModel's keygen context and the KeyOwner ----------------------------------
def test_attack_through_encrypted_model_fails_by_default(flooded):
    em, ctx = flooded
    assert ctx.flooding is em.flooding is not None
    assert _two_real_decryptions(ctx, ctx.decrypt) == (False, False)
    assert _two_real_decryptions(ctx, lambda v: v.decrypt()) == (False, False)


def test_attack_through_encrypted_model_works_with_flooding_false(calibration):
    em = encrypted.compile(_model(), (16,), 2, layout="sample", calibration=calibration, flooding=False, **TOY)
    ctx = em.keygen()
    assert ctx.flooding is None and em.flooding is None
    assert _two_real_decryptions(ctx, ctx.decrypt) == (True, True)
    assert "NOT flooded" in em.summary()


def _owner_context():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return ckks.Context(2048, [60, 50, 60], 50, security=None)


def test_attack_through_key_owner_fails_by_default():
    ctx = _owner_context()
    owner = KeyOwner(ctx)
    assert _two_real_decryptions(ctx, lambda v: owner.decrypt(v.ciphertext)) == (False, False)


def test_attack_through_key_owner_works_with_flooding_false():
    ctx = _owner_context()
    owner = KeyOwner(ctx, flooding=False)
    assert _two_real_decryptions(ctx, lambda v: owner.decrypt(v.ciphertext)) == (True, True)


# -- compile budgets flooding; summary states it; the precision cost ------------------------------------------
def test_flooding_is_budgeted_and_precision_holds(flooded, calibration):
    em, ctx = flooded
    plain_em = encrypted.compile(_model(), (16,), 2, layout="sample", calibration=calibration, flooding=False, **TOY)
    assert em.params.flooding_bits == 36 and plain_em.params.flooding_bits == 0
    assert em.params.scale_bits - em.params.flooding_bits == em.params.precision_bits == em.info["precision_bits"]
    assert em.params.scale_bits > plain_em.params.scale_bits + 20
    text = em.summary()
    assert "30-bit statistical security" in text and "noise-flooded" in text and "measured" in text
    x = calibration[:2]
    out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
    flooded_values = em.decrypt(ctx, out)
    want = em.plan_forward(x)
    decryptor = Decryptor(ctx.params, ctx.secret_key)  # the same ciphertexts decrypted without flooding
    plain_values = np.stack([ctx.encoder.decode(decryptor.decrypt(v.ciphertext)).real[:4] for v in out.vectors])
    flooded_error = float(np.max(np.abs(flooded_values - want)))
    plain_error = float(np.max(np.abs(plain_values - want)))
    # precision_bits holds after flooding (2^-p per unit of the largest value), and flooding costs bits
    assert flooded_error <= 2.0 ** -em.params.precision_bits * max(1.0, float(np.max(np.abs(want))))
    assert plain_error < flooded_error
    np.testing.assert_allclose(flooded_values, _model().forward(x), atol=em.tolerance)


def test_decrypt_floods_even_with_a_loaded_context(flooded, calibration):
    em, ctx = flooded
    loaded = ckks.Context.load(ctx.serialize(secret_key=True))
    assert loaded.flooding is None  # a loaded context starts plain ...
    out = em.run(ctx.public_copy(), em.encrypt(ctx, calibration[:1]))
    got = [em.decrypt(loaded, out) for _ in range(2)]
    assert not np.array_equal(got[0], got[1])  # ... but the model's decrypt floods: fresh noise each time
    np.testing.assert_allclose(got[0], em.plan_forward(calibration[:1]), atol=em.tolerance)


# -- decrypt checks count, level and scale against the model ------------------------------------------------------
def test_forged_outputs_are_refused(flooded, calibration):
    em, ctx = flooded
    out = em.run(ctx.public_copy(), em.encrypt(ctx, calibration[:2]))
    one = EncryptedBatch(out.vectors[:1], out.layout, 2, out.plan_id, "output")  # a forged count
    many = EncryptedBatch(out.vectors, out.layout, 7, out.plan_id, "output")
    fresh = EncryptedBatch([ctx.encrypt(np.ones(4))] * 2, out.layout, 2, out.plan_id, "output")  # level of a fresh ct
    vector = out.vectors[0]
    rescaled = EncryptedBatch([ckks.CKKSVector(ctx, vector.ciphertext.with_scale(vector.ciphertext.scale * 2),
                                               ctx.slots)] * 2, out.layout, 2, out.plan_id, "output")
    for forged in (one, many, fresh, rescaled):
        with pytest.raises(ContextMismatchError) as info:
            em.decrypt(ctx, forged)
        assert isinstance(info.value, NNError)


# -- the key owner's refresh ---------------------------------------------------------------------------------------
@pytest.fixture
def owner_and_weights():
    ctx = _owner_context()
    owner = KeyOwner(ctx)
    weights = [owner.encrypt(np.full(ctx.slots, 0.5)), owner.encrypt(np.full(ctx.slots, -0.25))]
    owner.plan_refreshes(count=2, level=0, budget=2, value_limit=4.0)
    owner.issue(weights)
    return ctx, owner, _step(ctx, weights)


def _step(ctx, weights: list) -> list:
    """The server's computation: one level down, scale restored (as a training step leaves them)."""
    ev = ctx.evaluator
    return [ev.rescale(ev.multiply_plain(w, ctx.encoder.encode(np.ones(ctx.slots), ctx.scale, w.level)))
            for w in weights]


def test_honest_refresh_is_accepted_flooded_and_counted(owner_and_weights):
    ctx, owner, stepped = owner_and_weights
    ticket = owner.ticket
    fresh = owner.refresh(stepped, ticket)
    assert owner.refreshes == 1 and owner.refreshed_ciphertexts == 2
    assert all(ct.level == ctx.params.max_level for ct in fresh)
    np.testing.assert_allclose(owner.decrypt(fresh[0]), 0.5, atol=1e-3)
    assert owner.ticket != ticket
    with pytest.raises(RefreshError):  # replaying the old ticket
        owner.refresh(stepped, ticket)


def _crafted(ctx, like: Ciphertext) -> Ciphertext:
    """c_0 + c_1 s with uniform c_1: decrypts to a uniform polynomial that reveals c_1 s (a one-ciphertext key leak)."""
    rng = np.random.default_rng(3)
    moduli = ctx.params.data_moduli[: like.level + 1]
    data = np.stack([np.stack([rng.integers(0, q, ctx.params.poly_degree, dtype=np.uint64) for q in moduli])
                     for _ in range(2)])
    return Ciphertext(ctx.params, data, like.scale, key_id=ctx.key_id)


def test_crafted_refreshes_are_refused_with_one_generic_error(owner_and_weights):
    ctx, owner, stepped = owner_and_weights
    ticket = owner.ticket
    top = owner.encrypt(np.zeros(ctx.slots))
    attempts = {
        "no ticket": (stepped, None),
        "forged ticket": (stepped, bytes(32)),
        "wrong count": (stepped[:1], ticket),
        "wrong level": ([top, top], ticket),
        "wrong scale": ([ct.with_scale(ct.scale * 16) for ct in stepped], ticket),
        "crafted values": ([_crafted(ctx, stepped[0]), stepped[1]], ticket),
        "not ciphertexts": (["c0", "c1"], ticket),
    }
    messages = set()
    for name, (cts, tk) in attempts.items():
        with pytest.raises(RefreshError) as info:
            owner.refresh(cts, tk)
        messages.add(str(info.value))
        assert owner.refreshes == 0, name
    assert len(messages) == 1  # never says which check failed
    owner.refresh(stepped, ticket)  # the honest one still goes through


def test_refresh_budget_is_counted(owner_and_weights):
    ctx, owner, stepped = owner_and_weights
    owner.plan_refreshes(count=2, level=0, budget=1, value_limit=4.0)
    fresh = owner.refresh(stepped, owner.ticket)
    with pytest.raises(RefreshError):
        owner.refresh(_step(ctx, fresh), owner.ticket)


def test_key_owner_noise_measurement_sets_the_flooding_bound():
    ctx = _owner_context()
    owner = KeyOwner(ctx)
    a = [owner.encrypt(np.full(ctx.slots, 0.5))]
    b = [owner.encrypt(np.full(ctx.slots, 0.5))]
    measured = owner.measure_noise(a, b)
    assert 0 < measured < 12 * 6 * ctx.params.sigma  # two fresh symmetric errors, each below 6 sigma per coefficient
    assert owner.flooding is not None and owner.flooding.noise_bound >= 2 * measured


# -- one error hierarchy -----------------------------------------------------------------------------------------------
def test_ckks_errors_come_out_of_nn_encrypted_as_nn_errors(flooded, calibration):
    em, ctx = flooded
    server = ctx.public_copy()
    enc = em.encrypt(ctx, calibration[:1])
    low = EncryptedBatch([ckks.CKKSVector(ctx, ctx.evaluator.mod_switch_to(v.ciphertext, 0), ctx.slots)
                          for v in enc.vectors], enc.layout, enc.count, enc.plan_id, "input")
    with pytest.raises(NNError) as info:
        em.run(server, low)
    assert isinstance(info.value, LevelError) and isinstance(info.value, CKKSError)
    with pytest.raises(NNError) as info:
        em.decrypt(server, em.run(server, enc))
    assert isinstance(info.value, KeyMissingError)
    with pytest.raises(NNError) as info:
        encrypted.compile(_model(), (16,), 2, layout="sample", calibration=calibration, security=128,
                          poly_degree=1024)
    assert isinstance(info.value, CKKSError)
    assert nn.errors.LevelError is type(nn.errors.translate(LevelError("x")))


def test_plaintext_nn_does_not_import_ckks():
    import subprocess
    import sys

    code = "import sys, nn, nn.errors; nn.errors.NNError; assert 'ckks' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_flooding_bits_formula():
    from ckks.security.flooding import flooding_sigma
    from nn.encrypted.params import flooding_bits, noise_allowance

    for n in (2048, 8192, 16384):
        want = math.ceil(math.log2(flooding_sigma(noise_allowance(n), 30) * math.sqrt(n / 2)) + 2)
        assert flooding_bits(n, 30) == want
