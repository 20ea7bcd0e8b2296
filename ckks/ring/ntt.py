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
The final reduction is merged into the last forward stage and the scaling by
N^-1 into the last inverse stage.  The butterflies run over contiguous,
non-aliasing halves with branch-free selects and the "lane" products of
`ckks.ring.modarith`, so that LLVM vectorizes them (AVX-512 where present:
``vpmuludq`` on ``zmm`` registers).
The twiddle tables hold psi^brv(k) and psi^-brv(k) in bit-reversed order.

The plain-Python reference of both transforms is in `ckks.ring.reference`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from ckks.errors import ParameterError
from ckks.ring.modarith import (
    PARALLEL,
    lane_mask,
    mul_shoup_lanes,
    mul_shoup_lazy_lanes,
    serial_when_small,
    shoup_precompute,
    shoup_table,
)
from ckks.ring.primes import primitive_root_of_unity


def bit_reverse_permutation(n: int) -> np.ndarray:
    """brv(k) for k < n (n a power of two).

    Args:
        n: the length, a power of two.

    Returns:
        int64 array: entry k is k with its log2(n) bits reversed.
    """
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
    ``n_inv[i] = (N^-1, companion, psi_i^-brv(1) N^-1, companion) mod q_i``
    (the constants of the last inverse stage, merged with the scaling).

    Args:
        poly_degree: N, a power of two.
        moduli: the primes, each 1 mod 2N.

    Raises:
        ParameterError: N is not a power of two >= 2, or a prime is not 1 mod 2N.
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
        self.n_inv = np.empty((rows, 4), dtype=np.uint64)
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
            last = int(inverse[1]) * n_inv % q
            self.n_inv[i] = (n_inv, shoup_precompute(n_inv, q), last, shoup_precompute(last, q))

    def forward(self, a: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """In place: limb k of ``a`` (coefficient form) -> NTT form w.r.t. prime ``rows[k]``.

        Args:
            a: uint64 array (limbs, N), residues below their primes.
            rows: the table row of each limb (default 0, 1, ...); a negative entry skips that limb.

        Returns:
            ``a``, transformed, residues in [0, q).
        """
        rows = _rows(a, rows)
        ntt_forward_rows(a, rows, self.psi_rev, self.psi_rev_shoup, self.moduli)
        return a

    def inverse(self, a: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """In place: limb k of ``a`` (NTT form) -> coefficient form w.r.t. prime ``rows[k]``.

        Args:
            a: uint64 array (limbs, N), residues below twice their primes.
            rows: the table row of each limb (default 0, 1, ...); a negative entry skips that limb.

        Returns:
            ``a``, transformed, residues in [0, q).
        """
        rows = _rows(a, rows)
        ntt_inverse_rows(a, rows, self.psi_inv_rev, self.psi_inv_rev_shoup, self.n_inv, self.moduli)
        return a


def _rows(a: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    if rows is None:
        return np.arange(a.shape[0], dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


@lru_cache(maxsize=32)
def ntt_tables(poly_degree: int, moduli: tuple[int, ...]) -> NTTTables:
    """Cached [`NTTTables`][ckks.ring.ntt.NTTTables] for a ring degree and a tuple of primes.

    Args:
        poly_degree: N.
        moduli: the primes (a tuple: the cache key).

    Returns:
        The tables (shared: do not modify).

    Raises:
        ParameterError: as `NTTTables`.
    """
    return NTTTables(poly_degree, moduli)


@njit(inline="always", cache=True)
def _forward_butterfly(x, v, w, ws, q, two_q, m32):
    """Harvey's lazy Cooley-Tukey butterfly: (x, v) in [0, 4q) -> (x + wv, x - wv) in [0, 4q)."""
    x = x - two_q if x >= two_q else x
    y = mul_shoup_lazy_lanes(v, w, ws, q, m32)
    return x + y, x - y + two_q


@njit(inline="always", cache=True)
def _inverse_butterfly(x, y, w, ws, q, two_q, m32):
    """Lazy Gentleman-Sande butterfly: (x, y) in [0, 2q) -> (x + y, (x - y) w) in [0, 2q)."""
    s = x + y
    return s - two_q if s >= two_q else s, mul_shoup_lazy_lanes(x - y + two_q, w, ws, q, m32)


@njit(cache=True)
def forward_one(a, psi, psi_shoup, q):
    """Forward negacyclic NTT of one limb, in place, output in [0, q).

    Cooley-Tukey stages with Harvey's lazy butterflies (values in [0, 4q)).
    The stages with half-blocks of t >= 8 run their butterflies over two
    contiguous, non-overlapping halves ``lo``/``hi`` with branch-free selects
    and the vectorizable Shoup product (`mul_shoup_lazy_lanes`), so LLVM
    packs them in SIMD registers; the stages t = 4 and t = 2 are written out
    per block (fixed strides that LLVM vectorizes across blocks, where a
    generic inner loop of 4 or 2 iterations would stay scalar); the last
    stage (t = 1) is merged with the final reduction to [0, q).

    Args:
        a: uint64 array (N,), coefficients in [0, q).
        psi: psi^brv(k) mod q, bit-reversed order.
        psi_shoup: their Shoup companions.
        q: the prime.
    """
    n = a.shape[0]
    m32 = lane_mask(q)
    two_q = q + q
    t = n
    m = 1
    while m < (n >> 1) and (t >> 1) >= 8:
        t >>= 1
        for i in range(m):
            w = psi[m + i]
            ws = psi_shoup[m + i]
            j1 = 2 * i * t
            lo = a[j1:j1 + t]
            hi = a[j1 + t:j1 + 2 * t]
            for j in range(t):
                lo[j], hi[j] = _forward_butterfly(lo[j], hi[j], w, ws, q, two_q, m32)
        m <<= 1
    if m == (n >> 3):  # t = 4: blocks of 8 values, one twiddle each
        for i in range(m):
            w = psi[m + i]
            ws = psi_shoup[m + i]
            b = 8 * i
            a0, a4 = _forward_butterfly(a[b], a[b + 4], w, ws, q, two_q, m32)
            a1, a5 = _forward_butterfly(a[b + 1], a[b + 5], w, ws, q, two_q, m32)
            a2, a6 = _forward_butterfly(a[b + 2], a[b + 6], w, ws, q, two_q, m32)
            a3, a7 = _forward_butterfly(a[b + 3], a[b + 7], w, ws, q, two_q, m32)
            a[b] = a0
            a[b + 1] = a1
            a[b + 2] = a2
            a[b + 3] = a3
            a[b + 4] = a4
            a[b + 5] = a5
            a[b + 6] = a6
            a[b + 7] = a7
        m <<= 1
    if m == (n >> 2):  # t = 2: blocks of 4 values
        for i in range(m):
            w = psi[m + i]
            ws = psi_shoup[m + i]
            b = 4 * i
            a0, a2 = _forward_butterfly(a[b], a[b + 2], w, ws, q, two_q, m32)
            a1, a3 = _forward_butterfly(a[b + 1], a[b + 3], w, ws, q, two_q, m32)
            a[b] = a0
            a[b + 1] = a1
            a[b + 2] = a2
            a[b + 3] = a3
        m <<= 1
    for i in range(m):  # last stage (t = 1) and the reduction from [0, 4q) to [0, q)
        w = psi[m + i]
        ws = psi_shoup[m + i]
        s, d = _forward_butterfly(a[2 * i], a[2 * i + 1], w, ws, q, two_q, m32)
        s = s - two_q if s >= two_q else s
        d = d - two_q if d >= two_q else d
        a[2 * i] = s - q if s >= q else s
        a[2 * i + 1] = d - q if d >= q else d


@njit(cache=True)
def inverse_one(a, psi_inv, psi_inv_shoup, scaling, q):
    """Inverse negacyclic NTT of one limb (input in [0, 2q)), in place, output in [0, q).

    Gentleman-Sande stages with lazy butterflies (values in [0, 2q)) over
    contiguous halves, vectorizable like `forward_one`.  The first stages
    (t = 1, 2, 4) run as loops over blocks of 2, 4 and 8 values; the last stage (one twiddle
    w = psi^-brv(1)) is merged with the scaling by N^-1: its outputs are
    (x + y) N^-1 and (x - y) w N^-1, with both constants precomputed.

    Args:
        a: uint64 array (N,), NTT values in [0, 2q).
        psi_inv: psi^-brv(k) mod q, bit-reversed order.
        psi_inv_shoup: their Shoup companions.
        scaling: uint64 array (4,): N^-1 mod q, its Shoup companion,
            psi^-brv(1) N^-1 mod q and its companion (a row of ``NTTTables.n_inv``).
        q: the prime.
    """
    n = a.shape[0]
    m32 = lane_mask(q)
    two_q = q + q
    t = 1
    m = n
    if m > 2:
        h = m >> 1
        for i in range(h):  # first stage (t = 1)
            w = psi_inv[h + i]
            ws = psi_inv_shoup[h + i]
            a[2 * i], a[2 * i + 1] = _inverse_butterfly(a[2 * i], a[2 * i + 1], w, ws, q, two_q, m32)
        t = 2
        m = h
    if m > 2:  # t = 2: blocks of 4 values
        h = m >> 1
        for i in range(h):
            w = psi_inv[h + i]
            ws = psi_inv_shoup[h + i]
            b = 4 * i
            a0, a2 = _inverse_butterfly(a[b], a[b + 2], w, ws, q, two_q, m32)
            a1, a3 = _inverse_butterfly(a[b + 1], a[b + 3], w, ws, q, two_q, m32)
            a[b] = a0
            a[b + 1] = a1
            a[b + 2] = a2
            a[b + 3] = a3
        t = 4
        m = h
    if m > 2:  # t = 4: blocks of 8 values
        h = m >> 1
        for i in range(h):
            w = psi_inv[h + i]
            ws = psi_inv_shoup[h + i]
            b = 8 * i
            a0, a4 = _inverse_butterfly(a[b], a[b + 4], w, ws, q, two_q, m32)
            a1, a5 = _inverse_butterfly(a[b + 1], a[b + 5], w, ws, q, two_q, m32)
            a2, a6 = _inverse_butterfly(a[b + 2], a[b + 6], w, ws, q, two_q, m32)
            a3, a7 = _inverse_butterfly(a[b + 3], a[b + 7], w, ws, q, two_q, m32)
            a[b] = a0
            a[b + 1] = a1
            a[b + 2] = a2
            a[b + 3] = a3
            a[b + 4] = a4
            a[b + 5] = a5
            a[b + 6] = a6
            a[b + 7] = a7
        t = 8
        m = h
    while m > 2:
        h = m >> 1
        j1 = 0
        for i in range(h):
            w = psi_inv[h + i]
            ws = psi_inv_shoup[h + i]
            lo = a[j1:j1 + t]
            hi = a[j1 + t:j1 + 2 * t]
            for j in range(t):
                lo[j], hi[j] = _inverse_butterfly(lo[j], hi[j], w, ws, q, two_q, m32)
            j1 += 2 * t
        t <<= 1
        m = h
    n_inv = scaling[0]
    n_inv_shoup = scaling[1]
    w = scaling[2]
    ws = scaling[3]
    lo = a[:t]
    hi = a[t:2 * t]
    for j in range(t):  # last stage, merged with the scaling by N^-1
        x = lo[j]
        y = hi[j]
        lo[j] = mul_shoup_lanes(x + y, n_inv, n_inv_shoup, q, m32)
        hi[j] = mul_shoup_lanes(x - y + two_q, w, ws, q, m32)


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def ntt_forward_rows(a, rows, psi, psi_shoup, moduli):
    """Forward NTT of every limb a[k] with the tables of row rows[k] (limbs in parallel).

    A negative rows[k] leaves limb k untouched.

    Args:
        a: uint64 array (limbs, N), coefficient form.
        rows: int64 table row per limb (negative: skip).
        psi: the psi_rev table.
        psi_shoup: its Shoup companions.
        moduli: the primes of the table.
    """
    for k in prange(a.shape[0]):
        r = rows[k]
        if r < 0:
            continue
        forward_one(a[k], psi[r], psi_shoup[r], moduli[r])


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def ntt_inverse_rows(a, rows, psi_inv, psi_inv_shoup, n_inv, moduli):
    """Inverse NTT of every limb a[k] with the tables of row rows[k] (limbs in parallel).

    A negative rows[k] leaves limb k untouched.

    Args:
        a: uint64 array (limbs, N), NTT form.
        rows: int64 table row per limb (negative: skip).
        psi_inv: the psi_inv_rev table.
        psi_inv_shoup: its Shoup companions.
        n_inv: (rows, 4) N^-1 mod q, psi^-brv(1) N^-1 mod q, with companions (see `inverse_one`).
        moduli: the primes of the table.
    """
    for k in prange(a.shape[0]):
        r = rows[k]
        if r < 0:
            continue
        inverse_one(a[k], psi_inv[r], psi_inv_shoup[r], n_inv[r], moduli[r])
