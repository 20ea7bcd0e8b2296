"""Encrypted outputs match the plaintext model, per layer type and per layout (toy ring N = 2048)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY  # noqa: E402  (tests/nn/encrypted/conftest.py)

import nn
from nn import encrypted


def _run(em, x):
    ctx = em.keygen()
    server = ctx.public_copy()
    out = em.run(server, em.encrypt(ctx, x))
    return em.decrypt(ctx, out), em


LAYERS = {
    "linear+square": nn.Sequential([nn.Linear(64, 12, rng=1, init="xavier"), nn.Square(),
                                    nn.Linear(12, 10, rng=2, init="xavier")]),
    "quadratic": nn.Sequential([nn.Linear(64, 12, rng=1, init="xavier"), nn.QuadraticActivation(0.2, 0.9, 0.1),
                                nn.Linear(12, 10, rng=2, init="xavier")]),
    "poly3": nn.Sequential([nn.Linear(64, 12, rng=1, init="xavier"), nn.PolyActivation([0.1, 0.5, 0.2, 0.05]),
                            nn.Linear(12, 10, rng=2, init="xavier")]),
    "poly-last": nn.Sequential([nn.Linear(64, 10, rng=1, init="xavier"), nn.QuadraticActivation(0.2, 0.9, 0.1)]),
}


@pytest.mark.parametrize("layout", ["sample", "batch"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_types_match_plaintext(name, layout, digits, assert_close):
    model = LAYERS[name]
    x = digits.x_test[:3].reshape(3, 64)
    em = encrypted.compile(model, (64,), 3, layout=layout, calibration=digits.x_train.reshape(-1, 64), **TOY)
    got, em = _run(em, x)
    assert got.shape == (3, 10)
    assert_close(got, model.forward(x), em.tolerance)


@pytest.mark.parametrize("layout, first_conv", [("sample", "im2col"), ("sample", "server"), ("batch", "server")])
def test_cnn_with_two_convolutions(layout, first_conv, shipped_cnn, digits, assert_close):
    """The shipped digits CNN (two convolutions): close to plaintext; the batch run (40 images, same cost as
    one) also checks agreement >= 99.5% on a CI subset of the test set."""
    n = 40 if layout == "batch" else 1
    x = digits.x_test[:n]
    em = encrypted.compile(shipped_cnn, (1, 8, 8), n, layout=layout, first_conv=first_conv,
                           calibration=digits.x_train, **TOY)
    got, em = _run(em, x)
    assert_close(got, shipped_cnn.forward(x), em.tolerance)
    assert np.mean(got.argmax(1) == shipped_cnn.predict(x).argmax(1)) >= 0.995


def test_per_layer_trace(shipped_mlp, digits):
    em = encrypted.compile(shipped_mlp, (1, 8, 8), calibration=digits.x_train, **TOY)
    rows = em.trace(em.keygen(), digits.x_test[:1])
    assert [r["kind"] for r in rows] == ["affine", "poly", "affine"]
    assert [r["level"] for r in rows] == [2, 1, 0]
    assert all(r["max_error"] <= 1e-3 * max(1.0, r["max_value"]) for r in rows)


def test_shipped_mlp_agreement_batch_layout(shipped_mlp, digits):
    """A CI subset of the test set (the benchmark runs all 450 images): agreement >= 99.5%."""
    x = digits.x_test[:200]
    em = encrypted.compile(shipped_mlp, (1, 8, 8), 200, layout="batch", calibration=digits.x_train, **TOY)
    got, _ = _run(em, x)
    plain = shipped_mlp.predict(x).argmax(1)
    assert np.mean(got.argmax(1) == plain) >= 0.995


def test_auto_layout_follows_batch_size(shipped_mlp, digits):
    one = encrypted.compile(shipped_mlp, (1, 8, 8), 1, calibration=digits.x_train[:16], **TOY)
    many = encrypted.compile(shipped_mlp, (1, 8, 8), 256, calibration=digits.x_train[:16], **TOY)
    assert (one.layout, many.layout) == ("sample", "batch")


def test_secure_parameters_and_tenseal_twin(shipped_mlp, digits):
    """At 128-bit security the shipped MLP gets N = 16384 with flooding (the default: 38 scale bits pay for it)
    and N = 8192 without; ours and the TenSEAL twin (same ring and primes) both agree with the plaintext model
    on a few images."""
    from nn.encrypted.tenseal_twin import TenSEALTwin

    x = digits.x_test[:3]
    flooded = encrypted.compile(shipped_mlp, (1, 8, 8), 3, layout="batch", calibration=digits.x_train).params
    assert flooded.poly_degree == 16384 and flooded.security == 128 and flooded.flooding_bits == 39
    em = encrypted.compile(shipped_mlp, (1, 8, 8), 3, layout="batch", calibration=digits.x_train, flooding=False)
    assert em.params.poly_degree == 8192 and em.params.security == 128 and em.params.flooding_bits == 0
    got, _ = _run(em, x)
    plain = shipped_mlp.predict(x).argmax(1)
    assert np.array_equal(got.argmax(1), plain)
    p = em.params
    twin = TenSEALTwin(shipped_mlp, p.poly_degree, p.moduli_bits, p.scale_bits)
    theirs = np.stack([twin.classify(img) for img in x])
    assert np.array_equal(theirs.argmax(1), plain)
    np.testing.assert_allclose(theirs, shipped_mlp.forward(x), atol=0.5)  # TenSEAL is less precise at 2^28


def test_tenseal_twin_first_convolution_and_refusal(shipped_cnn, digits):
    from nn.encrypted.tenseal_twin import TenSEALTwin
    from nn.errors import ConfigError

    model = nn.Sequential([nn.Conv2d(1, 2, 3, padding=1, init="xavier", rng=0), nn.Square(), nn.Flatten(),
                           nn.Linear(128, 10, init="xavier", rng=1)])
    twin = TenSEALTwin(model, 8192, [40, 30, 30, 30, 40], 30)
    np.testing.assert_allclose(twin.classify(digits.x_test[0]), model.forward(digits.x_test[:1])[0], atol=1e-2)
    with pytest.raises(ConfigError, match="403"):
        TenSEALTwin(shipped_cnn, 8192, [40, 30, 30, 30, 30, 30, 40], 30)
