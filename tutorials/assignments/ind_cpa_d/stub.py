"""Assignment: the Li-Micciancio key-recovery attack on CKKS decryption results."""

from __future__ import annotations

import numpy as np


def recover_secret(ciphertext, values) -> np.ndarray:
    """The secret key's coefficients (int64, in {-1, 0, 1}) from a ciphertext and its N/2 decoded slots."""
    raise NotImplementedError("recover_secret: your code here")


def is_secret_key(public_key, candidate) -> bool:
    """True when candidate is ternary and b + a * candidate (mod q_0) is small (at most 6 sigma)."""
    raise NotImplementedError("is_secret_key: your code here")
