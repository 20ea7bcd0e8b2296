"""Hybrid key switching (Han and Ki, CT-RSA 2020; the form SEAL uses).

Given a polynomial d at level l (NTT form over Q_l = q_0 .. q_l) and a
key-switching key from s' to s, produce (c_0, c_1) over Q_l with
c_0 + c_1 s = d s' + e_ks (mod Q_l).  Three steps:

1. **Decompose and mod-up.**  Split the primes of Q_l into the digits D_j of
   the key (restricted to level l).  Digit j is d mod D_j; fast basis
   conversion extends it from D_j to every other prime of Q_l * P.  The
   conversion is off by a multiple u * D_j, which the gadget factor of the
   key annihilates, so this step is exact for the final result.  The lift
   is *centred*: every term [x_p (D_j/q_p)^-1]_{q_p} of the conversion is
   taken in (-q_p/2, q_p/2), so the digit D_j sum_p [..]_{q_p} / q_p has
   mean zero (for a one-prime digit it is the centred residue of d).  A
   lift in [0, D_j) would have mean D_j/2 in every coefficient, i.e. a
   component (D_j/2)(1 + X + ... + X^(N-1)), and the error term d_j e_j / P
   would carry the fixed polynomial (D_j/2P)(1 + ... + X^(N-1)) e_j: its
   canonical embedding, 2/(1 - zeta) times that of e_j, is up to about
   4N/pi at the roots zeta near 1, so every ciphertext switched with the key
   would get the same few slots with errors hundreds of times the median
   (after a rotation by k: slots -k, -k +- 1, ...).
2. **Inner product** with the key over Q_l * P:
   (sum_j d_j b_j, sum_j d_j a_j), accumulated in 128 bits and reduced once.
3. **Mod-down**: divide by P with rounding ([`RNSDivider`][ckks.ring.rns.RNSDivider]).
   The key-switching error is e_ks ~ sum_j d_j e_j / P + rounding, small when
   P is at least as large as every digit.

Step 1 is independent of the key, so many key switches of the same d
(hoisted rotations) can share one decomposition.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ckks.errors import InputError, InputTypeError, LevelError, ParameterError
from ckks.ring.level import RingAtLevel
from ckks.ring.modarith import (
    BLOCK,
    PARALLEL,
    U64,
    ZERO,
    barrett_reduce_lanes,
    lane_mask,
    mul_high_lanes,
    mul_shoup_lanes,
    serial_when_small,
    shoup_per_limb,
)
from ckks.ring.ntt import forward_one
from ckks.scheme.parameters import MAX_DIGITS, Parameters


class ModUpPlan(NamedTuple):
    """Per-level constants of the fused mod-up (digit runs, basis-conversion factors, the extended ring)."""

    starts: np.ndarray  # int64 (digits,): first data position of each digit
    sizes: np.ndarray  # int64 (digits,): its number of primes at this level
    inv_hat: np.ndarray  # uint64 (l + 1,): (D_j / q_p)^-1 mod q_p for p in digit j
    inv_hat_shoup: np.ndarray  # their Shoup companions
    hat_mod: np.ndarray  # uint64 (l + 1, limbs): (D_j / q_p) mod m_t for every extended prime m_t
    neg_digit: np.ndarray  # uint64 (digits, limbs): -D_j mod m_t, the correction of a negative centred term
    ring: RingAtLevel  # Q_l * P


class KeySwitcher:
    """Decomposition, inner product and mod-down of hybrid key switching.

    Per-level precomputation (which primes each digit holds, the basis
    converters) is cached on the instance, so share one switcher per
    parameter set.

    Args:
        params: the encryption parameters.

    Raises:
        InputTypeError: ``params`` is not a Parameters.
        ParameterError: the parameters have more than `MAX_DIGITS` digits.
    """

    def __init__(self, params: Parameters):
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        if len(params.digits) > MAX_DIGITS:
            raise ParameterError(
                f"{len(params.digits)} key-switching digits exceed the supported {MAX_DIGITS}; set dnum lower"
            )
        self.params = params
        self._plans: dict[int, ModUpPlan] = {}
        self._key_rows: dict[tuple[int, int], np.ndarray] = {}

    def extended_rows(self, level: int) -> np.ndarray:
        """Table rows of the extended basis Q_level * P: q_0 .. q_level, then the special primes.

        Args:
            level: the level, 0 .. L.

        Returns:
            int64 array of length level + 1 + alpha.

        Raises:
            LevelError: ``level`` is not an integer in [0, L].
        """
        return self.params.at_level(level, special=True).rows

    def _digit_plan(self, level: int) -> ModUpPlan:
        """The constants of the fused mod-up at ``level`` (cached): see [`mod_up`][ckks.scheme.keyswitch.mod_up]."""
        plan = self._plans.get(level)
        if plan is not None:
            return plan
        ring = self.params.at_level(level, special=True)
        moduli = [int(q) for q in ring.moduli]
        starts, sizes = [], []
        inv_hat = np.zeros(level + 1, dtype=np.uint64)
        hat_mod = np.zeros((level + 1, ring.limbs), dtype=np.uint64)
        neg_digit = []
        for digit in self.params.digits:
            own = [i for i in digit if i <= level]
            if not own:
                break
            starts.append(own[0])
            sizes.append(len(own))
            big_d = 1
            for i in own:
                big_d *= moduli[i]
            for i in own:
                hat = big_d // moduli[i]
                inv_hat[i] = pow(hat, -1, moduli[i])
                hat_mod[i] = [hat % c for c in moduli]
            neg_digit.append([(-big_d) % c for c in moduli])
        inv_hat_shoup = shoup_per_limb(inv_hat, ring.moduli[: level + 1])
        plan = ModUpPlan(
            np.array(starts, dtype=np.int64), np.array(sizes, dtype=np.int64), inv_hat, inv_hat_shoup, hat_mod,
            np.array(neg_digit, dtype=np.uint64).reshape(len(starts), ring.limbs), ring,
        )
        self._plans[level] = plan
        return plan

    def _check_poly(self, d: object) -> int:
        if not isinstance(d, np.ndarray):
            raise InputTypeError(f"the polynomial to switch must be a numpy uint64 array, got {type(d).__name__}")
        if d.ndim != 2 or not 1 <= d.shape[0] <= self.params.max_level + 1:
            raise InputError(
                f"the polynomial to switch must have shape (level + 1, N) with level in [0, {self.params.max_level}], "
                f"got shape {d.shape}"
            )
        self.params.at_level(d.shape[0] - 1).check(d, "the polynomial to switch")
        return d.shape[0] - 1

    def _check_key(self, key_data: object, level: int) -> None:
        """The key is the data of a key-switching key whose top level is at least ``level``."""
        params = self.params
        top = params.key_level(key_data.shape) if isinstance(key_data, np.ndarray) else None
        if top is None or key_data.dtype != np.uint64:
            shape = (len(params.digits), 2, len(params.all_moduli), params.poly_degree)
            got = f"{key_data.dtype} {key_data.shape}" if isinstance(key_data, np.ndarray) else type(key_data).__name__
            raise InputError(
                f"key-switching key data must be a uint64 array of shape {shape}, or that of a key made for "
                f"the levels up to some m (key_digits(m), 2, m + 1 + {params.special_count}, N); got {got}"
            )
        if top < level:
            raise LevelError(
                f"the key-switching key was made for levels up to {top} only (limbs q_0 .. q_{top}), but the "
                f"ciphertext is at level {level}: switch it down to level {top} first (mod_switch_to), or make "
                f"the key for higher levels (create_galois_keys(..., max_level={level}) or above)"
            )

    def key_rows(self, level: int, key_level: int) -> np.ndarray:
        """The rows of a key made for levels up to ``key_level`` that hold the limbs of Q_level * P.

        A key for levels up to m stores q_0 .. q_m, then the special primes: the limbs of Q_l * P
        (l <= m) are its rows 0 .. l and m + 1 .. m + alpha.

        Args:
            level: the ciphertext's level l.
            key_level: the key's top level m >= l.

        Returns:
            int64 array of length l + 1 + alpha (cached).
        """
        rows = self._key_rows.get((level, key_level))
        if rows is None:
            alpha = self.params.special_count
            rows = np.concatenate([np.arange(level + 1), key_level + 1 + np.arange(alpha)]).astype(np.int64)
            self._key_rows[(level, key_level)] = rows
        return rows

    def decompose(self, d: np.ndarray) -> np.ndarray:
        """Step 1: the digits of d (level l, NTT form), each extended to Q_l * P, NTT form.

        Digit j is d mod D_j, lifted from D_j to every other prime of Q_l * P
        by fast basis conversion with centred terms (off by a multiple of D_j,
        which the key's gadget factor annihilates; mean zero, see the module
        docstring).

        Args:
            d: uint64 array (l + 1, N) in NTT form over q_0 .. q_l.

        Returns:
            uint64 array (digits at level l, l + 1 + alpha, N) in NTT form.

        Raises:
            InputTypeError: ``d`` is not a numpy array.
            InputError: ``d`` is not a C-contiguous uint64 array of shape (l + 1, N), l in [0, L].
        """
        return self._decompose(np.ascontiguousarray(d), self._check_poly(d))

    def _decompose(self, d: np.ndarray, level: int) -> np.ndarray:
        """`decompose` of a checked, C-contiguous d at ``level`` (the rotator's hot path)."""
        params = self.params
        plan = self._digit_plan(level)
        coefficients = params.at_level(level).to_coefficients(d)
        extended = np.empty((len(plan.starts), level + 1 + params.special_count, params.poly_degree), dtype=np.uint64)
        ring, tables = plan.ring, params.tables
        mod_up(
            d, coefficients, plan.starts, plan.sizes, plan.inv_hat, plan.inv_hat_shoup, plan.hat_mod, plan.neg_digit,
            ring.rows, ring.moduli, ring.ratios, tables.psi_rev, tables.psi_rev_shoup, extended,
        )
        return extended

    def inner_product(
        self, extended: np.ndarray, key_data: np.ndarray, permutation: np.ndarray | None = None
    ) -> np.ndarray:
        """Step 2: sum_j sigma(digit_j) * ksk_j over Q_l * P (128-bit accumulation, one reduction).

        With ``permutation`` (the NTT-form index map of an automorphism sigma_g,
        [`ntt_permutation`][ckks.scheme.automorphism.ntt_permutation]) the digits
        are read through the map inside the kernel: the result is that of
        ``extended[:, :, permutation]`` without materializing the permuted
        (strided) array.

        Args:
            extended: the output of [`decompose`][ckks.scheme.keyswitch.KeySwitcher.decompose],
                uint64 (digits, l + 1 + alpha, N), NTT form.
            key_data: the key, uint64 (digits, 2, L + 1 + alpha, N), NTT form, or a key made for the
                levels up to some m >= l (`Parameters.key_level`).
            permutation: optional int64 array (N,), an index map applied to the last axis of ``extended``.

        Returns:
            uint64 array (2, l + 1 + alpha, N) in NTT form over Q_l * P.

        Raises:
            InputError: an array has the wrong dtype or shape, or ``permutation`` is not a length-N index map.
            LevelError: the key was made for levels below l.
        """
        params = self.params
        if (
            not isinstance(extended, np.ndarray)
            or extended.dtype != np.uint64
            or extended.ndim != 3
            or extended.shape[2] != params.poly_degree
            or not 1 <= extended.shape[1] - params.special_count <= params.max_level + 1
            or not 1 <= extended.shape[0] <= len(params.digits)
        ):
            got = f"{extended.dtype} {extended.shape}" if isinstance(extended, np.ndarray) else type(extended).__name__
            raise InputError(f"extended must be the uint64 output of decompose(), got {got}")
        ring = params.at_level(extended.shape[1] - 1 - params.special_count, special=True)
        if extended.shape[0] != len(self._digit_plan(ring.limbs - 1 - params.special_count).starts):
            raise InputError(f"extended has {extended.shape[0]} digits, but its level has a different count")
        self._check_key(key_data, ring.limbs - 1 - params.special_count)
        if permutation is None:
            permutation = _IDENTITY
        else:
            permutation = np.asarray(permutation)
            if permutation.dtype != np.int64 or permutation.shape != (params.poly_degree,):
                raise InputError(f"permutation must be an int64 index map of length {params.poly_degree}")
        return self._inner_product(np.ascontiguousarray(extended), np.ascontiguousarray(key_data), permutation)

    def _inner_product(self, extended: np.ndarray, key_data: np.ndarray, permutation: np.ndarray) -> np.ndarray:
        """`inner_product` of checked, C-contiguous arrays (``permutation``: `_IDENTITY` for none)."""
        params = self.params
        ring = self._digit_plan(extended.shape[1] - 1 - params.special_count).ring
        out = np.empty((2, ring.limbs, params.poly_degree), dtype=np.uint64)
        rows = self.key_rows(ring.limbs - 1 - params.special_count, key_data.shape[2] - 1 - params.special_count)
        key_inner_product(extended, permutation, key_data, rows, ring.moduli, ring.ratios, out)
        return out

    def mod_down(self, accumulated: np.ndarray) -> np.ndarray:
        """Step 3: divide both polynomials by P with rounding, from Q_l * P to Q_l.

        Args:
            accumulated: uint64 (2, l + 1 + alpha, N), NTT form over Q_l * P.

        Returns:
            uint64 array (2, l + 1, N), NTT form over Q_l.

        Raises:
            InputError: ``accumulated`` has the wrong dtype or shape.
        """
        params = self.params
        if (
            not isinstance(accumulated, np.ndarray)
            or accumulated.dtype != np.uint64
            or accumulated.ndim != 3
            or accumulated.shape[0] != 2
            or accumulated.shape[2] != params.poly_degree
            or not 1 <= accumulated.shape[1] - params.special_count <= params.max_level + 1
        ):
            got = f"{accumulated.dtype} {accumulated.shape}" if isinstance(accumulated, np.ndarray) else type(
                accumulated
            ).__name__
            raise InputError(f"accumulated must be a uint64 array of shape (2, l + 1 + alpha, N), got {got}")
        return self._mod_down(np.ascontiguousarray(accumulated))

    def _mod_down(self, accumulated: np.ndarray) -> np.ndarray:
        """`mod_down` of a checked, C-contiguous array."""
        return self.params.mod_down(accumulated.shape[1] - 1 - self.params.special_count).divide_many(accumulated)

    def switch(self, d: np.ndarray, key_data: np.ndarray) -> np.ndarray:
        """(c_0, c_1) over Q_l with c_0 + c_1 s = d s' + e_ks, for the key from s' to s.

        Args:
            d: uint64 array (l + 1, N) in NTT form over q_0 .. q_l.
            key_data: the key-switching key from s' to s, uint64 (digits, 2, L + 1 + alpha, N), or a key
                made for the levels up to some m >= l.

        Returns:
            uint64 array (2, l + 1, N), NTT form; level unchanged.

        Raises:
            InputTypeError: ``d`` is not a numpy array.
            InputError: an array has the wrong dtype, shape or layout.
            LevelError: the key was made for levels below l.
        """
        return self.mod_down(self.inner_product(self.decompose(d), key_data))


_IDENTITY = np.empty(0, dtype=np.int64)  # "no permutation" for key_inner_product
# read-only as the cached automorphism permutations are: numba types read-only arrays apart, so a writable
# identity would compile key_inner_product a second time (about 3 s on a cold cache, issue 26)
_IDENTITY.setflags(write=False)

@njit(inline="always", cache=True)
def _accumulate(x, b, a, high0, low0, high1, low1, j, m):
    lo = x * b
    s = low0[j] + lo
    high0[j] += mul_high_lanes(x, b, m) + U64(s < lo)
    low0[j] = s
    lo = x * a
    s = low1[j] + lo
    high1[j] += mul_high_lanes(x, a, m) + U64(s < lo)
    low1[j] = s


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def key_inner_product(extended, perm, key, rows, moduli, ratios, out):
    """out[c, r, j] = sum_d extended[d, r, perm[j]] * key[d, c, rows[r], j] mod moduli[r].

    ``perm`` is an index map of the last axis (an automorphism in NTT form),
    or empty for the identity; ``rows`` are the key's table rows of the limbs
    of ``extended``; ``moduli`` and ``ratios`` are per limb (those of the ring
    at the level).  Every array is C-contiguous: the permutation is applied
    here, as gathered loads, instead of through a strided view.

    Products are summed exactly in 128 bits (a (high, low) pair of words per
    coefficient, with the vectorizable lane products of `ckks.ring.modarith`)
    and reduced once at the end (Barrett).  The work is split in tasks of
    (limb, block of `BLOCK` coefficients) so that the accumulators stay in L1
    and both cores share the work.  The caller
    ([`KeySwitcher.inner_product`][ckks.scheme.keyswitch.KeySwitcher.inner_product])
    checks the shapes and dtypes.

    Args:
        extended: uint64 (digits, limbs, N), the decomposed digits.
        perm: int64 (N,) index map, or (0,) for none.
        key: uint64 (digits, 2, all primes, N), the key-switching key.
        rows: int64 (limbs,), the key's rows of those limbs.
        moduli: uint64 (limbs,), the prime of each limb.
        ratios: uint64 (limbs, 2), their Barrett ratios.
        out: uint64 (2, limbs, N), written in place.

    Returns:
        ``out``.
    """
    digits = extended.shape[0]
    limbs = extended.shape[1]
    n = extended.shape[2]
    permuted = perm.shape[0] == n
    blocks = (n + BLOCK - 1) // BLOCK
    for task in prange(limbs * blocks):
        r = task // blocks
        start = (task % blocks) * BLOCK
        width = min(BLOCK, n - start)
        kr = rows[r]
        q = moduli[r]
        m = lane_mask(q)
        high0 = np.zeros(width, dtype=np.uint64)
        low0 = np.zeros(width, dtype=np.uint64)
        high1 = np.zeros(width, dtype=np.uint64)
        low1 = np.zeros(width, dtype=np.uint64)
        gathered = np.empty(width, dtype=np.uint64)
        for d in range(digits):
            b_row = key[d, 0, kr, start:start + width]
            a_row = key[d, 1, kr, start:start + width]
            if permuted:  # gather the block first: the accumulation loop below stays a plain vector loop
                x_row = extended[d, r]
                p_row = perm[start:start + width]
                for j in range(width):
                    gathered[j] = x_row[p_row[j]]
                x_block = gathered
            else:
                x_block = extended[d, r, start:start + width]
            for j in range(width):
                _accumulate(x_block[j], b_row[j], a_row[j], high0, low0, high1, low1, j, m)
        rh = ratios[r, 0]
        rl = ratios[r, 1]
        out0 = out[0, r, start:start + width]
        out1 = out[1, r, start:start + width]
        for j in range(width):
            out0[j] = barrett_reduce_lanes(high0[j], low0[j], q, rh, rl, m)
            out1[j] = barrett_reduce_lanes(high1[j], low1[j], q, rh, rl, m)
    return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def mod_up(
    d, coeff, starts, sizes, inv_hat, inv_hat_shoup, hat_mod, neg_digit, rows, moduli, ratios, psi, psi_shoup, out
):
    """Step 1 fused: every digit of d extended to Q_l * P and brought to NTT form, one limb at a time.

    Task (j, t) writes out[j, t]: the NTT-form residue of d mod m_t itself
    when m_t is a prime of digit j, else the centred fast basis conversion
    sum_p v_p (D_j/q_p) mod m_t over the primes p of the digit, with
    v_p = [x_p (D_j/q_p)^-1]_{q_p} taken in (-q_p/2, q_p/2) (coefficient form,
    x = ``coeff``; a term v_p - q_p adds -D_j mod m_t, ``neg_digit``); for a
    one-prime digit this is the centred residue of x.  It is transformed at once with
    `ckks.ring.ntt.forward_one` while the limb is still in cache.  Tasks run
    in parallel; every array is C-contiguous.

    Args:
        d: uint64 (l + 1, N), the polynomial in NTT form.
        coeff: uint64 (l + 1, N), the same in coefficient form.
        starts: int64 (digits,), the first data position of each digit.
        sizes: int64 (digits,), its number of primes at this level.
        inv_hat: uint64 (l + 1,), (D_j / q_p)^-1 mod q_p.
        inv_hat_shoup: their Shoup companions.
        hat_mod: uint64 (l + 1, limbs), (D_j / q_p) mod m_t.
        neg_digit: uint64 (digits, limbs), -D_j mod m_t.
        rows: int64 (limbs,), the NTT table row of each extended prime.
        moduli: uint64 (limbs,), the extended primes m_t.
        ratios: uint64 (limbs, 2), their Barrett ratios.
        psi: the forward twiddle table (``NTTTables.psi_rev``).
        psi_shoup: its Shoup companions.
        out: uint64 (digits, limbs, N), written in place.

    Returns:
        ``out``.
    """
    n = coeff.shape[1]
    digits = starts.shape[0]
    limbs = out.shape[1]
    scaled = np.empty_like(coeff)
    for p in prange(coeff.shape[0]):
        q = moduli[p]
        m = lane_mask(q)
        w = inv_hat[p]
        ws = inv_hat_shoup[p]
        src = coeff[p]
        dst = scaled[p]
        for i in range(n):
            dst[i] = mul_shoup_lanes(src[i], w, ws, q, m)
    for task in prange(digits * limbs):
        t = task // digits  # consecutive tasks share the prime m_t: its twiddle tables stay in cache
        j = task % digits
        s = starts[j]
        k = sizes[j]
        dst = out[j, t]
        if s <= t < s + k:  # a prime of the digit: the residue is d's own, already in NTT form
            src = d[t]
            for i in range(n):
                dst[i] = src[i]
            continue
        c = moduli[t]
        m = lane_mask(c)
        rh = ratios[t, 0]
        rl = ratios[t, 1]
        negative = neg_digit[j, t]
        if k == 1:  # one prime: the centred residue of x mod c (x - q_s when x > q_s / 2)
            src = coeff[s]
            half = moduli[s] >> U64(1)
            for i in range(n):
                v = src[i]
                dst[i] = barrett_reduce_lanes(ZERO, v + (negative if v > half else ZERO), c, rh, rl, m)
        else:
            high = np.zeros(n, dtype=np.uint64)
            low = np.zeros(n, dtype=np.uint64)
            for p in range(s, s + k):
                h_pt = hat_mod[p, t]
                half = moduli[p] >> U64(1)
                src = scaled[p]
                for i in range(n):
                    v = src[i]
                    lo = v * h_pt
                    acc = low[i] + lo
                    carry = mul_high_lanes(v, h_pt, m) + U64(acc < lo)
                    extra = negative if v > half else ZERO  # v - q_p: (v - q_p)(D_j/q_p) = v (D_j/q_p) - D_j
                    total = acc + extra
                    high[i] += carry + U64(total < extra)
                    low[i] = total
            for i in range(n):
                dst[i] = barrett_reduce_lanes(high[i], low[i], c, rh, rl, m)
        forward_one(dst, psi[rows[t]], psi_shoup[rows[t]], c)
    return out
