"""The high-level API's encrypted vector, CKKSVector (its Context is in `ckks.context`).

``CKKSVector`` behaves like TenSEAL's: operators against ciphertexts,
plaintext vectors and scalars; multiplications relinearize and rescale
automatically; additions align levels and scales automatically.
`docs/tenseal.md` maps TenSEAL's CKKSVector API onto this one row by row.

Sizes (as TenSEAL): the operands of ``+ - *`` (and ``dot``) have the same
size, or one of them has size 1 and is broadcast (its value is used in every
slot); any other mismatch raises InputError, nothing is zero-padded.  A
scalar is broadcast too.  A plaintext of size 1 is broadcast like a scalar
(TenSEAL raises there).

Long vectors: a vector longer than N/2 values is split over several
ciphertexts ("chunks" of N/2 values, the last one shorter), as TenSEAL does;
slot-wise operations, ``sum``, ``dot``, ``matmul``, ``polyval`` and ``pow``
work across the chunks; ``rotate`` and the TenSEAL encodings
(`enc_matmul_plain`, `conv2d_im2col`, `pack_vectors`) need a single ciphertext.

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
* ``v + p``: p is encoded at v's scale and level (a scalar only in the
  vector's own slots when the slots beyond its size are zero, so they stay zero).

Manual mode (TenSEAL's context flags, all True by default; `docs/tenseal.md` has the table):

* ``ctx.auto_relin = False``: ``v * w`` (and ``square``, ``pow(2)``) stays a size-3
  ciphertext until [`relinearize`][ckks.vector.CKKSVector.relinearize]; multiplying a size-3
  operand or rotating it raises InputError.
* ``ctx.auto_rescale = False``: ``v * w`` and ``v * p`` are not rescaled (level kept, scale
  s_v s_w; a plaintext is then encoded at the context's scale, as TenSEAL does) until
  [`rescale`][ckks.vector.CKKSVector.rescale]; adding operands whose scales differ raises
  ScaleMismatchError.
* ``ctx.auto_mod_switch = False``: ciphertext operands at different levels raise
  LevelMismatchError instead of being aligned; bring one down with
  [`mod_switch_to`][ckks.vector.CKKSVector.mod_switch_to].  (Plaintexts are encoded at the
  vector's level, so they never need switching.)

``pow`` follows the flags product by product (TenSEAL's square-and-multiply); ``polyval`` and
``chebval`` relinearize internally but need rescales and modulus switches between their
terms, so with either of those flags off they refuse (as TenSEAL does) unless the polynomial
uses no level.  Rotations, ``sum``, ``dot``, ``matmul`` and the other circuits take size-2
vectors and manage their own levels.

The zero tail: ``zero_tail`` is True only if every slot past ``size`` (of
the last chunk) holds zero; ``sum`` and ``dot`` then need no masking level.
Every operation decides it for its result (a rotation, a broadcast sum or a
plain addition over every slot clears it).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ckks.circuits import comparison, linear_transform, polynomial
from ckks.container import Fields, loads, pack, register_loader
from ckks.errors import (
    InputError,
    InputTypeError,
    KeyMissingError,
    LevelError,
    LevelMismatchError,
    ScaleMismatchError,
)
from ckks.scheme.ciphertext import Ciphertext, check_same_context
from ckks.scheme.evaluator import Evaluator, _out_of_levels_message, scales_agree
from ckks.scheme.parameters import Parameters, resolve_context
from ckks.security.flooding import Flooding
from ckks.validation import check_bool, check_int, is_integer

if TYPE_CHECKING:  # type hints only: the context sits above the vector
    from ckks.context import Context


class _CallableInt(int):
    """An int that also answers a call with itself, so that TenSEAL's ``v.size()`` works as ``v.size``."""

    def __call__(self) -> int:
        return int(self)


class _CallableFloat(float):
    """A float that also answers a call with itself (TenSEAL's ``v.scale()``)."""

    def __call__(self) -> float:
        return float(self)


class CKKSVector:
    """An encrypted vector of ``size`` values (TenSEAL-style, operator overloaded).

    Its metadata is set once, here, and read-only afterwards: every operation
    returns a new vector (the TenSEAL in-place forms ``add_``, ``mul_``, ...
    replace this object's contents with the result, and say so).

    Sizes: the operands of ``+ - *`` and `dot` have the same size, or one has
    size 1 and is broadcast; otherwise InputError.  A vector longer than N/2
    is held as several ciphertexts (chunks of N/2 slots, the last one shorter).

    Args:
        context: the [`Context`][ckks.context.Context] the ciphertext belongs to.
        ciphertext: the encrypted slots (NTT form, any level), or a sequence of
            ciphertexts at one level and scale (chunks of N/2 values each, the last one
            holding the rest) for a vector longer than N/2.
        size: how many values: 0 .. N/2 for one ciphertext; (k - 1) N/2 + 1 .. k N/2 for k chunks.
        is_complex: decrypt to complex values (else the real parts).
        zero_tail: the slots beyond ``size`` (in the last chunk) are known to hold zeros
            (fresh encryptions and slot-wise results computed from them); sum() and
            dot() then need no masking level.  Leave it False unless you know.

    Raises:
        InputTypeError: ``ciphertext`` is not a Ciphertext (or a sequence of them), ``size`` is
            not an integer, or a flag is not a bool.
        InputError: ``size`` does not fit the number of ciphertexts, no ciphertext is given,
            or the chunks are at different levels or scales.
        ContextMismatchError: a ciphertext was made for other parameters or another key than the context's.
    """

    __array_priority__ = 1000  # make numpy defer `ndarray * vector` to __rmul__

    def __init__(
        self,
        context: Context,
        ciphertext: Ciphertext | Sequence[Ciphertext],
        size: int,
        is_complex: bool = False,
        zero_tail: bool = False,
    ):
        if isinstance(ciphertext, Ciphertext):
            chunks: tuple[Ciphertext, ...] = (ciphertext,)
        elif isinstance(ciphertext, (list, tuple)):
            chunks = tuple(ciphertext)
            if not chunks:
                raise InputError("a CKKSVector needs at least one ciphertext")
        else:
            raise InputTypeError(f"ciphertext must be a ckks.Ciphertext, got {type(ciphertext).__name__}")
        for ct in chunks:
            if not isinstance(ct, Ciphertext):
                raise InputTypeError(f"ciphertext must be a ckks.Ciphertext, got {type(ct).__name__}")
        check_same_context(*chunks, params=context.params)
        if len(chunks) > 1:
            first = chunks[0]
            for ct in chunks[1:]:
                if ct.level != first.level or not scales_agree(ct.scale, first.scale):
                    raise InputError(
                        "the chunks of a long vector must share one level and scale, got level "
                        f"{first.level} / scale 2^{np.log2(first.scale):.2f} and level {ct.level} / "
                        f"scale 2^{np.log2(ct.scale):.2f}"
                    )
        slots = context.params.slots
        low = 0 if len(chunks) == 1 else (len(chunks) - 1) * slots + 1
        self._context = context
        self._chunks = chunks
        self._size = check_int("size", size, low, len(chunks) * slots)
        self._is_complex = check_bool("is_complex", is_complex)
        self._zero_tail = check_bool("zero_tail", zero_tail)
        self._replicated = False  # every slot holds the single value (sum() results): broadcasts for free

    # -- introspection ---------------------------------------------------------
    @property
    def context(self) -> Context:
        """The context whose keys and machinery this vector uses."""
        return self._context

    @property
    def ciphertext(self) -> Ciphertext:
        """The ciphertext of the N/2 slots (the vector's values in the first ``size``).

        Raises:
            InputError: the vector is longer than N/2 and held in several ciphertexts (use ``ciphertexts``).
        """
        if len(self._chunks) != 1:
            raise InputError(
                f"this vector of {self._size} values is split over {len(self._chunks)} ciphertexts; "
                "use .ciphertexts (a list) instead of .ciphertext"
            )
        return self._chunks[0]

    @property
    def ciphertexts(self) -> list[Ciphertext]:
        """The ciphertexts holding the values, N/2 per ciphertext (one unless the vector is longer than N/2)."""
        return list(self._chunks)

    @property
    def size(self) -> int:
        """The number of values (the length of `decrypt`'s result); ``v.size()`` works too, as in TenSEAL."""
        return _CallableInt(self._size)

    @property
    def shape(self) -> list[int]:
        """``[size]``, as TenSEAL's ``CKKSVector.shape``."""
        return [self._size]

    @property
    def is_complex(self) -> bool:
        """True when the values are complex (decrypt keeps the imaginary parts)."""
        return self._is_complex

    @property
    def zero_tail(self) -> bool:
        """True when the slots beyond ``size`` are known to hold zeros (sum() and dot() need no mask)."""
        return self._zero_tail

    @property
    def level(self) -> int:
        """Rescales left before the modulus runs out."""
        return self._chunks[0].level

    @property
    def scale(self) -> float:
        """The scale Delta of the encrypted values (a float, tracked exactly); ``v.scale()`` works too."""
        return _CallableFloat(self._chunks[0].scale)

    def __len__(self) -> int:
        """The number of values.

        Returns:
            ``size``.
        """
        return self._size

    def __repr__(self) -> str:
        chunks = f", ciphertexts={len(self._chunks)}" if len(self._chunks) > 1 else ""
        return f"CKKSVector(size={self._size}, level={self.level}, scale=2^{np.log2(self.scale):.2f}{chunks})"

    def decrypt(self, flooding: bool | Flooding = False) -> np.ndarray:
        """Decrypt with the context's secret key.

        Args:
            flooding: add noise flooding before decoding (True for the default
                [`Flooding`][ckks.security.flooding.Flooding], or a policy), as
                [`Context.decrypt`][ckks.context.Context.decrypt].

        Returns:
            The ``size`` values (float64, or complex128 when ``is_complex``).

        Raises:
            KeyMissingError: the context has no secret key.
            ContextMismatchError: the vector is encrypted under another key than the context's.
            InputTypeError: ``flooding`` is not a bool or a Flooding.
        """
        return self._context.decrypt(self, flooding=flooding)

    def link_context(self, context: Context) -> None:
        """Use ``context`` from now on (TenSEAL's ``link_context``): e.g. the owner's private context
        for a vector that was loaded or computed with a public copy.

        Args:
            context: a context with the same parameters and keys (a public or private copy).

        Raises:
            InputTypeError: ``context`` has no parameters (is not a Context).
            ContextMismatchError: ``context`` has other parameters or another key.
        """
        params = getattr(context, "params", None)
        if not isinstance(params, Parameters):
            raise InputTypeError(f"link_context takes a ckks.Context, got {type(context).__name__}")
        check_same_context(*self._chunks, params=params, key_id=getattr(context, "key_id", None))
        self._context = context

    def serialize(self, compact: bool = True) -> bytes:
        """This vector as bytes: a container of type "vector" (`ckks.container`).

        The header is the ciphertext's (fingerprint, key id, level, size,
        scale, seed) plus ``length``, ``complex`` and ``zero_tail``.

        Args:
            compact: store a fresh symmetric encryption as c_0 and its 32-byte
                seed (about half the size); it has a seed until it is first operated on.

        Returns:
            The bytes; [`CKKSVector.load`][ckks.vector.CKKSVector.load] reads them back.

        Raises:
            InputError: the vector is split over several ciphertexts (serialize
                ``CKKSVector(ctx, ct, ...)`` per entry of ``ciphertexts`` instead).
        """
        header, arrays = self.ciphertext.header_and_arrays(compact)
        header.update(type="vector", length=self._size, complex=self._is_complex, zero_tail=self._zero_tail)
        return pack(header, arrays)

    @staticmethod
    def load(context: Context, blob: bytes | bytearray | memoryview) -> CKKSVector:
        """A vector from [`serialize`][ckks.vector.CKKSVector.serialize] output, checked against ``context``.

        Args:
            context: the context it belongs to (same parameters and keys; a
                public copy of it will do).
            blob: the bytes.

        Returns:
            The vector, bound to ``context``.

        Raises:
            InputTypeError: ``blob`` is not bytes-like, or ``context`` is not a Context.
            SerializationError: the bytes are damaged, hold another type, or a
                field or residue is out of range (the message names it).
            WrongContextError: the vector was made for other parameters or another secret key.
        """
        return loads(blob, context, kind="vector")

    def copy(self) -> CKKSVector:
        """A copy with its own ciphertext data (same metadata, same context).

        Returns:
            A new CKKSVector.
        """
        return self._wrap(tuple(ct.copy() for ct in self._chunks), replicated=self._replicated)

    def __deepcopy__(self, memo: dict) -> CKKSVector:
        """``copy.deepcopy(v)``: the context is shared (it holds the keys), the ciphertexts are copied.

        Args:
            memo: the deepcopy memo.

        Returns:
            `copy`'s result.
        """
        return self.copy()

    # -- plumbing ------------------------------------------------------------------
    @property
    def _ev(self) -> Evaluator:
        return self._context.evaluator

    @property
    def _slots(self) -> int:
        return self._context.params.slots

    def _chunk_sizes(self) -> list[int]:
        slots = self._slots
        return [min(slots, self._size - i * slots) for i in range(len(self._chunks))]

    def _tail_is_empty(self, size: int | None = None) -> bool:
        """True when the last chunk of a vector of ``size`` values is full (no tail slots at all)."""
        size = self._size if size is None else size
        return size > 0 and size % self._slots == 0

    def _wrap(
        self,
        ciphertext: Ciphertext | tuple[Ciphertext, ...],
        other: CKKSVector | None = None,
        size: int | None = None,
        is_complex: bool = False,
        zero_tail: bool | None = None,
        replicated: bool = False,
    ) -> CKKSVector:
        """A result vector: complex if an operand (or ``is_complex``) is, size and zero tail from the operands.

        By default the tail is zero when it is zero in every operand (slot-wise
        operations); pass ``zero_tail`` where the operation decides it.
        """
        is_complex = self._is_complex or is_complex or (other is not None and other._is_complex)
        if size is None:
            size = max(self._size, other._size) if other is not None else self._size
        if zero_tail is None:
            zero_tail = self._zero_tail and (other is None or other._zero_tail)
        zero_tail = bool(zero_tail) or self._tail_is_empty(size)
        result = CKKSVector(self._context, ciphertext, size, bool(is_complex), zero_tail)
        result._replicated = replicated
        return result

    def _become(self, result: CKKSVector) -> CKKSVector:
        """Take over ``result``'s contents (the one place the in-place TenSEAL forms mutate a vector)."""
        self._context = result._context
        self._chunks = result._chunks
        self._size = result._size
        self._is_complex = result._is_complex
        self._zero_tail = result._zero_tail
        self._replicated = result._replicated
        return self

    def _map(self, operation: Callable[[Ciphertext], Ciphertext], **kwargs) -> CKKSVector:
        """The same ciphertext operation on every chunk."""
        return self._wrap(tuple(operation(ct) for ct in self._chunks), **kwargs)

    def _single(self, what: str) -> Ciphertext:
        if len(self._chunks) != 1:
            raise InputError(
                f"{what} needs a vector in one ciphertext, but this one has {self._size} values over "
                f"{len(self._chunks)} ciphertexts (N/2 = {self._slots} slots each), as in TenSEAL; "
                "use a larger poly_degree"
            )
        return self._chunks[0]

    def _check_other(self, other: CKKSVector) -> None:
        check_same_context(self._chunks[0], other._chunks[0])

    def _flag(self, name: str) -> bool:
        """The context's manual-mode flag ``name`` (auto_relin, auto_rescale, auto_mod_switch); True if absent."""
        return bool(getattr(self._context, name, True))

    def _check_levels(self, a: Ciphertext, b: Ciphertext, what: str) -> None:
        """With auto_mod_switch off, operands at different levels raise (SEAL's "parameter mismatch")."""
        if a.level != b.level and not self._flag("auto_mod_switch"):
            raise LevelMismatchError(
                f"cannot {what} ciphertexts at levels {a.level} and {b.level} (a parameter mismatch, in SEAL's "
                f"words): this context's auto_mod_switch is off; bring the higher one down with "
                f"v.mod_switch_to({min(a.level, b.level)}) first, or set ctx.auto_mod_switch = True"
            )

    def _align(self, a: Ciphertext, b: Ciphertext, what: str = "add") -> tuple[Ciphertext, Ciphertext]:
        """Both ciphertexts at the same level and scale (see the module docstring)."""
        self._check_levels(a, b, what)
        if a.level > b.level:
            a = self._adjust(a, b.level, b.scale)
        elif b.level > a.level:
            b = self._adjust(b, a.level, a.scale)
        if not scales_agree(a.scale, b.scale):
            manual = "" if self._flag("auto_rescale") else " (auto_rescale is off: rescale() the products first)"
            raise ScaleMismatchError(
                f"scale mismatch: cannot {what} vectors at the same level with scales 2^{np.log2(a.scale):.4f} and "
                f"2^{np.log2(b.scale):.4f}; compute both along paths with the same number of "
                f"multiplications, or multiply the one with the larger scale by 1.0 first{manual}"
            )
        return a, b

    def _add_cts(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        return self._ev.add(*self._align(a, b))

    def _adjust(self, ct: Ciphertext, level: int, scale: float) -> Ciphertext:
        """ct brought down to ``level`` with its scale set to ``scale`` (uses one dropped level)."""
        ev = self._ev
        ct = ev.mod_switch_to(ct, level + 1)
        q = self._context.params.data_moduli[level + 1]
        factor = round(scale * q / ct.scale)
        if factor < 1:
            raise ScaleMismatchError(
                f"cannot bring scale 2^{np.log2(ct.scale):.2f} to 2^{np.log2(scale):.2f} at level {level}"
            )
        plain = self._context.encoder.encode_constant(1.0, float(factor), ct.level)
        adjusted = ev.rescale(ev.multiply_plain(ct, plain))
        if scales_agree(adjusted.scale, scale) and adjusted.scale != scale:
            # the same polynomials, read at the exact target scale (a new ciphertext: scales are set once)
            adjusted = Ciphertext(adjusted.params, adjusted.data, scale, adjusted.key_id, None, adjusted.bound,
                                  adjusted.noise, adjusted.bound_exact)
        return adjusted

    def _require_level(self, *vectors: Ciphertext) -> None:
        for ct in vectors:
            if ct.level == 0:
                raise LevelError(_out_of_levels_message(self._context.params, "multiply"))

    def _replicated_ct(self) -> Ciphertext:
        """The single value of a size-1 vector in every slot: free after sum()/dot(), else a sum()."""
        if self._replicated:
            return self._chunks[0]
        return self.sum()._chunks[0]

    def _pair(self, other: CKKSVector, what: str) -> tuple[list[Ciphertext], list[Ciphertext], int, bool, bool]:
        """The chunks of both operands, a size-1 operand broadcast.

        Returns (mine, theirs, size, my tail is zero, their tail is zero) for the result's size.
        """
        self._check_other(other)
        if other._size == self._size:
            return list(self._chunks), list(other._chunks), self._size, self._zero_tail, other._zero_tail
        if other._size == 1:
            rep = other._replicated_ct()
            return list(self._chunks), [rep] * len(self._chunks), self._size, self._zero_tail, False
        if self._size == 1:
            rep = self._replicated_ct()
            return [rep] * len(other._chunks), list(other._chunks), other._size, False, other._zero_tail
        raise InputError(
            f"cannot {what} vectors of different sizes ({self._size} and {other._size}); sizes must be equal, "
            "or one of them 1 (broadcast), as in TenSEAL"
        )

    def _plain_operand(self, other, what: str) -> tuple[object, list[np.ndarray] | None, bool]:
        """A plaintext operand: (scalar or None, per-chunk slot vectors or None, is complex).

        A number or a 1-element array is a scalar (broadcast); an array must have ``size`` values.
        """
        array = _as_plain_array(other)
        if isinstance(array, numbers.Number) or np.ndim(array) == 0 or (np.ndim(array) == 1 and array.size == 1):
            value = array if isinstance(array, numbers.Number) else np.asarray(array).reshape(-1)[0]
            self._context.encoder.slot_vector(value)  # the checks: a finite number
            value = value.item() if isinstance(value, np.generic) else value
            return value, None, bool(np.imag(value) != 0)
        if np.ndim(array) != 1:
            raise InputError(f"cannot {what} a vector and a plaintext of shape {np.shape(array)}: flatten it first")
        if array.size != self._size:
            raise InputError(
                f"cannot {what} a vector of size {self._size} and a plaintext of size {array.size}; sizes must "
                "be equal, or the plaintext a single number (broadcast), as in TenSEAL"
            )
        slots = self._slots
        encoder = self._context.encoder
        chunks = [encoder.slot_vector(array[i * slots : (i + 1) * slots]) for i in range(len(self._chunks))]
        is_complex = any(bool(np.any(c.imag != 0)) for c in chunks)
        return None, chunks, is_complex

    # -- arithmetic -------------------------------------------------------------------
    def __add__(self, other) -> CKKSVector:
        """self + other, slot-wise: 0 levels.

        A vector operand at another level is brought down to this one's (or
        this one to its), its scale set exactly on the way; a plaintext
        (vector or scalar) is encoded at this vector's level and scale.

        Args:
            other: a CKKSVector of the same context, a scalar, or ``size`` values
                (a size-1 operand is broadcast).

        Returns:
            The sum, of the larger operand's size.

        Raises:
            ContextMismatchError: ``other`` comes from other parameters or keys.
            ScaleMismatchError: two vectors at the same level have different scales.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            InputTypeError: ``other`` is not numbers.
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            KeyMissingError: broadcasting a size-1 vector needs the power-of-two rotation keys.
        """
        return self._add(other, subtract=False)

    def _add(self, other, subtract: bool) -> CKKSVector:
        ev = self._ev
        what = "subtract" if subtract else "add"
        if isinstance(other, CKKSVector):
            mine, theirs, size, tail_a, tail_b = self._pair(other, what)
            combine = ev.sub if subtract else ev.add
            out = tuple(combine(*self._align(a, b, what)) for a, b in zip(mine, theirs))
            return self._wrap(out, other, size=size, zero_tail=tail_a and tail_b)
        scalar, chunks, is_complex = self._plain_operand(other, what)
        encoder = self._context.encoder
        sizes = self._chunk_sizes()
        out = []
        for i, ct in enumerate(self._chunks):
            if chunks is None:
                slot_values = np.zeros(self._slots, dtype=np.complex128)
                # a scalar only in the vector's own slots when its tail is zero: the tail stays zero
                slot_values[: sizes[i] if self._zero_tail else self._slots] = scalar
            else:
                slot_values = chunks[i]
            plain = encoder.encode(-slot_values if subtract else slot_values, ct.scale, ct.level)
            out.append(ev.add_plain(ct, plain))
        return self._wrap(tuple(out), is_complex=is_complex, zero_tail=self._zero_tail)

    __radd__ = __add__

    def __neg__(self) -> CKKSVector:
        """-self, slot-wise: 0 levels.

        Returns:
            The negated vector (same level and scale).
        """
        return self._map(self._ev.negate)

    def __sub__(self, other) -> CKKSVector:
        """self - other, slot-wise: 0 levels (see [`__add__`][ckks.vector.CKKSVector.__add__]).

        Args:
            other: a CKKSVector of the same context, a scalar, or ``size`` values
                (a size-1 operand is broadcast).

        Returns:
            The difference.

        Raises:
            ContextMismatchError: ``other`` comes from other parameters or keys.
            ScaleMismatchError: two vectors at the same level have different scales.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            InputTypeError: ``other`` is not numbers.
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            KeyMissingError: broadcasting a size-1 vector needs the power-of-two rotation keys.
        """
        return self._add(other, subtract=True)

    def __rsub__(self, other) -> CKKSVector:
        """other - self, slot-wise: 0 levels.

        Args:
            other: a scalar or ``size`` values.

        Returns:
            The difference.

        Raises:
            InputTypeError: ``other`` is not numbers.
            InputError: ``other`` has another size (and is not a single number), is not 1-D, or not finite.
        """
        return (-self) + other

    def __mul__(self, other) -> CKKSVector:
        """self * other, slot-wise.

        * a CKKSVector: align levels, tensor, relinearize, rescale: level
          l -> l - 1, scale s_v s_w / q_l;
        * an integer k: exact, no level, scale unchanged;
        * a plaintext (vector or non-integer scalar): encoded at this vector's
          scale, multiplied, rescaled: l -> l - 1, scale s^2 / q_l.

        Args:
            other: a CKKSVector of the same context, a scalar, or ``size`` values
                (a size-1 operand is broadcast).

        Returns:
            The product.

        Raises:
            ContextMismatchError: ``other`` comes from other parameters or keys.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            LevelError: no level is left for the rescale.
            KeyMissingError: the context has no relinearization key (vector * vector), or
                broadcasting a size-1 vector needs the power-of-two rotation keys.
            InputTypeError: ``other`` is not numbers.
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
        """
        ev = self._ev
        relin, rescale = self._flag("auto_relin"), self._flag("auto_rescale")
        if isinstance(other, CKKSVector):
            mine, theirs, size, tail_a, tail_b = self._pair(other, "multiply")
            out = []
            for a, b in zip(mine, theirs):
                self._check_levels(a, b, "multiply")
                if a.size != 2 or b.size != 2:
                    raise InputError(
                        "cannot multiply a size-3 ciphertext (an unrelinearized product, as ctx.auto_relin = False "
                        "leaves them); call relinearize() on it first"
                    )
                a, b = ev.align_levels(a, b)
                if rescale:
                    self._require_level(a)
                product = ev.multiply(a, b)
                if relin and rescale:  # one division by P q_l instead of two (Evaluator.relinearize_rescale)
                    out.append(ev.relinearize_rescale(product))
                    continue
                product = ev.relinearize(product) if relin else product
                out.append(ev.rescale(product) if rescale else product)
            return self._wrap(tuple(out), other, size=size, zero_tail=tail_a or tail_b)
        if is_integer(other):
            return self._map(lambda ct: ev.multiply_integer(ct, int(other)))
        scalar, chunks, is_complex = self._plain_operand(other, "multiply")
        if scalar is not None and is_integer(scalar) and not isinstance(scalar, bool):
            return self._map(lambda ct: ev.multiply_integer(ct, int(scalar)))
        encoder = self._context.encoder
        out = []
        for i, ct in enumerate(self._chunks):
            # rescaled: p at this vector's scale, so that the product has the scale of v * v;
            # not rescaled (auto_rescale off): p at the context's scale, as TenSEAL encodes it
            plain_scale = ct.scale if rescale else self._context.params.scale
            if rescale:
                self._require_level(ct)
            if chunks is None:
                plain = encoder.encode(np.full(self._slots, scalar, dtype=np.complex128), plain_scale, ct.level)
            else:
                plain = encoder.encode(chunks[i], plain_scale, ct.level)
            product = ev.multiply_plain(ct, plain)
            out.append(ev.rescale(product) if rescale else product)
        # a plaintext vector is zero-padded beyond size: the product's tail is zero
        return self._wrap(tuple(out), is_complex=is_complex, zero_tail=self._zero_tail or chunks is not None)

    __rmul__ = __mul__

    # TenSEAL's method names
    def add(self, other) -> CKKSVector:
        """self + other (TenSEAL's ``add``; see [`__add__`][ckks.vector.CKKSVector.__add__]).

        Args:
            other: a CKKSVector, a scalar, or ``size`` values.

        Returns:
            The sum.

        Raises:
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            ScaleMismatchError: two vectors at the same level have different scales.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            KeyMissingError: broadcasting a size-1 vector needs the power-of-two rotation keys.
        """
        return self + other

    def sub(self, other) -> CKKSVector:
        """self - other (TenSEAL's ``sub``; see [`__sub__`][ckks.vector.CKKSVector.__sub__]).

        Args:
            other: a CKKSVector, a scalar, or ``size`` values.

        Returns:
            The difference.

        Raises:
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            ScaleMismatchError: two vectors at the same level have different scales.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            KeyMissingError: broadcasting a size-1 vector needs the power-of-two rotation keys.
        """
        return self - other

    def mul(self, other) -> CKKSVector:
        """self * other (TenSEAL's ``mul``; see [`__mul__`][ckks.vector.CKKSVector.__mul__]).

        Args:
            other: a CKKSVector, a scalar, or ``size`` values.

        Returns:
            The product.

        Raises:
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            LevelError: no level is left for the rescale.
            KeyMissingError: no relinearization key, or no rotation keys for a broadcast.
        """
        return self * other

    def neg(self) -> CKKSVector:
        """-self (TenSEAL's ``neg``).

        Returns:
            The negated vector.
        """
        return -self

    def square(self) -> CKKSVector:
        """self * self: level l -> l - 1, scale s^2 / q_l.

        Returns:
            The slot-wise square.

        Raises:
            LevelError: no level is left.
            KeyMissingError: the context has no relinearization key.
        """
        return self * self

    # -- manual mode: the explicit operations (ctx.auto_relin / auto_rescale / auto_mod_switch off) --------
    def relinearize(self) -> CKKSVector:
        """The same values in size-2 ciphertexts: a size-3 product is key-switched back (level and scale kept).

        Needed after ``v * w`` when the context's ``auto_relin`` is off; a size-2
        vector comes back as a copy.

        Returns:
            The relinearized vector.

        Raises:
            KeyMissingError: the context has no relinearization key.
        """
        return self._map(self._ev.relinearize, replicated=self._replicated)

    def rescale(self) -> CKKSVector:
        """Divide by the last prime q_l: level l -> l - 1, scale s -> s / q_l (values unchanged).

        What a product does automatically unless the context's ``auto_rescale`` is off.

        Returns:
            The rescaled vector.

        Raises:
            LevelError: the vector is at level 0.
        """
        return self._map(self._ev.rescale, replicated=self._replicated)

    def mod_switch_to(self, level: int, scale: float | None = None) -> CKKSVector:
        """Drop primes down to ``level`` without dividing (values and scale unchanged).

        What additions and products do to the higher operand automatically unless the
        context's ``auto_mod_switch`` is off.  Scales are tracked exactly here (TenSEAL
        rounds them), so a rescaled product has scale s^2 / q, not s: pass
        ``scale=product.scale`` to land on it exactly, as the automatic alignment does
        (an integer multiple, then a rescale by the last prime dropped; values unchanged).

        Args:
            level: the target level, 0 .. this vector's level (below it when ``scale`` is given).
            scale: the scale the result should have, or None to keep this vector's.

        Returns:
            The vector at ``level``.

        Raises:
            InputTypeError: ``level`` is not an integer, or ``scale`` is not a number.
            InputError: ``scale`` is not positive and finite.
            LevelError: ``level`` is above this vector's level or negative (or equal to it with a ``scale``).
            ScaleMismatchError: ``scale`` is too small to reach with an integer multiple.
        """
        if scale is None:
            level = check_int("level", level, 0, self.level, error=LevelError, type_error=InputTypeError)
            return self._map(lambda ct: self._ev.mod_switch_to(ct, level), replicated=self._replicated)
        level = check_int("level", level, 0, self.level - 1, error=LevelError, type_error=InputTypeError)
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            raise InputTypeError(f"scale must be a positive number, got {type(scale).__name__}")
        if not (np.isfinite(scale) and scale > 0):
            raise InputError(f"scale must be a positive finite number, got {scale!r}")
        return self._map(lambda ct: self._adjust(ct, level, float(scale)), replicated=self._replicated)

    def relinearize_(self) -> CKKSVector:
        """In place: [`relinearize`][ckks.vector.CKKSVector.relinearize].

        Returns:
            This vector.

        Raises:
            KeyMissingError: the context has no relinearization key.
        """
        return self._become(self.relinearize())

    def rescale_(self) -> CKKSVector:
        """In place: [`rescale`][ckks.vector.CKKSVector.rescale].

        Returns:
            This vector.

        Raises:
            LevelError: the vector is at level 0.
        """
        return self._become(self.rescale())

    def mod_switch_to_(self, level: int, scale: float | None = None) -> CKKSVector:
        """In place: [`mod_switch_to`][ckks.vector.CKKSVector.mod_switch_to].

        Args:
            level: the target level.
            scale: the scale the result should have, or None to keep this vector's.

        Returns:
            This vector.

        Raises:
            InputTypeError: ``level`` is not an integer, or ``scale`` is not a number.
            InputError: ``scale`` is not positive and finite.
            LevelError: ``level`` is above this vector's level or negative (or equal to it with a ``scale``).
            ScaleMismatchError: ``scale`` is too small to reach with an integer multiple.
        """
        return self._become(self.mod_switch_to(level, scale))

    def _require_automatic(self, levels: int, what: str) -> None:
        """A circuit that rescales and switches levels between its terms refuses when those flags are off."""
        if levels == 0:
            return
        if not self._flag("auto_rescale"):
            raise ScaleMismatchError(
                f"scale mismatch: {what} rescales after its products ({levels} levels) and this context's "
                "auto_rescale is off; set ctx.auto_rescale = True for it, or build it from * and + with "
                "explicit rescale() calls"
            )
        if not self._flag("auto_mod_switch"):
            raise LevelMismatchError(
                f"parameter mismatch: {what} adds terms computed at different levels ({levels} levels) and this "
                "context's auto_mod_switch is off; set ctx.auto_mod_switch = True for it, or build it from * and + "
                "with explicit mod_switch_to() calls"
            )

    # -- rotations, sums, products (scheme.rotation, circuits.linear_transform, circuits.polynomial) ---
    def rotate(self, steps: int) -> CKKSVector:
        """Rotate the N/2 slots left by ``steps`` (right if negative): slot i <- slot i + steps.

        SEAL's rotate_vector convention; the size is kept.  0 levels; one key
        switch per key used (a step without its own key is composed from the
        keys present).

        Args:
            steps: the rotation (any integer; taken modulo N/2).

        Returns:
            The rotated vector (its tail is no longer known to be zero unless steps = 0 mod N/2).

        Raises:
            InputTypeError: ``steps`` is not an integer.
            InputError: the vector is split over several ciphertexts.
            KeyMissingError: no Galois key makes or composes the rotation (the message names the step).
        """
        rotated = self._context.rotator.rotate(self._single("rotate"), steps)
        return self._wrap(rotated, zero_tail=self._zero_tail and steps % self._slots == 0)

    def rotate_many(self, steps: list[int]) -> dict[int, CKKSVector]:
        """{k: self.rotate(k)} for several steps, hoisted (one decomposition).  0 levels.

        Args:
            steps: the rotations.

        Returns:
            One rotated vector per step.

        Raises:
            InputTypeError: ``steps`` is not a list of integers.
            InputError: the vector is split over several ciphertexts.
            KeyMissingError: a step has no Galois key to make or compose it.
        """
        rotated = self._context.rotator.rotate_many(self._single("rotate_many"), steps)
        slots = self._slots
        return {k: self._wrap(ct, zero_tail=self._zero_tail and k % slots == 0) for k, ct in rotated.items()}

    def conjugate(self) -> CKKSVector:
        """Complex-conjugate every slot.  0 levels.

        Returns:
            The conjugated vector.

        Raises:
            KeyMissingError: the context has no conjugation key (``generate_galois_keys()``).
        """
        return self._map(self._context.rotator.conjugate)

    def _masked_chunks(self) -> list[Ciphertext]:
        """The chunks with the slots beyond ``size`` zero: free if known, else one level on the last chunk.

        The 0/1 mask is encoded at scale q_l, the prime the rescale divides out, so the masked
        chunk keeps its scale exactly (s q_l / q_l = s) at level l - 1: repeated masking never
        lets the scale drift towards the modulus.
        """
        chunks = list(self._chunks)
        if self._zero_tail or self._tail_is_empty():
            return chunks
        last = chunks[-1]
        self._require_level(last)
        mask = np.zeros(self._slots)
        mask[: self._chunk_sizes()[-1]] = 1.0
        plain = self._context.encoder.encode(mask, float(self._context.params.data_moduli[last.level]), last.level)
        chunks[-1] = self._ev.rescale(self._ev.multiply_plain(last, plain))
        return chunks

    def sum(self) -> CKKSVector:
        """The sum of the ``size`` values, in every slot; a vector of size 1 (as TenSEAL).

        The chunks of a long vector are added first; then log2(N/2) rotate-and-add
        steps (rotations by 1, 2, 4, ...: default keys).  0 levels when the slots
        beyond ``size`` are known to be zero (fresh encryptions and slot-wise
        results) or the last chunk is full; otherwise 1 level (the scale is kept)
        for masking them first.

        The rotations use the default keys (``ctx.generate_galois_keys()``), one key switch
        each; keys that would compose them from more than `SUM_KEY_SWITCH_FACTOR` times as
        many key switches (e.g. only ``steps=[1]``: N/2 - 1) are refused, with the same hint.

        Returns:
            A vector of size 1 (its value in every slot: it broadcasts for free).

        Raises:
            KeyMissingError: a power-of-two rotation has no Galois key, or only a slow composition of
                them (the message names ``ctx.generate_galois_keys()``).
            LevelError: the mask needs a level and none is left.
        """
        ev, rotator = self._ev, self._context.rotator
        steps = _sum_steps(self._slots)
        _check_sum_keys(rotator, steps)
        chunks = self._masked_chunks()
        ct = chunks[0]
        for other in chunks[1:]:
            ct = self._add_cts(ct, other)
        for step in steps:
            ct = ev.add(ct, rotator.rotate(ct, step))
        return self._wrap(ct, size=1, zero_tail=False, replicated=True)

    def dot(self, other) -> CKKSVector:
        """The inner product with a plaintext vector or a CKKSVector of the same size.

        Size-1 result holding the total in every slot (as TenSEAL).  1 level
        (2 when both operands are ciphertexts whose slots beyond ``size`` are
        not known to be zero).  A size-1 CKKSVector operand is broadcast (as TenSEAL).

        Args:
            other: a CKKSVector of the same context, or ``size`` plaintext values.

        Returns:
            A vector of size 1.

        Raises:
            InputError: ``other`` is not 1-D or has another size.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            LevelError: too few levels are left.
            KeyMissingError: a rotation of the sum has no Galois key.
        """
        if isinstance(other, CKKSVector):
            self._check_other(other)
            other_size = other._size
        else:
            array = _as_plain_array(other)
            other_size = int(np.size(array))
            if np.ndim(array) != 1:
                raise InputError(f"dot takes a 1-D vector (argument 'other'), got shape {np.shape(array)}")
        if other_size != self._size and not (isinstance(other, CKKSVector) and 1 in (other_size, self._size)):
            raise InputError(
                f"dot needs vectors of the same size: this vector has {self._size} values, "
                f"argument 'other' has {other_size}"
            )
        return (self * other).sum()

    def matmul(self, matrix, method: str = "bsgs") -> CKKSVector:
        """The vector-matrix product self @ matrix, as TenSEAL's CKKSVector.matmul.

        ``matrix`` has shape (size, m), m <= N/2; the result has size m and zeros beyond.
        Diagonal method with baby-step giant-step
        (`ckks.circuits.linear_transform`), or ``method="diagonal"`` (every
        diagonal a hoisted rotation).  1 level: l -> l - 1, scale s^2 / q_l.
        A vector split over several ciphertexts multiplies each chunk by its
        rows of the matrix and adds the results (TenSEAL refuses chunked vectors here).

        Args:
            matrix: shape (size, m), real or complex.
            method: "bsgs" or "diagonal".

        Returns:
            The product, of size m.

        Raises:
            InputTypeError: ``matrix`` is not an array of numbers.
            InputError: ``matrix`` has the wrong shape or is not finite, or ``method`` is unknown.
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        array = linear_transform.check_matrix(matrix, rows=self._size, name="matrix")
        slots = self._slots
        total = None
        for i, chunk in enumerate(self._chunks):
            rows = array[i * slots : (i + 1) * slots]
            ct = linear_transform.vector_matrix_product(
                chunk, rows, self._ev, self._context.encoder, self._context.rotator, method
            )
            total = ct if total is None else self._add_cts(total, ct)
        complex_matrix = bool(np.iscomplexobj(array) and np.any(np.imag(array) != 0))
        return self._wrap(total, size=array.shape[1], is_complex=complex_matrix, zero_tail=True)

    mm = matmul

    def __matmul__(self, matrix) -> CKKSVector:
        """self @ matrix: [`matmul`][ckks.vector.CKKSVector.matmul] with the BSGS method.

        Args:
            matrix: shape (size, m).

        Returns:
            The product, of size m.

        Raises:
            InputTypeError: ``matrix`` is not an array of numbers.
            InputError: ``matrix`` has the wrong shape or is not finite.
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        return self.matmul(matrix)

    def enc_matmul_plain(self, plain_vector, row_size: int) -> CKKSVector:
        """M @ x for a matrix M encrypted by [`enc_matmul_encoding`][ckks.vector.enc_matmul_encoding]
        and a plaintext vector x, exactly as TenSEAL's ``enc_matmul_plain``.

        This vector holds M column by column (column j in slots j r .. j r + r - 1,
        r = ``row_size``); x is zero-padded to p = the next power of two of its length,
        and ``size // row_size`` must equal p.  Each x_j is repeated r times, the
        pattern tiled over the N/2 slots, multiplied in (1 level: l -> l - 1,
        scale s^2 / q_l), and the p column blocks are added with log2(p) rotations
        by r p / 2, r p / 4, ..., r.  Slot i < r of the result is
        sum_j this[i + j r] x_j.

        Args:
            plain_vector: x, 1-D, not empty.
            row_size: r, the number of rows of M (the result's size).

        Returns:
            M @ x, of size ``row_size`` (the slots beyond it are not zero).

        Raises:
            InputTypeError: ``plain_vector`` is not numbers or ``row_size`` not an integer.
            InputError: ``plain_vector`` is empty or not 1-D, ``row_size`` is below 1,
                ``size // row_size`` is not the padded length of x, or the vector is split
                over several ciphertexts.
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        ct = self._single("enc_matmul_plain")
        rows = check_int("row_size", row_size, 1, type_error=InputTypeError)
        x = _as_plain_array(plain_vector)
        if np.ndim(x) != 1 or np.size(x) == 0:
            raise InputError(f"enc_matmul_plain takes a non-empty 1-D plain vector, got shape {np.shape(x)}")
        padded_length = 1 << int(np.ceil(np.log2(x.size))) if x.size > 1 else 1
        if self._size // rows != padded_length:
            raise InputError(
                f"matrix shape doesn't match with vector size: this vector holds {self._size} values, "
                f"{self._size} // row_size {rows} = {self._size // rows}, but the plain vector of {x.size} "
                f"values pads to {padded_length} (enc_matmul_encoding of an r x c matrix has r * "
                "next_power_of_two(c) values; call enc_matmul_plain(x, r) with len(x) = c)"
            )
        padded = np.zeros(padded_length, dtype=np.result_type(x.dtype, np.float64))
        padded[: x.size] = x
        pattern = np.resize(np.repeat(padded, rows), self._slots)
        self._require_level(ct)
        encoder, ev, rotator = self._context.encoder, self._ev, self._context.rotator
        plain = encoder.encode(encoder.slot_vector(pattern), ct.scale, ct.level)
        ct = ev.rescale(ev.multiply_plain(ct, plain))
        blocks = padded_length
        while blocks > 1:
            blocks //= 2
            ct = ev.add(ct, rotator.rotate(ct, rows * blocks))
        is_complex = bool(np.iscomplexobj(x) and np.any(np.imag(x) != 0))
        return self._wrap(ct, size=rows, is_complex=is_complex, zero_tail=False)

    def conv2d_im2col(self, kernel, windows_nb: int) -> CKKSVector:
        """A 2-D convolution of an image encoded by [`im2col_encoding`][ckks.vector.im2col_encoding],
        exactly as TenSEAL's ``conv2d_im2col``: ``enc_matmul_plain(kernel.flatten(), windows_nb)``.

        The kernel is flattened row by row; its entry j multiplies the j-th column
        block of the encoding (see `im2col_encoding` for the window layout).  1 level.

        Args:
            kernel: the kernel, 2-D (or already flat).
            windows_nb: the number of windows returned by `im2col_encoding`.

        Returns:
            The convolution, one value per window (row-major over the output), size ``windows_nb``.

        Raises:
            InputTypeError: ``kernel`` is not numbers, or ``windows_nb`` is not an integer.
            InputError: ``windows_nb`` is 0, ``kernel`` is empty, or the shapes do not match the encoding.
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        windows_nb = check_int("windows_nb", windows_nb, type_error=InputTypeError)
        if windows_nb < 1:
            raise InputError("windows_nb can't be zero: pass the number returned by im2col_encoding")
        flat = np.asarray(_as_plain_array(kernel)).reshape(-1)
        if flat.size == 0:
            raise InputError("the kernel can't be empty")
        return self.enc_matmul_plain(flat, windows_nb)

    def _polynomial_result(self, cts: tuple[Ciphertext, ...], value_at_zero: complex, complex_coefficients: bool):
        sizes = self._chunk_sizes()
        if self._zero_tail and sizes[-1] < self._slots and value_at_zero != 0:
            last = cts[-1]
            correction = np.zeros(self._slots, dtype=np.complex128)
            correction[sizes[-1] :] = -value_at_zero  # p(0) landed in the zero slots
            plain = self._context.encoder.encode(correction, last.scale, last.level)
            cts = (*cts[:-1], self._ev.add_plain(last, plain))
        return self._wrap(cts, is_complex=complex_coefficients)

    def polyval(self, coefficients) -> CKKSVector:
        """sum_k c_k x^k slot-wise, coefficients in increasing degree (as TenSEAL).

        Levels for degree d >= 1 (`ckks.circuits.polynomial`, TenSEAL's depth or better
        for every degree): floor(log2 d) + 1, except floor(log2 d) = log2 d when d is a
        power of two and c_d an integer (+-1 included: c_d x^d is then an integer multiple of
        x^d, free).  The result has this vector's scale, or in that exception the scale of
        ``self ** d``.

        Args:
            coefficients: c_0 .. c_d, real or complex.

        Returns:
            p(self), with zeros kept beyond ``size`` when they were there.

        Raises:
            InputTypeError: the coefficients are not numbers.
            InputError: the coefficients are empty, not 1-D, or not finite.
            LevelError: too few levels are left.
            ScaleMismatchError: ``ctx.auto_rescale`` is off and the polynomial uses a level.
            LevelMismatchError: ``ctx.auto_mod_switch`` is off and the polynomial uses a level.
            KeyMissingError: the context has no relinearization key (degree >= 2).
        """
        ev, encoder = self._ev, self._context.encoder
        self._require_automatic(polynomial.plan_polynomial(coefficients, keep_scale=False).depth, "polyval")
        cts = tuple(polynomial.polyval(ct, coefficients, ev, encoder, keep_scale=False) for ct in self._chunks)
        c = np.asarray(coefficients)
        return self._polynomial_result(cts, complex(c.reshape(-1)[0]), bool(np.iscomplexobj(c)))

    def chebval(self, coefficients, interval: tuple[float, float] = (-1.0, 1.0)) -> CKKSVector:
        """sum_k c_k T_k(y) slot-wise, y = (2x - a - b) / (b - a) for the interval [a, b].

        ceil(log2(d + 1)) levels, plus one when b - a > 2
        (`ckks.circuits.polynomial.chebyshev_levels`); keeps this vector's scale.
        Fit the coefficients with `ckks.circuits.chebyshev`.

        Args:
            coefficients: c_0 .. c_d of the series in T_k.
            interval: (a, b), finite, a < b.

        Returns:
            p(self), with zeros kept beyond ``size`` when they were there.

        Raises:
            InputTypeError: the coefficients or the interval are not numbers.
            InputError: bad coefficients or interval.
            LevelError: too few levels are left.
            ScaleMismatchError: ``ctx.auto_rescale`` is off and the polynomial uses a level.
            LevelMismatchError: ``ctx.auto_mod_switch`` is off and the polynomial uses a level.
            KeyMissingError: the context has no relinearization key (degree >= 2).
        """
        ev, encoder = self._ev, self._context.encoder
        degree = polynomial.plan_polynomial(coefficients, polynomial.CHEBYSHEV).degree
        self._require_automatic(polynomial.chebyshev_levels(degree, interval), "chebval")
        cts = tuple(polynomial.chebval(ct, coefficients, interval, ev, encoder) for ct in self._chunks)
        c = np.asarray(coefficients)
        _, beta = polynomial.chebyshev_affine(interval)
        at_zero = np.polynomial.chebyshev.chebval(beta, c)
        return self._polynomial_result(cts, complex(at_zero), bool(np.iscomplexobj(c)))

    def pow(self, exponent: int) -> CKKSVector:
        """self ** exponent for an integer exponent >= 0: ceil(log2 exponent) levels.

        ``v ** 0`` is a fresh encryption of ``size`` ones at the top level and the
        context's scale (as TenSEAL), with zeros beyond.

        Args:
            exponent: k >= 0.

        Returns:
            self^k slot-wise.

        Raises:
            InputTypeError: ``exponent`` is not an integer.
            InputError: ``exponent`` is negative.
            LevelError: too few levels are left.
            LevelMismatchError: ``ctx.auto_mod_switch`` is off and the powers meet at different levels.
            KeyMissingError: the context has no relinearization key (k >= 2).
        """
        if is_integer(exponent) and int(exponent) == 0:
            ones = self._context.encrypt(np.ones(self._size))
            return ones
        if not all(self._flag(f) for f in ("auto_relin", "auto_rescale", "auto_mod_switch")):
            return self._manual_pow(check_int("the exponent", exponent, 1, type_error=InputTypeError))
        return self._map(lambda ct: polynomial.power(ct, exponent, self._ev))

    def _manual_pow(self, k: int) -> CKKSVector:
        """x^k from the operators, so that every product follows the manual-mode flags (TenSEAL's recursion)."""
        if k == 1:
            return self.copy()
        top = 1 << (k.bit_length() - 1)
        if k == top:
            half = self._manual_pow(k // 2)
            return half * half
        return self._manual_pow(k - top) * self._manual_pow(top)

    __pow__ = pow

    # -- comparisons (circuits.comparison) -------------------------------------------------------
    def sign(self, bits: int = 12, margin: float | None = None) -> CKKSVector:
        """sign(x) slot-wise for x in [-1, 1]: composite minimax polynomials (`ckks.circuits.comparison`).

        ``comparison.sign_plan(bits, margin).depth`` levels (11 for 8 bits, 16 for 12, 21 for 16 at the
        default margin 2^-bits); error <= 2^-bits where |x| >= margin.

        Args:
            bits: the precision (1 .. 24).
            margin: below this |x| the result is only bounded (default 2^-bits).

        Returns:
            The signs, zeros kept beyond ``size`` (sign(0) = 0).

        Raises:
            InputTypeError: bits or margin is not a number.
            InputError: bits or margin out of range, or the values are known to exceed [-1, 1].
            LevelError: too few levels are left (the message names the levels needed).
            KeyMissingError: the context has no relinearization key.
        """
        ev, encoder = self._ev, self._context.encoder
        return self._map(lambda ct: comparison.sign(ct, ev, encoder, bits, margin))

    def _compared(self, other: CKKSVector, what: str, circuit: Callable) -> tuple[tuple[Ciphertext, ...], int]:
        if not isinstance(other, CKKSVector):
            raise InputTypeError(f"{what} takes another CKKSVector, got {type(other).__name__}")
        mine, theirs, size, _, _ = self._pair(other, what)
        return tuple(circuit(*self._align(a, b)) for a, b in zip(mine, theirs)), size

    def compare(self, other: CKKSVector, bits: int = 12, margin: float | None = None) -> CKKSVector:
        """(1 + sign(self - other)) / 2 slot-wise: ~1 where self > other, ~0 where below, 1/2 at ties.

        For |self - other| <= 1; ``sign_plan(bits, margin).depth`` levels; error <= 2^-(bits + 1)
        where |self - other| >= margin (`ckks.circuits.comparison.compare`).

        Args:
            other: a CKKSVector of the same size (or size 1: broadcast).
            bits: the precision of the sign.
            margin: the margin (default 2^-bits).

        Returns:
            The comparison, zeros kept beyond ``size`` when they were there.

        Raises:
            InputTypeError: ``other`` is not a CKKSVector, or bits/margin are not numbers.
            InputError: sizes differ, bits or margin out of range, or values known to exceed the domain.
            ContextMismatchError: ``other`` belongs to another context.
            LevelError: too few levels are left.
            KeyMissingError: the context has no relinearization key.
        """
        ev, encoder = self._ev, self._context.encoder
        cts, size = self._compared(other, "compare", lambda a, b: comparison.compare(a, b, ev, encoder, bits, margin))
        result = self._wrap(cts, other, size=size, zero_tail=self._zero_tail and other._zero_tail)
        return result._polynomial_result(result._chunks, 0.5, False)

    def maximum(self, other: CKKSVector, bits: int = 12, margin: float | None = None) -> CKKSVector:
        """max(self, other) slot-wise = (a + b) / 2 + (a - b) sign(a - b) / 2.

        For |self - other| <= 1; ``sign_plan(bits, margin).depth + 1`` levels; error at most
        ``plan.maximum_error`` everywhere (`ckks.circuits.comparison.maximum`).

        Args:
            other: a CKKSVector of the same size (or size 1: broadcast).
            bits: the precision of the sign.
            margin: the margin (default 2^-bits).

        Returns:
            The maximum, zeros kept beyond ``size`` when they were there.

        Raises:
            InputTypeError: ``other`` is not a CKKSVector, or bits/margin are not numbers.
            InputError: sizes differ, bits or margin out of range, or values known to exceed the domain.
            ContextMismatchError: ``other`` belongs to another context.
            LevelError: too few levels are left.
            KeyMissingError: the context has no relinearization key.
        """
        ev, encoder = self._ev, self._context.encoder
        cts, size = self._compared(other, "maximum", lambda a, b: comparison.maximum(a, b, ev, encoder, bits, margin))
        return self._wrap(cts, other, size=size, zero_tail=self._zero_tail and other._zero_tail)

    def relu(self, bits: int = 12, margin: float | None = None) -> CKKSVector:
        """max(x, 0) slot-wise = x (1 + sign(x)) / 2 for x in [-1, 1] (`ckks.circuits.comparison.relu`).

        ``sign_plan(bits, margin).depth + 1`` levels; error at most ``plan.maximum_error``.

        Args:
            bits: the precision of the sign.
            margin: the margin (default 2^-bits).

        Returns:
            ReLU of the values, zeros kept beyond ``size``.

        Raises:
            InputTypeError: bits or margin is not a number.
            InputError: bits or margin out of range, or the values are known to exceed [-1, 1].
            LevelError: too few levels are left.
            KeyMissingError: the context has no relinearization key.
        """
        ev, encoder = self._ev, self._context.encoder
        return self._map(lambda ct: comparison.relu(ct, ev, encoder, bits, margin))

    def slot_max(self, block: int, bits: int = 12, margin: float | None = None) -> CKKSVector:
        """The maximum of each block of ``block`` consecutive slots, in the block's first slot.

        A rotation tournament of log2(block) rounds (`ckks.circuits.comparison.slot_max`), each a
        `maximum` with the vector rotated by 1, 2, 4, ...: log2(block) (depth + 1) levels.  Values
        in [-1/2, 1/2].  Slot b * block holds the maximum of block b; other slots hold maxima of
        windows that straddle blocks.

        Args:
            block: a power of two dividing N/2.
            bits: the precision of the sign.
            margin: the margin (default 2^-bits).

        Returns:
            The tournament's result (its tail is no longer known to be zero).

        Raises:
            InputTypeError: block, bits or margin has the wrong type.
            InputError: the vector spans several ciphertexts, ``block`` is not a power of two
                dividing N/2, bits or margin out of range, or values known to exceed [-1/2, 1/2].
            LevelError: too few levels are left.
            KeyMissingError: a rotation by a power of two below ``block`` has no Galois key.
        """
        ct = self._single("slot_max")
        out = comparison.slot_max(ct, block, self._ev, self._context.encoder, self._context.rotator, bits, margin)
        return self._wrap(out, zero_tail=False)

    def bootstrap(self, output_scale: float | None = None) -> CKKSVector:
        """The same values at a higher level: CKKS bootstrapping (`ckks.circuits.bootstrapping`).

        ModRaise, CoeffsToSlots, EvalMod and SlotsToCoeffs; the result is at level
        ``ctx.bootstrapper.config.compute_levels`` with this vector's scale, and agrees with it
        within ``config.precision_bits`` bits for values |z| <= 1 (larger values lose precision;
        beyond q_0 / (4 scale) they wrap around, which no one can detect on encrypted data).
        A real vector (``is_complex=False``) comes back with its imaginary parts zeroed (one
        conjugation): the bootstrap's error is complex in the slots, and steep polynomials applied
        afterwards (a composite sign) blow imaginary errors up (`Bootstrapper.bootstrap`, ``real``).

        Args:
            output_scale: the scale of the result (default: this vector's): the same values, no level
                (`Bootstrapper.bootstrap`).

        Returns:
            The refreshed vector.

        Raises:
            KeyMissingError: the context was not made by ``ckks.Context.for_bootstrapping`` or
                ``ctx.generate_bootstrapping_keys()`` was not called.
            InputError: with sparse packing, the vector is longer than the bootstrapped slots or
                its slots beyond its size are not known to be zero; or its scale is too large; or
                ``output_scale`` is not a number in [1, q_0 / 2^8].
        """
        from ckks.circuits.bootstrapping import find_bootstrapper
        from ckks.errors import KeyMissingError

        context = self._context
        bootstrapper = getattr(context, "bootstrapper", None) or find_bootstrapper(context.params, context.key_id)
        if bootstrapper is None:
            raise KeyMissingError(
                "bootstrapping needs a context made by ckks.Context.for_bootstrapping() and its keys from "
                "ctx.generate_bootstrapping_keys()"
            )
        config = bootstrapper.config
        if not config.full_packing and (self._size > config.slots or not self._zero_tail):
            raise InputError(
                f"this context bootstraps {config.slots} slots (sparse packing): the vector must have at most "
                f"{config.slots} values and zeros after them (got size {self._size}, zero tail {self._zero_tail}); "
                "multiply by a 0/1 mask first, or use full packing (slots=N/2)"
            )
        real = not self._is_complex  # real vectors get real outputs (Bootstrapper.bootstrap, ``real``)
        return self._map(lambda ct: bootstrapper.bootstrap(ct, real=real, output_scale=output_scale),
                         zero_tail=self._zero_tail or not config.full_packing)

    # -- TenSEAL's packing -------------------------------------------------------------------
    @staticmethod
    def pack_vectors(vectors: Sequence[CKKSVector]) -> CKKSVector:
        """Several vectors of one size n in one ciphertext, one after the other (TenSEAL's ``pack_vectors``).

        Vector i lands in slots i n .. i n + n - 1 (a rotation right by i n); 0 levels
        when every vector's tail is known to be zero, else 1 (a 0/1 mask first).

        Args:
            vectors: k >= 1 vectors of the same context and size n, k n <= N/2.

        Returns:
            A vector of size k n, zeros beyond.

        Raises:
            InputTypeError: ``vectors`` is not a non-empty sequence of CKKSVectors.
            InputError: the sizes differ, k n > N/2, or a vector is split over several ciphertexts.
            ContextMismatchError: the vectors come from different parameters or keys.
            KeyMissingError: a rotation has no Galois key to make or compose it.
            LevelError: a mask is needed and no level is left.
        """
        if not isinstance(vectors, (list, tuple)) or not vectors:
            raise InputTypeError("pack_vectors takes a non-empty list of CKKSVectors")
        for v in vectors:
            if not isinstance(v, CKKSVector):
                raise InputTypeError(f"pack_vectors takes CKKSVectors, got {type(v).__name__}")
        first = vectors[0]
        n = first._size
        if any(v._size != n for v in vectors):
            raise InputError(f"pack_vectors needs vectors of one size, got sizes {[v._size for v in vectors]}")
        if n * len(vectors) > first._slots:
            raise InputError(
                f"{len(vectors)} vectors of size {n} do not fit in the {first._slots} slots of one ciphertext"
            )
        rotator = first._context.rotator
        total = None
        for i, v in enumerate(vectors):
            first._check_other(v)
            ct = v._masked_chunks()[0] if len(v._chunks) == 1 else v._single("pack_vectors")
            if i:
                ct = rotator.rotate(ct, -i * n)
            total = ct if total is None else first._add_cts(total, ct)
        is_complex = any(v._is_complex for v in vectors)
        return first._wrap(total, size=n * len(vectors), is_complex=is_complex, zero_tail=True)

    # -- TenSEAL's in-place forms: replace this vector's contents with the result, return it ---------
    def add_(self, other) -> CKKSVector:
        """In place: this vector becomes self + other (TenSEAL's ``add_``).

        Args:
            other: as for [`__add__`][ckks.vector.CKKSVector.__add__].

        Returns:
            This vector.

        Raises:
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            ScaleMismatchError: two vectors at the same level have different scales.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            KeyMissingError: broadcasting a size-1 vector needs the power-of-two rotation keys.
        """
        return self._become(self + other)

    def sub_(self, other) -> CKKSVector:
        """In place: this vector becomes self - other (TenSEAL's ``sub_``).

        Args:
            other: as for [`__sub__`][ckks.vector.CKKSVector.__sub__].

        Returns:
            This vector.

        Raises:
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            ScaleMismatchError: two vectors at the same level have different scales.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            KeyMissingError: broadcasting a size-1 vector needs the power-of-two rotation keys.
        """
        return self._become(self - other)

    def mul_(self, other) -> CKKSVector:
        """In place: this vector becomes self * other (TenSEAL's ``mul_``).

        Args:
            other: as for [`__mul__`][ckks.vector.CKKSVector.__mul__].

        Returns:
            This vector.

        Raises:
            InputError: the sizes differ and neither is 1, or ``other`` is not 1-D or not finite.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            LevelMismatchError: the vectors are at different levels and ``ctx.auto_mod_switch`` is off.
            LevelError: no level is left for the rescale.
            KeyMissingError: no relinearization key, or no rotation keys for a broadcast.
        """
        return self._become(self * other)

    def neg_(self) -> CKKSVector:
        """In place: this vector becomes -self (TenSEAL's ``neg_``).

        Returns:
            This vector.
        """
        return self._become(-self)

    def square_(self) -> CKKSVector:
        """In place: this vector becomes self * self (TenSEAL's ``square_``).

        Returns:
            This vector.

        Raises:
            LevelError: no level is left.
            KeyMissingError: the context has no relinearization key.
        """
        return self._become(self.square())

    def pow_(self, exponent: int) -> CKKSVector:
        """In place: this vector becomes self ** exponent (TenSEAL's ``pow_``).

        Args:
            exponent: k >= 0.

        Returns:
            This vector.

        Raises:
            InputTypeError: ``exponent`` is not an integer.
            InputError: ``exponent`` is negative.
            LevelError: too few levels are left.
            LevelMismatchError: ``ctx.auto_mod_switch`` is off and the powers meet at different levels.
            KeyMissingError: the context has no relinearization key (k >= 2).
        """
        return self._become(self.pow(exponent))

    def polyval_(self, coefficients) -> CKKSVector:
        """In place: this vector becomes p(self) (TenSEAL's ``polyval_``).

        Args:
            coefficients: c_0 .. c_d.

        Returns:
            This vector.

        Raises:
            InputTypeError: the coefficients are not numbers.
            InputError: the coefficients are empty, not 1-D, or not finite.
            LevelError: too few levels are left.
            ScaleMismatchError: ``ctx.auto_rescale`` is off and the polynomial uses a level.
            LevelMismatchError: ``ctx.auto_mod_switch`` is off and the polynomial uses a level.
            KeyMissingError: the context has no relinearization key (degree >= 2).
        """
        return self._become(self.polyval(coefficients))

    def sum_(self) -> CKKSVector:
        """In place: this vector becomes its sum (TenSEAL's ``sum_``).

        Returns:
            This vector, now of size 1.

        Raises:
            KeyMissingError: a power-of-two rotation has no Galois key.
            LevelError: the mask needs a level and none is left.
        """
        return self._become(self.sum())

    def dot_(self, other) -> CKKSVector:
        """In place: this vector becomes self . other (TenSEAL's ``dot_``).

        Args:
            other: as for [`dot`][ckks.vector.CKKSVector.dot].

        Returns:
            This vector, now of size 1.

        Raises:
            InputError: ``other`` is not 1-D or has another size.
            InputTypeError: ``other`` is not numbers.
            ContextMismatchError: ``other`` comes from other parameters or keys.
            LevelError: too few levels are left.
            KeyMissingError: a rotation of the sum has no Galois key.
        """
        return self._become(self.dot(other))

    def matmul_(self, matrix, method: str = "bsgs") -> CKKSVector:
        """In place: this vector becomes self @ matrix (TenSEAL's ``matmul_`` / ``mm_``).

        Args:
            matrix: shape (size, m).
            method: "bsgs" or "diagonal".

        Returns:
            This vector, now of size m.

        Raises:
            InputTypeError: ``matrix`` is not an array of numbers.
            InputError: ``matrix`` has the wrong shape or is not finite, or ``method`` is unknown.
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        return self._become(self.matmul(matrix, method))

    mm_ = matmul_

    def enc_matmul_plain_(self, plain_vector, row_size: int) -> CKKSVector:
        """In place: [`enc_matmul_plain`][ckks.vector.CKKSVector.enc_matmul_plain] (TenSEAL's ``enc_matmul_plain_``).

        Args:
            plain_vector: x.
            row_size: the number of rows of the encoded matrix.

        Returns:
            This vector, now of size ``row_size``.

        Raises:
            InputTypeError: ``plain_vector`` is not numbers or ``row_size`` not an integer.
            InputError: the shapes do not match the encoding (see `enc_matmul_plain`).
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        return self._become(self.enc_matmul_plain(plain_vector, row_size))

    def conv2d_im2col_(self, kernel, windows_nb: int) -> CKKSVector:
        """In place: [`conv2d_im2col`][ckks.vector.CKKSVector.conv2d_im2col] (TenSEAL's ``conv2d_im2col_``).

        Args:
            kernel: the kernel.
            windows_nb: the number of windows.

        Returns:
            This vector, now of size ``windows_nb``.

        Raises:
            InputTypeError: ``kernel`` is not numbers, or ``windows_nb`` is not an integer.
            InputError: ``windows_nb`` is 0, ``kernel`` is empty, or the shapes do not match the encoding.
            LevelError: no level is left.
            KeyMissingError: a rotation has no Galois key to make or compose it.
        """
        return self._become(self.conv2d_im2col(kernel, windows_nb))


# -- TenSEAL's encodings ------------------------------------------------------------------------------


def enc_matmul_encoding(context: Context, matrix) -> CKKSVector:
    """Encrypt an r x c matrix M for [`enc_matmul_plain`][ckks.vector.CKKSVector.enc_matmul_plain],
    exactly as TenSEAL's ``enc_matmul_encoding``.

    Column j of M goes to slots j r .. j r + r - 1; the columns are padded with zero
    columns to p = the next power of two of c, so the vector has r p values.

    Args:
        context: the context to encrypt with.
        matrix: M, 2-D, r p <= N/2.

    Returns:
        The encrypted vector of size r p (zeros beyond).

    Raises:
        InputTypeError: ``matrix`` is not an array of numbers.
        InputError: ``matrix`` is not 2-D, not finite, or r p > N/2.
    """
    array = linear_transform.check_matrix(matrix, name="matrix")
    rows, cols = array.shape
    padded_cols = 1 << int(np.ceil(np.log2(cols))) if cols > 1 else 1
    if rows * padded_cols > context.slots:
        raise InputError(
            f"a {rows} x {cols} matrix encodes to {rows} x {padded_cols} = {rows * padded_cols} values, more than "
            f"the {context.slots} slots of one ciphertext; use a larger poly_degree"
        )
    padded = np.zeros((rows, padded_cols), dtype=array.dtype)
    padded[:, :cols] = array
    return context.encrypt(padded.T.reshape(-1))


def im2col_encoding(context: Context, tensor, kernel_n_rows: int, kernel_n_cols: int, stride: int):
    """Encrypt an image for [`conv2d_im2col`][ckks.vector.CKKSVector.conv2d_im2col], exactly as
    TenSEAL's ``im2col_encoding`` (which returns the same pair).

    TenSEAL passes the kernel sizes to its C++ core swapped, so its windows have
    R = ``kernel_n_cols`` rows and C = ``kernel_n_rows`` columns; this function
    does the same, so that both libraries agree for any kernel (for a square
    kernel the distinction vanishes).  The H x W image has
    (H - R) // stride + 1 by (W - C) // stride + 1 windows, numbered row by row;
    the matrix of windows (one row per window, its R C pixels row by row) is then
    encrypted by [`enc_matmul_encoding`][ckks.vector.enc_matmul_encoding].

    Args:
        context: the context to encrypt with.
        tensor: the image, 2-D.
        kernel_n_rows: TenSEAL's kernel_n_rows.
        kernel_n_cols: TenSEAL's kernel_n_cols.
        stride: the stride (>= 1).

    Returns:
        (the encrypted vector, windows_nb).

    Raises:
        InputTypeError: ``tensor`` is not an array of numbers, or a size is not an integer.
        InputError: ``tensor`` is not 2-D or not finite, a size is below 1, the kernel is larger
            than the image, or the encoding does not fit in N/2 slots.
    """
    image = linear_transform.check_matrix(tensor, name="tensor")
    window_rows = check_int("kernel_n_cols", kernel_n_cols, 1, type_error=InputTypeError)
    window_cols = check_int("kernel_n_rows", kernel_n_rows, 1, type_error=InputTypeError)
    stride = check_int("stride", stride, 1, type_error=InputTypeError)
    height, width = image.shape
    if window_rows > height or window_cols > width:
        raise InputError(
            f"the {window_rows} x {window_cols} windows do not fit in the {height} x {width} image"
        )
    out_rows = (height - window_rows) // stride + 1
    out_cols = (width - window_cols) // stride + 1
    r = np.arange(out_rows)[:, None, None, None] * stride + np.arange(window_rows)[None, None, :, None]
    c = np.arange(out_cols)[None, :, None, None] * stride + np.arange(window_cols)[None, None, None, :]
    windows = image[r, c].reshape(out_rows * out_cols, window_rows * window_cols)
    return enc_matmul_encoding(context, windows), out_rows * out_cols


def ckks_vector(context: Context, vector, scale: float | None = None) -> CKKSVector:
    """TenSEAL's ``ts.ckks_vector(ctx, values, scale)``: ``context.encrypt(vector, scale)``.

    Args:
        context: the context.
        vector: the values (any length: longer than N/2 splits over several ciphertexts).
        scale: the scale (default: the context's).

    Returns:
        The encrypted vector.

    Raises:
        InputTypeError: ``vector`` are not numbers, or ``scale`` is not a number.
        InputError: ``vector`` is not 1-D, empty, not finite, or too large for the scale.
    """
    return context.encrypt(vector, scale=scale)


def _load_vector(fields: Fields, payload: memoryview, context: object) -> CKKSVector:
    """The loader of container type "vector" (registered below)."""
    params, key_id = resolve_context(context, "vector")
    if isinstance(context, Parameters):
        raise InputTypeError("loading a vector needs a ckks.Context, not bare Parameters")
    ct = Ciphertext.from_fields(fields, payload, params, key_id, "vector")
    length = fields.integer("length", 0, params.slots)
    is_complex = fields.boolean("complex")
    zero_tail = fields.boolean("zero_tail")  # slots past `length` hold zeros: sum() needs no mask
    fields.done()
    return CKKSVector(context, ct, length, is_complex, zero_tail)


register_loader("vector", _load_vector)


def _sum_steps(slots: int) -> list[int]:
    """The rotations of a rotate-and-add sum over N/2 slots: 1, 2, 4, ..., N/4."""
    return [1 << i for i in range(slots.bit_length() - 1)]


#: A sum (or a broadcast) refuses keys that compose its rotations from more key switches than this many
#: times the log2(N/2) of the default keys (e.g. only steps=[1]: N/2 - 1 key switches, seconds instead of ms).
SUM_KEY_SWITCH_FACTOR = 4


def _check_sum_keys(rotator, steps: list[int]) -> None:
    """Raise KeyMissingError unless the keys make the power-of-two rotations of a sum cheaply.

    With the default keys every step has its own key (log2(N/2) key switches in all).  A context
    without keys, or with keys that compose the steps only from many key switches (steps=[1] alone
    costs N/2 - 1), gets one message that names the call making the default keys, so that
    following the hint always gives the fast path.
    """
    keys = rotator.galois_keys
    if keys is not None and all(keys.has_step(k) for k in steps):
        return
    budget = SUM_KEY_SWITCH_FACTOR * max(len(steps), 1)
    try:
        cost = sum(len(rotator.composition(k)) for k in steps)
    except KeyMissingError:
        cost = None
    if cost is not None and cost <= budget:
        return
    have = "no Galois keys" if keys is None else f"Galois keys for steps {sorted(keys.steps())}"
    slow = "" if cost is None else f" (they would compose them from {cost} key switches instead of {len(steps)})"
    raise KeyMissingError(
        f"sum(), dot() and broadcasting a size-1 vector rotate by the powers of two {steps[0]} .. {steps[-1]}; "
        f"this context has {have}{slow}; create the default keys, which make each of these rotations with one "
        "key switch, with ctx.generate_galois_keys() (no steps argument)"
    )


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
