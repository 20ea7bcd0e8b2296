"""CKKS parameters from a plan's depth, its value range and a requested output precision.

For a plan of depth L the coefficient modulus is

    moduli_bits = [q0] + [s] * L + [P],    scale = 2^s,

with s = precision_bits + ceil(log2(N) / 2) + 5 (the bits lost to encoding and
key-switching noise, which grow like sqrt(N)), q0 = s + integer bits (enough
for the largest value recorded at any stage, with a factor-4 margin), and the
special prime P = max(q0, s) (key switching needs P at least as large as the
largest data prime).  The smallest ring degree N = 2^10 ... 2^16 whose
HomomorphicEncryption.org bound for the requested security level holds
log2(Q P) and whose N/2 slots hold the layout is chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ckks.errors import ParameterError, SecurityError

RING_DEGREES = (1024, 2048, 4096, 8192, 16384, 32768, 65536)
MAX_PRIME_BITS = 60


def max_modulus_bits(poly_degree: int, security: int = 128) -> int:
    """The HE-standard bound on log2(Q*P) (``ckks.security.standard`` when present).

    Args:
        poly_degree: N.
        security: 128, 192 or 256.

    Returns:
        The largest secure bit count of Q*P.

    Raises:
        SecurityError: the standard has no entry for N at this level.
    """
    try:
        from ckks.security.standard import max_modulus_bits as bound
    except ImportError:  # older layout
        from ckks.scheme.parameters import max_modulus_bits as bound
    return int(bound(poly_degree, security))


@dataclass(frozen=True)
class ParameterChoice:
    """A chosen parameter set: ring degree, prime bit sizes, scale, security level."""

    poly_degree: int
    moduli_bits: tuple[int, ...]
    scale_bits: int
    security: int | None
    depth: int

    @property
    def slots(self) -> int:
        return self.poly_degree // 2

    @property
    def total_bits(self) -> int:
        return int(sum(self.moduli_bits))

    def describe(self) -> str:
        sec = "INSECURE (security=None)" if self.security is None else f"{self.security}-bit secure"
        return (
            f"N={self.poly_degree} ({self.slots} slots), moduli_bits={list(self.moduli_bits)} "
            f"(log2 QP = {self.total_bits}), scale 2^{self.scale_bits}, depth {self.depth}, {sec}"
        )


def noise_bits(poly_degree: int) -> int:
    """Bits of a slot value lost to noise at ring degree N (a rule of thumb, see the module docstring)."""
    return math.ceil(math.log2(poly_degree) / 2) + 5


def layout_for(poly_degree: int, depth: int, integer_bits: int, precision_bits: int, scale_bits: int | None):
    s = int(scale_bits) if scale_bits is not None else precision_bits + noise_bits(poly_degree)
    q0 = min(MAX_PRIME_BITS, s + integer_bits)
    special = min(MAX_PRIME_BITS, max(q0, s))
    return s, (q0, *([s] * depth), special)


def choose_parameters(
    depth: int,
    max_abs: float,
    slots_needed: int,
    precision_bits: int = 16,
    security: int | None = 128,
    poly_degree: int | None = None,
    scale_bits: int | None = None,
) -> ParameterChoice:
    """The smallest secure parameter set for a plan.

    Args:
        depth: levels the plan consumes.
        max_abs: the largest absolute value any stage produces (recorded at compile time).
        slots_needed: slots one ciphertext of the layout must hold.
        precision_bits: requested bits of precision after the binary point of the outputs.
        security: 128, 192, 256, or None (toy parameters: then ``poly_degree`` picks N).
        poly_degree: force N (needed with ``security=None``; optional otherwise).
        scale_bits: force log2 of the scale.

    Returns:
        A ParameterChoice.

    Raises:
        SecurityError: no ring degree up to 2^16 holds the depth securely (the message names the
            depth needed and the largest depth a secure set allows), or a forced N is too small.
        ParameterError: the scale would need primes of more than 60 bits, or slots do not fit.
    """
    integer_bits = max(1, math.ceil(math.log2(max(float(max_abs), 1.0) * 4.0)))
    if security is None:
        candidates = [poly_degree] if poly_degree is not None else list(RING_DEGREES)
    else:
        candidates = [n for n in RING_DEGREES if poly_degree is None or n == poly_degree]
    largest = (0, 0)
    s = int(scale_bits) if scale_bits is not None else precision_bits + noise_bits(candidates[-1])
    for n in candidates:
        if n // 2 < slots_needed:
            continue
        s, bits = layout_for(n, depth, integer_bits, precision_bits, scale_bits)
        if s > MAX_PRIME_BITS:
            raise ParameterError(f"scale_bits={s} needs primes above {MAX_PRIME_BITS} bits; lower precision_bits")
        if security is None:
            return ParameterChoice(n, bits, s, None, depth)
        bound = max_modulus_bits(n, security)
        fits = (bound - bits[0] - bits[-1]) // s
        largest = max(largest, (fits, n))
        if sum(bits) <= bound:
            return ParameterChoice(n, bits, s, security, depth)
    if poly_degree is not None and poly_degree // 2 < slots_needed:
        raise ParameterError(f"poly_degree={poly_degree} has {poly_degree // 2} slots; the layout needs {slots_needed}")
    raise SecurityError(
        f"the plan needs depth {depth} with {precision_bits} bits of precision (scale 2^{s}), but the largest depth a "
        f"{security}-bit-secure parameter set allows is {max(largest[0], 0)} (N={largest[1] or candidates[-1]}); "
        "use a shallower model (fewer activations, lower polynomial degrees), lower precision_bits, "
        "or security=None for insecure teaching parameters"
    )
