"""The plan without ciphertexts: folding, composition, im2col, parameters, refusals."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from ckks.errors import SecurityError
from nn import encrypted
from nn.encrypted.params import choose_parameters, max_modulus_bits
from nn.encrypted.plan import AffineStage, PolyStage, build_stages, forward_stages
from nn.errors import LayerTypeError, NotHEFriendlyError, ShapeError


def _mlp(act):
    return nn.Sequential([nn.Flatten(), nn.Linear(64, 16, rng=1), act, nn.Linear(16, 10, rng=2)])


@pytest.mark.parametrize(
    "act, mode, levels",
    [(nn.Square(), "square", 3), (nn.QuadraticActivation(0.3, 1.0, 0.1), "monic2", 3),
     (nn.PolyActivation([0.1, 0.5, 0.2, 0.05]), "poly", 4), (nn.PolyActivation([0.5, 2.0]), None, 1)],
)
def test_folding_and_plan_equals_model(act, mode, levels, digits):
    model = _mlp(act)
    em = encrypted.compile(model, (1, 8, 8), calibration=digits.x_train[:64], security=None, poly_degree=2048)
    polys = [st for st in em.stages if isinstance(st, PolyStage)]
    assert [p.mode for p in polys] == ([mode] if mode else [])
    assert em.depth == levels
    np.testing.assert_allclose(em.plan_forward(digits.x_test[:5]), model.forward(digits.x_test[:5]), atol=1e-9)
    assert "levels used" in em.summary() and "without folding" in em.summary()


def test_quadratic_folding_saves_a_level(digits):
    em = encrypted.compile(_mlp(nn.QuadraticActivation(0.3, 1.0, 0.1)), (1, 8, 8), calibration=digits.x_train[:32],
                           security=None, poly_degree=2048)
    assert em.depth == 3 and em.unfolded_depth == 4


def test_pool_is_folded_into_the_next_convolution(shipped_cnn, digits):
    em = encrypted.compile(shipped_cnn, (1, 8, 8), calibration=digits.x_train[:32], security=None,
                           poly_degree=2048, first_conv="server", conv_packing="dense")  # the dense path's folding
    affine = [st for st in em.stages if isinstance(st, AffineStage)]
    assert len(affine) == 3 and "2:AvgPool2d" in affine[1].layers
    assert em.depth == 5 and em.unfolded_depth == 6


@pytest.mark.parametrize("first_conv", ["im2col", "server"])
def test_two_convolutions_plan(first_conv, shipped_cnn, digits):
    stages = build_stages(shipped_cnn, (1, 8, 8), first_conv)
    assert (stages[0].im2col is not None) == (first_conv == "im2col")
    x = digits.x_test[:4]
    from nn.encrypted.compiler import features_of

    out = forward_stages(stages, features_of(stages, x))[-1]
    np.testing.assert_allclose(out, shipped_cnn.forward(x), atol=1e-9)


@pytest.mark.parametrize("bad, name", [(nn.ReLU(), "1:ReLU"), (nn.MaxPool2d(2), "1:MaxPool2d")])
def test_relu_and_maxpool_are_refused_naming_the_layer(bad, name):
    model = nn.Sequential([nn.Conv2d(1, 2, 3, padding=1, rng=0), bad, nn.Flatten(), nn.Linear(32 if name.endswith(
        "MaxPool2d") else 128, 10, rng=0)])
    with pytest.raises(NotHEFriendlyError, match=name) as info:
        encrypted.compile(model, (1, 8, 8))
    assert "nn.convert" in str(info.value)


def test_softargmax_must_be_last_and_model_must_be_sequential():
    model = nn.Sequential([nn.Linear(4, 3, rng=0), nn.SoftArgmax(), nn.Linear(3, 2, rng=0)])
    with pytest.raises(NotHEFriendlyError, match="last"):
        encrypted.compile(model, (4,))
    with pytest.raises(LayerTypeError):
        encrypted.compile([nn.Linear(4, 3)], (4,))
    with pytest.raises(ShapeError):
        encrypted.compile(nn.Sequential([nn.Linear(4, 3, rng=0)]), (5,))


def test_parameters_smallest_secure_ring():
    choice = choose_parameters(depth=3, max_abs=30.0, slots_needed=64)
    assert choice.poly_degree == 8192 and choice.security == 128
    assert choice.total_bits <= max_modulus_bits(8192) == 218
    # one power of two down would not be secure
    assert choice.total_bits > max_modulus_bits(4096)
    deeper = choose_parameters(depth=12, max_abs=30.0, slots_needed=64)
    assert deeper.poly_degree == 16384


def test_too_deep_is_refused_naming_depths():
    with pytest.raises(SecurityError, match=r"needs depth 80.*largest depth .*is \d+"):
        choose_parameters(depth=80, max_abs=10.0, slots_needed=16, precision_bits=30)
