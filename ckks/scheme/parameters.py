"""Encryption parameters: ring degree, prime chain, special primes, scale, security.

``Parameters(poly_degree=N, moduli_bits=[b_0, ..., b_L, b_P])`` describes the
ring R_Q = Z_Q[X]/(X^N + 1) with Q = q_0 q_1 ... q_L and the special modulus
P used only by key switching, exactly as SEAL/TenSEAL read ``coeff_mod_bit_sizes``:
the last ``special_count`` entries (one by default, as in SEAL) are the
special primes, the others are the data primes of the rescaling chain.  A
fresh ciphertext lives at level L (all L+1 data primes); each rescale divides
by the last prime and moves one level down; at level 0 only q_0 is left.

Hybrid key switching (Han and Ki, "Better bootstrapping for approximate
homomorphic encryption", CT-RSA 2020) splits the data primes into ``dnum``
digits of consecutive primes; SEAL's choice, the default here, is one prime
per digit.

Security follows the HomomorphicEncryption.org standard
(`ckks.security.standard`): for each N, log2(Q*P) may not exceed the bound
of the requested level (128, 192 or 256 bits).  ``security=None`` allows toy
parameters for teaching, with an `InsecureWarning`.

Serialization: `Parameters.serialize` writes a container (`ckks.container`)
of type "parameters" whose header holds `Parameters.to_header`; a context
embeds the same dictionary.  This module also holds the helpers every
serializable type of the scheme uses to read its arrays against the
parameters: [`resolve_context`][ckks.scheme.parameters.resolve_context] and
[`poly_spec`][ckks.scheme.parameters.poly_spec].
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from functools import cached_property

import numpy as np

from ckks.container import ArraySpec, Fields, loads, pack, read_arrays, register_loader
from ckks.errors import (
    CKKSError,
    InputTypeError,
    InsecureWarning,
    LevelError,
    ParameterError,
    PrecisionWarning,
    SerializationError,
)
from ckks.ring.level import RingAtLevel
from ckks.ring.modarith import shoup_per_limb
from ckks.ring.ntt import NTTTables, ntt_tables
from ckks.ring.primes import MAX_PRIME_BITS, coeff_modulus
from ckks.ring.rns import CRTDecoder, RNSDivider, product, ratios_of
from ckks.security.standard import (
    MIN_SECURE_SIGMA,
    check_modulus_bits,
    check_security_level,
    check_sparse_secret,
)
from ckks.validation import check_int, check_real, is_integer, preview

MIN_POLY_DEGREE = 4
MAX_POLY_DEGREE = 1 << 16
#: Largest error standard deviation accepted (the sampler tabulates 12 sigma + 1 values).
MAX_SIGMA = 2.0**16
#: Most primes a serialized parameter set may list (SEAL's largest chains have about 30).
MAX_MODULI = 64
#: Most Galois keys a serialized object may hold (one per Galois element; there are N/2 * 2 of them at most).
MAX_GALOIS_KEYS = MAX_POLY_DEGREE
#: Most key-switching digits (the key switcher accumulates up to 60 products of 61-bit residues in 128 bits).
MAX_DIGITS = 60
KEY_MEMORY_LIMIT = 8 << 30
"""Largest memory (bytes) key generation may allocate without being asked explicitly (8 GiB); see
`Parameters.key_switch_key_bytes` and ``KeyGenerator.create_galois_keys(memory_limit=...)``."""


class Parameters:
    """CKKS parameters and everything precomputed from them.

    Everything derived (NTT tables, level views, rescalers, CRT decoders) is
    cached on the instance, so a Parameters that is no longer referenced is
    freed with its caches.

    Args:
        poly_degree: N, a power of two (2^10 .. 2^16 for real use).
        moduli_bits: bit sizes of the primes, SEAL-style: data primes first
            (q_0 first, rescaling primes next), special primes last.
        scale_bits: log2 of the default scale Delta (defaults to the size of
            the second data prime, capped at q_0's minus 1 bit, or q_0's minus 20 bits
            with one data prime).
        security: 128, 192, 256, or None for toy parameters (warns).
        dnum: number of key-switching digits (default: one per data prime).
        special_count: how many trailing entries of moduli_bits are special
            primes (default 1, as SEAL).
        hamming_weight: None for a uniform ternary secret, or the number of
            non-zero coefficients of a sparse ternary secret.
        sigma: standard deviation of the discrete Gaussian error (3.2).
        digit_primes: an explicit key-switching digit partition: how many consecutive data primes each
            digit holds, q_0's digit first, summing to the number of data primes (e.g. the by-size
            partition of [`digits_by_bits`][ckks.scheme.parameters.digits_by_bits]); None (default): ``dnum``
            digits of equal prime counts (the last one shorter), as SEAL.  With a partition, ``dnum`` is
            its length (give ``dnum`` as None or equal to it).

    Raises:
        InputTypeError: ``poly_degree``, ``moduli_bits``, ``scale_bits`` or ``sigma`` has the wrong type.
        ParameterError: a value is out of range: N not a power of two in [4, 2^16], a prime size outside
            [2, 61], too few primes, ``special_count``, ``dnum``, ``digit_primes``, ``hamming_weight``, ``sigma`` or
            ``security`` invalid, no NTT primes of a size, ``scale_bits`` not below the size of q_0, more
            than `MAX_MODULI` primes or `MAX_DIGITS` key-switching digits, or ``sigma`` below 3.19 with
            ``security`` set.
        SecurityError: the parameters are below the requested security level (N < 1024, no row of the
            standard for N, log2(Q*P) above the bound, or a sparse secret whose (N, h, log2(Q*P)) has no
            cited security estimate).
    """

    def __init__(
        self,
        poly_degree: int,
        moduli_bits: list[int] | tuple[int, ...],
        scale_bits: float | None = None,
        security: int | None = 128,
        dnum: int | None = None,
        special_count: int = 1,
        hamming_weight: int | None = None,
        sigma: float = 3.2,
        digit_primes: list[int] | tuple[int, ...] | None = None,
    ):
        self.poly_degree = _check_poly_degree(poly_degree)
        security = check_security_level(security)
        if scale_bits is not None:
            check_real("scale_bits", scale_bits, type_error=InputTypeError, error=ParameterError)
        _check_sigma(sigma)
        bits = _check_moduli_bits(moduli_bits, special_count)
        if security is not None and float(sigma) < MIN_SECURE_SIGMA:
            raise ParameterError(
                f"sigma={sigma!r} is below the HE standard's error width {MIN_SECURE_SIGMA} (its tables assume "
                "sigma = 3.2): with a narrower error the secret follows from the public key; use sigma=3.2, "
                "or security=None for teaching"
            )
        self.moduli_bits = tuple(bits)
        self.special_count = int(special_count)
        primes = coeff_modulus(self.poly_degree, list(bits))
        self.data_moduli: tuple[int, ...] = tuple(primes[: len(primes) - special_count])
        self.special_moduli: tuple[int, ...] = tuple(primes[len(primes) - special_count :])
        self.scale_bits = float(_default_scale_bits(bits, special_count) if scale_bits is None else scale_bits)
        self.security = security
        self.sigma = float(sigma)
        self.hamming_weight = _check_hamming_weight(hamming_weight, self.poly_degree)
        count = len(self.data_moduli)
        self.digit_primes: tuple[int, ...] | None = _check_digit_primes(digit_primes, dnum, count)
        self.dnum = len(self.digit_primes) if self.digit_primes is not None else _check_dnum(dnum, count)
        if len(self.digits) > MAX_DIGITS:
            raise ParameterError(
                f"{len(self.digits)} key-switching digits exceed the supported {MAX_DIGITS}; set dnum to at most "
                f"{MAX_DIGITS} (digits of several primes each)"
            )
        self.total_bits = product(primes).bit_length()
        self._rings: dict[tuple[int, bool], RingAtLevel] = {}
        #: (what, level) -> RNSDivider / CRTDecoder, filled on first use.
        self._cache: dict[tuple[str, int], object] = {}
        self._check_scale()
        self._check_security()
        self._check_special_modulus()

    # -- derived sizes --------------------------------------------------------
    @property
    def slots(self) -> int:
        """Number of complex slots, N/2."""
        return self.poly_degree // 2

    @property
    def max_level(self) -> int:
        """Level of a fresh ciphertext: the number of rescales available (L)."""
        return len(self.data_moduli) - 1

    @property
    def scale(self) -> float:
        """The default scale Delta = 2^scale_bits."""
        return 2.0**self.scale_bits

    @property
    def all_moduli(self) -> tuple[int, ...]:
        """Data primes followed by special primes (the key-switching basis Q*P)."""
        return self.data_moduli + self.special_moduli

    @property
    def digits(self) -> list[list[int]]:
        """Indices of the data primes in each key-switching digit (consecutive runs, q_0's digit first)."""
        return [list(range(start, start + size)) for start, size in zip(self._digit_starts, self.digit_sizes)]

    @cached_property
    def digit_sizes(self) -> tuple[int, ...]:
        """How many data primes each key-switching digit holds: ``digit_primes``, or ``dnum`` equal runs
        (ceil(L+1 / dnum) primes each, the last one shorter)."""
        if self.digit_primes is not None:
            return self.digit_primes
        return equal_digits(len(self.data_moduli), self.dnum)

    @cached_property
    def _digit_starts(self) -> tuple[int, ...]:
        return tuple(int(x) for x in np.cumsum((0,) + self.digit_sizes[:-1]))

    def fingerprint(self) -> str:
        """A hex digest identifying these parameters (ring, primes, digits, secret, error).

        Two Parameters are equal exactly when their fingerprints are; the
        scale and the security level do not enter it (they change no key or
        ciphertext).

        Returns:
            32 lowercase hex digits (the first 128 bits of a SHA-256).
        """
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        description = {
            "poly_degree": self.poly_degree,
            "data_moduli": [str(q) for q in self.data_moduli],
            "special_moduli": [str(p) for p in self.special_moduli],
            "dnum": self.dnum,
            "hamming_weight": self.hamming_weight,
            "sigma": self.sigma,
        }
        if self.custom_digits:  # the default partition of dnum keeps the fingerprint it always had
            description["digit_primes"] = list(self.digit_primes)
        blob = json.dumps(description, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    @property
    def custom_digits(self) -> bool:
        """True when ``digit_primes`` gives a partition other than ``dnum`` equal runs (it then enters the
        fingerprint and the serialized header)."""
        return self.digit_primes is not None and self.digit_primes != equal_digits(len(self.data_moduli), self.dnum)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameters) and self.fingerprint() == other.fingerprint()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def __repr__(self) -> str:
        return (
            f"Parameters(poly_degree={self.poly_degree}, moduli_bits={list(self.moduli_bits)}, "
            f"scale_bits={self.scale_bits:g}, security={self.security}, dnum={self.dnum}"
            + (f", digit_primes={list(self.digit_primes)})" if self.custom_digits else ")")
        )

    # -- checks ----------------------------------------------------------------
    def _check_scale(self) -> None:
        if not 1 <= self.scale_bits < self.moduli_bits[0]:
            default = _default_scale_bits(list(self.moduli_bits), self.special_count)
            raise ParameterError(
                f"scale_bits={self.scale_bits:g} must be at least 1 and below the size of the "
                f"first prime q_0 ({self.moduli_bits[0]} bits), or decrypted values wrap around; "
                "use a larger first entry in moduli_bits or a smaller scale (leave scale_bits out to get the "
                f"default for these moduli, {default} bits: the rescaling primes' size, below q_0's)"
            )

    def _check_special_modulus(self) -> None:
        """Key switching divides digit-sized noise by P: warn when a digit outgrows P."""
        special_bits = product(self.special_moduli).bit_length()
        digit_bits = max(product(self.data_moduli[i] for i in d).bit_length() for d in self.digits)
        if digit_bits > special_bits:
            warnings.warn(
                f"the largest key-switching digit has {digit_bits} bits but the special modulus P only "
                f"{special_bits}: relinearization and rotations will lose about {digit_bits - special_bits} "
                "bits of precision; raise dnum, or add special primes (special_count) so that P covers a digit",
                PrecisionWarning,
                stacklevel=3,
            )

    def _check_security(self) -> None:
        if self.security is None:
            warnings.warn(
                f"security=None: N={self.poly_degree} with log2(QP)={self.total_bits} is not checked "
                "against the HE standard and may be INSECURE; use these parameters only for teaching",
                InsecureWarning,
                stacklevel=3,
            )
            return
        check_modulus_bits(self.poly_degree, self.total_bits, self.security)
        if self.hamming_weight is not None:
            check_sparse_secret(self.poly_degree, self.hamming_weight, self.total_bits, self.security)

    def key_switch_key_bytes(self, level: int | None = None) -> int:
        """Memory of one key-switching key (a relinearization key or one Galois key), in bytes.

        digits_m x 2 x (m + 1 + alpha) x N x 8: one RLWE sample over Q_m * P per digit that holds
        a prime of q_0 .. q_m, for a key made for levels up to m (`key_digits`; m = L by default).

        Args:
            level: the key's top level m (None: L, a key usable at every level).

        Returns:
            The size in bytes.

        Raises:
            LevelError: ``level`` is not an integer in [0, L].
        """
        level = self.max_level if level is None else check_int("level", level, 0, self.max_level, error=LevelError)
        return self.key_digits(level) * 2 * (level + 1 + self.special_count) * self.poly_degree * 8

    def key_digits(self, level: int | None = None) -> int:
        """How many key-switching digits hold a prime of q_0 .. q_level (all of them at L).

        A key-switching key made for levels up to m needs only these digits and only the limbs
        q_0 .. q_m and the special primes (Han and Ki's gadget restricted to Q_m: mod q_i the gadget
        factor of digit j is P when q_i is in D_j and 0 otherwise, so dropping the limbs above m
        leaves a valid key for every level <= m).  Bootstrapping keys use this: CoeffsToSlots keys
        at the top levels, SlotsToCoeffs keys only down in the chain.

        Args:
            level: the top level (None: L).

        Returns:
            The number of digits.

        Raises:
            LevelError: ``level`` is not an integer in [0, L].
        """
        level = self.max_level if level is None else check_int("level", level, 0, self.max_level, error=LevelError)
        return sum(1 for digit in self.digits if digit[0] <= level)

    def key_level(self, shape: tuple[int, ...]) -> int | None:
        """The top level m of key-switching key data of this shape, or None if no level fits it.

        A key for levels up to m has shape (`key_digits`(m), 2, m + 1 + alpha, N).

        Args:
            shape: the data's shape.

        Returns:
            m, or None when the shape is not that of a key of these parameters.
        """
        if len(shape) != 4 or shape[1] != 2 or shape[3] != self.poly_degree:
            return None
        level = shape[2] - 1 - self.special_count
        if not 0 <= level <= self.max_level or shape[0] != self.key_digits(level):
            return None
        return level

    # -- precomputation ----------------------------------------------------------
    @cached_property
    def tables(self) -> NTTTables:
        """NTT tables of every prime, row i for ``all_moduli[i]``."""
        return ntt_tables(self.poly_degree, self.all_moduli)

    @cached_property
    def moduli_array(self) -> np.ndarray:
        """All primes as a uint64 array (data primes, then special primes)."""
        return np.array(self.all_moduli, dtype=np.uint64)

    @cached_property
    def ratios(self) -> np.ndarray:
        """Barrett ratios of all primes, shape (len(all_moduli), 2)."""
        return ratios_of(self.all_moduli)

    def at_level(self, level: int, special: bool = False) -> RingAtLevel:
        """The ring R_(Q_level) (times P with ``special=True``) as a [`RingAtLevel`][ckks.ring.level.RingAtLevel].

        Q_level = q_0 ... q_level are the data primes a ciphertext at ``level``
        lives over; with ``special=True`` the special primes P follow them
        (the key-switching basis Q_level * P).  One view per (level, special),
        cached on this object.

        Args:
            level: 0 .. `max_level`.
            special: append the special primes.

        Returns:
            The view: its ``rows``, ``moduli``, ``ratios`` and NTT methods.

        Raises:
            LevelError: ``level`` is not an integer in [0, max_level].
        """
        key = (check_int("level", level, 0, self.max_level, error=LevelError), bool(special))
        ring = self._rings.get(key)
        if ring is None:
            rows = self.level_rows(key[0])
            if special:
                rows = np.concatenate([rows, self.special_rows()])
            ring = self._rings[key] = RingAtLevel(self.tables, rows, self.ratios)
        return ring

    def special_rows(self) -> np.ndarray:
        """Row indices of the special primes in `all_moduli`.

        Returns:
            int64 array ``[L+1, ..., L + special_count]``.
        """
        start = len(self.data_moduli)
        return np.arange(start, start + self.special_count, dtype=np.int64)

    def level_rows(self, level: int) -> np.ndarray:
        """Row indices of the data primes q_0 .. q_level.

        Args:
            level: the level (not checked: use `at_level` for a checked view).

        Returns:
            int64 array ``[0, ..., level]``.
        """
        return np.arange(level + 1, dtype=np.int64)

    def rescaler(self, level: int) -> RNSDivider:
        """The divider of a polynomial mod Q_level by q_level with rounding (level -> level - 1).

        For x in NTT form mod Q_level it gives round(x / q_level) mod Q_(level-1),
        still in NTT form; cached on this object per level.

        Args:
            level: the level of the input, 1 .. `max_level`.

        Returns:
            An `RNSDivider` (see `ckks.ring.rns`).

        Raises:
            LevelError: ``level`` is not an integer in [1, max_level] (level 0 has no prime left to drop).
        """
        level = check_int("level", level, 1, self.max_level, error=LevelError)
        return self._divider("rescaler", level, lambda: (np.arange(level), [level]))

    def _divider(self, what: str, level: int, rows) -> RNSDivider:
        """The cached `RNSDivider` ``(what, level)``; ``rows()`` gives its kept and dropped rows when first made."""
        divider = self._cache.get((what, level))
        if divider is None:
            divider = self._cache[what, level] = RNSDivider(self.tables, *rows())
        return divider

    def mod_down(self, level: int) -> RNSDivider:
        """The divider of a polynomial mod Q_level * P by P with rounding (the end of key switching).

        For x in NTT form mod Q_level * P it gives round(x / P) mod Q_level,
        still in NTT form; cached on this object per level.

        Args:
            level: the level of the result, 0 .. `max_level`.

        Returns:
            An `RNSDivider` (see `ckks.ring.rns`).

        Raises:
            LevelError: ``level`` is not an integer in [0, max_level].
        """
        level = check_int("level", level, 0, self.max_level, error=LevelError)
        return self._divider("mod_down", level, lambda: (self.level_rows(level), self.special_rows()))

    def mod_down_rescale(self, level: int) -> RNSDivider:
        """The divider of a polynomial mod Q_level * P by P * q_level with rounding (key switch and rescale at once).

        For x in NTT form mod Q_level * P (the limbs of q_0 .. q_level, then P's) it gives
        round(x / (P q_level)) mod Q_(level-1), still in NTT form: one inverse/forward NTT round trip
        instead of the mod-down's and the rescale's (`Evaluator.relinearize_rescale`); cached per level.

        Args:
            level: the level of the input, 1 .. `max_level`.

        Returns:
            An `RNSDivider` (see `ckks.ring.rns`).

        Raises:
            LevelError: ``level`` is not an integer in [1, max_level].
        """
        level = check_int("level", level, 1, self.max_level, error=LevelError)
        return self._divider(
            "mod_down_rescale", level, lambda: (np.arange(level), np.concatenate(([level], self.special_rows())))
        )

    @cached_property
    def special_mod_data(self) -> tuple[np.ndarray, np.ndarray]:
        """P mod q_i for every data prime q_0 .. q_L, and the Shoup companions (uint64 arrays)."""
        big_p = product(self.special_moduli)
        values = [big_p % int(q) for q in self.data_moduli]
        return np.array(values, dtype=np.uint64), shoup_per_limb(values, self.data_moduli)

    def crt_decoder(self, level: int) -> CRTDecoder:
        """The exact CRT decoder of the data primes q_0 .. q_level (coefficient form -> centred floats).

        Args:
            level: 0 .. `max_level`.

        Returns:
            A `CRTDecoder` (see `ckks.ring.rns`), cached on this object per level.

        Raises:
            LevelError: ``level`` is not an integer in [0, max_level].
        """
        level = check_int("level", level, 0, self.max_level, error=LevelError)
        decoder = self._cache.get(("crt_decoder", level))
        if decoder is None:
            decoder = self._cache["crt_decoder", level] = CRTDecoder(self.data_moduli[: level + 1])
        return decoder

    # -- serialization ---------------------------------------------------------------------------
    def to_header(self) -> dict:
        """The JSON description of these parameters that a container header embeds (field "params").

        Returns:
            A dict with poly_degree, moduli_bits, scale_bits, security, dnum,
            special_count, hamming_weight, sigma and the primes as decimal strings, and
            digit_primes when the digit partition is not dnum's equal one (headers of the
            default partition are unchanged).
        """
        return {
            "poly_degree": self.poly_degree,
            "moduli_bits": list(self.moduli_bits),
            "scale_bits": self.scale_bits,
            "security": self.security,
            "dnum": self.dnum,
            "special_count": self.special_count,
            "hamming_weight": self.hamming_weight,
            "sigma": self.sigma,
            "primes": [str(q) for q in self.all_moduli],
        } | ({"digit_primes": list(self.digit_primes)} if self.custom_digits else {})

    @classmethod
    def from_fields(cls, fields: Fields) -> Parameters:
        """Rebuild the parameters a header describes in its "params" field (see `to_header`).

        Every field is checked for type and range before any prime is generated,
        and the primes the parameters generate must equal the stored ones.

        Args:
            fields: the header (its "params" field is read and marked as seen).

        Returns:
            The parameters.

        Raises:
            SerializationError: a field is missing, of the wrong type or out of range, the
                fields describe invalid parameters, or the stored primes differ from the generated ones.
        """
        p = fields.sub("params")
        poly_degree = p.integer("poly_degree", 1, MAX_POLY_DEGREE)
        moduli_bits = p.int_list("moduli_bits", MAX_MODULI, 2, 64)
        scale_bits = p.number("scale_bits", 0.0, 64.0 * MAX_MODULI)
        security = p.choice("security", (None, 128, 192, 256))
        dnum = p.integer("dnum", 1, MAX_MODULI, optional=True)
        special_count = p.integer("special_count", 1, MAX_MODULI)
        hamming_weight = p.integer("hamming_weight", 1, poly_degree, optional=True)
        sigma = p.number("sigma", 0.0, 2.0**16)
        primes = p.array("primes", MAX_MODULI)
        digit_primes = p.int_list("digit_primes", MAX_MODULI, 1, MAX_MODULI) if "digit_primes" in p.obj else None
        p.done()
        try:
            params = cls(
                poly_degree, moduli_bits, scale_bits, security=security, dnum=dnum,
                special_count=special_count, hamming_weight=hamming_weight, sigma=sigma, digit_primes=digit_primes,
            )
        except CKKSError as exc:
            raise SerializationError(f"header field 'params' describes invalid parameters: {exc}") from None
        if primes != [str(q) for q in params.all_moduli]:
            raise SerializationError(
                f"header field 'params.primes' is {preview(primes)}, but these parameters generate "
                f"{[str(q) for q in params.all_moduli]}; the data was written by an incompatible library"
            )
        return params

    def serialize(self) -> bytes:
        """These parameters as bytes (a container of type "parameters", no arrays).

        Returns:
            The bytes; `Parameters.load` reads them back.
        """
        return pack({"type": "parameters", "params": self.to_header()}, [])

    @staticmethod
    def load(blob: bytes | bytearray | memoryview) -> Parameters:
        """Parameters written by `Parameters.serialize`.

        Args:
            blob: the bytes.

        Returns:
            The parameters (with the same fingerprint as those written).

        Raises:
            InputTypeError: ``blob`` is not bytes-like.
            SerializationError: the bytes are damaged, hold another type, or describe invalid parameters.
        """
        return loads(blob, None, kind="parameters")


def _load_parameters(fields: Fields, payload: memoryview, context: object) -> Parameters:
    params = Parameters.from_fields(fields)
    read_arrays(fields, payload, [])
    fields.done()
    return params


register_loader("parameters", _load_parameters)


# -- helpers for the types serialized against parameters --------------------------------------------
def resolve_context(context: object, what: str) -> tuple[Parameters, str | None]:
    """The parameters and the key id an object is loaded into.

    Args:
        context: a Context (anything with ``params`` and ``key_id``) or bare Parameters.
        what: what is being loaded ("ciphertext", "public key"...), for the message.

    Returns:
        ``(params, key_id)``; ``key_id`` is None for bare Parameters (no key check).

    Raises:
        InputTypeError: ``context`` is None, or neither a Context nor Parameters.
    """
    if context is None:
        raise InputTypeError(
            f"loading a {what} needs the context it belongs to: loads(blob, context) "
            "(or ckks.CKKSVector.load(context, blob))"
        )
    params = getattr(context, "params", context)
    if not isinstance(params, Parameters):
        raise InputTypeError(f"context must be a ckks.Context or ckks.Parameters, got {type(context).__name__}")
    return params, (None if context is params else getattr(context, "key_id", None))


def poly_spec(name: str, params: Parameters, lead: tuple[int, ...], limbs: int, meaning: str) -> ArraySpec:
    """What a stored array of RNS polynomials must look like: shape ``(*lead, limbs, N)``, uint64.

    Limb k must lie in [0, q_k) of the data prime q_k; with more limbs than
    data primes the special primes follow (the basis Q * P of keys).

    Args:
        name: the array's name in the header.
        params: the parameters.
        lead: the leading dimensions (e.g. ``(size,)`` for a ciphertext).
        limbs: the number of primes (level + 1 for data at a level).
        meaning: what the array holds, for error messages.

    Returns:
        The [`ArraySpec`][ckks.container.ArraySpec] for `read_arrays`.
    """
    moduli = params.all_moduli[:limbs] if limbs <= len(params.data_moduli) else params.all_moduli
    return ArraySpec(name, "<u8", (*lead, limbs, params.poly_degree), tuple(moduli), meaning)


# -- argument checks ---------------------------------------------------------------------------------
def _check_sigma(sigma: object) -> None:
    value = check_real("sigma", sigma, type_error=InputTypeError, error=ParameterError)
    if not 0 < value <= MAX_SIGMA:
        raise ParameterError(
            f"sigma must be a positive number up to {MAX_SIGMA}, got {sigma!r}; the HE standard uses 3.2"
        )


def _check_poly_degree(poly_degree: object) -> int:
    if not is_integer(poly_degree):
        raise InputTypeError(f"poly_degree must be an integer power of two, got {poly_degree!r}")
    n = int(poly_degree)
    if n < MIN_POLY_DEGREE or n > MAX_POLY_DEGREE or n & (n - 1):
        raise ParameterError(
            f"poly_degree must be a power of two between {MIN_POLY_DEGREE} and {MAX_POLY_DEGREE}, "
            f"got {poly_degree}; common choices are 8192 and 16384"
        )
    return n


def _check_moduli_bits(moduli_bits: object, special_count: object) -> list[int]:
    if isinstance(moduli_bits, (str, bytes)) or not hasattr(moduli_bits, "__iter__"):
        raise InputTypeError(f"moduli_bits must be a list of integers, got {moduli_bits!r}")
    bits = list(moduli_bits)
    if not all(is_integer(b) for b in bits):
        raise InputTypeError(f"moduli_bits must hold integers, got {bits!r}")
    bits = [int(b) for b in bits]
    if not is_integer(special_count) or special_count < 1:
        raise ParameterError(f"special_count must be a positive integer, got {special_count!r}")
    if len(bits) > MAX_MODULI:
        raise ParameterError(
            f"moduli_bits lists {len(bits)} primes, at most {MAX_MODULI} are supported (and can be serialized); "
            "use fewer, larger primes"
        )
    if len(bits) < special_count + 1:
        raise ParameterError(
            f"moduli_bits={bits} needs at least one data prime and {special_count} special prime(s); "
            "a typical chain is [60, 40, 40, 60]"
        )
    for b in bits:
        if not 2 <= b <= MAX_PRIME_BITS:
            raise ParameterError(
                f"each entry of moduli_bits must be between 2 and {MAX_PRIME_BITS} bits, got {b}"
            )
    return bits


def _default_scale_bits(bits: list[int], special_count: int) -> int:
    """The size of the rescaling primes (so that the scale stays put), capped below q_0's (one bit of room).

    A chain like [40, 40, 40, 40, 40] (SEAL's rotation example) gets 39; one data prime gets q_0 - 20.
    """
    data = bits[: len(bits) - special_count]
    return max(1, min(data[1], data[0] - 1)) if len(data) > 1 else max(1, data[0] - 20)


def _check_hamming_weight(hamming_weight: object, n: int) -> int | None:
    if hamming_weight is None:
        return None
    if not is_integer(hamming_weight) or not 0 < hamming_weight <= n:
        raise ParameterError(
            f"hamming_weight must be None (uniform ternary secret) or an integer in 1..{n}, "
            f"got {hamming_weight!r}"
        )
    return int(hamming_weight)


def equal_digits(count: int, dnum: int) -> tuple[int, ...]:
    """The default digit partition: ``dnum`` runs of ceil(count / dnum) primes (the last one shorter).

    SEAL's partition is dnum = count (one prime per digit).

    Args:
        count: the number of data primes.
        dnum: the number of digits (1 .. count; not checked).

    Returns:
        The primes per digit, q_0's digit first.
    """
    size = math.ceil(count / dnum)
    return tuple(min(size, count - start) for start in range(0, count, size))


def digits_by_bits(
    moduli_bits: list[int] | tuple[int, ...], special_count: int = 1, margin_bits: int = 0
) -> list[int]:
    """The by-size key-switching digit partition: consecutive data primes, each digit filled up to P.

    Hybrid key switching (Han and Ki, CT-RSA 2020, section 3) adds the error sum_j d_j e_j / P
    (|d_j| < D_j / 2, D_j the product of digit j's primes) to the mod-down's rounding: it stays at
    the rounding's size while every D_j <= P.  Equal prime counts (``dnum``) waste that room when the
    primes differ in size (a digit of four 42-bit primes is 168 bits under a 300-bit P); this
    partition fills each digit from q_0 up with as many primes as keep its size at most P's
    (sizes from ``moduli_bits``: sum of the digit's bits <= sum of the special primes' bits), so
    the fewest digits meet D_j <= P.  Fewer digits mean smaller keys (`Parameters.key_digits`)
    and fewer products in every key switch.

    Args:
        moduli_bits: SEAL-style sizes, data primes then the ``special_count`` special primes.
        special_count: how many trailing entries are special primes.
        margin_bits: keep every digit ``margin_bits`` below P (D_j <= P / 2^margin_bits): the digits' term
            of the error, about (D_j / P) sqrt(N dnum) per coefficient, then stays below the rounding's
            0.3 sqrt(N) (`ckks.scheme.layout` uses 3 bits).

    Returns:
        The primes per digit, q_0's digit first (for ``Parameters(..., digit_primes=...)``).

    Raises:
        InputTypeError: ``moduli_bits`` is not a list of integers.
        ParameterError: bad sizes, ``special_count`` or ``margin_bits``, or a data prime larger than
            P / 2^margin_bits (no digit can hold it: add special primes).
    """
    bits = _check_moduli_bits(moduli_bits, special_count)
    margin = check_int("margin_bits", margin_bits, 0, MAX_PRIME_BITS, error=ParameterError)
    data, special = bits[: len(bits) - special_count], sum(bits[len(bits) - special_count :]) - margin
    sizes: list[int] = []
    filled = special + 1
    for b in data:
        if b > special:
            raise ParameterError(
                f"a {b}-bit data prime is larger than the special modulus P less the margin ({special} bits): no "
                "key-switching digit can hold it; add special primes"
            )
        if filled + b > special:
            sizes.append(0)
            filled = 0
        sizes[-1] += 1
        filled += b
    return sizes


def _check_digit_primes(digit_primes: object, dnum: object, data_count: int) -> tuple[int, ...] | None:
    if digit_primes is None:
        return None
    if isinstance(digit_primes, (str, bytes)) or not hasattr(digit_primes, "__iter__"):
        raise InputTypeError(f"digit_primes must be a list of integers (primes per digit), got {digit_primes!r}")
    sizes = list(digit_primes)
    if not sizes or not all(is_integer(k) and k >= 1 for k in sizes) or sum(int(k) for k in sizes) != data_count:
        raise ParameterError(
            f"digit_primes must list positive prime counts, q_0's digit first, that sum to the {data_count} data "
            f"primes; got {sizes!r} (e.g. ckks.scheme.parameters.digits_by_bits(moduli_bits, special_count))"
        )
    if dnum is not None and (not is_integer(dnum) or int(dnum) != len(sizes)):
        raise ParameterError(
            f"dnum={dnum!r} contradicts digit_primes={sizes} ({len(sizes)} digits); give dnum=None with digit_primes"
        )
    return tuple(int(k) for k in sizes)


def _check_dnum(dnum: object, data_count: int) -> int:
    if dnum is None:
        return data_count
    if not is_integer(dnum) or not 1 <= dnum <= data_count:
        raise ParameterError(
            f"dnum must be an integer between 1 and the number of data primes ({data_count}), "
            f"got {dnum!r}"
        )
    return int(dnum)
