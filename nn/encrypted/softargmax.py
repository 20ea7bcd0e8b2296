"""Encrypted soft-argmax (after Florencio et al., "An End-to-End Homomorphically Encrypted Neural Network").

The plaintext layer is ``p = softmax(beta z)`` and the soft-argmax value
``sum_i i p_i``.  Under encryption (C classes):

1. **Shift and normalise, for free.**  softmax is invariant to a common shift, so
   the compiler uses ``t = beta (z - mean(z))`` (a linear map, folded into the
   preceding linear stage together with the map of the recorded range
   [lo, hi] of t onto [-1, 1]).  Since max_i t_i >= 0 (the maximum is at least
   the mean), the denominator below is at least exp(-hi): the stated bound.
2. **exp** by a Chebyshev series g of degree d on [-1, 1] with r squarings
   (scaling and squaring, as HETAL does for wide ranges):
   ``e_i = g(y_i)^(2^r) = alpha exp(t_i - hi)``; ``alpha`` is folded into g.
   Levels ``ceil(log2(d + 1)) + r``; the pair (d, r) is the cheapest whose
   relative error 2^r max|g/exp - 1| is below the target.
3. **Denominator** ``S' = sum_i e_i = alpha S``, S in [S_lo, S_hi] (recorded on
   the calibration data with a factor 2 of margin below, capped by C above);
   alpha, beta' map S' onto y = S' + beta' in [-1, 1].  In the slot layout a
   linear transform (1 level) writes y into slots 0..C and, in parallel, a
   second one writes (e_0, ..., e_{C-1}, sum_i i e_i); in the batch layout these
   are additions and integer multiples (0 levels).
4. **Inverse**: v0 = Chebyshev series of 1/(y - beta') (degree d_i), then k Newton
   steps v <- v (2 - S' v), each squaring the relative error (2 levels each):
   error eps0^(2^k) with eps0 the measured error of the initial series.
   **Noise.**  The parameters hold every slot value to an absolute error of about
   eta = 2^-p (p bits after the binary point, see `nn.encrypted.params`).  The
   inverse turns the absolute error eta of S' into the relative error eta / S'
   (Newton converges to 1/(S' + noise)), and each probability e_i v carries the
   absolute error eta v <= eta / S' of e_i: both are at most
   ``eta / S'_lo`` with ``S'_lo = alpha S_lo``, however exact the polynomials are.
   [`check_precision`][nn.encrypted.softargmax.check_precision] refuses (ConfigError)
   when that exceeds the error budget, or when v <= 1/S'_lo does not fit the last
   levels' modulus: a shift by a plaintext constant cannot help, since the ratio
   S_hi / S_lo (set by beta times the spread of the logits) is what matters.
5. **Output**: ``(e_i v)_i`` are the probabilities, ``(sum_i i e_i) v`` the
   soft-argmax index (the plaintext dot product with (0, 1, ..., C-1)).

For two classes, ``sum_i i softmax(beta z)_i = sigmoid(beta (z_1 - z_0))``: the
difference (and -difference, for p_0) is folded into the linear stage and one
Chebyshev series of the sigmoid on the recorded range gives
``(p_0, p_1, index = p_1)``.

Slot diagram of the output (slot layout, C classes)::

    slot:   0    1   ...  C-1    C        C+1 ...
           p_0  p_1  ... p_C-1  sum i p_i   0   ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from nn.activations import softmax
from nn.errors import ConfigError

DEGREES = (3, 7, 15, 31)


def _levels(degree: int) -> int:
    return 0 if degree <= 0 else math.ceil(math.log2(degree + 1))


def _grid(n: int = 2001) -> np.ndarray:
    return np.cos(np.linspace(0, np.pi, n))


@dataclass
class SoftArgmaxStage:
    """The encrypted soft-argmax: polynomial data fixed at compile time (see the module docstring)."""

    classes: int
    beta: float
    layers: list[str]
    mode: str  # "multi" or "binary"
    exp_coeffs: np.ndarray | None = None
    squarings: int = 0
    t_range: tuple[float, float] = (0.0, 0.0)
    s_range: tuple[float, float] = (1.0, 1.0)
    alpha: float = 1.0
    offset: float = 0.0
    inv_coeffs: np.ndarray | None = None
    newton: int = 0
    sigmoid_coeffs: np.ndarray | None = None
    sigmoid_bound: float = 1.0
    sigmoid_gain: float = 1.0
    errors: dict = field(default_factory=dict)
    folded: list[str] = field(default_factory=list)
    logit_spread: float = 0.0

    kind = "softargmax"

    @property
    def outputs(self) -> int:
        return self.classes + 1

    def levels_for(self, layout: str) -> int:
        """Levels used in a layout ("sample" or "batch")."""
        if self.mode == "binary":
            return _levels(len(self.sigmoid_coeffs) - 1)
        transform = 1 if layout == "sample" else 0
        return (
            _levels(len(self.exp_coeffs) - 1) + self.squarings + transform
            + _levels(len(self.inv_coeffs) - 1) + 2 * self.newton + 1
        )

    @property
    def levels(self) -> int:
        return self.levels_for("sample")

    def fold_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(F, h): the stage input is y = z F + h for logits z (folded into the previous linear stage)."""
        c = self.classes
        if self.mode == "binary":
            d = np.array([-1.0, 1.0]) * self.beta / self.sigmoid_bound
            return np.stack([-d, d, d], axis=1), np.zeros(3)
        lo, hi = self.t_range
        centre = self.beta * (np.eye(c) - np.ones((c, c)) / c)
        return centre * 2.0 / (hi - lo), np.full(c, -(lo + hi) / (hi - lo))

    def summary_line(self) -> str:
        """The line `EncryptedModel.summary` prints about this stage."""
        errs = ", ".join(f"{k} {v:.1e}" for k, v in self.errors.items())
        if self.mode == "binary":
            degree = len(self.sigmoid_coeffs) - 1
            return (f"soft-argmax (binary, beta={self.beta:g}): sigmoid series of degree {degree} "
                    f"on beta (z_1 - z_0) in [-{self.sigmoid_bound:.4g}, {self.sigmoid_bound:.4g}]; approximation "
                    f"error {errs}; noise gain sum |c_k| k^2 = {self.sigmoid_gain:.3g}")
        return (f"soft-argmax ({self.mode}, beta={self.beta:g}): approximation errors {errs}; exp squarings "
                f"{self.squarings}, Newton steps {self.newton}, denominator in [{self.s_range[0]:.3g}, "
                f"{self.s_range[1]:.3g}]")

    # -- float emulation of exactly what the ciphertexts compute ----------------------------
    def exp_part(self, y: np.ndarray) -> np.ndarray:
        e = npcheb.chebval(y, self.exp_coeffs)
        for _ in range(self.squarings):
            e = e * e
        return e

    def inverse_part(self, y2: np.ndarray) -> np.ndarray:
        s = y2 - self.offset
        v = npcheb.chebval(y2, self.inv_coeffs)
        for _ in range(self.newton):
            v = v * (2.0 - s * v)
        return v

    def forward(self, y: np.ndarray) -> np.ndarray:
        if self.mode == "binary":
            return npcheb.chebval(y, self.sigmoid_coeffs)
        e = self.exp_part(y)
        s = e.sum(axis=1, keepdims=True)
        v = self.inverse_part(s + self.offset)
        index = (e * np.arange(self.classes)).sum(axis=1, keepdims=True)
        return np.concatenate([e * v, index * v], axis=1)


def exact(z: np.ndarray, beta: float) -> np.ndarray:
    """The plaintext layer's outputs in the same format: (softmax(beta z), sum_i i softmax_i)."""
    p = softmax(beta * np.asarray(z, dtype=np.float64), axis=-1)
    return np.concatenate([p, (p * np.arange(p.shape[1])).sum(axis=1, keepdims=True)], axis=1)


def design(logits: np.ndarray, beta: float, layers: list[str], target: float = 1e-3) -> SoftArgmaxStage:
    """Choose the polynomials of the encrypted soft-argmax from calibration logits.

    Args:
        logits: (n, C) logits the model produces on its calibration (training) data.
        beta: the inverse temperature of the layer.
        layers: the model layer name(s), for the summary.
        target: relative error budget of each approximation (exp, inverse) / absolute of the sigmoid.

    Returns:
        A SoftArgmaxStage.

    Raises:
        ConfigError: the denominator range on the calibration logits is too wide for the polynomial
            approximations (the message says how to narrow it).
    """
    z = np.asarray(logits, dtype=np.float64)
    c = z.shape[1]
    stage = SoftArgmaxStage(c, float(beta), layers, "binary" if c == 2 else "multi")
    stage.logit_spread = float(np.max(z.max(axis=1) - z.min(axis=1)))
    if c == 2:
        return _design_binary(stage, z, target)
    t = beta * (z - z.mean(axis=1, keepdims=True))
    width = max(float(t.max() - t.min()), 1e-3)
    lo, hi = float(t.min()) - 0.1 * width, float(t.max()) + 0.1 * width
    stage.t_range = (lo, hi)
    s = np.exp(t - hi).sum(axis=1)
    s_lo, s_hi = max(float(s.min()) / 2.0, math.exp(-hi)), min(float(c), 1.5 * float(s.max()))
    stage.s_range = (s_lo, s_hi)
    alpha = 2.0 / (s_hi - s_lo)
    stage.alpha, stage.offset = alpha, -(s_hi + s_lo) / (s_hi - s_lo)
    y = _grid()
    best = None
    for r in range(0, 8):
        for deg in DEGREES:
            def g(x, r=r):
                u = lo + (x + 1.0) * (hi - lo) / 2.0
                return alpha ** (1.0 / 2**r) * np.exp((u - hi) / 2**r)
            coeffs = npcheb.chebinterpolate(g, deg)
            err = float(np.max(np.abs(npcheb.chebval(y, coeffs) / g(y) - 1.0))) * 2**r
            cost = _levels(deg) + r
            if err <= target and (best is None or cost < best[0]):
                best = (cost, r, coeffs, err)
    if best is None:
        best = (None, 7, npcheb.chebinterpolate(lambda x: alpha ** (1 / 128) * np.exp(
            (lo + (x + 1.0) * (hi - lo) / 2.0 - hi) / 128), 31), float("nan"))
    _, stage.squarings, stage.exp_coeffs, exp_err = best
    best = None
    for deg in (1, 3, 7, 15, 31, 63):
        coeffs = npcheb.chebinterpolate(lambda x: 1.0 / (x - stage.offset), deg)
        eps0 = float(np.max(np.abs(npcheb.chebval(y, coeffs) * (y - stage.offset) - 1.0)))
        for k in range(0, 12):
            err = eps0 ** (2**k) if eps0 < 1 else float("inf")
            cost = _levels(deg) + 2 * k
            if err <= target and (best is None or cost < best[0]):
                best = (cost, k, coeffs, err)
    if best is None:
        raise ConfigError(
            f"the soft-argmax denominator ranges over [{s_lo:.3g}, {s_hi:.3g}] (ratio {s_hi / s_lo:.3g}) on the "
            f"calibration data: too wide for a polynomial inverse. {softmax_remedies(beta, None)}"
        )
    stage.newton, stage.inv_coeffs, inv_err = best[1], best[2], best[3]
    stage.errors = {"exp (relative)": exp_err, "inverse (relative)": inv_err}
    return stage


#: the largest sigmoid degree the binary path uses (11 levels); wider ranges are refused (ConfigError)
MAX_SIGMOID_DEGREE = 2047


def _sigmoid_grid(degree: int) -> np.ndarray:
    """Points of [-1, 1] on which a degree-d series is checked: Chebyshev extrema and a uniform grid."""
    n = max(2001, 8 * degree + 1)
    return np.concatenate([_grid(n), np.linspace(-1.0, 1.0, n)])


def _sigmoid_fit(bound: float, degree: int) -> tuple[np.ndarray, float]:
    """Chebyshev interpolant of y -> sigmoid(bound * y) on [-1, 1] and its measured max error."""
    def f(y):
        return 0.5 * (1.0 + np.tanh(0.5 * bound * y))  # sigmoid without overflow

    coeffs = npcheb.chebinterpolate(f, degree)
    y = _sigmoid_grid(degree)
    return coeffs, float(np.max(np.abs(npcheb.chebval(y, coeffs) - f(y))))


def _design_binary(stage: SoftArgmaxStage, z: np.ndarray, target: float) -> SoftArgmaxStage:
    """Two classes: one Chebyshev series of the sigmoid on the calibrated range, degree chosen to meet ``target``.

    The input ``y = beta (z_1 - z_0) / B`` lies in [-1, 1] (``B`` = 1.1 times the largest
    ``beta |z_1 - z_0|`` on the calibration data).  The analytic function ``sigmoid(B y)`` has poles at
    ``y = +-i pi / B``, so its Chebyshev coefficients decay like ``exp(-k pi / B)``: the degree for an
    error ``eps`` grows like ``(B / pi) ln(1 / eps)`` and the levels like ``log2(B)``.  The smallest
    number of levels ``ceil(log2(d + 1))`` whose degree meets ``target`` (measured on a dense grid) is
    taken, then the smallest degree at that level count (fewer products).  Above degree
    ``MAX_SIGMOID_DEGREE`` the range is refused.

    Raises:
        ConfigError: ``beta |z_1 - z_0|`` is too wide for a sigmoid of degree ``MAX_SIGMOID_DEGREE``
            within ``target``; the message names the range and the remedies.
    """
    d = stage.beta * (z[:, 1] - z[:, 0])
    bound = 1.1 * max(float(np.max(np.abs(d))), 1e-3)
    stage.sigmoid_bound = bound
    found = None
    for k in range(2, _levels(MAX_SIGMOID_DEGREE) + 1):
        coeffs, err = _sigmoid_fit(bound, 2**k - 1)
        if err <= target:
            found = (k, coeffs, err)
            break
    if found is None:
        widest = math.pi * MAX_SIGMOID_DEGREE / math.log(1.0 / target)  # degree ~ (B / pi) ln(1 / eps)
        raise ConfigError(
            f"encrypted two-class soft-argmax with beta={stage.beta:g}: beta * (z_1 - z_0) spans up to "
            f"+-{bound / 1.1:.4g} on the calibration data, too wide for a sigmoid series of degree "
            f"{MAX_SIGMOID_DEGREE} (11 levels) within softargmax_error={target:g} (best error {err:.2g}). "
            f"Lower beta (to about {stage.beta * widest / bound:.2g} or less), train the model with "
            "nn.SoftArgmax(trainable=True) or weight decay so that its logits stay smaller, loosen "
            "softargmax_error, or leave the softmax to the client: compile nn.Sequential(model.layers[:-1])"
        )
    k, coeffs, err = found
    lo, hi = 2 ** (k - 1) - 1, 2**k - 1  # lo fails (or is below the first k), hi meets the target
    while hi - lo > 1:
        mid = (lo + hi) // 2
        c_mid, e_mid = _sigmoid_fit(bound, mid)
        if e_mid <= target:
            hi, coeffs, err = mid, c_mid, e_mid
        else:
            lo = mid
    stage.sigmoid_coeffs, stage.errors = coeffs, {"sigmoid": err}
    stage.sigmoid_gain = float(np.sum(np.abs(coeffs) * np.arange(coeffs.size) ** 2))
    return stage


def noise_error(stage: SoftArgmaxStage, precision_bits: float) -> float:
    """The error ciphertext noise adds to the soft-argmax outputs, at the bottom of the denominator range.

    With slot values held to an absolute error ``eta = 2^-precision_bits``, the inverse of the
    encrypted denominator ``S' = alpha S`` has the relative error ``eta / S'`` and every probability
    ``e_i v`` the absolute error ``eta / S'`` (see the module docstring): at most ``eta / (alpha S_lo)``.
    For two classes (one sigmoid series ``p = sum_k c_k T_k``, no inverse) it is
    ``eta * sum_k |c_k| k^2``.  The input ``y = beta (z_1 - z_0) / B`` carries the absolute error
    ``eta`` and the series' slope (about ``B / 4``) amplifies it, but the noise of the computed
    ``T_k`` grows faster: ``T_2m = 2 T_m^2 - 1`` multiplies the error of ``T_m`` by ``4 T_m``, up to 4
    per doubling where ``|T_m| = 1`` (the fresh noise of a product is no perturbation of ``y``), i.e.
    up to ``k^2 eta`` for ``T_k`` (Markov's bound ``|T_k'| <= k^2``).  Measured errors on the
    breast-cancer case (degree 269, gain 2271) are about a tenth of this bound, and 15 to 30 times the
    slope-only estimate, which missed its budget.

    Args:
        stage: the designed stage.
        precision_bits: bits after the binary point the parameters keep (scale bits minus noise bits).

    Returns:
        The error bound (relative for the inverse, absolute for the probabilities).
    """
    eta = 2.0 ** -float(precision_bits)
    if stage.mode == "binary":
        return eta * max(1.0, stage.sigmoid_gain)
    return eta / (stage.alpha * stage.s_range[0])


def check_precision(stage: SoftArgmaxStage, precision_bits: float, modulus_bits: int, target: float) -> None:
    """Refuse a soft-argmax whose denominator range the chosen parameters cannot represent.

    Two conditions, both from the error analysis of the module docstring:
    ``noise_error(stage, precision_bits) <= target`` (the noise the inverse amplifies at the bottom
    of its interval stays within the error budget) and ``log2(1 / S'_lo) + 1 < modulus_bits`` (the
    largest inverse, ``v <= 1/S'_lo``, fits the modulus left at the last level, ``q0``, at the scale).

    Args:
        stage: the designed stage.
        precision_bits: bits after the binary point the chosen parameters keep (scale bits minus noise bits).
        modulus_bits: bits of the last level's prime q0 (the headroom of the output values).
        target: the error budget (``softargmax_error`` of ``compile``).

    Two classes: the single condition ``noise_error(stage, precision_bits) <= target``, the noise
    ``2^-p`` times the sigmoid series' noise gain ``sum_k |c_k| k^2`` (see `noise_error`).

    Raises:
        ConfigError: either condition fails; the message names beta, the logit spread, the
            denominator range (the sigmoid's range for two classes), the precision and the remedies.
    """
    if stage.mode == "binary":
        _check_binary_precision(stage, precision_bits, target)
        return
    s_lo, s_hi = stage.s_range
    smallest = stage.alpha * s_lo
    err = noise_error(stage, precision_bits)
    fits = math.log2(1.0 / smallest) + 1.0 < modulus_bits
    if err <= target and fits:
        return
    # S_hi / S_lo grows like exp(beta * spread): the beta that brings it to the budget, roughly
    ratio_ok = 2.0 * target * 2.0 ** precision_bits
    ratio = s_hi / s_lo
    beta_ok = stage.beta * math.log(max(ratio_ok, 1.0 + 1e-9)) / math.log(ratio) if ratio > 1 else stage.beta
    bits_needed = math.ceil(math.log2(1.0 / (target * smallest)))
    more_bits = (
        f"raise precision_bits to at least {bits_needed} (deeper, larger parameters), "
        if bits_needed <= 40 and fits else ""
    )
    reason = (
        f"ciphertext noise of about 2^-{precision_bits:g} = {2.0 ** -precision_bits:.2g} becomes an error of "
        f"{err:.2g} in the inverse and the probabilities (2^-{precision_bits:g} / {smallest:.3g}), above "
        f"softargmax_error={target:g}"
        if err > target else
        f"the largest inverse 1/{smallest:.3g} does not fit the {modulus_bits}-bit last modulus at the scale"
    )
    raise ConfigError(
        f"encrypted soft-argmax with beta={stage.beta:g}: the logits spread over up to {stage.logit_spread:.3g} "
        f"(beta * spread = {stage.beta * stage.logit_spread:.3g}), so the softmax denominator ranges over "
        f"[{s_lo:.3g}, {s_hi:.3g}] (ratio {ratio:.3g}; {smallest:.3g} .. {stage.alpha * s_hi:.3g} once scaled) on "
        f"the calibration data; at the chosen parameters' precision of {precision_bits:g} bits, {reason}. "
        f"{softmax_remedies(stage.beta, beta_ok)}{' Or ' + more_bits.rstrip(', ') + '.' if more_bits else ''}"
    )


def softmax_remedies(beta: float, beta_ok: float | None) -> str:
    """The two ways out of a refused encrypted soft-argmax that always work, for the error messages."""
    lower = (
        f"Lower beta (to about {beta_ok:.2g} or less)" if beta_ok is not None
        else f"Lower beta (now {beta:g}; halving it takes the square root of the ratio)"
    )
    example = f"{beta_ok:.2g}" if beta_ok is not None else f"{beta / 2:.2g}"
    return (
        "Leave the softmax to the client: compile nn.Sequential(model.layers[:-1]) (the logits; their argmax is "
        f"the prediction) and apply the softmax to the decrypted logits. {lower}: end the model with a softer "
        f"nn.SoftArgmax, nn.Sequential([*model.layers[:-1], nn.SoftArgmax(beta={example})]) (the same argmax), or "
        "train one with nn.SoftArgmax(beta, trainable=True)."
    )


def _check_binary_precision(stage: SoftArgmaxStage, precision_bits: float, target: float) -> None:
    err = noise_error(stage, precision_bits)
    if err <= target:
        return
    bits_needed = math.ceil(math.log2(max(1.0, stage.sigmoid_gain) / target))
    raise ConfigError(
        f"encrypted two-class soft-argmax with beta={stage.beta:g}: beta * (z_1 - z_0) spans up to "
        f"+-{stage.sigmoid_bound / 1.1:.4g} on the calibration data, so the sigmoid series on [-1, 1] has degree "
        f"{len(stage.sigmoid_coeffs) - 1} and noise gain sum |c_k| k^2 = {stage.sigmoid_gain:.3g}, which turns the "
        f"ciphertext noise 2^-{precision_bits:g} into an error of up to "
        f"{err:.2g}, above softargmax_error={target:g}. Raise precision_bits to at least {bits_needed}, lower beta "
        f"(to about {stage.beta * math.sqrt(target / err):.2g}; the gain grows like beta^2), or leave the softmax "
        "to the client: compile nn.Sequential(model.layers[:-1])"
    )
