"""Noise estimates: high-probability bounds on the error of CKKS ciphertexts, operation by operation.

Every ciphertext decrypts to m + e with e a polynomial of R = Z[X]/(X^N + 1).
Noise flooding (`ckks.security.flooding`) needs a bound B on the coefficients
of e for the *actual* computation (Li, Micciancio, Schultz and Sorrell,
CRYPTO 2022): a constant B undershoots the error of deep or large-valued
circuits (x * 1000 has 1000 times the error of x).  OpenFHE measures B with a
noise-estimation run of the circuit; here the evaluator tracks B through each
operation with the rules below (``ciphertext.noise``), and
[`Context.estimate_noise`][ckks.context.Context.estimate_noise] runs a circuit on
the owner's own sample inputs to get it, which is the OpenFHE procedure.

The rules are the average-case (central-limit) analysis of Costache, Curtis,
Hales, Murphy, Ogilvie and Player, "On the precision loss in approximate
homomorphic encryption" (SAC 2023), with every bound taken at ``Z = 6``
standard deviations per coefficient (a coefficient exceeds it with
probability about 2^-28).  With v_s the variance of a secret coefficient
(2/3 for a uniform ternary secret, h / N for a sparse one), sigma the error
width and B, A, Delta the noise bound, slot bound and scale of an operand:

| operation                     | noise bound of the result                                   |
|-------------------------------|-------------------------------------------------------------|
| rounding (rescale, mod-down)  | R = Z sqrt((1 + N v_s) / 12)                                |
| public-key encryption         | Z sigma sqrt(N (2/3 + v_s) + 1) / P + R                     |
| secret-key encryption         | 6 sigma (the sampler's tail cut: exact)                     |
| add, sub                      | B_a + B_b                                                   |
| times an integer k            | abs(k) B                                                    |
| times a plaintext (A_p, D_p)  | B (A_p D_p + 1/2) + A Delta / 2                             |
| times a ciphertext            | A_a D_a B_b + A_b D_b B_a + sqrt(N) B_a B_b / Z             |
| key switching (relin, rotate) | + Z sigma sqrt(N sum_j k_j D_j^2 / 12) / P + R              |
| rescale by q                  | B / q + R                                                   |

In the key-switching rule, digit j of the decomposition is a product of k_j
primes with modulus D_j; its centred lift (`ckks.scheme.keyswitch`) is D_j
times a sum of k_j terms uniform in (-1/2, 1/2), of variance k_j D_j^2 / 12,
and it multiplies the key's error e_j (width sigma) before the division by P.
A rotation adds the same (`ckks.scheme.rotation`: the automorphism only moves
the error's coefficients, up to sign, and keeps the slot bound A).

A message of slot bound A at scale Delta multiplies an error coefficient-wise
by at most A Delta in the root-mean-square sense (Parseval for the canonical
embedding), which gives the product rules.

May import: the standard library only (the parameters are duck-typed:
``poly_degree``, ``sigma``, ``hamming_weight``, ``data_moduli``,
``special_moduli``, ``digits``).
"""

from __future__ import annotations

import math

#: Standard deviations per coefficient at which every bound is taken.
Z = 6.0


def secret_variance(params) -> float:
    """The variance v_s of one secret coefficient: 2/3 (uniform ternary) or h / N (sparse).

    Args:
        params: the parameters (duck-typed: ``poly_degree``, ``hamming_weight``).

    Returns:
        v_s.
    """
    h = params.hamming_weight
    return 2.0 / 3.0 if h is None else h / params.poly_degree


def rounding_noise(params) -> float:
    """R: the error of dividing a ciphertext with rounding (rescale, mod-down): r_0 + r_1 s, |r_i| <= 1/2.

    Args:
        params: the parameters.

    Returns:
        Z sqrt((1 + N v_s) / 12).
    """
    return Z * math.sqrt((1.0 + params.poly_degree * secret_variance(params)) / 12.0)


def fresh_public_noise(params) -> float:
    """The error of a public-key encryption after the mod-down by P.

    Args:
        params: the parameters.

    Returns:
        Z sigma sqrt(N (2/3 + v_s) + 1) / P + R.
    """
    special = math.prod(params.special_moduli)
    spread = params.sigma * math.sqrt(params.poly_degree * (2.0 / 3.0 + secret_variance(params)) + 1.0)
    return Z * spread / special + rounding_noise(params)


def fresh_symmetric_noise(params) -> float:
    """The error of a secret-key encryption: the Gaussian e itself, cut at 6 sigma by the sampler.

    Args:
        params: the parameters.

    Returns:
        6 sigma (a hard bound).
    """
    return 6.0 * params.sigma


def keyswitch_noise(params) -> float:
    """The error key switching (relinearization, rotation, conjugation) adds: sum_j d_j e_j / P plus the rounding.

    d_j is digit j of the decomposed polynomial, lifted centred (coefficients
    D_j times a sum of k_j terms uniform in (-1/2, 1/2)), e_j the key's error;
    the mod-down by P adds the rounding R.  Taken at the top level (a bound
    for every level: lower levels have fewer primes per digit).

    Args:
        params: the parameters.

    Returns:
        Z sigma sqrt(N sum_j k_j D_j^2 / 12) / P + R, with D_j the modulus of digit j and k_j its number of primes.
    """
    special = math.prod(params.special_moduli)
    total = 0.0
    for digit in params.digits:
        d = math.prod(params.data_moduli[i] for i in digit) / special
        total += len(digit) * d * d
    return Z * params.sigma * math.sqrt(params.poly_degree * total / 12.0) + rounding_noise(params)


def product_noise(params, bound_a: float, scale_a: float, noise_a: float,
                  bound_b: float, scale_b: float, noise_b: float) -> float:
    """The error of the tensor product of two ciphertexts (before relinearization).

    (m_a + e_a)(m_b + e_b) - m_a m_b = m_a e_b + m_b e_a + e_a e_b.

    Args:
        params: the parameters.
        bound_a: slot bound A_a of the first operand.
        scale_a: its scale.
        noise_a: its noise bound B_a.
        bound_b: slot bound A_b of the second operand.
        scale_b: its scale.
        noise_b: its noise bound B_b.

    Returns:
        A_a D_a B_b + A_b D_b B_a + sqrt(N) B_a B_b / Z.
    """
    return (bound_a * scale_a * noise_b + bound_b * scale_b * noise_a
            + math.sqrt(params.poly_degree) * noise_a * noise_b / Z)


def plain_product_noise(bound_a: float, scale_a: float, noise_a: float, bound_p: float, scale_p: float) -> float:
    """The error of a ciphertext times a plaintext (or an encoded constant).

    (m_a + e_a)(m_p + r_p) with r_p the plaintext's rounding (|r_p| <= 1/2).

    Args:
        bound_a: slot bound of the ciphertext.
        scale_a: its scale.
        noise_a: its noise bound.
        bound_p: slot bound of the plaintext.
        scale_p: its scale.

    Returns:
        B (A_p D_p + 1/2) + A Delta / 2.
    """
    return noise_a * (bound_p * scale_p + 0.5) + bound_a * scale_a / 2.0
