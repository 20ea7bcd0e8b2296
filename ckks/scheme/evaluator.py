"""Homomorphic operations on ciphertexts (SEAL-shaped, explicit).

Ciphertexts and plaintexts are in NTT form over q_0 .. q_l.  Levels and
scales, before -> after:

=====================  ==========================  ===============================
operation              level                       scale
=====================  ==========================  ===============================
add / sub / negate     min(l_a, l_b) (auto-align)  unchanged (scales must agree)
add_plain              l                           unchanged (scales must agree)
multiply_plain         l                           s * s_p
multiply (tensor)      min(l_a, l_b)               s_a * s_b (size 3 result)
relinearize            l                           unchanged (size 3 -> 2)
rescale                l -> l - 1                  s / q_l
mod_switch_to_next     l -> l - 1                  unchanged
multiply_integer       l                           unchanged
=====================  ==========================  ===============================

Scales are tracked as floats.  Two scales "agree" when their ratio is within
``SCALE_RTOL`` of 1; otherwise :class:`~ckks.errors.ScaleMismatchError`
names both.  Every operation returns a new ciphertext and leaves its inputs
unchanged; the ``*_inplace`` spelling of SEAL is not offered.
"""

from __future__ import annotations

import math

import numpy as np

from ckks.errors import InputError, InputTypeError, LevelError, ScaleMismatchError
from ckks.ring.modarith import (
    poly_add,
    poly_mul,
    poly_mul_scalar,
    poly_neg,
    poly_sub,
    shoup_per_limb,
    tensor_square_free,
)
from ckks.scheme.ciphertext import Ciphertext, Plaintext, check_same_context
from ckks.scheme.encoder import Encoder
from ckks.scheme.keys import RelinKey, require_key
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.parameters import Parameters

#: Relative tolerance within which two scales count as equal.
SCALE_RTOL = 1e-9


def scales_agree(a: float, b: float) -> bool:
    """True when a / b is within SCALE_RTOL of 1."""
    return abs(a - b) <= SCALE_RTOL * max(abs(a), abs(b))


class Evaluator:
    """Add, multiply, relinearize, rescale and switch levels of ciphertexts.

    Args:
        params: the encryption parameters.
        relin_key: the relinearization key (may also be passed to each call).
    """

    def __init__(self, params: Parameters, relin_key: RelinKey | None = None):
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        _check_relin_key(relin_key)
        self.params = params
        self.relin_key = relin_key
        self.key_switcher = KeySwitcher(params)
        self.encoder = Encoder(params)

    # -- helpers -------------------------------------------------------------
    def _moduli(self, level: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.params.level_rows(level)
        return self.params.moduli_array[rows], self.params.ratios[rows]

    def _check(self, *objects) -> None:
        for obj in objects:
            if not isinstance(obj, (Ciphertext, Plaintext)):
                raise InputTypeError(f"expected a Ciphertext or Plaintext, got {type(obj).__name__}")
        check_same_context(_ParamsTag(self.params), *objects)

    def _check_scales(self, a: float, b: float, what: str) -> None:
        if not scales_agree(a, b):
            raise ScaleMismatchError(
                f"cannot {what}: scales 2^{math.log2(a):.4f} and 2^{math.log2(b):.4f} differ; "
                "rescale the operand with the larger scale, or encode the plaintext at the "
                "ciphertext's scale (ciphertext.scale)"
            )

    def align_levels(self, a, b):
        """Bring the higher-level operand down to the other's level (mod-switch)."""
        if a.level > b.level:
            return self.mod_switch_to(a, b.level), b
        if b.level > a.level:
            return a, self.mod_switch_to(b, a.level)
        return a, b

    # -- addition ----------------------------------------------------------------
    def add(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a + b at the lower of the two levels; scales must agree."""
        return self._add_or_sub(a, b, poly_add, "add")

    def sub(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a - b at the lower of the two levels; scales must agree."""
        return self._add_or_sub(a, b, poly_sub, "subtract")

    def _add_or_sub(self, a, b, kernel, what) -> Ciphertext:
        self._check(a, b)
        _require_ciphertext(a, b)
        self._check_scales(a.scale, b.scale, what + " ciphertexts")
        a, b = self.align_levels(a, b)
        moduli, _ = self._moduli(a.level)
        size = max(a.size, b.size)
        out = np.zeros((size, a.level + 1, self.params.poly_degree), dtype=np.uint64)
        out[: a.size] = a.data
        for k in range(b.size):
            if k < a.size:
                kernel(out[k], b.data[k], moduli, out[k])
            elif kernel is poly_add:
                out[k] = b.data[k]
            else:
                poly_neg(b.data[k], moduli, out[k])
        return Ciphertext(self.params, out, a.scale, a.key_id)

    def negate(self, a: Ciphertext) -> Ciphertext:
        """-a."""
        self._check(a)
        moduli, _ = self._moduli(a.level)
        out = np.empty_like(a.data)
        for k in range(a.size):
            poly_neg(a.data[k], moduli, out[k])
        return Ciphertext(self.params, out, a.scale, a.key_id)

    def add_plain(self, a: Ciphertext, p: Plaintext) -> Ciphertext:
        """a + p; the plaintext is switched down to a's level; scales must agree."""
        return self._add_plain(a, p, poly_add, "add a plaintext")

    def sub_plain(self, a: Ciphertext, p: Plaintext) -> Ciphertext:
        """a - p; the plaintext is switched down to a's level; scales must agree."""
        return self._add_plain(a, p, poly_sub, "subtract a plaintext")

    def _add_plain(self, a, p, kernel, what) -> Ciphertext:
        self._check(a, p)
        _require_ciphertext(a)
        self._check_scales(a.scale, p.scale, what)
        if p.level < a.level:
            raise LevelError(
                f"the plaintext is at level {p.level}, below the ciphertext's level {a.level}; "
                "encode it at the ciphertext's level (encoder.encode(values, scale, ct.level))"
            )
        moduli, _ = self._moduli(a.level)
        out = a.data.copy()
        kernel(out[0], p.data[: a.level + 1], moduli, out[0])
        return Ciphertext(self.params, out, a.scale, a.key_id)

    # -- multiplication --------------------------------------------------------
    def multiply_plain(self, a: Ciphertext, p: Plaintext) -> Ciphertext:
        """a * p (coefficient-wise in NTT form); scale becomes s_a * s_p, level unchanged."""
        self._check(a, p)
        _require_ciphertext(a)
        if p.level < a.level:
            raise LevelError(
                f"the plaintext is at level {p.level}, below the ciphertext's level {a.level}; "
                "encode it at the ciphertext's level"
            )
        moduli, ratios = self._moduli(a.level)
        plain = p.data[: a.level + 1]
        out = np.empty_like(a.data)
        for k in range(a.size):
            poly_mul(a.data[k], plain, moduli, ratios, out[k])
        return Ciphertext(self.params, out, a.scale * p.scale, a.key_id)

    def multiply(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """The tensor product (d_0, d_1, d_2) of two size-2 ciphertexts; scale s_a * s_b."""
        self._check(a, b)
        _require_ciphertext(a, b)
        if a.size != 2 or b.size != 2:
            raise InputError(
                "multiply takes ciphertexts of size 2; relinearize the operand first "
                "(evaluator.relinearize(ct, relin_key))"
            )
        a, b = self.align_levels(a, b)
        moduli, ratios = self._moduli(a.level)
        out = np.empty((3, a.level + 1, self.params.poly_degree), dtype=np.uint64)
        tensor_square_free(a.data[0], a.data[1], b.data[0], b.data[1], moduli, ratios, out[0], out[1], out[2])
        return Ciphertext(self.params, out, a.scale * b.scale, a.key_id)

    def square(self, a: Ciphertext) -> Ciphertext:
        """a * a (size 3); scale s^2."""
        return self.multiply(a, a)

    def add_scalar(self, a: Ciphertext, value: complex) -> Ciphertext:
        """a + c in every slot; c is encoded at a's scale and level (no level used)."""
        self._check(a)
        _require_ciphertext(a)
        return self.add_plain(a, self.encoder.encode_constant(_scalar(value), a.scale, a.level))

    def multiply_scalar(self, a: Ciphertext, value: complex, scale: float | None = None) -> Ciphertext:
        """a * c in every slot, c encoded at ``scale`` (default: a's scale); scale becomes s_a * scale.

        Follow with :meth:`rescale` to return to about the original scale.
        """
        self._check(a)
        _require_ciphertext(a)
        scale = a.scale if scale is None else scale
        return self.multiply_plain(a, self.encoder.encode_constant(_scalar(value), scale, a.level))

    def multiply_integer(self, a: Ciphertext, value: int) -> Ciphertext:
        """a * k for an integer k: exact, uses no level, keeps the scale."""
        self._check(a)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise InputTypeError(f"multiply_integer takes an int, got {type(value).__name__}")
        rows = self.params.level_rows(a.level)
        moduli = self.params.moduli_array[rows]
        scalars = np.array([int(value) % int(q) for q in moduli], dtype=np.uint64)
        shoup = shoup_per_limb(scalars, moduli)
        out = np.empty_like(a.data)
        for k in range(a.size):
            poly_mul_scalar(a.data[k], scalars, shoup, moduli, out[k])
        return Ciphertext(self.params, out, a.scale, a.key_id)

    def relinearize(self, a: Ciphertext, relin_key: RelinKey | None = None) -> Ciphertext:
        """(d_0, d_1, d_2) -> (d_0, d_1) + KeySwitch(d_2, s^2 -> s); level and scale unchanged."""
        self._check(a)
        _check_relin_key(relin_key)
        key = require_key(
            relin_key if relin_key is not None else self.relin_key,
            "relinearization key",
            "create it with KeyGenerator(params).create_relin_keys() and pass it to the Evaluator",
        )
        if key.key_id != a.key_id:
            check_same_context(a, key)
        if a.size == 2:
            return a.copy()
        if a.size != 3:
            raise InputError(f"relinearize takes a ciphertext of size 3, got size {a.size}")
        moduli, _ = self._moduli(a.level)
        switched = self.key_switcher.switch(a.data[2], key.data)
        out = np.empty((2, a.level + 1, self.params.poly_degree), dtype=np.uint64)
        poly_add(a.data[0], switched[0], moduli, out[0])
        poly_add(a.data[1], switched[1], moduli, out[1])
        return Ciphertext(self.params, out, a.scale, a.key_id)

    # -- levels ----------------------------------------------------------------------
    def rescale(self, a: Ciphertext) -> Ciphertext:
        """Divide by the last prime q_l with rounding: level l -> l - 1, scale s -> s / q_l."""
        self._check(a)
        if a.level == 0:
            raise LevelError(_out_of_levels_message(self.params, "rescale"))
        divider = self.params.rescaler(a.level)
        out = np.stack([divider.divide(a.data[k]) for k in range(a.size)])
        q_last = self.params.data_moduli[a.level]
        return Ciphertext(self.params, out, a.scale / q_last, a.key_id)

    def mod_switch_to_next(self, a):
        """Drop the last prime without dividing: level l -> l - 1, scale unchanged."""
        self._check(a)
        if a.level == 0:
            raise LevelError(_out_of_levels_message(self.params, "switch down a level"))
        return self.mod_switch_to(a, a.level - 1)

    def mod_switch_to(self, a, level: int):
        """Drop primes down to ``level`` (a Ciphertext or a Plaintext); scale unchanged."""
        self._check(a)
        if not isinstance(level, (int, np.integer)) or not 0 <= level <= a.level:
            raise LevelError(
                f"cannot switch from level {a.level} to level {level}: levels only go down, to 0 at least"
            )
        if isinstance(a, Plaintext):
            return Plaintext(a.params, np.ascontiguousarray(a.data[: level + 1]), a.scale)
        data = np.ascontiguousarray(a.data[:, : level + 1])
        return Ciphertext(a.params, data, a.scale, a.key_id)


def _check_relin_key(key) -> None:
    if key is not None and not isinstance(key, RelinKey):
        raise InputTypeError(
            f"relin_key must be a ckks.RelinKey (KeyGenerator(params).create_relin_keys()), got {type(key).__name__}"
        )


class _ParamsTag:
    def __init__(self, params):
        self.params = params


def _scalar(value) -> complex:
    if isinstance(value, bool) or not isinstance(value, (int, float, complex, np.number)):
        raise InputTypeError(f"value must be a real or complex number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise InputError(f"value must be finite, got {value}")
    return value


def _require_ciphertext(*objects) -> None:
    for obj in objects:
        if not isinstance(obj, Ciphertext):
            raise InputTypeError(f"expected a Ciphertext, got {type(obj).__name__}")


def _out_of_levels_message(params: Parameters, action: str) -> str:
    depth = params.max_level
    bits = list(params.moduli_bits)
    longer = bits[:-params.special_count] + [bits[1] if len(bits) > 2 else 40] + bits[-params.special_count:]
    return (
        f"cannot {action}: the ciphertext is at level 0 and no rescaling prime is left. "
        f"These parameters (moduli_bits={bits}) allow a multiplicative depth of {depth}; "
        f"each extra level needs one more prime, e.g. moduli_bits={longer} "
        "(check the security bound of poly_degree)"
    )
