"""The layout-independent inference plan: stages, scalar folding, calibration.

A trained `nn.Sequential` is rewritten as a short list of *stages*, the
unit of encrypted evaluation:

* `AffineStage`: ``y = x M + b`` with a dense matrix M of shape (n, m).
  Every run of consecutive affine layers (``Linear``, ``Conv2d``,
  ``AvgPool2d``, ``Flatten``, degree-1 polynomials) is composed into one
  stage, computed by pushing the standard basis through the layers' own
  numpy ``forward``: ``M[i] = f(e_i) - f(0)``, ``b = f(0)``.  One level.
  A first ``Conv2d`` may instead read a client-side im2col encoding
  (`nn.encrypted.convolution`).
* `PolyStage`: an element-wise polynomial.  ``Square`` and
  quadratics followed by an affine stage are *folded*: ``a x^2 + b x + c =
  a (x (x + b/a)) + c``, and ``a`` and ``c`` move into the next stage's
  matrix and bias (``M' = a M``, ``b' = b + c 1^T M``), so the activation costs
  one level (one ciphertext product) instead of two.  Other polynomials are
  evaluated by `ckks.circuits.polynomial.polyval` in
  ``ceil(log2(d + 1))`` levels.
* `SoftArgmaxStage`: the encrypted soft-argmax (`nn.encrypted.softargmax`);
  its input normalisation (the inverse temperature, the mean subtraction,
  the map onto [-1, 1] of its Chebyshev series) is folded into the preceding
  affine stage.

Calibration runs inputs through the stages in float64, checks that the plan
reproduces the model, and records the value range after every stage (used to
choose the integer bits of the first prime, the soft-argmax polynomials and
the input-range warning).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nn.activations import Argmax, PolyActivation, ReLUToQuadratic, SoftArgmax, Square
from nn.encrypted.approximation import MaxPoolStage, is_approximated, stage_for
from nn.errors import LayerTypeError, NotHEFriendlyError, ShapeError
from nn.layers import AvgPool2d, Conv2d, Flatten, Layer, Linear, im2col
from nn.model import Sequential

AFFINE_LAYERS = (Linear, Conv2d, AvgPool2d, Flatten)


@dataclass
class AffineStage:
    """``y = x M + b`` on flattened features.

    Attributes:
        matrix: M, shape (n, m).
        bias: b, shape (m,).
        layers: names of the model layers composed into this stage (``"0:Linear"``...).
        im2col: when set, the stage reads a client-side im2col encoding of the input
            (``{"kernel", "stride", "padding", "windows", "rows"}``) instead of the raw features.
        folded: notes on what was folded into this stage (scalars of activations, pooling).
    """

    matrix: np.ndarray
    bias: np.ndarray
    layers: list[str]
    im2col: dict | None = None
    folded: list[str] = field(default_factory=list)

    kind = "affine"

    @property
    def levels(self) -> int:
        return 1

    def segments(self) -> list[tuple[str, int]]:
        """One piece: a linear map is not cut by a bootstrap (the stage protocol, `nn.encrypted.bootstrap`)."""
        return [("linear", 1)]

    def cut_bound(self, k: int) -> float:
        """No cut inside a linear stage.

        Raises:
            ConfigError: always (the stage has no cut k >= 1).
        """
        return _no_cut(self, k)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x @ self.matrix + self.bias


@dataclass
class PolyStage:
    """An element-wise polynomial, coefficients in increasing degree.

    ``mode`` is ``"square"`` (x*x, 1 level), ``"monic2"`` (x (x + c1), 1 level: the folded
    form of a quadratic) or ``"poly"`` (``polyval``, ceil(log2(d+1)) levels).
    """

    coeffs: np.ndarray
    mode: str
    layers: list[str]
    folded: list[str] = field(default_factory=list)

    kind = "poly"

    @property
    def levels(self) -> int:
        if self.mode in ("square", "monic2"):
            return 1
        from ckks.circuits.polynomial import levels_for_degree

        return levels_for_degree(_degree(self.coeffs))

    def segments(self) -> list[tuple[str, int]]:
        """One piece: the polynomial is evaluated whole (the stage protocol, `nn.encrypted.bootstrap`)."""
        return [(f"polynomial ({self.mode}, degree {_degree(self.coeffs)})", self.levels)]

    def cut_bound(self, k: int) -> float:
        """No cut inside a polynomial stage.

        Raises:
            ConfigError: always (the stage has no cut k >= 1).
        """
        return _no_cut(self, k)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.polynomial.polynomial.polyval(x, self.coeffs)


def _no_cut(stage, k: int) -> float:
    from nn.errors import ConfigError

    raise ConfigError(f"a {stage.kind} stage ({','.join(stage.layers)}) is one segment; it has no cut {k}")


def _degree(coeffs: np.ndarray) -> int:
    nz = np.flatnonzero(np.asarray(coeffs) != 0)
    return int(nz[-1]) if nz.size else 0


def layer_name(i: int, layer: Layer) -> str:
    return f"{i}:{type(layer).__name__}"


def check_he_friendly(model: Sequential, approximate: bool = False) -> None:
    """Raise NotHEFriendlyError naming every layer that has no polynomial form.

    Args:
        model: the model.
        approximate: accept ReLU, MaxPool2d, Sigmoid, Tanh, GELU and SiLU (evaluated by polynomial
            approximations, `nn.encrypted.approximation`).

    Raises:
        LayerTypeError: ``model`` is not an ``nn.Sequential`` or holds an unknown layer type.
        NotHEFriendlyError: a ReLU, MaxPool2d, Sigmoid, Tanh, GELU or SiLU without ``approximate``, an
            unfinished ReLUToQuadratic, or a SoftArgmax or Argmax that is not the last layer.
    """
    if not isinstance(model, Sequential):
        raise LayerTypeError(f"compile takes an nn.Sequential model, got {type(model).__name__}")
    bad = []
    for i, layer in enumerate(model.layers):
        if is_approximated(layer) and approximate:
            continue
        if is_approximated(layer) or (isinstance(layer, ReLUToQuadratic) and layer.mix != 1.0):
            bad.append(layer_name(i, layer))
        elif isinstance(layer, (SoftArgmax, Argmax)) and i != len(model.layers) - 1:
            raise NotHEFriendlyError(
                f"layer {layer_name(i, layer)}: {type(layer).__name__} must be the last layer of the model"
            )
        elif not isinstance(layer, (*AFFINE_LAYERS, PolyActivation, Square, SoftArgmax, Argmax)):
            raise LayerTypeError(
                f"layer {layer_name(i, layer)} has no encrypted form; supported: Linear, Conv2d, AvgPool2d, "
                "Flatten, Square, QuadraticActivation, PolyActivation, SoftArgmax, Argmax"
            )
    if bad:
        raise NotHEFriendlyError(
            f"layer(s) {', '.join(bad)} are not polynomials and cannot be evaluated under CKKS; convert the model "
            "first with nn.convert.convert_and_distill (or nn.convert.he_friendly_copy + nn.convert.finalize), "
            "which replaces ReLU by a trained quadratic and MaxPool2d by AvgPool2d, or compile with approximate=True "
            "(and calibration data), which evaluates ReLU, MaxPool2d, Sigmoid, Tanh, GELU and SiLU by polynomial "
            "approximations on the calibrated range (nn.encrypted.approximation; finish a ReLUToQuadratic with "
            "nn.convert.finalize)"
        )


def _affine_of(layers: list[Layer], in_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """M, b and the output shape of a run of affine layers on inputs of shape in_shape."""
    n = int(np.prod(in_shape))

    def run(x: np.ndarray) -> np.ndarray:
        for layer in layers:
            x = layer.forward(x)
        return x

    zero = run(np.zeros((1, *in_shape)))
    out_shape = zero.shape[1:]
    basis = np.eye(n).reshape(n, *in_shape)
    images = run(basis).reshape(n, -1)
    bias = zero.reshape(-1)
    return images - bias, bias.copy(), out_shape


def _poly_coeffs(layer: Layer) -> np.ndarray:
    if isinstance(layer, Square):
        return np.array([0.0, 0.0, 1.0])
    c = np.asarray(layer.coeffs, dtype=np.float64)
    return c[: _degree(c) + 1]


def build_stages(model: Sequential, input_shape: tuple[int, ...], first_conv: str = "im2col",
                 approximate: bool = False, approx_bits: int = 12) -> list:
    """The stage list of a model (without soft-argmax normalisation, see `attach_softargmax`).

    Args:
        model: an HE-friendly ``nn.Sequential``.
        input_shape: the shape of one sample.
        first_conv: ``"im2col"`` (the client sends im2col patches when the model starts with a
            Conv2d) or ``"server"`` (the server computes every convolution as a linear transform).
        approximate: keep ReLU, MaxPool2d and smooth activations as approximated stages
            (`nn.encrypted.approximation`; designed later by its ``calibrate``).
        approx_bits: their precision.

    Returns:
        A list of AffineStage, PolyStage, approximated stages and, last, a ``("softargmax", beta, layer name)`` or
        ``("argmax", None, layer name)`` marker.

    Raises:
        NotHEFriendlyError, LayerTypeError: see `check_he_friendly`.
        ShapeError: the model does not accept inputs of ``input_shape``.
    """
    check_he_friendly(model, approximate)
    try:
        model.forward(np.zeros((1, *input_shape)))
    except ShapeError as exc:
        raise ShapeError(f"the model does not accept inputs of shape {tuple(input_shape)}: {exc}") from exc
    # 1. group the layers: runs of affine layers, polynomials, soft-argmax
    raw: list = []
    shape = tuple(input_shape)
    run: list[tuple[int, Layer]] = []

    def flush() -> None:
        nonlocal shape, run
        if not run:
            return
        layers = [layer for _, layer in run]
        names = [layer_name(i, layer) for i, layer in run]
        info = None
        if not raw and first_conv == "im2col" and isinstance(layers[0], Conv2d):
            info, matrix, bias, shape = _im2col_affine(layers, shape)
        else:
            matrix, bias, shape = _affine_of(layers, shape)
        folded = [f"1/{lay.kernel_size ** 2} of {layer_name(i, lay)}" for i, lay in run if isinstance(lay, AvgPool2d)]
        raw.append(AffineStage(matrix, bias, names, info, folded))
        run = []

    for i, layer in enumerate(model.layers):
        if isinstance(layer, AFFINE_LAYERS):
            run.append((i, layer))
        elif isinstance(layer, (PolyActivation, Square)):
            flush()
            coeffs = _poly_coeffs(layer)
            raw.append(PolyStage(coeffs, "poly", [layer_name(i, layer)]))
        elif approximate and is_approximated(layer):
            flush()
            raw.append(stage_for(layer, layer_name(i, layer), approx_bits, shape))
            if isinstance(raw[-1], MaxPoolStage):
                shape = raw[-1].out_shape
        elif isinstance(layer, Argmax):  # last
            flush()
            raw.append(("argmax", None, layer_name(i, layer)))
        else:  # SoftArgmax, last
            flush()
            raw.append(("softargmax", layer.beta, layer_name(i, layer)))
    flush()
    return _fold(raw)


def _im2col_affine(layers: list[Layer], shape: tuple[int, ...]):
    """The affine map of (conv, following affine layers) read from a client-side im2col vector.

    im2col slot order (TenSEAL's ``im2col_encoding`` for one channel): slot
    ``r * L + w`` holds kernel entry r = (c, i, j) of window w, L windows.
    """
    conv = layers[0]
    k, s, p = conv.kernel_size, conv.stride, conv.padding
    c, h, w = shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    windows, rows = oh * ow, c * k * k
    f = conv.out_channels
    weight = conv.params["weight"].reshape(f, rows)
    matrix = np.zeros((rows * windows, f * windows))
    for r in range(rows):
        for ch in range(f):
            idx = np.arange(windows)
            matrix[r * windows + idx, ch * windows + idx] = weight[ch, r]
    bias = np.repeat(conv.params["bias"], windows)
    conv_shape = (f, oh, ow)
    if len(layers) > 1:
        rest_m, rest_b, out_shape = _affine_of(layers[1:], conv_shape)
        matrix, bias = matrix @ rest_m, bias @ rest_m + rest_b
    else:
        out_shape = conv_shape
    info = {"kernel": k, "stride": s, "padding": p, "windows": windows, "rows": rows}
    return info, matrix, bias, out_shape


def im2col_vector(x: np.ndarray, info: dict) -> np.ndarray:
    """(batch, C, H, W) images -> (batch, rows * windows) im2col vectors in the slot order above."""
    k = info["kernel"]
    cols = im2col(np.asarray(x, dtype=np.float64), k, k, info["stride"], info["padding"])
    n = cols.shape[0]
    return cols.reshape(n, info["rows"], info["windows"]).reshape(n, -1)


def _fold(raw: list) -> list:
    """Scalar folding: degree-1 polynomials into affine neighbours, quadratic scalars into the next stage."""
    stages: list = []
    for item in raw:
        if isinstance(item, PolyStage) and _degree(item.coeffs) <= 1 and stages and isinstance(stages[-1], AffineStage):
            c = np.zeros(2)
            c[: item.coeffs.size] = item.coeffs[:2]
            prev = stages[-1]
            prev.matrix, prev.bias = prev.matrix * c[1], prev.bias * c[1] + c[0]
            prev.layers += item.layers
            prev.folded.append(f"{item.layers[0]} (affine)")
            continue
        if isinstance(item, AffineStage) and stages and isinstance(stages[-1], AffineStage):
            prev = stages.pop()
            item.matrix, item.bias = prev.matrix @ item.matrix, prev.bias @ item.matrix + item.bias
            item.im2col = prev.im2col
            item.layers = prev.layers + item.layers
            item.folded = prev.folded + item.folded
        stages.append(item)
    # fold quadratic leading coefficients into the next affine stage
    for i, st in enumerate(stages):
        if not isinstance(st, PolyStage) or _degree(st.coeffs) != 2:
            continue
        nxt = stages[i + 1] if i + 1 < len(stages) else None
        c0, c1, a = (list(st.coeffs) + [0.0, 0.0, 0.0])[:3]
        if isinstance(nxt, AffineStage):
            nxt.bias = nxt.bias + c0 * nxt.matrix.sum(axis=0)
            nxt.matrix = a * nxt.matrix
            nxt.folded.append(f"a={a:.4g}, c={c0:.4g} of {st.layers[0]}")
            st.coeffs = np.array([0.0, c1 / a, 1.0])
            st.mode = "square" if c1 == 0 else "monic2"
            st.folded.append("leading coefficient and constant moved into the next linear stage")
        elif c0 == 0 and c1 == 0 and a == 1:
            st.mode = "square"
    return stages


def unfolded_levels(model: Sequential) -> int:
    """Levels without folding or composition: the sum of the layers' own depths (soft-argmax excluded)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, (SoftArgmax, Argmax)):
            continue
        d = layer.multiplicative_depth()
        total += int(d or 0)
    return total


def forward_stages(stages: list, x: np.ndarray, upto: int | None = None) -> list[np.ndarray]:
    """Float64 values after every stage (softargmax stages included), for calibration and tracing."""
    out = []
    for st in stages[: upto if upto is not None else len(stages)]:
        x = st.forward(x)
        out.append(x)
    return out
