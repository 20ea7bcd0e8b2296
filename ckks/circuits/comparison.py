"""Comparison circuits: sign, compare, maximum, ReLU and the maximum of a block of slots.

CKKS evaluates polynomials only, and sign(x) is discontinuous at 0, so no
polynomial approximates it on all of [-1, 1].  What can be done is to
approximate it away from 0: for a *margin* eps, a polynomial p with

    |p(x) - sign(x)| <= 2^-bits    whenever eps <= |x| <= 1,
    |p(x)| <= bound (about 1)      on all of [-1, 1].

Below the margin the result is anything in [-bound, bound] (p is odd, so
p(0) = 0 exactly: ties give 0, compare gives 1/2).

**Composite minimax polynomials** (Lee, Lee, Kim and No, "Minimax
approximation of sign function by composite polynomial for homomorphic
comparison", IEEE TDSC 2021).  One polynomial needs a degree of order
log(1 / delta) / eps for a margin eps and an error delta (for 8 bits the
minimax polynomial of degree 2047, 11 levels, reaches 2^-13.4; at such
degrees Paterson-Stockmeyer takes about 90 products and 1000 constant
multiplications); a composition p_k o ... o p_1 of low-degree polynomials
reaches about the same depth with a few dozen products (Cheon, Kim and Kim,
"Efficient homomorphic comparison methods with optimal complexity",
ASIACRYPT 2020, prove the depth
log2(1 / eps) + log2(bits) + O(1) optimal).
Stage i is the odd minimax (best uniform) approximation of 1 on [a_i, 1] by
a polynomial of degree d_i, computed by the Remez exchange algorithm in the
odd Chebyshev basis T_1, T_3, ... (`minimax_sign_stage`); its error delta_i
sends [a_i, 1] into [1 - delta_i, 1 + delta_i], and after dividing by
M_i (1 + HEADROOM), M_i = max |p_i| on [-1, 1] (folded into the
coefficients), the next stage sees [a_(i+1), 1] with
a_(i+1) = (1 - delta_i) / (M_i (1 + HEADROOM)), a_1 = eps.  The stage
degrees are chosen by dynamic programming over the depth, as in Lee et al.
sec. 4: for u = 1, 2, ... levels the largest a reachable, from stages of
degree 2^k - 1 (k levels each); the plan is the shallowest composition whose
last error is <= TARGET_SLACK 2^-bits, and its last stage is then lowered to
the smallest degree of the same depth that still reaches it.  Each stage is
evaluated with `ckks.circuits.polynomial.chebval` on [-1, 1] (the map is free
there), so a stage of degree d uses exactly ceil(log2(d + 1)) levels and the
depth of the composite is the sum.

Depth, degrees and measured error (``sign_plan(bits)``, margin 2^-bits; "numpy" is
max |p(x) - sign(x)| over 2^17 points of [margin, 1] in double precision, "encrypted" that of
2 compare(a, b) - 1 over all N/2 encrypted pairs at least the margin apart, half of them within
four margins, 128-bit security, scale 2^40; ``python benchmarks/bench_comparison.py`` reproduces them):

| bits | margin | depth | degrees          | products | error (numpy) | error (encrypted)        |
|------|--------|-------|------------------|----------|---------------|--------------------------|
| 8    | 2^-8   | 11    | 31, 49           | 26       | 2^-8.50       | 2^-8.50 (128-bit, 2^15)  |
| 12   | 2^-12  | 16    | 31, 31, 49       | 38       | 2^-12.87      | 2^-12.87 (128-bit, 2^15) |
| 16   | 2^-16  | 21    | 31, 31, 31, 41   | 49       | 2^-16.57      | 2^-16.50 (128-bit, 2^16) |

The plan aims at 0.75 2^-bits (`TARGET_SLACK`), leaving room for the CKKS noise, which the
steep stages amplify near the margin; between stages it keeps 2^-6 of headroom (`HEADROOM`)
so that noise cannot push a stage's input beyond [-1, 1], where Chebyshev series explode.

Derived circuits (same plan, its ``depth`` D):

- ``compare(a, b) = (1 + sign(a - b)) / 2``: D levels (the 1/2 is folded into
  the last stage's coefficients); 1 where a > b, 0 where a < b, 1/2 at ties;
  error <= 2^-(bits + 1) when |a - b| >= margin, and the value lies in
  [(1 - bound) / 2, (1 + bound) / 2] otherwise.
- ``maximum(a, b) = (a + b) / 2 + (a - b) sign(a - b) / 2``: D + 1 levels;
  error <= max(2^-(bits + 1), margin (1 + bound) / 2) for every a, b (close
  values are interchangeable, so no margin is needed).
- ``relu(x) = x (1 + sign(x)) / 2``: D + 1 levels, same error as maximum.
- ``slot_max(ct, block)``: log2(block) rounds of ``maximum(x, rotate(x, 2^r))``,
  log2(block) (D + 1) levels; slot b * block holds the maximum of block b.

Domains: sign and relu take x in [-1, 1]; compare and maximum take a and b
with |a - b| <= 1 (e.g. both in [0, 1] or both in [-1/2, 1/2]); slot_max
takes values in [-1/2, 1/2].  Scale inputs into these ranges first.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from ckks.circuits.interleave import InterleavedEncoder, InterleavedRotator
from ckks.circuits.linear_transform import require_levels
from ckks.circuits.polynomial import CHEBYSHEV, chebval, levels_for_degree, plan_polynomial
from ckks.errors import InputError, InputTypeError, PrecisionWarning
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.rotation import Rotator
from ckks.validation import check_int, check_real

#: Precisions `sign_plan` accepts: 2^-bits between 2^-1 and 2^-MAX_BITS (CKKS noise at scale 2^40 is ~2^-30).
MIN_BITS, MAX_BITS = 1, 24
#: Smallest margin `sign_plan` accepts.
MIN_MARGIN = 2.0**-24
#: Stage degrees the plan chooses from: 2^k - 1 uses exactly k levels.
STAGE_DEGREES = (3, 7, 15, 31, 63)
#: Deepest composite `sign_plan` searches.
MAX_DEPTH = 64
#: Headroom of the normalisation between stages: stage i is divided by M_i (1 + HEADROOM), so that CKKS noise
#: on its output (up to HEADROOM) cannot push the next stage's input beyond [-1, 1], where a Chebyshev series
#: of degree d grows like cosh(d sqrt(2 eta)) and the composite breaks down.
HEADROOM = 2.0**-6
#: The plan aims at TARGET_SLACK 2^-bits: room for what the search grids miss and for the CKKS noise, which
#: the stages amplify near the margin (measured: about 0.2 2^-12 at 12 bits, N = 2^15, scale 2^40).
TARGET_SLACK = 0.75
#: Points of [margin, 1] on which the error is measured.
ERROR_POINTS = 1 << 16


@dataclass(frozen=True)
class SignPlan:
    """A composite polynomial p = p_k o ... o p_1 approximating sign on [-1, -margin] U [margin, 1].

    Attributes:
        bits: the requested precision: |p(x) - sign(x)| <= 2^-bits for margin <= |x| <= 1.
        margin: eps, below which (|x| < eps) the result is only known to lie in [-bound, bound].
        degrees: d_1 .. d_k, the odd degree of each stage (first applied first).
        coefficients: per stage, the Chebyshev coefficients c_0 .. c_d (even ones zero) of
            p_i(x) = sum_j c_j T_j(x) on [-1, 1], the normalisation by M_i (1 + HEADROOM) folded in
            (all stages but the last).
        stage_errors: delta_i, the minimax error of each stage on its domain before normalisation.
        depth: levels consumed by `sign` and `compare`: sum of ceil(log2(d_i + 1)).
        products: ciphertext-ciphertext products of the whole composite (`plan_polynomial` counts).
        error: measured max |p(x) - sign(x)| over ERROR_POINTS points of [margin, 1] (p is odd).
        bound: measured max |p(x)| over [-1, 1]: the range of the output for any input in [-1, 1].
    """

    bits: int
    margin: float
    degrees: tuple[int, ...]
    coefficients: tuple[np.ndarray, ...]
    stage_errors: tuple[float, ...]
    depth: int
    products: int
    error: float
    bound: float

    def __call__(self, x) -> np.ndarray:
        """The composite polynomial in plaintext (numpy): the model of what `sign` computes.

        Args:
            x: values in [-1, 1].

        Returns:
            p(x), float64, the shape of ``x``.
        """
        y = np.asarray(x, dtype=np.float64)
        for c in self.coefficients:
            y = npcheb.chebval(y, c)
        return y

    @property
    def maximum_depth(self) -> int:
        """Levels `maximum` and `relu` consume: depth + 1."""
        return self.depth + 1

    @property
    def maximum_error(self) -> float:
        """Bound on |maximum(a, b) - max(a, b)| and |relu(x) - max(x, 0)| for any inputs in the domain.

        max(error / 2, margin (1 + bound) / 2): below the margin the two values are that close anyway.
        """
        return max(self.error / 2, self.margin * (1 + self.bound) / 2)

    def __repr__(self) -> str:
        return (
            f"SignPlan(bits={self.bits}, margin=2^{math.log2(self.margin):.2f}, degrees={list(self.degrees)}, "
            f"depth={self.depth}, products={self.products}, error=2^{math.log2(max(self.error, 1e-300)):.2f}, "
            f"bound={self.bound:.6f})"
        )


# -- Remez: odd minimax approximation of 1 on [a, 1] -----------------------------------------------


def _odd_basis(x: np.ndarray, terms: int) -> np.ndarray:
    """Columns T_1(x), T_3(x), ..., T_(2 terms - 1)(x)."""
    t = np.empty((x.size, 2 * terms), dtype=np.float64)
    t[:, 0] = 1.0
    t[:, 1] = x
    for k in range(2, 2 * terms):
        t[:, k] = 2 * x * t[:, k - 1] - t[:, k - 2]
    return t[:, 1::2]


def _grid(a: float, points: int) -> np.ndarray:
    """Points of [a, 1], dense near both ends (Chebyshev-distributed) and near a (geometric)."""
    cheb = (1 + a) / 2 - (1 - a) / 2 * np.cos(np.linspace(0, np.pi, points))
    geometric = np.geomspace(a, 1.0, points // 4)
    return np.unique(np.concatenate([cheb, geometric, [a, 1.0]]))


def _alternating_extrema(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Indices of the largest |e| on each run of constant sign: an alternating sequence of extrema."""
    sign = np.sign(e)
    sign[sign == 0] = 1
    breaks = np.flatnonzero(np.diff(sign)) + 1
    return np.array([s + int(np.argmax(np.abs(e[s:t]))) for s, t in zip(np.r_[0, breaks], np.r_[breaks, x.size])])


def _refine(
    x: np.ndarray, index: np.ndarray, error: Callable[[np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Each grid extremum x[i] located more precisely between its neighbours (two zooms of 65 points)."""
    lo = x[np.maximum(index - 1, 0)]
    hi = x[np.minimum(index + 1, x.size - 1)]
    for _ in range(2):
        local = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 65)[None, :]
        values = np.abs(error(local.ravel()).reshape(local.shape))
        best = np.argmax(values, axis=1)
        rows = np.arange(local.shape[0])
        step = (hi - lo) / 64
        centre = local[rows, best]
        lo, hi = np.maximum(centre - step, x[0]), np.minimum(centre + step, x[-1])
    points = local[rows, best]
    return points, error(points)


def minimax_sign_stage(degree: int, a: float, points: int = 4000, iterations: int = 100) -> tuple[np.ndarray, float]:
    """The odd polynomial of degree ``degree`` closest to sign(x) on [-1, -a] U [a, 1] (Remez exchange).

    An odd p is x q(x^2), a Chebyshev (Haar) system on [a, 1] for a > 0, so the best
    approximation of 1 there equioscillates on (d + 3) / 2 points (Chebyshev's theorem);
    the exchange finds them (Remez 1934; multiple exchange as in Lee et al. sec. 3).

    Args:
        degree: d, odd, >= 1.
        a: the margin of this stage, 0 < a < 1.
        points: size of the search grid for the extrema.
        iterations: the most exchanges.

    Returns:
        (c, delta): Chebyshev coefficients c_0 .. c_d of p (even ones 0) and its error
        max |p - 1| on [a, 1], measured on the grid.

    Raises:
        InputError: ``degree`` is not a positive odd integer or ``a`` is not in (0, 1).
    """
    degree = check_int("degree", degree, 1)
    if degree % 2 == 0:
        raise InputError(f"the stage degree must be odd (sign is odd), got {degree}")
    a = check_real("a", a, 0.0, 1.0, low_open=True)
    if a >= 1.0:
        raise InputError(f"the stage margin a must be in (0, 1), got {a}")
    terms = (degree + 1) // 2
    grid = _grid(a, max(points, 100 * degree))
    basis = _odd_basis(grid, terms)

    def error_at(coefficients: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda x: _odd_basis(x, terms) @ coefficients - 1.0

    # initial reference: p(x) = x q(x^2) makes this a weighted fit of 1 / sqrt(y) on [a^2, 1]; start
    # from the Chebyshev extrema of that interval in y
    low = a * a
    reference = np.sqrt((1 + low) / 2 - (1 - low) / 2 * np.cos(np.pi * np.arange(terms + 1) / terms))
    for _ in range(iterations):
        matrix = np.hstack([_odd_basis(reference, terms), ((-1.0) ** np.arange(terms + 1))[:, None]])
        solution = np.linalg.solve(matrix, np.ones(terms + 1))
        coefficients, level = solution[:terms], abs(solution[terms])
        xs, es = _refine(grid, _alternating_extrema(grid, basis @ coefficients - 1.0), error_at(coefficients))
        peak = float(np.max(np.abs(es)))
        while xs.size > terms + 1:  # drop the smaller end extremum: alternation is kept
            if abs(es[0]) < abs(es[-1]):
                xs, es = xs[1:], es[1:]
            else:
                xs, es = xs[:-1], es[:-1]
        if xs.size == terms + 1:
            reference = xs
        if peak - level <= 1e-6 * peak or peak <= 1e-13:  # converged, or at double precision
            break
    full = np.zeros(degree + 1)
    full[1::2] = coefficients
    return full, peak


# -- the plan --------------------------------------------------------------------------------------


def _peaks(x: np.ndarray, function: Callable[[np.ndarray], np.ndarray]) -> float:
    """max |f| over [x_0, x_-1]: the local maxima of |f| on the grid x, refined."""
    values = np.abs(function(x))
    padded = np.r_[-1.0, values, -1.0]
    index = np.flatnonzero((padded[1:-1] >= padded[:-2]) & (padded[1:-1] >= padded[2:]))
    _, refined = _refine(x, index, function)
    return float(max(np.max(np.abs(refined)), np.max(values)))


@functools.lru_cache(maxsize=512)
def _stage(degree: int, a: float) -> tuple[np.ndarray, float, float]:
    """(coefficients, delta, M): the minimax stage and its largest |p| on [-1, 1]."""
    c, delta = minimax_sign_stage(degree, a)
    x = np.unique(np.concatenate([np.linspace(0.0, a, 2001), _grid(a, 100 * degree)]))
    bound = _peaks(x, lambda t: npcheb.chebval(t, c))
    return c, delta, max(bound, 1.0 + delta)


def _measure(coefficients: list[np.ndarray], margin: float) -> tuple[float, float]:
    x = np.unique(np.concatenate([np.geomspace(margin, 1.0, ERROR_POINTS), np.linspace(margin, 1.0, ERROR_POINTS)]))
    inside = np.linspace(0.0, margin, 4097)
    y, z = x, inside
    for c in coefficients:
        y, z = npcheb.chebval(y, c), npcheb.chebval(z, c)
    error = float(np.max(np.abs(y - 1.0)))
    return error, max(float(np.max(np.abs(y))), float(np.max(np.abs(z))))


@functools.lru_cache(maxsize=64)
def _plan(bits: int, margin: float) -> SignPlan:
    target = TARGET_SLACK * 2.0**-bits
    # best[u] = (the largest a reachable with u levels, its stages); found: the first stages reaching target
    best: dict[int, tuple[float, tuple]] = {0: (margin, ())}
    found = None
    for u in range(1, MAX_DEPTH + 1):
        for degree in STAGE_DEGREES:
            k = levels_for_degree(degree)
            if u - k not in best:
                continue
            a, stages = best[u - k]
            c, delta, bound = _stage(degree, a)
            path = (*stages, (degree, c, delta, bound))
            if delta <= target and (found is None or delta < found[-1][2]):
                found = path
            nxt = (1.0 - delta) / (bound * (1 + HEADROOM))
            if nxt > 0 and (u not in best or nxt > best[u][0]):
                best[u] = (nxt, path)
        if found is not None:
            break
    if found is None:
        raise InputError(
            f"no composite of depth <= {MAX_DEPTH} reaches 2^-{bits} with margin {margin:g}; "
            "ask for fewer bits or a larger margin"
        )
    # the last stage: the smallest odd degree of the same depth that still reaches the target
    *head, (degree, c, delta, bound) = found
    a = (1.0 - head[-1][2]) / (head[-1][3] * (1 + HEADROOM)) if head else margin
    k = levels_for_degree(degree)
    for lower in range(2 ** (k - 1) + 1 if k > 1 else 1, degree, 2):
        c2, delta2, bound2 = _stage(lower, a)
        if delta2 <= target:
            degree, c, delta, bound = lower, c2, delta2, bound2
            break
    stages = [*head, (degree, c, delta, bound)]
    coefficients = [s[1] / (s[3] * (1 + HEADROOM)) for s in stages[:-1]] + [stages[-1][1]]
    for cs in coefficients:
        cs.setflags(write=False)
    error, out_bound = _measure(coefficients, margin)
    products = sum(plan_polynomial(cs, CHEBYSHEV).products for cs in coefficients)
    depth = sum(levels_for_degree(s[0]) for s in stages)
    return SignPlan(bits, margin, tuple(s[0] for s in stages), tuple(coefficients), tuple(s[2] for s in stages),
                    depth, products, error, out_bound)


def sign_plan(bits: int = 12, margin: float | None = None) -> SignPlan:
    """The shallowest composite minimax approximation of sign with error 2^-bits beyond ``margin``.

    Guarantee (measured on a grid, see `SignPlan.error`): |p(x) - sign(x)| <= 2^-bits for
    margin <= |x| <= 1, and |p(x)| <= ``plan.bound`` on [-1, 1].  Plans are cached.

    Args:
        bits: the precision, MIN_BITS .. MAX_BITS.
        margin: eps in [MIN_MARGIN, 1); default 2^-bits (Lee et al.'s alpha-bit comparison of
            numbers that differ by at least 2^-alpha).

    Returns:
        The plan: stage degrees, coefficients, depth, products, measured error and bound.

    Raises:
        InputTypeError: ``bits`` is not an integer or ``margin`` not a real number.
        InputError: ``bits`` or ``margin`` is out of range.
    """
    bits = check_int("bits", bits, MIN_BITS, MAX_BITS)
    margin = 2.0**-bits if margin is None else check_real("margin", margin, MIN_MARGIN, 1.0)
    if margin >= 1.0:
        raise InputError(f"margin must be below 1 (the domain is [-1, 1]), got {margin}")
    return _plan(bits, margin)


def _as_plan(bits: int, margin: float | None, plan: SignPlan | None, evaluator: object, encoder: object) -> SignPlan:
    """The plan to use, after checking the scheme objects' types."""
    if not isinstance(evaluator, Evaluator):
        raise InputTypeError(f"evaluator must be a ckks Evaluator, got {type(evaluator).__name__}")
    if not isinstance(encoder, (Encoder, InterleavedEncoder)):  # a view: the circuit on interleaved copies
        raise InputTypeError(f"encoder must be a ckks Encoder, got {type(encoder).__name__}")
    if plan is None:
        return sign_plan(bits, margin)
    if not isinstance(plan, SignPlan):
        raise InputTypeError(f"plan must be a SignPlan (from sign_plan) or None, got {type(plan).__name__}")
    return plan


# -- encrypted circuits --------------------------------------------------------------------------------


def _check_ct(name: str, ct: object, limit: float) -> Ciphertext:
    if not isinstance(ct, Ciphertext):
        raise InputTypeError(f"{name} must be a ckks Ciphertext, got {type(ct).__name__}")
    if ct.bound is not None and ct.bound > limit * (1 + 1e-9):
        message = (
            f"{name} holds values up to {ct.bound:.4g} but the comparison circuits take |x| <= {limit:g}; "
            f"multiply it by {limit / ct.bound:.4g} first"
        )
        if ct.bound_exact:
            raise InputError(message)
        warnings.warn(message.replace("holds", "may hold", 1), PrecisionWarning, stacklevel=3)
    return ct


def _composite(ct: Ciphertext, plan: SignPlan, evaluator: Evaluator, encoder: Encoder, last_scale: float,
               last_shift: float) -> Ciphertext:
    """p_k o ... o p_1 (ct) with the last stage multiplied by ``last_scale`` and shifted by ``last_shift``."""
    stages = list(plan.coefficients)
    last = np.array(stages[-1], dtype=np.float64) * last_scale
    last[0] += last_shift
    stages[-1] = last
    for c in stages:
        ct = chebval(ct, c, (-1.0, 1.0), evaluator, encoder)
    return ct


def sign(ct: Ciphertext, evaluator: Evaluator, encoder: Encoder, bits: int = 12, margin: float | None = None,
         plan: SignPlan | None = None) -> Ciphertext:
    """sign(x) slot-wise for x in [-1, 1], by the composite minimax polynomial of `sign_plan`.

    Level l -> l - plan.depth; the scale of ``ct`` is kept.  Error <= 2^-bits where
    |x| >= margin; in [-plan.bound, plan.bound] below it; exactly 0 (up to CKKS noise) at 0.
    At the default margin 2^-bits (module table): 8 bits, depth 11, degrees 31, 49, measured
    error 2^-8.50; 12 bits, depth 16, degrees 31, 31, 49, 2^-12.87; 16 bits, depth 21,
    degrees 31, 31, 31, 41, 2^-16.57 (2^-16.50 encrypted at 128-bit security).

    Args:
        ct: x, values in [-1, 1].
        evaluator: products, relinearizations, rescales.
        encoder: encodes the constants.
        bits: the precision (see `sign_plan`).
        margin: the margin (default 2^-bits).
        plan: a plan from `sign_plan` (overrides bits and margin).

    Returns:
        p(x) at level l - plan.depth.

    Raises:
        InputTypeError: ``ct`` is not a Ciphertext, ``plan`` not a SignPlan, bits/margin not numbers, or
            evaluator/encoder of the wrong type.
        InputError: bits or margin out of range, or ``ct`` is known to hold values beyond [-1, 1].
        LevelError: fewer than plan.depth levels are left (the message names the levels needed).
        KeyMissingError: the evaluator has no relinearization key.
    """
    plan = _as_plan(bits, margin, plan, evaluator, encoder)
    _check_ct("x", ct, 1.0)
    require_levels(ct.level, plan.depth, f"sign to {plan.bits} bits (degrees {list(plan.degrees)})", evaluator.params)
    return _composite(ct, plan, evaluator, encoder, 1.0, 0.0)


def _difference(a: Ciphertext, b: Ciphertext, evaluator: Evaluator) -> Ciphertext:
    _check_ct("a", a, 1.0)
    _check_ct("b", b, 1.0)
    return evaluator.sub(a, b)


def compare(a: Ciphertext, b: Ciphertext, evaluator: Evaluator, encoder: Encoder, bits: int = 12,
            margin: float | None = None, plan: SignPlan | None = None) -> Ciphertext:
    """(1 + sign(a - b)) / 2 slot-wise: about 1 where a > b, 0 where a < b, 1/2 at ties.

    For |a - b| <= 1 (e.g. a, b in [0, 1] or in [-1/2, 1/2]).  Level l -> l - plan.depth (the
    halving and the 1/2 are folded into the last stage); error <= 2^-(bits + 1) where
    |a - b| >= margin, and a value in [(1 - bound) / 2, (1 + bound) / 2] below it.
    At the default margin: 11, 16, 21 levels at 8, 12, 16 bits (degrees as in `sign`), measured
    error 2^-9.50, 2^-13.87, 2^-17.57.

    Args:
        a: a ciphertext.
        b: a ciphertext with the same scale (levels may differ: the higher is switched down).
        evaluator: products, relinearizations, rescales.
        encoder: encodes the constants.
        bits: the precision of the underlying sign (see `sign_plan`).
        margin: the margin (default 2^-bits).
        plan: a plan from `sign_plan` (overrides bits and margin).

    Returns:
        The comparison at level min(l_a, l_b) - plan.depth, with the inputs' scale.

    Raises:
        InputTypeError: an input is not a Ciphertext, or plan/bits/margin/evaluator/encoder have the wrong type.
        InputError: bits or margin out of range, or an input known to exceed |x| <= 1.
        ScaleMismatchError: the scales of a and b differ.
        LevelError: fewer than plan.depth levels are left.
        KeyMissingError: the evaluator has no relinearization key.
    """
    plan = _as_plan(bits, margin, plan, evaluator, encoder)
    d = _difference(a, b, evaluator)
    require_levels(d.level, plan.depth, f"compare to {plan.bits} bits (degrees {list(plan.degrees)})",
                   evaluator.params)
    return _composite(d, plan, evaluator, encoder, 0.5, 0.5)


def _times_half_step(x: Ciphertext, step: Ciphertext, evaluator: Evaluator) -> Ciphertext:
    """x * step, one level below step."""
    x = evaluator.mod_switch_to(x, step.level)
    return evaluator.relinearize_rescale(evaluator.multiply(x, step))


def _scaled_to(ct: Ciphertext, value: float, target: Ciphertext, evaluator: Evaluator) -> Ciphertext:
    """value * ct at target's level and scale (one level of ct, which must be above target)."""
    ct = evaluator.mod_switch_to(ct, target.level + 1)
    q = evaluator.params.data_moduli[target.level + 1]
    return evaluator.rescale(evaluator.multiply_scalar(ct, value, target.scale * q / ct.scale))


def maximum(a: Ciphertext, b: Ciphertext, evaluator: Evaluator, encoder: Encoder, bits: int = 12,
            margin: float | None = None, plan: SignPlan | None = None) -> Ciphertext:
    """max(a, b) slot-wise = (a + b) / 2 + (a - b) sign(a - b) / 2.

    For |a - b| <= 1.  Level l -> l - (plan.depth + 1); error <= plan.maximum_error for every
    input (no margin needed: values closer than the margin are interchangeable).
    At the default margin: 12, 17, 22 levels at 8, 12, 16 bits (degrees as in `sign`, then one product).

    Args:
        a: a ciphertext.
        b: a ciphertext with the same scale.
        evaluator: products, relinearizations, rescales.
        encoder: encodes the constants.
        bits: the precision of the underlying sign.
        margin: the margin (default 2^-bits).
        plan: a plan from `sign_plan` (overrides bits and margin).

    Returns:
        The maximum at level min(l_a, l_b) - plan.depth - 1.

    Raises:
        InputTypeError: an input is not a Ciphertext, or plan/bits/margin/evaluator/encoder have the wrong type.
        InputError: bits or margin out of range, or an input known to exceed |x| <= 1.
        ScaleMismatchError: the scales of a and b differ.
        LevelError: fewer than plan.depth + 1 levels are left.
        KeyMissingError: the evaluator has no relinearization key.
    """
    plan = _as_plan(bits, margin, plan, evaluator, encoder)
    d = _difference(a, b, evaluator)
    require_levels(d.level, plan.maximum_depth, f"maximum to {plan.bits} bits (degrees {list(plan.degrees)} + 1)",
                   evaluator.params)
    half_sign = _composite(d, plan, evaluator, encoder, 0.5, 0.0)
    product = _times_half_step(d, half_sign, evaluator)
    return evaluator.add(product, _scaled_to(evaluator.add(a, b), 0.5, product, evaluator))


def relu(ct: Ciphertext, evaluator: Evaluator, encoder: Encoder, bits: int = 12, margin: float | None = None,
         plan: SignPlan | None = None) -> Ciphertext:
    """max(x, 0) slot-wise = x (1 + sign(x)) / 2, for x in [-1, 1].

    Level l -> l - (plan.depth + 1); error <= plan.maximum_error for every x in [-1, 1].
    At the default margin: 12, 17, 22 levels at 8, 12, 16 bits (degrees as in `sign`, then one product).

    Args:
        ct: x.
        evaluator: products, relinearizations, rescales.
        encoder: encodes the constants.
        bits: the precision of the underlying sign.
        margin: the margin (default 2^-bits).
        plan: a plan from `sign_plan` (overrides bits and margin).

    Returns:
        ReLU(x) at level l - plan.depth - 1.

    Raises:
        InputTypeError: ``ct`` is not a Ciphertext, or plan/bits/margin/evaluator/encoder have the wrong type.
        InputError: bits or margin out of range, or ``ct`` known to exceed |x| <= 1.
        LevelError: fewer than plan.depth + 1 levels are left.
        KeyMissingError: the evaluator has no relinearization key.
    """
    plan = _as_plan(bits, margin, plan, evaluator, encoder)
    _check_ct("x", ct, 1.0)
    require_levels(ct.level, plan.maximum_depth, f"relu to {plan.bits} bits (degrees {list(plan.degrees)} + 1)",
                   evaluator.params)
    step = _composite(ct, plan, evaluator, encoder, 0.5, 0.5)
    return _times_half_step(ct, step, evaluator)


def slot_max_levels(block: int, plan: SignPlan) -> int:
    """Levels `slot_max` consumes without refreshing: log2(block) (plan.depth + 1).

    Args:
        block: C, a power of two.
        plan: the sign plan.

    Returns:
        The levels.

    Raises:
        InputError: ``block`` is not a power of two >= 1.
    """
    rounds = _rounds(block)
    return rounds * plan.maximum_depth


def _rounds(block: int) -> int:
    block = check_int("block", block, 1)
    if block & (block - 1):
        raise InputError(f"block must be a power of two (the tournament halves it each round), got {block}")
    return block.bit_length() - 1


def slot_max(ct: Ciphertext, block: int, evaluator: Evaluator, encoder: Encoder, rotator: Rotator, bits: int = 12,
             margin: float | None = None, plan: SignPlan | None = None,
             refresh: Callable[[Ciphertext], Ciphertext] | None = None) -> Ciphertext:
    """The maximum of each block of C = ``block`` consecutive slots, by a rotation tournament.

    Round r = 0 .. log2(C) - 1: x <- maximum(x, rotate(x, 2^r)).  After the rounds slot i holds
    the maximum of slots i .. i + C - 1 (cyclically), so slot b C holds the maximum of block b;
    the other slots hold maxima of windows that straddle two blocks.  Values in [-1/2, 1/2];
    error <= log2(C) plan.maximum_error.  Rotations by 1, 2, .., C/2 (default Galois keys).

    Levels: log2(C) (plan.depth + 1) (`slot_max_levels`).  When a round lacks levels and
    ``refresh`` is given (e.g. a bootstrapper's ``bootstrap``), it is called on x first.

    Args:
        ct: the packed values, in [-1/2, 1/2].
        block: C, a power of two dividing the slot count.
        evaluator: products, relinearizations, rescales.
        encoder: encodes the constants.
        rotator: the rotations (Galois keys for 1, 2, ..., C/2 or their compositions).
        bits: the precision of the underlying sign.
        margin: the margin (default 2^-bits).
        plan: a plan from `sign_plan` (overrides bits and margin).
        refresh: called on x before a round that lacks levels (bootstrapping); None: no refresh.

    Returns:
        The tournament result, log2(C) (plan.depth + 1) levels below ``ct`` (without refreshes).

    Raises:
        InputTypeError: ``ct`` is not a Ciphertext, ``rotator`` not a Rotator, refresh not callable, or
            evaluator/encoder/plan of the wrong type.
        InputError: ``block`` is not a power of two dividing the slot count, or bits/margin out of range.
        LevelError: the levels are not enough and there is no ``refresh`` (or it did not add enough).
        KeyMissingError: a rotation has no Galois key, or there is no relinearization key.
    """
    plan = _as_plan(bits, margin, plan, evaluator, encoder)
    _check_ct("x", ct, 0.5)
    if not isinstance(rotator, (Rotator, InterleavedRotator)):
        raise InputTypeError(f"rotator must be a ckks Rotator, got {type(rotator).__name__}")
    if refresh is not None and not callable(refresh):
        raise InputTypeError(f"refresh must be a callable (Ciphertext -> Ciphertext) or None, got {refresh!r}")
    rounds = _rounds(block)
    if rotator.slots % block:  # the slots the rotations are cyclic on (S / B for interleaved copies)
        raise InputError(f"block {block} must divide the slot count {rotator.slots}")
    what = f"slot_max over blocks of {block} ({rounds} rounds of maximum, {plan.maximum_depth} levels each)"
    if refresh is None:
        require_levels(ct.level, rounds * plan.maximum_depth, what, evaluator.params)
    x = ct
    for r in range(rounds):
        if x.level < plan.maximum_depth and refresh is not None:
            x = refresh(x)
        require_levels(x.level, (rounds - r) * plan.maximum_depth if refresh is None else plan.maximum_depth,
                       what, evaluator.params)
        x = maximum(x, rotator.rotate(x, 1 << r), evaluator, encoder, plan=plan)
    return x
