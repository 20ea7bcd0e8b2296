"""Reference solution: exact RNS rescaling by the last prime, with rounding.

round(x / q_l) = (x + h - [x + h]_{q_l}) / q_l with h = floor(q_l / 2): the remainder
r = [x + h]_{q_l} is read off the last row, and for every other prime q_i

    round(x / q_l) = (x_i + h - r) * q_l^-1   (mod q_i),

an exact division, because x + h - r is a multiple of q_l.  This is SEAL's
divide_and_round_q_last and ckks.ring.rns.RNSDivider with one dropped prime.
"""

from __future__ import annotations

import numpy as np


def to_rns(values: list[int], moduli: list[int]) -> np.ndarray:
    """Residues of the integers (possibly negative) mod each prime."""
    return np.array([[int(v) % int(q) for v in values] for q in moduli], dtype=np.uint64)


def from_rns(residues: np.ndarray, moduli: list[int]) -> list[int]:
    """Centred integers by the CRT: x = sum_i [x_i (Q/q_i)^-1]_{q_i} (Q/q_i) mod Q."""
    big_q = 1
    for q in moduli:
        big_q *= int(q)
    out = []
    for j in range(residues.shape[1]):
        x = 0
        for i, q in enumerate(moduli):
            q = int(q)
            hat = big_q // q
            x += int(residues[i, j]) * pow(hat, -1, q) % q * hat
        x %= big_q
        out.append(x - big_q if x > big_q // 2 else x)
    return out


def rescale(residues: np.ndarray, moduli: list[int]) -> np.ndarray:
    """Residues of round(x / q_last) mod the other primes, row by row."""
    q_last = int(moduli[-1])
    half = q_last // 2
    remainder = [(int(v) + half) % q_last for v in residues[-1]]
    out = np.empty((len(moduli) - 1, residues.shape[1]), dtype=np.uint64)
    for i, q in enumerate(moduli[:-1]):
        q = int(q)
        inverse = pow(q_last, -1, q)
        out[i] = [(int(v) + half - r) * inverse % q for v, r in zip(residues[i], remainder)]
    return out
