"""Plain-Python reference versions of the numba kernels.

Slow, obviously correct, and written straight from the definitions with
Python's arbitrary-precision integers.  The tests compare every kernel in
:mod:`ckks.ring.modarith`, :mod:`ckks.ring.ntt` and :mod:`ckks.ring.rns` against these on
random inputs; the tutorials print them side by side with the kernels.
"""

from __future__ import annotations

import numpy as np


def mul_mod(a: int, b: int, q: int) -> int:
    """a*b mod q."""
    return int(a) * int(b) % int(q)


def negacyclic_product(a: list[int], b: list[int], q: int) -> list[int]:
    """Schoolbook product in Z_q[X]/(X^N + 1): X^N wraps around to -1."""
    n = len(a)
    out = [0] * n
    for i in range(n):
        for j in range(n):
            k = i + j
            term = int(a[i]) * int(b[j])
            if k < n:
                out[k] += term
            else:
                out[k - n] -= term
    return [x % q for x in out]


def _brv(k: int, bits: int) -> int:
    return int(format(k, f"0{bits}b")[::-1], 2) if bits else 0


def ntt(a: list[int], q: int, psi: int) -> list[int]:
    """NTT(a)[k] = a(psi^(2*brv(k)+1)) mod q, evaluated directly (O(N^2))."""
    n = len(a)
    bits = n.bit_length() - 1
    out = []
    for k in range(n):
        root = pow(psi, 2 * _brv(k, bits) + 1, q)
        acc = 0
        power = 1
        for coeff in a:
            acc += int(coeff) * power
            power = power * root % q
        out.append(acc % q)
    return out


def intt(values: list[int], q: int, psi: int) -> list[int]:
    """Inverse of :func:`ntt`: a_i = N^-1 * sum_k v_k * root_k^-i."""
    n = len(values)
    bits = n.bit_length() - 1
    n_inv = pow(n, -1, q)
    out = [0] * n
    for k in range(n):
        root_inv = pow(pow(psi, 2 * _brv(k, bits) + 1, q), -1, q)
        power = 1
        for i in range(n):
            out[i] += int(values[k]) * power
            power = power * root_inv % q
    return [x * n_inv % q for x in out]


def crt_reconstruct(residues: np.ndarray, moduli: list[int]) -> list[int]:
    """The integers x in [0, Q) with x = residues[i] mod q_i (Chinese remainder theorem)."""
    big_q = 1
    for q in moduli:
        big_q *= int(q)
    result = [0] * residues.shape[1]
    for i, q in enumerate(moduli):
        q = int(q)
        hat = big_q // q
        factor = hat * pow(hat, -1, q)
        for j in range(residues.shape[1]):
            result[j] += int(residues[i, j]) * factor
    return [x % big_q for x in result]


def centre(x: int, modulus: int) -> int:
    """The representative of x mod modulus in (-modulus/2, modulus/2]."""
    x %= modulus
    return x - modulus if x > modulus // 2 else x


def basis_convert(residues: np.ndarray, from_moduli: list[int], to_moduli: list[int]) -> np.ndarray:
    """Fast basis conversion as defined by Bajard et al. (2016), computed exactly.

    y_t = sum_i [x_i * (B/b_i)^-1]_{b_i} * (B/b_i)  mod c_t,
    which equals x + u*B mod c_t for some 0 <= u < len(from_moduli).
    """
    big_b = 1
    for b in from_moduli:
        big_b *= int(b)
    out = np.zeros((len(to_moduli), residues.shape[1]), dtype=np.uint64)
    for j in range(residues.shape[1]):
        total = 0
        for i, b in enumerate(from_moduli):
            b = int(b)
            hat = big_b // b
            total += (int(residues[i, j]) * pow(hat, -1, b) % b) * hat
        for t, c in enumerate(to_moduli):
            out[t, j] = total % int(c)
    return out


def automorphism(a: list[int], g: int, q: int) -> list[int]:
    """sigma_g(a)(X) = a(X^g) in Z_q[X]/(X^N + 1), g odd: a_i moves to X^(i*g mod 2N) = +-X^(i*g mod N)."""
    n = len(a)
    out = [0] * n
    for i, coeff in enumerate(a):
        e = i * g % (2 * n)
        if e < n:
            out[e] = (out[e] + int(coeff)) % q
        else:
            out[e - n] = (out[e - n] - int(coeff)) % q
    return out
