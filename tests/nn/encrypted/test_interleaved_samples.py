"""Several samples per ciphertext in the sample layout (``compile(..., interleave=B)``,
`ckks.circuits.interleave`): the same outputs as one sample per ciphertext, B times fewer ciphertexts, keys of
the steps k B; with bootstraps (teaching preset, insecure) every slot refreshed; the refusals."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY  # noqa: E402
from test_bootstrap_network import BOOT, _clear, _relu_mlp

from nn import encrypted
from nn.errors import ConfigError


def test_interleaved_cnn_matches_one_sample_per_ciphertext(digits, shipped_cnn):
    """The shipped digits CNN, 6 images: interleave=4 puts them in 2 ciphertexts of 4 (the last one half empty)
    and decrypts to the plan's outputs as closely as one image per ciphertext does."""
    x = digits.x_test[:6]
    plan_out = None
    runs = {}
    for copies in (1, 4):
        em = encrypted.compile(shipped_cnn, (1, 8, 8), 6, layout="sample", calibration=digits.x_train,
                               interleave=copies, flooding=False, first_conv="server", **TOY)
        assert em.copies == copies
        ctx = em.keygen()
        enc = em.encrypt(ctx, x)
        assert len(enc.vectors) == -(-6 // copies)
        out = em.run(ctx.public_copy(), enc)
        got = em.decrypt(ctx, out)
        plan_out = em.plan_forward(x) if plan_out is None else plan_out
        np.testing.assert_allclose(got, plan_out, rtol=0, atol=em.tolerance)
        runs[copies] = em
    one, four = runs[1], runs[4]
    # the same sample circuit on S / 4 slots: its steps k become the ciphertext's steps (k mod S / 4) * 4
    assert all(k % 4 == 0 for k in four.rotation_steps)
    assert len(four.rotation_steps) <= len(one.rotation_steps)
    assert "4 samples per ciphertext, interleaved" in four.summary()
    assert "per ciphertext of 4 samples" in four.summary()


def test_interleaved_relu_network_bootstraps_every_slot():
    """A ReLU MLP approximated and bootstrapped (teaching preset): 4 samples per ciphertext, bootstraps that
    refresh all N/2 slots (never sparse packing, which replicates one sample's slots), the plaintext argmax,
    outputs within the plan's tolerance, and the bootstraps of one sample's run for all four."""
    from ckks.circuits.bootstrapping.bootstrapper import Bootstrapper

    x = np.random.default_rng(1).normal(size=(128, 4))
    model = _relu_mlp(x, 3)
    em = encrypted.compile(model, (4,), 4, layout="sample", calibration=x, approximate=True, approx_bits=4,
                           interleave=4, **BOOT)
    assert em.bootstrap.slots_refreshed == em.params.slots and not em.bootstrap.masked
    idx = _clear(model.forward(x), 0.5, 4)
    ctx = em.keygen()
    enc = em.encrypt(ctx, x[idx])
    assert len(enc.vectors) == 1
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        for name in ("bootstrap", "bootstrap_pair"):
            original = getattr(Bootstrapper, name)
            mp.setattr(Bootstrapper, name,
                       lambda self, *args, _f=original, **kw: calls.append(1) or _f(self, *args, **kw))
        out = em.run(ctx.public_copy(), enc)
    assert len(calls) == em.bootstrap.count  # one run of the chain for the four samples
    got = em.decrypt(ctx, out)
    np.testing.assert_allclose(got, em.plan_forward(x[idx]), rtol=0, atol=em.tolerance)
    np.testing.assert_array_equal(got.argmax(axis=1), model.forward(x[idx]).argmax(axis=1))


@pytest.mark.parametrize("interleave", [3, 0, -2, 2.0, True, "auto"])
def test_interleave_must_be_a_power_of_two(shipped_mlp, interleave):
    with pytest.raises(ConfigError, match="interleave must be a power of two"):
        encrypted.compile(shipped_mlp, (1, 8, 8), 2, layout="sample", interleave=interleave, **TOY)


@pytest.mark.parametrize("layout", ["batch", "auto"])
def test_interleave_needs_the_sample_layout(shipped_mlp, layout):
    with pytest.raises(ConfigError, match="layout='sample'"):
        encrypted.compile(shipped_mlp, (1, 8, 8), 2, layout=layout, interleave=2, **TOY)


def test_a_bootstrapping_ring_too_small_for_the_samples_is_refused():
    """The teaching ring has N/2 slots; 8-slot samples times 2^k beyond that: refused, saying what to change."""
    x = np.random.default_rng(1).normal(size=(64, 4))
    model = _relu_mlp(x, 3)
    with pytest.raises(ConfigError, match="fewer interleaved samples"):
        encrypted.compile(model, (4,), 4, layout="sample", calibration=x, approximate=True, approx_bits=4,
                          interleave=1 << 14, **BOOT)


def test_interleaved_soft_argmax_and_arg_max_outputs(digits, shipped_mlp):
    """The output stages with their own rotations, interleaved: the soft-argmax (`nn.encrypted.softargmax`, its
    sums by linear transforms) and the arg-max (`nn.encrypted.argmax`, comparisons over a block of slots through
    `ckks.circuits.comparison` with the views) give every sample of the ciphertext what the plaintext layer does."""
    import nn
    from nn.encrypted.softargmax import exact

    x = digits.x_test[:4]
    soft = nn.Sequential([nn.Flatten(), nn.Linear(64, 8, init="xavier", rng=1), nn.Square(),
                          nn.Linear(8, 4, init="xavier", rng=2), nn.SoftArgmax(2.0)])
    em = encrypted.compile(soft, (1, 8, 8), 4, layout="sample", calibration=digits.x_train, precision_bits=20,
                           interleave=4, **TOY)
    ctx = em.keygen()
    out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
    assert len(out.vectors) == 1
    np.testing.assert_allclose(em.decrypt(ctx, out), soft.forward(x), atol=5e-3)
    logits = x.reshape(4, -1)
    for layer in soft.layers[1:-1]:
        logits = layer.forward(logits)
    np.testing.assert_allclose(em.decrypt_soft_argmax(ctx, out), exact(logits, 2.0)[:, -1], atol=2e-2)

    hard = nn.Sequential(list(shipped_mlp.layers) + [nn.Argmax()])
    em = encrypted.compile(hard, (1, 8, 8), 4, layout="sample", calibration=digits.x_train, flooding=False,
                           interleave=4, security=None, poly_degree=8192)
    ctx = em.keygen()
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x)))
    np.testing.assert_array_equal(got.argmax(axis=1), shipped_mlp.forward(x).argmax(axis=1))
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=em.tolerance)
