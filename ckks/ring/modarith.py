"""Modular arithmetic kernels for word-sized primes (numba).

All residues are ``uint64`` and every prime q satisfies q < 2^61, so that
lazy values up to 4q still fit in a machine word.  numba has no 128-bit
integer, so the exact 128-bit product of two words is built from 32-bit
halves (:func:`mul_wide`); LLVM turns this into a single ``mul`` on x86-64.

Two reductions are used:

* **Barrett** for products of two variable operands:
  with r = floor(2^128 / q) precomputed as two words, the quotient estimate
  floor(x * r / 2^128) is at most 2 below floor(x / q), so at most two
  subtractions finish the reduction of any 128-bit x.
* **Shoup** for products with a fixed operand w (twiddle factors, constants):
  with w' = floor(w * 2^64 / q), a*w mod q = a*w - floor(a*w'/2^64)*q lies in
  [0, 2q) (Harvey, "Faster arithmetic for number-theoretic transforms", 2014).

Plain-Python reference versions of these kernels live in
:mod:`ckks.ring.reference` and the tests compare the two on random inputs.
The array kernels take polynomials of shape (limbs, N) and one prime per limb.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba import njit, prange

U64 = np.uint64
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
ZERO = np.uint64(0)
ONE = np.uint64(1)

# ----------------------------------------------------------------------------
# Precomputation (plain Python integers, done once per prime)
# ----------------------------------------------------------------------------


def barrett_ratio(q: int) -> tuple[int, int]:
    """floor(2^128 / q) split into (high word, low word)."""
    r = (1 << 128) // q
    return r >> 64, r & ((1 << 64) - 1)


def shoup_precompute(w: int, q: int) -> int:
    """Shoup's companion word w' = floor(w * 2^64 / q) of a fixed operand w < q."""
    return (w << 64) // q


def shoup_table(values: np.ndarray, q: int) -> np.ndarray:
    """Shoup companions of an array of fixed operands mod one prime q, exactly."""
    return np.array([shoup_precompute(int(v), int(q)) for v in values], dtype=np.uint64)


def shoup_per_limb(values, moduli) -> np.ndarray:
    """Shoup companions of one fixed operand per limb: values[i] mod moduli[i]."""
    return np.array([shoup_precompute(int(v), int(q)) for v, q in zip(values, moduli)], dtype=np.uint64)


# ----------------------------------------------------------------------------
# Scalar kernels
# ----------------------------------------------------------------------------


@njit(inline="always", cache=True)
def mul_wide(a, b):
    """Exact 128-bit product a*b of two words, as (high word, low word)."""
    a_lo = a & MASK32
    a_hi = a >> SHIFT32
    b_lo = b & MASK32
    b_hi = b >> SHIFT32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    middle = (p0 >> SHIFT32) + (p1 & MASK32) + (p2 & MASK32)
    high = p3 + (p1 >> SHIFT32) + (p2 >> SHIFT32) + (middle >> SHIFT32)
    low = (middle << SHIFT32) | (p0 & MASK32)
    return high, low


@njit(inline="always", cache=True)
def mul_high(a, b):
    """High word of the 128-bit product a*b."""
    return mul_wide(a, b)[0]


@njit(inline="always", cache=True)
def barrett_reduce_wide(high, low, q, ratio_high, ratio_low):
    """(high * 2^64 + low) mod q for any 128-bit value, with Barrett's ratio of q."""
    carry_word = mul_high(low, ratio_low)
    a_high, a_low = mul_wide(low, ratio_high)
    b_high, b_low = mul_wide(high, ratio_low)
    middle = carry_word + a_low
    carries = U64(1) if middle < a_low else ZERO
    middle2 = middle + b_low
    if middle2 < b_low:
        carries += ONE
    quotient = high * ratio_high + a_high + b_high + carries
    remainder = low - quotient * q
    while remainder >= q:
        remainder -= q
    return remainder


@njit(inline="always", cache=True)
def mul_mod(a, b, q, ratio_high, ratio_low):
    """a*b mod q for a, b < 2^64 (Barrett)."""
    high, low = mul_wide(a, b)
    return barrett_reduce_wide(high, low, q, ratio_high, ratio_low)


@njit(inline="always", cache=True)
def mul_shoup_lazy(a, w, w_shoup, q):
    """a*w mod q in [0, 2q) for a fixed w < q with companion w_shoup (Shoup)."""
    return a * w - mul_high(a, w_shoup) * q


@njit(inline="always", cache=True)
def mul_shoup(a, w, w_shoup, q):
    """a*w mod q in [0, q) for a fixed w < q with companion w_shoup (Shoup)."""
    r = a * w - mul_high(a, w_shoup) * q
    return r - q if r >= q else r


# ----------------------------------------------------------------------------
# Array kernels: (limbs, N) polynomials, one prime per limb
# ----------------------------------------------------------------------------

#: Below this many elements in its first argument a parallel kernel runs on one thread.
PARALLEL_THRESHOLD = 1 << 13


def serial_when_small(kernel):
    """Run a numba ``parallel=True`` kernel on one thread when its first array is small.

    Waking numba's worker threads costs microseconds on an idle machine and up to
    milliseconds on an oversubscribed one, which dwarfs the work on toy ring sizes.
    Real sizes (N >= 8192) stay parallel.  Only for kernels called from Python.
    """

    @functools.wraps(kernel)
    def call(*args):
        threads = numba.get_num_threads()
        if threads == 1 or args[0].size >= PARALLEL_THRESHOLD:
            return kernel(*args)
        numba.set_num_threads(1)
        try:
            return kernel(*args)
        finally:
            numba.set_num_threads(threads)

    call.kernel = kernel
    return call



@serial_when_small
@njit(parallel=True, cache=True)
def poly_add(a, b, moduli, out):
    """out = a + b mod q_i, limb by limb."""
    for i in prange(a.shape[0]):
        q = moduli[i]
        for j in range(a.shape[1]):
            s = a[i, j] + b[i, j]
            out[i, j] = s - q if s >= q else s
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def poly_sub(a, b, moduli, out):
    """out = a - b mod q_i, limb by limb."""
    for i in prange(a.shape[0]):
        q = moduli[i]
        for j in range(a.shape[1]):
            x = a[i, j]
            y = b[i, j]
            out[i, j] = x - y if x >= y else x + (q - y)
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def poly_neg(a, moduli, out):
    """out = -a mod q_i, limb by limb."""
    for i in prange(a.shape[0]):
        q = moduli[i]
        for j in range(a.shape[1]):
            x = a[i, j]
            out[i, j] = q - x if x != ZERO else ZERO
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def poly_mul(a, b, moduli, ratios, out):
    """out = a * b mod q_i, coefficient-wise (the ring product in NTT form)."""
    for i in prange(a.shape[0]):
        q = moduli[i]
        rh = ratios[i, 0]
        rl = ratios[i, 1]
        for j in range(a.shape[1]):
            out[i, j] = mul_mod(a[i, j], b[i, j], q, rh, rl)
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def poly_mul_add(a, b, c, moduli, ratios, out):
    """out = a * b + c mod q_i, coefficient-wise."""
    for i in prange(a.shape[0]):
        q = moduli[i]
        rh = ratios[i, 0]
        rl = ratios[i, 1]
        for j in range(a.shape[1]):
            s = mul_mod(a[i, j], b[i, j], q, rh, rl) + c[i, j]
            out[i, j] = s - q if s >= q else s
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def poly_mul_scalar(a, scalars, scalars_shoup, moduli, out):
    """out = a * s_i mod q_i with one fixed scalar s_i < q_i per limb (Shoup)."""
    for i in prange(a.shape[0]):
        q = moduli[i]
        w = scalars[i]
        ws = scalars_shoup[i]
        for j in range(a.shape[1]):
            out[i, j] = mul_shoup(a[i, j], w, ws, q)
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def poly_add_scalar(a, scalars, moduli, out):
    """out = a + s_i mod q_i with one scalar s_i < q_i per limb."""
    for i in prange(a.shape[0]):
        q = moduli[i]
        s = scalars[i]
        for j in range(a.shape[1]):
            x = a[i, j] + s
            out[i, j] = x - q if x >= q else x
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def tensor_square_free(a0, a1, b0, b1, moduli, ratios, d0, d1, d2):
    """The tensor product of two degree-1 ciphertexts in NTT form.

    (a0 + a1 s)(b0 + b1 s) = d0 + d1 s + d2 s^2 with d0 = a0 b0,
    d1 = a0 b1 + a1 b0, d2 = a1 b1 (mod q_i, coefficient-wise).
    """
    for i in prange(a0.shape[0]):
        q = moduli[i]
        rh = ratios[i, 0]
        rl = ratios[i, 1]
        for j in range(a0.shape[1]):
            x0 = a0[i, j]
            x1 = a1[i, j]
            y0 = b0[i, j]
            y1 = b1[i, j]
            d0[i, j] = mul_mod(x0, y0, q, rh, rl)
            h1, l1 = mul_wide(x0, y1)
            h2, l2 = mul_wide(x1, y0)
            low = l1 + l2
            high = h1 + h2 + (ONE if low < l1 else ZERO)
            d1[i, j] = barrett_reduce_wide(high, low, q, rh, rl)
            d2[i, j] = mul_mod(x1, y1, q, rh, rl)


@serial_when_small
@njit(parallel=True, cache=True)
def reduce_signed(values, moduli, out):
    """out[i, j] = values[j] mod q_i for signed 64-bit integers values."""
    for i in prange(out.shape[0]):
        q = moduli[i]
        for j in range(values.shape[0]):
            v = values[j]
            if v >= 0:
                out[i, j] = U64(v) % q
            else:
                r = U64(-v) % q
                out[i, j] = q - r if r != ZERO else ZERO
    return out


def set_threads(n: int) -> None:
    """Number of threads numba's parallel kernels use (at most the cores available)."""
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
