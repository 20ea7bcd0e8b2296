"""Flooded decryption of an EncryptedModel's outputs: the noise bound, measured, and the policy.

A decryption that leaves the key owner reveals the secret key unless it is
noise-flooded (Li and Micciancio, Eurocrypt 2021; ``ckks.attacks`` runs the
attack, ``ckks.security.flooding`` the countermeasure).  Flooding adds a
Gaussian of standard deviation sigma_f = sqrt(12 tau) 2^(lambda / 2) B to the
decrypted polynomial, where B must bound the error of the ciphertext actually
decrypted (Li, Micciancio, Schultz and Sorrell, CRYPTO 2022).

B of a model's outputs.  The per-operation bound ckks tracks (``ciphertext.noise``)
compounds worst-case slot magnitudes through every matrix product and is 2^15
times the real error of the shipped MLP (2^24 against 2^9.5 at N = 2048), and
the batch layout's fused kernels do not track it; flooding with it would cost
15 more bits of scale.  So B is *measured*, as OpenFHE does
(EXEC_NOISE_ESTIMATION, a run of the same circuit on representative inputs):
the key owner encrypts the same calibration inputs twice, runs the plan on
both, and decrypts the difference of the outputs, whose coefficients are
exactly e_1 - e_2 (the messages cancel: the plan is deterministic).  Its
largest coefficient is about sqrt(2) times 4 standard deviations of one
output's error; B = 2 max |e_1 - e_2| (a margin of about 3 over a 6-sigma bound),
and never below the allowance the parameters budgeted
(`nn.encrypted.params.noise_allowance`).  The measurement is internal to the
key owner (its decryption is never shown), costs two runs of one batch, and is
made once per model: the error's distribution does not depend on the key.

The same run records the level and scale of the outputs, which `decrypt`
then requires of every output it is given.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ckks.errors import PrecisionWarning
from ckks.scheme.encryption import Decryptor
from ckks.security.flooding import Flooding
from nn.encrypted.ops import ranges_checked_in_plaintext
from nn.encrypted.params import noise_allowance

#: B = NOISE_MARGIN * max |e_1 - e_2| (module docstring).
NOISE_MARGIN = 2.0


def measure(model, context) -> tuple[float, int, list[float]]:
    """Measure the output noise of ``model`` (an EncryptedModel) under ``context`` (private, with its keys).

    Args:
        model: the `nn.encrypted.compiler.EncryptedModel`.
        context: the key owner's context (secret key and the plan's Galois keys).

    Returns:
        (max |e_1 - e_2| over the output coefficients, the outputs' level, their scales).
    """
    x = model.info["noise_samples"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the calibration inputs are in range by construction
        with ranges_checked_in_plaintext():
            first = model.run(context, model.encrypt(context, x))
            second = model.run(context, model.encrypt(context, x))
    worst = difference_noise(context, [v.ciphertext for v in first.vectors], [v.ciphertext for v in second.vectors])
    return worst, first.level, [float(v.ciphertext.scale) for v in first.vectors]


def difference_noise(context, first: list, second: list) -> float:
    """max |coefficient| of the decrypted differences first[i] - second[i]: exactly max |e_1 - e_2| when both
    runs computed the same values (plain decryption: the key owner's own measurement, never shown).

    Args:
        context: the private context.
        first: ciphertexts of one run.
        second: the same ciphertexts of the other run.

    Returns:
        The largest absolute coefficient, in integer units.
    """
    decryptor = Decryptor(context.params, context.secret_key)
    params, worst = context.params, 0.0
    for a, b in zip(first, second):
        with ranges_checked_in_plaintext():  # the tracked magnitude bounds overestimate a difference of equals
            difference = context.evaluator.sub(a, b)
        plain = decryptor.decrypt(difference)
        coefficients = params.at_level(plain.level).to_coefficients(plain.data)
        coefficients = params.crt_decoder(plain.level).to_float(coefficients)
        worst = max(worst, float(np.max(np.abs(coefficients))))
    return worst


def policy(poly_degree: int, measured: float, statistical_security: int) -> Flooding:
    """The flooding policy for a measured noise: B = max(2 measured, the budgeted allowance).

    Warns (PrecisionWarning) when the measured noise exceeds the allowance: the outputs then have
    fewer bits than ``precision_bits`` (the message says how many fewer).

    Args:
        poly_degree: N.
        measured: max |e_1 - e_2| from `measure`.
        statistical_security: lambda, in bits.

    Returns:
        ``Flooding(noise_bound=B, statistical_security=lambda)``.
    """
    allowance = noise_allowance(poly_degree)
    bound = max(NOISE_MARGIN * measured, allowance)
    if bound > allowance:
        warnings.warn(
            f"the measured noise needs a flooding bound of {bound:.3g}, above the {allowance:.3g} the parameters "
            f"budgeted: flooded decryptions lose about {math.log2(bound / allowance):.1f} bits of the precision "
            "planned; use a larger scale_bits",
            PrecisionWarning,
            stacklevel=3,
        )
    return Flooding(noise_bound=bound, statistical_security=statistical_security)


def describe(params, flooding: Flooding | None, statistical_security: int | None, measured: float | None = None) -> str:
    """The summary line on decryption security.

    Args:
        params: the `nn.encrypted.params.ParameterChoice`.
        flooding: the policy once measured (None: not measured yet, or flooding is off).
        statistical_security: lambda, or None when flooding is off.
        measured: max |e_1 - e_2| from `measure`, once measured.

    Returns:
        One line of text.
    """
    if statistical_security is None:
        return ("decryptions: NOT flooded (flooding=False): anyone who sees an output ciphertext and its decrypted "
                "values recovers the secret key (Li-Micciancio 2021); keep the decrypted values with the key owner")
    if flooding is None:
        bound = f"noise bound measured at keygen (budget {noise_allowance(params.poly_degree):.3g})"
    else:
        sigma = flooding.sigma(params)
        bound = (f"noise bound B = {flooding.noise_bound:.3g} = max(2 x measured {measured or 0:.3g}, budget "
                 f"{noise_allowance(params.poly_degree):.3g}), sigma_f = 2^{math.log2(sigma):.1f}")
    return (f"decryptions: noise-flooded, {statistical_security}-bit statistical security (an adversary who sees "
            f"decrypted outputs gains at most 2^-{statistical_security} per decryption; Li-Micciancio-Schultz-Sorrell "
            f"2022); {bound}; {params.flooding_bits} scale bits budgeted for it")

