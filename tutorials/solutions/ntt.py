"""Reference solution: iterative negacyclic NTT (Cooley-Tukey forward, Gentleman-Sande inverse).

Twiddles are psi^brv(j) for j < N, so that stage m (m = 1, 2, 4, ..., N/2) uses
psi^brv(m + i) for its i-th block: the merged form of Poppelmann-Oder-Guneysu, where the
negacyclic pre-twist by psi^i is folded into the butterflies and the output comes out in
bit-reversed order: ntt(a)[k] = a(psi^(2 brv(k) + 1)).
"""

from __future__ import annotations


def _brv(k: int, bits: int) -> int:
    out = 0
    for _ in range(bits):
        out = (out << 1) | (k & 1)
        k >>= 1
    return out


def _twiddles(n: int, q: int, root: int) -> list[int]:
    bits = n.bit_length() - 1
    powers = [1] * n
    for i in range(1, n):
        powers[i] = powers[i - 1] * root % q
    return [powers[_brv(j, bits)] for j in range(n)]


def ntt(a: list[int], q: int, psi: int) -> list[int]:
    """[a(psi^(2*brv(k)+1)) mod q for k in range(N)], O(N log N)."""
    n = len(a)
    w = _twiddles(n, q, psi)
    a = [int(x) % q for x in a]
    t, m = n, 1
    while m < n:
        t //= 2
        for i in range(m):
            s = w[m + i]
            j1 = 2 * i * t
            for j in range(j1, j1 + t):
                u, v = a[j], a[j + t] * s % q
                a[j], a[j + t] = (u + v) % q, (u - v) % q
        m *= 2
    return a


def intt(values: list[int], q: int, psi: int) -> list[int]:
    """Inverse of ntt: Gentleman-Sande butterflies with psi^-1, then multiply by N^-1."""
    n = len(values)
    w = _twiddles(n, q, pow(psi, -1, q))
    a = [int(x) % q for x in values]
    t, m = 1, n
    while m > 1:
        h = m // 2
        j1 = 0
        for i in range(h):
            s = w[h + i]
            for j in range(j1, j1 + t):
                u, v = a[j], a[j + t]
                a[j], a[j + t] = (u + v) % q, (u - v) * s % q
            j1 += 2 * t
        t *= 2
        m = h
    n_inv = pow(n, -1, q)
    return [x * n_inv % q for x in a]


def multiply(a: list[int], b: list[int], q: int, psi: int) -> list[int]:
    """Negacyclic a * b: pointwise product in NTT form."""
    fa, fb = ntt(a, q, psi), ntt(b, q, psi)
    return intt([x * y % q for x, y in zip(fa, fb)], q, psi)
