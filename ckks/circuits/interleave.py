"""Interleaved packing: B independent slot vectors of S/B slots in one ciphertext.

With B a power of two dividing S = N/2, the slots factor as C^S = C^(S') (x) C^B,
S' = S / B, by the index

    slot  i B + j  =  value i of copy j        (0 <= i < S', 0 <= j < B).

Three facts make every circuit written for S' slots run on the B copies at once:

* a rotation by k B moves slot i B + j to (i - k) B + j modulo S = S' B: it rotates
  every copy by k, cyclically modulo S' (the copies never mix);
* a plaintext product with the vector v repeated B times (``np.repeat(v, B)``)
  multiplies value i of every copy by v_i;
* slot-wise operations (sums, products, polynomials, conjugation, a bootstrap that
  refreshes all S slots) act on each slot alone.

So a linear map M of S' slots becomes M (x) I_B: its diagonal k (Halevi-Shoup) is the
diagonal k B of the big map, repeated B times.  `InterleavedEncoder` and
`InterleavedRotator` are views of a context's encoder and rotator that do exactly this:
code written for S' slots (``ckks.circuits.linear_transform``, polynomial evaluation,
comparisons) takes them in place of the originals and computes on B vectors for the price
of one.  The Galois keys it needs are those of the steps k B (`physical_steps`).

This is the slot structure of the "multiplexed" packings (Lee et al., ICML 2022, Sec. 3),
applied to whole vectors: a batch of B samples in one ciphertext, each sample in the
layout it would have alone on a ring of S' slots.  A bootstrap must refresh all S slots
(sparse packing replicates S'-slot vectors, which leaves no room for other copies).
"""

from __future__ import annotations

import numpy as np

from ckks.errors import InputError
from ckks.scheme.ciphertext import Plaintext
from ckks.scheme.encoder import Encoder
from ckks.scheme.parameters import Parameters
from ckks.scheme.rotation import Rotator
from ckks.validation import check_int


def check_copies(copies: int, slots: int) -> int:
    """``copies`` as an int: a power of two that divides ``slots``.

    Raises:
        InputTypeError: ``copies`` is not an integer.
        InputError: ``copies`` is not a power of two, or does not divide ``slots``.
    """
    copies = check_int("copies", copies, 1)
    if copies & (copies - 1) or slots % copies:
        raise InputError(f"copies must be a power of two that divides the {slots} slots, got {copies}")
    return copies


def interleave(rows: np.ndarray, slots: int) -> np.ndarray:
    """B vectors of at most S / B values -> one slot vector of S values, value i of row j at slot i B + j.

    Args:
        rows: shape (B, n) with B a power of two dividing ``slots`` and n <= slots / B (shorter rows are
            zero-padded).
        slots: S = N/2.

    Returns:
        The (S,) vector (float or complex as ``rows``).

    Raises:
        InputTypeError: ``slots`` or the row count is not an integer.
        InputError: ``rows`` is not 2-D, its row count is not a power of two dividing ``slots``, or a row has
            more than ``slots / B`` values.
    """
    rows = np.asarray(rows)
    if rows.ndim != 2:
        raise InputError(f"rows must be a 2-D array (copies, values), got shape {rows.shape}")
    copies = check_copies(rows.shape[0], slots)
    width = slots // copies
    if rows.shape[1] > width:
        raise InputError(f"{copies} interleaved copies hold {width} values each, got rows of {rows.shape[1]}")
    padded = np.zeros((copies, width), dtype=np.result_type(rows.dtype, np.float64))
    padded[:, : rows.shape[1]] = rows
    return padded.T.reshape(-1)


def deinterleave(vector: np.ndarray, copies: int) -> np.ndarray:
    """The inverse of `interleave`: an (S,) slot vector -> (B, S / B), row j = copy j.

    Raises:
        InputTypeError: ``copies`` is not an integer.
        InputError: ``vector`` is not 1-D, or ``copies`` is not a power of two dividing its length.
    """
    vector = np.asarray(vector)
    if vector.ndim != 1:
        raise InputError(f"vector must be 1-D, got shape {vector.shape}")
    copies = check_copies(copies, vector.shape[0])
    return vector.reshape(-1, copies).T


def physical_steps(steps, copies: int, slots: int) -> list[int]:
    """The rotation steps (k mod S') B of the whole ciphertext that make the copies' steps k (zeros dropped).

    Raises:
        InputTypeError: ``copies`` is not an integer.
        InputError: ``copies`` is not a power of two dividing ``slots``.
    """
    copies = check_copies(copies, slots)
    width = slots // copies
    return sorted({(int(k) % width) * copies for k in steps} - {0})


class _SlotView:
    """Parameters as seen by a circuit on one copy: ``slots`` is S / B, everything else is the ring's."""

    def __init__(self, params: Parameters, copies: int):
        self._params = params
        self.copies = copies
        self.slots = params.slots // copies

    def fingerprint(self) -> str:
        return f"{self._params.fingerprint()}/interleaved-{self.copies}"

    def __getattr__(self, name: str):
        return getattr(self._params, name)


class _CopiesView:
    """What both views share: B and the parameters as one copy sees them (``slots`` = S / B)."""

    def __init__(self, params: Parameters, copies: int):
        self.copies = check_copies(copies, params.slots)
        self.params = _SlotView(params, self.copies)

    @property
    def slots(self) -> int:
        """S / B: the slots of one copy (its rotations are cyclic modulo this)."""
        return self.params.slots


class InterleavedEncoder(_CopiesView):
    """An encoder view that encodes a vector of S / B values as that vector repeated B times.

    Any circuit that encodes plaintext vectors through this view computes on all B interleaved copies
    (module docstring).  Scalars and `encode_constant` fill every slot as before.

    Args:
        encoder: the context's encoder (ring of S = N/2 slots).
        copies: B, a power of two dividing S.

    Raises:
        InputTypeError: ``copies`` is not an integer.
        InputError: ``copies`` is not a power of two dividing S.
    """

    def __init__(self, encoder: Encoder, copies: int):
        super().__init__(encoder.params, copies)
        self.encoder = encoder

    def encode(self, values: object, scale: float | None = None, level: int | None = None) -> Plaintext:
        """Encode ``values`` (at most S / B; a number fills every slot) in every copy, at ``scale`` and ``level``.

        Raises:
            InputTypeError, InputError, LevelError: as ``Encoder.encode`` (more than S / B values: InputError).
        """
        if np.ndim(values) == 0:
            return self.encoder.encode(values, scale, level)
        values = np.asarray(values)
        if values.ndim != 1 or values.shape[0] > self.slots:
            raise InputError(f"an interleaved encoding takes a 1-D vector of at most {self.slots} values "
                             f"(one copy of {self.copies}), got shape {values.shape}")
        row = np.zeros(self.slots, dtype=np.result_type(values.dtype, np.float64))
        row[: values.shape[0]] = values
        return self.encoder.encode(np.repeat(row, self.copies), scale, level)

    def encode_constant(self, value: complex, scale: float, level: int) -> Plaintext:
        """The constant in every slot (``Encoder.encode_constant``; raises as it does)."""
        return self.encoder.encode_constant(value, scale, level)

    def decode(self, plaintext: Plaintext) -> np.ndarray:
        """(B, S / B): the decoded values of every copy (``Encoder.decode``, then `deinterleave`)."""
        return deinterleave(self.encoder.decode(plaintext), self.copies)


class InterleavedRotator(_CopiesView):
    """A rotator view that rotates every one of the B interleaved copies by k (the ciphertext by k B).

    Args:
        rotator: the context's rotator (ring of S = N/2 slots).
        copies: B, a power of two dividing S.

    Raises:
        InputTypeError: ``copies`` is not an integer.
        InputError: ``copies`` is not a power of two dividing S.
    """

    def __init__(self, rotator: Rotator, copies: int):
        super().__init__(rotator.params, copies)
        self.rotator = rotator

    def physical(self, step: int) -> int:
        """The ciphertext's step (k mod S / B) B for the copies' step k."""
        return (int(step) % self.slots) * self.copies

    def rotate(self, ct, step: int):
        """Every copy rotated left by ``step`` (``Rotator.rotate`` by the physical step; raises as it does)."""
        return self.rotator.rotate(ct, self.physical(step))

    def rotate_many(self, ct, steps: list[int]) -> dict:
        """{k: every copy rotated by k}, hoisted (``Rotator.rotate_many``; raises as it does)."""
        steps = list(steps)
        done = self.rotator.rotate_many(ct, sorted({self.physical(k) for k in steps}))
        return {k: done[self.physical(k)] for k in steps}

    def conjugate(self, ct):
        """Every slot conjugated (``Rotator.conjugate``; raises as it does)."""
        return self.rotator.conjugate(ct)

    def rotations_needed(self, steps: list[int]) -> int:
        """Key switches `rotate_many` costs (``Rotator.rotations_needed`` of the physical steps)."""
        return self.rotator.rotations_needed([self.physical(k) for k in steps])
