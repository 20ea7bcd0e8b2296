"""The shipped, pre-trained digits and MNIST models (weights in ``nn/pretrained/``, 20-150 KB each).

* ``digits_mlp``: ``Flatten -> Linear(64, 32) -> Square -> Linear(32, 10)`` (CryptoNets-style,
  depth 3 after folding), the model of the main demo.
* ``digits_cnn``: ``Conv2d(1, 4, 3, padding=1) -> Square -> AvgPool2d(2) -> Conv2d(4, 8, 3, padding=1)
  -> Square -> Flatten -> Linear(128, 10)``: two convolutions, depth 5 after folding.
* ``digits_cnn_relu``: the ReLU teacher of ``digits_cnn``: the same layers with ``ReLU`` for ``Square``
  and ``MaxPool2d(2)`` for ``AvgPool2d(2)``, trained the same way (the model ``nn.convert`` starts
  from; not HE-friendly: ``encrypted.compile(..., approximate=True)`` runs it by composite
  polynomials and bootstraps).
* ``digits_mlp_relu4``: ``Flatten -> Linear(64, 32) -> ReLU -> [Linear(32, 32) -> ReLU] x 3 ->
  Linear(32, 10)``: four hidden ReLU layers, a deep network for the placement of bootstraps.

Those four were trained with `train` on ``nn.datasets.load_digits()`` (the default
75/25 stratified split, seed 0; the test split has 450 images; ``python tools/train_pretrained.py``
re-makes them).  Two more are for 1x28x28 MNIST images (``nn.datasets.load_mnist()``: 8,000 training
and 2,000 test digits; ``python tools/train_mnist_models.py`` re-makes them, `MNIST_TRAINING` says how):

* ``mnist_tenseal_cnn``: TenSEAL's MNIST tutorial network (`nn.architectures.tenseal_mnist_cnn`):
  ``Conv2d(1, 4, 7, stride=3) -> Square -> Flatten -> Linear(256, 64) -> Square -> Linear(64, 10)``.
* ``mnist_lenet``: a LeNet-5-shaped HE-friendly CNN (`nn.architectures.lenet5` with ``Square``):
  ``Conv2d(1, 6, 5) -> Square -> AvgPool2d(2) -> Conv2d(6, 16, 5) -> Square -> AvgPool2d(2)
  -> Conv2d(16, 10, 4) -> Flatten``: three convolutions, the last (LeNet's C5) giving the class scores;
  depth 5 after folding, as the TenSEAL network.

Each ``.npz``
is ``nn.Sequential.save`` output; the ``.json`` beside it records how it was
trained and its plaintext test accuracy.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from nn.activations import ReLU, Square
from nn.architectures import lenet5, tenseal_mnist_cnn
from nn.layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d
from nn.model import Sequential

MODELS = ("digits_mlp", "digits_cnn", "digits_cnn_relu", "digits_mlp_relu4", "mnist_tenseal_cnn", "mnist_lenet")

#: how the MNIST models are trained: ``(epochs, Adam learning rate, batch size)``, the learning rate
#: cosine-decayed to 0 over the epochs, gradients clipped to global norm 5 (TenSEAL's tutorial: Adam 1e-3,
#: batch 64, on all 60,000 images; here more epochs over 8,000)
MNIST_TRAINING = {"mnist_tenseal_cnn": (30, 1e-3, 64), "mnist_lenet": (20, 3e-3, 32)}


def _directory() -> Path:
    return Path(str(resources.files("nn") / "pretrained"))


def path(name: str) -> Path:
    """The ``.npz`` file of a shipped model.

    Args:
        name: one of `MODELS`.

    Returns:
        Its path.

    Raises:
        ConfigError: an unknown name.
    """
    from nn.errors import ConfigError

    if name not in MODELS:
        raise ConfigError(f"unknown pre-trained model {name!r}; known: {MODELS}")
    return _directory() / f"{name}.npz"


def load(name: str = "digits_mlp") -> Sequential:
    """A shipped model, loaded with ``nn.Sequential.load``.

    Args:
        name: one of `MODELS`.

    Returns:
        The model.

    Raises:
        ConfigError: an unknown name.
        ModelFormatError: the shipped file is damaged.
    """
    return Sequential.load(path(name))


def metadata(name: str = "digits_mlp") -> dict:
    """The training record of a shipped model (the ``.json`` beside its weights).

    Args:
        name: one of `MODELS`.

    Returns:
        The parsed JSON.

    Raises:
        ConfigError: an unknown name.
    """
    return json.loads(path(name).with_suffix(".json").read_text())


def architecture(name: str, seed: int = 0) -> Sequential:
    """A freshly initialised model of a shipped architecture.

    Args:
        name: one of `MODELS`.
        seed: initialisation seed.

    Returns:
        The untrained model.

    Raises:
        ConfigError: an unknown name.
    """
    from nn.errors import ConfigError

    if name not in MODELS:
        raise ConfigError(f"unknown pre-trained model {name!r}; known: {MODELS}")
    rng = np.random.default_rng(seed)
    if name == "mnist_tenseal_cnn":
        return tenseal_mnist_cnn(rng=rng)
    if name == "mnist_lenet":
        return lenet5("square", channels=(6, 16), rng=rng)
    if name == "digits_mlp":
        return Sequential([Flatten(), Linear(64, 32, init="xavier", rng=rng), Square(),
                           Linear(32, 10, init="xavier", rng=rng)])
    if name == "digits_mlp_relu4":
        sizes = (64, 32, 32, 32, 32)
        hidden = [layer for a, b in zip(sizes, sizes[1:]) for layer in (Linear(a, b, init="he", rng=rng), ReLU())]
        return Sequential([Flatten(), *hidden, Linear(32, 10, init="he", rng=rng)])
    relu = name == "digits_cnn_relu"  # the teacher: ReLU and max-pooling where the student squares and averages
    init = "he" if relu else "xavier"
    return Sequential([
        Conv2d(1, 4, 3, padding=1, init=init, rng=rng), ReLU() if relu else Square(),
        MaxPool2d(2) if relu else AvgPool2d(2),
        Conv2d(4, 8, 3, padding=1, init=init, rng=rng), ReLU() if relu else Square(), Flatten(),
        Linear(128, 10, init=init, rng=rng),
    ])


def train(name: str, epochs: int | None = None, seed: int = 0, directory: str | Path | None = None) -> dict:
    """Train a shipped architecture on its dataset and save it (how the shipped files were made).

    Args:
        name: one of `MODELS`.
        epochs: training epochs (digits: Adam, lr 3e-3, batch 32, default 60; MNIST: `MNIST_TRAINING`,
            whose epochs are the default).
        seed: initialisation and shuffling seed.
        directory: where to write ``<name>.npz`` and ``<name>.json`` (default: the package's).

    Returns:
        The training record written to the ``.json``.

    Raises:
        ConfigError: an unknown name.
    """
    from nn.datasets import load_digits
    from nn.metrics import accuracy
    from nn.optim import Adam
    from nn.train import fit

    if name in MNIST_TRAINING:
        return _train_mnist(name, epochs, seed, directory)
    epochs = 60 if epochs is None else epochs
    data = load_digits()
    model = architecture(name, seed)
    fit(model, data.x_train, data.y_train, epochs=epochs, batch_size=32,
        optimizer=Adam(model.parameters(), lr=3e-3), seed=seed, verbose=False)
    acc = float(accuracy(data.y_test, model.predict(data.x_test).argmax(axis=1)))
    record = {"name": name, "dataset": "digits (nn.datasets.load_digits(), default split)", "epochs": epochs,
              "optimizer": "Adam lr 3e-3, batch 32", "seed": seed, "test_accuracy": acc,
              "test_images": int(len(data.y_test))}
    if model.is_he_friendly():
        record["depth_unfolded"] = model.multiplicative_depth()
    else:  # ReLU / max-pool: compile(..., approximate=True) approximates them (nn.encrypted.approximation)
        record["he_friendly"] = False
        record["relu_layers"] = sum(type(layer).__name__ == "ReLU" for layer in model.layers)
    return _save(model, record, directory)


def _save(model: Sequential, record: dict, directory: str | Path | None) -> dict:
    out = Path(directory) if directory is not None else _directory()
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / f"{record['name']}.npz")
    (out / f"{record['name']}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _train_mnist(name: str, epochs: int | None, seed: int, directory: str | Path | None) -> dict:
    """`train` for the MNIST models: `MNIST_TRAINING`'s recipe on ``nn.datasets.load_mnist()``."""
    from nn.datasets import load_mnist
    from nn.metrics import accuracy
    from nn.optim import Adam, cosine_schedule
    from nn.train import GradientClipping, LearningRateSchedule, fit

    default_epochs, lr, batch_size = MNIST_TRAINING[name]
    epochs = default_epochs if epochs is None else epochs
    data = load_mnist()
    model = architecture(name, seed)
    fit(model, data.x_train, data.y_train, epochs=epochs, batch_size=batch_size,
        optimizer=Adam(model.parameters(), lr=lr), seed=seed, verbose=False,
        callbacks=[GradientClipping(5.0), LearningRateSchedule(cosine_schedule(lr, epochs))])
    acc = float(accuracy(data.y_test, model.predict(data.x_test).argmax(axis=1)))
    record = {"name": name, "dataset": "mnist (nn.datasets.load_mnist(), default split: 8,000 train / 2,000 test)",
              "epochs": epochs, "optimizer": f"Adam lr {lr:g} cosine-decayed to 0, batch {batch_size}, "
              "gradient norm clipped at 5", "seed": seed, "test_accuracy": acc,
              "test_images": int(len(data.y_test)), "depth_unfolded": model.multiplicative_depth()}
    return _save(model, record, directory)
