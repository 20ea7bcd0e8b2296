"""The shipped pre-trained MNIST models (issue 22): TenSEAL's tutorial network and the LeNet-5-shaped CNN.

Accuracies are recomputed here on the 2,000 shipped test digits and must beat a floor computed from
the same data: a nearest-class-mean classifier's accuracy (a linear baseline, about 80% on MNIST)
plus ten points.  The ``.json`` records must agree with the weights.
"""

from __future__ import annotations

import numpy as np
import pytest

from nn.activations import Square
from nn.datasets import load_mnist
from nn.encrypted import pretrained
from nn.errors import ConfigError
from nn.layers import AvgPool2d, Conv2d, Flatten, Linear

MNIST_MODELS = ("mnist_tenseal_cnn", "mnist_lenet")


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture(scope="module")
def floor(mnist):
    """Nearest-class-mean accuracy on the test digits, plus 10 points."""
    x_tr, x_te = mnist.x_train.reshape(len(mnist.x_train), -1), mnist.x_test.reshape(len(mnist.x_test), -1)
    means = np.stack([x_tr[mnist.y_train == c].mean(axis=0) for c in range(10)])
    distances = ((x_te[:, None, :] - means[None]) ** 2).sum(axis=2)
    baseline = float(np.mean(distances.argmin(axis=1) == mnist.y_test))
    assert 0.5 < baseline < 0.9  # the baseline itself is a weak classifier, far above chance
    return baseline + 0.10


@pytest.mark.parametrize("name", MNIST_MODELS)
def test_mnist_model_loads_and_classifies_the_test_digits(name, mnist, floor):
    model = pretrained.load(name)
    logits = model.predict(mnist.x_test)
    assert logits.shape == (2000, 10) and np.all(np.isfinite(logits))
    accuracy = float(np.mean(logits.argmax(axis=1) == mnist.y_test))
    assert accuracy >= floor, f"{name}: {accuracy:.4f} below the floor {floor:.4f}"
    record = pretrained.metadata(name)
    assert record["name"] == name and record["test_images"] == 2000
    assert record["test_accuracy"] == pytest.approx(accuracy, abs=1e-9)  # the .json matches the weights
    assert record["depth_unfolded"] == model.multiplicative_depth()
    assert record["epochs"] == pretrained.MNIST_TRAINING[name][0]
    fresh = pretrained.architecture(name, seed=1)  # the shipped weights fit the published architecture
    assert [type(layer) for layer in fresh.layers] == [type(layer) for layer in model.layers]
    for a, b in zip(fresh.layers, model.layers):
        assert {k: v.shape for k, v in a.params.items()} == {k: v.shape for k, v in b.params.items()}


def test_tenseal_network_is_the_tutorials():
    model = pretrained.load("mnist_tenseal_cnn")
    assert [type(layer) for layer in model.layers] == [Conv2d, Square, Flatten, Linear, Square, Linear]
    conv = model.layers[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == (1, 4, 7, 3, 0)
    assert model.layers[3].params["weight"].shape == (256, 64)
    assert model.layers[5].params["weight"].shape == (64, 10)
    assert model.multiplicative_depth() == 5


def test_lenet_has_three_convolutions_squares_and_average_pools():
    model = pretrained.load("mnist_lenet")
    kinds = [type(layer) for layer in model.layers]
    assert kinds.count(Conv2d) == 3 and kinds.count(AvgPool2d) == 2 and kinds.count(Square) == 2
    assert model.is_he_friendly()
    x = np.zeros((1, 1, 28, 28))
    shapes = []
    for layer in model.layers:
        x = layer.forward(x)
        shapes.append(x.shape[1:])
    assert shapes == [(6, 24, 24), (6, 24, 24), (6, 12, 12), (16, 8, 8), (16, 8, 8), (16, 4, 4), (10, 1, 1), (10,)]


def test_training_recipe_runs_and_records_itself(tmp_path, mnist):
    record = pretrained.train("mnist_tenseal_cnn", epochs=1, seed=3, directory=tmp_path)
    assert record["epochs"] == 1 and record["seed"] == 3 and "mnist" in record["dataset"]
    model = pretrained.Sequential.load(tmp_path / "mnist_tenseal_cnn.npz")
    accuracy = float(np.mean(model.predict(mnist.x_test).argmax(axis=1) == mnist.y_test))
    assert record["test_accuracy"] == pytest.approx(accuracy, abs=1e-9)
    assert accuracy > 0.5  # one epoch over 8,000 digits already learns


def test_unknown_model_name_is_refused():
    with pytest.raises(ConfigError, match="unknown pre-trained model 'mnist_resnet'"):
        pretrained.load("mnist_resnet")
    with pytest.raises(ConfigError, match="unknown pre-trained model"):
        pretrained.architecture("mnist_resnet")
