"""The main demo runs end to end (small insecure ring, a few images) and reports agreement."""

from __future__ import annotations

import io

import pytest

from nn.encrypted import demo


def test_demo_toy_run(capsys):
    result = demo.main(["--toy", "--images", "24", "--single", "1"])
    printed = capsys.readouterr().out
    assert "encrypted accuracy" in printed and "agreement" in printed and "time per image" in printed
    assert result["agreement"] >= 0.995 and result["single_agreement"] == 1.0
    assert result["levels"] == 3


def test_progress_bar_writes_one_line():
    stream = io.StringIO()
    bar = demo.ProgressBar(2, "work", stream=stream)
    bar.update()
    bar.update()
    text = stream.getvalue()
    assert text.count("\n") == 1 and "2/2" in text


def test_demo_mnist_toy_run(capsys):
    result = demo.main(["--dataset", "mnist", "--toy", "--images", "4", "--single", "1"])
    printed = capsys.readouterr().out
    assert "mnist_tenseal_cnn" in printed and "28x28 digits" in printed and "time per image" in printed
    assert result["agreement"] == 1.0 and result["single_agreement"] == 1.0
    assert result["levels"] == 5  # conv, x^2, linear, x^2, linear


def test_demo_refuses_a_model_of_another_dataset(capsys):
    with pytest.raises(SystemExit):
        demo.main(["--dataset", "mnist", "--model", "digits_mlp"])
    assert "another dataset" in capsys.readouterr().err
