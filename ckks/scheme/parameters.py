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

Security follows the HomomorphicEncryption.org standard (Albrecht et al.,
2018, Table 1, uniform ternary secrets): for each N, log2(Q*P) may not
exceed the bound of the requested level (128, 192 or 256 bits).  Bit count is
that of the product Q*P, as SEAL counts it.  ``security=None`` allows toy
parameters for teaching, with an :class:`~ckks.errors.InsecureWarning`.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from functools import cache, cached_property

import numpy as np

from ckks.errors import InputTypeError, InsecureWarning, LevelError, ParameterError, PrecisionWarning, SecurityError
from ckks.ring.level import RingAtLevel
from ckks.ring.ntt import NTTTables, ntt_tables
from ckks.ring.primes import MAX_PRIME_BITS, coeff_modulus
from ckks.ring.rns import CRTDecoder, RNSDivider, product, ratios_of
from ckks.validation import check_int

#: Largest log2(Q*P) for each N and security level (HomomorphicEncryption.org
#: standard, uniform ternary secret, classical attacks).
MAX_MODULUS_BITS: dict[int, dict[int, int]] = {
    128: {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881, 65536: 1761},
    192: {1024: 19, 2048: 37, 4096: 75, 8192: 152, 16384: 305, 32768: 611},
    256: {1024: 14, 2048: 29, 4096: 58, 8192: 118, 16384: 237, 32768: 476},
}

MIN_POLY_DEGREE = 4
MAX_POLY_DEGREE = 1 << 16
#: Largest error standard deviation accepted (the sampler tabulates 12 sigma + 1 values).
MAX_SIGMA = 2.0**16


def _check_security_level(security) -> None:
    if security is not None and (isinstance(security, bool) or security not in MAX_MODULUS_BITS):
        raise ParameterError(
            f"security must be 128, 192, 256 or None (toy parameters), got {security!r}"
        )


def _check_real(name: str, value, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")


def _check_sigma(sigma) -> None:
    _check_real("sigma", sigma)
    if not (math.isfinite(sigma) and 0 < sigma <= MAX_SIGMA):
        raise ParameterError(
            f"sigma must be a positive number up to {MAX_SIGMA}, got {sigma!r}; the HE standard uses 3.2"
        )


def max_modulus_bits(poly_degree: int, security: int = 128) -> int:
    """The largest secure log2(Q*P) for ring degree N at a security level."""
    if security is None:
        raise ParameterError("security must be 128, 192 or 256 here: security=None has no modulus bound")
    _check_security_level(security)
    table = MAX_MODULUS_BITS[security]
    if poly_degree not in table:
        known = ", ".join(str(n) for n in table)
        raise SecurityError(
            f"the HE standard gives no {security}-bit parameters for poly_degree={poly_degree} "
            f"(it covers N = {known}); pick one of those, or pass security=None for "
            "insecure teaching parameters"
        )
    return table[poly_degree]


class Parameters:
    """CKKS parameters and everything precomputed from them.

    Args:
        poly_degree: N, a power of two (2^10 .. 2^16 for real use).
        moduli_bits: bit sizes of the primes, SEAL-style: data primes first
            (q_0 first, rescaling primes next), special primes last.
        scale_bits: log2 of the default scale Delta (defaults to the size of
            the second data prime, or q_0's minus 20 bits with one data prime).
        security: 128, 192, 256, or None for toy parameters (warns).
        dnum: number of key-switching digits (default: one per data prime).
        special_count: how many trailing entries of moduli_bits are special
            primes (default 1, as SEAL).
        hamming_weight: None for a uniform ternary secret, or the number of
            non-zero coefficients of a sparse ternary secret.
        sigma: standard deviation of the discrete Gaussian error (3.2).
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
    ):
        self.poly_degree = _check_poly_degree(poly_degree)
        _check_security_level(security)
        _check_real("scale_bits", scale_bits, optional=True)
        _check_sigma(sigma)
        bits = _check_moduli_bits(moduli_bits, special_count)
        self.moduli_bits = tuple(bits)
        self.special_count = int(special_count)
        primes = coeff_modulus(self.poly_degree, list(bits))
        self.data_moduli: tuple[int, ...] = tuple(primes[: len(primes) - special_count])
        self.special_moduli: tuple[int, ...] = tuple(primes[len(primes) - special_count :])
        self.scale_bits = float(_default_scale_bits(bits, special_count) if scale_bits is None else scale_bits)
        self.security = security
        self.sigma = float(sigma)
        self.hamming_weight = _check_hamming_weight(hamming_weight, self.poly_degree)
        self.dnum = _check_dnum(dnum, len(self.data_moduli))
        self.total_bits = product(primes).bit_length()
        self._rings: dict[tuple[int, bool], RingAtLevel] = {}
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
        """Indices of the data primes in each key-switching digit."""
        count = len(self.data_moduli)
        size = math.ceil(count / self.dnum)
        return [list(range(start, min(start + size, count))) for start in range(0, count, size)]

    def fingerprint(self) -> str:
        """A hex digest identifying these parameters (ring, primes, digits, secret, error)."""
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
        blob = json.dumps(description, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:32]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameters) and self.fingerprint() == other.fingerprint()

    def __hash__(self) -> int:
        return hash(self.fingerprint())

    def __repr__(self) -> str:
        return (
            f"Parameters(poly_degree={self.poly_degree}, moduli_bits={list(self.moduli_bits)}, "
            f"scale_bits={self.scale_bits:g}, security={self.security}, dnum={self.dnum})"
        )

    # -- checks ----------------------------------------------------------------
    def _check_scale(self) -> None:
        if not 1 <= self.scale_bits < self.moduli_bits[0]:
            raise ParameterError(
                f"scale_bits={self.scale_bits:g} must be at least 1 and below the size of the "
                f"first prime q_0 ({self.moduli_bits[0]} bits), or decrypted values wrap around; "
                "use a larger first entry in moduli_bits or a smaller scale"
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
        if self.poly_degree < 1024:
            raise SecurityError(
                f"poly_degree={self.poly_degree} gives no security; real parameters need N >= 1024. "
                "For teaching with tiny rings pass security=None"
            )
        bound = max_modulus_bits(self.poly_degree, self.security)
        if self.total_bits > bound:
            raise SecurityError(
                f"log2(Q*P) = {self.total_bits} bits exceeds the {self.security}-bit security bound "
                f"of {bound} bits for poly_degree={self.poly_degree}; remove primes from moduli_bits, "
                "use smaller ones, or double poly_degree"
            )

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
        """The ring R_(Q_level) (times P with ``special=True``) as a :class:`~ckks.ring.level.RingAtLevel`.

        Q_level = q_0 ... q_level are the data primes a ciphertext at ``level``
        lives over; with ``special=True`` the special primes P follow them
        (the key-switching basis Q_level * P).  One view per (level, special),
        cached on this object.

        Args:
            level: 0 .. :attr:`max_level`.
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
        """Row indices of the special primes in :attr:`all_moduli`."""
        start = len(self.data_moduli)
        return np.arange(start, start + self.special_count, dtype=np.int64)

    def level_rows(self, level: int) -> np.ndarray:
        """Row indices of the data primes q_0 .. q_level."""
        return np.arange(level + 1, dtype=np.int64)

    @cache  # noqa: B019 - one cache per Parameters object is the intent
    def rescaler(self, level: int) -> RNSDivider:
        """Divides a polynomial at ``level`` by q_level with rounding (to ``level - 1``)."""
        return RNSDivider(self.tables, np.arange(level), [level])

    @cache  # noqa: B019
    def mod_down(self, level: int) -> RNSDivider:
        """Divides a polynomial mod Q_level * P by P with rounding (key switching)."""
        return RNSDivider(self.tables, self.level_rows(level), self.special_rows())

    @cache  # noqa: B019
    def crt_decoder(self, level: int) -> CRTDecoder:
        """Exact CRT decoder for the data primes q_0 .. q_level."""
        return CRTDecoder(self.data_moduli[: level + 1])


def _check_poly_degree(poly_degree: int) -> int:
    if isinstance(poly_degree, bool) or not isinstance(poly_degree, (int, np.integer)):
        raise InputTypeError(f"poly_degree must be an integer power of two, got {poly_degree!r}")
    n = int(poly_degree)
    if n < MIN_POLY_DEGREE or n > MAX_POLY_DEGREE or n & (n - 1):
        raise ParameterError(
            f"poly_degree must be a power of two between {MIN_POLY_DEGREE} and {MAX_POLY_DEGREE}, "
            f"got {poly_degree}; common choices are 8192 and 16384"
        )
    return n


def _check_moduli_bits(moduli_bits, special_count: int) -> list[int]:
    if isinstance(moduli_bits, (str, bytes)) or not hasattr(moduli_bits, "__iter__"):
        raise InputTypeError(f"moduli_bits must be a list of integers, got {moduli_bits!r}")
    bits = list(moduli_bits)
    if not all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in bits):
        raise InputTypeError(f"moduli_bits must hold integers, got {bits!r}")
    bits = [int(b) for b in bits]
    if isinstance(special_count, bool) or not isinstance(special_count, int) or special_count < 1:
        raise ParameterError(f"special_count must be a positive integer, got {special_count!r}")
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
    data = bits[: len(bits) - special_count]
    return data[1] if len(data) > 1 else max(1, data[0] - 20)


def _check_hamming_weight(hamming_weight: int | None, n: int) -> int | None:
    if hamming_weight is None:
        return None
    if isinstance(hamming_weight, bool) or not isinstance(hamming_weight, int) or not 0 < hamming_weight <= n:
        raise ParameterError(
            f"hamming_weight must be None (uniform ternary secret) or an integer in 1..{n}, "
            f"got {hamming_weight!r}"
        )
    return hamming_weight


def _check_dnum(dnum: int | None, data_count: int) -> int:
    if dnum is None:
        return data_count
    if isinstance(dnum, bool) or not isinstance(dnum, int) or not 1 <= dnum <= data_count:
        raise ParameterError(
            f"dnum must be an integer between 1 and the number of data primes ({data_count}), "
            f"got {dnum!r}"
        )
    return dnum
