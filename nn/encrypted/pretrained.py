"""The shipped, pre-trained HE-friendly digits models (weights in ``nn/pretrained/``, a few KB each).

* ``digits_mlp``: ``Flatten -> Linear(64, 32) -> Square -> Linear(32, 10)`` (CryptoNets-style,
  depth 3 after folding), the model of the main demo.
* ``digits_cnn``: ``Conv2d(1, 4, 3, padding=1) -> Square -> AvgPool2d(2) -> Conv2d(4, 8, 3, padding=1)
  -> Square -> Flatten -> Linear(128, 10)``: two convolutions, depth 5 after folding.

Both were trained with `train` on ``nn.datasets.load_digits()`` (the default
75/25 stratified split, seed 0; the test split has 450 images).  Each ``.npz``
is ``nn.Sequential.save`` output; the ``.json`` beside it records how it was
trained and its plaintext test accuracy.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from nn.activations import Square
from nn.layers import AvgPool2d, Conv2d, Flatten, Linear
from nn.model import Sequential

MODELS = ("digits_mlp", "digits_cnn")


def _directory() -> Path:
    return Path(str(resources.files("nn") / "pretrained"))


def path(name: str) -> Path:
    """The ``.npz`` file of a shipped model.

    Args:
        name: "digits_mlp" or "digits_cnn".

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
        name: "digits_mlp" or "digits_cnn".

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
        name: "digits_mlp" or "digits_cnn".

    Returns:
        The parsed JSON.

    Raises:
        ConfigError: an unknown name.
    """
    return json.loads(path(name).with_suffix(".json").read_text())


def architecture(name: str, seed: int = 0) -> Sequential:
    """A freshly initialised model of a shipped architecture.

    Args:
        name: "digits_mlp" or "digits_cnn".
        seed: initialisation seed.

    Returns:
        The untrained model.
    """
    rng = np.random.default_rng(seed)
    if name == "digits_mlp":
        return Sequential([Flatten(), Linear(64, 32, init="xavier", rng=rng), Square(),
                           Linear(32, 10, init="xavier", rng=rng)])
    return Sequential([
        Conv2d(1, 4, 3, padding=1, init="xavier", rng=rng), Square(), AvgPool2d(2),
        Conv2d(4, 8, 3, padding=1, init="xavier", rng=rng), Square(), Flatten(),
        Linear(128, 10, init="xavier", rng=rng),
    ])


def train(name: str, epochs: int = 60, seed: int = 0, directory: str | Path | None = None) -> dict:
    """Train a shipped architecture on the digits and save it (how the shipped files were made).

    Args:
        name: "digits_mlp" or "digits_cnn".
        epochs: training epochs (Adam, lr 3e-3, batch 32).
        seed: initialisation and shuffling seed.
        directory: where to write ``<name>.npz`` and ``<name>.json`` (default: the package's).

    Returns:
        The training record written to the ``.json``.
    """
    from nn.datasets import load_digits
    from nn.metrics import accuracy
    from nn.optim import Adam
    from nn.train import fit

    data = load_digits()
    model = architecture(name, seed)
    fit(model, data.x_train, data.y_train, epochs=epochs, batch_size=32,
        optimizer=Adam(model.parameters(), lr=3e-3), seed=seed, verbose=False)
    acc = float(accuracy(data.y_test, model.predict(data.x_test).argmax(axis=1)))
    record = {"name": name, "dataset": "digits (nn.datasets.load_digits(), default split)", "epochs": epochs,
              "optimizer": "Adam lr 3e-3, batch 32", "seed": seed, "test_accuracy": acc,
              "test_images": int(len(data.y_test)), "depth_unfolded": model.multiplicative_depth()}
    out = Path(directory) if directory is not None else _directory()
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / f"{name}.npz")
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
