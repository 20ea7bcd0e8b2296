"""benchmarks/nn_table.py on MNIST (issue 22) at toy size: the setup's network, one seed's rows, the table."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import nn_table  # noqa: E402

from nn.activations import QuadraticActivation, ReLU  # noqa: E402
from nn.datasets import Dataset, load_mnist  # noqa: E402
from nn.layers import AvgPool2d, Conv2d, MaxPool2d  # noqa: E402


def test_mnist_setup_builds_the_lenet_teacher_and_students():
    setup = nn_table.SETUPS["mnist"]
    assert not setup.scratch  # the from-scratch rows are opt-in (--scratch) on MNIST
    teacher = setup.build("mnist", "relu", 0)
    kinds = [type(layer) for layer in teacher.layers]
    assert kinds.count(Conv2d) == 3 and kinds.count(ReLU) == 2 and kinds.count(MaxPool2d) == 2
    assert teacher.predict(np.zeros((2, 1, 28, 28))).shape == (2, 10)
    student = setup.build("mnist", "quadratic", 0)
    assert student.is_he_friendly() and sum(isinstance(la, AvgPool2d) for la in student.layers) == 2


@pytest.fixture(scope="module")
def tiny():
    full = load_mnist()
    keep = np.concatenate([np.flatnonzero(full.y_train == c)[:30] for c in range(10)])
    return Dataset("mnist", full.x_train[keep], full.y_train[keep], full.x_test[:100], full.y_test[:100],
                   full.class_names)


def test_one_seed_gives_the_teacher_and_both_distilled_students(tiny, monkeypatch):
    toy = dataclasses.replace(nn_table.SETUPS["mnist"], teacher_epochs=1, transition_epochs=1, finetune_epochs=1)
    monkeypatch.setitem(nn_table.SETUPS, "mnist", toy)
    rows = nn_table.run_seed("mnist", tiny, seed=0)
    assert set(rows) == {"teacher", "method_identity", "method_lsq"}
    assert np.isnan(rows["teacher"]["depth"]) and rows["method_lsq"]["depth"] > 0
    for metrics in rows.values():
        assert 0.0 <= metrics["accuracy"] <= 1.0
    text = nn_table.table("mnist", [rows, rows])
    assert "| ReLU teacher |" in text and "least-squares" in text and "from scratch" not in text
    with_scratch = nn_table.run_seed("mnist", tiny, seed=0, scratch=True)
    assert {"square", "quadratic"} <= set(with_scratch)
    for metric in ("accuracy", "f1"):  # seeded: the same teacher again
        assert with_scratch["teacher"][metric] == rows["teacher"][metric]


def test_distilled_student_has_quadratic_activations(tiny):
    from nn.convert import convert_and_distill

    teacher = nn_table.SETUPS["mnist"].build("mnist", "relu", 0)
    result = convert_and_distill(teacher, tiny.x_train, tiny.y_train, transition_epochs=1, finetune_epochs=0,
                                 verbose=False)
    assert sum(isinstance(la, QuadraticActivation) for la in result.model.layers) == 2
