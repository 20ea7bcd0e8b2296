"""The negacyclic number-theoretic transform, batched over RNS limbs (numba).

For a prime q = 1 (mod 2N) with a primitive 2N-th root of unity psi, the
negacyclic NTT maps a(X) in Z_q[X]/(X^N + 1) to its values at the N roots of
X^N + 1, the odd powers of psi:

    NTT(a)[k] = a(psi^(2*brv(k) + 1)),   k = 0 .. N-1,

where brv is the bit reversal of log2(N) bits.  In this "NTT form" the ring
product is the coefficient-wise product, which is why polynomials stay in NTT
form between operations.

The forward transform is the Cooley-Tukey iteration with merged psi powers of
Poppelmann, Oder and Guneysu (2015) / Longa and Naehrig (2016); the inverse is
the Gentleman-Sande iteration.  Butterflies are Harvey's lazy butterflies
(2014): values stay in [0, 4q) (forward) or [0, 2q) (inverse) and are reduced
only at the end, and twiddle factors are multiplied with Shoup's method.
The twiddle tables hold psi^brv(k) and psi^-brv(k) in bit-reversed order.

The plain-Python reference of both transforms is in :mod:`ckks.ring.reference`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from ckks.errors import ParameterError
from ckks.ring.modarith import mul_shoup, mul_shoup_lazy, serial_when_small, shoup_precompute, shoup_table
from ckks.ring.primes import primitive_root_of_unity


def bit_reverse_permutation(n: int) -> np.ndarray:
    """brv(k) for k < n (n a power of two)."""
    bits = n.bit_length() - 1
    k = np.arange(n, dtype=np.int64)
    out = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        out |= ((k >> b) & 1) << (bits - 1 - b)
    return out


def _powers(base: int, n: int, q: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint64)
    x = 1
    for i in range(n):
        out[i] = x
        x = x * base % q
    return out


class NTTTables:
    """Twiddle tables of one or more primes for ring degree N, stacked by row.

    Row i serves prime ``moduli[i]``: ``psi_rev[i, k] = psi_i^brv(k)``,
    ``psi_inv_rev[i, k] = psi_i^-brv(k)``, their Shoup companions, and
    N^-1 mod q_i with its companion.
    """

    def __init__(self, poly_degree: int, moduli: tuple[int, ...]):
        n = poly_degree
        if n < 2 or n & (n - 1):
            raise ParameterError(f"poly_degree must be a power of two >= 2, got {n}")
        self.poly_degree = n
        self.moduli = np.array(moduli, dtype=np.uint64)
        brv = bit_reverse_permutation(n)
        rows = len(moduli)
        self.psi = np.empty(rows, dtype=object)
        self.psi_rev = np.empty((rows, n), dtype=np.uint64)
        self.psi_rev_shoup = np.empty((rows, n), dtype=np.uint64)
        self.psi_inv_rev = np.empty((rows, n), dtype=np.uint64)
        self.psi_inv_rev_shoup = np.empty((rows, n), dtype=np.uint64)
        self.n_inv = np.empty((rows, 2), dtype=np.uint64)
        for i, q in enumerate(moduli):
            psi = primitive_root_of_unity(2 * n, q)
            self.psi[i] = psi
            forward = _powers(psi, n, q)[brv]
            inverse = _powers(pow(psi, -1, q), n, q)[brv]
            self.psi_rev[i] = forward
            self.psi_rev_shoup[i] = shoup_table(forward, q)
            self.psi_inv_rev[i] = inverse
            self.psi_inv_rev_shoup[i] = shoup_table(inverse, q)
            n_inv = pow(n, -1, q)
            self.n_inv[i] = (n_inv, shoup_precompute(n_inv, q))

    def forward(self, a: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """In place: limb k of ``a`` (coefficient form) -> NTT form w.r.t. prime ``rows[k]``.

        ``rows`` defaults to 0, 1, ...; a negative entry skips that limb.
        """
        rows = _rows(a, rows)
        ntt_forward_rows(a, rows, self.psi_rev, self.psi_rev_shoup, self.moduli)
        return a

    def inverse(self, a: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """In place: limb k of ``a`` (NTT form) -> coefficient form w.r.t. prime ``rows[k]``."""
        rows = _rows(a, rows)
        ntt_inverse_rows(a, rows, self.psi_inv_rev, self.psi_inv_rev_shoup, self.n_inv, self.moduli)
        return a


def _rows(a: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    if rows is None:
        return np.arange(a.shape[0], dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


@lru_cache(maxsize=32)
def ntt_tables(poly_degree: int, moduli: tuple[int, ...]) -> NTTTables:
    """Cached :class:`NTTTables` for a ring degree and a tuple of primes."""
    return NTTTables(poly_degree, moduli)


@njit(cache=True)
def forward_one(a, psi, psi_shoup, q):
    """Forward negacyclic NTT of one limb, in place, output in [0, q)."""
    n = a.shape[0]
    two_q = q + q
    t = n
    m = 1
    while m < n:
        t >>= 1
        for i in range(m):
            w = psi[m + i]
            ws = psi_shoup[m + i]
            j1 = 2 * i * t
            for j in range(j1, j1 + t):
                x = a[j]
                if x >= two_q:
                    x -= two_q
                y = mul_shoup_lazy(a[j + t], w, ws, q)
                a[j] = x + y
                a[j + t] = x - y + two_q
        m <<= 1
    for j in range(n):
        x = a[j]
        if x >= two_q:
            x -= two_q
        if x >= q:
            x -= q
        a[j] = x


@njit(cache=True)
def inverse_one(a, psi_inv, psi_inv_shoup, n_inv, n_inv_shoup, q):
    """Inverse negacyclic NTT of one limb (input in [0, 2q)), in place, output in [0, q)."""
    n = a.shape[0]
    two_q = q + q
    t = 1
    m = n
    while m > 1:
        h = m >> 1
        j1 = 0
        for i in range(h):
            w = psi_inv[h + i]
            ws = psi_inv_shoup[h + i]
            for j in range(j1, j1 + t):
                x = a[j]
                y = a[j + t]
                s = x + y
                if s >= two_q:
                    s -= two_q
                a[j] = s
                a[j + t] = mul_shoup_lazy(x - y + two_q, w, ws, q)
            j1 += 2 * t
        t <<= 1
        m = h
    for j in range(n):
        a[j] = mul_shoup(a[j], n_inv, n_inv_shoup, q)


@serial_when_small
@njit(parallel=True, cache=True)
def ntt_forward_rows(a, rows, psi, psi_shoup, moduli):
    """Forward NTT of every limb a[k] with the tables of row rows[k] (limbs in parallel).

    A negative rows[k] leaves limb k untouched.
    """
    for k in prange(a.shape[0]):
        r = rows[k]
        if r < 0:
            continue
        forward_one(a[k], psi[r], psi_shoup[r], moduli[r])


@serial_when_small
@njit(parallel=True, cache=True)
def ntt_inverse_rows(a, rows, psi_inv, psi_inv_shoup, n_inv, moduli):
    """Inverse NTT of every limb a[k] with the tables of row rows[k] (limbs in parallel).

    A negative rows[k] leaves limb k untouched.
    """
    for k in prange(a.shape[0]):
        r = rows[k]
        if r < 0:
            continue
        inverse_one(a[k], psi_inv[r], psi_inv_shoup[r], n_inv[r, 0], n_inv[r, 1], moduli[r])
