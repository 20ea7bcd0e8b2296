"""The exception hierarchy of the ``nn`` package.

Every error raised on bad input derives from `NNError` and from the
built-in exception a caller would expect (``ValueError`` or ``TypeError``), so
``except ValueError`` keeps working.  Messages say what was wrong and how to
fix it.

One hierarchy for the encrypted layer too.  ``nn.encrypted`` runs on ``ckks``,
whose errors derive from ``ckks.errors.CKKSError``.  At the ``nn.encrypted``
API boundary (every public function and method, see `translating`) a
``CKKSError`` is re-raised as an error class that derives from *both*
`NNError` and the original ckks class (`translate`): ``except NNError``
catches everything ``nn.encrypted`` raises, and ``except ckks.errors.LevelError``
still catches a level error.  The classes are made on first use, so plaintext
``nn`` never imports ``ckks``; ``nn.errors.LevelError`` (any ckks error name)
gives the class.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


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


class RefreshError(NNError, ValueError):
    """The key owner refused a refresh: a ciphertext it did not issue in this training, or one outside
    the plan (level, scale, count, value range), or the plan's refresh budget is spent.

    The message is deliberately generic (it never says which check failed), so that a server that
    crafts ciphertexts learns nothing from the refusal beyond the refusal itself.
    """


class ResourceLimitError(NNError, MemoryError):
    """A model, layer or ONNX graph would need more memory than the ``memory_limit`` it was given (the
    estimate is made before anything is allocated); pass a larger ``memory_limit`` (or None) if the
    machine has it."""


class RangeWarning(UserWarning):
    """Values at a layer's input leave the range recorded on the calibration data at compile time: a
    polynomial approximation (``compile(..., approximate=True)``, `nn.encrypted.approximation`) is
    only valid there, and the encrypted result may be garbage.  The message names the layer."""


_TRANSLATED: dict[type, type] = {}


def translated_class(ckks_class: type) -> type:
    """The error class that derives from both `NNError` and ``ckks_class`` (made once, then cached).

    Args:
        ckks_class: a subclass of ``ckks.errors.CKKSError``.

    Returns:
        The class ``nn.errors.<Name>`` with bases (NNError, ckks_class).
    """
    cls = _TRANSLATED.get(ckks_class)
    if cls is None:
        cls = type(ckks_class.__name__, (NNError, ckks_class), {
            "__module__": __name__,
            "__doc__": f"``ckks.errors.{ckks_class.__name__}`` raised through ``nn.encrypted`` (also an NNError).",
            "__str__": lambda self: str(self.args[0]) if self.args else "",
        })
        _TRANSLATED[ckks_class] = cls
    return cls


def translate(exc: BaseException) -> BaseException:
    """``exc`` as an `NNError` when it is a ckks error that is not one already; otherwise ``exc``.

    Args:
        exc: an exception.

    Returns:
        An instance of `translated_class` of its class with the same message and ``__cause__`` = ``exc``,
        or ``exc`` itself.
    """
    from ckks.errors import CKKSError  # only when an error is raised: plaintext nn never imports ckks

    if isinstance(exc, NNError) or not isinstance(exc, CKKSError):
        return exc
    new = translated_class(type(exc))(*exc.args)
    new.__cause__ = exc
    return new


def translating(func: _F) -> _F:
    """Decorate an ``nn.encrypted`` entry point: ckks errors it raises come out as `NNError` too (`translate`).

    Args:
        func: the function or method.

    Returns:
        The wrapped function (same signature and docstring).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            new = translate(exc)
            if new is exc:
                raise
            raise new from exc

    return wrapper  # type: ignore[return-value]


def translating_methods(cls: type) -> type:
    """Class decorator: `translating` on every public method (and ``__init__``) defined in ``cls``.

    Args:
        cls: the class.

    Returns:
        The same class.
    """
    for name, value in list(vars(cls).items()):
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(value, (staticmethod, classmethod)):
            setattr(cls, name, type(value)(translating(value.__func__)))
        elif callable(value) and not isinstance(value, type):
            setattr(cls, name, translating(value))
    return cls


def __getattr__(name: str) -> type:
    """``nn.errors.LevelError`` and friends: the translated class of a ckks error of that name.

    Args:
        name: the attribute.

    Returns:
        `translated_class` of ``ckks.errors.<name>``.

    Raises:
        AttributeError: ``name`` is not a ckks error class.
    """
    if not name.startswith("_"):
        import ckks.errors

        ckks_class = getattr(ckks.errors, name, None)
        if isinstance(ckks_class, type) and issubclass(ckks_class, ckks.errors.CKKSError):
            return translated_class(ckks_class)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
