"""Key-switching layouts: how many special primes P holds, and how the data primes form digits.

Hybrid key switching (Han and Ki, "Better bootstrapping for approximate homomorphic encryption",
CT-RSA 2020, section 3) decomposes a polynomial mod Q = q_0 ... q_L into ``dnum`` digits of
consecutive primes, raises each digit to Q * P (ModUp), takes the inner product with the key and
divides by P (ModDown).  Its error stays at the rounding's size while every digit's modulus D_j is at
most P.  SEAL (and this library's default, for TenSEAL compatibility) uses one special prime and one
data prime per digit: the most digits, hence the most NTTs in ModUp, L + 1 of them for each of the
L + 1 digits.

Under a security bound on log2(Q * P) (`ckks.security.standard`), the room left above Q can hold more
special primes; a larger P admits larger digits and so fewer of them.  Fewer digits mean fewer
NTTs and smaller keys, but every limb of P is one more limb in ModUp, the inner product and ModDown.
`fast_key_switching` tries every special-prime count that fits the bound, partitions the data primes
by size (`ckks.scheme.parameters.digits_by_bits`: D_j <= P) and keeps the layout of least
`key_switching_cost`, the work of one key switch at the top level in limb-NTT units.

This module may import `ckks.scheme.parameters` and `ckks.security`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ckks.errors import ParameterError
from ckks.ring.primes import MAX_PRIME_BITS
from ckks.scheme.parameters import _check_moduli_bits, digits_by_bits
from ckks.security.standard import check_security_level, max_modulus_bits

__all__ = ["KeySwitchingLayout", "fast_key_switching", "key_switching_cost"]

#: The largest special prime `fast_key_switching` makes (SEAL's and TenSEAL's largest prime size).
SPECIAL_BITS = 60

#: How far below P every digit stays (`digits_by_bits`' ``margin_bits``): with D_j <= P / 8 the digits'
#: error term (D_j / P) sqrt(N dnum) stays below the ModDown rounding's 0.3 sqrt(N) for up to 4 digits.
MARGIN_BITS = 3

#: The smallest special prime worth a key switch: below it the digits would have to be tiny.
MIN_SPECIAL_BITS = 20


@dataclass(frozen=True)
class KeySwitchingLayout:
    """Special primes and digits for `ckks.scheme.parameters.Parameters`.

    Attributes:
        moduli_bits: SEAL-style sizes: the data primes, then the ``special_count`` special primes.
        special_count: how many special primes P holds.
        digit_primes: data primes per key-switching digit, q_0's digit first.
        cost: `key_switching_cost` of the layout (limb-NTT units per key switch at the top level).
    """

    moduli_bits: tuple[int, ...]
    special_count: int
    digit_primes: tuple[int, ...]
    cost: float

    def parameters_kwargs(self) -> dict:
        """The keyword arguments of ``Parameters(poly_degree, **kwargs)`` for this layout."""
        return {"moduli_bits": list(self.moduli_bits), "special_count": self.special_count,
                "digit_primes": list(self.digit_primes)}


def key_switching_cost(poly_degree: int, digit_primes: list[int] | tuple[int, ...], special_count: int) -> float:
    """The work of one hybrid key switch at the top level, in units of one limb's NTT.

    With L + 1 data primes, K = ``special_count`` special primes and digits of |d_j| primes, the steps of
    `ckks.scheme.keyswitch.KeySwitcher.switch` cost:

    * decompose: L + 1 inverse NTTs;
    * ModUp of digit j: fast basis conversion to the L + 1 + K - |d_j| other primes (|d_j| products per
      coefficient and target) and their forward NTTs;
    * inner product: 2 (L + 1 + K) products per coefficient and digit;
    * ModDown of both polynomials: K inverse NTTs, conversion to the L + 1 data primes, L + 1 forward
      NTTs, and the division by P (one product per coefficient and limb).

    One limb NTT is (N / 2) log2 N butterflies, each about one modular product: a pass of N products
    counts 2 / log2 N.

    Args:
        poly_degree: N.
        digit_primes: primes per digit.
        special_count: K.

    Returns:
        The cost in limb-NTT units.

    Raises:
        ParameterError: a digit or ``special_count`` is not a positive integer, or N is not a power of two >= 4.
    """
    if not isinstance(poly_degree, int) or poly_degree < 4 or poly_degree & (poly_degree - 1):
        raise ParameterError(f"poly_degree must be a power of two >= 4, got {poly_degree!r}")
    if not digit_primes or any(not isinstance(d, int) or isinstance(d, bool) or d < 1 for d in digit_primes):
        raise ParameterError(f"digit_primes must be positive integers, got {digit_primes!r}")
    if not isinstance(special_count, int) or isinstance(special_count, bool) or special_count < 1:
        raise ParameterError(f"special_count must be a positive integer, got {special_count!r}")
    data, k = sum(digit_primes), special_count
    ntts = data + sum(data + k - d for d in digit_primes) + 2 * (k + data)
    passes = sum(d * (data + k - d) for d in digit_primes) + 2 * len(digit_primes) * (data + k) + 2 * (k * data + data)
    return ntts + passes * 2 / math.log2(poly_degree)


def fast_key_switching(
    poly_degree: int, data_bits: list[int] | tuple[int, ...], security: int | None = 128,
) -> KeySwitchingLayout:
    """The cheapest key-switching layout for these data primes within the security bound.

    For each special-prime count K = 1, 2, ...: P takes the room the bound leaves above Q (at most
    60 bits a prime, split as evenly as possible), the data primes are partitioned by size
    (`digits_by_bits`, every digit D_j <= P / 2^`MARGIN_BITS`), and the layout of least `key_switching_cost` is kept
    (the fewest special primes among equals).  SEAL's layout (one special prime of up to 60 bits, one
    prime per digit) is the first candidate, so the result is never costlier than the default.  The
    data primes, hence depth and scale, are unchanged.

    Args:
        poly_degree: N.
        data_bits: sizes of the data primes q_0 .. q_L (SEAL's ``coeff_mod_bit_sizes`` without its
            last entry, the special prime).
        security: 128, 192 or 256: log2(Q * P) stays within the HE standard's bound for N; None uses the
            128-bit bound (a toy ring outside the table raises).

    Returns:
        The layout: pass ``layout.parameters_kwargs()`` to `Parameters`, or use
        ``Context(..., key_switching="fast")``.

    Raises:
        InputTypeError: ``data_bits`` is not a list of integers.
        ParameterError: a size out of range, an invalid ``security``, or less than `MIN_SPECIAL_BITS` bits
            of room above Q for P.
        SecurityError: the standard has no bound for N at this level.
    """
    data = _check_moduli_bits(list(data_bits) + [SPECIAL_BITS], 1)[:-1]
    bound = max_modulus_bits(poly_degree, check_security_level(security) or 128)
    room = bound - sum(data)
    if room < MIN_SPECIAL_BITS:
        raise ParameterError(
            f"the data primes take {sum(data)} of the {bound} bits the security bound allows for N = {poly_degree}: "
            f"the {room} bits left cannot hold a special prime of {MIN_SPECIAL_BITS} bits or more; use fewer or "
            "smaller data primes, or a larger poly_degree"
        )
    seal = (1,) * len(data)  # SEAL's layout, TenSEAL's default: one special prime, one data prime per digit
    best = KeySwitchingLayout(
        tuple(data) + (min(room, SPECIAL_BITS),), 1, seal, key_switching_cost(poly_degree, seal, 1)
    )
    for k in range(1, len(data) + 1):
        total = min(room, k * SPECIAL_BITS)
        sizes = [total // k + (1 if i < total % k else 0) for i in range(k)]
        if min(sizes) < 2 or max(sizes) > MAX_PRIME_BITS:
            break
        bits = data + sizes
        digits = digits_by_bits(bits, k, MARGIN_BITS) if sum(sizes) - MARGIN_BITS >= max(data) else None
        if digits is None:
            continue
        layout = KeySwitchingLayout(tuple(bits), k, tuple(digits), key_switching_cost(poly_degree, digits, k))
        if layout.cost < best.cost:
            best = layout
        if total == room:  # more primes of the same P only add limbs
            break
    return best
