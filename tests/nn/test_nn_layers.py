"""Gradient checks (central differences, float64) for every layer, and layer error paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.activations import (
    PolyActivation,
    QuadraticActivation,
    ReLU,
    ReLUToQuadratic,
    SoftArgmax,
    Square,
    log_softmax,
    softmax,
)
from nn.errors import ConfigError, ShapeError, StateError
from nn.layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, col2im, im2col

RNG = np.random.default_rng(1234)


def images(n=2, c=2, h=6, w=6):
    return RNG.normal(size=(n, c, h, w))


@pytest.mark.parametrize(
    "layer, shape",
    [
        (Linear(5, 3, rng=0), (4, 5)),
        (Linear(3, 2, init="xavier", rng=1), (1, 3)),
        (Conv2d(2, 3, 3, rng=0), (2, 2, 6, 6)),
        (Conv2d(2, 3, 3, padding=1, rng=1), (2, 2, 5, 5)),
        (Conv2d(2, 2, 3, stride=2, padding=1, rng=2), (2, 2, 7, 7)),
        (Conv2d(1, 2, 2, stride=2, rng=3), (3, 1, 4, 6)),
        (AvgPool2d(2), (2, 2, 6, 6)),
        (AvgPool2d(3, stride=2), (2, 2, 7, 7)),
        (MaxPool2d(2), (2, 2, 6, 6)),
        (MaxPool2d(3, stride=1), (2, 1, 5, 5)),
        (Flatten(), (2, 2, 3, 3)),
        (ReLU(), (4, 7)),
        (Square(), (4, 7)),
        (QuadraticActivation(0.3, -0.7, 0.2), (4, 7)),
        (QuadraticActivation(), (2, 3, 4, 4)),
        (PolyActivation([0.1, 0.5, 0.25, -0.05]), (4, 7)),
        (PolyActivation([0.1, 0.5, 0.25, -0.05], trainable=True), (4, 7)),
        (ReLUToQuadratic(0.2, 0.5, 0.1, mix=0.35), (4, 7)),
        (ReLUToQuadratic(0.2, 0.5, 0.1, mix=1.0), (4, 7)),
        (SoftArgmax(beta=2.5), (4, 5)),
        (SoftArgmax(), (6,)),
    ],
    ids=lambda v: repr(v) if not isinstance(v, tuple) else str(v),
)
def test_layer_gradients(gradcheck, layer, shape):
    gradcheck(layer, RNG.normal(size=shape))


def test_conv2d_matches_direct_convolution():
    conv = Conv2d(2, 3, 3, stride=2, padding=1, rng=0)
    conv.params["bias"][...] = [0.1, -0.2, 0.3]
    x = images(2, 2, 5, 5)
    out = conv.forward(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros((2, 3, 3, 3))
    for n in range(2):
        for f in range(3):
            for p in range(3):
                for q in range(3):
                    win = xp[n, :, 2 * p : 2 * p + 3, 2 * q : 2 * q + 3]
                    ref[n, f, p, q] = np.sum(win * conv.params["weight"][f]) + conv.params["bias"][f]
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_pooling_values():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(MaxPool2d(2).forward(x)[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(AvgPool2d(2).forward(x)[0, 0], [[2.5, 4.5], [10.5, 12.5]])


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    h=st.integers(3, 7),
    w=st.integers(3, 7),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
)
def test_col2im_is_the_adjoint_of_im2col(n, c, h, w, k, stride, padding):
    rng = np.random.default_rng(n * 1000 + c * 100 + h * 10 + w)
    x = rng.normal(size=(n, c, h, w))
    cols = im2col(x, k, k, stride, padding)
    y = rng.normal(size=cols.shape)
    lhs = np.sum(cols * y)
    rhs = np.sum(x * col2im(y, x.shape, stride, padding))
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


def test_polynomial_values_and_coefficients():
    x = np.linspace(-2, 2, 9)
    q = QuadraticActivation(0.5, -1.0, 2.0)
    np.testing.assert_allclose(q.forward(x), 0.5 * x**2 - x + 2.0)
    assert (q.a, q.b, q.c) == (0.5, -1.0, 2.0)
    np.testing.assert_array_equal(q.coeffs, [2.0, -1.0, 0.5])
    p = PolyActivation([1.0, 0.0, 0.0, 2.0])
    np.testing.assert_allclose(p.forward(x), 1 + 2 * x**3)
    assert p.params == {}
    np.testing.assert_allclose(Square().forward(x), x**2)
    blend = ReLUToQuadratic(0.5, -1.0, 2.0, mix=0.25)
    np.testing.assert_allclose(blend.forward(x), 0.75 * np.maximum(x, 0) + 0.25 * (0.5 * x**2 - x + 2.0))


def test_softargmax_tends_to_one_hot():
    x = np.array([[0.1, 0.5, 0.3], [2.0, -1.0, 1.9]])
    y1 = SoftArgmax(1.0).forward(x)
    y50 = SoftArgmax(50.0).forward(x)
    np.testing.assert_allclose(y1.sum(axis=1), 1.0)
    np.testing.assert_allclose(y1, softmax(x))
    assert y50[0, 1] > 0.99 and y50[1, 0] > 0.99
    np.testing.assert_allclose(np.exp(log_softmax(x)), softmax(x))
    assert np.all(np.isfinite(softmax(np.array([[1000.0, 0.0, -1000.0]]))))


def test_depths():
    assert Linear(2, 2).multiplicative_depth() == 1
    assert Conv2d(1, 1, 3).multiplicative_depth() == 1
    assert AvgPool2d(2).multiplicative_depth() == 1
    assert Flatten().multiplicative_depth() == 0
    assert Square().multiplicative_depth() == 1
    assert QuadraticActivation().multiplicative_depth() == 2
    assert QuadraticActivation(0.0, 0.0, 0.0).multiplicative_depth() == 2
    assert PolyActivation([0, 1]).multiplicative_depth() == 1
    assert PolyActivation([0, 1, 1, 1]).multiplicative_depth() == 2
    assert PolyActivation([0, 0, 0, 0, 1]).multiplicative_depth() == 3
    assert PolyActivation([1, 2, 3, 4, 5, 6, 7, 8, 0.0]).multiplicative_depth() == 3
    assert PolyActivation([3.0]).multiplicative_depth() == 0
    # one source of truth for the levels of a degree-d polynomial: the CKKS evaluator's count
    assert [PolyActivation([0.0] * d + [1.0]).multiplicative_depth() for d in range(9)] == [0, 1, 2, 2, 3, 3, 3, 3, 4]
    assert ReLU().multiplicative_depth() is None
    assert MaxPool2d(2).multiplicative_depth() is None
    assert SoftArgmax().multiplicative_depth() is None
    assert ReLUToQuadratic(mix=0.5).multiplicative_depth() is None
    assert ReLUToQuadratic(mix=1.0).multiplicative_depth() == 2


def test_import_nn_runs_no_ckks_code():
    """The depth count imports the CKKS polynomial evaluator lazily, inside multiplicative_depth."""
    code = (
        "import sys, nn; assert not [m for m in sys.modules if m.split('.')[0] == 'ckks'], 'ckks imported'; "
        "nn.PolyActivation([0, 0, 1]).multiplicative_depth(); assert 'ckks.circuits.polynomial' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_parameter_arrays_are_updated_in_place_by_backward():
    layer = Linear(3, 2, rng=0)
    g = layer.grads["weight"]
    layer.forward(RNG.normal(size=(4, 3)))
    layer.backward(np.ones((4, 2)))
    assert layer.grads["weight"] is g and np.any(g != 0)
    layer.zero_grad()
    assert np.all(g == 0)


def test_initialisation_is_seeded():
    a, b = Linear(4, 3, rng=7), Linear(4, 3, rng=7)
    np.testing.assert_array_equal(a.params["weight"], b.params["weight"])
    assert not np.array_equal(a.params["weight"], Linear(4, 3, rng=8).params["weight"])
    gen = np.random.default_rng(0)
    c = Conv2d(1, 4, 3, rng=gen)
    assert c.params["weight"].std() == pytest.approx(np.sqrt(2 / 9), rel=0.6)


@pytest.mark.parametrize(
    "make, x, message",
    [
        (lambda: Linear(3, 2), np.zeros((4, 5)), "expects 3 input features"),
        (lambda: Linear(3, 2), np.zeros((2, 1, 3)), "Flatten"),
        (lambda: Conv2d(2, 3, 3), np.zeros((1, 1, 5, 5)), "expects 2 input channels"),
        (lambda: Conv2d(1, 3, 3), np.zeros((5, 5)), "4-D batch"),
        (lambda: Conv2d(1, 3, 5), np.zeros((1, 1, 3, 3)), "smaller than the kernel"),
        (lambda: MaxPool2d(4), np.zeros((1, 1, 3, 3)), "smaller than the kernel"),
        (lambda: AvgPool2d(2), np.zeros((3, 4)), "4-D batch"),
        (lambda: Flatten(), np.zeros(3), "at least 2 dimensions"),
    ],
)
def test_shape_errors(make, x, message):
    with pytest.raises(ShapeError, match=message):
        make().forward(x)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Linear(0, 2), "in_features"),
        (lambda: Linear(2.5, 2), "in_features"),
        (lambda: Linear(2, 2, init="orthogonal"), "init must be one of"),
        (lambda: Linear(2, 2, rng="seed"), "rng must be"),
        (lambda: Conv2d(1, 1, 3, padding=-1), "padding"),
        (lambda: Conv2d(1, 1, 3, stride=0), "stride"),
        (lambda: MaxPool2d(0), "kernel_size"),
        (lambda: PolyActivation([]), "non-empty"),
        (lambda: PolyActivation([[1.0, 2.0]]), "1-D"),
        (lambda: PolyActivation([1.0, np.nan]), "finite"),
        (lambda: ReLUToQuadratic(mix=1.5), r"mix must lie in \[0, 1\]"),
        (lambda: SoftArgmax(beta=0.0), "beta"),
        (lambda: SoftArgmax(beta=-2.0), "beta"),
    ],
)
def test_config_errors(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_errors_are_value_errors_and_backward_before_forward():
    assert issubclass(ShapeError, ValueError) and issubclass(ConfigError, ValueError)
    with pytest.raises(StateError, match="before forward"):
        Linear(2, 2).backward(np.zeros((1, 2)))
    with pytest.raises(RuntimeError):
        Square().backward(np.zeros(3))
