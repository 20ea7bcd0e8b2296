"""Residue number system: CRT, fast basis conversion, exact division by primes.

A polynomial mod Q = q_0 q_1 ... q_l is stored as its residues mod each q_i
(an array of shape (limbs, N)).  Three operations leave the independent-limb
world and are gathered here:

* **Fast basis conversion** (Bajard, Eynard, Hasan, Zucca 2016), used to
  extend a key-switching digit to more primes (mod-up):
  ``Conv_{B->C}(x) = sum_i [x_i * (B/b_i)^-1]_{b_i} * (B/b_i) mod c``,
  equal to x + u*B with 0 <= u < |B|.
* **Division by the last primes with rounding** (rescale, and mod-down after
  key switching): for x mod Q*D, compute round(x / D) mod Q exactly
  ("divide_and_round" in SEAL, Cheon-Han-Kim-Kim-Song 2018, sec. 3).
* **CRT decoding** to a float for decryption: Garner's mixed-radix form gives
  the exact integer x in [0, Q); it is centred in (-Q/2, Q/2] exactly by
  comparing mixed-radix digits with those of Q - x, and only the final
  conversion to float64 rounds (relative error below l * 2^-53).

All kernels work on coefficient-form limbs; `RNSDivider` takes care of
the NTT round trips for NTT-form inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ckks.ring.modarith import (
    BLOCK,
    MASK32,
    PARALLEL,
    U64,
    ZERO,
    barrett_ratio,
    barrett_reduce_lanes,
    lane_mask,
    mul_high_lanes,
    mul_shoup,
    mul_shoup_lanes,
    serial_when_small,
    shoup_per_limb,
    shoup_precompute,
)
from ckks.ring.ntt import NTTTables, forward_one, inverse_one


def ratios_of(moduli) -> np.ndarray:
    """Barrett ratios floor(2^128 / q) as an array of (high, low) words, one row per prime.

    Args:
        moduli: the primes.

    Returns:
        uint64 array (len(moduli), 2).
    """
    return np.array([barrett_ratio(int(q)) for q in moduli], dtype=np.uint64).reshape(-1, 2)


def product(moduli) -> int:
    """The product of the given primes as a Python integer.

    Args:
        moduli: the primes.

    Returns:
        Their product (1 for none).
    """
    out = 1
    for q in moduli:
        out *= int(q)
    return out


class BasisConverter:
    """Fast basis conversion from primes ``source`` to primes ``target``.

    Precomputes (B/b_i)^-1 mod b_i with Shoup companions and the matrix
    (B/b_i) mod c_t.
    """

    def __init__(self, source, target):
        self.source = np.array([int(b) for b in source], dtype=np.uint64)
        self.target = np.array([int(c) for c in target], dtype=np.uint64)
        big_b = product(source)
        hats = [big_b // int(b) for b in source]
        inv = [pow(h, -1, int(b)) for h, b in zip(hats, source)]
        self.inv_hat = np.array(inv, dtype=np.uint64)
        self.inv_hat_shoup = shoup_per_limb(inv, source)
        self.hat_mod_target = np.array(
            [[h % int(c) for h in hats] for c in target], dtype=np.uint64
        ).reshape(len(target), len(source))
        self.target_ratios = ratios_of(target)

    def convert(self, x: np.ndarray, out: np.ndarray | None = None, out_rows: np.ndarray | None = None) -> np.ndarray:
        """Conv_{B->C}(x) for x in coefficient form, shape (|B|, N) -> (|C|, N).

        With ``out_rows``, residue t is written to ``out[out_rows[t]]``.

        Args:
            x: uint64 array (|B|, N), coefficient form.
            out: where to write (default: a new (|C|, N) array).
            out_rows: the row of ``out`` for each target prime (default 0, 1, ...).

        Returns:
            ``out``.
        """
        if out is None:
            out = np.empty((len(self.target), x.shape[1]), dtype=np.uint64)
        if out_rows is None:
            out_rows = np.arange(len(self.target), dtype=np.int64)
        fast_basis_convert(
            x, self.source, self.inv_hat, self.inv_hat_shoup,
            self.hat_mod_target, self.target, self.target_ratios, out, out_rows,
        )
        return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def fast_basis_convert(x, source, inv_hat, inv_hat_shoup, hat_mod_target, target, target_ratios, out, out_rows):
    """out[out_rows[t]] = sum_i [x_i * inv_hat_i]_{b_i} * hat_mod_target[t, i] mod c_t.

    Args:
        x: uint64 array (|B|, N), coefficient form.
        source: the primes b_i.
        inv_hat: (B/b_i)^-1 mod b_i.
        inv_hat_shoup: their Shoup companions.
        hat_mod_target: (B/b_i) mod c_t, shape (|C|, |B|).
        target: the primes c_t.
        target_ratios: their Barrett ratios.
        out: the result array.
        out_rows: the row of ``out`` for each c_t.

    Returns:
        ``out``.
    """
    k = x.shape[0]
    n = x.shape[1]
    if k == 1:  # one source prime: the conversion is x mod c_t (Barrett, no division)
        for t in prange(target.shape[0]):
            c = target[t]
            m = lane_mask(c)
            rh = target_ratios[t, 0]
            rl = target_ratios[t, 1]
            src = x[0]
            dst = out[out_rows[t]]
            for j in range(n):
                dst[j] = barrett_reduce_lanes(ZERO, src[j], c, rh, rl, m)
        return out
    scaled = np.empty((k, n), dtype=np.uint64)
    for i in prange(k):
        b = source[i]
        m = lane_mask(b)
        w = inv_hat[i]
        ws = inv_hat_shoup[i]
        for j in range(n):
            scaled[i, j] = mul_shoup_lanes(x[i, j], w, ws, b, m)
    blocks = (n + BLOCK - 1) // BLOCK
    for task in prange(target.shape[0] * blocks):
        t = task // blocks
        start = (task % blocks) * BLOCK
        width = min(BLOCK, n - start)
        c = target[t]
        m = lane_mask(c)
        high = np.zeros(width, dtype=np.uint64)
        low = np.zeros(width, dtype=np.uint64)
        for i in range(k):
            h_ti = hat_mod_target[t, i]
            src = scaled[i, start:start + width]
            for j in range(width):
                v = src[j]
                lo = v * h_ti
                s = low[j] + lo
                high[j] += mul_high_lanes(v, h_ti, m) + U64(s < lo)
                low[j] = s
        rh = target_ratios[t, 0]
        rl = target_ratios[t, 1]
        dst = out[out_rows[t], start:start + width]
        for j in range(width):
            dst[j] = barrett_reduce_lanes(high[j], low[j], c, rh, rl, m)
    return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def subtract_and_scale(x, correction, scalars, scalars_shoup, moduli, out):
    """out_i = (x_i - correction_i) * s_i mod q_i (the last step of divide-and-round).

    Args:
        x: uint64 array (limbs, N).
        correction: same shape.
        scalars: one scalar s_i per limb.
        scalars_shoup: their Shoup companions.
        moduli: the prime of each limb.
        out: the result array (may alias ``x``).

    Returns:
        ``out``.
    """
    n = x.shape[1]
    for i in prange(x.shape[0]):
        q = moduli[i]
        w = scalars[i]
        ws = scalars_shoup[i]
        m = lane_mask(q)
        block = np.empty(BLOCK, dtype=np.uint64)  # out may alias x: compute in a private buffer, then copy
        for start in range(0, n, BLOCK):
            width = min(BLOCK, n - start)
            xr = x[i, start:start + width]
            cr = correction[i, start:start + width]
            for j in range(width):
                a = xr[j]
                b = cr[j]
                d = a - b if a >= b else a + (q - b)
                block[j] = mul_shoup_lanes(d, w, ws, q, m)
            orow = out[i, start:start + width]
            for j in range(width):
                orow[j] = block[j]
    return out


class RNSDivider:
    """round(x / D) mod Q for x given mod Q*D, where D is a product of primes.

    ``kept`` are the primes of Q and ``dropped`` those of D (for rescaling, D
    is the last prime of the chain; for the mod-down of key switching, D is
    the special modulus P).  Inputs and outputs are in NTT form; ``tables``
    must hold rows for every prime involved, with row indices ``kept_rows``
    and ``dropped_rows``.

    Rounding: with h = floor(D/2), round(x/D) = (x + h - [x + h]_D) / D, and
    [x + h]_D is brought to the primes of Q exactly.  For one prime it is a
    reduction.  For several, fast basis conversion gives
    sum_i y_i (D/d_i) = [x + h]_D + v D with y_i = [(x + h) (D/d_i)^-1]_{d_i}
    and v = floor(sum_i y_i / d_i) in [0, |D|); v is computed in float64
    and subtracted (Halevi, Polyakov and Shoup, "An improved RNS variant of
    the BFV homomorphic encryption scheme", CT-RSA 2019, section 2.4).  The
    float sum errs by at most |D| 2^-52, so v can be off by one only when
    x / D is within that of a half-integer: the result is then the other
    neighbour of the tie.  Without v the quotient would be off by -v, whose
    mean (|D| - 1) / 2 is not zero: a smooth bias that the canonical
    embedding amplifies about N-fold (issue 26 measured 5 bits of precision
    lost by fresh public-key encryptions with six special primes at
    N = 2^15).
    """

    def __init__(self, tables: NTTTables, kept_rows, dropped_rows):
        self.tables = tables
        self.kept_rows = np.asarray(kept_rows, dtype=np.int64)
        self.dropped_rows = np.asarray(dropped_rows, dtype=np.int64)
        kept = [int(tables.moduli[r]) for r in self.kept_rows]
        dropped = [int(tables.moduli[r]) for r in self.dropped_rows]
        big_d = product(dropped)
        half = big_d // 2
        self.kept_moduli = np.array(kept, dtype=np.uint64)
        self.dropped_moduli = np.array(dropped, dtype=np.uint64)
        self.half_mod_dropped = np.array([half % d for d in dropped], dtype=np.uint64)
        self.neg_half_mod_kept = np.array([(-half) % q for q in kept], dtype=np.uint64)
        inv = [pow(big_d, -1, q) for q in kept]
        self.inv_d = np.array(inv, dtype=np.uint64)
        self.inv_d_shoup = shoup_per_limb(inv, kept)
        self.converter = BasisConverter(dropped, kept)
        self.kept_ratios = ratios_of(kept)
        #: 1 / d_i in float64 (v = floor(sum_i y_i / d_i)) and -D mod q_t (the v D subtracted).
        self.dropped_inverse = np.array([1.0 / d for d in dropped], dtype=np.float64)
        self.neg_d_mod_kept = np.array([(-big_d) % q for q in kept], dtype=np.uint64)

    def divide(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """x: (|Q| + |D|, N) in NTT form, kept limbs first -> round(x / D), (|Q|, N), NTT form.

        Args:
            x: uint64 array (|Q| + |D|, N), NTT form, the limbs of Q first.
            out: where to write (default: a new (|Q|, N) array).

        Returns:
            ``out``: round(x / D) mod Q, NTT form.
        """
        if out is None:
            out = np.empty((len(self.kept_rows), x.shape[1]), dtype=np.uint64)
        self.divide_many(x[np.newaxis], out[np.newaxis])
        return out

    def divide_many(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """`divide` of several polynomials in one fused kernel (`divide_round`).

        Args:
            x: uint64 array (polys, |Q| + |D|, N), NTT form, the limbs of Q first.
            out: where to write (default: a new (polys, |Q|, N) array).

        Returns:
            ``out``: round(x / D) mod Q for each polynomial, NTT form.
        """
        x = np.ascontiguousarray(x)
        if out is None:
            out = np.empty((x.shape[0], len(self.kept_rows), x.shape[2]), dtype=np.uint64)
        t, c = self.tables, self.converter
        divide_round(
            x, self.kept_rows, self.dropped_rows, self.kept_moduli, self.kept_ratios, self.dropped_moduli,
            self.half_mod_dropped, self.neg_half_mod_kept, self.inv_d, self.inv_d_shoup,
            c.inv_hat, c.inv_hat_shoup, c.hat_mod_target, self.dropped_inverse, self.neg_d_mod_kept,
            t.psi_rev, t.psi_rev_shoup,
            t.psi_inv_rev, t.psi_inv_rev_shoup, t.n_inv, out,
        )
        return out


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def divide_round(
    x, kept_rows, dropped_rows, kept, kept_ratios, dropped, half_mod_dropped, neg_half_mod_kept, inv_d, inv_d_shoup,
    inv_hat, inv_hat_shoup, hat_mod, dropped_inverse, neg_d_mod, psi, psi_shoup, psi_inv, psi_inv_shoup, n_inv, out,
):
    """round(x / D) mod Q for each polynomial of x (NTT form), fused (the kernel of `RNSDivider.divide_many`).

    Per polynomial: the dropped limbs go to coefficient form and get h =
    floor(D/2) added; with several dropped primes, y_i = [(x + h) (D/d_i)^-1]_{d_i}
    and the overflow v = floor(sum_i y_i / d_i) (float64) follow; then, task by task
    (polynomial, kept prime q_t), the correction [x + h]_D - h =
    sum_i y_i (D/d_i) - v D - h is brought to q_t (a Barrett reduction when D is
    one prime), transformed to NTT form while in cache, and
    out = (x - correction) * D^-1 mod q_t.  Tasks run in parallel; every array is
    C-contiguous.

    Args:
        x: uint64 (polys, |Q| + |D|, N), NTT form, the limbs of Q first.
        kept_rows: int64 table rows of the primes of Q.
        dropped_rows: int64 table rows of the primes of D.
        kept: uint64 primes of Q.
        kept_ratios: their Barrett ratios (|Q|, 2).
        dropped: uint64 primes of D.
        half_mod_dropped: floor(D/2) mod each prime of D.
        neg_half_mod_kept: -floor(D/2) mod each prime of Q.
        inv_d: D^-1 mod each prime of Q.
        inv_d_shoup: their Shoup companions.
        inv_hat: (D/d_i)^-1 mod d_i.
        inv_hat_shoup: their Shoup companions.
        hat_mod: (D/d_i) mod q_t, shape (|Q|, |D|).
        dropped_inverse: float64 1 / d_i.
        neg_d_mod: -D mod q_t.
        psi: forward twiddle table.
        psi_shoup: its Shoup companions.
        psi_inv: inverse twiddle table.
        psi_inv_shoup: its Shoup companions.
        n_inv: the inverse-NTT constants per table row.
        out: uint64 (polys, |Q|, N), written in place.

    Returns:
        ``out``.
    """
    polys = x.shape[0]
    n_kept = kept.shape[0]
    k = dropped.shape[0]
    n = x.shape[2]
    last = np.empty((polys, k, n), dtype=np.uint64)
    for task in prange(polys * k):
        p = task // k
        i = task % k
        d = dropped[i]
        r = dropped_rows[i]
        row = last[p, i]
        src = x[p, n_kept + i]
        for j in range(n):
            row[j] = src[j]
        inverse_one(row, psi_inv[r], psi_inv_shoup[r], n_inv[r], d)
        h = half_mod_dropped[i]
        m = lane_mask(d)
        w = inv_hat[i]
        ws = inv_hat_shoup[i]
        for j in range(n):
            v = row[j] + h
            v = v - d if v >= d else v
            row[j] = v if k == 1 else mul_shoup_lanes(v, w, ws, d, m)
    overflow = np.empty((polys, n if k > 1 else 0), dtype=np.uint64)  # v per coefficient; unused for one prime
    if k > 1:
        blocks = (n + BLOCK - 1) // BLOCK
        for task in prange(polys * blocks):
            p = task // blocks
            start = (task % blocks) * BLOCK
            for j in range(start, min(start + BLOCK, n)):
                total = 0.0
                for i in range(k):
                    total += float(last[p, i, j]) * dropped_inverse[i]
                overflow[p, j] = U64(total)  # floor: total >= 0
    for task in prange(polys * n_kept):
        t = task // polys  # consecutive tasks share the prime: its twiddles stay in cache
        p = task % polys
        q = kept[t]
        m = lane_mask(q)
        rh = kept_ratios[t, 0]
        rl = kept_ratios[t, 1]
        correction = np.empty(n, dtype=np.uint64)
        if k == 1:
            src = last[p, 0]
            for j in range(n):
                correction[j] = barrett_reduce_lanes(ZERO, src[j], q, rh, rl, m)
        else:
            high = np.zeros(n, dtype=np.uint64)
            low = np.zeros(n, dtype=np.uint64)
            for i in range(k):
                factor = hat_mod[t, i]
                src = last[p, i]
                for j in range(n):
                    v = src[j]
                    lo = v * factor
                    acc = low[j] + lo
                    high[j] += mul_high_lanes(v, factor, m) + U64(acc < lo)
                    low[j] = acc
            factor = neg_d_mod[t]
            src = overflow[p]
            for j in range(n):  # - v D: one more term of the sum
                v = src[j]
                lo = v * factor
                acc = low[j] + lo
                high[j] += mul_high_lanes(v, factor, m) + U64(acc < lo)
                low[j] = acc
            for j in range(n):
                correction[j] = barrett_reduce_lanes(high[j], low[j], q, rh, rl, m)
        g = neg_half_mod_kept[t]
        for j in range(n):
            v = correction[j] + g
            correction[j] = v - q if v >= q else v
        forward_one(correction, psi[kept_rows[t]], psi_shoup[kept_rows[t]], q)
        w = inv_d[t]
        ws = inv_d_shoup[t]
        src = x[p, t]
        dst = out[p, t]
        for j in range(n):
            a = src[j]
            b = correction[j]
            diff = a - b if a >= b else a + (q - b)
            dst[j] = mul_shoup_lanes(diff, w, ws, q, m)
    return out


class CRTDecoder:
    """Exact CRT of residues mod q_0..q_l to centred values, returned as float64.

    Garner's algorithm gives the mixed-radix digits v_k of x in [0, Q):
    x = v_0 + v_1 q_0 + v_2 q_0 q_1 + ...; doing the same for Q - x and
    comparing digit strings from the most significant one decides exactly
    whether x > Q/2.  The smaller of x and Q - x is converted to float by
    Horner's rule, and negated when it was Q - x.
    """

    def __init__(self, moduli):
        self.moduli = np.array([int(q) for q in moduli], dtype=np.uint64)
        k = len(moduli)
        inv = np.zeros((k, k), dtype=np.uint64)
        inv_shoup = np.zeros((k, k), dtype=np.uint64)
        for i in range(k):
            for j in range(i):
                qi = int(moduli[i])
                v = pow(int(moduli[j]), -1, qi)
                inv[i, j] = v
                inv_shoup[i, j] = shoup_precompute(v, qi)
        self.inv = inv
        self.inv_shoup = inv_shoup
        self.moduli_float = self.moduli.astype(np.float64)
        self.ratios = ratios_of(moduli)

    def to_float(self, residues: np.ndarray) -> np.ndarray:
        """Centred values of the residues (coefficient form, shape (l+1, N)) as float64.

        Args:
            residues: uint64 array (l + 1, N), coefficient form.

        Returns:
            float64 array (N,) of the centred integers in (-Q/2, Q/2].
        """
        out = np.empty(residues.shape[1], dtype=np.float64)
        crt_centred_float(residues, self.moduli, self.inv, self.inv_shoup, self.moduli_float, self.ratios, out)
        return out


@njit(cache=True)
def _mixed_radix(x, moduli, inv, inv_shoup, ratios, digits):
    k = moduli.shape[0]
    for i in range(k):
        q = moduli[i]
        t = x[i]
        for j in range(i):
            v = barrett_reduce_lanes(ZERO, digits[j], q, ratios[i, 0], ratios[i, 1], MASK32)  # no division
            t = t - v if t >= v else t + (q - v)
            t = mul_shoup(t, inv[i, j], inv_shoup[i, j], q)
        digits[i] = t


@serial_when_small
@njit(parallel=PARALLEL, cache=True)
def crt_centred_float(residues, moduli, inv, inv_shoup, moduli_float, ratios, out):
    """Kernel of `CRTDecoder.to_float`.

    Args:
        residues: uint64 array (k, N), coefficient form.
        moduli: the k primes.
        inv: q_j^-1 mod q_i for j < i, shape (k, k).
        inv_shoup: their Shoup companions.
        moduli_float: the primes as float64.
        ratios: their Barrett ratios, shape (k, 2).
        out: float64 array (N,).

    Returns:
        ``out``.
    """
    k = residues.shape[0]
    n = residues.shape[1]
    chunks = (n + BLOCK - 1) // BLOCK
    for chunk in prange(chunks):
        x = np.empty(k, dtype=np.uint64)  # scratch allocated once per chunk, not per coefficient
        neg = np.empty(k, dtype=np.uint64)
        dx = np.empty(k, dtype=np.uint64)
        dn = np.empty(k, dtype=np.uint64)
        for j in range(chunk * BLOCK, min(n, (chunk + 1) * BLOCK)):
            for i in range(k):
                x[i] = residues[i, j]
                neg[i] = moduli[i] - x[i] if x[i] != ZERO else ZERO
            _mixed_radix(x, moduli, inv, inv_shoup, ratios, dx)
            _mixed_radix(neg, moduli, inv, inv_shoup, ratios, dn)
            negative = False
            for i in range(k - 1, -1, -1):
                if dx[i] != dn[i]:
                    negative = dx[i] > dn[i]
                    break
            digits = dn if negative else dx
            acc = 0.0
            for i in range(k - 1, -1, -1):
                acc = acc * moduli_float[i] + float(digits[i])
            out[j] = -acc if negative else acc
    return out
