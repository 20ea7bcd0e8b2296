"""HE-friendly conversion: ReLU fit, layer replacement, smooth transition, distillation, end to end."""

from __future__ import annotations

import numpy as np
import pytest

from nn.activations import QuadraticActivation, ReLU, ReLUToQuadratic
from nn.architectures import digits_cnn, mlp
from nn.convert import (
    TransitionSchedule,
    convert_and_distill,
    finalize,
    fit_relu_quadratic,
    he_friendly_copy,
    preactivation_ranges,
    set_transition,
)
from nn.datasets import load_digits
from nn.errors import ConfigError, ShapeError
from nn.layers import AvgPool2d, MaxPool2d
from nn.optim import Adam
from nn.train import LambdaCallback, evaluate, fit


@pytest.mark.parametrize("r", [0.5, 1.0, 4.0])
def test_relu_quadratic_fit_matches_closed_form(r):
    a, b, c = fit_relu_quadratic(-r, r, num=200001)
    assert a == pytest.approx(15 / (32 * r), rel=1e-4)
    assert b == pytest.approx(0.5, rel=1e-4)
    assert c == pytest.approx(3 * r / 32, rel=1e-3)


def test_relu_quadratic_fit_beats_identity_on_the_range():
    t = np.linspace(-1.0, 3.0, 1001)
    a, b, c = fit_relu_quadratic(-1.0, 3.0)
    fit_err = np.mean((a * t**2 + b * t + c - np.maximum(t, 0)) ** 2)
    assert fit_err < np.mean((t - np.maximum(t, 0)) ** 2) / 5
    with pytest.raises(ConfigError, match="lo < hi"):
        fit_relu_quadratic(1.0, 1.0)


def test_preactivation_ranges():
    model = mlp([3, 5, 4, 2], "relu", rng=0)
    x = np.random.default_rng(0).normal(size=(50, 3))
    ranges = preactivation_ranges(model, x, batch_size=7)
    assert sorted(ranges) == [1, 3]
    h = model.layers[0].forward(x)
    assert ranges[1] == (pytest.approx(h.min()), pytest.approx(h.max()))
    with pytest.raises(ShapeError):
        preactivation_ranges(model, np.zeros((0, 3)))


def test_he_friendly_copy_replaces_layers_and_leaves_teacher_alone():
    teacher = digits_cnn("relu", rng=0)
    before = [v.copy() for _, v, _ in teacher.parameters()]
    x = np.random.default_rng(1).uniform(size=(20, 1, 8, 8))
    student = he_friendly_copy(teacher, x, init="lsq")
    kinds = [type(layer) for layer in student]
    assert kinds[1] is ReLUToQuadratic and kinds[2] is AvgPool2d and kinds[5] is ReLUToQuadratic
    assert ReLU not in kinds and MaxPool2d not in kinds
    ranges = preactivation_ranges(teacher, x)
    assert (student[1].a, student[1].b, student[1].c) == pytest.approx(fit_relu_quadratic(*ranges[1]))
    ident = he_friendly_copy(teacher, init="identity", mix=1.0)
    assert (ident[5].a, ident[5].b, ident[5].c, ident[5].mix) == (0.0, 1.0, 0.0, 1.0)
    for (_, v, _), b in zip(teacher.parameters(), before, strict=True):
        np.testing.assert_array_equal(v, b)
    # at mix = 0 an MLP copy computes exactly the teacher's function
    t2 = mlp([64, 10, 10], "relu", rng=0)
    s2 = he_friendly_copy(t2, init="identity")
    np.testing.assert_array_equal(s2.predict(x.reshape(20, -1)), t2.predict(x.reshape(20, -1)))
    with pytest.raises(ConfigError, match="init must be one of"):
        he_friendly_copy(teacher, x, init="chebyshev")
    with pytest.raises(ConfigError, match="needs calibration data"):
        he_friendly_copy(teacher, init="lsq")


def test_finalize_requires_a_finished_transition_and_keeps_the_function():
    student = he_friendly_copy(mlp([4, 6, 3], "relu", rng=0), init="identity")
    with pytest.raises(ConfigError, match="finish the transition"):
        finalize(student)
    set_transition(student, 1.0)
    student[1].params["coeffs"][...] = [0.1, 0.7, 0.3]
    final = finalize(student)
    assert type(final[1]) is QuadraticActivation and final.multiplicative_depth() == 4
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_allclose(final.predict(x), student.predict(x), rtol=1e-14)


def test_transition_schedule_reaches_pure_quadratic():
    student = he_friendly_copy(mlp([4, 6, 3], "relu", rng=0), init="identity")
    seen = []
    x = np.random.default_rng(0).normal(size=(20, 4))
    y = np.arange(20) % 3
    record = LambdaCallback(on_epoch_begin=lambda epoch: seen.append(student[1].mix))
    fit(student, x, y, epochs=4, verbose=False, callbacks=[TransitionSchedule(4), record])
    assert seen == [0.25, 0.5, 0.75, 1.0]
    assert student.is_he_friendly()
    with pytest.raises(ConfigError, match="positive integer"):
        TransitionSchedule(0)


def test_convert_and_distill_end_to_end_small():
    """The whole pipeline at small size: teacher -> conversion -> distillation, on a digits subset."""
    ds = load_digits()
    x, y = ds.x_train, ds.y_train
    teacher = digits_cnn("relu", rng=0)
    fit(teacher, x, y, epochs=8, optimizer=Adam(teacher.parameters(), lr=3e-3), seed=0, verbose=False)
    acc_teacher = evaluate(teacher, ds.x_test, ds.y_test)["accuracy"]
    assert acc_teacher >= 0.93
    lines = []
    result = convert_and_distill(
        teacher, x, y, init="lsq", transition_epochs=3, finetune_epochs=4, lr=2e-3, seed=0, log=lines.append
    )
    student = result.model
    assert student.is_he_friendly() and student.multiplicative_depth() == 8
    assert [type(layer).__name__ for layer in student].count("QuadraticActivation") == 2
    acc_student = evaluate(student, ds.x_test, ds.y_test)["accuracy"]
    assert acc_student >= 0.90 and acc_student >= acc_teacher - 0.03
    assert len(result.transition.epochs) == 3 and len(result.finetune.epochs) == 4
    assert any("transition" in line for line in lines) and any("distillation" in line for line in lines)
    assert set(result.initial_coefficients) == {1, 5}
    # abrupt replacement (no transition) and identity start also run
    quick = convert_and_distill(
        teacher, x[:100], y[:100], init="identity", transition_epochs=0, finetune_epochs=1, verbose=False
    )
    assert quick.model.is_he_friendly() and quick.transition.epochs == []
    with pytest.raises(ConfigError, match="non-negative"):
        convert_and_distill(teacher, x, y, transition_epochs=-1)
    with pytest.raises(ConfigError, match="at least 1"):
        convert_and_distill(teacher, x, y, transition_epochs=0, finetune_epochs=0)
    with pytest.raises(ConfigError, match="needs validation"):
        convert_and_distill(teacher, x, y, patience=2)
