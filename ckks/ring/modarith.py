"""Modular arithmetic kernels for word-sized primes (numba).

All residues are ``uint64`` and every prime q satisfies q < 2^61, so that
lazy values up to 4q still fit in a machine word.  numba has no 128-bit
integer, so the exact 128-bit product of two words is built from 32-bit
halves (`mul_wide`); LLVM turns this into a single ``mul`` on x86-64.

Two reductions are used:

* **Barrett** for products of two variable operands:
  with r = floor(2^128 / q) precomputed as two words, the quotient estimate
  floor(x * r / 2^128) is at most 2 below floor(x / q), so at most two
  subtractions finish the reduction of any 128-bit x.
* **Shoup** for products with a fixed operand w (twiddle factors, constants):
  with w' = floor(w * 2^64 / q), a*w mod q = a*w - floor(a*w'/2^64)*q lies in
  [0, 2q) (Harvey, "Faster arithmetic for number-theoretic transforms", 2014).

Plain-Python reference versions of these kernels live in
`ckks.ring.reference` and the tests compare the two on random inputs.
The array kernels take polynomials of shape (limbs, N) and one prime per limb.
"""

from __future__ import annotations

import functools
import types

import numba
import numpy as np
from numba import njit, prange
from numba.core.cpu_options import ParallelOptions
from numba.np.ufunc import parallel as _numba_parallel

from ckks.ring.jit import ParallelRental
from ckks.ring.thresholds import measured_threshold

U64 = np.uint64
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
ZERO = np.uint64(0)
ONE = np.uint64(1)

# ----------------------------------------------------------------------------
# Precomputation (plain Python integers, done once per prime)
# ----------------------------------------------------------------------------


def barrett_ratio(q: int) -> tuple[int, int]:
    """floor(2^128 / q) split into (high word, low word).

    Args:
        q: the prime (q < 2^61).

    Returns:
        ``(high, low)`` with high * 2^64 + low = floor(2^128 / q).
    """
    r = (1 << 128) // q
    return r >> 64, r & ((1 << 64) - 1)


def shoup_precompute(w: int, q: int) -> int:
    """Shoup's companion word w' = floor(w * 2^64 / q) of a fixed operand w < q.

    Args:
        w: the fixed operand, 0 <= w < q.
        q: the prime.

    Returns:
        floor(w * 2^64 / q).
    """
    return (w << 64) // q


def shoup_table(values: np.ndarray, q: int) -> np.ndarray:
    """Shoup companions of an array of fixed operands mod one prime q, exactly.

    Args:
        values: fixed operands, each below q.
        q: the prime.

    Returns:
        uint64 array of the companions, same length.
    """
    return np.array([shoup_precompute(int(v), int(q)) for v in values], dtype=np.uint64)


def shoup_per_limb(values, moduli) -> np.ndarray:
    """Shoup companions of one fixed operand per limb: values[i] mod moduli[i].

    Args:
        values: one fixed operand per limb, values[i] < moduli[i].
        moduli: the prime of each limb.

    Returns:
        uint64 array of the companions.
    """
    return np.array([shoup_precompute(int(v), int(q)) for v, q in zip(values, moduli)], dtype=np.uint64)


# ----------------------------------------------------------------------------
# Scalar kernels
# ----------------------------------------------------------------------------


@njit(inline="always", cache=True)
def mul_wide(a, b):
    """Exact 128-bit product a*b of two words, as (high word, low word).

    Args:
        a: a 64-bit word.
        b: a 64-bit word.

    Returns:
        ``(high, low)`` with a*b = high * 2^64 + low.
    """
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
    """High word of the 128-bit product a*b.

    Args:
        a: a 64-bit word.
        b: a 64-bit word.

    Returns:
        floor(a*b / 2^64).
    """
    return mul_wide(a, b)[0]


@njit(inline="always", cache=True)
def barrett_reduce_wide(high, low, q, ratio_high, ratio_low):
    """(high * 2^64 + low) mod q for any 128-bit value, with Barrett's ratio of q.

    Args:
        high: the high word of x.
        low: the low word of x.
        q: the prime.
        ratio_high: high word of floor(2^128 / q).
        ratio_low: low word of floor(2^128 / q).

    Returns:
        x mod q, in [0, q).
    """
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
    """a*b mod q for a, b < 2^64 (Barrett).

    Args:
        a: a word.
        b: a word.
        q: the prime.
        ratio_high: high word of floor(2^128 / q).
        ratio_low: low word of floor(2^128 / q).

    Returns:
        a*b mod q, in [0, q).
    """
    high, low = mul_wide(a, b)
    return barrett_reduce_wide(high, low, q, ratio_high, ratio_low)


@njit(inline="always", cache=True)
def mul_shoup_lazy(a, w, w_shoup, q):
    """a*w mod q in [0, 2q) for a fixed w < q with companion w_shoup (Shoup).

    Args:
        a: a word (lazy inputs up to 4q are fine).
        w: the fixed operand, w < q.
        w_shoup: its companion floor(w * 2^64 / q).
        q: the prime.

    Returns:
        a*w mod q up to one extra q: in [0, 2q).
    """
    return a * w - mul_high(a, w_shoup) * q


@njit(inline="always", cache=True)
def mul_shoup(a, w, w_shoup, q):
    """a*w mod q in [0, q) for a fixed w < q with companion w_shoup (Shoup).

    Args:
        a: a word.
        w: the fixed operand, w < q.
        w_shoup: its companion floor(w * 2^64 / q).
        q: the prime.

    Returns:
        a*w mod q, in [0, q).
    """
    r = a * w - mul_high(a, w_shoup) * q
    return r - q if r >= q else r


# ----------------------------------------------------------------------------
# Lane kernels: the same arithmetic in a form LLVM vectorizes
# ----------------------------------------------------------------------------
#
# LLVM recognizes the 32-bit-halves product of `mul_wide` when its mask is the
# constant 2^32 - 1 and folds it into one scalar 128-bit ``mul``, which no
# vectorizer can widen: every loop that calls it stays scalar.  The "lane"
# kernels take the mask as a runtime word m (always 2^32 - 1, from
# `lane_mask`), so the product stays four 32 x 32 -> 64-bit multiplications
# (``vpmuludq``) that the loop vectorizer packs 8 to a 512-bit register, and
# the conditional subtractions are selects (no data-dependent branch).
# Results are bit-identical to the scalar kernels.


@njit(inline="always", cache=True)
def lane_mask(q):
    """The word 2^32 - 1, computed from q so that LLVM cannot treat it as a constant.

    Args:
        q: any word below 2^62 (a prime of the chain).

    Returns:
        2^32 - 1 (as far as LLVM can prove, an unknown word below 2^32).
    """
    return (MASK32 ^ (q >> U64(62))) & MASK32


@njit(inline="always", cache=True)
def mul_high_lanes(a, b, m):
    """floor(a*b / 2^64) from four 32-bit products (vectorizable).

    Args:
        a: a 64-bit word.
        b: a 64-bit word.
        m: `lane_mask` (2^32 - 1).

    Returns:
        The high word of the 128-bit product a*b.
    """
    a_lo = a & m
    a_hi = a >> SHIFT32
    b_lo = b & m
    b_hi = b >> SHIFT32
    t = a_hi * b_lo + ((a_lo * b_lo) >> SHIFT32)
    u = (t & m) + a_lo * b_hi
    return a_hi * b_hi + (t >> SHIFT32) + (u >> SHIFT32)


@njit(inline="always", cache=True)
def mul_shoup_lazy_lanes(a, w, w_shoup, q, m):
    """a*w mod q in [0, 2q) (Shoup, vectorizable form of `mul_shoup_lazy`).

    Args:
        a: a word (lazy inputs up to 4q are fine).
        w: the fixed operand, w < q.
        w_shoup: its companion floor(w * 2^64 / q).
        q: the prime.
        m: `lane_mask`.

    Returns:
        a*w mod q up to one extra q: in [0, 2q).
    """
    return a * w - mul_high_lanes(a, w_shoup, m) * q


@njit(inline="always", cache=True)
def mul_shoup_lanes(a, w, w_shoup, q, m):
    """a*w mod q in [0, q) (Shoup, vectorizable form of `mul_shoup`).

    Args:
        a: a word.
        w: the fixed operand, w < q.
        w_shoup: its companion.
        q: the prime.
        m: `lane_mask`.

    Returns:
        a*w mod q, in [0, q).
    """
    r = a * w - mul_high_lanes(a, w_shoup, m) * q
    return r - q if r >= q else r


@njit(inline="always", cache=True)
def barrett_reduce_lanes(high, low, q, ratio_high, ratio_low, m):
    """(high * 2^64 + low) mod q for any 128-bit value (vectorizable form of `barrett_reduce_wide`).

    The quotient estimate is at most 2 below the true quotient, so two
    branch-free conditional subtractions finish the reduction.

    Args:
        high: the high word of x.
        low: the low word of x.
        q: the prime.
        ratio_high: high word of floor(2^128 / q).
        ratio_low: low word of floor(2^128 / q).
        m: `lane_mask`.

    Returns:
        x mod q, in [0, q).
    """
    carry_word = mul_high_lanes(low, ratio_low, m)
    a_high = mul_high_lanes(low, ratio_high, m)
    a_low = low * ratio_high
    b_high = mul_high_lanes(high, ratio_low, m)
    b_low = high * ratio_low
    middle = carry_word + a_low
    carries = U64(middle < a_low)
    middle2 = middle + b_low
    carries += U64(middle2 < b_low)
    quotient = high * ratio_high + a_high + b_high + carries
    remainder = low - quotient * q
    remainder = remainder - q if remainder >= q else remainder
    return remainder - q if remainder >= q else remainder


@njit(inline="always", cache=True)
def mul_mod_lanes(a, b, q, ratio_high, ratio_low, m):
    """a*b mod q for words a, b (Barrett; vectorizable form of `mul_mod`).

    Args:
        a: a word.
        b: a word.
        q: the prime.
        ratio_high: high word of floor(2^128 / q).
        ratio_low: low word of floor(2^128 / q).
        m: `lane_mask`.

    Returns:
        a*b mod q, in [0, q).
    """
    return barrett_reduce_lanes(mul_high_lanes(a, b, m), a * b, q, ratio_high, ratio_low, m)


# ----------------------------------------------------------------------------
# Array kernels: (limbs, N) polynomials, one prime per limb
# ----------------------------------------------------------------------------
#
# _NO_ALIAS: an output may be one of the inputs (``out=a``).  LLVM then cannot
# prove the loop free of overlaps, its runtime check fails, and the scalar
# fallback runs: a Barrett loop is 9 times slower.  The multiplying kernels
# therefore compute a block of `BLOCK` values into a private buffer (which
# aliases nothing: the vector loop) and copy it out (a plain copy), reading
# and writing through 1-D row slices (2-D indexing with an offset defeats the
# vectorizer too).

#: Coefficients per task of the accumulating kernels (basis conversion, key inner product):
#: their 128-bit accumulator rows stay in L1, and (limb, block) tasks share the cores evenly.
BLOCK = 1024

#: numba's ``parallel=`` option of every kernel: only the explicit ``prange`` loops run in parallel.  The
#: kernels have no array expressions, reductions or comprehensions for numba's other parallel
#: transformations to find, and skipping their analysis (with loop fusion) shortens each kernel's
#: compilation on a cold cache by about 7% (issue 26; ``divide_round`` 5.5 s -> 5.1 s) for the same
#: machine code.
#: A `ParallelOptions`, not a dict: numba pops the keys of a dict option while it compiles (a shared dict
#: would be empty, every option back at its default, from the second kernel on); it copies this one.
PARALLEL = ParallelOptions({
    "prange": True, "fusion": False, "comprehension": False, "reduction": False, "inplace_binop": False,
    "setitem": False, "numpy": False, "stencil": False,
})

#: Below this many elements in its first argument a parallel kernel runs on one thread: the default of a
#: kernel that multiplies when `ckks.ring.thresholds` has no measurement for it.
PARALLEL_THRESHOLD = 1 << 13

#: The same for memory-bound kernels (additions, subtractions): a few cycles per element.
CHEAP_THRESHOLD = 1 << 17


def _thread_count() -> int:
    """numba.get_num_threads() without its locks once the thread pool is up (0.2 us instead of 3 us a call)."""
    if getattr(_numba_parallel, "_is_initialized", False):
        try:
            return _numba_parallel._get_num_threads()
        except AttributeError:  # a numba without the private helper
            pass
    return numba.get_num_threads()


def _serial_twin(kernel):
    """The same Python function compiled without ``parallel=True`` (prange runs as range).

    It gets its own qualified name so that numba caches it apart from the parallel version.
    """
    py = kernel.py_func
    twin = types.FunctionType(py.__code__, py.__globals__, py.__name__ + "_serial", py.__defaults__, py.__closure__)
    twin.__qualname__ = py.__qualname__ + "_serial"
    twin.__module__ = py.__module__
    twin.__doc__ = py.__doc__
    return njit(cache=True)(twin)


def serial_when_small(kernel=None, *, threshold: int | None = None, default: int = PARALLEL_THRESHOLD):
    """Run a numba ``parallel=True`` kernel serially when one thread is asked for or its first array is small.

    Waking numba's worker threads costs microseconds on an idle machine and up to
    milliseconds on an oversubscribed one, which dwarfs the work on toy ring sizes.
    Even with one thread, a parallel kernel hands its loop to a worker thread
    and waits; so the serial case calls a twin compiled without ``parallel``
    (the same code, run in the calling thread, no threading layer involved).
    Arrays of at least the kernel's threshold of elements with two or more threads
    stay parallel.  The threshold is measured per kernel (`ckks.ring.thresholds`:
    the smallest power of two from which two threads beat one on this machine,
    ``python -m ckks.crossover``); a kernel the table does not name uses ``default``:
    `PARALLEL_THRESHOLD` for kernels that multiply, `CHEAP_THRESHOLD` for the
    memory-bound ones (additions), which only pay from larger sizes.  An explicit
    ``threshold`` wins over both.
    On a cold cache the serial twin also stands in for a parallel variant that
    is not compiled yet, until it has run `ckks.ring.jit.RENT_SECONDS` seconds
    (`ckks.ring.jit.ParallelRental`: the cold start).
    Only for kernels called from Python.

    Args:
        kernel: a numba kernel whose first argument is an array (or None, to give the keywords first:
            ``@serial_when_small(default=CHEAP_THRESHOLD)``).
        threshold: the least number of elements of the first argument that runs in parallel (None: the
            measured one, else ``default``).
        default: the threshold of a kernel that the measured table does not name.

    Returns:
        A Python wrapper with the same signature (``.kernel`` is the parallel
        original, ``.serial`` the serial twin, ``.rental`` its cold-start state,
        ``.threshold`` the threshold in use, ``.name`` the key of the table), or a
        decorator when ``kernel`` is None.

    Raises:
        SerializationError: the thresholds table file is malformed (`ckks.ring.thresholds.load_table`).
    """
    if kernel is None:
        return functools.partial(serial_when_small, threshold=threshold, default=default)
    serial = _serial_twin(kernel)
    rental = ParallelRental(kernel)
    name = f"{kernel.py_func.__module__}.{kernel.py_func.__qualname__}"
    if threshold is None:
        threshold = measured_threshold(name, default)

    @functools.wraps(kernel)
    def call(*args):
        if args[0].size < threshold or _thread_count() == 1:
            return serial(*args)
        if rental.renting is not False and rental.rent():
            return rental.run(serial, args)
        return kernel(*args)

    call.kernel = kernel
    call.serial = serial
    call.rental = rental
    call.threshold = threshold
    call.default = default
    call.name = name
    return call


@serial_when_small(default=CHEAP_THRESHOLD)
@njit(parallel=PARALLEL, cache=True)
def poly_add(a, b, moduli, out):
    """out = a + b mod q_i, limb by limb.

    Args:
        a: uint64 array (limbs, N), residues in [0, q_i).
        b: same shape as ``a``.
        moduli: uint64 array, the prime of each limb.
        out: the result array (may alias an input).

    Returns:
        ``out``.
    """
    for i in prange(a.shape[0]):
        q = moduli[i]
        for j in range(a.shape[1]):
            s = a[i, j] + b[i, j]
            out[i, j] = s - q if s >= q else s
    return out


@serial_when_small(default=CHEAP_THRESHOLD)
@njit(parallel=PARALLEL, cache=True)
def poly_sub(a, b, moduli, out):
    """out = a - b mod q_i, limb by limb.

    Args:
        a: uint64 array (limbs, N), residues in [0, q_i).
        b: same shape as ``a``.
        moduli: uint64 array, the prime of each limb.
        out: the result array (may alias an input).

    Returns:
        ``out``.
    """
    for i in prange(a.shape[0]):
        q = moduli[i]
        for j in range(a.shape[1]):
            x = a[i, j]
            y = b[i, j]
            out[i, j] = x - y if x >= y else x + (q - y)
    return out


@serial_when_small(default=CHEAP_THRESHOLD)
@njit(parallel=PARALLEL, cache=True)
def poly_neg(a, moduli, out):
    """out = -a mod q_i, limb by limb.

    Args:
        a: uint64 array (limbs, N), residues in [0, q_i).
        moduli: uint64 array, the prime of each limb.
        out: the result array (may be ``a``).

    Returns:
        ``out``.
    """
    for i in prange(a.shape[0]):
        q = moduli[i]
        for j in range(a.shape[1]):
            x = a[i, j]
            out[i, j] = q - x if x != ZERO else ZERO
    return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def poly_mul(a, b, moduli, ratios, out):
    """out = a * b mod q_i, coefficient-wise (the ring product in NTT form).

    Args:
        a: uint64 array (limbs, N), residues in [0, q_i).
        b: same shape as ``a``.
        moduli: uint64 array, the prime of each limb.
        ratios: uint64 array (limbs, 2), Barrett ratios.
        out: the result array (may alias an input).

    Returns:
        ``out``.
    """
    n = a.shape[1]
    for i in prange(a.shape[0]):
        q = moduli[i]
        rh = ratios[i, 0]
        rl = ratios[i, 1]
        m = lane_mask(q)
        block = np.empty(BLOCK, dtype=np.uint64)  # see _NO_ALIAS
        for start in range(0, n, BLOCK):
            width = min(BLOCK, n - start)
            ar = a[i, start:start + width]
            br = b[i, start:start + width]
            for j in range(width):
                block[j] = mul_mod_lanes(ar[j], br[j], q, rh, rl, m)
            orow = out[i, start:start + width]
            for j in range(width):
                orow[j] = block[j]
    return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def poly_mul_add(a, b, c, moduli, ratios, out):
    """out = a * b + c mod q_i, coefficient-wise.

    Args:
        a: uint64 array (limbs, N), residues in [0, q_i).
        b: same shape as ``a``.
        c: same shape as ``a``.
        moduli: uint64 array, the prime of each limb.
        ratios: uint64 array (limbs, 2), Barrett ratios.
        out: the result array (may alias an input).

    Returns:
        ``out``.
    """
    n = a.shape[1]
    for i in prange(a.shape[0]):
        q = moduli[i]
        rh = ratios[i, 0]
        rl = ratios[i, 1]
        m = lane_mask(q)
        block = np.empty(BLOCK, dtype=np.uint64)  # see _NO_ALIAS
        for start in range(0, n, BLOCK):
            width = min(BLOCK, n - start)
            ar = a[i, start:start + width]
            br = b[i, start:start + width]
            cr = c[i, start:start + width]
            for j in range(width):
                s = mul_mod_lanes(ar[j], br[j], q, rh, rl, m) + cr[j]
                block[j] = s - q if s >= q else s
            orow = out[i, start:start + width]
            for j in range(width):
                orow[j] = block[j]
    return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def poly_mul_scalar(a, scalars, scalars_shoup, moduli, out):
    """out = a * s_i mod q_i with one fixed scalar s_i < q_i per limb (Shoup).

    Args:
        a: uint64 array (limbs, N), residues in [0, q_i).
        scalars: one scalar per limb, below its prime.
        scalars_shoup: their Shoup companions.
        moduli: uint64 array, the prime of each limb.
        out: the result array (may be ``a``).

    Returns:
        ``out``.
    """
    n = a.shape[1]
    for i in prange(a.shape[0]):
        q = moduli[i]
        w = scalars[i]
        ws = scalars_shoup[i]
        m = lane_mask(q)
        block = np.empty(BLOCK, dtype=np.uint64)  # see _NO_ALIAS
        for start in range(0, n, BLOCK):
            width = min(BLOCK, n - start)
            ar = a[i, start:start + width]
            for j in range(width):
                block[j] = mul_shoup_lanes(ar[j], w, ws, q, m)
            orow = out[i, start:start + width]
            for j in range(width):
                orow[j] = block[j]
    return out


@serial_when_small(default=CHEAP_THRESHOLD)
@njit(parallel=PARALLEL, cache=True)
def poly_add_scalar(a, scalars, moduli, out):
    """out = a + s_i mod q_i with one scalar s_i < q_i per limb.

    Args:
        a: uint64 array (limbs, N), residues in [0, q_i).
        scalars: one scalar per limb, below its prime.
        moduli: uint64 array, the prime of each limb.
        out: the result array (may be ``a``).

    Returns:
        ``out``.
    """
    for i in prange(a.shape[0]):
        q = moduli[i]
        s = scalars[i]
        for j in range(a.shape[1]):
            x = a[i, j] + s
            out[i, j] = x - q if x >= q else x
    return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def tensor_square_free(a0, a1, b0, b1, moduli, ratios, d0, d1, d2):
    """The tensor product of two degree-1 ciphertexts in NTT form.

    (a0 + a1 s)(b0 + b1 s) = d0 + d1 s + d2 s^2 with d0 = a0 b0,
    d1 = a0 b1 + a1 b0, d2 = a1 b1 (mod q_i, coefficient-wise).

    Args:
        a0: c_0 of the first ciphertext, uint64 array (limbs, N), residues in [0, q_i), NTT form.
        a1: its c_1.
        b0: c_0 of the second ciphertext.
        b1: its c_1.
        moduli: uint64 array, the prime of each limb.
        ratios: uint64 array (limbs, 2), Barrett ratios.
        d0: output a0 b0.
        d1: output a0 b1 + a1 b0.
        d2: output a1 b1.
    """
    for i in prange(a0.shape[0]):
        q = moduli[i]
        rh = ratios[i, 0]
        rl = ratios[i, 1]
        m = lane_mask(q)
        for j in range(a0.shape[1]):
            x0 = a0[i, j]
            x1 = a1[i, j]
            y0 = b0[i, j]
            y1 = b1[i, j]
            d0[i, j] = mul_mod_lanes(x0, y0, q, rh, rl, m)
            l1 = x0 * y1
            l2 = x1 * y0
            low = l1 + l2
            high = mul_high_lanes(x0, y1, m) + mul_high_lanes(x1, y0, m) + U64(low < l1)
            d1[i, j] = barrett_reduce_lanes(high, low, q, rh, rl, m)
            d2[i, j] = mul_mod_lanes(x1, y1, q, rh, rl, m)


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def reduce_signed(values, moduli, out):
    """out[i, j] = values[j] mod q_i for signed 64-bit integers values.

    Args:
        values: int64 array (N,), signed coefficients.
        moduli: uint64 array, the prime of each limb.
        out: uint64 array (limbs, N).

    Returns:
        ``out``, residues in [0, q_i).
    """
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
    """Number of threads numba's parallel kernels use (at most the cores available).

    Args:
        n: the wanted number of threads (clamped to [1, NUMBA_NUM_THREADS]).
    """
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
