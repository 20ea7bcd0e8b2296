"""Noise flooding: decryption that does not leak the secret key (IND-CPA-D).

CKKS decryption returns m' = c_0 + c_1 s = m + e (mod Q) and, after
decoding, values whose low bits *are* the error e.  Anybody who sees a
ciphertext and its decryption can therefore solve c_1 s = m' - c_0 for the
secret s: Li and Micciancio, "On the Security of Homomorphic Encryption on
Approximate Numbers", Eurocrypt 2021 (run it with :mod:`ckks.attacks`).
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
OpenFHE measures B by running the circuit once on a throwaway key
(its EXEC_NOISE_ESTIMATION mode); here B is given by the user
(``noise_bound``) or defaults to :func:`default_noise_bound`, 16 sqrt(N),
which covers the rounding error of fresh encryption, key switching and
rescaling (standard deviation about sqrt(N / 18) each) with a wide margin for
circuits of moderate depth on values of magnitude about 1.

Precision cost.  A slot value is a sum of the N coefficients times roots of
unity, so e_f adds an error of standard deviation about
sigma_f sqrt(N / 2) / Delta to each slot: flooding costs about
log2(sigma_f) + log2(N) / 2 bits out of scale_bits.  With s = 30, tau = 1 and
the default B at N = 8192 that is about 27.3 + 6 = 33 bits, leaving ~7 bits
at scale 2^40 and ~17 bits at scale 2^50: use a large scale (and q_0) when
decryptions are shared.

e_f is sampled as a rounded continuous Gaussian (Box-Muller on 53-bit
uniforms from the SHAKE-256 stream); for sigma_f >> 1 this is statistically
close to the discrete Gaussian the analysis assumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ckks.errors import InputError, InputTypeError, ParameterError
from ckks.ring.modarith import poly_add
from ckks.ring.sampling import PRNG
from ckks.scheme.parameters import Parameters
from ckks.scheme.poly import to_ntt

#: Statistical security s (bits) of the default flooding: an adversary wins with probability <= 2^-s.
DEFAULT_STATISTICAL_SECURITY = 30
#: Largest |sample| / sigma of the Box-Muller sampler with 53-bit uniforms: sqrt(2 ln 2^53).
_SAMPLE_TAIL = math.sqrt(2 * 53 * math.log(2))


def default_noise_bound(params: Parameters) -> float:
    """The default bound B on the decryption error of a ciphertext: 16 sqrt(N)."""
    return 16.0 * math.sqrt(params.poly_degree)


def flooding_sigma(noise_bound: float, statistical_security: int = DEFAULT_STATISTICAL_SECURITY, queries: int = 1):
    """sigma_f = sqrt(12 * queries) * 2^(statistical_security / 2) * noise_bound (Li et al. 2022)."""
    return math.sqrt(12.0 * queries) * 2.0 ** (statistical_security / 2) * noise_bound


@dataclass(frozen=True)
class Flooding:
    """Noise flooding for decryption (pass to ``Decryptor`` or ``Context.decrypt``).

    Args:
        noise_bound: B, a bound on the error of the ciphertexts decrypted
            (default: :func:`default_noise_bound`).
        statistical_security: s, in bits (default 30, as OpenFHE).
        queries: tau, the number of decryptions an adversary may see.
    """

    noise_bound: float | None = None
    statistical_security: int = DEFAULT_STATISTICAL_SECURITY
    queries: int = 1

    def __post_init__(self) -> None:
        bound = self.noise_bound
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            raise InputTypeError(f"noise_bound must be a number or None, got {type(bound).__name__}")
        if bound is not None and not (math.isfinite(bound) and bound > 0):
            raise InputError(f"noise_bound must be a positive finite number, got {bound}")
        for name, low in (("statistical_security", 1), ("queries", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{name} must be a positive integer, got {value!r}")

    def sigma(self, params: Parameters) -> float:
        """The standard deviation sigma_f of the flooding noise for these parameters."""
        bound = default_noise_bound(params) if self.noise_bound is None else float(self.noise_bound)
        return flooding_sigma(bound, self.statistical_security, self.queries)

    def lost_bits(self, params: Parameters) -> float:
        """About how many bits of slot precision the flooding costs: log2(sigma_f sqrt(N / 2))."""
        return math.log2(self.sigma(params) * math.sqrt(params.poly_degree / 2))

    def apply(self, data: np.ndarray, params: Parameters, prng: PRNG) -> None:
        """Add e_f to a decrypted polynomial in NTT form, shape (level + 1, N), in place."""
        sigma = self.sigma(params)
        level = data.shape[0] - 1
        modulus_bits = sum(q.bit_length() for q in params.data_moduli[: level + 1])
        reach = sigma * _SAMPLE_TAIL
        if math.log2(reach) >= min(modulus_bits - 2, 62):
            raise ParameterError(
                f"flooding noise of standard deviation 2^{math.log2(sigma):.1f} does not fit the modulus at "
                f"level {level} (2^{modulus_bits}); decrypt at a higher level, use larger primes, or lower "
                "statistical_security / noise_bound"
            )
        rows = params.level_rows(level)
        noise = to_ntt(rounded_gaussian(prng, params.poly_degree, sigma), params, rows)
        poly_add(data, noise, params.moduli_array[rows], data)


def rounded_gaussian(prng: PRNG, count: int, sigma: float) -> np.ndarray:
    """``count`` samples of round(N(0, sigma^2)) by Box-Muller, as int64 (|x| <= 8.6 sigma)."""
    words = prng.words(2 * count) >> np.uint64(11)
    u = words.astype(np.float64) * 2.0**-53
    radius = np.sqrt(-2.0 * np.log1p(-u[:count]))  # 1 - u in (0, 1]: no log(0)
    angle = 2.0 * np.pi * u[count:]
    return np.rint(sigma * radius * np.cos(angle)).astype(np.int64)
