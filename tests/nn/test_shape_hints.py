"""ShapeError messages name the remedy that applies: the batch axis missing, the channel axis missing, a flat
input, channels-last images, or images given to a dense model (``nn.shape_hints``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nn
from nn.errors import ShapeError
from nn.shape_hints import conv_input_hint, input_shape_hint, linear_input_hint


@pytest.mark.parametrize(
    ("shape", "sample", "fix"),
    [
        ((1, 8, 8), (1, 8, 8), r"batch axis is missing.*x\[None\] \(shape \(1, 1, 8, 8\)\)"),
        ((64,), (64,), r"batch axis is missing.*x\[None\] \(shape \(1, 64\)\)"),
        ((5, 8, 8), (1, 8, 8), r"channel axis is missing.*x\[:, None\] \(shape \(5, 1, 8, 8\)\)"),
        ((8, 8), (1, 8, 8), r"batch and channel axes are missing.*x\[None, None\]"),
        ((5, 8, 8, 3), (3, 8, 8), r"channels-last \(NHWC\).*x\.transpose\(0, 3, 1, 2\)"),
        ((8, 8, 3), (3, 8, 8), r"channels-last image.*x\.transpose\(2, 0, 1\)\[None\]"),
        ((5, 64), (1, 8, 8), r"flat.*x\.reshape\(-1, 1, 8, 8\)"),
        ((64,), (1, 8, 8), r"one flat sample.*x\.reshape\(1, 1, 8, 8\)"),
        ((5, 1, 8, 8), (64,), r"flat rows of 64 features.*x\.reshape\(len\(x\), -1\)"),
        ((5, 7), (64,), r"shape \(n, 64\)"),
    ],
)
def test_input_shape_hint_names_the_fix_that_applies(shape, sample, fix):
    hint = input_shape_hint(shape, sample)
    assert re.search(fix, hint), hint
    if "x[None]" in hint and "reshape" not in hint:  # the named fix gives the expected shape
        assert np.zeros(shape)[None].shape[1:] == tuple(sample)


@pytest.mark.parametrize(
    ("x", "fix"),
    [
        (np.zeros((5, 8, 8)), r"channel axis is missing: pass x\[:, None\]"),
        (np.zeros((1, 8, 8)), r"x\[None\]"),
        (np.zeros((8, 8)), r"x\[None, None\]"),
        (np.zeros((5, 64)), r"flat.*x\.reshape\(-1, 1, 8, 8\)"),
        (np.zeros((5, 8, 8, 1)), r"expects 1 input channels, got 8.*channels-last.*x\.transpose\(0, 3, 1, 2\)"),
    ],
)
def test_conv_model_errors(x, fix):
    model = nn.Sequential([nn.Conv2d(1, 2, 3, rng=0), nn.Flatten(), nn.Linear(72, 3, rng=0)])
    with pytest.raises(ShapeError, match=fix):
        model.predict(x)


def test_the_fixes_work():
    model = nn.Sequential([nn.Conv2d(3, 2, 3, rng=0), nn.Flatten(), nn.Linear(72, 3, rng=0)])
    x = np.random.default_rng(0).normal(size=(5, 3, 8, 8))
    want = model.predict(x)
    np.testing.assert_array_equal(model.predict(x.transpose(0, 2, 3, 1).transpose(0, 3, 1, 2)), want)
    np.testing.assert_array_equal(model.predict(x.reshape(5, -1).reshape(-1, 3, 8, 8)), want)
    np.testing.assert_allclose(model.predict(x[0][None]), want[:1], rtol=1e-12, atol=1e-12)


def test_linear_and_conv_hints():
    assert "x[None]" in linear_input_hint((4,), 4)
    assert "nn.Flatten()" in linear_input_hint((2, 1, 2, 2), 4)
    assert "(batch, 4)" in linear_input_hint((2, 3), 4)
    assert "x[None]" in conv_input_hint((3, 8, 8), 3)
    assert "pass images" in conv_input_hint((5, 10), 3)
    with pytest.raises(ShapeError, match=r"batch axis is missing.*x\[None\]"):
        nn.Sequential([nn.Linear(4, 2, rng=0)]).predict(np.zeros(4))
    with pytest.raises(ShapeError, match=r"insert nn\.Flatten\(\)"):
        nn.Sequential([nn.Linear(4, 2, rng=0)]).predict(np.zeros((3, 2, 2)))
