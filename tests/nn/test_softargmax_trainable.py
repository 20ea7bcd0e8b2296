"""nn.SoftArgmax(beta, trainable=True): the gradient of beta, calibration, ECE, and the encrypted layer."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import nn
from ckks.errors import InsecureWarning
from nn.datasets import load_breast_cancer
from nn.errors import ConfigError, ShapeError
from nn.metrics import expected_calibration_error
from nn.optim import Adam
from nn.train import calibrate_beta, fit


def test_beta_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    layer = nn.SoftArgmax(1.7, trainable=True)
    layer.forward(x)
    dx = layer.backward(g)
    eps = 1e-6

    def loss(beta, xx=x):
        return float(np.sum(nn.SoftArgmax(beta).forward(xx) * g))

    want = (loss(1.7 * np.exp(eps)) - loss(1.7 * np.exp(-eps))) / (2 * eps)  # d / d log beta
    np.testing.assert_allclose(layer.grads["log_beta"], [want], rtol=1e-6)
    numeric = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (loss(1.7, up) - loss(1.7, down)) / (2 * eps)
    np.testing.assert_allclose(dx, numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(nn.SoftArgmax(1.7).forward(x), layer.forward(x))  # same function as fixed beta


def test_trainable_beta_survives_save_and_load(tmp_path):
    model = nn.Sequential([nn.Linear(3, 2, rng=0), nn.SoftArgmax(0.6, trainable=True)])
    model.layers[-1].params["log_beta"][...] = np.log(2.5)
    path = tmp_path / "m.npz"
    model.save(path)
    back = nn.Sequential.load(path).layers[-1]
    assert back.trainable and back.beta == pytest.approx(2.5)
    assert not nn.SoftArgmax(2.0).params  # a fixed beta is no parameter


def _breast_cancer_model(trainable: bool):
    """The reviewer's case: Linear(30, 8) -> x^2 -> Linear(8, 2) -> SoftArgmax(1), 40 epochs."""
    ds = load_breast_cancer()
    model = nn.Sequential([nn.Linear(30, 8, init="xavier", rng=0), nn.Square(), nn.Linear(8, 2, init="xavier", rng=1),
                           nn.SoftArgmax(1.0, trainable=trainable)])
    fit(model, ds.x_train, ds.y_train, epochs=40, batch_size=16, loss=nn.CrossEntropy(from_logits=False),
        optimizer=Adam(model.parameters(), lr=3e-3), verbose=False)
    return ds, model


def test_fit_learns_beta_and_calibrate_beta_lowers_the_loss():
    ds, model = _breast_cancer_model(trainable=True)
    learned = model.layers[-1].beta
    assert learned != pytest.approx(1.0, abs=1e-3)  # fit moved it by its gradient
    held_x, held_y = ds.x_test[:70], ds.y_test[:70]
    report = calibrate_beta(model, held_x, held_y, steps=200)
    assert report.beta_before == pytest.approx(learned)
    assert report.beta_after == pytest.approx(model.layers[-1].beta)
    assert report.nll_after <= report.nll_before + 1e-12
    probs = model.forward(held_x)
    assert report.ece_after == pytest.approx(expected_calibration_error(probs, held_y))
    with pytest.raises(ConfigError, match="trainable=True"):
        calibrate_beta(nn.Sequential([nn.Linear(30, 2), nn.SoftArgmax(1.0)]), held_x, held_y)
    with pytest.raises(ConfigError, match="steps"):
        calibrate_beta(model, held_x, held_y, steps=0)


def test_expected_calibration_error():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    y = np.array([0, 1, 1, 0])
    # bins of width 0.25: {0.6, 0.7} -> accuracy 1, confidence 0.65; {0.8, 0.9} -> accuracy 0.5, confidence 0.85
    assert expected_calibration_error(probs, y, bins=4) == pytest.approx(0.5 * 0.35 + 0.5 * 0.35)
    assert expected_calibration_error(probs, y, bins=2) == pytest.approx(0.0)  # one bin: 3/4 right at 0.75
    assert expected_calibration_error(np.eye(3), np.arange(3)) == 0.0
    with pytest.raises(ShapeError, match="probabilities"):
        expected_calibration_error(np.array([[2.0, -1.0]]), np.array([0]))
    with pytest.raises(ConfigError, match="bins"):
        expected_calibration_error(probs, y, bins=0)


def test_breast_cancer_binary_softargmax_meets_its_error_budget():
    """Regression (issue 20): beta |z_1 - z_0| up to 118 on the training data; a degree-63 sigmoid was off by
    0.11 without a word.  Now the series meets softargmax_error over the calibrated range, the encrypted
    probabilities match the plaintext layer within the stated budget (approximation + noise), and the
    encrypted layer uses the learned beta."""
    from nn import encrypted
    from nn.encrypted.softargmax import noise_error

    ds, model = _breast_cancer_model(trainable=True)
    beta = model.layers[-1].beta
    logits = nn.Sequential(model.layers[:-1]).forward(ds.x_train)
    assert 80 < beta * np.max(np.abs(logits[:, 1] - logits[:, 0])) < 400  # the wide case
    options = {"layout": "batch", "calibration": ds.x_train, "security": None, "poly_degree": 2048, "flooding": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        warnings.simplefilter("ignore", encrypted.InputRangeWarning)  # test features beyond the training range
        with pytest.raises(ConfigError, match=r"Raise precision_bits to at least \d+") as info:
            encrypted.compile(model, (30,), 16, **options)  # the default 16 bits: refused, the fix named
        assert "spans up to +-" in str(info.value)
        bits = int(re.search(r"at least (\d+)", str(info.value)).group(1))
        em = encrypted.compile(model, (30,), 16, precision_bits=bits, **options)
        stage = em.stages[-1]
        assert stage.beta == pytest.approx(beta) and stage.mode == "binary"
        assert stage.errors["sigmoid"] <= 1e-3
        x = ds.x_test[:16]
        ctx = em.keygen()
        got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x)))
    budget = stage.errors["sigmoid"] + noise_error(stage, em.params.precision_bits)
    assert budget <= 2e-3
    assert np.max(np.abs(got - model.forward(x))) <= budget
    assert f"degree {len(stage.sigmoid_coeffs) - 1}" in em.summary()


def test_binary_softargmax_too_wide_or_too_noisy_is_refused():
    from nn.encrypted.softargmax import design

    z = np.array([[0.0, 1e5], [0.0, -1e5]])
    with pytest.raises(ConfigError, match="too wide for a sigmoid series"):
        design(z, 1.0, ["s"])
    stage = design(np.array([[0.0, 400.0], [0.0, -400.0]]), 1.0, ["s"])
    from nn.encrypted.softargmax import check_precision

    with pytest.raises(ConfigError, match="Raise precision_bits to at least"):
        check_precision(stage, 10, 40, 1e-3)
    check_precision(stage, 30, 40, 1e-3)  # enough bits: no error
