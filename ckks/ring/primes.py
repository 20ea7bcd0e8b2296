"""NTT-friendly primes and primitive roots of unity.

CKKS over R_Q = Z_Q[X]/(X^N + 1) in RNS form needs primes q with
q = 1 (mod 2N): then Z_q contains a primitive 2N-th root of unity psi, and the
negacyclic NTT of length N exists (psi^N = -1).

`coeff_modulus` chooses primes exactly as Microsoft SEAL's
``CoeffModulus::Create`` does, so that the same ``poly_degree`` and
``moduli_bits`` give the same modulus Q in both libraries:

* for each distinct bit size b, list the primes q = 1 (mod 2N) with
  2^(b-1) < q < 2^b, from the largest down, as many as b occurs;
* walk ``moduli_bits`` left to right; each entry takes the *smallest* prime
  not yet used from its size's list (SEAL pops from the back of the list).
"""

from __future__ import annotations

from collections import Counter

import sympy

from ckks.errors import ParameterError

MAX_PRIME_BITS = 61
MIN_PRIME_BITS = 2


def is_prime(n: int) -> bool:
    """Deterministic primality test (sympy's BPSW, exact for 64-bit inputs).

    Args:
        n: the integer.

    Returns:
        Whether ``n`` is prime.
    """
    return bool(sympy.isprime(int(n)))


def primes_congruent_one(bit_size: int, modulus: int, count: int) -> list[int]:
    """The ``count`` largest primes q < 2^bit_size with q = 1 (mod ``modulus``).

    Args:
        bit_size: the size b of the primes: 2^(b-1) < q < 2^b.
        modulus: the congruence modulus (2N for NTT primes).
        count: how many primes.

    Returns:
        The primes, from the largest down.

    Raises:
        ParameterError: ``bit_size`` is outside [2, 61], or fewer than ``count`` such primes
            lie above 2^(bit_size - 1).
    """
    if not MIN_PRIME_BITS <= bit_size <= MAX_PRIME_BITS:
        raise ParameterError(
            f"prime bit size {bit_size} is out of range: each entry of moduli_bits "
            f"must be between {MIN_PRIME_BITS} and {MAX_PRIME_BITS}"
        )
    value = ((1 << bit_size) - 1) // modulus * modulus + 1
    lower_bound = 1 << (bit_size - 1)
    found: list[int] = []
    while len(found) < count and value > lower_bound:
        if is_prime(value):
            found.append(value)
        value -= modulus
    if len(found) < count:
        raise ParameterError(
            f"there are only {len(found)} primes of {bit_size} bits that are 1 mod {modulus}, "
            f"but moduli_bits asks for {count}: use larger bit sizes or a smaller poly_degree"
        )
    return found


def coeff_modulus(poly_degree: int, moduli_bits: list[int]) -> list[int]:
    """Primes for ``moduli_bits``, chosen and ordered as SEAL's CoeffModulus::Create.

    Every prime is 1 mod 2N and all are distinct.

    Args:
        poly_degree: N.
        moduli_bits: the bit size of each prime.

    Returns:
        The primes, in the order of ``moduli_bits``.

    Raises:
        ParameterError: a size is outside [2, 61], or there are not enough primes of a size.
    """
    counts = Counter(moduli_bits)
    pools = {bits: primes_congruent_one(bits, 2 * poly_degree, n) for bits, n in counts.items()}
    return [pools[bits].pop() for bits in moduli_bits]


def primitive_root_of_unity(order: int, q: int) -> int:
    """The smallest primitive ``order``-th root of unity mod the prime q.

    ``order`` must be a power of two dividing q - 1.  x = g^((q-1)/order) for
    a generator g is a primitive root exactly when x^(order/2) = -1 mod q.

    Args:
        order: a power of two (2N for the negacyclic NTT).
        q: the prime.

    Returns:
        The smallest psi with psi^order = 1 and psi^(order/2) = -1 mod q.

    Raises:
        ParameterError: ``order`` does not divide q - 1.
    """
    if (q - 1) % order != 0:
        raise ParameterError(f"{order} does not divide q - 1 for q = {q}: no such root exists")
    cofactor = (q - 1) // order
    candidates = []
    for g in range(2, q):
        x = pow(g, cofactor, q)
        if pow(x, order // 2, q) == q - 1:
            candidates.append(x)
            break
    root = candidates[0]
    # The primitive roots are root^k for odd k; return the smallest one so the
    # choice is canonical (independent of which generator was found first).
    smallest = root
    square = root * root % q
    current = root
    for _ in range(order // 2 - 1):
        current = current * square % q
        smallest = min(smallest, current)
    return smallest
