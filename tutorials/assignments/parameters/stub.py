"""Assignment: choose secure CKKS parameters for a circuit, and measure precision."""

from __future__ import annotations


def precision_bits(got, want) -> float:
    """-log2 of the largest absolute error (inf when there is none)."""
    raise NotImplementedError("precision_bits: your code here")


def max_depth(poly_degree: int, scale_bits: int, integer_bits: int) -> int:
    """The largest depth whose chain fits the 128-bit bound of poly_degree."""
    raise NotImplementedError("max_depth: your code here")


def choose_parameters(depth: int, scale_bits: int, integer_bits: int) -> dict:
    """{"poly_degree": N, "moduli_bits": [...], "scale_bits": scale_bits} with the smallest secure N."""
    raise NotImplementedError("choose_parameters: your code here")
