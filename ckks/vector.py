"""The high-level API's encrypted vector, CKKSVector (its Context is in :mod:`ckks.context`).

``CKKSVector`` behaves like TenSEAL's: operators against ciphertexts,
plaintext vectors and scalars; multiplications relinearize and rescale
automatically; additions align levels and scales automatically.

Level and scale management (what the operators do for you):

* ``v * w`` (ciphertexts): align levels, tensor, relinearize, rescale.
  Level l -> l - 1, scale s_v s_w / q_l.
* ``v * p`` (plaintext vector or non-integer scalar): p is encoded at v's
  own scale, multiplied, rescaled: level l -> l - 1, scale s^2 / q_l, exactly
  the scale of ``v * v``, so that products can be added without mismatch.
* ``v * k`` for an integer k: exact, no level used, scale unchanged.
* ``v + w``: if the levels differ, the higher operand is brought down and, on
  the way, its scale is set to the other's exactly: it is multiplied by the
  integer constant c = round(s_target * q / s) and rescaled by q, which uses
  the level it was dropping anyway.  Same-level operands must have agreeing
  scales (ScaleMismatchError otherwise).
* ``v + p``: p is encoded at v's scale and level.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from ckks.circuits import linear_transform, polynomial
from ckks.errors import InputError, InputTypeError, LevelError, ScaleMismatchError
from ckks.scheme.ciphertext import Ciphertext, check_same_context
from ckks.scheme.evaluator import Evaluator, _out_of_levels_message, scales_agree
from ckks.security.flooding import Flooding

if TYPE_CHECKING:  # type hints only: the context sits above the vector
    from ckks.context import Context

class CKKSVector:
    """An encrypted vector of ``size`` values (TenSEAL-style, operator overloaded)."""

    __array_priority__ = 1000  # make numpy defer `ndarray * vector` to __rmul__

    #: True when the slots beyond ``size`` are known to hold zeros (fresh encryptions and
    #: slot-wise results computed from them); sum() and dot() then need no masking level.
    zero_tail = False

    def __init__(self, context: Context, ciphertext: Ciphertext, size: int, is_complex: bool = False):
        self.context = context
        self.ciphertext = ciphertext
        self.size = int(size)
        self.is_complex = bool(is_complex)

    # -- introspection ---------------------------------------------------------
    @property
    def level(self) -> int:
        """Rescales left before the modulus runs out."""
        return self.ciphertext.level

    @property
    def scale(self) -> float:
        return self.ciphertext.scale

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"CKKSVector(size={self.size}, level={self.level}, scale=2^{np.log2(self.scale):.2f})"

    def decrypt(self, flooding: bool | Flooding = False) -> np.ndarray:
        """Decrypt with the context's secret key (``flooding``: see :meth:`Context.decrypt`)."""
        return self.context.decrypt(self, flooding=flooding)

    def serialize(self, compact: bool = True) -> bytes:
        """This vector as bytes (:mod:`ckks.serialize`); a fresh symmetric encryption takes half the space."""
        from ckks.serialize import dumps

        return dumps(self, compact=compact)

    @staticmethod
    def load(context: Context, blob: bytes) -> CKKSVector:
        """A vector from :meth:`serialize` output, checked against ``context`` (parameters and keys)."""
        from ckks.serialize import loads

        return loads(blob, context, kind="vector")

    def copy(self) -> CKKSVector:
        return self._wrap(self.ciphertext.copy())

    # -- plumbing ------------------------------------------------------------------
    @property
    def _ev(self) -> Evaluator:
        return self.context.evaluator

    def _wrap(self, ciphertext: Ciphertext, other: CKKSVector | None = None, size: int | None = None) -> CKKSVector:
        is_complex = self.is_complex or (other is not None and other.is_complex)
        if size is None:
            size = max(self.size, other.size) if other is not None else self.size
        out = CKKSVector(self.context, ciphertext, size, is_complex)
        out.zero_tail = self.zero_tail and (other is None or other.zero_tail)
        return out

    def _check_other(self, other: CKKSVector) -> None:
        check_same_context(self.ciphertext, other.ciphertext)

    def _plain_size(self, other) -> tuple[np.ndarray, int, bool]:
        slots = self.context.encoder.slot_vector(other)
        size = self.size if np.ndim(other) == 0 else max(self.size, _input_size(other, self.context.slots))
        is_complex = bool(np.any(slots.imag != 0))
        return slots, size, is_complex

    def _aligned(self, other: CKKSVector) -> tuple[Ciphertext, Ciphertext]:
        """Both ciphertexts at the same level and scale (see the module docstring)."""
        a, b = self.ciphertext, other.ciphertext
        if a.level > b.level:
            a = self._adjust(a, b.level, b.scale)
        elif b.level > a.level:
            b = self._adjust(b, a.level, a.scale)
        if not scales_agree(a.scale, b.scale):
            raise ScaleMismatchError(
                f"cannot add vectors at the same level with scales 2^{np.log2(a.scale):.4f} and "
                f"2^{np.log2(b.scale):.4f}; compute both along paths with the same number of "
                "multiplications, or multiply the one with the larger scale by 1.0 first"
            )
        return a, b

    def _adjust(self, ct: Ciphertext, level: int, scale: float) -> Ciphertext:
        """ct brought down to ``level`` with its scale set to ``scale`` (uses one dropped level)."""
        ev = self._ev
        ct = ev.mod_switch_to(ct, level + 1)
        q = self.context.params.data_moduli[level + 1]
        factor = round(scale * q / ct.scale)
        if factor < 1:
            raise ScaleMismatchError(
                f"cannot bring scale 2^{np.log2(ct.scale):.2f} to 2^{np.log2(scale):.2f} at level {level}"
            )
        plain = self.context.encoder.encode_constant(1.0, float(factor), ct.level)
        adjusted = ev.rescale(ev.multiply_plain(ct, plain))
        adjusted.scale = scale if scales_agree(adjusted.scale, scale) else adjusted.scale
        return adjusted

    def _rescaled(self, ct: Ciphertext) -> Ciphertext:
        return self._ev.rescale(ct)

    def _require_level(self, *vectors: Ciphertext) -> None:
        for ct in vectors:
            if ct.level == 0:
                raise LevelError(_out_of_levels_message(self.context.params, "multiply"))

    # -- arithmetic -------------------------------------------------------------------
    def __add__(self, other) -> CKKSVector:
        if isinstance(other, CKKSVector):
            self._check_other(other)
            a, b = self._aligned(other)
            return self._wrap(self._ev.add(a, b), other)
        slots, size, is_complex = self._plain_size(other)
        ct = self.ciphertext
        plain = self.context.encoder.encode(slots, ct.scale, ct.level)
        result = self._wrap(self._ev.add_plain(ct, plain), size=size)
        result.is_complex |= is_complex
        return result

    __radd__ = __add__

    def __neg__(self) -> CKKSVector:
        return self._wrap(self._ev.negate(self.ciphertext))

    def __sub__(self, other) -> CKKSVector:
        if isinstance(other, CKKSVector):
            return self + (-other)
        return self + (-_as_plain_array(other))

    def __rsub__(self, other) -> CKKSVector:
        return (-self) + other

    def __mul__(self, other) -> CKKSVector:
        ev = self._ev
        if isinstance(other, CKKSVector):
            self._check_other(other)
            a, b = ev.align_levels(self.ciphertext, other.ciphertext)
            self._require_level(a)
            product = ev.relinearize(ev.multiply(a, b))
            return self._wrap(self._rescaled(product), other)
        if _is_integer(other):
            return self._wrap(ev.multiply_integer(self.ciphertext, int(other)))
        slots, size, is_complex = self._plain_size(other)
        ct = self.ciphertext
        self._require_level(ct)
        plain = self.context.encoder.encode(slots, ct.scale, ct.level)
        result = self._wrap(self._rescaled(ev.multiply_plain(ct, plain)), size=size)
        result.is_complex |= is_complex
        return result

    __rmul__ = __mul__

    def square(self) -> CKKSVector:
        """self * self (one level)."""
        return self * self

    # -- rotations, sums, products (scheme.rotation, circuits.linear_transform, circuits.polynomial) ---
    def rotate(self, steps: int) -> CKKSVector:
        """Rotate the N/2 slots left by ``steps`` (right if negative): slot i <- slot i + steps.

        SEAL's rotate_vector convention; the size is kept.  0 levels; one key
        switch per key used (a step without its own key is composed from the
        keys present, or raises KeyMissingError naming the step).
        """
        out = self._wrap(self.context.rotator.rotate(self.ciphertext, steps))
        out.zero_tail = self.zero_tail and steps % self.context.slots == 0
        return out

    def rotate_many(self, steps: list[int]) -> dict[int, CKKSVector]:
        """{k: self.rotate(k)} for several steps, hoisted (one decomposition).  0 levels."""
        rotated = self.context.rotator.rotate_many(self.ciphertext, steps)
        out = {}
        for k, ct in rotated.items():
            out[k] = self._wrap(ct)
            out[k].zero_tail = self.zero_tail and k % self.context.slots == 0
        return out

    def conjugate(self) -> CKKSVector:
        """Complex-conjugate every slot (needs the conjugation key).  0 levels."""
        return self._wrap(self.context.rotator.conjugate(self.ciphertext))

    def _tail_masked(self) -> Ciphertext:
        """The ciphertext with the slots beyond ``size`` zero: free if known, else one level."""
        if self.zero_tail or self.size == self.context.slots:
            return self.ciphertext
        mask = np.zeros(self.context.slots)
        mask[: self.size] = 1.0
        return (self * mask).ciphertext

    def sum(self) -> CKKSVector:
        """The sum of the ``size`` values, in every slot; a vector of size 1 (as TenSEAL).

        log2(N/2) rotate-and-add steps (rotations by 1, 2, 4, ...: default keys).
        0 levels when the slots beyond ``size`` are known to be zero (fresh
        encryptions and slot-wise results) or size == N/2; otherwise 1 level
        for masking them first.
        """
        ev, rotator = self._ev, self.context.rotator
        ct = self._tail_masked()
        step = 1
        while step < self.context.slots:
            ct = ev.add(ct, rotator.rotate(ct, step))
            step *= 2
        out = self._wrap(ct, size=1)
        out.zero_tail = False
        return out

    def dot(self, other) -> CKKSVector:
        """The inner product with a plaintext vector or a CKKSVector of the same size.

        Size-1 result holding the total in every slot (as TenSEAL).  1 level
        (2 when both operands are ciphertexts whose slots beyond ``size`` are
        not known to be zero).
        """
        if isinstance(other, CKKSVector):
            self._check_other(other)
            other_size, clean = other.size, self.zero_tail or other.zero_tail
        else:
            array = _as_plain_array(other)
            other_size, clean = int(np.size(array)), True
            if np.ndim(array) != 1:
                raise InputError(f"dot takes a 1-D vector (argument 'other'), got shape {np.shape(array)}")
        if other_size != self.size:
            raise InputError(
                f"dot needs vectors of the same size: this vector has {self.size} values, "
                f"argument 'other' has {other_size}"
            )
        product = self * other
        product.zero_tail = clean
        return product.sum()

    def matmul(self, matrix, method: str = "bsgs") -> CKKSVector:
        """The vector-matrix product self @ matrix, as TenSEAL's CKKSVector.matmul.

        ``matrix`` has shape (size, m); the result has size m.  Diagonal method
        with baby-step giant-step (:mod:`ckks.circuits.linear_transform`), or ``method="diagonal"``
        (every diagonal a hoisted rotation).  1 level: l -> l - 1, scale s^2 / q_l.
        """
        array = linear_transform.check_matrix(matrix, rows=self.size, name="matrix")
        ct = linear_transform.vector_matrix_product(
            self.ciphertext, array, self._ev, self.context.encoder, self.context.rotator, method
        )
        out = self._wrap(ct, size=array.shape[1])
        out.zero_tail = True
        out.is_complex |= bool(np.iscomplexobj(array) and np.any(np.imag(array) != 0))
        return out

    mm = matmul

    def __matmul__(self, matrix) -> CKKSVector:
        return self.matmul(matrix)

    def _polynomial_result(self, ct: Ciphertext, value_at_zero: complex, complex_coefficients: bool) -> CKKSVector:
        out = self._wrap(ct)
        out.is_complex |= complex_coefficients
        slots = self.context.slots
        if self.zero_tail and self.size < slots and value_at_zero != 0:
            correction = np.zeros(slots, dtype=np.complex128)
            correction[self.size :] = -value_at_zero  # p(0) landed in the zero slots
            plain = self.context.encoder.encode(correction, ct.scale, ct.level)
            out.ciphertext = self._ev.add_plain(ct, plain)
        return out

    def polyval(self, coefficients) -> CKKSVector:
        """sum_k c_k x^k slot-wise, coefficients in increasing degree (as TenSEAL).

        ceil(log2(d + 1)) levels for degree d, leading coefficient included
        (:mod:`ckks.circuits.polynomial`); the result keeps this vector's scale.
        """
        ct = polynomial.polyval(self.ciphertext, coefficients, self._ev, self.context.encoder)
        c = np.asarray(coefficients)
        return self._polynomial_result(ct, complex(c.reshape(-1)[0]), bool(np.iscomplexobj(c)))

    def chebval(self, coefficients, interval: tuple[float, float] = (-1.0, 1.0)) -> CKKSVector:
        """sum_k c_k T_k(y) slot-wise, y = (2x - a - b) / (b - a) for the interval [a, b].

        ceil(log2(d + 1)) levels, plus one when b - a > 2
        (:func:`ckks.circuits.polynomial.chebyshev_levels`); keeps this vector's scale.
        Fit the coefficients with :mod:`ckks.circuits.chebyshev`.
        """
        ct = polynomial.chebval(self.ciphertext, coefficients, interval, self._ev, self.context.encoder)
        c = np.asarray(coefficients)
        alpha, beta = polynomial.chebyshev_affine(interval)
        at_zero = np.polynomial.chebyshev.chebval(beta, c)
        return self._polynomial_result(ct, complex(at_zero), bool(np.iscomplexobj(c)))

    def pow(self, exponent: int) -> CKKSVector:
        """self ** exponent for an integer exponent >= 1: ceil(log2 exponent) levels."""
        return self._wrap(polynomial.power(self.ciphertext, exponent, self._ev))

    __pow__ = pow


def _fresh(vector: CKKSVector) -> CKKSVector:
    """Mark a freshly encrypted vector: its slots beyond ``size`` are zero."""
    vector.zero_tail = True
    return vector


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _as_plain_array(values):
    if isinstance(values, numbers.Number):
        return values
    try:
        return np.asarray(values)
    except Exception as exc:
        raise InputTypeError(f"cannot use {type(values).__name__} as a plaintext vector: {exc}") from exc


def _input_size(values, slots: int) -> int:
    array = np.asarray(values)
    return slots if array.ndim == 0 else int(array.size)
