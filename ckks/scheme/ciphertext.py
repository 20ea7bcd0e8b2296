"""The two data objects of the scheme: plaintexts and ciphertexts.

Both hold RNS polynomials in NTT form over the data primes q_0 .. q_level,
as uint64 arrays.  A :class:`Plaintext` is one polynomial m with its scale
Delta (it encodes the values z ~ m / Delta).  A :class:`Ciphertext` is a tuple
(c_0, c_1, ..., c_k) (k = 1 normally, 2 after a multiplication before
relinearization) with c_0 + c_1 s + ... + c_k s^k = m + e (mod Q_level).
"""

from __future__ import annotations

import numpy as np

from ckks.errors import ContextMismatchError
from ckks.scheme.parameters import Parameters


class Plaintext:
    """An encoded polynomial m in NTT form, shape (level + 1, N), at scale ``scale``."""

    def __init__(self, params: Parameters, data: np.ndarray, scale: float):
        self.params = params
        self.data = data
        self.scale = float(scale)

    @property
    def level(self) -> int:
        """Number of rescales left: the count of data primes minus one."""
        return self.data.shape[0] - 1

    def copy(self) -> Plaintext:
        return Plaintext(self.params, self.data.copy(), self.scale)

    def __repr__(self) -> str:
        return f"Plaintext(level={self.level}, scale=2^{np.log2(self.scale):.2f})"


class Ciphertext:
    """Polynomials (c_0, ..., c_k) in NTT form, shape (k + 1, level + 1, N).

    ``key_id`` names the secret key the ciphertext is encrypted under, so that
    mixing ciphertexts of different keys is detected.  ``seed`` is set for a
    fresh symmetric encryption whose c_1 was drawn from that seed (it can then
    be serialized as the seed alone).
    """

    def __init__(self, params: Parameters, data: np.ndarray, scale: float, key_id: str, seed: bytes | None = None):
        self.params = params
        self.data = data
        self.scale = float(scale)
        self.key_id = key_id
        self.seed = seed

    @property
    def level(self) -> int:
        """Number of rescales left: the count of data primes minus one."""
        return self.data.shape[1] - 1

    @property
    def size(self) -> int:
        """Number of polynomials: 2 normally, 3 after an unrelinearized multiplication."""
        return self.data.shape[0]

    def copy(self) -> Ciphertext:
        return Ciphertext(self.params, self.data.copy(), self.scale, self.key_id, self.seed)

    def __repr__(self) -> str:
        return f"Ciphertext(size={self.size}, level={self.level}, scale=2^{np.log2(self.scale):.2f})"


def check_same_context(*objects) -> None:
    """Raise ContextMismatchError unless all objects share parameters (and keys, for ciphertexts)."""
    first = objects[0]
    for other in objects[1:]:
        if other.params is not first.params and other.params != first.params:
            raise ContextMismatchError(
                f"objects come from different parameters ({first.params!r} vs {other.params!r}); "
                "create them with the same context"
            )
    key_ids = {o.key_id for o in objects if getattr(o, "key_id", None) is not None}
    if len(key_ids) > 1:
        raise ContextMismatchError(
            "ciphertexts are encrypted under different secret keys and cannot be combined; "
            "encrypt both with the same context (or its public_copy())"
        )
