"""Noise flooding: decryption that does not leak the secret key (IND-CPA-D).

CKKS decryption returns m' = c_0 + c_1 s = m + e (mod Q) and, after
decoding, values whose low bits *are* the error e.  Anybody who sees a
ciphertext and its decryption can therefore solve c_1 s = m' - c_0 for the
secret s: Li and Micciancio, "On the Security of Homomorphic Encryption on
Approximate Numbers", Eurocrypt 2021 (run it with `ckks.attacks`).
CKKS is only IND-CPA secure, not IND-CPA-D (secure when decryptions are
shared).

The fix is to add, at decryption, a fresh Gaussian e_f much wider than e:

    m'' = c_0 + c_1 s + e_f,   e_f ~ N(0, sigma_f^2) per coefficient,

so that m'' reveals (statistically) nothing about e.  How wide: with e
bounded by B, tau decryption queries and s bits of statistical security,

    sigma_f = sqrt(12 tau) * 2^(s/2) * B

(Li, Micciancio, Schultz and Sorrell, "Securing Approximate Homomorphic
Encryption Using Differential Privacy", CRYPTO 2022; the bound OpenFHE uses
in its NOISE_FLOODING_DECRYPT mode, see its CKKS_NOISE_FLOODING.md).

B must bound the error of the *actual* computation: a constant does not (the
decryption error of x * 1000 is 1000 times that of x; a fixed B = 16 sqrt(N)
was measured 56 times too small on such circuits, which cuts 30 bits of
statistical security to 18).  OpenFHE measures B by running the circuit once
(its EXEC_NOISE_ESTIMATION mode).  Here every ciphertext made by the
evaluator carries ``noise``, a high-probability bound on its error tracked
through each operation (`ckks.security.noise`), and the decryptor uses it:

* ``Flooding()`` floods with the ciphertext's own tracked bound, and refuses
  (`ParameterError`) a ciphertext that has none (loaded from bytes, or made
  outside the evaluator): the tracked bound is never read from a file, since
  whoever wrote the file could lower it;
* ``Flooding(noise_bound=B)`` uses a bound measured beforehand, e.g. by
  [`Context.estimate_noise`][ckks.context.Context.estimate_noise] (a run of
  the same circuit on the key owner's sample inputs: the OpenFHE procedure),
  for ciphertexts that come back from a server.

Precision cost.  A slot value is a sum of the N coefficients times roots of
unity, so e_f adds an error of standard deviation about
sigma_f sqrt(N / 2) / Delta to each slot: flooding costs about
log2(sigma_f) + log2(N) / 2 bits out of scale_bits.  With s = 30, tau = 1 and
a fresh ciphertext at N = 8192 (B = 128) that is about 23.8 + 6.5 = 30 bits,
leaving ~10 bits at scale 2^40 and ~20 bits at scale 2^50; x * 1000 costs 10
bits more.  Use a large scale (and q_0) when decryptions are shared.

e_f is sampled as a rounded continuous Gaussian (Box-Muller on 53-bit
uniforms from the SHAKE-256 stream); for sigma_f >> 1 this is statistically
close to the discrete Gaussian the analysis assumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ckks.errors import InputError, InputTypeError, ParameterError
from ckks.ring.sampling import PRNG
from ckks.security.noise import fresh_public_noise
from ckks.validation import is_integer, is_real

if TYPE_CHECKING:  # a type hint only: this layer sits below the scheme and takes the parameters duck-typed
    from ckks.scheme.parameters import Parameters

#: Statistical security s (bits) of the default flooding: an adversary wins with probability <= 2^-s.
DEFAULT_STATISTICAL_SECURITY = 30
#: Largest statistical security accepted (bits); 2^(s/2) must stay a float.
MAX_STATISTICAL_SECURITY = 256
#: Largest number of decryption queries accepted.
MAX_QUERIES = 1 << 64
#: Largest |sample| / sigma of the Box-Muller sampler with 53-bit uniforms: sqrt(2 ln 2^53).
_SAMPLE_TAIL = math.sqrt(2 * 53 * math.log(2))


def default_noise_bound(params: Parameters) -> float:
    """The noise bound of a *fresh* public-key encryption (`ckks.security.noise.fresh_public_noise`).

    Only right for ciphertexts that were not operated on; flooding uses the
    bound tracked for each ciphertext instead.

    Args:
        params: the parameters (``poly_degree``, ``sigma``, ``hamming_weight``, ``special_moduli``).

    Returns:
        The bound, in integer units.
    """
    return fresh_public_noise(params)


def flooding_sigma(
    noise_bound: float, statistical_security: int = DEFAULT_STATISTICAL_SECURITY, queries: int = 1
) -> float:
    """sigma_f = sqrt(12 * queries) * 2^(statistical_security / 2) * noise_bound (Li et al. 2022).

    Args:
        noise_bound: B, a bound on the decryption error.
        statistical_security: s, in bits.
        queries: tau, the number of decryptions an adversary may see.

    Returns:
        The standard deviation sigma_f of the flooding noise.
    """
    return math.sqrt(12.0 * queries) * 2.0 ** (statistical_security / 2) * noise_bound


@dataclass(frozen=True)
class Flooding:
    """Noise flooding for decryption (pass to ``Decryptor`` or ``Context.decrypt``).

    Args:
        noise_bound: B, a measured bound on the error of the ciphertexts decrypted
            (e.g. from ``Context.estimate_noise``); None: each ciphertext's own tracked bound.
        statistical_security: s, in bits (default 30, as OpenFHE), 1 .. 256.
        queries: tau, the number of decryptions an adversary may see, 1 .. 2^64.

    Raises:
        InputTypeError: ``noise_bound`` is neither None nor a real number.
        InputError: ``noise_bound`` is not positive and finite, or ``statistical_security`` or
            ``queries`` is not a positive integer in its range.
    """

    noise_bound: float | None = None
    statistical_security: int = DEFAULT_STATISTICAL_SECURITY
    queries: int = 1

    def __post_init__(self) -> None:
        """Check the options (see the class docstring).

        Raises:
            InputTypeError: ``noise_bound`` is neither None nor a real number.
            InputError: ``noise_bound`` is not positive and finite, or ``statistical_security`` or
                ``queries`` is not a positive integer in its range.
        """
        bound = self.noise_bound
        if bound is not None and not is_real(bound):
            raise InputTypeError(f"noise_bound must be a number or None, got {type(bound).__name__}")
        if bound is not None and not (math.isfinite(float(bound)) and bound > 0):
            raise InputError(f"noise_bound must be a positive finite number, got {bound}")
        for name, high in (("statistical_security", MAX_STATISTICAL_SECURITY), ("queries", MAX_QUERIES)):
            value = getattr(self, name)
            if not is_integer(value) or not 1 <= value <= high:
                shown = f"an integer of {int(value).bit_length()} bits" if is_integer(value) else repr(value)
                raise InputError(f"{name} must be an integer in [1, {high}], got {shown}")

    def sigma(self, params: Parameters, noise: float | None = None) -> float:
        """The standard deviation sigma_f of the flooding noise.

        Args:
            params: the parameters (anything with ``poly_degree``; with neither bound given, the
                attributes `default_noise_bound` reads).
            noise: the tracked noise bound of the ciphertext decrypted; ``noise_bound``, when set,
                takes precedence; with neither, the bound of a fresh encryption (for reporting only:
                `apply` refuses to flood without an estimate).

        Returns:
            `flooding_sigma` of the noise bound.
        """
        bound = self._bound(noise)
        if bound is None:
            bound = default_noise_bound(params)
        return flooding_sigma(bound, self.statistical_security, self.queries)

    def _bound(self, noise: float | None) -> float | None:
        if self.noise_bound is not None:
            return float(self.noise_bound)
        return None if noise is None else max(float(noise), 1.0)

    def lost_bits(self, params: Parameters, noise: float | None = None) -> float:
        """About how many bits of slot precision the flooding costs: log2(sigma_f sqrt(N / 2)).

        Args:
            params: the parameters (anything with ``poly_degree``).
            noise: the tracked noise bound of the ciphertext (see `sigma`).

        Returns:
            The number of bits, out of ``scale_bits``.
        """
        return math.log2(self.sigma(params, noise) * math.sqrt(params.poly_degree / 2))

    def apply(self, data: np.ndarray, params: Parameters, prng: PRNG, noise: float | None = None) -> None:
        """Add e_f to a decrypted polynomial m' = c_0 + c_1 s in NTT form mod Q_level, in place.

        e_f has N independent rounded-Gaussian coefficients of standard
        deviation `sigma`; it is moved to NTT form over q_0 .. q_level and
        added limb by limb.  Level and scale are unchanged.

        Args:
            data: the polynomial, uint64 of shape (level + 1, N), NTT form.
            params: the parameters (duck-typed: ``poly_degree``, ``data_moduli`` and
                ``at_level(level)`` returning a `RingAtLevel`).
            prng: the randomness.
            noise: the ciphertext's tracked noise bound (None: unknown).

        Raises:
            ParameterError: there is no noise estimate (neither ``noise_bound`` nor ``noise``), or the
                noise (up to 8.6 sigma_f) does not fit well below Q_level.
        """
        if self._bound(noise) is None:
            raise ParameterError(
                "flooding needs an estimate of this ciphertext's noise, and it has none (it was loaded from "
                "bytes or made outside the evaluator, and a bound written in a file cannot be trusted): "
                "measure it with ctx.estimate_noise(circuit, sample) on the same computation and pass "
                "Flooding(noise_bound=...)"
            )
        sigma = self.sigma(params, noise)
        level = data.shape[0] - 1
        modulus_bits = sum(q.bit_length() for q in params.data_moduli[: level + 1])
        reach = sigma * _SAMPLE_TAIL
        if math.log2(reach) >= min(modulus_bits - 2, 62):
            raise ParameterError(
                f"flooding noise of standard deviation 2^{math.log2(sigma):.1f} does not fit the modulus at "
                f"level {level} (2^{modulus_bits}); decrypt at a higher level, use larger primes, or lower "
                "statistical_security / noise_bound"
            )
        ring = params.at_level(level)
        ring.add(data, ring.from_signed(rounded_gaussian(prng, params.poly_degree, sigma)), out=data)


def rounded_gaussian(prng: PRNG, count: int, sigma: float) -> np.ndarray:
    """``count`` samples of round(N(0, sigma^2)) by Box-Muller, as int64 (|x| <= 8.6 sigma).

    Args:
        prng: the randomness (two 53-bit uniforms per sample).
        count: the number of samples.
        sigma: the standard deviation.

    Returns:
        int64 array of shape (count,).
    """
    words = prng.words(2 * count) >> np.uint64(11)
    u = words.astype(np.float64) * 2.0**-53
    radius = np.sqrt(-2.0 * np.log1p(-u[:count]))  # 1 - u in (0, 1]: no log(0)
    angle = 2.0 * np.pi * u[count:]
    return np.rint(sigma * radius * np.cos(angle)).astype(np.int64)


#: ``flooding="auto"`` warns when flooding a fresh encryption leaves fewer bits of the scale than this.
AUTO_MIN_BITS = 10


def check_auto(params: Parameters) -> Flooding:
    """The policy of ``Context(..., flooding="auto")``: `Flooding` sized from each ciphertext's tracked bound.

    sigma_f = sqrt(12) 2^15 B with B the decrypted ciphertext's own tracked noise bound (30 bits of
    statistical security, one decryption per ciphertext, as OpenFHE's defaults).  Warns
    (``PrecisionWarning``) when even a fresh encryption would keep fewer than `AUTO_MIN_BITS` bits of
    the scale after flooding: at N = 8192 flooding a fresh ciphertext costs about 30 bits, so a 2^40
    scale keeps 10 and a 2^50 scale 20; a computed result costs more (its bound is larger).

    Args:
        params: the parameters (``poly_degree``, ``scale_bits`` and what `default_noise_bound` reads).

    Returns:
        ``Flooding()``.
    """
    import warnings

    from ckks.errors import PrecisionWarning

    policy = Flooding()
    lost = policy.lost_bits(params)
    if params.scale_bits - lost < AUTO_MIN_BITS:
        warnings.warn(
            f"flooding='auto': flooding a fresh encryption costs {lost:.1f} of the scale's {params.scale_bits:g} bits, "
            f"leaving {params.scale_bits - lost:.1f}; use a larger scale (and first prime) when decryptions are shared",
            PrecisionWarning,
            stacklevel=3,
        )
    return policy
