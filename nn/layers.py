"""Layers with forward and backward passes in numpy (NCHW images, float64).

Every layer caches what its backward pass needs during ``forward`` and writes
the parameter gradients *in place* into ``self.grads`` during ``backward``, so
an optimizer can hold references to the parameter and gradient arrays.

Multiplicative depth
--------------------
Each layer reports how many CKKS levels (rescalings) it consumes when evaluated
on a ciphertext with plaintext weights; the encrypted-inference compiler sums
them to choose the modulus chain.  The convention used throughout ``nn``:

* ``Linear`` and ``Conv2d``: 1 level (plaintext-ciphertext product, then rescale;
  the bias is a plaintext addition and costs nothing);
* ``AvgPool2d``: 1 level (a sum of slots, then a multiplication by ``1/k^2``);
  a compiler may fold the ``1/k^2`` into the next linear layer and save it;
* ``Flatten``: 0 (a change of layout only);
* ``MaxPool2d`` (and ``ReLU``): ``None``: not a polynomial, not evaluable under
  CKKS; such models must be converted first (`nn.convert`).

The activations (``Square``, ``QuadraticActivation``, ``PolyActivation``...) live
in `nn.activations`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nn.errors import ConfigError, ShapeError, StateError
from nn.shape_hints import conv_input_hint, linear_input_hint

__all__ = [
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "Layer",
    "Linear",
    "MaxPool2d",
    "as_rng",
    "col2im",
    "im2col",
]

RngLike = np.random.Generator | int | None


def as_rng(rng: RngLike) -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``, else ``default_rng(rng)``.

    Raises:
        ConfigError: ``rng`` is neither a numpy Generator, an int nor None.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (int, np.integer))):
        raise ConfigError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
    return np.random.default_rng(rng)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Layer:
    """Base class: a differentiable map with (possibly empty) trainable parameters.

    Subclasses implement `forward`, `backward`,
    `multiplicative_depth` and `get_config`.  ``params`` maps a
    parameter name to its array; ``grads`` holds the gradient of the loss with
    respect to it, with the same shape, after `backward`.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache: Any = None

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = np.ascontiguousarray(value, dtype=np.float64)
        self.grads[name] = np.zeros_like(self.params[name])

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the layer's output for a batch ``x`` and cache what backward needs.

        Raises:
            NotImplementedError: always: subclasses implement it.
        """
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Given dL/d(output), store dL/d(params) in ``grads`` and return dL/d(input).

        Raises:
            NotImplementedError: always: subclasses implement it.
        """
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _cached(self) -> Any:
        if self._cache is None:
            raise StateError(f"{type(self).__name__}.backward called before forward; run forward on the batch first")
        return self._cache

    def multiplicative_depth(self) -> int | None:
        """CKKS levels this layer consumes, or ``None`` if it is not a polynomial."""
        return 0

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments (parameters are stored separately)."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Build a layer from `get_config`'s output."""
        return cls(**config)

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g[...] = 0.0

    def __repr__(self) -> str:
        # init=None: weights set from elsewhere (an imported model), no initialisation to show
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if not (k == "init" and v is None))
        return f"{type(self).__name__}({args})"


def _as_batch(x: np.ndarray, ndim: int, layer: str, hint: Callable[[tuple[int, ...]], str]) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != ndim:
        raise ShapeError(f"{layer} expects a {ndim}-D batch, got shape {x.shape}; {hint(x.shape)}")
    return x


class Linear(Layer):
    """Fully connected layer ``y = x W + b`` with ``W`` of shape (in, out).

    Initialised with He (Kaiming) normal weights, ``W ~ N(0, gain/in)`` with
    ``gain=2`` for ``init="he"`` and ``gain=1`` for ``init="xavier"``
    (LeCun-style), and zero bias; ``init=None`` starts from zeros, for weights
    that are set afterwards (`nn.onnx.load` imports that way, and the repr
    then shows no initialisation).  Depth: 1 level.
    """

    def __init__(self, in_features: int, out_features: int, *, init: str | None = "he", rng: RngLike = None) -> None:
        super().__init__()
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        gain = _init_gain(init)
        self.init = init
        std = np.sqrt(gain / self.in_features)
        self._add_param("weight", as_rng(rng).normal(0.0, std, size=(self.in_features, self.out_features)))
        self._add_param("bias", np.zeros(self.out_features))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output on the batch ``x`` (see the class docstring).

        Raises:
            ShapeError: ``x`` does not have ``in_features`` features.
        """
        x = _as_batch(x, 2, "Linear", lambda shape: linear_input_hint(shape, self.in_features))
        if x.shape[1] != self.in_features:
            raise ShapeError(
                f"Linear expects {self.in_features} input features, got {x.shape[1]} (input shape {x.shape}); "
                "check in_features against the previous layer's output"
            )
        self._cache = x
        return x @ self.params["weight"] + self.params["bias"]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x = self._cached()
        self.grads["weight"][...] = x.T @ grad
        self.grads["bias"][...] = grad.sum(axis=0)
        return grad @ self.params["weight"].T

    def multiplicative_depth(self) -> int:
        return 1

    def get_config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features, "init": self.init}


def _init_gain(init: str | None) -> float:
    gains = {"he": 2.0, "xavier": 1.0, None: 0.0}  # None: zeros, the weights are set afterwards
    if not isinstance(init, (str, type(None))) or init not in gains:
        raise ConfigError(f"init must be one of 'he', 'xavier' or None (weights set afterwards), got {init!r}")
    return gains[init]


def _output_size(size: int, kernel: int, stride: int, padding: int, layer: str) -> int:
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ShapeError(
            f"{layer}: input of spatial size {size} (padding {padding}) is smaller than the kernel {kernel}; "
            "use a smaller kernel or more padding"
        )
    return out


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int, layer: str = "im2col") -> np.ndarray:
    """Gather sliding windows of an (N, C, H, W) batch into (N, C, kh, kw, OH, OW).

    ``cols[n, c, i, j, p, q] = xpad[n, c, i + stride*p, j + stride*q]`` where
    ``xpad`` is ``x`` zero-padded by ``padding`` on each spatial side.
    """
    n, c, h, w = x.shape
    oh = _output_size(h, kh, stride, padding, layer)
    ow = _output_size(w, kw, stride, padding, layer)
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
    return cols


def col2im(cols: np.ndarray, x_shape: tuple[int, ...], stride: int, padding: int) -> np.ndarray:
    """Adjoint of `im2col`: scatter-add windows back into an (N, C, H, W) array."""
    n, c, h, w = x_shape
    _, _, kh, kw, oh, ow = cols.shape
    out = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += cols[:, :, i, j]
    return out[:, :, padding : padding + h, padding : padding + w]


class Conv2d(Layer):
    """2-D convolution (cross-correlation) on NCHW batches, via im2col.

    ``y[n, f, p, q] = b[f] + sum_{c,i,j} W[f, c, i, j] xpad[n, c, s*p + i, s*q + j]``.
    He-normal initialisation with fan-in ``C*kh*kw`` (``init="xavier"``: gain 1;
    ``init=None``: zeros, for weights set afterwards).  Depth: 1 level.

    Raises:
        ConfigError: a negative or non-integer ``padding``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        init: str | None = "he",
        rng: RngLike = None,
    ) -> None:
        super().__init__()
        self.in_channels = _positive_int("in_channels", in_channels)
        self.out_channels = _positive_int("out_channels", out_channels)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.stride = _positive_int("stride", stride)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ConfigError(f"padding must be a non-negative integer, got {padding!r}")
        self.padding = int(padding)
        self.init = init
        fan_in = self.in_channels * self.kernel_size**2
        std = np.sqrt(_init_gain(init) / fan_in)
        k = self.kernel_size
        self._add_param("weight", as_rng(rng).normal(0.0, std, size=(self.out_channels, self.in_channels, k, k)))
        self._add_param("bias", np.zeros(self.out_channels))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output on the batch ``x`` (see the class docstring).

        Raises:
            ShapeError: ``x`` does not have ``in_channels`` channels (or is not 4-D).
        """
        x = _as_batch(x, 4, "Conv2d", lambda shape: conv_input_hint(shape, self.in_channels))
        if x.shape[1] != self.in_channels:
            raise ShapeError(
                f"Conv2d expects {self.in_channels} input channels, got {x.shape[1]} (input shape {x.shape}); "
                f"{conv_input_hint(x.shape, self.in_channels)}"
            )
        k = self.kernel_size
        cols = im2col(x, k, k, self.stride, self.padding, "Conv2d")
        n, _, _, _, oh, ow = cols.shape
        cols2 = cols.reshape(n, -1, oh * ow)
        w2 = self.params["weight"].reshape(self.out_channels, -1)
        self._cache = (x.shape, cols2)
        out = np.matmul(w2, cols2) + self.params["bias"][None, :, None]
        return out.reshape(n, self.out_channels, oh, ow)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x_shape, cols2 = self._cached()
        n, f, oh, ow = grad.shape
        g2 = grad.reshape(n, f, oh * ow)
        self.grads["weight"][...] = np.einsum("nfl,nkl->fk", g2, cols2).reshape(self.params["weight"].shape)
        self.grads["bias"][...] = grad.sum(axis=(0, 2, 3))
        w2 = self.params["weight"].reshape(f, -1)
        dcols = np.matmul(w2.T, g2)
        k = self.kernel_size
        dcols = dcols.reshape(n, self.in_channels, k, k, oh, ow)
        return col2im(dcols, x_shape, self.stride, self.padding)

    def multiplicative_depth(self) -> int:
        return 1

    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "init": self.init,
        }


class _Pool2d(Layer):
    """Shared machinery of the 2-D pooling layers (no padding; stride defaults to the kernel)."""

    def __init__(self, kernel_size: int, stride: int | None = None) -> None:
        super().__init__()
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else _positive_int("stride", stride)

    def _windows(self, x: np.ndarray) -> np.ndarray:
        x = _as_batch(x, 4, type(self).__name__, lambda shape: "pass images as (batch, channels, height, width)")
        k = self.kernel_size
        cols = im2col(x, k, k, self.stride, 0, type(self).__name__)
        n, c, _, _, oh, ow = cols.shape
        return cols.reshape(n, c, k * k, oh, ow)

    def _scatter(self, dwin: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
        n, c, _, oh, ow = dwin.shape
        k = self.kernel_size
        return col2im(dwin.reshape(n, c, k, k, oh, ow), x_shape, self.stride, 0)

    def get_config(self) -> dict[str, Any]:
        return {"kernel_size": self.kernel_size, "stride": self.stride}


class AvgPool2d(_Pool2d):
    """Average pooling: the mean of each ``k x k`` window.

    Linear, hence HE-friendly: the replacement for max-pooling in Baruch et al.
    Depth: 1 level (multiplication by ``1/k^2``), unless folded.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        win = self._windows(x)
        self._cache = (np.shape(x), win.shape)
        return win.mean(axis=2)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x_shape, win_shape = self._cached()
        dwin = np.broadcast_to(grad[:, :, None] / win_shape[2], win_shape)
        return self._scatter(np.ascontiguousarray(dwin), x_shape)

    def multiplicative_depth(self) -> int:
        return 1


class MaxPool2d(_Pool2d):
    """Max pooling: the maximum of each ``k x k`` window (teacher models only).

    Not a polynomial: depth ``None``; `nn.convert` replaces it by
    `AvgPool2d`.  The gradient flows to the arg-max of each window.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        win = self._windows(x)
        arg = win.argmax(axis=2)[:, :, None]
        self._cache = (np.shape(x), win.shape, arg)
        return np.take_along_axis(win, arg, axis=2)[:, :, 0]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x_shape, win_shape, arg = self._cached()
        dwin = np.zeros(win_shape)
        np.put_along_axis(dwin, arg, grad[:, :, None], axis=2)
        return self._scatter(dwin, x_shape)

    def multiplicative_depth(self) -> None:
        return None


class Flatten(Layer):
    """Reshape (N, d1, d2, ...) to (N, d1*d2*...).  Depth 0 (layout only)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output on the batch ``x`` (see the class docstring).

        Raises:
            ShapeError: ``x`` has fewer than 2 dimensions.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 2:
            raise ShapeError(f"Flatten expects a batch with at least 2 dimensions, got shape {x.shape}")
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad.reshape(self._cached())
