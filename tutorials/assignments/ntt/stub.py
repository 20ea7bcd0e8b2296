"""Assignment: the negacyclic NTT over Z_q[X]/(X^N + 1). Fill in ntt, intt and multiply."""

from __future__ import annotations


def ntt(a: list[int], q: int, psi: int) -> list[int]:
    """[a(psi^(2*brv(k)+1)) mod q for k in range(N)], in O(N log N)."""
    raise NotImplementedError("ntt: your code here")


def intt(values: list[int], q: int, psi: int) -> list[int]:
    """The coefficients a with ntt(a, q, psi) == values."""
    raise NotImplementedError("intt: your code here")


def multiply(a: list[int], b: list[int], q: int, psi: int) -> list[int]:
    """The negacyclic product a * b mod (X^N + 1, q), computed with the NTT."""
    raise NotImplementedError("multiply: your code here")
