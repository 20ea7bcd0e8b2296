"""A numba kernel for the batch layout: many ciphertexts times integer weights, summed, mod each prime.

``out[j] = sum_{p in row j} w[p] * data[index[p]]  (mod q_l, limb by limb)``, both
ciphertext polynomials, in NTT form (a scalar multiplies every NTT
coefficient alike).  Products use Shoup's precomputation
``w' = floor(w 2^64 / q)``: ``r = w x - floor(w' x / 2^64) q`` lies in [0, 2q)
for x in [0, q) and q < 2^62; the 64x64 -> 128 high word is assembled from
32-bit halves (numba has no 128-bit integer).
"""

from __future__ import annotations

import numba
import numpy as np

_MASK = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


@numba.njit(cache=True, inline="always")
def _mulhi(a, b):
    a_lo = a & _MASK
    a_hi = a >> _32
    b_lo = b & _MASK
    b_hi = b >> _32
    lo_lo = a_lo * b_lo
    hi_lo = a_hi * b_lo
    lo_hi = a_lo * b_hi
    cross = (lo_lo >> _32) + (hi_lo & _MASK) + lo_hi
    return a_hi * b_hi + (hi_lo >> _32) + (cross >> _32)


@numba.njit(cache=True, parallel=True)
def weighted_sums(data, pointers, indices, weights, shoup, moduli, out):  # pragma: no cover - compiled
    m = out.shape[0]
    size, limbs, n = out.shape[1], out.shape[2], out.shape[3]
    for j in numba.prange(m):
        for t in range(size):
            for lv in range(limbs):
                q = moduli[lv]
                for k in range(n):
                    out[j, t, lv, k] = np.uint64(0)
                for p in range(pointers[j], pointers[j + 1]):
                    w = weights[p, lv]
                    ws = shoup[p, lv]
                    src = indices[p]
                    for k in range(n):
                        x = data[src, t, lv, k]
                        r = w * x - _mulhi(ws, x) * q
                        if r >= q:
                            r -= q
                        acc = out[j, t, lv, k] + r
                        if acc >= q:
                            acc -= q
                        out[j, t, lv, k] = acc


def integer_weights(values: np.ndarray, factor: int, moduli: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """round(values * factor) mod each q, and the Shoup companions floor(w 2^64 / q).

    Args:
        values: real weights, shape (nnz,).
        factor: the integer the weights are scaled by (the prime rescaled away afterwards).
        moduli: the primes q_0 .. q_l.

    Returns:
        (weights, shoup), uint64 arrays of shape (nnz, len(moduli)).
    """
    ints = [int(round(float(v) * factor)) for v in values]
    w = np.empty((len(ints), len(moduli)), dtype=np.uint64)
    s = np.empty_like(w)
    for li, q in enumerate(moduli):
        q = int(q)
        for p, k in enumerate(ints):
            r = k % q
            w[p, li] = r
            s[p, li] = (r << 64) // q
    return w, s
