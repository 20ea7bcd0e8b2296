"""The HomomorphicEncryption.org security standard: the largest modulus a ring degree allows.

Albrecht et al., "Homomorphic Encryption Security Standard" (2018), Table 1,
uniform ternary secrets, classical attacks: for each ring degree N and
security level lambda in {128, 192, 256} bits, the RLWE problem in
R_QP = Z_QP[X]/(X^N + 1) with error width 3.2 is estimated to cost at least
2^lambda operations as long as log2(Q*P) does not exceed the bound below.
The bit count is that of the product Q*P of every prime (data and special),
as SEAL counts it.

    N        128    192    256   (bits of Q*P)
    1024      27     19     14
    2048      54     37     29
    4096     109     75     58
    8192     218    152    118
    16384    438    305    237
    32768    881    611    476
    65536   1761      -      -

Sparse secrets.  The table above is for uniform ternary secrets; a sparse
secret of Hamming weight h is easier to attack (hybrid and combinatorial
attacks).  With ``security`` set, only the (N, h, log2(Q*P)) combinations
of `SPARSE_SECRET_BOUNDS` are accepted, each with its source.

Error width.  The standard's estimates assume a discrete Gaussian error of
width sigma = 3.2 (it requires sigma >= 3.19, i.e. 8 / sqrt(2 pi)); a narrower
error is refused with ``security`` set (`MIN_SECURE_SIGMA`).

May import: the standard library, `ckks.errors` and `ckks.validation` only.
"""

from __future__ import annotations

from ckks.errors import ParameterError, SecurityError
from ckks.validation import is_integer

__all__ = [
    "MAX_MODULUS_BITS",
    "MIN_SECURE_POLY_DEGREE",
    "SECURITY_LEVELS",
    "MIN_SECURE_SIGMA",
    "SPARSE_SECRET_BOUNDS",
    "check_modulus_bits",
    "check_sparse_secret",
    "check_security_level",
    "max_modulus_bits",
]

#: Largest log2(Q*P) for each security level and N (HomomorphicEncryption.org
#: standard, uniform ternary secret, classical attacks).
MAX_MODULUS_BITS: dict[int, dict[int, int]] = {
    128: {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881, 65536: 1761},
    192: {1024: 19, 2048: 37, 4096: 75, 8192: 152, 16384: 305, 32768: 611},
    256: {1024: 14, 2048: 29, 4096: 58, 8192: 118, 16384: 237, 32768: 476},
}

#: Smallest error width the standard's tables cover (8 / sqrt(2 pi), the standard's "sigma ~ 3.2").
MIN_SECURE_SIGMA = 3.19

#: Sparse ternary secrets with a cited 128-bit estimate: (N, h) -> largest log2(Q*P).
#: N = 2^16, h = 192, log2(QP) <= 1546: Bossuat, Mouchet, Troncoso-Pastoriza and Hubaux,
#: "Efficient Bootstrapping for Approximate Homomorphic Encryption with Non-Sparse Keys",
#: Eurocrypt 2021, and Lattigo's default bootstrapping parameter set N16QP1546H192H32
#: (estimated with the lattice estimator, hybrid attacks included).
SPARSE_SECRET_BOUNDS: dict[tuple[int, int], int] = {(65536, 192): 1546}

#: The security levels the table covers, in bits.
SECURITY_LEVELS: tuple[int, ...] = tuple(MAX_MODULUS_BITS)

#: The smallest ring degree the standard gives any security for.
MIN_SECURE_POLY_DEGREE = 1024


def check_security_level(security: object) -> int | None:
    """``security`` if it is a level of the standard (128, 192, 256) or None (toy parameters).

    Args:
        security: the requested security level in bits, or None.

    Returns:
        ``security`` as a Python int, or None.

    Raises:
        ParameterError: ``security`` is neither None nor one of 128, 192, 256 (a bool is refused).
    """
    if security is None:
        return None
    if not is_integer(security) or int(security) not in MAX_MODULUS_BITS:
        raise ParameterError(f"security must be 128, 192, 256 or None (toy parameters), got {security!r}")
    return int(security)


def max_modulus_bits(poly_degree: int, security: int = 128) -> int:
    """The largest secure log2(Q*P) for the ring Z_QP[X]/(X^N + 1) at a security level.

    Args:
        poly_degree: N, the ring degree.
        security: the security level in bits: 128, 192 or 256.

    Returns:
        The bound on the bit count of Q*P from the table above.

    Raises:
        ParameterError: ``security`` is None or not one of 128, 192, 256.
        SecurityError: the standard gives no parameters at this level for ``poly_degree``.
    """
    if security is None:
        raise ParameterError("security must be 128, 192 or 256 here: security=None has no modulus bound")
    security = check_security_level(security)
    table = MAX_MODULUS_BITS[security]
    if poly_degree not in table:
        known = ", ".join(str(n) for n in table)
        raise SecurityError(
            f"the HE standard gives no {security}-bit parameters for poly_degree={poly_degree} "
            f"(it covers N = {known}); pick one of those, or pass security=None for "
            "insecure teaching parameters"
        )
    return table[poly_degree]


def check_modulus_bits(poly_degree: int, total_bits: int, security: int) -> None:
    """Refuse a ring Z_QP[X]/(X^N + 1) whose modulus Q*P is too large for the security level.

    Args:
        poly_degree: N, the ring degree.
        total_bits: the bit count of Q*P (data and special primes together).
        security: the requested level in bits: 128, 192 or 256.

    Raises:
        ParameterError: ``security`` is not one of 128, 192, 256.
        SecurityError: N < 1024 (no security at all), the standard has no row for N at this
            level, or ``total_bits`` exceeds the bound.
    """
    if poly_degree < MIN_SECURE_POLY_DEGREE:
        raise SecurityError(
            f"poly_degree={poly_degree} gives no security; real parameters need N >= {MIN_SECURE_POLY_DEGREE}. "
            "For teaching with tiny rings pass security=None"
        )
    bound = max_modulus_bits(poly_degree, security)
    if total_bits > bound:
        raise SecurityError(
            f"log2(Q*P) = {total_bits} bits exceeds the {security}-bit security bound "
            f"of {bound} bits for poly_degree={poly_degree}; remove primes from moduli_bits, "
            "use smaller ones, or double poly_degree"
        )


def check_sparse_secret(poly_degree: int, hamming_weight: int, total_bits: int, security: int) -> None:
    """Refuse a sparse ternary secret whose security at this level has no cited estimate.

    Args:
        poly_degree: N, the ring degree.
        hamming_weight: h, the number of non-zero secret coefficients.
        total_bits: the bit count of Q*P.
        security: the requested level in bits.

    Raises:
        SecurityError: (N, h) is not in `SPARSE_SECRET_BOUNDS`, the level is not 128, or
            ``total_bits`` exceeds the cited bound.
    """
    bound = SPARSE_SECRET_BOUNDS.get((poly_degree, hamming_weight))
    if security != 128 or bound is None or total_bits > bound:
        known = ", ".join(f"N={n}, h={h}, log2(QP)<={b}" for (n, h), b in SPARSE_SECRET_BOUNDS.items())
        raise SecurityError(
            f"a sparse secret (hamming_weight={hamming_weight}) with N={poly_degree}, log2(QP)={total_bits} has no "
            f"cited {security}-bit security estimate: the HE standard's table is for uniform ternary secrets, and "
            f"sparse ones fall to hybrid attacks (h=1 is found by brute force in a second). Use "
            f"hamming_weight=None, one of the cited sets ({known}, 128 bits), or security=None for teaching"
        )
