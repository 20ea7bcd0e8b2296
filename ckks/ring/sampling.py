"""Randomness: a SHAKE-256 stream cipher seeded from the OS, and the samplers.

Like SEAL's default PRNG (Blake2xb/SHAKE-256 seeded from ``random_device``),
every random polynomial is drawn from an extendable-output function:
block i of a stream is SHAKE-256(seed || i) with i a 64-bit little-endian
counter.  Seeds come from :mod:`secrets` (the OS CSPRNG).  A user-given seed
makes runs reproducible, which is useful in a classroom and insecure anywhere
else, so it warns (:class:`ckks.errors.InsecureWarning`).

Samplers (each returns integers; reduction mod the RNS primes is the caller's):

* ``uniform_mod(q, n)``: uniform in [0, q) by rejection of 64-bit words above
  the largest multiple of q (no modulo bias);
* ``ternary(n)``: uniform in {-1, 0, 1} from bytes below 255 (= 3 * 85);
* ``sparse_ternary(n, h)``: exactly h non-zero coefficients, uniform signs;
* ``gaussian(n, sigma=3.2)``: the discrete Gaussian D_{Z,sigma} cut at
  6 sigma (|e| <= 19), by inversion of its cumulative table with 53-bit
  uniforms (statistical distance to the cut distribution below 2^-50).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import warnings

import numpy as np

from ckks.errors import InputError, InputTypeError, InsecureWarning

SEED_BYTES = 32
DEFAULT_SIGMA = 3.2
TAIL_CUT_SIGMAS = 6


class PRNG:
    """A SHAKE-256 based random stream.  ``PRNG()`` seeds from the OS."""

    def __init__(self, seed: bytes | None = None):
        if seed is None:
            seed = secrets.token_bytes(SEED_BYTES)
        if not isinstance(seed, (bytes, bytearray)) or len(seed) == 0:
            raise InputError("seed must be a non-empty bytes object")
        self.seed = bytes(seed)
        self._counter = 0

    def random_bytes(self, count: int) -> bytes:
        """The next ``count`` bytes of the stream."""
        block = hashlib.shake_256(self.seed + self._counter.to_bytes(8, "little")).digest(count)
        self._counter += 1
        return block

    def words(self, count: int) -> np.ndarray:
        """``count`` uniform 64-bit words."""
        return np.frombuffer(self.random_bytes(8 * count), dtype="<u8").astype(np.uint64)

    def uniform_mod(self, q: int, count: int) -> np.ndarray:
        """``count`` integers uniform in [0, q), as uint64."""
        q = int(q)
        limit = (1 << 64) // q * q
        out = np.empty(0, dtype=np.uint64)
        while out.size < count:
            need = count - out.size
            words = self.words(need + need // 8 + 8)
            if limit < (1 << 64):
                words = words[words < np.uint64(limit)]
            out = np.concatenate([out, words[:need] % np.uint64(q)])
        return out

    def ternary(self, count: int) -> np.ndarray:
        """``count`` integers uniform in {-1, 0, 1}, as int64."""
        out = np.empty(0, dtype=np.int64)
        while out.size < count:
            need = count - out.size
            raw = np.frombuffer(self.random_bytes(need + need // 8 + 16), dtype=np.uint8)
            raw = raw[raw < 255]
            out = np.concatenate([out, (raw[:need] % 3).astype(np.int64) - 1])
        return out

    def below(self, bound: int, count: int) -> np.ndarray:
        """``count`` integers uniform in [0, bound), as int64."""
        return self.uniform_mod(bound, count).astype(np.int64)

    def sparse_ternary(self, count: int, hamming_weight: int) -> np.ndarray:
        """A vector of length ``count`` with exactly ``hamming_weight`` entries in {-1, 1}."""
        if not 0 < hamming_weight <= count:
            raise InputError(
                f"hamming_weight must be between 1 and the ring degree {count}, got {hamming_weight}"
            )
        positions = np.arange(count)
        for i in range(hamming_weight):  # partial Fisher-Yates shuffle
            j = i + int(self.below(count - i, 1)[0])
            positions[i], positions[j] = positions[j], positions[i]
        signs = 2 * (np.frombuffer(self.random_bytes(hamming_weight), dtype=np.uint8) & 1).astype(np.int64) - 1
        out = np.zeros(count, dtype=np.int64)
        out[positions[:hamming_weight]] = signs
        return out

    def gaussian(self, count: int, sigma: float = DEFAULT_SIGMA) -> np.ndarray:
        """``count`` samples of the discrete Gaussian of parameter sigma cut at 6 sigma."""
        values, cdf = gaussian_table(sigma)
        uniforms = (self.words(count) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        return values[np.searchsorted(cdf, uniforms, side="right")]


def gaussian_table(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Support [-B, B], B = floor(6 sigma), and the cumulative distribution of D_{Z,sigma} on it."""
    bound = int(math.floor(TAIL_CUT_SIGMAS * sigma))
    values = np.arange(-bound, bound + 1, dtype=np.int64)
    weights = np.exp(-(values.astype(np.float64) ** 2) / (2.0 * sigma * sigma))
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return values, cdf[:-1]


def make_prng(seed: int | bytes | None) -> PRNG:
    """A PRNG from the OS, or from a user seed (reproducible, insecure: warns)."""
    if seed is None:
        return PRNG()
    if isinstance(seed, bool) or not isinstance(seed, (int, bytes, bytearray)):
        raise InputTypeError(f"seed must be None, a non-negative integer or bytes, got {type(seed).__name__}")
    warnings.warn(
        "a fixed seed makes every key and ciphertext reproducible: this is INSECURE and only "
        "meant for teaching and tests; leave seed=None for real use",
        InsecureWarning,
        stacklevel=3,
    )
    if isinstance(seed, int):
        if seed < 0:
            raise InputError(f"seed must be a non-negative integer or bytes, got {seed}")
        seed = seed.to_bytes(max(1, (seed.bit_length() + 7) // 8), "little")
    return PRNG(hashlib.sha256(b"ckks-seed" + bytes(seed)).digest())
