"""``Sequential``: a stack of layers, its multiplicative depth, and its file format.

File format (``Sequential.save`` / ``Sequential.load``)
-------------------------------------------------------
One ``.npz`` file (a zip of ``.npy`` arrays, readable with
``numpy.load(path, allow_pickle=False)``) holding

* ``__model__``: a 0-d unicode array whose text is a JSON document::

      {"format": "nn.Sequential", "version": 1,
       "layers": [{"type": "Conv2d", "config": {"in_channels": 1, ...},
                   "params": ["weight", "bias"]}, ...]}

  ``type`` names a registered layer class (see `register_layer`),
  ``config`` is its constructor arguments, ``params`` its parameter names;
* ``layers.<i>.<name>``: the float64 array of parameter ``name`` of layer ``i``.

No pickle is used and nothing in the file is executed: loading looks the layer
type up in a fixed registry and checks every parameter's shape.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from nn.activations import (
    GELU,
    Argmax,
    PolyActivation,
    QuadraticActivation,
    ReLU,
    ReLUToQuadratic,
    Sigmoid,
    SiLU,
    SoftArgmax,
    Square,
    Tanh,
)
from nn.errors import LayerTypeError, ModelFormatError, NotHEFriendlyError, ShapeError
from nn.layers import AvgPool2d, Conv2d, Flatten, Layer, Linear, MaxPool2d

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "LAYER_TYPES", "Sequential", "register_layer"]

FORMAT_NAME = "nn.Sequential"
FORMAT_VERSION = 1

LAYER_TYPES: dict[str, type[Layer]] = {}


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Make a layer class loadable by `Sequential.load` (usable as a decorator).

    Raises:
        LayerTypeError: ``cls`` is not a subclass of ``nn.layers.Layer``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise LayerTypeError(f"register_layer expects a subclass of nn.layers.Layer, got {cls!r}")
    LAYER_TYPES[cls.__name__] = cls
    return cls


for _cls in (
    Linear,
    Conv2d,
    AvgPool2d,
    MaxPool2d,
    Flatten,
    ReLU,
    Square,
    PolyActivation,
    QuadraticActivation,
    ReLUToQuadratic,
    SoftArgmax,
    Argmax,
    Sigmoid,
    Tanh,
    GELU,
    SiLU,
):
    register_layer(_cls)


class Sequential:
    """Layers applied in order; ``backward`` runs them in reverse.

    ``multiplicative_depth()`` is the number of CKKS levels an encrypted
    evaluation consumes (the sum over the layers, see `nn.layers` for the
    convention); ``depth_breakdown()`` gives it per layer.

    Raises:
        LayerTypeError: an element of ``layers`` is not an ``nn`` layer.
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers = list(layers)
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise LayerTypeError(f"layer {i} is a {type(layer).__name__}, not an nn layer (nn.layers.Layer)")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply every layer to the batch ``x`` (caching what backward needs)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    __call__ = forward

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Back-propagate dL/d(output); fills each layer's ``grads``; returns dL/d(input)."""
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def predict(self, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Outputs (logits or probabilities) for ``x``, computed in batches.

        Raises:
            ShapeError: ``x`` holds no sample.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1 or x.shape[0] == 0:
            raise ShapeError(f"predict expects a non-empty batch, got shape {x.shape}")
        return np.concatenate([self.forward(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])

    def parameters(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``(name, value, grad)`` for every parameter; names are ``"<layer index>.<param>"``."""
        return [(f"{i}.{k}", v, layer.grads[k]) for i, layer in enumerate(self.layers) for k, v in layer.params.items()]

    def num_parameters(self) -> int:
        return int(sum(v.size for _, v, _ in self.parameters()))

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    # --- multiplicative depth -------------------------------------------------

    def depth_breakdown(self) -> list[dict[str, Any]]:
        """Per layer: ``{"index", "layer", "depth"}`` with ``depth`` None where not HE-friendly."""
        return [
            {"index": i, "layer": type(layer).__name__, "depth": layer.multiplicative_depth()}
            for i, layer in enumerate(self.layers)
        ]

    def is_he_friendly(self) -> bool:
        return all(row["depth"] is not None for row in self.depth_breakdown())

    def multiplicative_depth(self) -> int:
        """Total CKKS levels consumed by an encrypted evaluation of the model.

        Raises `NotHEFriendlyError` naming the layers (ReLU, MaxPool2d,
        an unfinished ReLUToQuadratic...) that have no polynomial form.

        Raises:
            NotHEFriendlyError: the model holds layers that are not polynomials (ReLU, max-pool).
        """
        rows = self.depth_breakdown()
        bad = [f"{r['index']}:{r['layer']}" for r in rows if r["depth"] is None]
        if bad:
            raise NotHEFriendlyError(
                f"layers {', '.join(bad)} are not polynomials and cannot be evaluated under CKKS; "
                "convert the model with nn.convert.convert_and_distill (or he_friendly_copy + finalize)"
            )
        return int(sum(r["depth"] for r in rows))

    def summary(self) -> str:
        """A printable table: index, layer, parameter count, depth.

        A last layer with a ``depth_note`` (a final ``SoftArgmax``, whose depth the encrypted
        compiler chooses) does not make the model "not HE-friendly": the total is the depth of
        the other layers plus that note.
        """
        lines = [f"{'#':>3}  {'layer':<60} {'params':>8} {'depth':>5}"]
        for i, layer in enumerate(self.layers):
            d = layer.multiplicative_depth()
            n = sum(v.size for v in layer.params.values())
            lines.append(f"{i:>3}  {layer!r:<60.60} {n:>8} {'-' if d is None else d:>5}")
        last = self.layers[-1] if self.layers else None
        note = getattr(last, "depth_note", None) if last is not None and last.multiplicative_depth() is None else None
        head = Sequential(self.layers[:-1]) if note else self
        total = head.multiplicative_depth() if head.is_he_friendly() else "not HE-friendly"
        if note and total != "not HE-friendly":
            total = f"{total} + depth of {type(last).__name__}: {note}"
        lines.append(f"total parameters {self.num_parameters()}, multiplicative depth {total}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"

    # --- copies and files -----------------------------------------------------

    def to_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The JSON document and the parameter arrays of the file format.

        Raises:
            LayerTypeError: a layer's class is not registered (`register_layer`).
        """
        doc: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "layers": []}
        arrays: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.layers):
            name = type(layer).__name__
            if LAYER_TYPES.get(name) is not type(layer):
                raise LayerTypeError(f"layer {i} ({name}) is not registered; call nn.model.register_layer({name})")
            doc["layers"].append({"type": name, "config": layer.get_config(), "params": list(layer.params)})
            for k, v in layer.params.items():
                arrays[f"layers.{i}.{k}"] = v.copy()
        return doc, arrays

    @classmethod
    def from_dict(cls, doc: Any, arrays: dict[str, np.ndarray]) -> Sequential:
        """Inverse of `to_dict`: rebuild a model from its JSON document and arrays.

        Args:
            doc: The parsed JSON document (``{"format", "version", "layers"}``).
            arrays: ``{"layers.<i>.<name>": array}`` for every parameter.

        Returns:
            A new model with copies of the parameters.

        Raises:
            ModelFormatError: If the document has the wrong format or version, names an unknown
                layer type or an invalid config, or a parameter array is missing, of the wrong
                shape or dtype, or not finite.
        """
        return cls([_layer_from_spec(i, spec, arrays) for i, spec in enumerate(_layer_specs(doc))])

    def copy(self) -> Sequential:
        """An independent deep copy (same layers, copied parameters, no caches or gradients)."""
        doc, arrays = self.to_dict()
        return Sequential.from_dict(json.loads(json.dumps(doc)), arrays)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model to ``path`` in the npz + JSON format described in this module."""
        doc, arrays = self.to_dict()
        with open(path, "wb") as f:
            np.savez(f, __model__=np.array(json.dumps(doc)), **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sequential:
        """Read a model written by `save` (never unpickles).

        Raises:
            ModelFormatError: not a readable npz model written by ``nn``, or its model entry is not valid JSON.
        """
        try:
            with np.load(path, allow_pickle=False) as z:
                files = dict(z.items())
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise ModelFormatError(f"{os.fspath(path)!r} is not a readable npz model file: {exc}") from exc
        meta = files.pop("__model__", None)
        if meta is None or meta.ndim != 0 or meta.dtype.kind != "U":
            raise ModelFormatError(f"{os.fspath(path)!r} has no '__model__' JSON entry; it was not written by nn")
        try:
            doc = json.loads(str(meta))
        except json.JSONDecodeError as exc:
            raise ModelFormatError(f"the '__model__' entry is not valid JSON: {exc}") from exc
        return cls.from_dict(doc, files)


def _layer_specs(doc: Any) -> list[Any]:
    """The ``layers`` list of a model document, after checking its format and version."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"not an {FORMAT_NAME} model document (format field is missing or wrong)")
    if doc.get("version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"unsupported model format version {doc.get('version')!r}; this nn reads version {FORMAT_VERSION}"
        )
    specs = doc.get("layers")
    if not isinstance(specs, list):
        raise ModelFormatError("model document has no 'layers' list")
    return specs


def _layer_from_spec(i: int, spec: Any, arrays: dict[str, np.ndarray]) -> Layer:
    """Layer ``i``: its registered type built from its config, then its parameters loaded."""
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        raise ModelFormatError(f"layer {i}: entry must be an object with 'type', 'config' and 'params'")
    kind = spec.get("type")
    if kind not in LAYER_TYPES:
        raise ModelFormatError(f"layer {i}: unknown layer type {kind!r}; known types: {sorted(LAYER_TYPES)}")
    try:
        layer = LAYER_TYPES[kind].from_config(spec["config"])
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"layer {i} ({kind}): invalid config {spec['config']}: {exc}") from exc
    if sorted(spec.get("params", [])) != sorted(layer.params):
        raise ModelFormatError(
            f"layer {i} ({kind}): file lists parameters {spec.get('params')}, expected {list(layer.params)}"
        )
    for name, value in layer.params.items():
        value[...] = _parameter_array(f"layers.{i}.{name}", value.shape, arrays)
    return layer


def _parameter_array(key: str, shape: tuple[int, ...], arrays: dict[str, np.ndarray]) -> np.ndarray:
    """``arrays[key]``, checked to be a finite float array of the given shape."""
    if key not in arrays:
        raise ModelFormatError(f"parameter array {key!r} is missing from the file")
    a = np.asarray(arrays[key])
    if a.shape != shape or not np.issubdtype(a.dtype, np.floating):
        raise ModelFormatError(f"parameter {key!r} has shape {a.shape} and dtype {a.dtype}, expected {shape} float")
    if not np.all(np.isfinite(a)):
        raise ModelFormatError(f"parameter {key!r} contains NaN or infinity")
    return a
