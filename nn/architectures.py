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

__all__ = ["ACTIVATIONS", "activation", "digits_cnn", "lenet5", "mlp", "tenseal_mnist_cnn"]

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


def lenet5(
    act: str = "relu", *, channels: Sequence[int] = (6, 16), num_classes: int = 10, rng: RngLike = None
) -> Sequential:
    """A LeNet-5-shaped CNN for 1x28x28 images (LeCun, Bottou, Bengio, Haffner 1998), made HE-friendly:

    ``Conv2d(1, c1, 5) -> act -> pool 2 -> Conv2d(c1, c2, 5) -> act -> pool 2 -> Conv2d(c2, num_classes, 4)
    -> Flatten``, with ``channels = (c1, c2)`` (LeNet-5's C1 and C3 have 6 and 16 maps).

    Feature maps: 28x28 -> 24x24 (C1) -> 12x12 (S2) -> 8x8 (C3) -> 4x4 (S4) -> 1x1 (C5).  As in LeNet-5,
    the third convolution C5 covers its whole input map; here it gives the class scores directly
    (LeNet's F6 layer and the activation after C5 are left out: each would cost a level, and
    depth 7 needs N = 2^15 instead of 2^14 at 128-bit security).  Max-pool for ``"relu"``, average
    pool otherwise.  With ``"square"`` the depth is 7 levels unfolded, 5 once each average pool is
    folded into the convolution after it (as `nn.encrypted.compile` does).

    Raises:
        ConfigError: an unknown activation name, or not two channel counts.
    """
    activation(act)
    if len(channels) != 2:
        raise ConfigError(f"lenet5 needs two channel counts (c1, c2), got {list(channels)}")
    c1, c2 = (int(c) for c in channels)
    gen: np.random.Generator = as_rng(rng)
    init = "he" if act == "relu" else "xavier"
    return Sequential(
        [
            Conv2d(1, c1, 5, init=init, rng=gen),
            activation(act),
            _pool(act, 2),
            Conv2d(c1, c2, 5, init=init, rng=gen),
            activation(act),
            _pool(act, 2),
            Conv2d(c2, num_classes, 4, init=init, rng=gen),
            Flatten(),
        ]
    )


def tenseal_mnist_cnn(*, hidden: int = 64, num_classes: int = 10, rng: RngLike = None) -> Sequential:
    """The network of TenSEAL's tutorial "Encrypted Convolution on MNIST" (tutorial 4) for 1x28x28 images:

    ``Conv2d(1, 4, 7, stride=3) -> Square -> Flatten -> Linear(256, hidden) -> Square -> Linear(hidden,
    num_classes)``.  The convolution maps 28x28 to 4 maps of 8x8 = 256 values; depth 5 levels.
    """
    gen: np.random.Generator = as_rng(rng)
    return Sequential(
        [
            Conv2d(1, 4, 7, stride=3, init="xavier", rng=gen),
            Square(),
            Flatten(),
            Linear(256, hidden, init="xavier", rng=gen),
            Square(),
            Linear(hidden, num_classes, init="xavier", rng=gen),
        ]
    )
