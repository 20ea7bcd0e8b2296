"""Argument checks shared by every layer: one place that says what a valid integer, number or flag is.

Python's ``bool`` is a subclass of ``int``, and numpy has its own integer and
float types; these helpers accept numpy scalars, refuse ``bool`` where a
number is meant, and raise the error class the caller names (by default
[`InputTypeError`][ckks.errors.InputTypeError] for a wrong type and
[`InputError`][ckks.errors.InputError] for a value out of range), with a message
that names the argument, shows what was given and says what is expected.

May import: numpy, the standard library and `ckks.errors` only.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ckks.errors import InputError, InputTypeError

__all__ = ["check_bool", "check_int", "check_real", "is_integer", "is_real", "preview"]


def preview(value: object, limit: int = 60) -> str:
    """A short ``repr`` of ``value`` for an error message (cut at ``limit`` characters).

    Args:
        value: anything.
        limit: the most characters.

    Returns:
        The text.
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_integer(value: object) -> bool:
    """True for Python and numpy integers, False for ``bool`` and everything else.

    Args:
        value: anything.

    Returns:
        Whether it is an integer and not a bool.
    """
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> bool:
    """True for Python and numpy integers and floats, False for ``bool``, complex and everything else.

    Args:
        value: anything.

    Returns:
        Whether it is a real number and not a bool.
    """
    return isinstance(value, (numbers.Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_int(
    name: str,
    value: object,
    low: int | None = None,
    high: int | None = None,
    *,
    error: type[Exception] = InputError,
    type_error: type[Exception] | None = None,
) -> int:
    """``value`` as a Python ``int`` if it is an integer in ``[low, high]``.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        low: the smallest allowed value (None: no bound).
        high: the largest allowed value (None: no bound).
        error: the class raised for a value out of range (and, unless
            ``type_error`` is given, for a wrong type).
        type_error: the class raised when ``value`` is not an integer
            (default: [`InputTypeError`][ckks.errors.InputTypeError] if ``error`` is
            [`InputError`][ckks.errors.InputError], else ``error``).

    Returns:
        ``int(value)``.

    Raises:
        InputTypeError: (or ``type_error``) ``value`` is not an integer, or is a bool.
        InputError: (or ``error``) ``value`` is below ``low`` or above ``high``.
    """
    if not is_integer(value):
        raise _type_error(error, type_error)(f"{name} must be an integer{_range(low, high)}, got {preview(value)}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        raise error(f"{name} must be an integer{_range(low, high)}, got {number}")
    return number


def check_real(
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    error: type[Exception] = InputError,
    type_error: type[Exception] | None = None,
) -> float:
    """``value`` as a finite Python ``float`` if it is a real number in the given range.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        low: the smallest allowed value (None: no bound).
        high: the largest allowed value (None: no bound).
        low_open: if True, ``value`` must be strictly greater than ``low``.
        error: the class raised for a value that is not finite or out of range.
        type_error: the class raised when ``value`` is not a real number
            (default as in `check_int`).

    Returns:
        ``float(value)``.

    Raises:
        InputTypeError: (or ``type_error``) ``value`` is not a real number (bool and complex included).
        InputError: (or ``error``) ``value`` is NaN, infinite, or outside the range.
    """
    if not is_real(value):
        raise _type_error(error, type_error)(f"{name} must be a real number, got {preview(value)}")
    try:
        number = float(value)
    except OverflowError as exc:  # an int too large for a float
        raise error(f"{name} must be a finite real number, got an integer of {int(value).bit_length()} bits") from exc
    if not math.isfinite(number):
        raise error(f"{name} must be a finite real number, got {number}")
    below = low is not None and (number <= low if low_open else number < low)
    if below or (high is not None and number > high):
        bound = f" > {low}" if low_open and high is None else _range(low, high)
        raise error(f"{name} must be a real number{bound}, got {number}")
    return number


def check_bool(name: str, value: object, *, error: type[Exception] = InputTypeError) -> bool:
    """``value`` if it is a ``bool`` (numpy's included): flags are not guessed from strings or numbers.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        error: the class raised for anything else.

    Returns:
        ``bool(value)``.

    Raises:
        InputTypeError: (or ``error``) ``value`` is not True or False.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{name} must be True or False, got {preview(value)}")
    return bool(value)


def _type_error(error: type[Exception], type_error: type[Exception] | None) -> type[Exception]:
    if type_error is not None:
        return type_error
    return InputTypeError if error is InputError else error


def _range(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" >= {low}"
    if low is None:
        return f" <= {high}"
    return f" in [{low}, {high}]"
