"""The high-level API: a Context that owns parameters and keys, and CKKSVector.

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

import numpy as np

from .ciphertext import Ciphertext, check_same_context
from .encoder import Encoder
from .encryption import Decryptor, Encryptor
from .errors import InputTypeError, KeyMissingError, LevelError, ScaleMismatchError
from .evaluator import Evaluator, _out_of_levels_message, scales_agree
from .keys import KeyGenerator, PublicKey, RelinKey, SecretKey
from .params import Parameters
from .sampling import make_prng


class Context:
    """Parameters, keys and the machinery to encrypt, evaluate and decrypt.

    Args:
        poly_degree: ring degree N (a power of two).
        moduli_bits: bit sizes of the primes; the last is the special prime.
        scale_bits: log2 of the default scale.
        security: 128 (default), 192, 256, or None for toy parameters.
        dnum: number of key-switching digits (default: one per data prime).
        hamming_weight: sparse ternary secret with this many non-zeros.
        seed: a fixed seed for reproducible teaching runs (INSECURE, warns).

    The secret key, the public key and the relinearization key are generated
    here; Galois keys on request.
    """

    def __init__(
        self,
        poly_degree: int = 8192,
        moduli_bits: list[int] | tuple[int, ...] = (60, 40, 40, 60),
        scale_bits: float | None = None,
        security: int | None = 128,
        dnum: int | None = None,
        hamming_weight: int | None = None,
        seed: int | bytes | None = None,
        *,
        _keys: tuple | None = None,
    ):
        self.params = Parameters(
            poly_degree, moduli_bits, scale_bits, security=security, dnum=dnum, hamming_weight=hamming_weight
        )
        self.prng = make_prng(seed)
        self.encoder = Encoder(self.params)
        if _keys is None:
            keygen = KeyGenerator(self.params, prng=self.prng)
            secret_key: SecretKey | None = keygen.secret_key
            public_key = keygen.create_public_key()
            relin_key: RelinKey | None = keygen.create_relin_keys()
        else:
            secret_key, public_key, relin_key = _keys
        self._init_keys(secret_key, public_key, relin_key)

    def _init_keys(self, secret_key: SecretKey | None, public_key: PublicKey, relin_key: RelinKey | None) -> None:
        self.secret_key = secret_key
        self.public_key = public_key
        self.relin_key = relin_key
        self.key_id = public_key.key_id
        self.encryptor = Encryptor(self.params, public_key=public_key, prng=self.prng)
        self.decryptor = Decryptor(self.params, secret_key) if secret_key is not None else None
        self.evaluator = Evaluator(self.params, relin_key)

    # -- convenience ----------------------------------------------------------
    @property
    def slots(self) -> int:
        return self.params.slots

    @property
    def scale(self) -> float:
        return self.params.scale

    @property
    def is_private(self) -> bool:
        """True when this context holds the secret key (can decrypt)."""
        return self.secret_key is not None

    def public_copy(self) -> Context:
        """A context with the same parameters and public keys but no secret key."""
        copy = object.__new__(Context)
        copy.params = self.params
        copy.prng = make_prng(None)
        copy.encoder = self.encoder
        copy._init_keys(None, self.public_key, self.relin_key)
        return copy

    def encrypt(self, values, scale: float | None = None) -> CKKSVector:
        """Encrypt up to N/2 real or complex values (public-key encryption)."""
        slots = self.encoder.slot_vector(values)
        size = _input_size(values, self.slots)
        plaintext = self.encoder.encode(slots, scale)
        is_complex = bool(np.iscomplexobj(np.asarray(values)) and np.any(np.imag(values) != 0))
        return CKKSVector(self, self.encryptor.encrypt(plaintext), size, is_complex)

    def decrypt(self, vector: CKKSVector) -> np.ndarray:
        """Decrypt a CKKSVector to a numpy array of its length (real unless complex values went in)."""
        if not isinstance(vector, CKKSVector):
            raise InputTypeError(f"decrypt takes a CKKSVector, got {type(vector).__name__}")
        if self.decryptor is None:
            raise KeyMissingError(
                "this context has no secret key (it is a public copy) and cannot decrypt; "
                "send the ciphertext to the owner of the secret key"
            )
        values = self.encoder.decode(self.decryptor.decrypt(vector.ciphertext))[: vector.size]
        return values if vector.is_complex else values.real


class CKKSVector:
    """An encrypted vector of ``size`` values (TenSEAL-style, operator overloaded)."""

    __array_priority__ = 1000  # make numpy defer `ndarray * vector` to __rmul__

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

    def decrypt(self) -> np.ndarray:
        """Decrypt with the context's secret key."""
        return self.context.decrypt(self)

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
        return CKKSVector(self.context, ciphertext, size, is_complex)

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
