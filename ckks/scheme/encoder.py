"""The CKKS encoder: N/2 complex slots <-> a polynomial of R = Z[X]/(X^N + 1).

Canonical embedding (Cheon, Kim, Kim, Song, "Homomorphic encryption for
arithmetic of approximate numbers", Asiacrypt 2017, sec. 3.1).  With
zeta = exp(i pi / N), a primitive 2N-th root of unity, a real polynomial m
has the N values m(zeta^k), k odd, in conjugate pairs.  Slot j holds

    z_j = m(zeta^(5^j mod 2N)) / Delta,   j = 0 .. N/2 - 1,

and the conjugate value sits at zeta^(-5^j).  The powers of 5 make the
automorphism X -> X^(5^r) rotate the slots left by r.

Both directions cost O(N log N) with numpy's FFT: writing k = 2t + 1,

    m(zeta^(2t+1)) = sum_i (m_i zeta^i) exp(2 pi i t i / N) = N * ifft(m_i zeta^i)[t],

so decoding twists the coefficients by zeta^i and takes one inverse FFT, and
encoding takes one FFT of the N values and untwists.

Precision.  Encoding rounds Delta * m_i to the nearest integer; the float64
FFT adds an error below about log2(N) * 2^-53 * max|Delta * m_i|, so for
|Delta * m_i| < 2^52 the rounding is exact up to that bound, and
coefficients up to 2^63 are still converted exactly (larger ones go through
Python integers).  Decoding is exact up to the final float64 conversion
([`CRTDecoder`][ckks.ring.rns.CRTDecoder]) and the FFT.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from ckks.errors import ContextMismatchError, InputError, InputTypeError, LevelError
from ckks.ring.modarith import reduce_signed
from ckks.scheme.ciphertext import Plaintext
from ckks.scheme.parameters import Parameters
from ckks.validation import is_integer, is_real

_INT64_SAFE = 2.0**62


class Encoder:
    """Encodes values into plaintexts and decodes plaintexts into values.

    Args:
        params: the parameters (ring degree N, primes, default scale).

    Raises:
        InputTypeError: ``params`` is not a `Parameters`.
    """

    def __init__(self, params: Parameters):
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        self.params = params

    @property
    def slots(self) -> int:
        """The number of complex slots, N/2."""
        return self.params.slots

    @cached_property
    def _slot_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions t of slot j and of its conjugate in the vector of values m(zeta^(2t+1))."""
        n = self.params.poly_degree
        two_n = 2 * n
        powers = np.empty(self.slots, dtype=np.int64)
        x = 1
        for j in range(self.slots):
            powers[j] = x
            x = x * 5 % two_n
        return (powers - 1) // 2, (two_n - powers - 1) // 2

    @cached_property
    def _twist(self) -> np.ndarray:
        n = self.params.poly_degree
        return np.exp(1j * np.pi * np.arange(n) / n)

    # -- values <-> real coefficients ------------------------------------------
    def embed_inverse(self, values: np.ndarray) -> np.ndarray:
        """Real coefficients m (float) with m(zeta^(5^j)) = values[j] (unscaled, unrounded).

        The inverse canonical embedding: one FFT of the N values (each slot and
        its conjugate), then the untwist by zeta^-i.

        Args:
            values: N/2 complex slot values (see `slot_vector`).

        Returns:
            float64 array of the N coefficients of m.
        """
        n = self.params.poly_degree
        index, conj_index = self._slot_index
        w = np.zeros(n, dtype=np.complex128)
        w[index] = values
        w[conj_index] = np.conj(values)
        return (np.fft.fft(w) / n * np.conj(self._twist)).real

    def embed(self, coefficients: np.ndarray) -> np.ndarray:
        """Slot values m(zeta^(5^j)) of real coefficients m (the canonical embedding).

        Args:
            coefficients: the N real coefficients of m.

        Returns:
            complex128 array of the N/2 slot values.
        """
        n = self.params.poly_degree
        w = np.fft.ifft(np.asarray(coefficients, dtype=np.float64) * self._twist) * n
        return w[self._slot_index[0]]

    # -- values <-> plaintexts -------------------------------------------------
    def encode(self, values: object, scale: float | None = None, level: int | None = None) -> Plaintext:
        """Encode up to N/2 real or complex values at ``scale`` (default Delta) and ``level``.

        The result is round(Delta * m) in NTT form over q_0 .. q_level, where m
        is the inverse canonical embedding of the values.  Shorter inputs are
        padded with zeros; a scalar fills every slot.

        Args:
            values: a number or a 1-D sequence of at most N/2 real or complex numbers.
            scale: Delta (default: the parameters' scale).
            level: 0 .. max_level (default: max_level, a fresh ciphertext's level).

        Returns:
            The plaintext at ``level`` and ``scale``.

        Raises:
            InputTypeError: ``scale`` is not a number, or ``values`` are not numbers.
            InputError: ``scale`` is below 1 or not finite; ``values`` are not 1-D, empty, more than
                N/2, not finite, or too large for the modulus at this scale.
            LevelError: ``level`` is not an integer in [0, max_level].
        """
        params = self.params
        scale = params.scale if scale is None else _check_scale(scale)
        level = params.max_level if level is None else _check_level(level, params)
        slots = self.slot_vector(values)
        with np.errstate(over="ignore", invalid="ignore"):  # huge values: refused below as not finite
            coefficients = np.rint(self.embed_inverse(slots) * scale)
        bound = float(np.max(np.abs(slots)))
        constant = bool(np.all(slots == slots[0]))
        return Plaintext(params, self.integers_to_rns(coefficients, level), scale, bound=bound, constant=constant)

    def encode_constant(self, value: complex, scale: float, level: int) -> Plaintext:
        """Encode the same value in every slot; costs no FFT (a real constant is a constant polynomial).

        A real c becomes the constant polynomial round(c * Delta); a complex one
        goes through `encode`.

        Args:
            value: a real or complex number.
            scale: Delta.
            level: 0 .. max_level.

        Returns:
            The plaintext at ``level`` and ``scale``.

        Raises:
            InputTypeError: ``value`` or ``scale`` is not a number.
            InputError: ``value`` is not finite, ``scale`` is below 1 or not finite, or
                round(value * scale) is too large for the modulus at ``level``.
            LevelError: ``level`` is not an integer in [0, max_level].
        """
        scale = _check_scale(scale)
        level = _check_level(level, self.params)
        if not (is_real(value) or isinstance(value, (complex, np.complexfloating))):
            raise InputTypeError(f"value must be a real or complex number, got {type(value).__name__}")
        if not np.isfinite(value):
            raise InputError(f"value must be finite, got {value}")
        if np.iscomplexobj(value) and np.imag(value) != 0:
            return self.encode(np.full(self.slots, value), scale, level)
        coefficients = np.zeros(self.params.poly_degree)
        coefficients[0] = np.rint(float(np.real(value)) * scale)
        rns = self.integers_to_rns(coefficients, level)
        return Plaintext(self.params, rns, scale, bound=abs(float(np.real(value))), constant=True)

    def decode(self, plaintext: Plaintext) -> np.ndarray:
        """The N/2 complex slot values of a plaintext (m / scale at zeta^(5^j)).

        m is brought to coefficient form, lifted exactly by CRT from
        Q_level to centred integers (as floats), divided by the scale, and
        embedded.

        Args:
            plaintext: a plaintext of these parameters.

        Returns:
            complex128 array of the N/2 slot values.

        Raises:
            InputTypeError: ``plaintext`` is not a `Plaintext`.
            ContextMismatchError: it was made for other parameters.
        """
        if not isinstance(plaintext, Plaintext):
            raise InputTypeError(
                f"decode takes a Plaintext, got {type(plaintext).__name__}; decrypt a ciphertext first"
            )
        if plaintext.params != self.params:
            raise ContextMismatchError("the plaintext was made for other parameters than the Encoder's")
        level = plaintext.level
        data = self.params.at_level(level).to_coefficients(plaintext.data)
        coefficients = self.params.crt_decoder(level).to_float(data)
        return self.embed(coefficients / plaintext.scale)

    def slot_vector(self, values: object) -> np.ndarray:
        """Validate ``values`` and return them as a length-N/2 complex vector (zero padded).

        Args:
            values: a number (fills every slot) or a 1-D sequence of at most N/2 numbers.

        Returns:
            complex128 array of length N/2.

        Raises:
            InputTypeError: ``values`` are not real or complex numbers (ragged lists, strings, objects).
            InputError: not one-dimensional, empty, longer than N/2, or containing NaN or infinity.
        """
        try:
            array = np.asarray(values)
        except Exception as exc:  # ragged lists and the like
            raise InputTypeError(f"values must be a number or a 1-D sequence of numbers: {exc}") from exc
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise InputTypeError(
                f"values must be real or complex numbers, got an array of dtype {array.dtype}"
            )
        if array.ndim == 0:
            array = np.full(self.slots, array)
        if array.ndim != 1:
            raise InputError(
                f"values must be one-dimensional, got shape {array.shape}; flatten it first"
            )
        if array.size == 0:
            raise InputError("values is empty: give at least one number to encode")
        if array.size > self.slots:
            raise InputError(
                f"got {array.size} values but there are only {self.slots} slots (poly_degree / 2); "
                "use a larger poly_degree or split the data over several ciphertexts"
            )
        array = array.astype(np.complex128)
        if not np.all(np.isfinite(array)):
            raise InputError("values contain NaN or infinity, which cannot be encoded")
        out = np.zeros(self.slots, dtype=np.complex128)
        out[: array.size] = array
        return out

    def integers_to_rns(self, coefficients: np.ndarray, level: int) -> np.ndarray:
        """Integer-valued float coefficients -> NTT-form residues mod q_0 .. q_level.

        Each coefficient c becomes c mod q_k in limb k (exactly: through int64
        below 2^62, through Python integers above), then the limbs go to NTT form.

        Args:
            coefficients: N float64 values that are integers.
            level: 0 .. max_level.

        Returns:
            uint64 array of shape (level + 1, N), NTT form.

        Raises:
            LevelError: ``level`` is not an integer in [0, max_level].
            InputError: a coefficient is not finite or reaches a quarter of Q_level (the values are too large
                for the scale).
        """
        params = self.params
        ring = params.at_level(_check_level(level, params))
        if not np.all(np.isfinite(coefficients)):
            raise InputError(
                "the encoded coefficients are not finite: the values times the scale overflow float64 "
                "(about 1.8e308); encode smaller values or use a smaller scale"
            )
        bound = np.max(np.abs(coefficients)) if coefficients.size else 0.0
        modulus_bits = sum(int(q).bit_length() for q in params.data_moduli[: ring.limbs])
        if bound > 0 and math.log2(bound) >= modulus_bits - 2:  # 2.0 ** bits overflows past 1023 bits
            raise InputError(
                f"encoded coefficients reach 2^{np.log2(bound):.1f}, too close to the modulus "
                f"(2^{modulus_bits}) at level {level}: the values are too large for this scale; "
                "encode smaller values or use a smaller scale"
            )
        out = ring.empty()
        if bound < _INT64_SAFE:
            reduce_signed(coefficients.astype(np.int64), ring.moduli, out)
        else:
            integers = [int(c) for c in coefficients]  # exact: float64 values are integers here
            for i, q in enumerate(params.data_moduli[: ring.limbs]):
                out[i] = np.array([c % q for c in integers], dtype=np.uint64)
        return ring.forward(out)


def _check_scale(scale: object) -> float:
    if not is_real(scale):
        raise InputTypeError(f"scale must be a positive number or None, got {type(scale).__name__}")
    scale = float(scale)
    if not np.isfinite(scale) or scale < 1:
        raise InputError(
            f"scale must be a finite number of at least 1, got {scale}; a scale below 1 rounds every value "
            "to 0 (the usual scale is 2^scale_bits, e.g. 2^40)"
        )
    return scale


def _check_level(level: object, params: Parameters) -> int:
    if not is_integer(level) or not 0 <= level <= params.max_level:
        raise LevelError(
            f"level must be an integer between 0 and {params.max_level}, got {level!r}"
        )
    return int(level)
