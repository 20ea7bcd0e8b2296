"""Reference architectures used by the tests, the tutorial and the benchmark.

Each builder takes the activation by name so that the ReLU teacher, the
CryptoNets-style ``Square`` model and the trainable-quadratic model share one
architecture:

* ``"relu"``: `ReLU` with max-pooling (a teacher);
* ``"square"``: `Square` with average pooling;
* ``"quadratic"``: `QuadraticActivation` (identity-like
  start) with average pooling.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from nn.activations import QuadraticActivation, ReLU, Square
from nn.errors import ConfigError
from nn.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    RngLike,
    as_rng,
)
from nn.model import Sequential

__all__ = ["ACTIVATIONS", "activation", "digits_cnn", "mlp"]

ACTIVATIONS = ("relu", "square", "quadratic")


def activation(name: str) -> Layer:
    """A fresh activation layer by name (see the module docstring).

    Raises:
        ConfigError: ``name`` is not one of `ACTIVATIONS`.
    """
    if name == "relu":
        return ReLU()
    if name == "square":
        return Square()
    if name == "quadratic":
        return QuadraticActivation()
    raise ConfigError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _pool(name: str, kernel: int) -> Layer:
    return MaxPool2d(kernel) if name == "relu" else AvgPool2d(kernel)


def mlp(sizes: Sequence[int], act: str = "relu", *, rng: RngLike = None) -> Sequential:
    """``Linear(sizes[0], sizes[1]) -> act -> ... -> Linear(sizes[-2], sizes[-1])`` (logits out).

    Polynomial activations use the smaller ``xavier`` initialisation (variance
    ``1/fan_in``) so that squaring does not blow the activations up.

    Raises:
        ConfigError: fewer than two sizes (an input and an output).
    """
    if len(sizes) < 2:
        raise ConfigError(f"mlp needs at least an input and an output size, got {list(sizes)}")
    activation(act)  # validate the name early
    gen = as_rng(rng)
    init = "he" if act == "relu" else "xavier"
    layers: list[Layer] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(a, b, init=init, rng=gen))
        if i < len(sizes) - 2:
            layers.append(activation(act))
    return Sequential(layers)


def digits_cnn(
    act: str = "relu", *, channels: int = 8, hidden: int = 32, num_classes: int = 10, rng: RngLike = None
) -> Sequential:
    """A small CNN for 1x8x8 images:
    ``Conv2d(1, channels, 3, padding=1) -> act -> pool 2 -> Flatten -> Linear(16*channels, hidden) -> act
    -> Linear(hidden, num_classes)``; max-pool for ``"relu"``, average pool otherwise.

    After conversion its depth is 1 + 2 + 1 + 1 + 2 + 1 = 8 levels.
    """
    activation(act)
    gen: np.random.Generator = as_rng(rng)
    init = "he" if act == "relu" else "xavier"
    return Sequential(
        [
            Conv2d(1, channels, 3, padding=1, init=init, rng=gen),
            activation(act),
            _pool(act, 2),
            Flatten(),
            Linear(channels * 16, hidden, init=init, rng=gen),
            activation(act),
            Linear(hidden, num_classes, init=init, rng=gen),
        ]
    )
