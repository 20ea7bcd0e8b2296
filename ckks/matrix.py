"""CKKSMatrix: an encrypted d x d matrix in the packed form of Jiang et al. (CCS 2018).

The matrix is stored row-major in d^2 slots and repeated over the N/2 slots
(see `ckks.circuits.matrix_product` for the algorithms).  ``A @ B`` multiplies two
encrypted matrices (3 levels) and ``A.T`` transposes (1 level); levels and
scales are managed as for `ckks.CKKSVector`.  The rotations need Galois
keys for the steps of `CKKSMatrix.rotation_steps` (any other keys work
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
    """An encrypted d x d matrix (row-major in d^2 slots, repeated over the N/2 slots).

    Args:
        vector: the packed matrix (its size is d^2).
        d: the dimension (d^2 divides N/2).

    Raises:
        InputTypeError: ``vector`` is not a CKKSVector.
        InputError: ``d`` is not a positive integer whose square divides N/2.
    """

    def __init__(self, vector: CKKSVector, d: int):
        if not isinstance(vector, CKKSVector):
            raise InputTypeError(f"vector must be a CKKSVector, got {type(vector).__name__}")
        self.vector = vector
        self.d = jiang.check_dimension(d, vector.context.slots)

    @classmethod
    def encrypt(cls, context: Context, matrix) -> CKKSMatrix:
        """Encrypt a square matrix whose d^2 divides N/2 (d a power of two).

        Args:
            context: the context to encrypt with.
            matrix: a d x d array of real or complex numbers.

        Returns:
            The encrypted matrix at the top level and the context's scale.

        Raises:
            InputTypeError: ``matrix`` is not an array of numbers.
            InputError: ``matrix`` is not square, not finite, or d^2 does not divide N/2.
        """
        packed = jiang.pack_matrix(matrix, context.slots)
        d = int(np.asarray(matrix).shape[0])
        fresh = context.encrypt(packed)
        # the copies of the matrix fill the slots beyond d^2: no zero tail
        vector = CKKSVector(context, fresh.ciphertext, d * d, fresh.is_complex, zero_tail=False)
        return cls(vector, d)

    @staticmethod
    def rotation_steps(context: Context, d: int, transpose: bool = True) -> list[int]:
        """The rotation steps whose keys make products (and transposes) use direct rotations.

        Args:
            context: the context (for N/2).
            d: the matrix dimension.
            transpose: include the steps of the transpose.

        Returns:
            Sorted steps for ``context.generate_galois_keys(steps)``.

        Raises:
            InputError: ``d`` is not a positive integer whose square divides N/2.
        """
        steps = set(jiang.matrix_product_steps(d, context.slots))
        if transpose:
            steps |= set(jiang.transpose_steps(d, context.slots))
        return sorted(steps)

    @property
    def level(self) -> int:
        """Rescales left."""
        return self.vector.level

    @property
    def scale(self) -> float:
        """The scale of the encrypted entries."""
        return self.vector.scale

    @property
    def shape(self) -> tuple[int, int]:
        """(d, d)."""
        return (self.d, self.d)

    def __repr__(self) -> str:
        return f"CKKSMatrix(d={self.d}, level={self.level}, scale=2^{np.log2(self.scale):.2f})"

    def decrypt(self, flooding=None) -> np.ndarray:
        """The d x d matrix (real unless complex values went in).

        Args:
            flooding: as for vectors ([`Context.decrypt`][ckks.context.Context.decrypt]): None / False
                (the context's policy), True (the default policy) or a
                [`Flooding`][ckks.security.flooding.Flooding] policy.

        Returns:
            The decrypted matrix.

        Raises:
            KeyMissingError: the context has no secret key.
            InputTypeError: ``flooding`` is not a bool, None or a Flooding.
            ParameterError: flooding without a noise estimate, or noise that does not fit the modulus.
        """
        return self.vector.context.decrypt(self.vector, flooding=flooding)[: self.d * self.d].reshape(self.d, self.d)

    def _wrap(self, ciphertext) -> CKKSMatrix:
        vector = CKKSVector(self.vector.context, ciphertext, self.d * self.d, self.vector.is_complex)
        return CKKSMatrix(vector, self.d)

    def _tools(self):
        ctx = self.vector.context
        return ctx.evaluator, ctx.encoder, ctx.rotator

    def matmul(self, other: CKKSMatrix) -> CKKSMatrix:
        """self @ other, both encrypted (Jiang et al. 2018).  3 levels: l -> l - 3.

        Args:
            other: a d x d encrypted matrix of the same context.

        Returns:
            The product.

        Raises:
            InputTypeError: ``other`` is not a CKKSMatrix.
            InputError: ``other`` has another dimension.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            LevelError: fewer than 3 levels are left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
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
        """The transpose, a linear transform with 2d - 1 diagonals.  1 level: l -> l - 1.

        Returns:
            A^T.

        Raises:
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        return self._wrap(jiang.matrix_transpose(self.vector.ciphertext, self.d, *self._tools()))

    @property
    def T(self) -> CKKSMatrix:  # noqa: N802 - numpy's name
        """The transpose (see [`transpose`][ckks.matrix.CKKSMatrix.transpose]); 1 level."""
        return self.transpose()
