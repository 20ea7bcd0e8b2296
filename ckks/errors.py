"""The exception hierarchy of the library.

Every error a user can trigger with bad input is a `CKKSError`, so
``except ckks.errors.CKKSError`` catches them all.  Each subclass also derives
from the closest built-in exception (``ValueError``, ``TypeError``,
``KeyError``) so that generic code keeps working.  Messages say what was wrong
*and* what to do about it.
"""

from __future__ import annotations


class CKKSError(Exception):
    """Base class of every error raised by `ckks`."""


class ParameterError(CKKSError, ValueError):
    """Encryption parameters (ring degree, moduli, scale, dnum) are invalid."""


class SecurityError(ParameterError):
    """Parameters are below the requested HomomorphicEncryption.org security level."""


class LevelError(CKKSError, ValueError):
    """A ciphertext has no modulus left for the requested operation."""


class ScaleMismatchError(CKKSError, ValueError):
    """Two operands of an addition have scales that do not agree."""


class LevelMismatchError(CKKSError, ValueError):
    """Two operands are at different levels and the context's automatic modulus switching is off."""


class KeyMissingError(CKKSError, KeyError):
    """A key needed by the operation (relinearization, Galois, secret) is absent."""

    def __str__(self) -> str:  # KeyError would repr() the message: keep it readable
        return str(self.args[0]) if self.args else ""


class ContextMismatchError(CKKSError, ValueError):
    """Objects come from different parameter sets or different keys."""


class SerializationError(CKKSError, ValueError):
    """Serialized bytes are truncated, corrupted, of another version or another context."""


class WrongContextError(SerializationError, ContextMismatchError):
    """Serialized data was made for other parameters or keys than the context it is loaded into.

    Both a `SerializationError` (the load failed) and a
    `ContextMismatchError` (the cause), so either ``except`` catches it.
    """


class InputError(CKKSError, ValueError):
    """A value passed to a public entry point has the wrong shape, length or content."""


class InputTypeError(CKKSError, TypeError):
    """A value passed to a public entry point has the wrong type."""


class InsecureWarning(UserWarning):
    """Warns that a configuration is insecure (toy parameters, a fixed seed)."""


class PrecisionWarning(UserWarning):
    """Warns that a configuration loses precision (for example a special modulus smaller than a digit)."""
