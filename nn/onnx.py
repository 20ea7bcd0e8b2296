"""Import and export of ``nn`` models through ONNX (optional dependency ``onnx``).

`load` turns an ONNX graph (exported from PyTorch, Keras via tf2onnx,
scikit-learn via skl2onnx, or built by hand) into an `nn.Sequential` made
of the standard ``nn`` layers, so that everything that handles an
``nn.Sequential`` (``multiplicative_depth``, ``summary``, ``save``, the
encrypted-inference compiler) handles an imported model.  `save` writes an
``nn.Sequential`` as an ONNX graph with the plaintext semantics of ``forward``,
runnable in ONNX Runtime.

Supported operators (``ai.onnx`` opsets `SUPPORTED_OPSETS`, 9 to 25)
-------------------------------------------------------------------------

| ONNX | ``nn`` |
|---|---|
| ``Gemm`` (``alpha``, ``beta``, ``transB``) | ``Linear`` (PyTorch's (out, in) weight is transposed) |
| ``MatMul`` (+ ``Add`` of a bias) | ``Linear`` |
| ``Conv`` (square kernel, equal strides, symmetric padding) | ``Conv2d`` |
| ``AveragePool``, ``GlobalAveragePool`` (no padding) | ``AvgPool2d`` |
| ``Flatten``, ``Reshape``, ``Squeeze`` to (batch, features) | ``Flatten`` (nothing if the shape is unchanged) |
| ``Transpose`` of the axes after the batch (NHWC <-> NCHW) | nothing: folded into the next ``Linear`` |
| ``Mul``, ``Add``, ``Sub``, ``Div``, ``Pow``, ``Neg`` | ``Square``, ``QuadraticActivation``, ``PolyActivation`` |
| ``BatchNormalization`` (inference) | folded into the preceding ``Linear``/``Conv2d`` (or the next) |
| ``Softmax`` (last axis) | ``SoftArgmax``, ``beta`` from a preceding ``Mul`` by a constant |
| ``Identity``, ``Dropout`` (inference), ``Cast`` to a float type | nothing |

Element-wise polynomials of the data: ``x*x`` (or ``x**2``) becomes ``Square``, another
degree-2 polynomial ``QuadraticActivation``, any other degree ``PolyActivation``; an affine
map next to a linear layer is folded into that layer.

Nodes whose inputs are all constants (the ``Shape -> Gather -> Concat`` chains
that compute a ``Reshape`` target, transposed weights...) are evaluated once at
import time.  Any other operator on the data (``Relu``, ``MaxPool``,
``Sigmoid``...) raises `nn.errors.NotHEFriendlyError` naming the node;
``load(..., he_friendly=False)`` imports ``Relu``, ``MaxPool``, ``Sigmoid``, ``Tanh`` and ``Gelu`` as
`nn.ReLU`, `nn.MaxPool2d`, `nn.Sigmoid`, `nn.Tanh` and `nn.GELU`: a teacher for `nn.convert`, or a
model that ``nn.encrypted.compile(..., approximate=True)`` evaluates by polynomial approximations.

How the graph becomes a chain of layers
---------------------------------------
The importer walks the nodes that the chosen output depends on, in order, and
keeps for every tensor either a constant (a numpy array) or a *symbolic value*
``p(s * h + t)``: ``h`` is the output of the layers built so far, ``s, t`` a
per-element affine map (from ``BatchNormalization`` or ``Mul``/``Add`` by a
tensor) and ``p`` a polynomial with scalar coefficients.  Element-wise nodes
only update ``s, t, p``; a node that needs its input as a layer output
(``Gemm``, ``Conv``, a pool, ``Flatten``, ``Softmax``, the graph output) first
*settles* it: the affine map is folded into the preceding ``Linear``/``Conv2d``
(``W' = W * s``, ``b' = b * s + t``), or, when none precedes, into the next one
(``W' = diag(s) W``, ``b' = b + t W``), and a non-linear ``p`` becomes one
activation layer.  Two symbolic values can be combined (``x * x``) only if they
are polynomials of the same ``s * h + t``; anything else is not a sequential
model and raises `nn.errors.ONNXImportError`.

Layout transposes (Keras and TensorFlow export channels-last graphs)
---------------------------------------------------------------------
A ``Transpose`` that keeps the batch first only re-lays out each sample.  The
layers keep computing their own layout ``h`` and the graph's tensor is the
permutation ``h[g]`` of each sample's features, ``g`` the flattened
``Transpose`` (``np.arange(n).reshape(C, H, W).transpose(1, 2, 0).ravel()`` for
NCHW -> NHWC).  Element-wise nodes commute with it; the ``Flatten`` that
follows keeps ``g``, and the next linear layer absorbs it: ``h[g] W = h W'``
with ``W'[g] = W`` (the rows of the weight permuted; no level, no rotation).
An inverse ``Transpose`` cancels ``g``.  On the graph input (no layer yet), a
``Conv`` or a pool that reads the transposed (or reshaped) input makes that
layout the imported model's input instead: for ``perm=[0, 3, 1, 2]``, NCHW
images, what ``nn`` layers compute; a ``UserWarning`` says
``x.transpose(0, 3, 1, 2)``.  After a layer, a ``Conv``, a pool, a ``Softmax``
or the graph output reading a still-permuted tensor is refused, and so is a
``Transpose`` that moves the batch axis.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.polynomial import polynomial as npoly

from nn.activations import (
    GELU,
    PolyActivation,
    QuadraticActivation,
    ReLU,
    ReLUToQuadratic,
    Sigmoid,
    SoftArgmax,
    Square,
    Tanh,
)
from nn.errors import (
    ConfigError,
    LayerTypeError,
    NotHEFriendlyError,
    ONNXImportError,
    OptionalDependencyError,
    ResourceLimitError,
    ShapeError,
)
from nn.layers import AvgPool2d, Conv2d, Flatten, Layer, Linear, MaxPool2d
from nn.model import Sequential

__all__ = [
    "DEFAULT_EXPORT_OPSET",
    "EXPORT_OPSETS",
    "MAX_POLY_DEGREE",
    "SUPPORTED_OPS",
    "SUPPORTED_OPSETS",
    "load",
    "save",
]

#: ``(min, max)`` ``ai.onnx`` opset versions that `load` accepts (inclusive).
SUPPORTED_OPSETS = (9, 25)
#: ``(min, max)`` opset versions that `save` can write (inclusive).
EXPORT_OPSETS = (13, 25)
#: The opset `save` writes by default.
DEFAULT_EXPORT_OPSET = 17
#: The highest degree of an element-wise polynomial built from ``Mul``/``Pow`` nodes.
MAX_POLY_DEGREE = 64

#: Operators that `load` maps onto ``nn`` layers (``Relu``/``MaxPool`` only with ``he_friendly=False``).
SUPPORTED_OPS = (
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Constant",
    "Conv",
    "Div",
    "Dropout",
    "Flatten",
    "Gemm",
    "GlobalAveragePool",
    "Identity",
    "MatMul",
    "Mul",
    "Neg",
    "Pow",
    "Reshape",
    "Shape",
    "Softmax",
    "Squeeze",
    "Sub",
    "Transpose",
)

_INSTALL_HINT = 'install it with: pip install "ckks-nn[onnx]"'
_CONVERT_HINT = (
    "HE-friendly models use polynomial activations and average pooling; train the original with nn "
    "(nn.ReLU, nn.MaxPool2d) and convert it with nn.convert.convert_and_distill, or replace the operator "
    "by a polynomial (x*x, a*x^2+b*x+c) before exporting"
)
_TEACHER_OPS = {"Relu": "nn.ReLU", "MaxPool": "nn.MaxPool2d", "GlobalMaxPool": "nn.MaxPool2d", "Sigmoid": "nn.Sigmoid",
                "Tanh": "nn.Tanh", "Gelu": "nn.GELU"}
_NON_POLYNOMIAL = {
    "Abs", "Ceil", "Clip", "Celu", "Elu", "Erf", "Exp", "Floor", "Gelu", "GlobalLpPool", "GlobalMaxPool",
    "HardSigmoid", "HardSwish", "LeakyRelu", "Log", "LogSoftmax", "LpPool", "Max", "MaxPool", "Min", "Mish",
    "PRelu", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Softplus", "Softsign", "Sqrt", "Tanh",
    "ThresholdedRelu", "ArgMax", "ArgMin", "ReduceMax", "ReduceMin",
}  # fmt: skip
_FLOAT_ELEM_TYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16"}

# A dynamic batch dimension, as the ``Shape`` of a data tensor reports it to constant-folded shape arithmetic;
# within int32, since tf2onnx casts shapes to int32 and back.
_BATCH = np.int64(-(2**31) + 7)


#: Default ``memory_limit`` of `load` (bytes): the most one constant-folded node may produce (1 GiB).
FOLD_MEMORY_LIMIT = 1 << 30


def _folded_elements(op: str, inputs: list[np.ndarray], attrs: dict[str, Any]) -> int:
    """An upper estimate of the elements a constant node produces, from its inputs' values and shapes, without
    evaluating it (the ops whose output can dwarf their inputs are computed; any other op produces at most the
    broadcast of its inputs or, for MatMul/Gemm/Einsum-like products, their outer size)."""
    def ints(a: np.ndarray) -> list[int]:
        return [int(v) for v in np.asarray(a).reshape(-1)]

    shapes = [tuple(np.shape(a)) for a in inputs]
    sizes = [int(np.size(a)) for a in inputs]
    if op == "ConstantOfShape":
        return math.prod(max(d, 0) for d in ints(inputs[0]))
    if op == "Expand":
        target = ints(inputs[1])
        rank = max(len(shapes[0]), len(target))
        a = (1,) * (rank - len(shapes[0])) + shapes[0]
        b = (1,) * (rank - len(target)) + tuple(target)
        return math.prod(max(x, y, 0) for x, y in zip(a, b))
    if op == "Tile":
        return sizes[0] * math.prod(max(r, 0) for r in ints(inputs[1]))
    if op == "Range":
        start, limit, delta = (float(np.asarray(v).reshape(-1)[0]) for v in inputs[:3])
        if delta == 0 or not all(map(math.isfinite, (start, limit, delta))):
            return 0
        return max(math.ceil((limit - start) / delta), 0)
    if op == "Pad" and len(inputs) > 1:
        pads = ints(inputs[1])
        rank = len(shapes[0])
        return math.prod(max(d + pads[i] + pads[i + rank], 0) for i, d in enumerate(shapes[0])) if len(
            pads) == 2 * rank else sizes[0]
    if op in ("Resize", "Upsample"):
        scales = [float(v) for v in np.asarray(inputs[-1]).reshape(-1)] if len(inputs) > 1 else []
        if len(inputs) == 4 and np.size(inputs[3]):
            return math.prod(max(d, 0) for d in ints(inputs[3]))
        if len(scales) == len(shapes[0]) and all(map(math.isfinite, scales)):
            return math.prod(math.ceil(d * max(s, 0.0)) for d, s in zip(shapes[0], scales))
        return sizes[0]
    if op == "OneHot":
        return sizes[0] * max(ints(inputs[1])[0] if np.size(inputs[1]) else 0, 0)
    if op in ("MatMul", "Gemm", "MatMulInteger") and len(shapes) >= 2 and shapes[0] and shapes[1]:
        m = math.prod(shapes[0][:-1]) if len(shapes[0]) > 1 else 1
        n = shapes[1][-1] if len(shapes[1]) > 1 else 1
        return max(m * n * max(math.prod(shapes[1][:-2]), 1), max(sizes, default=0))
    try:  # element-wise ops broadcast their inputs
        return max(math.prod(np.broadcast_shapes(*shapes)) if shapes else 0, max(sizes, default=0))
    except ValueError:
        return sum(sizes)


def _onnx() -> Any:
    """Import ``onnx`` lazily; raise `OptionalDependencyError` with the install command if it is missing."""
    try:
        import onnx
        import onnx.external_data_helper  # noqa: F401  (submodules used below)
        import onnx.numpy_helper  # noqa: F401
    except ImportError as exc:
        raise OptionalDependencyError(f"nn.onnx needs the optional package 'onnx'; {_INSTALL_HINT}") from exc
    return onnx


# --------------------------------------------------------------------------------------------------------------
# polynomials (coefficients in increasing degree, as nn.PolyActivation and CKKSVector.polyval)
# --------------------------------------------------------------------------------------------------------------

_IDENTITY = np.array([0.0, 1.0])


def _trim(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    nz = np.flatnonzero(p)
    return p[: nz[-1] + 1].copy() if nz.size else np.zeros(1)


def _is_identity(p: np.ndarray) -> bool:
    p = _trim(p)
    return p.size == 2 and p[0] == 0.0 and p[1] == 1.0


def _activation(p: np.ndarray) -> Layer:
    """The nn layer of the element-wise polynomial ``p`` (degree >= 1)."""
    p = _trim(p)
    if p.size == 3 and p[0] == 0.0 and p[1] == 0.0 and p[2] == 1.0:
        return Square()
    if p.size == 3:
        return QuadraticActivation(a=float(p[2]), b=float(p[1]), c=float(p[0]))
    return PolyActivation(p)


def _uniform(a: np.ndarray) -> bool:
    return bool(a.size == 0 or np.all(a == a.flat[0]))


# --------------------------------------------------------------------------------------------------------------
# the symbolic values of the importer
# --------------------------------------------------------------------------------------------------------------


class _Chain:
    """An immutable chain of layers (shared prefixes) and the shape of its output (batch first, as None).

    ``shape`` is the *logical* shape, the one the graph sees.  After a layout ``Transpose`` (NCHW -> NHWC)
    the layers still compute their own (physical) layout, of shape ``phys``: the graph's tensor is then
    ``physical.reshape(n, -1)[:, gather].reshape(shape)`` (``gather`` a permutation of the features of one
    sample), until a linear layer absorbs ``gather`` into the rows of its weight.  On the graph input (no
    layer yet) ``input_steps`` says how the re-layout reads as numpy (``".transpose(0, 3, 1, 2)"``); should a
    convolution need it, the imported model takes its input that way, and ``input_note`` keeps the steps.
    """

    __slots__ = ("gather", "identity", "input_note", "input_steps", "layers", "layout_note", "phys", "shape")

    def __init__(
        self,
        layers: tuple[Layer, ...],
        shape: tuple[int | None, ...],
        gather: np.ndarray | None = None,
        phys: tuple[int | None, ...] | None = None,
        input_note: tuple[str, ...] = (),
        layout_note: str = "",
    ) -> None:
        self.layers = layers
        self.shape = shape
        self.gather, self.phys, self.layout_note = gather, phys, layout_note
        self.input_note = input_note
        self.input_steps: tuple[str, ...] = ()
        self.identity = _Base(self, None, None)

    def append(self, layer: Layer, shape: tuple[int | None, ...]) -> _Chain:
        """A layer that computes a new tensor in its own layout (a linear layer, a pool)."""
        return _Chain((*self.layers, layer), shape, input_note=self.input_note)

    def append_elementwise(self, layer: Layer) -> _Chain:
        """An element-wise layer (an activation): the shape and the layout stay."""
        return self.relaid((*self.layers, layer), self.shape, self.gather, self.phys)

    def replace_last(self, layer: Layer) -> _Chain:
        return self.relaid((*self.layers[:-1], layer), self.shape, self.gather, self.phys)

    def relaid(self, layers: tuple[Layer, ...], shape: tuple[int | None, ...], gather: np.ndarray | None,
               phys: tuple[int | None, ...] | None) -> _Chain:  # fmt: skip
        return _Chain(layers, shape, gather, phys, self.input_note, self.layout_note if gather is not None else "")

    @property
    def last(self) -> Layer | None:
        return self.layers[-1] if self.layers else None


class _Base:
    """``s * h + t`` with ``h`` the output of ``chain``; ``s = t = None`` is the identity."""

    __slots__ = ("chain", "s", "t")

    def __init__(self, chain: _Chain, s: np.ndarray | None, t: np.ndarray | None) -> None:
        self.chain, self.s, self.t = chain, s, t

    def same_as(self, other: _Base) -> bool:
        if self is other:
            return True
        if self.chain is not other.chain or (self.s is None) != (other.s is None):
            return False
        return self.s is None or (np.array_equal(self.s, other.s) and np.array_equal(self.t, other.t))


class _Sym:
    """A tensor computed from the data: ``p(base)`` element-wise."""

    __slots__ = ("base", "p", "scaled")

    def __init__(self, base: _Base, p: np.ndarray) -> None:
        self.base = base
        self.scaled: tuple[_Sym, float] | None = None  # (x, c) when this value is x * c (for Softmax's beta)
        self.p = _trim(p)
        if self.p.size - 1 > MAX_POLY_DEGREE:
            raise ONNXImportError(
                f"an element-wise polynomial of degree {self.p.size - 1} exceeds MAX_POLY_DEGREE={MAX_POLY_DEGREE}"
            )

    @property
    def shape(self) -> tuple[int | None, ...]:
        return self.base.chain.shape

    @property
    def chain(self) -> _Chain:
        return self.base.chain


def _full(shape: tuple[int | None, ...]) -> tuple[int, ...]:
    return (1, *(int(d) for d in shape[1:]))


def _make_affine(chain: _Chain, s: np.ndarray, t: np.ndarray) -> _Sym:
    """``s * h + t`` (arrays broadcastable to the chain's shape) in canonical form."""
    full = _full(chain.shape)
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), full)
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), full)
    if _uniform(s) and _uniform(t):
        return _Sym(chain.identity, np.array([t.flat[0], s.flat[0]]))
    return _Sym(_Base(chain, s.copy(), t.copy()), _IDENTITY)


def _linear(weight: np.ndarray, bias: np.ndarray) -> Linear:
    layer = Linear(weight.shape[0], weight.shape[1], init=None)
    layer.params["weight"][...] = weight
    layer.params["bias"][...] = bias
    return layer


def _conv(weight: np.ndarray, bias: np.ndarray, stride: int, padding: int) -> Conv2d:
    f, c, k, _ = weight.shape
    layer = Conv2d(c, f, k, stride=stride, padding=padding, init=None)
    layer.params["weight"][...] = weight
    layer.params["bias"][...] = bias
    return layer


def _physical(chain: _Chain, a: np.ndarray) -> np.ndarray:
    """A per-element array of the graph's (logical) layout of ``chain`` in the layers' own layout."""
    full = np.broadcast_to(a, _full(chain.shape))
    if chain.gather is None:
        return full
    out = np.empty(chain.gather.size)
    out[chain.gather] = full.reshape(-1)
    return out.reshape(_full(chain.phys))


def _per_channel(a: np.ndarray, shape: tuple[int | None, ...]) -> np.ndarray | None:
    """``a`` broadcast to ``(1, C, H, W)`` as a length-C vector if it is constant over the spatial axes."""
    full = np.broadcast_to(a, _full(shape))
    v = full[0, :, 0, 0] if full.ndim == 4 else None
    if v is None or not np.all(full == v[None, :, None, None]):
        return None
    return v.copy()


# --------------------------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------------------------


class _Importer:
    def __init__(
        self, onnx: Any, model: Any, input_shape: tuple[int, ...] | None, output: str | None, he_friendly: bool
    ) -> None:
        self.onnx = onnx
        self.model = model
        self.graph = model.graph
        self.he_friendly = he_friendly
        self.input_shape = input_shape
        self.output_name = output
        self.values: dict[str, Any] = {}
        self.producer: dict[str, Any] = {}
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.memo: dict[int, tuple[Any, Any]] = {}
        self.where = "the graph"
        self.opset = 0
        self.memory_limit = float(FOLD_MEMORY_LIMIT)

    # --- errors and small helpers ------------------------------------------------------------------------------

    def fail(self, msg: str) -> ONNXImportError:
        return ONNXImportError(f"{self.where}: {msg}")

    def unsupported(self, node: Any) -> NotHEFriendlyError:
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        if node.op_type in _TEACHER_OPS and node.domain in ("", "ai.onnx"):
            why = (
                f"is not a polynomial and cannot be evaluated under CKKS; load with he_friendly=False to import it "
                f"as {_TEACHER_OPS[node.op_type]} (a teacher model) and convert that with "
                "nn.convert.convert_and_distill, or compile it with nn.encrypted.compile(..., approximate=True), "
                "which evaluates it by a polynomial approximation"
            )
        elif node.op_type == "LogSoftmax":
            why = (
                "is not a polynomial and cannot be evaluated under CKKS. As the output layer it does not change the "
                "argmax: export the model without it (the logits) and apply log-softmax to the decrypted logits on "
                "the client, or end the model with Softmax, which imports as nn.SoftArgmax (evaluated encrypted)"
            )
        elif node.op_type in _NON_POLYNOMIAL:
            why = f"is not a polynomial and cannot be evaluated under CKKS; {_CONVERT_HINT}"
        else:
            why = f"is not supported on the data by nn.onnx (supported: {', '.join(SUPPORTED_OPS)}); {_CONVERT_HINT}"
        return NotHEFriendlyError(f"{self.where}: operator {op} {why}")

    def memoized(self, obj: Any, make: Any) -> Any:
        hit = self.memo.get(id(obj))
        if hit is None:
            hit = (obj, make())
            self.memo[id(obj)] = hit
        return hit[1]

    def attrs(self, node: Any) -> dict[str, Any]:
        get = self.onnx.helper.get_attribute_value
        out = {}
        for a in node.attribute:
            v = get(a)
            out[a.name] = v.decode() if isinstance(v, bytes) else v
        return out

    def tensor_to_array(self, tensor: Any, what: str) -> np.ndarray:
        try:
            arr = np.array(self.onnx.numpy_helper.to_array(tensor))
        except Exception as exc:  # external data missing, unknown type...
            raise ONNXImportError(f"{what} {tensor.name!r} cannot be read: {exc}") from exc
        if arr.dtype.kind == "f" or arr.dtype.kind == "V":
            arr = arr.astype(np.float64)
            if not np.all(np.isfinite(arr)):
                bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
                raise ONNXImportError(
                    f"{what} {tensor.name!r} (shape {arr.shape}) contains {bad} NaN or infinite value(s); "
                    "fix the weights before exporting"
                )
        return arr

    def value(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.initializers:
            arr = self.tensor_to_array(self.initializers[name], "initializer")
            self.values[name] = arr
            return arr
        raise self.fail(f"tensor {name!r} is not produced by any node, initializer or graph input before its use")

    def const(self, name: str, what: str) -> np.ndarray:
        v = self.value(name)
        if isinstance(v, _Sym):
            raise self.fail(f"the {what} ({name!r}) must be a constant (an initializer), but it depends on the input")
        return v

    def floats(self, name: str, what: str) -> np.ndarray:
        return np.asarray(self.const(name, what), dtype=np.float64)

    # --- top level ---------------------------------------------------------------------------------------------

    def check_opset(self) -> None:
        versions = {o.domain: o.version for o in self.model.opset_import}
        v = versions.get("", versions.get("ai.onnx"))
        lo, hi = SUPPORTED_OPSETS
        if v is None:
            raise ONNXImportError("the model imports no ai.onnx opset; it is not a valid ONNX model")
        if not lo <= v <= hi:
            raise ONNXImportError(
                f"the model uses ai.onnx opset {v}; nn.onnx supports opsets {lo} to {hi}. "
                f"Convert it first: onnx.version_converter.convert_version(model, {DEFAULT_EXPORT_OPSET})"
            )
        self.opset = v

    def choose_output(self) -> str:
        names = [o.name for o in self.graph.output]
        if self.output_name is not None:
            if self.output_name not in names:
                raise ONNXImportError(f"output {self.output_name!r} is not an output of the graph; outputs: {names}")
            return self.output_name
        if len(names) != 1:
            raise ONNXImportError(f"the graph has {len(names)} outputs {names}; choose one with output=...")
        return names[0]

    def needed_nodes(self, out: str) -> list[Any]:
        nodes = list(self.graph.node)
        for i, node in enumerate(nodes):
            for o in node.output:
                if o:
                    self.producer[o] = i
        needed: set[int] = set()
        stack = [out]
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen or not name:
                continue
            seen.add(name)
            i = self.producer.get(name)
            if i is not None and i not in needed:
                needed.add(i)
                stack.extend(nodes[i].input)
        self.needed_names = seen
        return [(i, nodes[i]) for i in sorted(needed)]

    def bind_input(self) -> None:
        data = [i for i in self.graph.input if i.name not in self.initializers and i.name in self.needed_names]
        if len(data) != 1:
            names = [i.name for i in data]
            raise ONNXImportError(
                f"the chosen output must depend on exactly one data input, found {len(data)} {names}; "
                "nn.Sequential models have a single input"
            )
        vi = data[0]
        self.where = f"graph input {vi.name!r}"
        if not vi.type.HasField("tensor_type"):
            raise self.fail("is not a tensor")
        tt = vi.type.tensor_type
        if tt.elem_type not in _FLOAT_ELEM_TYPES:
            raise self.fail(f"has element type {tt.elem_type}; nn imports float inputs only (float16/32/64, bfloat16)")
        given = self.input_shape
        if not tt.HasField("shape"):
            if given is None:
                raise self.fail("has no shape; pass input_shape=(...) with the dimensions after the batch")
            dims: list[int | str | None] = [None, *given]
        else:
            dims = []
            for d in tt.shape.dim:
                dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
            if len(dims) < 2:
                raise self.fail(f"has rank {len(dims)}; nn models take a batch: (batch, features) or (batch, C, H, W)")
            if given is not None:
                if len(given) != len(dims) - 1:
                    raise self.fail(f"has {len(dims) - 1} dimensions after the batch, input_shape gives {len(given)}")
                for i, (d, g) in enumerate(zip(dims[1:], given), start=1):
                    if isinstance(d, int) and d != g:
                        raise self.fail(f"dimension {i} is fixed to {d} in the graph but input_shape gives {g}")
                dims = [dims[0], *given]
        for i, d in enumerate(dims[1:], start=1):
            if not isinstance(d, int) or d < 1:
                raise self.fail(
                    f"dimension {i} is dynamic ({'symbolic ' + repr(d) if d else 'unknown'}); only the batch "
                    "dimension (0) may be dynamic. Fix it with input_shape=(...) (the dimensions after the batch)"
                )
        batch = dims[0] if isinstance(dims[0], int) and dims[0] > 0 else None
        self.static_batch = batch
        chain = _Chain((), (None, *[int(d) for d in dims[1:]]))
        self.graph_input_shape = chain.shape
        self.values[vi.name] = _Sym(chain.identity, _IDENTITY)
        self.input_name = vi.name

    def run(self) -> Sequential:
        self.check_opset()
        out = self.choose_output()
        nodes = self.needed_nodes(out)
        self.bind_input()
        for index, node in nodes:
            self.where = f"node {node.name or '#' + str(index)!r} ({node.op_type})"
            self.dispatch(node)
        self.where = f"graph output {out!r}"
        result = self.value(out)
        if not isinstance(result, _Sym):
            raise self.fail("does not depend on the graph input (a constant model)")
        chain, s, t = self.settle(result)
        chain = self.resolve(chain, s, t)
        if not chain.layers:
            raise self.fail("the graph computes the identity; there is no layer to import")
        if chain.gather is not None:
            raise self.fail(
                f"is the tensor that {chain.layout_note} re-laid out to {self._fmt(chain.shape)}, but nn layers "
                "output their own (channels-first) layout; nn.onnx folds a layout Transpose only into a following "
                "Flatten/Reshape and linear layer (Gemm/MatMul). End the exported model before the Transpose"
            )
        if chain.input_note:
            given = self._fmt(self.graph_input_shape)
            warnings.warn(
                f"nn.onnx.load: the graph input {self.input_name!r} {given} is re-laid out by the graph before its "
                f"first layer; the imported model takes it as {self._fmt(self.model_input_shape)}, the "
                f"channels-first (NCHW) layout of nn: pass x{''.join(chain.input_note)}",
                UserWarning,
                stacklevel=3,
            )
        layers = list(chain.layers)
        for i, layer in enumerate(layers):
            for k, v in layer.params.items():
                if not np.all(np.isfinite(v)):
                    raise ONNXImportError(
                        f"layer {i} ({type(layer).__name__}) parameter {k!r} is not finite after folding "
                        "(e.g. a BatchNormalization with var + epsilon = 0, or a division by zero)"
                    )
        return Sequential(layers)

    # --- settling symbolic values into layers ------------------------------------------------------------------

    def fold_back(self, chain: _Chain, s: np.ndarray, t: np.ndarray) -> _Chain | None:
        """The chain with ``s * h + t`` folded into its last Linear/Conv2d layer, or None if impossible."""
        last = chain.last
        shape = chain.shape
        if chain.gather is not None:  # after a layout Transpose: the map in the layers' own layout
            s, t, shape = _physical(chain, s), _physical(chain, t), chain.phys
        if isinstance(last, Linear):
            full = _full(shape)
            sv = np.broadcast_to(s, full).reshape(-1)
            tv = np.broadcast_to(t, full).reshape(-1)
            w = last.params["weight"] * sv[None, :]
            return chain.replace_last(_linear(w, last.params["bias"] * sv + tv))
        if isinstance(last, Conv2d):
            sv, tv = _per_channel(s, shape), _per_channel(t, shape)
            if sv is None or tv is None:
                return None
            w = last.params["weight"] * sv[:, None, None, None]
            return chain.replace_last(_conv(w, last.params["bias"] * sv + tv, last.stride, last.padding))
        return None

    def settle(self, sym: _Sym) -> tuple[_Chain, np.ndarray | None, np.ndarray | None]:
        """Turn ``sym`` into layers: ``(chain, s, t)`` with a pending affine ``s * h + t`` (or None) that the
        consumer folds forward, carries, or resolves."""
        return self.memoized(sym, lambda: self._settle(sym))

    def _settle(self, sym: _Sym) -> tuple[_Chain, np.ndarray | None, np.ndarray | None]:
        base, p = sym.base, sym.p
        chain = base.chain
        if base.s is not None:
            folded = self.memoized(base, lambda: self.fold_back(chain, base.s, base.t))
            if folded is None:
                if p.size <= 2:
                    p0, p1 = (float(p[0]), float(p[1]) if p.size == 2 else 0.0)
                    return chain, p1 * base.s, p0 + p1 * base.t
                raise self.fail(
                    "a per-element scale/shift (BatchNormalization, or Mul/Add by a tensor) is followed by a "
                    "non-linear polynomial but does not follow a Linear (Gemm/MatMul) or Conv layer it can be "
                    "folded into"
                )
            chain = folded
        if _is_identity(p):
            return chain, None, None
        deg = p.size - 1
        if deg == 0:
            raise self.fail("the value is a constant (a polynomial of degree 0 of the input)")
        if deg == 1:
            s, t = np.array(p[1]), np.array(p[0])
            folded = self.fold_back(chain, s, t)
            if folded is not None:
                return folded, None, None
            return chain, s, t
        return chain.append_elementwise(_activation(p)), None, None

    def resolve(self, chain: _Chain, s: np.ndarray | None, t: np.ndarray | None) -> _Chain:
        """Emit a pending affine map that nothing can absorb: as a degree-1 PolyActivation if it is scalar."""
        if s is None:
            return chain
        full = _full(chain.shape)
        s, t = np.broadcast_to(s, full), np.broadcast_to(t, full)
        if _uniform(s) and _uniform(t):
            a, b = float(s.flat[0]), float(t.flat[0])
            if a == 1.0 and b == 0.0:
                return chain
            if a == 0.0:
                raise self.fail("the value is a constant (the input is multiplied by 0)")
            return chain.append_elementwise(PolyActivation([b, a]))
        raise self.fail(
            "a per-element scale/shift (BatchNormalization, or Mul/Add by a tensor) can be folded only into an "
            "adjacent Linear (Gemm/MatMul) or Conv layer; none precedes or follows it here"
        )

    def data(self, name: str, what: str = "data input") -> _Sym:
        v = self.value(name)
        if not isinstance(v, _Sym):
            raise self.fail(f"the {what} ({name!r}) is a constant; nn layers apply to data computed from the input")
        return v

    def layer_input(self, name: str, rank: int | None = None) -> tuple[_Chain, np.ndarray | None, np.ndarray | None]:
        sym = self.data(name)
        if rank is not None and len(sym.shape) != rank:
            raise self.fail(f"expects a rank-{rank} input, got shape {self._fmt(sym.shape)}")
        return self.settle(sym)

    def _fmt(self, shape: tuple[int | None, ...]) -> str:
        return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"

    def layers_layout(self, x: _Sym, what: str) -> _Sym:
        """``x`` in the layout the layers compute, for ``what`` (a Conv, a pool, Softmax): ``x`` itself, or, for a
        re-laid graph input, the input taken in that layout (the model's input); refused after a layer."""
        chain = x.chain
        if chain.gather is None:
            return x
        if not chain.layers:  # the graph input itself: the imported model takes it in this layout
            new = _Chain((), chain.shape, input_note=(*chain.input_note, *chain.input_steps))
            self.model_input_shape = chain.shape
            base = x.base
            return _Sym(new.identity if base.s is None else _Base(new, base.s, base.t), x.p)
        raise self.fail(
            f"{what} reads the tensor that {x.chain.layout_note} re-laid out to {self._fmt(x.shape)}, but nn "
            "layers compute channels-first (NCHW) tensors; nn.onnx folds a layout Transpose only into a "
            "following Flatten/Reshape to (batch, features) and linear layer (Gemm/MatMul), or cancels it with "
            "the inverse Transpose. Export the model channels-first (PyTorch models are; Keras: convert with "
            "tf2onnx's inputs_as_nchw=[input name])"
        )

    # --- node dispatch -----------------------------------------------------------------------------------------

    def dispatch(self, node: Any) -> None:
        if node.domain not in ("", "ai.onnx"):
            raise self.unsupported(node)
        inputs = [None if not n else self.value(n) for n in node.input]
        op = node.op_type
        if op == "Constant":
            self.set(node, self.constant(node))
            return
        if not any(isinstance(v, _Sym) for v in inputs):
            self.set(node, self.fold_constant(node, inputs))
            return
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            if not self.he_friendly and op in _TEACHER_OPS:
                handler = getattr(self, f"teacher_{op}")
            else:
                raise self.unsupported(node)
        try:
            result = handler(node, inputs, self.attrs(node))
        except ONNXImportError as exc:
            if str(exc).startswith(self.where):
                raise
            raise ONNXImportError(f"{self.where}: {exc}") from exc
        self.set(node, result)

    def set(self, node: Any, result: Any) -> None:
        results = result if isinstance(result, list) else [result]
        for name, v in zip(node.output, results):
            if name:
                self.values[name] = v

    def constant(self, node: Any) -> np.ndarray:
        a = self.attrs(node)
        if "value" in a:
            return self.tensor_to_array(a["value"], "Constant")
        for key, dtype in (("value_float", np.float64), ("value_floats", np.float64), ("value_int", np.int64),
                           ("value_ints", np.int64)):  # fmt: skip
            if key in a:
                return np.array(a[key], dtype=dtype)
        raise self.fail(f"Constant with attributes {sorted(a)} is not supported (use 'value')")

    def fold_constant(self, node: Any, inputs: list[Any]) -> list[np.ndarray]:
        """Evaluate a node whose inputs are all constants with the ONNX reference implementation."""
        from onnx.reference import ReferenceEvaluator

        feeds = {name: v for name, v in zip(node.input, inputs) if name}
        try:
            elements = _folded_elements(node.op_type, [np.asarray(v) for v in inputs], self.attrs(node))
        except (ValueError, TypeError, IndexError, OverflowError) as exc:
            raise self.fail(f"cannot size this node's constant output: {exc}") from exc
        if elements * 8 > self.memory_limit:
            raise ResourceLimitError(
                f"{self.where}: constant-folding {node.op_type} would produce {elements} values "
                f"(about {elements * 8 / 2**30:.3g} GiB), above memory_limit={self.memory_limit / 2**30:.3g} GiB; "
                "this graph computes a huge constant: fix the graph, or pass a larger memory_limit (None: no limit)"
            )
        try:
            ev = ReferenceEvaluator(node, opsets={"": self.opset})
            outs = ev.run(None, feeds)
        except Exception as exc:
            raise self.fail(f"cannot evaluate this node on its constant inputs: {exc}") from exc
        res = []
        for o in outs:
            arr = np.array(o)
            if arr.dtype.kind == "f":
                arr = arr.astype(np.float64)
            res.append(arr)
        return res

    # --- element-wise arithmetic -------------------------------------------------------------------------------

    def _binary(self, node: Any, inputs: list[Any], op: str) -> _Sym:
        a, b = inputs[0], inputs[1]
        if isinstance(a, _Sym) and isinstance(b, _Sym):
            return self.sym_sym(a, b, op)
        if isinstance(a, _Sym):
            return self.sym_const(a, np.asarray(b, dtype=np.float64), op, reverse=False)
        return self.sym_const(b, np.asarray(a, dtype=np.float64), op, reverse=True)

    def op_Add(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        return self._binary(node, inputs, "add")

    def op_Sub(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        return self._binary(node, inputs, "sub")

    def op_Mul(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        return self._binary(node, inputs, "mul")

    def op_Div(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        if isinstance(inputs[1], _Sym):
            raise NotHEFriendlyError(
                f"{self.where}: division by a value computed from the input is not a polynomial and cannot be "
                f"evaluated under CKKS; {_CONVERT_HINT}"
            )
        return self._binary(node, inputs, "div")

    def op_Neg(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x = inputs[0]
        return _Sym(x.base, -x.p)

    def op_Pow(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x, e = inputs
        if not isinstance(x, _Sym) or isinstance(e, _Sym):
            raise NotHEFriendlyError(
                f"{self.where}: a power with an exponent computed from the input is not a polynomial; {_CONVERT_HINT}"
            )
        e = np.asarray(e, dtype=np.float64)
        if not _uniform(e) or e.size == 0:
            raise self.fail("the exponent must be a single number")
        k = float(e.flat[0])
        if k != int(k) or k < 1:
            raise NotHEFriendlyError(
                f"{self.where}: x ** {k:g} is not a polynomial (the exponent must be a positive integer); "
                f"{_CONVERT_HINT}"
            )
        self.check_broadcast(x, e)
        if int(k) > MAX_POLY_DEGREE:
            raise self.fail(f"x ** {int(k)} exceeds MAX_POLY_DEGREE={MAX_POLY_DEGREE}")
        return _Sym(x.base, npoly.polypow(x.p, int(k)))

    def check_broadcast(self, x: _Sym, c: np.ndarray) -> None:
        full = _full(x.shape)
        try:
            ok = np.broadcast_shapes(c.shape, full) == full
        except ValueError:
            ok = False
        if not ok:
            raise self.fail(
                f"a constant of shape {c.shape} does not broadcast per sample against the data of shape "
                f"{self._fmt(x.shape)}; nn layers keep the batch dimension first and the other dimensions fixed"
            )

    def sym_const(self, x: _Sym, c: np.ndarray, op: str, reverse: bool) -> _Sym:
        self.check_broadcast(x, c)
        if op == "div" and np.any(c == 0):
            raise self.fail("division by a constant that contains 0")
        if _uniform(c):
            v = float(c.flat[0]) if c.size else 0.0
            p = x.p
            if op == "add":
                p = npoly.polyadd(p, [v])
            elif op == "sub":
                p = npoly.polysub([v], p) if reverse else npoly.polysub(p, [v])
            elif op == "mul":
                p = p * v
            else:
                p = p / v
            y = _Sym(x.base, p)
            if op in ("mul", "div"):
                y.scaled = (x, v if op == "mul" else 1.0 / v)
            return y
        # a per-element constant: only an affine value can take it
        if x.p.size > 2:
            chain, s, t = self.settle(x)
            chain = self.resolve(chain, s, t)
            x = _Sym(chain.identity, _IDENTITY)
        p0 = float(x.p[0])
        p1 = float(x.p[1]) if x.p.size == 2 else 0.0
        base = x.base
        s = p1 * (base.s if base.s is not None else np.ones(1))
        t = p0 + p1 * (base.t if base.t is not None else np.zeros(1))
        if op == "add":
            t = t + c
        elif op == "sub":
            s, t = (-s, c - t) if reverse else (s, t - c)
        elif op == "mul":
            s, t = s * c, t * c
        else:
            s, t = s / c, t / c
        return _make_affine(base.chain, s, t)

    def sym_sym(self, a: _Sym, b: _Sym, op: str) -> _Sym:
        if not a.base.same_as(b.base):
            raise self.fail(
                "combines two values that are not element-wise polynomials of the same tensor (a branch, a "
                "skip connection or a per-channel scale applied to only one side); nn.Sequential models are chains"
            )
        if op == "add":
            p = npoly.polyadd(a.p, b.p)
        elif op == "sub":
            p = npoly.polysub(a.p, b.p)
        else:
            p = npoly.polymul(a.p, b.p)
        return _Sym(a.base, p)

    def op_BatchNormalization(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        if attrs.get("training_mode", 0):
            raise self.fail("training_mode=1; export the model in evaluation mode (model.eval())")
        if len([o for o in node.output[1:] if o and o in self.needed_names]) > 0:
            raise self.fail("uses the running statistics outputs (training mode); export in evaluation mode")
        x = inputs[0]
        if len(node.input) < 5:
            raise self.fail("needs the inputs X, scale, B, mean, var")
        scale, bias, mean, var = (self.floats(n, w) for n, w in zip(node.input[1:5], ("scale", "bias", "mean", "var")))
        eps = float(attrs.get("epsilon", 1e-5))
        if len(x.shape) < 2 or any(v.shape != (x.shape[1],) for v in (scale, bias, mean, var)):
            raise self.fail(
                f"statistics of shapes {[v.shape for v in (scale, bias, mean, var)]} do not match the "
                f"{x.shape[1] if len(x.shape) > 1 else '?'} channels of the input {self._fmt(x.shape)}"
            )
        if np.any(var + eps <= 0):
            raise self.fail("var + epsilon must be positive")
        s = scale / np.sqrt(var + eps)
        t = bias - mean * s
        bshape = (1, x.shape[1]) + (1,) * (len(x.shape) - 2)
        y = self.sym_const(x, s.reshape(bshape), "mul", reverse=False)
        return self.sym_const(y, t.reshape(bshape), "add", reverse=False)

    # --- linear layers -----------------------------------------------------------------------------------------

    def append_linear(self, name: str, w: np.ndarray, b: np.ndarray) -> _Sym:
        chain, s, t = self.layer_input(name, rank=2)
        n_in = chain.shape[1]
        if w.shape[0] != n_in:
            raise self.fail(f"the weight has shape {w.shape} but the input has {n_in} features")
        if b.shape != (w.shape[1],):
            raise self.fail(f"the bias of shape {b.shape} does not match the {w.shape[1]} outputs")
        if s is not None:  # fold (s * h + t) into the new layer: h (diag(s) W) + (t W + b)
            full = _full(chain.shape)
            sv, tv = np.broadcast_to(s, full).reshape(-1), np.broadcast_to(t, full).reshape(-1)
            w, b = sv[:, None] * w, b + tv @ w
        if chain.gather is not None:  # a layout Transpose before the Flatten: permute the rows of W
            rows = np.empty_like(w)
            rows[chain.gather] = w
            w = rows
        return _Sym(chain.append(_linear(w, b), (None, w.shape[1])).identity, _IDENTITY)

    def op_Gemm(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        if not isinstance(inputs[0], _Sym) or isinstance(inputs[1], _Sym):
            raise self.fail("only Gemm(data, constant weights) is supported (the data must be the first input)")
        if attrs.get("transA", 0):
            raise self.fail("transA=1 would transpose the batch; only transA=0 maps onto nn.Linear")
        w = self.floats(node.input[1], "weight B")
        if w.ndim != 2:
            raise self.fail(f"the weight must be a matrix, got shape {w.shape}")
        if attrs.get("transB", 0):
            w = w.T  # PyTorch's (out, in) layout
        w = float(attrs.get("alpha", 1.0)) * w
        if len(node.input) > 2 and node.input[2]:
            c = float(attrs.get("beta", 1.0)) * self.floats(node.input[2], "bias C")
            try:
                b = np.broadcast_to(c, (1, w.shape[1])).reshape(-1).copy()
            except ValueError:
                raise self.fail(f"the bias C of shape {c.shape} does not broadcast to (1, {w.shape[1]})") from None
        else:
            b = np.zeros(w.shape[1])
        return self.append_linear(node.input[0], w, b)

    def op_MatMul(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        if not isinstance(inputs[0], _Sym) or isinstance(inputs[1], _Sym):
            raise self.fail("only MatMul(data, constant weights) is supported (the data must be the first input)")
        w = self.floats(node.input[1], "weight")
        if w.ndim != 2:
            raise self.fail(f"the weight must be a matrix, got shape {w.shape}")
        return self.append_linear(node.input[0], w, np.zeros(w.shape[1]))

    def _square(self, values: Any, what: str, default: int | None = None) -> int:
        vals = list(values) if values is not None else []
        if not vals:
            if default is None:
                raise self.fail(f"{what} is required")
            return default
        if len(vals) != 2 or vals[0] != vals[1]:
            raise self.fail(f"{what} {vals} is not supported: nn layers use square kernels and equal strides (2-D)")
        return int(vals[0])

    def _pads(self, attrs: dict[str, Any], sizes: tuple[int, int], kernel: int, stride: int) -> int:
        auto = attrs.get("auto_pad", "NOTSET")
        if auto == "VALID":
            return 0
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            totals = {max((math.ceil(n / stride) - 1) * stride + kernel - n, 0) for n in sizes}
            total = totals.pop()
            if totals or total % 2:
                raise self.fail(f"auto_pad={auto} pads asymmetrically here; nn pads every side of the image equally")
            return total // 2
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        if len(pads) != 4 or len(set(pads)) != 1:
            raise self.fail(f"pads {pads} are not supported: nn pads every side of the image equally")
        return int(pads[0])

    def op_Conv(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        if not isinstance(inputs[0], _Sym) or isinstance(inputs[1], _Sym):
            raise self.fail("only Conv(data, constant weights) is supported")
        w = self.floats(node.input[1], "weight W")
        x = self.layers_layout(self.data(node.input[0]), "Conv")
        if len(x.shape) != 4 or w.ndim != 4:
            raise self.fail(f"only 2-D convolutions (NCHW) are supported, got input {self._fmt(x.shape)}")
        if int(attrs.get("group", 1)) != 1:
            raise self.fail(f"grouped convolution (group={attrs['group']}) is not supported by nn.Conv2d")
        if any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.fail(f"dilations {list(attrs['dilations'])} are not supported by nn.Conv2d")
        k = self._square(attrs.get("kernel_shape") or w.shape[2:], "kernel_shape")
        if tuple(w.shape[2:]) != (k, k):
            raise self.fail(f"kernel_shape {k} does not match the weight of shape {w.shape}")
        stride = self._square(attrs.get("strides"), "strides", default=1)
        _, c, h, wd = x.shape
        pad = self._pads(attrs, (int(h), int(wd)), k, stride)
        if w.shape[1] != c:
            raise self.fail(f"the weight of shape {w.shape} expects {w.shape[1]} input channels, the input has {c}")
        b = self.floats(node.input[2], "bias B") if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
        if b.shape != (w.shape[0],):
            raise self.fail(f"the bias of shape {b.shape} does not match the {w.shape[0]} output channels")
        chain, s, t = self.settle(x)
        if s is not None:
            sv, tv = _per_channel(s, chain.shape), _per_channel(t, chain.shape)
            if sv is not None and tv is not None and (pad == 0 or not np.any(tv)):  # fold forward (exact)
                b = b + np.einsum("fcij,c->f", w, tv)
                w = w * sv[None, :, None, None]
            elif sv is not None and tv is not None and not (_uniform(sv) and _uniform(tv)):
                raise self.fail(
                    "a per-channel shift before a padded convolution cannot be folded into it (the zero padding "
                    "would be shifted too); put it after a Linear/Conv layer or use padding 0"
                )
            else:
                chain = self.resolve(chain, s, t)
        oh = (int(h) + 2 * pad - k) // stride + 1
        ow = (int(wd) + 2 * pad - k) // stride + 1
        if oh < 1 or ow < 1:
            raise self.fail(f"the kernel {k} is larger than the padded input {self._fmt(x.shape)}")
        return _Sym(chain.append(_conv(w, b, stride, pad), (None, w.shape[0], oh, ow)).identity, _IDENTITY)

    # --- pooling and reshaping ---------------------------------------------------------------------------------

    def carry(self, chain: _Chain, s: np.ndarray | None, t: np.ndarray | None, layer: Layer | None,
              shape: tuple[int | None, ...]) -> _Sym:  # fmt: skip
        """Append ``layer`` (a pool or a reshape, or nothing) and carry a pending affine map through it."""
        layers = (*chain.layers, layer) if layer is not None else chain.layers
        if chain.gather is not None:  # a Flatten of a re-laid tensor: the layers flatten their own layout
            new = chain.relaid(layers, shape, chain.gather, (None, chain.gather.size))
        else:
            new = chain.relaid(layers, shape, None, None)
        if s is None:
            return _Sym(new.identity, _IDENTITY)
        full = _full(chain.shape)
        s, t = np.broadcast_to(s, full), np.broadcast_to(t, full)
        if _uniform(s) and _uniform(t):
            return _Sym(new.identity, np.array([t.flat[0], s.flat[0]]))
        if isinstance(layer, AvgPool2d):  # commutes with a per-channel affine map only
            sv, tv = _per_channel(s, chain.shape), _per_channel(t, chain.shape)
            if sv is None or tv is None:
                new = self.resolve(chain, s, t)  # raises: not scalar
            return _make_affine(new, sv[None, :, None, None], tv[None, :, None, None])
        return _make_affine(new, s.reshape(_full(shape)), t.reshape(_full(shape)))

    def _pool_params(self, attrs: dict[str, Any], x: _Sym) -> tuple[int, int]:
        if len(x.shape) != 4:
            raise self.fail(f"only 2-D pooling (NCHW) is supported, got input {self._fmt(x.shape)}")
        k = self._square(attrs.get("kernel_shape"), "kernel_shape")
        stride = self._square(attrs.get("strides"), "strides", default=1)
        if any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.fail(f"dilations {list(attrs['dilations'])} are not supported by nn pooling layers")
        h, w = int(x.shape[2]), int(x.shape[3])
        if self._pads(attrs, (h, w), k, stride):
            raise self.fail("padded pooling is not supported: nn pooling layers have no padding")
        for size in (h, w):
            if size < k:
                raise self.fail(f"the kernel {k} is larger than the input {self._fmt(x.shape)}")
            if attrs.get("ceil_mode", 0) and (size - k) % stride:
                raise self.fail("ceil_mode=1 adds a partial window here; nn pooling layers use floor")
        return k, stride

    def _pool(self, node: Any, x: _Sym, layer_cls: type, k: int, stride: int) -> _Sym:
        chain, s, t = self.settle(x)
        if layer_cls is MaxPool2d:
            chain, s, t = self.resolve(chain, s, t), None, None
        _, c, h, w = x.shape
        shape = (None, c, (int(h) - k) // stride + 1, (int(w) - k) // stride + 1)
        return self.carry(chain, s, t, layer_cls(k, stride=stride), shape)

    def op_AveragePool(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x = self.layers_layout(self.data(node.input[0]), "pooling")
        k, stride = self._pool_params(attrs, x)
        return self._pool(node, x, AvgPool2d, k, stride)

    def _global_kernel(self, x: _Sym) -> int:
        if len(x.shape) != 4:
            raise self.fail(f"only 2-D pooling (NCHW) is supported, got input {self._fmt(x.shape)}")
        if x.shape[2] != x.shape[3]:
            raise self.fail(f"global pooling over a non-square {x.shape[2]}x{x.shape[3]} map is not supported")
        return int(x.shape[2])

    def op_GlobalAveragePool(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x = self.layers_layout(self.data(node.input[0]), "global pooling")
        k = self._global_kernel(x)
        return self._pool(node, x, AvgPool2d, k, k)

    def teacher_MaxPool(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        if len(node.output) > 1 and node.output[1] in self.needed_names:
            raise self.fail("the Indices output of MaxPool is not supported")
        x = self.layers_layout(self.data(node.input[0]), "pooling")
        k, stride = self._pool_params(attrs, x)
        return self._pool(node, x, MaxPool2d, k, stride)

    def teacher_GlobalMaxPool(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x = self.layers_layout(self.data(node.input[0]), "global pooling")
        k = self._global_kernel(x)
        return self._pool(node, x, MaxPool2d, k, k)

    def teacher_Relu(self, node: Any, inputs: list[Any], attrs: dict[str, Any], layer: Layer | None = None) -> _Sym:
        x = self.data(node.input[0])
        chain, s, t = self.settle(x)
        chain = self.resolve(chain, s, t)
        return _Sym(chain.append_elementwise(ReLU() if layer is None else layer).identity, _IDENTITY)

    def teacher_Sigmoid(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        return self.teacher_Relu(node, inputs, attrs, Sigmoid())

    def teacher_Tanh(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        return self.teacher_Relu(node, inputs, attrs, Tanh())

    def teacher_Gelu(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        approximate = attrs.get("approximate", "none")
        if isinstance(approximate, bytes):
            approximate = approximate.decode()
        if approximate != "none":
            raise self.fail(f"Gelu with approximate={approximate!r} is not supported (nn.GELU is the exact erf form)")
        return self.teacher_Relu(node, inputs, attrs, GELU())

    def reshape_to(self, x: _Sym, rest: tuple[int, ...]) -> _Sym:
        old = tuple(int(d) for d in x.shape[1:])
        if math.prod(rest) != math.prod(old):
            raise self.fail(f"cannot reshape {self._fmt(x.shape)} to {self._fmt((None, *rest))}")
        if rest == old:
            return x
        if len(rest) != 1:
            if not x.chain.layers:  # the graph input itself: a re-layout, like a Transpose
                return self.relaid_value(x, (None, *rest), None, f".reshape(-1, {', '.join(map(str, rest))})")
            raise self.fail(
                f"reshaping {self._fmt(x.shape)} to {self._fmt((None, *rest))} is not supported: nn can only "
                "flatten to (batch, features) (nn.Flatten)"
            )
        chain, s, t = self.settle(x)
        layer = Flatten() if len(old) > 1 else None
        return self.carry(chain, s, t, layer, (None, *rest))

    def op_Flatten(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x = inputs[0]
        axis = int(attrs.get("axis", 1))
        rank = len(x.shape)
        if axis < 0:
            axis += rank
        if axis != 1:
            raise self.fail(f"Flatten with axis={attrs.get('axis')} is not supported; nn flattens from axis 1")
        return self.reshape_to(x, (math.prod(int(d) for d in x.shape[1:]),))

    def op_Reshape(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x, target = inputs
        if isinstance(target, _Sym):
            raise self.fail("the target shape must be a constant")
        tgt = [int(v) for v in np.asarray(target).reshape(-1)]
        old = [None, *(int(d) for d in x.shape[1:])]
        if not attrs.get("allowzero", 0):
            tgt = [(_BATCH if i == 0 else old[i]) if v == 0 and i < len(old) else v for i, v in enumerate(tgt)]
        if not tgt:
            raise self.fail("cannot reshape to a scalar")
        head, rest = tgt[0], tgt[1:]
        batch_ok = head == _BATCH or (self.static_batch is not None and head == self.static_batch)
        if head == -1:
            if any(v < 0 for v in rest):
                raise self.fail(f"target shape {tgt} has two inferred dimensions")
            batch_ok = True
        if not batch_ok:
            raise self.fail(
                f"target shape {[('N' if v == _BATCH else v) for v in tgt]} does not keep the batch dimension first"
            )
        if rest.count(-1) > 1 or any(v < -1 or v == 0 for v in rest):
            raise self.fail(f"target shape {[('N' if v == _BATCH else v) for v in tgt]} is not supported")
        if -1 in rest:
            known = math.prod(v for v in rest if v != -1)
            total = math.prod(int(d) for d in x.shape[1:])
            if total % known:
                raise self.fail(f"cannot reshape {self._fmt(x.shape)} to {tgt}")
            rest = [total // known if v == -1 else v for v in rest]
        return self.reshape_to(x, tuple(rest))

    def op_Squeeze(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x = inputs[0]
        rank = len(x.shape)
        if len(inputs) > 1 and inputs[1] is not None:
            axes = [int(a) for a in np.asarray(inputs[1]).reshape(-1)]
        else:
            axes = list(attrs.get("axes", [i for i, d in enumerate(x.shape) if d == 1]))
        axes = sorted({a + rank if a < 0 else a for a in axes})
        if 0 in axes or any(not 0 < a < rank or x.shape[a] != 1 for a in axes):
            raise self.fail(f"can squeeze only non-batch dimensions of size 1, got axes {axes} of {self._fmt(x.shape)}")
        return self.reshape_to(x, tuple(int(d) for i, d in enumerate(x.shape) if i and i not in axes))

    def relaid_value(self, x: _Sym, shape: tuple[int | None, ...], perm: list[int] | None, step: str) -> _Sym:
        """``x`` (a function of the graph input, no layer yet) transposed by ``perm`` or reshaped (``perm`` None)
        to ``shape``: the features of a sample are permuted (``gather``), and ``step`` says it in numpy."""
        chain = x.chain
        size = math.prod(int(d) for d in x.shape[1:])
        src = chain.gather if chain.gather is not None else np.arange(size)
        src = src.reshape([int(d) for d in x.shape[1:]])
        gather = (src.transpose([p - 1 for p in perm[1:]]) if perm is not None else src).reshape(-1)
        phys = chain.phys if chain.gather is not None else chain.shape
        if shape == phys and np.array_equal(gather, np.arange(gather.size)):  # back to the layers' own layout
            new = chain.relaid(chain.layers, shape, None, None)
        else:
            new = chain.relaid(chain.layers, shape, gather, phys)
            what = f"a Transpose (perm {perm}" if perm is not None else "a Reshape ("
            new.layout_note = chain.layout_note or f"{what}, {self.where})"
            if not chain.layers:
                new.input_steps = (*chain.input_steps, step)
        if x.base.s is None:
            return _Sym(new.identity, x.p)
        s, t = x.base.s, x.base.t
        if perm is not None:
            s, t = s.transpose(perm), t.transpose(perm)
        return _Sym(_Base(new, s.reshape(_full(shape)).copy(), t.reshape(_full(shape)).copy()), x.p)

    def op_Transpose(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        """A layout transpose (NHWC <-> NCHW, as Keras/TF exports have around Flatten and Conv).

        Nothing is computed: the tensor keeps the layers' own layout and records the permutation
        ``gather`` of each sample's features, which the next linear layer absorbs into the rows of its
        weight (``x[gather] @ W = x @ W'`` with ``W'[gather] = W``); an inverse Transpose cancels it.
        On the graph input, a convolution (or pool) that needs the transposed layout makes it the
        imported model's input layout instead (a warning says how to lay out the data).
        """
        x = inputs[0]
        rank = len(x.shape)
        perm = [int(p) for p in attrs.get("perm", range(rank - 1, -1, -1))]
        if sorted(perm) != list(range(rank)):
            raise self.fail(f"perm {perm} is not a permutation of the {rank} axes of {self._fmt(x.shape)}")
        if perm[0] != 0:
            raise self.fail(
                f"Transpose with perm {perm} moves the batch axis of {self._fmt(x.shape)}; nn models keep the batch "
                "first. Only a transpose of the axes of each sample (a layout change such as NHWC <-> NCHW, perm "
                "[0, 3, 1, 2] or [0, 2, 3, 1]) can be folded into the model"
            )
        if perm == list(range(rank)):
            return x
        shape = (None, *(x.shape[p] for p in perm[1:]))
        return self.relaid_value(x, shape, perm, f".transpose({', '.join(map(str, perm))})")

    def _passthrough(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        return inputs[0]

    op_Identity = _passthrough

    def op_Dropout(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        if len(inputs) > 2 and inputs[2] is not None:
            if isinstance(inputs[2], _Sym) or bool(np.asarray(inputs[2]).reshape(-1)[0]):
                raise self.fail("Dropout in training mode; export the model in evaluation mode (model.eval())")
        if len(node.output) > 1 and node.output[1] in self.needed_names:
            raise self.fail("the mask output of Dropout is not supported")
        return inputs[0]

    def op_Cast(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        to = int(attrs.get("to", 1))
        if to not in _FLOAT_ELEM_TYPES:
            raise self.fail(f"casting the data to element type {to} (not a float type) is not supported")
        return inputs[0]

    def op_Shape(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> np.ndarray:
        x = inputs[0]
        dims = [_BATCH if self.static_batch is None else self.static_batch, *(int(d) for d in x.shape[1:])]
        arr = np.array(dims, dtype=np.int64)
        start, end = attrs.get("start", 0), attrs.get("end", None)
        return arr[start:end]

    def op_Softmax(self, node: Any, inputs: list[Any], attrs: dict[str, Any]) -> _Sym:
        x = self.layers_layout(inputs[0], "Softmax")
        rank = len(x.shape)
        axis = int(attrs.get("axis", -1 if self.opset >= 13 else 1))
        if axis < 0:
            axis += rank
        if axis != rank - 1:
            raise self.fail(
                f"Softmax over axis {attrs.get('axis')} of {self._fmt(x.shape)}; nn.SoftArgmax uses the last axis"
            )
        if x.scaled is not None and x.scaled[1] > 0:  # softmax(beta * h), beta from a Mul (or Div) by a constant
            x, beta = x.scaled
        else:
            beta = 1.0
        if x.base.s is None and x.p.size == 2 and x.p[1] > 0:  # softmax(a * h + c) = softmax(a * h)
            chain, beta = x.chain, beta * float(x.p[1])
        else:
            chain, s, t = self.settle(x)
            if s is not None:
                full = _full(chain.shape)
                sb = np.broadcast_to(s, full)
                if _uniform(sb) and _uniform(np.broadcast_to(t, full)) and sb.flat[0] > 0:
                    beta *= float(sb.flat[0])
                else:
                    chain = self.resolve(chain, s, t)
        return _Sym(chain.append(SoftArgmax(beta), chain.shape).identity, _IDENTITY)


def _external_tensors(onnx: Any, model: Any) -> dict[str, list[str]]:
    """The external data files the model refers to and whose data is not loaded: location -> tensor names."""
    found: dict[str, list[str]] = {}

    def visit(tensor: Any) -> None:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            location = next((e.value for e in tensor.external_data if e.key == "location"), "?")
            found.setdefault(location, []).append(tensor.name)

    for tensor in model.graph.initializer:
        visit(tensor)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                visit(attr.t)
            for tensor in attr.tensors:
                visit(tensor)
    return found


#: How to write a model without external data, for the error messages.
_ONE_FILE_HINT = (
    "or write the model as one file (models under 2 GB): torch.onnx.export(..., external_data=False), or "
    "onnx.save(onnx.load('model.onnx'), 'model_one_file.onnx', save_as_external_data=False)"
)


def _external_data_error(files: dict[str, list[str]], what: str, fix: str) -> ONNXImportError:
    """The error for weights kept in external data files that cannot be read; names the files and both fixes."""
    parts = []
    for location, names in files.items():
        shown = ", ".join(repr(n) for n in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        parts.append(f"{location!r} (tensor{'s' if len(names) > 1 else ''} {shown})")
    return ONNXImportError(
        f"{what} keeps its weights in the external data file{'s' if len(files) > 1 else ''} {'; '.join(parts)}, "
        f"next to the .onnx file (PyTorch's exporter does this by default). {fix}; {_ONE_FILE_HINT}"
    )


def _read_model(onnx: Any, source: Any) -> Any:
    """The ``onnx.ModelProto`` of ``source`` with its external data loaded (see `load`'s ``Raises``)."""
    if isinstance(source, onnx.ModelProto):
        files = _external_tensors(onnx, source)
        if files:
            raise _external_data_error(
                files, "the onnx.ModelProto was read without its external data: it",
                "Pass the path of the .onnx file instead (nn.onnx.load('model.onnx') reads the data file next to "
                "it), or read the data first: onnx.load('model.onnx') or "
                "onnx.external_data_helper.load_external_data_for_model(model, folder)",
            )
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ONNXImportError("the ONNX bytes are empty")
        try:
            model = onnx.load_model_from_string(data)
        except Exception as exc:
            raise ONNXImportError(f"the bytes are not a valid ONNX model (protobuf decoding failed: {exc})") from exc
        files = _external_tensors(onnx, model)
        if files:
            raise _external_data_error(
                files, "the model in these bytes",
                "Bytes cannot carry that file: pass the path of the .onnx file instead, with the data file in the "
                "same folder (nn.onnx.load('model.onnx'))",
            )
        return model
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such ONNX file: {path!r}")
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception as exc:
            raise ONNXImportError(f"{path!r} is not a readable ONNX model: {exc}") from exc
        folder = os.path.dirname(os.path.abspath(path))
        files = _external_tensors(onnx, model)
        missing = {loc: names for loc, names in files.items() if not os.path.isfile(os.path.join(folder, loc))}
        if missing:
            raise _external_data_error(
                missing, repr(path),
                f"{'It is' if len(missing) == 1 else 'They are'} not in {folder!r} (the .onnx file was moved or "
                f"copied without {'it' if len(missing) == 1 else 'them'}): put the data file next to the .onnx "
                "file and pass its path",
            )
        if files:
            try:
                onnx.external_data_helper.load_external_data_for_model(model, folder)
            except Exception as exc:
                raise ONNXImportError(f"the external data of {path!r} cannot be read: {exc}") from exc
        return model
    raise ConfigError(f"load expects a path, bytes or an onnx.ModelProto, got {type(source).__name__}")


def _check_model(onnx: Any, model: Any) -> None:
    """``onnx.checker.check_model``, tolerating graph inputs and outputs declared without a shape (ONNX Runtime
    runs such models; the importer tracks shapes itself)."""
    infos = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    if any(v.type.HasField("tensor_type") and not v.type.tensor_type.HasField("shape") for v in infos):
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        for v in [*copy.graph.input, *copy.graph.output, *copy.graph.value_info]:
            if v.type.HasField("tensor_type") and not v.type.tensor_type.HasField("shape"):
                v.type.tensor_type.shape.SetInParent()
        model = copy
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ONNXImportError(f"the ONNX model is invalid: {str(exc).strip().splitlines()[0][:500]}") from exc


def load(
    source: str | os.PathLike[str] | bytes | Any,
    *,
    input_shape: Sequence[int] | None = None,
    output: str | None = None,
    he_friendly: bool = True,
    memory_limit: float | None = FOLD_MEMORY_LIMIT,
) -> Sequential:
    """Import an ONNX model as an `nn.Sequential` of standard ``nn`` layers.

    The graph must be a chain from one float input to the chosen output, built
    from the operators of `SUPPORTED_OPS` (see the module docstring for
    the mapping).  Batch-normalisation and affine maps next to a linear layer
    are folded into it; element-wise polynomials become ``Square``,
    ``QuadraticActivation`` or ``PolyActivation``; ``Softmax`` becomes
    ``SoftArgmax``.  Nothing is executed from the file and no partial model is
    returned: any problem raises before the model is built.

    A layout ``Transpose`` (Keras and TensorFlow models are channels-last,
    NHWC) is folded: before a ``Flatten``/``Reshape`` into the rows of the
    next ``Linear``'s weight; on the graph input read by a convolution, the
    imported model takes the input in the transposed, channels-first layout
    (a ``UserWarning`` says how: ``x.transpose(0, 3, 1, 2)``).

    Args:
        source: a path to an ``.onnx`` file (external data next to it is read),
            the serialized bytes, or an ``onnx.ModelProto`` (bytes and a
            ``ModelProto`` must hold their weights: models saved with external
            data load from their path).
        input_shape: the input dimensions after the batch, e.g. ``(1, 28, 28)``;
            needed only when the graph leaves some of them symbolic or unknown
            (the batch dimension may always be dynamic).  Fixed dimensions of the
            graph must agree with it.
        output: the name of the graph output to import, required when the graph
            has several (skl2onnx classifiers have ``label`` and
            ``probabilities``); only the nodes it depends on are read.
        he_friendly: if ``False``, ``Relu``, ``MaxPool``, ``GlobalMaxPool``, ``Sigmoid``, ``Tanh`` and
            ``Gelu`` (exact form) import as `nn.ReLU`, `nn.MaxPool2d`, `nn.Sigmoid`, `nn.Tanh`, `nn.GELU`:
            a teacher model for `nn.convert.convert_and_distill`, or a model for
            ``nn.encrypted.compile(..., approximate=True)``.
        memory_limit: the most bytes one constant-folded node may produce (default 1 GiB; None: no
            limit): shape arithmetic on constants (``ConstantOfShape``, ``Expand``, ``Tile``, ``Range``...)
            is evaluated with numpy, and its output size is estimated from the inputs first.

    Returns:
        A new `nn.Sequential` (float64 parameters) whose ``forward``
        computes what the ONNX graph computes.

    Raises:
        OptionalDependencyError: the ``onnx`` package is not installed.
        FileNotFoundError: ``source`` is a path that does not exist.
        ONNXImportError: malformed bytes, an invalid graph, an opset outside
            `SUPPORTED_OPSETS`, weights in an external data file that is
            missing or that bytes cannot carry (the message names the file, and
            says to pass the path or save with ``save_as_external_data=False``),
            a Transpose that is not a layout change the next layers can absorb,
            a symbolic dimension other than the batch,
            NaN or infinite weights, attributes ``nn`` layers cannot express
            (grouped or dilated convolution, asymmetric padding...), or a graph
            that is not a sequential chain.
        NotHEFriendlyError: a node applies a non-polynomial or unsupported
            operator (``Relu``, ``MaxPool``, ``Sigmoid``...) to the data; the
            message names the node and the operator.
        ConfigError: ``source``, ``input_shape`` or ``memory_limit`` has the wrong type or values.
        ResourceLimitError: constant folding a node would produce more than ``memory_limit`` bytes.
    """
    limit = _fold_limit(memory_limit)
    onnx = _onnx()
    model = _read_model(onnx, source)
    if not isinstance(he_friendly, bool):
        raise ConfigError(f"he_friendly must be a bool, got {he_friendly!r}")
    if input_shape is not None:
        dims = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
        if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims):
            raise ConfigError(f"input_shape must be the positive dimensions after the batch, got {input_shape!r}")
        input_shape = tuple(int(d) for d in dims)
    importer = _Importer(onnx, model, input_shape, output, he_friendly)
    importer.memory_limit = limit
    if not model.HasField("graph") or not model.graph.node:
        raise ONNXImportError("the model has no graph nodes; it is not an ONNX model (or an empty one)")
    importer.check_opset()
    _check_model(onnx, model)
    try:
        return importer.run()
    except (ONNXImportError, NotHEFriendlyError):
        raise
    except (ConfigError, ShapeError) as exc:  # e.g. an nn layer refusing a value computed from the graph
        raise ONNXImportError(f"{importer.where}: {exc}") from exc
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError) as exc:  # a malformed graph
        raise ONNXImportError(f"{importer.where}: cannot import ({type(exc).__name__}: {exc})") from exc


def _fold_limit(memory_limit: Any) -> float:
    """``memory_limit`` of `load` as bytes (inf for None)."""
    if memory_limit is None:
        return math.inf
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, (int, float, np.integer, np.floating)) or not (
        float(memory_limit) > 0
    ):
        raise ConfigError(f"memory_limit must be None or a positive number of bytes, got {memory_limit!r}")
    return float(memory_limit)


# --------------------------------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------------------------------


def _out_shape(layer: Layer, shape: tuple[int, ...], index: int) -> tuple[int, ...]:
    """Output shape (without the batch) of ``layer`` on inputs of shape ``shape`` (without the batch)."""
    name = f"layer {index} ({type(layer).__name__})"
    if isinstance(layer, Linear):
        if shape != (layer.in_features,):
            raise ShapeError(f"{name} expects ({layer.in_features},) features per sample, gets {shape}")
        return (layer.out_features,)
    if isinstance(layer, Conv2d):
        if len(shape) != 3 or shape[0] != layer.in_channels:
            raise ShapeError(f"{name} expects ({layer.in_channels}, H, W) per sample, gets {shape}")
        k, s, p = layer.kernel_size, layer.stride, layer.padding
        oh, ow = ((d + 2 * p - k) // s + 1 for d in shape[1:])
        if oh < 1 or ow < 1:
            raise ShapeError(f"{name}: kernel {k} is larger than the padded input {shape}")
        return (layer.out_channels, oh, ow)
    if isinstance(layer, (AvgPool2d, MaxPool2d)):
        if len(shape) != 3 or min(shape[1:]) < layer.kernel_size:
            raise ShapeError(f"{name} expects (C, H, W) with H, W >= {layer.kernel_size}, gets {shape}")
        k, s = layer.kernel_size, layer.stride
        return (shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1)
    if isinstance(layer, Flatten):
        return (math.prod(shape),)
    return shape


class _Exporter:
    def __init__(self, onnx: Any, dtype: np.dtype) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def init(self, prefix: str, value: Any) -> str:
        name = self.name(prefix)
        self.inits.append(self.onnx.numpy_helper.from_array(np.asarray(value, dtype=self.dtype), name))
        return name

    def node(self, op: str, inputs: list[str], prefix: str, **attrs: Any) -> str:
        out = self.name(prefix)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out + "_" + op, **attrs))
        return out

    def poly(self, x: str, coeffs: np.ndarray, prefix: str) -> str:
        """Horner: ``((c_d x + c_{d-1}) x + ...) x + c_0``, each product and sum a Mul/Add node."""
        c = _trim(coeffs)
        d = c.size - 1
        if d == 0:
            return self.node("Add", [self.node("Mul", [x, self.init(prefix, 0.0)], prefix), self.init(prefix, c[0])],
                             prefix)  # fmt: skip
        y = x if c[d] == 1.0 else self.node("Mul", [x, self.init(prefix + "_coef", c[d])], prefix)
        for k in range(d - 1, -1, -1):
            if c[k] != 0.0:
                y = self.node("Add", [y, self.init(prefix + "_coef", c[k])], prefix)
            if k > 0:
                y = self.node("Mul", [y, x], prefix)
        return y

    def layer(self, x: str, layer: Layer, i: int, rank: int) -> str:
        p = f"l{i}"
        if isinstance(layer, Linear):
            w = self.init(p + "_weight", layer.params["weight"].T)  # PyTorch's (out, in) layout
            b = self.init(p + "_bias", layer.params["bias"])
            return self.node("Gemm", [x, w, b], p, transB=1)
        if isinstance(layer, Conv2d):
            k, s, pad = layer.kernel_size, layer.stride, layer.padding
            w, b = self.init(p + "_weight", layer.params["weight"]), self.init(p + "_bias", layer.params["bias"])
            return self.node("Conv", [x, w, b], p, kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4)
        if isinstance(layer, (AvgPool2d, MaxPool2d)):
            op = "AveragePool" if isinstance(layer, AvgPool2d) else "MaxPool"
            k, s = layer.kernel_size, layer.stride
            return self.node(op, [x], p, kernel_shape=[k, k], strides=[s, s])
        if isinstance(layer, Flatten):
            return self.node("Flatten", [x], p, axis=1)
        if isinstance(layer, ReLU):
            return self.node("Relu", [x], p)
        if isinstance(layer, (Sigmoid, Tanh)):
            return self.node(type(layer).__name__, [x], p)
        if isinstance(layer, Square):
            return self.node("Mul", [x, x], p)
        if isinstance(layer, ReLUToQuadratic):
            t = layer.mix
            r = self.node("Relu", [x], p)
            if t == 0.0:
                return r
            q = self.poly(x, layer.coeffs, p)
            if t == 1.0:
                return q
            r = self.node("Mul", [r, self.init(p + "_mix", 1.0 - t)], p)
            q = self.node("Mul", [q, self.init(p + "_mix", t)], p)
            return self.node("Add", [r, q], p)
        if isinstance(layer, PolyActivation):
            return self.poly(x, layer.coeffs, p)
        if isinstance(layer, SoftArgmax):
            if layer.beta != 1.0:
                x = self.node("Mul", [x, self.init(p + "_beta", layer.beta)], p)
            return self.node("Softmax", [x], p, axis=rank - 1)
        raise LayerTypeError(f"layer {i} ({type(layer).__name__}) has no ONNX export")


def _default_input_shape(model: Sequential) -> tuple[int, ...]:
    for layer in model.layers:
        if isinstance(layer, Linear):
            return (layer.in_features,)
        if not isinstance(layer, (ReLU, Square, PolyActivation, SoftArgmax)):
            break
    raise ConfigError(
        "save cannot tell the input shape of a model that does not start with a Linear layer; "
        "pass input_shape=(channels, height, width)"
    )


def save(
    model: Sequential,
    path: str | os.PathLike[str] | None = None,
    *,
    input_shape: Sequence[int] | None = None,
    opset: int = DEFAULT_EXPORT_OPSET,
    dtype: str = "float32",
) -> bytes:
    """Export an `nn.Sequential` to ONNX with the plaintext semantics of ``model.forward``.

    ``Linear`` becomes ``Gemm`` (weight stored in PyTorch's (out, in) layout,
    ``transB=1``), ``Conv2d`` ``Conv``, ``AvgPool2d``/``MaxPool2d``
    ``AveragePool``/``MaxPool``, ``Flatten`` ``Flatten``, ``ReLU`` ``Relu``,
    ``Square`` ``Mul(x, x)``, polynomial activations their Horner scheme in
    ``Mul``/``Add`` nodes, ``SoftArgmax`` ``Mul`` by ``beta`` and ``Softmax``.
    The graph has one input ``input`` of shape ``(N, *input_shape)`` with a
    dynamic batch ``N`` and one output ``output``; `load` reads it back to
    the same layers.

    Args:
        model: the model to export (it is not modified).
        path: where to write the ``.onnx`` file; ``None`` writes nothing.
        input_shape: the dimensions of one sample, e.g. ``(1, 8, 8)``; may be
            left out when the model starts with a ``Linear`` layer.
        opset: the ``ai.onnx`` opset of the graph, within `EXPORT_OPSETS`.
        dtype: ``"float32"`` (what ONNX Runtime runs everywhere) or
            ``"float64"`` (exact weights; ONNX Runtime's CPU provider has no
            float64 ``Conv``/``AveragePool``).

    Returns:
        The serialized ONNX model (the bytes also written to ``path``).

    Raises:
        OptionalDependencyError: the ``onnx`` package is not installed.
        LayerTypeError: ``model`` is not an ``nn.Sequential`` or holds a layer
            with no ONNX form.
        ConfigError: a bad ``opset``, ``dtype`` or ``input_shape``, or none given
            when it cannot be inferred.
        ShapeError: ``input_shape`` does not fit the model's layers.
    """
    onnx = _onnx()
    if not isinstance(model, Sequential):
        raise LayerTypeError(f"save expects an nn.Sequential, got {type(model).__name__}")
    if not model.layers:
        raise ConfigError("cannot export an empty model")
    lo, hi = EXPORT_OPSETS
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not lo <= opset <= hi:
        raise ConfigError(f"opset must be an integer from {lo} to {hi}, got {opset!r}")
    types = {"float32": (np.float32, onnx.TensorProto.FLOAT), "float64": (np.float64, onnx.TensorProto.DOUBLE)}
    if dtype not in types:
        raise ConfigError(f"dtype must be one of {sorted(types)}, got {dtype!r}")
    shape = _default_input_shape(model) if input_shape is None else tuple(input_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
        raise ConfigError(f"input_shape must be the positive dimensions of one sample, got {input_shape!r}")
    shape = tuple(int(d) for d in shape)
    shapes = [shape]
    for i, layer in enumerate(model.layers):
        shapes.append(_out_shape(layer, shapes[-1], i))
    np_dtype, elem = types[dtype]
    ex = _Exporter(onnx, np.dtype(np_dtype))
    x = "input"
    for i, layer in enumerate(model.layers):
        x = ex.layer(x, layer, i, len(shapes[i]) + 1)
    ex.nodes.append(onnx.helper.make_node("Identity", [x], ["output"], name="output_Identity"))
    graph = onnx.helper.make_graph(
        ex.nodes,
        "nn_sequential",
        [onnx.helper.make_tensor_value_info("input", elem, ["N", *shape])],
        [onnx.helper.make_tensor_value_info("output", elem, ["N", *shapes[-1]])],
        ex.inits,
    )
    opsets = [onnx.helper.make_opsetid("", int(opset))]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="ckks-nn nn.onnx")
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if path is not None:
        with open(path, "wb") as f:
            f.write(data)
    return data
