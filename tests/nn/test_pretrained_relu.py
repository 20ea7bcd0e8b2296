"""The shipped ReLU digits models (issue 21): the digits CNN's ReLU teacher and the four-hidden-ReLU MLP.

Accuracies are recomputed from the data here, against floors (not the recorded numbers), and the
teacher is checked to be the student's architecture with ReLU / max-pool in place of x^2 / average pool.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from nn.activations import ReLU, Square
from nn.datasets import load_digits
from nn.encrypted import pretrained
from nn.errors import ConfigError, NotHEFriendlyError
from nn.layers import AvgPool2d, MaxPool2d

REPO = Path(__file__).resolve().parents[2]

#: plaintext test-accuracy floors on the 450 test digits (the models reach about 97%)
FLOORS = {"digits_cnn_relu": 0.95, "digits_mlp_relu4": 0.94}


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_relu_model_loads_and_classifies_the_test_digits(name, digits):
    model = pretrained.load(name)
    predicted = model.predict(digits.x_test).argmax(axis=1)
    accuracy = float(np.mean(predicted == digits.y_test))
    assert len(digits.y_test) == 450
    assert accuracy >= FLOORS[name], f"{name}: {accuracy:.3f} below the floor {FLOORS[name]}"
    record = pretrained.metadata(name)
    assert record["name"] == name and record["he_friendly"] is False
    assert record["test_accuracy"] == pytest.approx(accuracy, abs=1e-9)  # the .json matches the weights


def test_teacher_is_the_students_architecture_with_relu_and_max_pool():
    teacher, student = pretrained.load("digits_cnn_relu"), pretrained.load("digits_cnn")
    assert len(teacher.layers) == len(student.layers)
    swaps = {(ReLU, Square), (MaxPool2d, AvgPool2d)}
    for t, s in zip(teacher.layers, student.layers):
        if type(t) is not type(s):
            assert (type(t), type(s)) in swaps
        else:
            assert {k: v.shape for k, v in t.params.items()} == {k: v.shape for k, v in s.params.items()}
    assert sum(isinstance(layer, ReLU) for layer in teacher.layers) == 2
    with pytest.raises(NotHEFriendlyError):
        teacher.multiplicative_depth()


def test_the_mlp_has_four_hidden_relu_layers():
    model = pretrained.load("digits_mlp_relu4")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Flatten"] + ["Linear", "ReLU"] * 4 + ["Linear"]
    assert model.predict(np.zeros((1, 1, 8, 8))).shape == (1, 10)


def test_unknown_names_are_refused():
    for call in (pretrained.load, pretrained.metadata, pretrained.path, pretrained.architecture):
        with pytest.raises(ConfigError, match="unknown pre-trained model"):
            call("digits_resnet")


def test_training_script_is_deterministic(tmp_path):
    """The script's recipe re-makes the MLP: same seed, same weights (to rounding), same accuracy."""
    sys.path.insert(0, str(REPO))
    try:
        from tools import train_pretrained
    finally:
        sys.path.remove(str(REPO))
    assert train_pretrained.main(["digits_mlp_relu4", "--epochs", "3", "--out", str(tmp_path / "a")]) == 0
    assert train_pretrained.main(["digits_mlp_relu4", "--epochs", "3", "--out", str(tmp_path / "b")]) == 0
    a, b = np.load(tmp_path / "a" / "digits_mlp_relu4.npz"), np.load(tmp_path / "b" / "digits_mlp_relu4.npz")
    weights = [k for k in a.files if a[k].dtype.kind == "f"]
    assert weights and all(np.allclose(a[k], b[k], rtol=0, atol=1e-10) for k in weights)
    with pytest.raises(SystemExit):
        train_pretrained.main(["digits_resnet"])
