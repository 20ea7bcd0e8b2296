"""A level-bound view of the RNS ring (Lattigo's ``ring.AtLevel``).

A polynomial of R_Q = Z_Q[X]/(X^N + 1) with Q = q_0 ... q_l is a uint64 array
of shape (l + 1, N): row k holds its residues mod q_k.  Every operation on it
needs the same four things: which rows of the prime table it uses, the primes
of those rows, their Barrett constants and their NTT tables.  A
[`RingAtLevel`][ckks.ring.level.RingAtLevel] holds them once, so that code says
``ring.moduli`` and ``ring.forward(a)`` instead of slicing
``moduli_array[rows]``, ``ratios[rows]`` and friends by hand.

The rows need not be contiguous: the key-switching basis Q_l * P is the data
rows 0..l followed by the special rows.

May import: numpy, the rest of `ckks.ring`, `ckks.errors` and `ckks.validation`.
"""

from __future__ import annotations

import numpy as np

from ckks.errors import InputError
from ckks.ring.modarith import poly_add, poly_mul, poly_neg, poly_sub, reduce_signed
from ckks.ring.ntt import NTTTables
from ckks.validation import is_integer

__all__ = ["RingAtLevel"]


class RingAtLevel:
    """R_Q for Q the product of the primes at ``rows`` of an NTT table.

    Args:
        tables: the NTT tables of every prime of the parameter set.
        rows: the row indices (into ``tables``) of the primes of Q, in limb order.
        ratios: the Barrett ratios of every prime, shape (primes, 2).

    Attributes:
        rows: int64 array, the table rows of the limbs.
        moduli: uint64 array, q_k for each limb.
        ratios: uint64 array (limbs, 2), floor(2^128 / q_k) split in two words.
        poly_degree: N.
        limbs: the number of primes.
    """

    def __init__(self, tables: NTTTables, rows: np.ndarray, ratios: np.ndarray):
        self.tables = tables
        self.rows = np.ascontiguousarray(rows, dtype=np.int64)
        self.moduli = np.ascontiguousarray(tables.moduli[self.rows], dtype=np.uint64)
        self.ratios = np.ascontiguousarray(ratios[self.rows], dtype=np.uint64)
        self.poly_degree = int(tables.psi_rev.shape[1])
        self.limbs = len(self.rows)

    def __repr__(self) -> str:
        return f"RingAtLevel(N={self.poly_degree}, limbs={self.limbs}, rows={self.rows.tolist()})"

    # -- shapes -------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(limbs, N): the shape of one polynomial of this ring."""
        return (self.limbs, self.poly_degree)

    def empty(self) -> np.ndarray:
        """An uninitialised polynomial of this ring.

        Returns:
            A new uint64 array of shape (limbs, N) (contents arbitrary).
        """
        return np.empty(self.shape, dtype=np.uint64)

    def zeros(self) -> np.ndarray:
        """The zero polynomial of this ring (zero in either form).

        Returns:
            A new uint64 array of zeros, shape (limbs, N).
        """
        return np.zeros(self.shape, dtype=np.uint64)

    def check(self, poly: np.ndarray, name: str = "polynomial") -> None:
        """Refuse anything but a C-contiguous uint64 array of shape (limbs, N).

        Args:
            poly: the array to check before a numba kernel sees it.
            name: what it is, for the message.

        Raises:
            InputError: wrong dtype, shape or memory layout.
        """
        if not isinstance(poly, np.ndarray) or poly.dtype != np.uint64 or poly.shape != self.shape:
            got = f"{poly.dtype} array of shape {poly.shape}" if isinstance(poly, np.ndarray) else type(poly).__name__
            raise InputError(f"{name} must be a uint64 array of shape {self.shape}, got {got}")
        if not poly.flags.c_contiguous:
            raise InputError(f"{name} must be C-contiguous (np.ascontiguousarray); got a strided view")

    # -- NTT ----------------------------------------------------------------------------------------
    def forward(self, poly: np.ndarray) -> np.ndarray:
        """Coefficient form -> NTT form, in place (limb k w.r.t. q_k).

        Args:
            poly: uint64 array (limbs, N), coefficient form, residues in [0, q_k).

        Returns:
            ``poly``, now in NTT form.
        """
        return self.tables.forward(poly, self.rows)

    def inverse(self, poly: np.ndarray) -> np.ndarray:
        """NTT form -> coefficient form, in place, residues in [0, q_k).

        Args:
            poly: uint64 array (limbs, N), NTT form.

        Returns:
            ``poly``, now in coefficient form.
        """
        return self.tables.inverse(poly, self.rows)

    def from_signed(self, values: np.ndarray) -> np.ndarray:
        """Small signed integer coefficients (N,) -> a new polynomial in NTT form.

        Used for secrets, errors and flooding noise: each coefficient c is
        reduced to c mod q_k in every limb, then transformed.

        Args:
            values: N integers (anything that converts to int64).

        Returns:
            A new uint64 array (limbs, N) in NTT form.
        """
        out = self.empty()
        reduce_signed(np.asarray(values, dtype=np.int64), self.moduli, out)
        return self.forward(out)

    def to_coefficients(self, poly: np.ndarray) -> np.ndarray:
        """NTT form -> a new array in coefficient form (``poly`` is left unchanged).

        Args:
            poly: uint64 array (limbs, N), NTT form.

        Returns:
            A new uint64 array, coefficient form, residues in [0, q_k).
        """
        return self.inverse(poly.copy())

    def uniform(self, prng) -> np.ndarray:
        """A uniformly random polynomial; uniform residues are uniform in either form (as SEAL draws them).

        Args:
            prng: the randomness (a `PRNG`); limb k takes N draws mod q_k, in limb order.

        Returns:
            A new uint64 array (limbs, N).
        """
        return np.stack([prng.uniform_mod(int(q), self.poly_degree) for q in self.moduli])

    # -- pointwise arithmetic (either form, both operands in the same form) ----------------------------
    def add(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(a + b) mod q_k per limb; ``out`` may alias an input.

        Args:
            a: uint64 array (limbs, N), residues in [0, q_k).
            b: same shape and form as ``a``.
            out: where to write (default: a new array).

        Returns:
            ``out``.
        """
        return poly_add(a, b, self.moduli, self.empty() if out is None else out)

    def sub(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(a - b) mod q_k per limb; ``out`` may alias an input.

        Args:
            a: uint64 array (limbs, N), residues in [0, q_k).
            b: same shape and form as ``a``.
            out: where to write (default: a new array).

        Returns:
            ``out``.
        """
        return poly_sub(a, b, self.moduli, self.empty() if out is None else out)

    def neg(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(-a) mod q_k per limb.

        Args:
            a: uint64 array (limbs, N), residues in [0, q_k).
            out: where to write (default: a new array); may be ``a``.

        Returns:
            ``out``.
        """
        return poly_neg(a, self.moduli, self.empty() if out is None else out)

    def mul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """a * b mod q_k per limb (the negacyclic product when both are in NTT form).

        Args:
            a: uint64 array (limbs, N), residues in [0, q_k).
            b: same shape and form as ``a``.
            out: where to write (default: a new array); may alias an input.

        Returns:
            ``out``.
        """
        return poly_mul(a, b, self.moduli, self.ratios, self.empty() if out is None else out)

    def sub_ring(self, limbs: int) -> RingAtLevel:
        """The ring of the first ``limbs`` limbs of this one (e.g. one level lower).

        Args:
            limbs: how many leading limbs to keep.

        Returns:
            A view sharing this one's tables.

        Raises:
            InputError: ``limbs`` is not between 1 and this ring's limb count.
        """
        if not is_integer(limbs) or not 1 <= limbs <= self.limbs:
            raise InputError(f"a sub-ring needs between 1 and {self.limbs} limbs, got {limbs!r}")
        limbs = int(limbs)
        view = RingAtLevel.__new__(RingAtLevel)
        view.tables, view.poly_degree, view.limbs = self.tables, self.poly_degree, limbs
        view.rows, view.moduli, view.ratios = self.rows[:limbs], self.moduli[:limbs], self.ratios[:limbs]
        return view
