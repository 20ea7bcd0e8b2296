"""CoeffsToSlots: move the coefficients of t = m + q_0 I into the slots (the inverse special DFT).

After ModRaise (and, with sparse packing, the trace) the ciphertext's n
slots hold z = V w / q_0 with w = t_lo + i t_hi (see
`ckks.circuits.bootstrapping.dft`).  CoeffsToSlots applies

    F^-1 = S_1^-1 S_2^-1 ... S_(log n)^-1,

the inverse butterfly stages, merged into ``levels`` groups (the first group
applied holds the largest strides), and returns P w / q_0: the
coefficients, in bit-reversed order, that EvalMod reduces slot by slot.

The last group applied also carries a diagonal output factor a, so that
one conjugation separates real and imaginary parts:

* full packing (n = N/2): a = 1/2, so ct + conj(ct) = Re(w) and
  -i (ct - conj(ct)) = Im(w), two real ciphertexts;
* sparse packing (2n <= N/2): a_j = 1/2 for (j mod 2n) < n and -i/2 otherwise,
  so ct + conj(ct) holds Re(w) in slots [0, n) and Im(w) in [n, 2n)
  (period 2n): one real ciphertext with all 2n coefficients.

Levels: ``levels`` (one per group), from the top level L down to L - levels.
Scales: chosen by the caller for each group (`ckks.circuits.bootstrapping.dft.apply_matrix`).
"""

from __future__ import annotations

import numpy as np

from ckks.circuits.bootstrapping.dft import SlotMatrix, inverse_butterfly_stage, split_stages, stage_matrix
from ckks.errors import InputError

__all__ = ["coeffs_to_slots_matrices", "output_factor"]


def output_factor(sparse_slots: int, slots: int) -> np.ndarray:
    """The factor a of the last CoeffsToSlots group (see the module docstring), length S."""
    if sparse_slots == slots:
        return np.full(slots, 0.5 + 0j)
    j = np.arange(slots)
    return np.where(j % (2 * sparse_slots) < sparse_slots, 0.5 + 0j, -0.5j)


def coeffs_to_slots_matrices(
    sparse_slots: int, slots: int, levels: int, split: tuple[int, ...] | None = None
) -> list[SlotMatrix]:
    """The CoeffsToSlots groups, in the order they are applied.

    Args:
        sparse_slots: n, a power of two with n = S or 2n <= S.
        slots: S = N/2.
        levels: how many groups (levels) to merge the log2(n) stages into.
        split: stage counts of the groups in the order they are applied (None: as even as possible,
            larger groups first; `ckks.circuits.bootstrapping.dft.split_stages`).

    Returns:
        One `SlotMatrix` per level; their product is a F^-1 (input period n).

    Raises:
        InputError: n is not a power of two in [2, S] with n = S or 2n <= S, or ``levels`` or ``split`` is out
            of range.
    """
    n = _check_slots(sparse_slots, slots)
    stages = n.bit_length() - 1
    order = list(range(stages, 0, -1))  # S_logn^-1 is applied first
    groups = []
    start = 0
    for size in split_stages(stages, levels, split):
        product = None
        for stage in order[start : start + size]:
            m = stage_matrix(inverse_butterfly_stage(n, stage), n, slots)
            product = m if product is None else m @ product
        groups.append(product)
        start += size
    groups[-1] = groups[-1].scaled_rows(output_factor(n, slots))
    return groups


def _check_slots(sparse_slots: int, slots: int) -> int:
    n = int(sparse_slots)
    if n < 2 or n & (n - 1) or n > slots or (n != slots and 2 * n > slots):
        raise InputError(
            f"bootstrapping slots must be a power of two, either N/2 = {slots} (full packing) or at most "
            f"N/4 = {slots // 2} (sparse packing), got {sparse_slots}"
        )
    return n
