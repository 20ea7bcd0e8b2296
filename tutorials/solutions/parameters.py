"""Reference solution: parameters from depth and precision, and precision in bits.

log2(QP) = (scale + integer bits) + depth * scale + special, special = max of the others;
the smallest N whose 128-bit bound (HomomorphicEncryption.org) covers it.
"""

from __future__ import annotations

import numpy as np

from ckks.security.standard import MAX_MODULUS_BITS

MAX_PRIME_BITS = 60


def precision_bits(got, want) -> float:
    """-log2 of the largest absolute error (inf when there is none)."""
    error = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
    return float("inf") if error == 0 else -float(np.log2(error))


def _chain(depth: int, scale_bits: int, integer_bits: int) -> list[int]:
    first = scale_bits + integer_bits
    if first > MAX_PRIME_BITS or scale_bits < 1:
        raise ValueError(f"q_0 would need {first} bits; primes have at most {MAX_PRIME_BITS}")
    special = max(first, scale_bits)
    return [first] + [scale_bits] * depth + [special]


def max_depth(poly_degree: int, scale_bits: int, integer_bits: int) -> int:
    """The largest depth whose chain fits the 128-bit bound of poly_degree."""
    bound = MAX_MODULUS_BITS[128][poly_degree]
    fixed = sum(_chain(0, scale_bits, integer_bits))
    return max(-1, (bound - fixed) // scale_bits)


def choose_parameters(depth: int, scale_bits: int, integer_bits: int) -> dict:
    """The smallest secure N for the chain of this depth."""
    bits = _chain(depth, scale_bits, integer_bits)
    for n in sorted(MAX_MODULUS_BITS[128]):
        if n <= 32768 and sum(bits) <= MAX_MODULUS_BITS[128][n]:
            return {"poly_degree": n, "moduli_bits": bits, "scale_bits": scale_bits}
    raise ValueError(f"a chain of {sum(bits)} bits is not secure for any N up to 32768; lower the depth or scale")
