"""ModRaise: lift a level-0 ciphertext to the top of the modulus chain, and the sparse-packing trace.

**ModRaise.**  A ciphertext (c_0, c_1) at level 0 decrypts to
m = c_0 + c_1 s mod q_0.  Read the residues of c_0 and c_1 as integers in
(-q_0/2, q_0/2] and reduce them modulo every prime of Q_L: the same pair is
now a ciphertext at level L with

    c_0 + c_1 s = m + q_0 I   (mod Q_L),

where I is an integer polynomial with |I_i| <= (||s||_1 + 1) / 2: each
coefficient of c_1 s is a sum of h terms of size at most q_0/2 (h the Hamming
weight of s), and in practice I_i is a sum of h + 1 nearly uniform values in
[-1/2, 1/2], so |I_i| stays within 6 standard deviations, 6 sqrt((h + 1)/12).
That is why bootstrapping wants a sparse secret: a small h keeps the range
[-K, K] of the EvalMod input y = t / q_0 small, and the polynomial that
removes q_0 I cheap.  Costs no level and no key; the scale is unchanged
(the caller relabels it, see `ckks.circuits.bootstrapping.bootstrapper`).

**Trace (sparse packing).**  With n < N/2 slots the message lives in the
subring Z[Y], Y = X^(N/(2n)), but q_0 I does not.  The sum of the
automorphisms X -> X^g over the subgroup H = {g = 1 mod 4n} of (Z/2NZ)^*,
which are the rotations by multiples of n,

    Tr(t) = sum_(k < N/2n) rot_(k n)(t),   computed as t <- t + rot_(n 2^i)(t), i < log2(N/2n),

keeps the monomials X^i with (N/2n) | i (times N/2n) and kills all others.
The slots become n-periodic: slot j holds the sum of the slots j, j + n,
j + 2n, ... of the input.  Costs log2(N/2n) rotations, no level; the factor
N/2n is absorbed into the scale.
"""

from __future__ import annotations

import numpy as np

from ckks.errors import InputError
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.parameters import Parameters
from ckks.scheme.rotation import Rotator

__all__ = ["mod_raise", "trace_steps", "sparse_trace", "multiply_by_i"]


def mod_raise(ct: Ciphertext, params: Parameters, evaluator: Evaluator) -> Ciphertext:
    """The ciphertext of t = m + q_0 I at the top level L (NTT form), same scale.

    Args:
        ct: a size-2 ciphertext at any level (it is first switched down to level 0).
        params: the parameters (the target level is ``params.max_level``).
        evaluator: to switch ``ct`` down to level 0.

    Returns:
        A ciphertext at level L whose decryption is m + q_0 I (mod Q_L).

    Raises:
        InputError: ``ct`` is not of size 2 (relinearize it first).
    """
    if ct.size != 2:
        raise InputError(f"bootstrapping takes a ciphertext of size 2 (relinearize first), got size {ct.size}")
    if ct.level > 0:
        ct = evaluator.mod_switch_to(ct, 0)
    q0 = params.data_moduli[0]
    bottom = params.at_level(0)
    top = params.at_level(params.max_level)
    out = np.empty((2, params.max_level + 1, params.poly_degree), dtype=np.uint64)
    for k in range(2):
        values = bottom.to_coefficients(np.ascontiguousarray(ct.data[k]))[0].astype(np.int64)
        values = np.where(values > q0 // 2, values - q0, values)
        out[k] = top.from_signed(values)
    return Ciphertext(params, out, ct.scale, ct.key_id)


def trace_steps(slots: int, sparse_slots: int) -> list[int]:
    """Rotation steps of the sparse trace: n 2^i for n 2^i < N/2.

    Args:
        slots: N/2.
        sparse_slots: n, a power of two dividing N/2.

    Returns:
        The steps, smallest first (empty for full packing).
    """
    steps = []
    step = sparse_slots
    while step < slots:
        steps.append(step)
        step *= 2
    return steps


def sparse_trace(ct: Ciphertext, sparse_slots: int, evaluator: Evaluator, rotator: Rotator) -> Ciphertext:
    """Tr(t) = sum_(k < N/2n) rot_(k n)(t) by log2(N/2n) rotate-and-add steps.

    Level and scale unchanged; the values are multiplied by N/2n on the
    sparse coefficients (n-periodic slots, see the module docstring).

    Args:
        ct: the ciphertext after ModRaise.
        sparse_slots: n.
        evaluator: adds.
        rotator: rotates (keys for `trace_steps`).

    Returns:
        The traced ciphertext.

    Raises:
        KeyMissingError: a trace rotation key is missing.
    """
    for step in trace_steps(ct.params.slots, sparse_slots):
        ct = evaluator.add(ct, rotator.rotate(ct, step))
    return ct


def multiply_by_i(ct: Ciphertext, sign: int = 1) -> Ciphertext:
    """sign * i * (every slot): multiplication by the monomial sign * X^(N/2). Exact; no level, same scale.

    Slot j is m(zeta^(5^j)) and (zeta^(5^j))^(N/2) = i^(5^j) = i, so the
    monomial X^(N/2) multiplies every slot by i.  In NTT form this is a
    pointwise product with the NTT of sign * X^(N/2).

    Args:
        ct: any ciphertext.
        sign: +1 (times i) or -1 (times -i).

    Returns:
        A new ciphertext.
    """
    params = ct.params
    ring = params.at_level(ct.level)
    monomial = np.zeros(params.poly_degree, dtype=np.int64)
    monomial[params.poly_degree // 2] = 1 if sign > 0 else -1
    factor = ring.from_signed(monomial)
    out = np.empty_like(ct.data)
    for k in range(ct.size):
        ring.mul(np.ascontiguousarray(ct.data[k]), factor, out[k])
    return Ciphertext(params, out, ct.scale, ct.key_id)
