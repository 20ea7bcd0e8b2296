"""Ciphertext-level helpers shared by the layouts (on a context's evaluator, encoder and rotator).

Every helper states its level and scale effect; ``s`` is the input scale and
``q_l`` the last prime of the input's level l.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np

from ckks.circuits import polynomial
from ckks.circuits.interleave import InterleavedEncoder, InterleavedRotator, check_copies
from ckks.errors import PrecisionWarning
from ckks.scheme.ciphertext import Ciphertext


@contextlib.contextmanager
def ranges_checked_in_plaintext() -> Iterator[None]:
    """Run ciphertext code with ckks's "may overflow" PrecisionWarnings silenced.

    The generic magnitude bound that ckks tracks compounds worst cases through every polynomial,
    matrix product and masked sum, and overestimates a network's values by orders of magnitude.
    Encrypted inference (the plan's calibrated ranges with margin, parameters chosen so that they
    fit, InputRangeWarning at encrypt) and encrypted training (the plaintext twin's range check of
    every intermediate before anything is encrypted) check the real ranges instead.  A bound that
    is certain to be exceeded still raises LevelError.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        yield


class Ops:
    """Level-aware ciphertext operations with one context's public machinery.

    Args:
        context: a ``ckks.Context`` (a public copy is enough).
        copies: B > 1 runs every helper on B interleaved copies of S / B slots
            (`ckks.circuits.interleave`): ``enc`` and ``rotator`` are then views that repeat plaintext
            vectors B times and rotate by k B, and ``params.slots`` is S / B.

    Raises:
        InputError: ``copies`` is not a power of two dividing the slots.
    """

    def __init__(self, context, copies: int = 1):
        self.context = context
        self.ev = context.evaluator
        self.copies = check_copies(copies, context.params.slots)
        self.enc = context.encoder if self.copies == 1 else InterleavedEncoder(context.encoder, self.copies)
        self.params = self.enc.params
        self._rotator = None

    @property
    def rotator(self):
        if self.copies == 1:
            return self.context.rotator
        if self._rotator is None or self._rotator.rotator is not self.context.rotator:
            self._rotator = InterleavedRotator(self.context.rotator, self.copies)
        return self._rotator

    def multiply(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a * b, relinearized and rescaled: level min(l_a, l_b) - 1, scale s_a s_b / q_l."""
        return self.ev.rescale(self.ev.relinearize(self.ev.multiply(a, b)))

    def add_constant(self, a: Ciphertext, value: float) -> Ciphertext:
        """a + c in every slot (no level)."""
        if value == 0:
            return a
        return self.ev.add_plain(a, self.enc.encode_constant(float(value), a.scale, a.level))

    def add_vector(self, a: Ciphertext, values: np.ndarray) -> Ciphertext:
        """a + v slot-wise (v zero-padded; no level)."""
        if not np.any(values):
            return a
        return self.ev.add_plain(a, self.enc.encode(np.asarray(values, dtype=np.float64), a.scale, a.level))

    def polyval(self, ct: Ciphertext, coeffs) -> Ciphertext:
        """sum_k c_k x^k: ceil(log2(d + 1)) levels, scale kept (``ckks.circuits.polynomial``)."""
        return polynomial.polyval(ct, np.asarray(coeffs, dtype=np.float64), self.ev, self.enc)

    def chebval(self, ct: Ciphertext, coeffs) -> Ciphertext:
        """sum_k c_k T_k(x) for x in [-1, 1]: ceil(log2(d + 1)) levels, scale kept."""
        return polynomial.chebval(ct, np.asarray(coeffs, dtype=np.float64), (-1.0, 1.0), self.ev, self.enc)

    def activation(self, ct: Ciphertext, stage) -> Ciphertext:
        """A PolyStage on one ciphertext (see `nn.encrypted.plan`)."""
        if stage.mode == "square":
            return self.multiply(ct, ct)
        if stage.mode == "monic2":
            return self.multiply(ct, self.add_constant(ct, float(stage.coeffs[1])))
        return self.polyval(ct, stage.coeffs)
