"""Assignment: exact RNS rescaling. Fill in to_rns, from_rns and rescale."""

from __future__ import annotations

import numpy as np


def to_rns(values: list[int], moduli: list[int]) -> np.ndarray:
    """Residues of the integers (possibly negative) mod each prime, uint64 array (len(moduli), N)."""
    raise NotImplementedError("to_rns: your code here")


def from_rns(residues: np.ndarray, moduli: list[int]) -> list[int]:
    """The centred integers x in (-Q/2, Q/2] with the given residues (Chinese remainder theorem)."""
    raise NotImplementedError("from_rns: your code here")


def rescale(residues: np.ndarray, moduli: list[int]) -> np.ndarray:
    """Residues of round(x / q_last) mod q_0 .. q_{l-1}: uint64 array (len(moduli) - 1, N), without rebuilding x."""
    raise NotImplementedError("rescale: your code here")
