"""SlotsToCoeffs: put the reduced coefficients back into the polynomial (the special DFT).

EvalMod leaves m / Delta (the coefficients of the message, in
bit-reversed order P) in the slots.  SlotsToCoeffs applies

    F = S_(log n) ... S_2 S_1,   F P = V,

merged into ``levels`` groups (the first applied holds the smallest
strides), so the slots become V w = z, the original values.

* Full packing: the input is the complex ciphertext Re + i Im (assembled
  from the two EvalMod outputs with an exact multiplication by i).
* Sparse packing: the input is real with period 2n, Re(w) in [0, n) and
  Im(w) in [n, 2n).  The first group is composed with
  T = d_0 + d_n rot_n, (T x)_j = x_j + i x_(j+n) for (j mod 2n) < n and
  x_(j-n) + i x_j otherwise, which rebuilds the n-periodic complex w; the
  last group is multiplied by (S/n) 1[j < n], so the result has zeros
  beyond the n slots (no extra level).  The factor S/n undoes the trace's
  averaging: for an input with values in its first n slots and zeros
  elsewhere (the library's packing) the trace leaves a sparse message of
  n/S times the values, and SlotsToCoeffs returns the values themselves;
  in general slot j < n of the result is the sum of the input slots
  j, j + n, j + 2n, ...

Levels: ``levels``.  Scales: chosen by the caller for each group; the
bootstrapper ends on the default scale Delta.
"""

from __future__ import annotations

import numpy as np

from ckks.circuits.bootstrapping.coeffs_to_slots import _check_slots
from ckks.circuits.bootstrapping.dft import SlotMatrix, butterfly_stage, split_stages, stage_matrix

__all__ = ["slots_to_coeffs_matrices", "combine_matrix"]


def combine_matrix(sparse_slots: int, slots: int) -> SlotMatrix:
    """T of the module docstring: real period-2n slots [Re w, Im w] -> the n-periodic complex w."""
    n = sparse_slots
    j = np.arange(slots)
    low = j % (2 * n) < n
    out = SlotMatrix(slots, 2 * n)
    out.add(0, np.where(low, 1.0 + 0j, 1j))
    out.add(n, np.where(low, 1j, 1.0 + 0j))
    return out


def slots_to_coeffs_matrices(
    sparse_slots: int, slots: int, levels: int, split: tuple[int, ...] | None = None
) -> list[SlotMatrix]:
    """The SlotsToCoeffs groups, in the order they are applied.

    Args:
        sparse_slots: n (N/2 for full packing, at most N/4 for sparse packing).
        slots: S = N/2.
        levels: how many groups (levels).
        split: stage counts of the groups in the order they are applied (None: as even as possible,
            larger groups first; `ckks.circuits.bootstrapping.dft.split_stages`).

    Returns:
        One `SlotMatrix` per level.

    Raises:
        InputError: bad ``sparse_slots``, ``levels`` or ``split``.
    """
    n = _check_slots(sparse_slots, slots)
    stages = n.bit_length() - 1
    groups = []
    start = 1
    for size in split_stages(stages, levels, split):
        product = None
        for stage in range(start, start + size):
            m = stage_matrix(butterfly_stage(n, stage), n, slots)
            product = m if product is None else m @ product
        groups.append(product)
        start += size
    if n < slots:
        groups[0] = groups[0] @ combine_matrix(n, slots)
        groups[-1] = groups[-1].scaled_rows(np.where(np.arange(slots) < n, slots / n, 0.0).astype(np.complex128))
    return groups
