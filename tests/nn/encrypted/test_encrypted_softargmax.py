"""The encrypted soft-argmax: probabilities and index against the plaintext layer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import nn
from nn import encrypted
from nn.encrypted.softargmax import exact


def _model(classes, beta):
    return nn.Sequential([nn.Flatten(), nn.Linear(64, 8, init="xavier", rng=1), nn.Square(),
                          nn.Linear(8, classes, init="xavier", rng=2), nn.SoftArgmax(beta)])


@pytest.mark.parametrize("classes, layout", [(4, "sample"), (4, "batch"), (2, "sample")])
def test_softargmax_matches_plaintext_layer(classes, layout, digits):
    model = _model(classes, 2.0)
    n = 3 if layout == "batch" else 1  # the batch layout costs the same for 1 or 3 samples
    x = digits.x_test[:n]
    em = encrypted.compile(model, (1, 8, 8), n, layout=layout, calibration=digits.x_train, precision_bits=20, **TOY)
    ctx = em.keygen()
    out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
    probs, index = em.decrypt(ctx, out), em.decrypt_soft_argmax(ctx, out)
    want = model.forward(x)
    assert probs.shape == (n, classes)
    # the approximation budget is 1e-3 per polynomial: the stated error of the layer
    np.testing.assert_allclose(probs, want, atol=5e-3)
    np.testing.assert_allclose(index, exact(_logits(model, x), 2.0)[:, -1],
                               atol=5e-3 * classes)
    assert np.array_equal(np.rint(index)[probs.max(1) > 0.9], want.argmax(1)[probs.max(1) > 0.9])


def _logits(model, x):
    for layer in model.layers[:-1]:
        x = layer.forward(x)
    return x


def test_softargmax_summary_states_bounds(digits):
    em = encrypted.compile(_model(3, 1.5), (1, 8, 8), calibration=digits.x_train, **TOY)
    text = em.summary()
    assert "soft-argmax" in text and "denominator in" in text
    sa = em.stages[-1]
    assert sa.s_range[0] > 0 and sa.s_range[1] <= 3
