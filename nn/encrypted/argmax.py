"""Encrypted arg-max: the one-hot vector of the largest logit, by comparisons (``nn.Argmax``).

The circuit with the fewest levels for C classes.  A tournament of pairwise maxima needs
log2(C) rounds of a comparison *and* a product each, and a last comparison to turn the maximum
into a one-hot vector: about (log2(C) + 1) (D + 1) levels for a sign of depth D.  Here every
comparison runs in parallel instead:

1. **Differences, for free.**  For the M = C - 1 cyclic shifts m = 1 .. M and every class i,
   ``d[m, i] = (z_i - z_((i + m) mod C)) / R`` is a linear function of the logits, so its matrix
   is folded into the preceding linear stage (0 levels).  ``R = 1.25 max |z_i - z_j|`` over the
   calibration data: the logit range is *rescaled automatically* onto the comparison's valid
   interval [-1, 1] (``summary()`` states R and the margin in logit units).
2. **One step each**: ``s = (1 + sign(d)) / 2`` by the composite minimax polynomial of
   `ckks.circuits.comparison` (depth D, error 2^-(bits + 1) where ``|d| >= margin``), all the
   differences of a ciphertext at once.
3. **Products**: ``onehot_i = prod_m s[m, i]`` (1 for the largest logit, 0 otherwise): M factors
   in a balanced tree, ceil(log2 M) levels.

Levels: ``D + ceil(log2(C - 1))`` (C = 10, 8 bits, margin 2^-8: 11 + 4 = 15), in both layouts.

**Packing.**  Differences sit in *blocks*: block ``beta = gamma C + i`` holds d[m, i] with
``m = c g + gamma + 1`` in ciphertext c (g shifts per ciphertext).  The product over the shifts
of one ciphertext is a *window product* over blocks ``C`` apart, ``x <- x * rot(x, 2^r U)``
(U = C times the block width), whose rotations by powers of two of U need one Galois key each.

* Sample layout (one sample per ciphertext): blocks of one slot, all M shifts in one ciphertext
  (the folded linear stage writes d[m, i] to slot (m - 1) C + i); one sign evaluation; the window
  product leaves onehot_i in slot i.
* Batch layout (slot = sample): the samples of a chunk (at most ``min(batch_size, S / (2 C))``)
  are encrypted *tiled*: every block of b slots holds the same b samples, so the network computes
  the same logits in every block at no cost (it is slot-wise).  The last linear stage is then
  computed with slot-dependent plaintext weights (the weights of the difference that block holds),
  still one level, giving ceil(M / g) ciphertexts instead of C (C - 1) / 2 ones; C = 10 classes,
  450 images, S = 16384: 5 sign evaluations instead of 45.  The result is one ciphertext per chunk
  holding onehot_i in block i.

**Zero elsewhere.**  Slots that hold no difference get the input -1 (step 0) from the folded
bias, so every slot of the output outside the one-hot blocks is 0 (up to the error): the client
learns the one-hot vector and nothing else about the comparisons.  Shifts missing from the last
ciphertext get +1 (step 1).

**Ties.**  Logits closer than ``margin R`` are a tie for the comparison: its step lies anywhere in
[(1 - bound) / 2, (1 + bound) / 2] (p is odd, so exactly equal logits give 1/2).  Two leaders closer
than that both get a partial value (exactly equal: 1/2 each; three: 1/4 each) instead of a one-hot;
the plaintext layer takes the first maximal index.  Logits whose differences leave [-R, R] (inputs
far outside the calibrated range) are outside the composite's domain and give garbage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from nn.errors import ConfigError

if TYPE_CHECKING:
    from ckks.circuits.comparison import SignPlan

#: the calibrated logit-difference range is widened by this factor before it is mapped onto [-1, 1]
RANGE_MARGIN = 1.25
#: default margin of the comparison, relative to the rescaled range: ties closer than margin * R
DEFAULT_MARGIN = 2.0**-8


def _ceil_log2(n: int) -> int:
    return 0 if n <= 1 else math.ceil(math.log2(n))


@dataclass
class ArgmaxStage:
    """The encrypted arg-max: comparison plan and rescaling fixed at compile time (module docstring).

    Attributes:
        classes: C.
        layers: the model layer name(s), for the summary.
        sign: the `ckks.circuits.comparison.SignPlan` of each step.
        scale: R, the divisor of the logit differences (RANGE_MARGIN times the calibrated spread).
        spread: the largest ``|z_i - z_j|`` on the calibration data.
        batch_size: the compile-time batch size (the batch layout's block width comes from it).
    """

    classes: int
    layers: list[str]
    sign: SignPlan
    scale: float
    spread: float
    batch_size: int = 1
    folded: list[str] = field(default_factory=list)

    kind = "argmax"

    @property
    def shifts(self) -> int:
        """M = C - 1: the cyclic shifts, i.e. the factors of each class's product."""
        return self.classes - 1

    @property
    def outputs(self) -> int:
        return self.classes

    @property
    def levels(self) -> int:
        """sign depth + ceil(log2(C - 1)), in both layouts."""
        return self.sign.depth + _ceil_log2(self.shifts)

    def levels_for(self, layout: str) -> int:
        """Levels used in a layout (the same in both)."""
        return self.levels

    def segments(self) -> list[tuple[str, int]]:
        """Where a bootstrap may go (the stage protocol, `nn.encrypted.bootstrap`): (what, levels) per sign
        stage (``ceil(log2(d + 1))`` levels each), then the product tree (``ceil(log2(C - 1))`` levels)."""
        out = [(f"sign stage {k + 1} (degree {d})", _ceil_log2(d + 1)) for k, d in enumerate(self.sign.degrees)]
        products = _ceil_log2(self.shifts)
        if products:
            out.append((f"product tree ({self.shifts} factors)", products))
        return out

    def cut_bound(self, k: int) -> float:
        """Bound on |value| before segment k >= 1: a sign stage's output lies in [-1, 1] (the composite's
        stages are normalised), the steps in [0, 1].

        Raises:
            ConfigError: k is not a cut of this stage (1 .. segments - 1).
        """
        if not 1 <= k < len(self.segments()):
            raise ConfigError(f"the arg-max has cuts 1 .. {len(self.segments()) - 1}, not {k}")
        return 1.0

    @property
    def margin_logits(self) -> float:
        """Logits closer than this are a tie for the encrypted comparison."""
        return self.sign.margin * self.scale

    def columns(self) -> int:
        """Width of the stage input: M C differences, column (m - 1) C + i = d[m, i]."""
        return self.shifts * self.classes

    def fold_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(F, h): the stage input is ``z F + h``, the differences d[m, i] divided by R."""
        c = self.classes
        f = np.zeros((c, self.columns()))
        for m in range(1, c):
            for i in range(c):
                f[i, (m - 1) * c + i] += 1.0 / self.scale
                f[(i + m) % c, (m - 1) * c + i] -= 1.0 / self.scale
        return f, np.zeros(self.columns())

    def steps(self, y: np.ndarray) -> np.ndarray:
        """(1 + p(y)) / 2 for the composite sign p, in float64."""
        return 0.5 * (1.0 + self.sign(y))

    def forward(self, y: np.ndarray) -> np.ndarray:
        """Float emulation: (n, M C) differences -> (n, C) products of the steps."""
        s = self.steps(y).reshape(y.shape[0], self.shifts, self.classes)
        return np.prod(s, axis=1)

    def summary_line(self) -> str:
        p = self.sign
        return (
            f"argmax ({self.classes} classes): logit differences up to {self.spread:.4g} on the calibration data, "
            f"rescaled by 1/{self.scale:.4g} onto [-1, 1]; sign degrees {list(p.degrees)} (depth {p.depth}, "
            f"error 2^{math.log2(max(p.error, 1e-300)):.1f} beyond margin 2^{math.log2(p.margin):.1f}): logits "
            f"closer than {self.margin_logits:.3g} are a tie; {self.shifts} factors per class "
            f"({_ceil_log2(self.shifts)} levels)"
        )


def design(logits: np.ndarray, layers: list[str], margin: float = DEFAULT_MARGIN) -> ArgmaxStage:
    """Choose the comparison and the rescaling of the encrypted arg-max from calibration logits.

    The sign's precision is the smallest ``bits`` with ``(C - 1) 2^-(bits + 1) <= 1/40``: the
    product of C - 1 steps, each within 2^-(bits + 1) of 0 or 1, stays within 0.025 of the one-hot
    value when every difference is beyond the margin.

    Args:
        logits: (n, C) logits of the model on its calibration data.
        layers: the model layer name(s), for the summary.
        margin: the comparison's margin, relative to the rescaled range (differences of
            ``margin * R`` logits or less are ties).

    Returns:
        An ArgmaxStage.

    Raises:
        ConfigError: fewer than two classes, or a margin that is not a number in [2^-24, 1/2].
    """
    from ckks.circuits.comparison import MIN_MARGIN, sign_plan

    z = np.asarray(logits, dtype=np.float64)
    c = z.shape[1]
    if c < 2:
        raise ConfigError(f"Argmax needs at least two classes, got {c}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.integer, np.floating)):
        raise ConfigError(f"argmax_margin must be a number in [2^-24, 0.5], got {margin!r}")
    margin = float(margin)
    if not (MIN_MARGIN <= margin <= 0.5):
        raise ConfigError(f"argmax_margin must lie in [2^-24, 0.5], got {margin}")
    spread = float(np.max(z.max(axis=1) - z.min(axis=1)))
    scale = RANGE_MARGIN * max(spread, 1e-9)
    bits = max(4, math.ceil(math.log2(40 * (c - 1))) - 1)
    return ArgmaxStage(c, layers, sign_plan(bits, margin), scale, spread)


# -- layout of the blocks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Packing:
    """Where the differences sit: ``count`` ciphertexts of ``groups`` shifts, blocks ``width`` slots wide.

    Ciphertext c, block ``gamma C + i`` (slots ``[(gamma C + i) width, (gamma C + i + 1) width)``)
    holds d[m, i] with ``m = c groups + gamma + 1``; unit U = C width.
    """

    classes: int
    width: int
    groups: int
    count: int
    slots: int

    @property
    def unit(self) -> int:
        return self.classes * self.width

    def steps(self) -> list[int]:
        """The rotation steps of the window product (powers of two times U)."""
        return sorted(_window_steps(self.groups, self.unit))

    def layout(self, c: int) -> np.ndarray:
        """Per slot of ciphertext c: the difference column it holds, -1 (pad, step 1) or -2 (empty, step 0)."""
        cols = np.full(self.slots, -2, dtype=np.int64)
        m_total = self.classes - 1
        for gamma in range(self.groups):
            m = c * self.groups + gamma + 1
            for i in range(self.classes):
                start = (gamma * self.classes + i) * self.width
                cols[start : start + self.width] = (m - 1) * self.classes + i if m <= m_total else -1
        return cols


def sample_packing(stage: ArgmaxStage, slots: int) -> Packing:
    """Sample layout: one ciphertext, blocks of one slot, all shifts."""
    return Packing(stage.classes, 1, stage.shifts, 1, slots)


def batch_packing(stage: ArgmaxStage, slots: int) -> Packing:
    """Batch layout: blocks of ``min(batch_size, S / (2 C))`` samples, the most shifts per ciphertext
    (at most ``S / (C b) - 1``, so that the window product reads only empty blocks beyond the last
    shift) for which ``ceil(log2 count) + ceil(log2 groups) = ceil(log2 M)`` (no extra level)."""
    c, m = stage.classes, stage.shifts
    width = max(1, min(stage.batch_size, slots // (2 * c)))
    most = max(1, min(m, slots // (c * width) - 1))
    groups = max(g for g in range(1, most + 1) if _ceil_log2(-(-m // g)) + _ceil_log2(g) == _ceil_log2(m))
    return Packing(c, width, groups, -(-m // groups), slots)


def min_slots(stage: ArgmaxStage) -> int:
    """Slots the sample layout needs: (M + 1) C, so that the window product never wraps around."""
    return (stage.shifts + 1) * stage.classes


# -- ciphertexts --------------------------------------------------------------------------------------


def _window_steps(g: int, unit: int) -> set[int]:
    if g <= 1:
        return set()
    half = 1 << (_ceil_log2(g) - 1)
    return {half * unit} | _window_steps(half, unit) | _window_steps(g - half, unit)


def _window(ops, x, g: int, unit: int, cache: dict):
    """Slot t -> prod_{delta < g} x[t + delta unit], in ceil(log2 g) levels (halves, then one product)."""
    if g <= 1:
        return x
    if g not in cache:
        half = 1 << (_ceil_log2(g) - 1)
        left = _window(ops, x, half, unit, cache)
        right = _window(ops, x, g - half, unit, cache)
        cache[g] = ops.multiply(left, ops.rotator.rotate(right, half * unit))
    return cache[g]


def _step(ops, ct, plan, refresh=None):
    """(1 + sign(x)) / 2 on one ciphertext: ``compare(x, 0)`` (the zero is x - x, exact), plan.depth levels.

    With ``refresh`` (the stage protocol's callback, `nn.encrypted.bootstrap`), the composite is cut
    before every sign stage k >= 1 and ``refresh([ct], k)`` is called there (a bootstrap or a level switch).
    """
    from ckks.circuits.comparison import compare, sign

    n = len(plan.degrees)
    cuts = list(range(n + 1)) if refresh is not None else [0, n]
    for a, b in zip(cuts, cuts[1:]):
        if a > 0:
            ct = refresh([ct], a)[0]
        part = plan if (a, b) == (0, n) else replace(
            plan, degrees=plan.degrees[a:b], coefficients=plan.coefficients[a:b],
            depth=sum(_ceil_log2(d + 1) for d in plan.degrees[a:b]))
        if b < n:
            ct = sign(ct, ops.ev, ops.enc, plan=part)
        else:
            ct = compare(ct, ops.ev.sub(ct, ct), ops.ev, ops.enc, plan=part)
    return ct


def evaluate(ops, stage: ArgmaxStage, packing: Packing, cts: list, refresh=None):
    """Steps of every packed ciphertext, their product, the window product: one output ciphertext.

    Level l -> l - stage.levels (with ``refresh``, the callback of the stage protocol, called before every
    segment k >= 1 of `ArgmaxStage.segments`: the levels the placement states).
    Slot ``i * width + t`` (t < width) of the result holds onehot_i of sample t; every other slot
    holds 0 (up to the error).
    """
    factors = [_step(ops, ct, stage.sign, refresh) for ct in cts]
    if refresh is not None and _ceil_log2(stage.shifts):  # before the product tree
        factors = refresh(factors, len(stage.sign.degrees))
    while len(factors) > 1:  # balanced tree over the ciphertexts
        factors = [ops.multiply(factors[k], factors[k + 1]) if k + 1 < len(factors) else factors[k]
                   for k in range(0, len(factors), 2)]
    return _window(ops, factors[0], packing.groups, packing.unit, {})


def _window_nodes(g: int) -> set[int]:
    """The window sizes the recursion of `_window` computes (one product and one rotation each)."""
    if g <= 1:
        return set()
    half = 1 << (_ceil_log2(g) - 1)
    return {g} | _window_nodes(half) | _window_nodes(g - half)


def costs(stage, packing: Packing) -> dict:
    """Cost row of the linear stage before the arg-max (packed, batch layout) or of the arg-max itself.

    Returns:
        ``{"rotations", "steps", "ct_ct", "ct_pt"}`` per chunk of samples.
    """
    if not isinstance(stage, ArgmaxStage):  # the packed linear stage: one plaintext product per weight vector
        rows = int(np.count_nonzero(np.any(stage.matrix != 0, axis=1)))
        return {"rotations": 0, "steps": [], "ct_ct": 0, "ct_pt": packing.count * rows}
    nodes = len(_window_nodes(packing.groups))
    return {"rotations": nodes, "steps": packing.steps(),
            "ct_ct": packing.count * stage.sign.products + packing.count - 1 + nodes, "ct_pt": 0}


def pad_vector(packing: Packing) -> np.ndarray:
    """Sample layout: what to add to the folded differences so that pads step to 1 and empty slots to 0."""
    cols = packing.layout(0)
    return np.where(cols == -1, 1.0, np.where(cols == -2, -1.0, 0.0))


def packed_differences(ops, matrix: np.ndarray, bias: np.ndarray, packing: Packing, xs: list) -> list:
    """Batch layout: the last linear stage with slot-dependent weights, one ciphertext per packing.count.

    ``out_c[t] = sum_j W_c[j, t] x_j[t] + h_c[t]`` with ``W_c[j, t] = matrix[j, col_c(t)]`` (0 on pads
    and empty blocks) and ``h_c[t]`` the bias of that column, +1 on pads, -1 on empty blocks.
    Each weight vector is encoded at scale q_l, the sum rescaled once by q_l: one level, the
    input scale kept exactly (as the batch layout's integer weights).

    Raises:
        ConfigError: the linear stage before Argmax has only zero weights.
    """
    level = min(x.level for x in xs)
    xs = [x if x.level == level else ops.ev.mod_switch_to(x, level) for x in xs]
    q = ops.params.data_moduli[level]
    out = []
    for c in range(packing.count):
        cols = packing.layout(c)
        valid = cols >= 0
        safe = np.where(valid, cols, 0)
        acc = None
        for j, x in enumerate(xs):
            w = np.where(valid, matrix[j, safe], 0.0)
            if not np.any(w):
                continue
            term = ops.ev.multiply_plain(x, ops.enc.encode(w, float(q), level))
            acc = term if acc is None else ops.ev.add(acc, term)
        h = np.where(valid, bias[safe], np.where(cols == -1, 1.0, -1.0))
        if acc is None:  # no weight at all (not expected): the bias alone
            raise ConfigError("the linear stage before Argmax has no non-zero weight")
        y = ops.ev.rescale(acc).with_scale(xs[0].scale)  # s q / q exactly
        out.append(ops.add_vector(y, h))
    return out


def tile(features: np.ndarray, packing: Packing) -> list[np.ndarray]:
    """Batch layout input: per chunk of ``width`` samples, per feature, the chunk repeated in every block."""
    out = []
    reps = packing.slots // packing.width
    for start in range(0, features.shape[0], packing.width):
        block = np.zeros((packing.width, features.shape[1]))
        chunk = features[start : start + packing.width]
        block[: chunk.shape[0]] = chunk
        out.extend(np.tile(block[:, i], reps) for i in range(features.shape[1]))
    return out


def untile(decrypted: list[np.ndarray], count: int, packing: Packing) -> np.ndarray:
    """Batch layout output: one vector per chunk -> (count, C), class i read from block i."""
    rows = []
    for g, v in enumerate(decrypted):
        n = min(packing.width, count - g * packing.width)
        rows.append(np.stack([v[i * packing.width : i * packing.width + n] for i in range(packing.classes)], axis=1))
    return np.concatenate(rows, axis=0)


def untile_differences(decrypted: list[np.ndarray], count: int, packing: Packing) -> np.ndarray:
    """Batch layout, the packed linear stage's output (``packing.count`` vectors per chunk) -> (count, M C)."""
    rows = []
    for g in range(0, len(decrypted), packing.count):
        n = min(packing.width, count - (g // packing.count) * packing.width)
        out = np.zeros((n, (packing.classes - 1) * packing.classes))
        for c in range(packing.count):
            cols = packing.layout(c)
            for start in range(0, packing.slots - packing.width + 1, packing.width):
                if cols[start] >= 0:
                    out[:, cols[start]] = decrypted[g + c][start : start + n]
        rows.append(out)
    return np.concatenate(rows, axis=0)
