"""CKKSMatrix: an encrypted d x d matrix in the packed form of Jiang et al. (CCS 2018).

The matrix is stored row-major in d^2 slots and repeated over the N/2 slots
(see :mod:`ckks.circuits.linear_transform` for the algorithms).  ``A @ B`` multiplies two
encrypted matrices (3 levels) and ``A.T`` transposes (1 level); levels and
scales are managed as for :class:`ckks.CKKSVector`.  The rotations need Galois
keys for the steps of :meth:`CKKSMatrix.rotation_steps` (any other keys work
too, composed, but more slowly)::

    ctx.generate_galois_keys(CKKSMatrix.rotation_steps(ctx, d))
    a, b = CKKSMatrix.encrypt(ctx, A), CKKSMatrix.encrypt(ctx, B)
    (a @ b).T.decrypt()          # ~ (A @ B).T
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ckks.circuits import matrix_product as jiang
from ckks.errors import InputError, InputTypeError
from ckks.vector import CKKSVector

if TYPE_CHECKING:  # type hints only: the context sits above the matrix
    from ckks.context import Context


class CKKSMatrix:
    """An encrypted d x d matrix (row-major, repeated over the slots)."""

    def __init__(self, vector: CKKSVector, d: int):
        if not isinstance(vector, CKKSVector):
            raise InputTypeError(f"vector must be a CKKSVector, got {type(vector).__name__}")
        self.vector = vector
        self.d = jiang.check_dimension(d, vector.context.slots)

    @classmethod
    def encrypt(cls, context: Context, matrix) -> CKKSMatrix:
        """Encrypt a square matrix whose d^2 divides N/2 (d a power of two)."""
        packed = jiang.pack_matrix(matrix, context.slots)
        d = int(np.asarray(matrix).shape[0])
        vector = context.encrypt(packed)
        vector.size = d * d
        vector.zero_tail = False  # the copies of the matrix fill the other slots
        return cls(vector, d)

    @staticmethod
    def rotation_steps(context: Context, d: int, transpose: bool = True) -> list[int]:
        """The rotation steps whose keys make products (and transposes) use direct rotations."""
        steps = set(jiang.matrix_product_steps(d, context.slots))
        if transpose:
            steps |= set(jiang.transpose_steps(d, context.slots))
        return sorted(steps)

    @property
    def level(self) -> int:
        return self.vector.level

    @property
    def scale(self) -> float:
        return self.vector.scale

    @property
    def shape(self) -> tuple[int, int]:
        return (self.d, self.d)

    def __repr__(self) -> str:
        return f"CKKSMatrix(d={self.d}, level={self.level}, scale=2^{np.log2(self.scale):.2f})"

    def decrypt(self) -> np.ndarray:
        """The d x d matrix (real unless complex values went in)."""
        return self.vector.decrypt()[: self.d * self.d].reshape(self.d, self.d)

    def _wrap(self, ciphertext) -> CKKSMatrix:
        vector = CKKSVector(self.vector.context, ciphertext, self.d * self.d, self.vector.is_complex)
        return CKKSMatrix(vector, self.d)

    def _tools(self):
        ctx = self.vector.context
        return ctx.evaluator, ctx.encoder, ctx.rotator

    def matmul(self, other: CKKSMatrix) -> CKKSMatrix:
        """self @ other, both encrypted (Jiang et al. 2018).  3 levels."""
        if not isinstance(other, CKKSMatrix):
            raise InputTypeError(f"other must be a CKKSMatrix, got {type(other).__name__}")
        if other.d != self.d:
            raise InputError(
                f"cannot multiply a {self.d}x{self.d} matrix by a {other.d}x{other.d} matrix (argument 'other')"
            )
        self.vector._check_other(other.vector)
        ct = jiang.matrix_product(self.vector.ciphertext, other.vector.ciphertext, self.d, *self._tools())
        return self._wrap(ct)

    __matmul__ = matmul

    def transpose(self) -> CKKSMatrix:
        """The transpose, a linear transform with 2d - 1 diagonals.  1 level."""
        return self._wrap(jiang.matrix_transpose(self.vector.ciphertext, self.d, *self._tools()))

    @property
    def T(self) -> CKKSMatrix:  # noqa: N802 - numpy's name
        return self.transpose()
