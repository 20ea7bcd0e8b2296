"""Hybrid key switching (Han and Ki, CT-RSA 2020; the form SEAL uses).

Given a polynomial d at level l (NTT form over Q_l = q_0 .. q_l) and a
key-switching key from s' to s, produce (c_0, c_1) over Q_l with
c_0 + c_1 s = d s' + e_ks (mod Q_l).  Three steps:

1. **Decompose and mod-up.**  Split the primes of Q_l into the digits D_j of
   the key (restricted to level l).  Digit j is d mod D_j; fast basis
   conversion extends it from D_j to every other prime of Q_l * P.  The
   conversion is off by a multiple u * D_j, which the gadget factor of the
   key annihilates, so this step is exact for the final result.
2. **Inner product** with the key over Q_l * P:
   (sum_j d_j b_j, sum_j d_j a_j), accumulated in 128 bits and reduced once.
3. **Mod-down**: divide by P with rounding (:class:`ckks.ring.rns.RNSDivider`).
   The key-switching error is e_ks ~ sum_j d_j e_j / P + rounding, small when
   P is at least as large as every digit.

Step 1 is independent of the key, so many key switches of the same d
(hoisted rotations) can share one decomposition.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit, prange

from ckks.errors import ParameterError
from ckks.ring.modarith import ONE, ZERO, barrett_reduce_wide, mul_wide, serial_when_small
from ckks.ring.rns import BasisConverter
from ckks.scheme.parameters import Parameters

MAX_DIGITS = 60  # 128-bit accumulation of up to 60 products of 61-bit residues


class KeySwitcher:
    """Decomposition, inner product and mod-down of hybrid key switching."""

    def __init__(self, params: Parameters):
        if len(params.digits) > MAX_DIGITS:
            raise ParameterError(
                f"{len(params.digits)} key-switching digits exceed the supported {MAX_DIGITS}; set dnum lower"
            )
        self.params = params

    def extended_rows(self, level: int) -> np.ndarray:
        """Table rows of the extended basis Q_level * P: q_0 .. q_level, then the special primes."""
        return np.concatenate([self.params.level_rows(level), self.params.special_rows()])

    @cache  # noqa: B019 - per-instance cache of per-level precomputation
    def _digit_plan(self, level: int) -> list[tuple[np.ndarray, BasisConverter, np.ndarray, np.ndarray]]:
        """For each digit present at ``level``: its positions, the converter to the other
        primes, where those primes sit in the extended basis, and NTT rows that skip the digit."""
        params = self.params
        rows = self.extended_rows(level)
        moduli = [params.all_moduli[r] for r in rows]
        plan = []
        for digit in params.digits:
            own = np.array([i for i in digit if i <= level], dtype=np.int64)
            if own.size == 0:
                break
            others = np.array([p for p in range(len(rows)) if p not in set(own.tolist())], dtype=np.int64)
            converter = BasisConverter([moduli[p] for p in own], [moduli[p] for p in others])
            ntt_rows = rows.copy()
            ntt_rows[own] = -1
            plan.append((own, converter, others, ntt_rows))
        return plan

    def decompose(self, d: np.ndarray) -> np.ndarray:
        """Step 1: the digits of d (level l, NTT form), each extended to Q_l * P, NTT form.

        Returns shape (digits, l + 1 + alpha, N).
        """
        params = self.params
        level = d.shape[0] - 1
        plan = self._digit_plan(level)
        coefficients = params.tables.inverse(d.copy(), params.level_rows(level))
        extended = np.empty((len(plan), level + 1 + params.special_count, params.poly_degree), dtype=np.uint64)
        for j, (own, converter, others, ntt_rows) in enumerate(plan):
            converter.convert(coefficients[own], out=extended[j], out_rows=others)
            params.tables.forward(extended[j], ntt_rows)
            extended[j, own] = d[own]
        return extended

    def inner_product(self, extended: np.ndarray, key_data: np.ndarray) -> np.ndarray:
        """Step 2: sum_j digit_j * ksk_j over Q_l * P, shape (2, l + 1 + alpha, N)."""
        params = self.params
        level = extended.shape[1] - 1 - params.special_count
        rows = self.extended_rows(level)
        out = np.empty((2, len(rows), params.poly_degree), dtype=np.uint64)
        key_inner_product(extended, key_data, rows, params.moduli_array, params.ratios, out)
        return out

    def mod_down(self, accumulated: np.ndarray) -> np.ndarray:
        """Step 3: divide both polynomials by P with rounding -> shape (2, l + 1, N)."""
        params = self.params
        level = accumulated.shape[1] - 1 - params.special_count
        divider = params.mod_down(level)
        return np.stack([divider.divide(accumulated[0]), divider.divide(accumulated[1])])

    def switch(self, d: np.ndarray, key_data: np.ndarray) -> np.ndarray:
        """(c_0, c_1) with c_0 + c_1 s = d s' + small error, for the key from s' to s."""
        return self.mod_down(self.inner_product(self.decompose(d), key_data))


@serial_when_small
@njit(parallel=True, cache=True)
def key_inner_product(extended, key, rows, moduli, ratios, out):
    """out[c, r] = sum_j extended[j, r] * key[j, c, rows[r]] mod q_rows[r].

    Products are summed exactly in 128 bits (one (high, low) pair of words per
    coefficient) and reduced once at the end; digits form the outer loop so
    that every inner loop streams through contiguous rows.
    """
    digits = extended.shape[0]
    n = extended.shape[2]
    for r in prange(extended.shape[1]):
        kr = rows[r]
        high0 = np.zeros(n, dtype=np.uint64)
        low0 = np.zeros(n, dtype=np.uint64)
        high1 = np.zeros(n, dtype=np.uint64)
        low1 = np.zeros(n, dtype=np.uint64)
        for d in range(digits):
            x_row = extended[d, r]
            b_row = key[d, 0, kr]
            a_row = key[d, 1, kr]
            for j in range(n):
                x = x_row[j]
                h, lo = mul_wide(x, b_row[j])
                s = low0[j] + lo
                high0[j] += h + (ONE if s < lo else ZERO)
                low0[j] = s
                h, lo = mul_wide(x, a_row[j])
                s = low1[j] + lo
                high1[j] += h + (ONE if s < lo else ZERO)
                low1[j] = s
        q = moduli[kr]
        rh = ratios[kr, 0]
        rl = ratios[kr, 1]
        for j in range(n):
            out[0, r, j] = barrett_reduce_wide(high0[j], low0[j], q, rh, rl)
            out[1, r, j] = barrett_reduce_wide(high1[j], low1[j], q, rh, rl)
    return out
