"""nn.Argmax: the plaintext layer, and its encrypted form (comparisons, one-hot output) in both layouts."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import nn
from nn import encrypted
from nn.encrypted import argmax
from nn.errors import ConfigError, NotHEFriendlyError, ShapeError

NO_FLOOD = {**TOY, "flooding": False}


def test_plaintext_argmax_is_the_one_hot_of_the_first_maximum():
    x = np.array([[0.1, 3.0, -2.0], [5.0, 5.0, 1.0], [-1.0, -2.0, -0.5]])
    out = nn.Argmax().forward(x)
    np.testing.assert_array_equal(out, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    with pytest.raises(ConfigError, match="no useful gradient"):
        nn.Argmax().backward(out)
    with pytest.raises(ShapeError):
        nn.Argmax().forward(np.zeros((2, 1)))
    model = nn.Sequential([nn.Linear(3, 3, rng=0), nn.Argmax()])
    np.testing.assert_array_equal(model.copy().forward(x), model.forward(x))  # registered: saves and loads
    assert "depth of Argmax: chosen by nn.encrypted.compile" in model.summary()


def test_argmax_must_be_last():
    with pytest.raises(NotHEFriendlyError, match="Argmax must be the last layer"):
        encrypted.compile(nn.Sequential([nn.Linear(4, 3), nn.Argmax(), nn.Linear(3, 2)]), (4,), **NO_FLOOD)


@pytest.mark.parametrize("margin", [0.0, 0.75, float("nan"), "2^-8", True])
def test_bad_margin_is_refused(margin):
    model = nn.Sequential([nn.Linear(4, 3, rng=0), nn.Argmax()])
    with pytest.raises(ConfigError, match="argmax_margin"):
        encrypted.compile(model, (4,), argmax_margin=margin, **NO_FLOOD)


def test_fold_matrix_gives_the_cyclic_differences():
    stage = argmax.ArgmaxStage(4, ["a"], argmax.design(np.eye(4), ["a"]).sign, scale=5.0, spread=4.0)
    z = np.array([[3.0, -1.0, 0.5, 2.0]])
    f, h = stage.fold_matrix()
    d = (z @ f + h).reshape(3, 4)  # row m - 1, column i
    for m in range(1, 4):
        np.testing.assert_allclose(d[m - 1], (z[0] - np.roll(z[0], -m)) / 5.0)
    assert stage.levels == stage.sign.depth + 2  # ceil(log2 3)
    np.testing.assert_allclose(stage.forward(z @ f + h), [[1, 0, 0, 0]], atol=0.03)


@pytest.mark.parametrize("layout, count", [("sample", 1), ("batch", 30)])
def test_shipped_mlp_argmax_is_the_plaintext_one_hot(layout, count, shipped_mlp, digits):
    """Both layouts: em.decrypt returns (batch, classes), the one-hot of the plaintext argmax where the
    top two logits are further apart than the margin, the float plan elsewhere; every other slot is 0."""
    model = nn.Sequential([*shipped_mlp.layers, nn.Argmax()])
    em = encrypted.compile(model, (1, 8, 8), count, layout=layout, calibration=digits.x_train, **NO_FLOOD)
    stage = em.stages[-1]
    assert em.depth == 3 + stage.sign.depth + 4  # affine, square, affine (with the differences), sign, 9 factors
    ctx = em.keygen()
    x = digits.x_test[:count]
    out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
    got = em.decrypt(ctx, out)
    assert got.shape == (count, 10)
    np.testing.assert_allclose(got, em.plan_forward(x), atol=0.05)
    z = shipped_mlp.forward(x)
    top = np.sort(z, axis=1)
    clear = top[:, -1] - top[:, -2] > stage.margin_logits
    np.testing.assert_allclose(got[clear], model.forward(x)[clear], atol=0.1)
    width = 1 if layout == "sample" else em._layout.packing.width
    rest = ctx.decrypt(out.vectors[0])[10 * width :]
    assert np.max(np.abs(rest)) < 0.05  # the client sees the one-hot vector and nothing else
    if layout == "batch":  # 30 samples in N/2 = 1024 slots: 2 shifts per ciphertext, 5 ciphertexts, 5 signs
        assert (em._layout.packing.groups, em._layout.packing.count) == (2, 5)
        rows = em.trace(ctx, x)  # every stage, the packed differences included, against the float plan
        assert [r["kind"] for r in rows] == ["affine", "poly", "affine", "argmax"]
        assert max(r["max_error"] for r in rows[:3]) < 1e-3 and rows[-1]["max_error"] < 0.05


def _tie_model():
    """Logits (x0, x0, x1, -x1) of inputs (x0, x1): classes 0 and 1 always tie."""
    lin = nn.Linear(2, 4, rng=0)
    lin.params["weight"][...] = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]).T
    lin.params["bias"][...] = 0.0
    return nn.Sequential([lin, nn.Argmax()])


def test_ties_closer_than_the_margin_split_the_vote_and_wider_logits_are_rescaled():
    """Exactly equal leaders get 1/2 each (the plaintext layer takes the first); a leader ahead by more
    than the margin gets 1.  Logits spread far beyond [-1, 1] are rescaled from calibration (summary)."""
    model = _tie_model()
    rng = np.random.default_rng(0)
    cal = rng.uniform(-1, 1, size=(64, 2)) * [300.0, 300.0]
    em = encrypted.compile(model, (2,), 2, layout="batch", calibration=cal, **NO_FLOOD)
    stage = em.stages[-1]
    assert stage.scale > 300 and f"rescaled by 1/{stage.scale:.4g}" in em.summary()
    assert "are a tie" in em.summary()
    gap = 2 * stage.margin_logits
    x = np.array([[200.0, 10.0], [10.0, 10.0 + gap]])  # tie of 0 and 1; class 2 ahead by 2 margins
    ctx = em.keygen()
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x)))
    np.testing.assert_allclose(got[0], [0.5, 0.5, 0.0, 0.0], atol=0.02)
    np.testing.assert_array_equal(model.forward(x)[0], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(got[1], [0.0, 0.0, 1.0, 0.0], atol=0.05)
    with pytest.raises(ConfigError, match="does not split"):  # the packed comparisons are not distributed
        em.run(ctx.public_copy(), em.encrypt(ctx, x), client=object())


@pytest.mark.parametrize("layout", ["sample", "batch"])
def test_two_classes_with_flooded_decryption(layout):
    """Two classes (one comparison, no product), with the default flooding of the outputs."""
    lin = nn.Linear(3, 2, rng=1)
    model = nn.Sequential([lin, nn.Argmax()])
    x = np.random.default_rng(1).normal(size=(40, 3))
    em = encrypted.compile(model, (3,), 1, layout=layout, calibration=x, **TOY)
    assert em.stages[-1].levels == em.stages[-1].sign.depth  # one comparison, no product
    ctx = em.keygen()
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x[:1])))
    np.testing.assert_allclose(got, em.plan_forward(x[:1]), atol=0.02)
