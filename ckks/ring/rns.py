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

All kernels work on coefficient-form limbs; :class:`RNSDivider` takes care of
the NTT round trips for NTT-form inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ckks.ring.modarith import (
    ONE,
    ZERO,
    barrett_ratio,
    barrett_reduce_wide,
    mul_shoup,
    mul_wide,
    poly_add_scalar,
    serial_when_small,
    shoup_per_limb,
    shoup_precompute,
)
from ckks.ring.ntt import NTTTables


def ratios_of(moduli) -> np.ndarray:
    """Barrett ratios floor(2^128 / q) as an array of (high, low) words, one row per prime."""
    return np.array([barrett_ratio(int(q)) for q in moduli], dtype=np.uint64).reshape(-1, 2)


def product(moduli) -> int:
    """The product of the given primes as a Python integer."""
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
@njit(parallel=True, cache=True)
def fast_basis_convert(x, source, inv_hat, inv_hat_shoup, hat_mod_target, target, target_ratios, out, out_rows):
    """out[out_rows[t]] = sum_i [x_i * inv_hat_i]_{b_i} * hat_mod_target[t, i] mod c_t."""
    k = x.shape[0]
    n = x.shape[1]
    if k == 1:  # one source prime: the conversion is x mod c_t
        for t in prange(target.shape[0]):
            c = target[t]
            row = out_rows[t]
            for j in range(n):
                v = x[0, j]
                out[row, j] = v if v < c else v % c
        return out
    scaled = np.empty((k, n), dtype=np.uint64)
    for i in prange(k):
        for j in range(n):
            scaled[i, j] = mul_shoup(x[i, j], inv_hat[i], inv_hat_shoup[i], source[i])
    for t in prange(target.shape[0]):
        c = target[t]
        rh = target_ratios[t, 0]
        rl = target_ratios[t, 1]
        row = out_rows[t]
        for j in range(n):
            high = ZERO
            low = ZERO
            for i in range(k):
                h, lo = mul_wide(scaled[i, j], hat_mod_target[t, i])
                low += lo
                high += h + (ONE if low < lo else ZERO)
            out[row, j] = barrett_reduce_wide(high, low, c, rh, rl)
    return out


@serial_when_small
@njit(parallel=True, cache=True)
def subtract_and_scale(x, correction, scalars, scalars_shoup, moduli, out):
    """out_i = (x_i - correction_i) * s_i mod q_i (the last step of divide-and-round)."""
    for i in prange(x.shape[0]):
        q = moduli[i]
        w = scalars[i]
        ws = scalars_shoup[i]
        for j in range(x.shape[1]):
            a = x[i, j]
            b = correction[i, j]
            d = a - b if a >= b else a + (q - b)
            out[i, j] = mul_shoup(d, w, ws, q)
    return out


class RNSDivider:
    """round(x / D) mod Q for x given mod Q*D, where D is a product of primes.

    ``kept`` are the primes of Q and ``dropped`` those of D (for rescaling, D
    is the last prime of the chain; for the mod-down of key switching, D is
    the special modulus P).  Inputs and outputs are in NTT form; ``tables``
    must hold rows for every prime involved, with row indices ``kept_rows``
    and ``dropped_rows``.

    Rounding: with h = floor(D/2), round(x/D) = (x + h - [x + h]_D) / D, and
    [x + h]_D is brought to the primes of Q by fast basis conversion (exact
    when D is a single prime; off by an integer u < |D| otherwise, a tiny
    additive error that key switching tolerates).
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

    def divide(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """x: (|Q| + |D|, N) in NTT form, kept limbs first -> round(x / D), (|Q|, N), NTT form."""
        n_kept = len(self.kept_rows)
        last = x[n_kept:].copy()
        self.tables.inverse(last, self.dropped_rows)
        poly_add_scalar(last, self.half_mod_dropped, self.dropped_moduli, last)
        correction = self.converter.convert(last)
        poly_add_scalar(correction, self.neg_half_mod_kept, self.kept_moduli, correction)
        self.tables.forward(correction, self.kept_rows)
        if out is None:
            out = np.empty((n_kept, x.shape[1]), dtype=np.uint64)
        subtract_and_scale(x[:n_kept], correction, self.inv_d, self.inv_d_shoup, self.kept_moduli, out)
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

    def to_float(self, residues: np.ndarray) -> np.ndarray:
        """Centred values of the residues (coefficient form, shape (l+1, N)) as float64."""
        out = np.empty(residues.shape[1], dtype=np.float64)
        crt_centred_float(residues, self.moduli, self.inv, self.inv_shoup, self.moduli_float, out)
        return out


@njit(cache=True)
def _mixed_radix(x, moduli, inv, inv_shoup, digits):
    k = moduli.shape[0]
    for i in range(k):
        q = moduli[i]
        t = x[i]
        for j in range(i):
            v = digits[j] % q
            t = t - v if t >= v else t + (q - v)
            t = mul_shoup(t, inv[i, j], inv_shoup[i, j], q)
        digits[i] = t


@serial_when_small
@njit(parallel=True, cache=True)
def crt_centred_float(residues, moduli, inv, inv_shoup, moduli_float, out):
    """Kernel of :meth:`CRTDecoder.to_float`."""
    k = residues.shape[0]
    n = residues.shape[1]
    for j in prange(n):
        x = np.empty(k, dtype=np.uint64)
        neg = np.empty(k, dtype=np.uint64)
        dx = np.empty(k, dtype=np.uint64)
        dn = np.empty(k, dtype=np.uint64)
        for i in range(k):
            x[i] = residues[i, j]
            neg[i] = moduli[i] - x[i] if x[i] != ZERO else ZERO
        _mixed_radix(x, moduli, inv, inv_shoup, dx)
        _mixed_radix(neg, moduli, inv, inv_shoup, dn)
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
