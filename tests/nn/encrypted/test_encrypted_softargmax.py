"""The encrypted soft-argmax: probabilities and index against the plaintext layer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import nn
from nn import encrypted
from nn.encrypted.softargmax import design, exact, noise_error
from nn.errors import ConfigError


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


#: logits of three digits training images under scikit-learn's MLPClassifier(hidden_layer_sizes=(16,),
#: activation="identity", random_state=0) exported with skl2onnx (the reviewer's case): the extremes
#: of the centred logits and of the softmax denominator over the whole training set.
WIDE_LOGITS = np.array([
    [6.1687, 2.8915, -6.3500, -14.8006, 14.6880, 1.1117, 6.9677, 2.4515, -1.3188, -3.4408],
    [-3.8058, 2.7192, 0.8610, -0.4459, -0.0822, 1.1716, -0.1965, -0.1530, 2.6319, 1.1917],
    [-6.0597, -5.3131, 2.3058, 15.7018, -15.0033, 4.7502, -7.0095, -1.9473, 3.4344, 4.8521],
])


def _wide_model(beta):
    """Linear(10, 16) -> Linear(16, 10) (identity activation, product = identity) -> SoftArgmax(beta)."""
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(16, 10)))
    first, second = nn.Linear(10, 16, rng=0), nn.Linear(16, 10, rng=0)
    first.params["weight"][...], first.params["bias"][...] = q.T, 0.0
    second.params["weight"][...], second.params["bias"][...] = q, 0.0
    return nn.Sequential([first, second, nn.SoftArgmax(beta)])


def test_softargmax_denominator_below_the_noise_is_refused():
    """Regression: a denominator range of [5.75e-08, 0.0626] (depth 34) compiled, and the encrypted
    probabilities were off by about 1 (noise 2^-16 over a smallest scaled denominator of 1.8e-6).
    compile must refuse before any key or ciphertext exists, saying why and what to do.  (Without flooding:
    the flooding budget raises the scale by 35 bits, which gives the soft-argmax 40 bits and lets it compile.)"""
    model = _wide_model(1.0)
    np.testing.assert_allclose(model.forward(WIDE_LOGITS), exact(WIDE_LOGITS, 1.0)[:, :10], atol=1e-12)
    with pytest.raises(ConfigError) as info:
        encrypted.compile(model, (10,), 2, layout="batch", calibration=WIDE_LOGITS, flooding=False, **TOY)
    text = str(info.value)
    for part in ("beta=1", "spread over up to 30.7", "[5.75e-08, 0.0626]", "precision of 16 bits", "2^-16",
                 "softargmax_error=0.001", "Lower beta", "model.layers[:-1]"):
        assert part in text, (part, text)


def test_softargmax_noise_bound_is_the_stated_one():
    """The refusal is the error analysis' condition, eta / (alpha S_lo) <= softargmax_error: a looser budget
    or a lower beta compiles, and the logits-only model (the client-side softmax) always does."""
    design_stage = design(WIDE_LOGITS, 1.0, ["softargmax"])
    bound = noise_error(design_stage, 16)
    assert bound > 1.0  # the reviewer's ~1.0 error is what the analysis predicts
    encrypted.compile(_wide_model(1.0), (10,), 2, layout="batch", calibration=WIDE_LOGITS,
                      softargmax_error=2 * bound, **TOY)  # fmt: skip
    em = encrypted.compile(_wide_model(0.1), (10,), 2, layout="batch", calibration=WIDE_LOGITS, **TOY)
    assert noise_error(em.stages[-1], 16) <= 1e-3
    logits = nn.Sequential(_wide_model(1.0).layers[:-1])
    assert not encrypted.compile(logits, (10,), 2, layout="batch", calibration=WIDE_LOGITS, **TOY).has_softargmax


def test_plaintext_summary_leaves_a_final_softargmax_to_the_compiler():
    text = _model(3, 1.5).summary()
    assert "not HE-friendly" not in text
    assert "multiplicative depth 3 + depth of SoftArgmax: chosen by nn.encrypted.compile" in text
    assert "not HE-friendly" in nn.Sequential([nn.Linear(4, 3), nn.SoftArgmax(), nn.Linear(3, 2)]).summary()
