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

Noise flooding (secure by default, `nn.encrypted.compiler.compile`).  A
decryption that leaves the key owner must be flooded (IND-CPA-D, Li and
Micciancio, Eurocrypt 2021; `ckks.security.flooding`): a Gaussian of standard
deviation sigma_f = sqrt(12 tau) 2^(lambda / 2) B is added to the decrypted
polynomial, with B a bound on the output ciphertext's error and lambda the
statistical security (Li, Micciancio, Schultz and Sorrell, CRYPTO 2022).  It
adds an error of standard deviation about sigma_f sqrt(N / 2) / Delta to every
slot, so with ``statistical_security`` given the scale pays for it:

    s = precision_bits + max(noise_bits(N), flooding_bits(N)),
    flooding_bits(N) = ceil(log2(sigma_f(B_N) sqrt(N / 2)) + 2),

with B_N = `noise_allowance`(N) = 64 R the budgeted output noise (R the
rounding noise of a rescale, ``ckks.security.noise.rounding_noise``; twice the
measured max |e_1 - e_2| of the shipped models, `nn.encrypted.flooding`, is
7 R to 35 R) and 2 bits for the largest of the N/2 slots.  At N = 8192 and
lambda = 30 that is 38 bits instead of 12: a 16-bit output needs a 54-bit
scale, and with a first prime of at most 60 bits the default precision_bits
drops to what fits (60 - 38 - integer bits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ckks.errors import ParameterError, SecurityError
from ckks.security.flooding import flooding_sigma
from ckks.security.noise import Z
from nn.errors import ConfigError, translating

RING_DEGREES = (1024, 2048, 4096, 8192, 16384, 32768, 65536)
MAX_PRIME_BITS = 60
#: The budgeted output noise, in multiples of the rounding noise R of a rescale (see the module docstring).
NOISE_ALLOWANCE_ROUNDINGS = 64
#: precision_bits when none is asked; with flooding, lowered to what fits, down to MIN_AUTO_PRECISION_BITS.
DEFAULT_PRECISION_BITS = 16
MIN_AUTO_PRECISION_BITS = 8


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
    #: Statistical security (bits) of the flooded decryptions the scale was budgeted for; None: no flooding.
    statistical_security: int | None = None

    @property
    def flooding_bits(self) -> int:
        """Bits of the scale reserved for flooding (0 without flooding)."""
        if self.statistical_security is None:
            return 0
        return flooding_bits(self.poly_degree, self.statistical_security)

    @property
    def precision_bits(self) -> int:
        """Bits after the binary point left in the outputs after encoding, key-switching and flooding noise."""
        return self.scale_bits - max(noise_bits(self.poly_degree), self.flooding_bits)

    @property
    def slots(self) -> int:
        return self.poly_degree // 2

    @property
    def total_bits(self) -> int:
        return int(sum(self.moduli_bits))

    def describe(self) -> str:
        sec = "INSECURE (security=None)" if self.security is None else f"{self.security}-bit secure"
        flood = "" if self.statistical_security is None else f", {self.flooding_bits} scale bits for flooding"
        return (
            f"N={self.poly_degree} ({self.slots} slots), moduli_bits={list(self.moduli_bits)} "
            f"(log2 QP = {self.total_bits}), scale 2^{self.scale_bits}{flood}, depth {self.depth}, {sec}"
        )


def noise_bits(poly_degree: int) -> int:
    """Bits of a slot value lost to noise at ring degree N (a rule of thumb, see the module docstring)."""
    return math.ceil(math.log2(poly_degree) / 2) + 5


def noise_allowance(poly_degree: int) -> float:
    """B_N: the output noise the parameter choice budgets flooding for, 64 R (module docstring).

    Args:
        poly_degree: N.

    Returns:
        64 Z sqrt((1 + 2 N / 3) / 12), in integer units (a uniform ternary secret).
    """
    return NOISE_ALLOWANCE_ROUNDINGS * Z * math.sqrt((1.0 + 2.0 * poly_degree / 3.0) / 12.0)


def flooding_bits(poly_degree: int, statistical_security: int, noise_bound: float | None = None) -> int:
    """Bits of slot precision flooding costs: ceil(log2(sigma_f sqrt(N / 2)) + 2) (module docstring).

    Args:
        poly_degree: N.
        statistical_security: lambda, in bits.
        noise_bound: B (default: `noise_allowance`).

    Returns:
        The number of bits, out of the scale's.
    """
    bound = noise_allowance(poly_degree) if noise_bound is None else float(noise_bound)
    sigma = flooding_sigma(bound, statistical_security)
    return math.ceil(math.log2(sigma * math.sqrt(poly_degree / 2)) + 2)


def layout_for(poly_degree: int, depth: int, integer_bits: int, precision_bits: int, scale_bits: int | None,
               statistical_security: int | None = None):
    lost = noise_bits(poly_degree)
    if statistical_security is not None:
        lost = max(lost, flooding_bits(poly_degree, statistical_security))
    s = int(scale_bits) if scale_bits is not None else precision_bits + lost
    q0 = min(MAX_PRIME_BITS, s + integer_bits)
    special = min(MAX_PRIME_BITS, max(q0, s))
    return s, (q0, *([s] * depth), special)


def _check_choice(depth, max_abs, slots_needed, precision_bits, statistical_security) -> None:
    def integer(value, low, high):
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and low <= value <= high

    real = isinstance(max_abs, (int, float, np.integer, np.floating)) and not isinstance(max_abs, bool)
    problems = [
        ("depth", depth, integer(depth, 0, 10000)),
        ("max_abs", max_abs, real and math.isfinite(float(max_abs)) and float(max_abs) >= 0),
        ("slots_needed", slots_needed, integer(slots_needed, 1, RING_DEGREES[-1] // 2)),
        ("precision_bits", precision_bits, precision_bits is None or integer(precision_bits, 4, 40)),
        ("statistical_security", statistical_security,
         statistical_security is None or integer(statistical_security, 1, 128)),
    ]
    for name, value, ok in problems:
        if not ok:
            raise ConfigError(f"choose_parameters: {name}={value!r} is out of range (see its docstring)")


@translating
def choose_parameters(
    depth: int,
    max_abs: float,
    slots_needed: int,
    precision_bits: int | None = None,
    security: int | None = 128,
    poly_degree: int | None = None,
    scale_bits: int | None = None,
    statistical_security: int | None = None,
) -> ParameterChoice:
    """The smallest secure parameter set for a plan.

    Args:
        depth: levels the plan consumes.
        max_abs: the largest absolute value any stage produces (recorded at compile time).
        slots_needed: slots one ciphertext of the layout must hold.
        precision_bits: requested bits of precision after the binary point of the outputs (after flooding,
            with ``statistical_security``).  None: 16, or with flooding the most the 60-bit first prime
            allows if that is less (at least 8).
        security: 128, 192, 256, or None (toy parameters: then ``poly_degree`` picks N).
        poly_degree: force N (needed with ``security=None``; optional otherwise).
        scale_bits: force log2 of the scale.
        statistical_security: budget the scale for flooded decryptions of this statistical security
            (bits; `flooding_bits`), so that ``precision_bits`` holds after flooding; None: no flooding.

    Returns:
        A ParameterChoice.

    Raises:
        ConfigError: an argument has the wrong type or is out of range (depth 0 .. 10000, max_abs finite,
            slots_needed 1 .. 2^15, precision_bits None or 4 .. 40, statistical_security None or 1 .. 128).
        SecurityError: no ring degree up to 2^16 holds the depth securely (the message names the
            depth needed and the largest depth a secure set allows), or a forced N is too small.
        ParameterError: the scale would need primes of more than 60 bits (with flooding: lower
            ``precision_bits``), or slots do not fit.
    """
    _check_choice(depth, max_abs, slots_needed, precision_bits, statistical_security)
    integer_bits = max(1, math.ceil(math.log2(max(float(max_abs), 1.0) * 4.0)))
    if security is None:
        candidates = [poly_degree] if poly_degree is not None else list(RING_DEGREES)
    else:
        candidates = [n for n in RING_DEGREES if poly_degree is None or n == poly_degree]
    largest = (0, 0)
    wanted = DEFAULT_PRECISION_BITS if precision_bits is None else int(precision_bits)
    s = int(scale_bits) if scale_bits is not None else wanted + noise_bits(candidates[-1])
    for n in candidates:
        if n // 2 < slots_needed:
            continue
        p = wanted
        if precision_bits is None and scale_bits is None and statistical_security is not None:
            fits = MAX_PRIME_BITS - integer_bits - flooding_bits(n, statistical_security)
            p = min(wanted, max(fits, MIN_AUTO_PRECISION_BITS))
        s, bits = layout_for(n, depth, integer_bits, p, scale_bits, statistical_security)
        if s > MAX_PRIME_BITS or s + integer_bits > MAX_PRIME_BITS:
            flood = "" if statistical_security is None else (
                f" ({flooding_bits(n, statistical_security)} of them pay for flooding at {statistical_security}-bit "
                "statistical security)")
            raise ParameterError(
                f"precision_bits={p} needs a scale of 2^{s}{flood} and a first prime of "
                f"{s + integer_bits} bits, above the {MAX_PRIME_BITS}-bit prime limit; lower precision_bits"
            )
        if security is None:
            return ParameterChoice(n, bits, s, None, depth, statistical_security)
        bound = max_modulus_bits(n, security)
        fits = (bound - bits[0] - bits[-1]) // s
        largest = max(largest, (fits, n))
        if sum(bits) <= bound:
            return ParameterChoice(n, bits, s, security, depth, statistical_security)
    if poly_degree is not None and poly_degree // 2 < slots_needed:
        raise ParameterError(f"poly_degree={poly_degree} has {poly_degree // 2} slots; the layout needs {slots_needed}")
    raise SecurityError(
        f"the plan needs depth {depth} with {wanted} bits of precision (scale 2^{s}), but the largest depth a "
        f"{security}-bit-secure parameter set allows is {max(largest[0], 0)} (N={largest[1] or candidates[-1]}); "
        "use a shallower model (fewer activations, lower polynomial degrees), lower precision_bits, "
        "or security=None for insecure teaching parameters"
    )
