"""The exception hierarchy of the ``nn`` package.

Every error raised on bad input derives from `NNError` and from the
built-in exception a caller would expect (``ValueError`` or ``TypeError``), so
``except ValueError`` keeps working.  Messages say what was wrong and how to
fix it.
"""

from __future__ import annotations


class NNError(Exception):
    """Base class of every error raised by ``nn``."""


class ShapeError(NNError, ValueError):
    """An array has the wrong shape or number of dimensions for a layer or loss."""


class ConfigError(NNError, ValueError):
    """A hyper-parameter or constructor argument is out of its valid range."""


class NotHEFriendlyError(NNError, ValueError):
    """A model contains a layer that cannot be evaluated under CKKS (ReLU, max-pool).

    Convert it first with `nn.convert.he_friendly_copy` or
    `nn.convert.convert_and_distill`.
    """


class ModelFormatError(NNError, ValueError):
    """A saved model file is malformed, of an unknown version, or inconsistent."""


class IDXFormatError(NNError, ValueError):
    """A file is not a valid IDX (MNIST-format) file."""


class DatasetError(NNError, ValueError):
    """A dataset name, split fraction, or data file is invalid."""


class LayerTypeError(NNError, TypeError):
    """An object that is not an ``nn`` layer was given where a layer is required."""


class StateError(NNError, RuntimeError):
    """An operation was called in the wrong order (e.g. backward before forward)."""


class TrainingDivergedError(NNError, FloatingPointError):
    """The training loss became NaN or infinite (lower the learning rate or clip gradients)."""


class ONNXImportError(NNError, ValueError):
    """An ONNX model cannot be imported: malformed bytes, an unsupported opset, a symbolic
    dimension other than the batch, non-finite weights, or a graph that is not a sequential chain.

    Operators that are not polynomials (Relu, MaxPool, Sigmoid...) raise `NotHEFriendlyError` instead.
    """


class OptionalDependencyError(NNError, ImportError):
    """An optional dependency is not installed (e.g. ``onnx`` for `nn.onnx`); the message
    gives the ``pip install`` command."""
