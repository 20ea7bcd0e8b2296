"""Plain-Python reference versions of the numba kernels.

Slow, obviously correct, and written straight from the definitions with
Python's arbitrary-precision integers.  The tests compare every kernel in
`ckks.ring.modarith`, `ckks.ring.ntt` and `ckks.ring.rns` against these on
random inputs; the tutorials print them side by side with the kernels.
"""

from __future__ import annotations

import numpy as np


def mul_mod(a: int, b: int, q: int) -> int:
    """a*b mod q.

    Args:
        a: an integer.
        b: an integer.
        q: the modulus.

    Returns:
        a*b mod q in [0, q).
    """
    return int(a) * int(b) % int(q)


def negacyclic_product(a: list[int], b: list[int], q: int) -> list[int]:
    """Schoolbook product in Z_q[X]/(X^N + 1): X^N wraps around to -1.

    Args:
        a: N coefficients.
        b: N coefficients.
        q: the modulus.

    Returns:
        The N coefficients of a*b mod (X^N + 1, q).
    """
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
    """NTT(a)[k] = a(psi^(2*brv(k)+1)) mod q, evaluated directly (O(N^2)).

    Args:
        a: N coefficients mod q.
        q: the prime.
        psi: a primitive 2N-th root of unity mod q.

    Returns:
        The N values, bit-reversed order.
    """
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
    """Inverse of `ntt`: a_i = N^-1 * sum_k v_k * root_k^-i.

    Args:
        values: N values (output of `ntt`).
        q: the prime.
        psi: the root `ntt` used.

    Returns:
        The N coefficients in [0, q).
    """
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
    """The integers x in [0, Q) with x = residues[i] mod q_i (Chinese remainder theorem).

    Args:
        residues: array (limbs, N) of residues.
        moduli: the pairwise coprime moduli.

    Returns:
        N Python integers in [0, Q).
    """
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
    """The representative of x mod modulus in (-modulus/2, modulus/2].

    Args:
        x: an integer.
        modulus: the modulus.

    Returns:
        The centred representative.
    """
    x %= modulus
    return x - modulus if x > modulus // 2 else x


def basis_convert(
    residues: np.ndarray, from_moduli: list[int], to_moduli: list[int], centred: bool = False
) -> np.ndarray:
    """Fast basis conversion as defined by Bajard et al. (2016), computed exactly.

    y_t = sum_i [x_i * (B/b_i)^-1]_{b_i} * (B/b_i)  mod c_t,
    which equals x + u*B mod c_t for some 0 <= u < len(from_moduli).  With
    ``centred=True`` each term [.]_{b_i} is taken in (-b_i/2, b_i/2] instead
    of [0, b_i), so |u| <= len(from_moduli)/2 and the result averages zero
    (the key-switching mod-up lifts its digits this way).

    Args:
        residues: array (|B|, N), residues mod the b_i.
        from_moduli: the primes b_i of B.
        to_moduli: the primes c_t.
        centred: take each term's representative centred on zero.

    Returns:
        uint64 array (|C|, N).
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
            v = int(residues[i, j]) * pow(hat, -1, b) % b
            total += (v - b if centred and v > b // 2 else v) * hat
        for t, c in enumerate(to_moduli):
            out[t, j] = total % int(c)
    return out


def automorphism(a: list[int], g: int, q: int) -> list[int]:
    """sigma_g(a)(X) = a(X^g) in Z_q[X]/(X^N + 1), g odd: a_i moves to X^(i*g mod 2N) = +-X^(i*g mod N).

    Args:
        a: N coefficients.
        g: the Galois element, odd.
        q: the modulus.

    Returns:
        The N coefficients of a(X^g).
    """
    n = len(a)
    out = [0] * n
    for i, coeff in enumerate(a):
        e = i * g % (2 * n)
        if e < n:
            out[e] = (out[e] + int(coeff)) % q
        else:
            out[e - n] = (out[e - n] - int(coeff)) % q
    return out


def mul_high(a: int, b: int) -> int:
    """The high word floor(a*b / 2^64) of the 128-bit product of two words.

    Args:
        a: a word.
        b: a word.

    Returns:
        floor(a*b / 2^64).
    """
    return (int(a) * int(b)) >> 64


def key_inner_product(
    extended: np.ndarray, key: np.ndarray, key_rows: list[int], moduli: list[int], perm: np.ndarray | None = None
) -> np.ndarray:
    """The key-switching inner product, exactly.

    out[c, r, j] = sum_d x[d, r, perm[j]] * key[d, c, key_rows[r], j] mod q_r.

    Args:
        extended: array (digits, limbs, N), the decomposed digits.
        key: array (digits, 2, primes, N), the key.
        key_rows: the key's row of each limb.
        moduli: the prime of each limb.
        perm: an index map of the last axis (None: the identity).

    Returns:
        uint64 array (2, limbs, N).
    """
    digits, limbs, n = extended.shape
    index = range(n) if perm is None else [int(p) for p in perm]
    out = np.zeros((2, limbs, n), dtype=np.uint64)
    for c in range(2):
        for r in range(limbs):
            q = int(moduli[r])
            for j, src in enumerate(index):
                total = sum(int(extended[d, r, src]) * int(key[d, c, key_rows[r], j]) for d in range(digits))
                out[c, r, j] = total % q
    return out


def mod_up(coefficients: np.ndarray, digit: list[int], moduli: list[int], psis: list[int]) -> np.ndarray:
    """One digit of d extended to every prime and transformed: the reference of the fused mod-up kernel.

    Row t is ``ntt(basis_convert(coefficients[digit], ..., centred=True))`` for a prime
    outside the digit and ``ntt(coefficients[t])`` for a prime of the digit: the digit is
    lifted centred on zero, so that key-switching noise has no fixed (mean) component.

    Args:
        coefficients: array (l + 1, N), d in coefficient form mod the data primes (the first l + 1 of ``moduli``).
        digit: the data positions of the digit.
        moduli: every prime of the extended basis (data primes, then special primes).
        psis: a primitive 2N-th root of unity of each prime (as the NTT tables use).

    Returns:
        uint64 array (len(moduli), N) in NTT form.
    """
    source = [int(moduli[i]) for i in digit]
    converted = basis_convert(coefficients[digit], source, [int(q) for q in moduli], centred=True)
    out = np.zeros((len(moduli), coefficients.shape[1]), dtype=np.uint64)
    for t, q in enumerate(moduli):
        row = coefficients[t] if t in digit else converted[t]
        out[t] = ntt([int(x) for x in row], int(q), int(psis[t]))
    return out


def permuted_add(a: np.ndarray, perm: np.ndarray, b: np.ndarray, moduli: list[int]) -> np.ndarray:
    """out[i, j] = a[i, perm[j]] + b[i, j] mod q_i.

    Args:
        a: array (limbs, N).
        perm: the index map.
        b: array (limbs, N).
        moduli: the prime of each limb.

    Returns:
        uint64 array (limbs, N).
    """
    out = np.zeros(a.shape, dtype=np.uint64)
    for i, q in enumerate(moduli):
        for j, p in enumerate(perm):
            out[i, j] = (int(a[i, int(p)]) + int(b[i, j])) % int(q)
    return out
