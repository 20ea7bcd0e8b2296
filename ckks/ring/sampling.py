"""Randomness: a SHAKE-256 stream cipher seeded from the OS, and the samplers.

Like SEAL's default PRNG (Blake2xb/SHAKE-256 seeded from ``random_device``),
every random polynomial is drawn from an extendable-output function:
block i of a stream is SHAKE-256(seed || i) with i a 64-bit little-endian
counter.  Seeds come from `secrets` (the OS CSPRNG).  A user-given seed
makes runs reproducible, which is useful in a classroom and insecure anywhere
else, so it warns (`InsecureWarning`), wherever it is given: ``PRNG(seed)``
(handed to a KeyGenerator, Encryptor or Decryptor) or ``seed=`` of a Context.

A random stream is never copied to another process: pickling a PRNG (and
so a context, an Encryptor or a vector that holds one) stores nothing of its
state, and unpickling draws a fresh seed from the OS; a child made by
``os.fork`` reseeds every live stream before it runs (``os.register_at_fork``).
Two copies of a context (spawned workers, loky/joblib, dask, caches) therefore
never draw the same encryption randomness, and no pickle carries the seed that
made a secret key.

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
import os
import secrets
import warnings
import weakref

import numpy as np

from ckks.errors import InputError, InputTypeError, InsecureWarning
from ckks.validation import is_integer

SEED_BYTES = 32
DEFAULT_SIGMA = 3.2
TAIL_CUT_SIGMAS = 6


class PRNG:
    """A SHAKE-256 based random stream.  ``PRNG()`` seeds from the OS.

    Block i of the stream is SHAKE-256(seed || i), i a 64-bit little-endian counter.
    A stream is never serialized: pickling keeps no state (unpickling reseeds
    from the OS), and a forked child reseeds it.

    Args:
        seed: the seed (default: 32 bytes from `secrets`); a given seed makes the
            stream reproducible and warns with `InsecureWarning`.

    Raises:
        InputError: ``seed`` is not a non-empty bytes object.
    """

    def __init__(self, seed: bytes | None = None):
        if seed is not None:
            _check_seed(seed)
            warnings.warn(
                "PRNG(seed): a fixed seed makes every key and ciphertext drawn from it reproducible; this is "
                "INSECURE and only meant for teaching and tests: use PRNG() for real use",
                InsecureWarning,
                stacklevel=2,
            )
        self._start(seed)
        _LIVE.add(self)

    def _start(self, seed: bytes | None) -> None:
        self.seed = secrets.token_bytes(SEED_BYTES) if seed is None else bytes(seed)
        self._counter = 0

    @classmethod
    def derived(cls, seed: bytes) -> PRNG:
        """A one-shot stream from a seed the library itself drew (no warning, not reseeded on fork).

        Used to regenerate the uniform c_1 of a compact symmetric ciphertext from
        its stored seed.

        Args:
            seed: the seed (non-empty bytes).

        Returns:
            The stream.

        Raises:
            InputError: ``seed`` is not a non-empty bytes object.
        """
        _check_seed(seed)
        prng = cls.__new__(cls)
        prng._start(seed)
        return prng

    def reseed(self) -> None:
        """Forget the stream and start a fresh one seeded from the OS (done on fork and unpickling)."""
        self._start(None)

    def __reduce__(self):
        return (_fresh_prng, ())

    def __deepcopy__(self, memo: dict) -> PRNG:
        return PRNG()

    def random_bytes(self, count: int) -> bytes:
        """The next ``count`` bytes of the stream (one SHAKE-256 block).

        Args:
            count: how many bytes.

        Returns:
            The bytes.
        """
        block = hashlib.shake_256(self.seed + self._counter.to_bytes(8, "little")).digest(count)
        self._counter += 1
        return block

    def words(self, count: int) -> np.ndarray:
        """``count`` uniform 64-bit words.

        Args:
            count: how many.

        Returns:
            uint64 array of shape (count,).
        """
        return np.frombuffer(self.random_bytes(8 * count), dtype="<u8").astype(np.uint64)

    def uniform_mod(self, q: int, count: int) -> np.ndarray:
        """``count`` integers uniform in [0, q), as uint64 (rejection sampling: no modulo bias).

        Args:
            q: the modulus, 1 <= q <= 2^64.
            count: how many.

        Returns:
            uint64 array of shape (count,).
        """
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
        """``count`` integers uniform in {-1, 0, 1}, as int64.

        Args:
            count: how many.

        Returns:
            int64 array of shape (count,).
        """
        out = np.empty(0, dtype=np.int64)
        while out.size < count:
            need = count - out.size
            raw = np.frombuffer(self.random_bytes(need + need // 8 + 16), dtype=np.uint8)
            raw = raw[raw < 255]
            out = np.concatenate([out, (raw[:need] % 3).astype(np.int64) - 1])
        return out

    def below(self, bound: int, count: int) -> np.ndarray:
        """``count`` integers uniform in [0, bound), as int64.

        Args:
            bound: the exclusive upper bound.
            count: how many.

        Returns:
            int64 array of shape (count,).
        """
        return self.uniform_mod(bound, count).astype(np.int64)

    def sparse_ternary(self, count: int, hamming_weight: int) -> np.ndarray:
        """A vector of length ``count`` with exactly ``hamming_weight`` entries in {-1, 1}, the rest 0.

        Args:
            count: the length N.
            hamming_weight: the number h of non-zero entries (positions uniform, signs uniform).

        Returns:
            int64 array of shape (count,).

        Raises:
            InputError: ``hamming_weight`` is not in [1, count].
        """
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
        """``count`` samples of the discrete Gaussian of parameter sigma cut at 6 sigma.

        Args:
            count: how many.
            sigma: the standard deviation.

        Returns:
            int64 array of shape (count,), entries in [-floor(6 sigma), floor(6 sigma)].
        """
        values, cdf = gaussian_table(sigma)
        uniforms = (self.words(count) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        return values[np.searchsorted(cdf, uniforms, side="right")]


def _check_seed(seed: object) -> None:
    if not isinstance(seed, (bytes, bytearray)) or len(seed) == 0:
        raise InputError("seed must be a non-empty bytes object")


def _fresh_prng() -> PRNG:
    """What an unpickled PRNG becomes: a new stream seeded from the OS."""
    return PRNG()


#: Every stream that must be reseeded in a forked child.
_LIVE: weakref.WeakSet = weakref.WeakSet()


def _reseed_after_fork() -> None:
    for prng in list(_LIVE):
        prng.reseed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)


def gaussian_table(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Support [-B, B], B = floor(6 sigma), and the cumulative distribution of D_{Z,sigma} on it.

    Args:
        sigma: the standard deviation.

    Returns:
        ``(values, cdf)``: the 2B + 1 integers and the cumulative probabilities of all but the last.
    """
    bound = int(math.floor(TAIL_CUT_SIGMAS * sigma))
    values = np.arange(-bound, bound + 1, dtype=np.int64)
    weights = np.exp(-(values.astype(np.float64) ** 2) / (2.0 * sigma * sigma))
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return values, cdf[:-1]


def make_prng(seed: int | bytes | None) -> PRNG:
    """A PRNG from the OS, or from a user seed (reproducible, insecure: warns with `InsecureWarning`).

    Args:
        seed: None (seed from the OS), a non-negative integer, or bytes.

    Returns:
        The PRNG; a user seed is hashed (SHA-256) into its seed.

    Raises:
        InputTypeError: ``seed`` is neither None, an integer nor bytes (a bool is refused).
        InputError: ``seed`` is a negative integer.
    """
    if seed is None:
        return PRNG()
    if not (is_integer(seed) or isinstance(seed, (bytes, bytearray))):
        raise InputTypeError(f"seed must be None, a non-negative integer or bytes, got {type(seed).__name__}")
    warnings.warn(
        "a fixed seed makes every key and ciphertext reproducible: this is INSECURE and only "
        "meant for teaching and tests; leave seed=None for real use",
        InsecureWarning,
        stacklevel=3,
    )
    if is_integer(seed):
        seed = int(seed)
        if seed < 0:
            raise InputError(f"seed must be a non-negative integer or bytes, got {seed}")
        seed = seed.to_bytes(max(1, (seed.bit_length() + 7) // 8), "little")
    prng = PRNG.derived(hashlib.sha256(b"ckks-seed" + bytes(seed)).digest())
    _LIVE.add(prng)
    return prng
