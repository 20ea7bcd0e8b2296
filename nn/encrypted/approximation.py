"""Unmodified activations under encryption: ReLU, MaxPool2d, sigmoid, tanh, GELU and SiLU by polynomials.

``encrypted.compile(model, ..., approximate=True, approx_bits=b, calibration=x)`` keeps a trained
network's non-polynomial layers and evaluates each by a polynomial approximation on the range
recorded on the calibration data (without ``approximate=True`` they are refused, as before).
Every approximation works on a *normalised* input t = x / R in [-1, 1]; the division by R and the
multiplication back are folded into the neighbouring linear layers (free), so the only levels are
those of the polynomials.

**ReLU** (Lee, Lee, Kim, Kim, No and Kang, "Precise approximation of convolutional neural networks
for homomorphically encrypted data", IEEE Access 2023; the sign by Lee, Lee, Kim and No, "Minimax
approximation of sign function by composite polynomial for homomorphic comparison", IEEE TDSC 2021)::

    ReLU(x) = R relu(t),   relu(t) = t (1 + p(t)) / 2,   t = x / R,   R = RANGE_MARGIN max |x|,

with p = p_k o ... o p_1 the composite minimax sign of `ckks.circuits.comparison.sign_plan` (``b`` bits,
margin 2^-b): |p(t) - sign(t)| <= 2^-b for |t| >= 2^-b, so |relu(t) - max(t, 0)| <= plan.maximum_error
(about 2^-b) for every t in [-1, 1], i.e. an error of about R 2^-b in the units of x.  Levels: the
sign's depth D (16 at 12 bits) plus one product.

**MaxPool2d**: a k x k window by pairwise maxima, rows of the window first, then columns::

    max(a, b) = (a + b) / 2 + (a - b) p(a - b) / 2,

each pair one sign evaluation and one product (D + 1 levels), for values normalised by
D_max = RANGE_MARGIN max(hi - lo, |lo|, |hi|) over the recorded range [lo, hi], so that |a - b| <= 1.
A window of k needs ceil(log2 k) rounds per direction (round r pairs positions ``s_r`` apart,
s = 1, 2, 4, ... up to k; a window that is not a power of two overlaps its halves: max is
idempotent), 2 ceil(log2 k) rounds in all; error <= rounds * plan.maximum_error * D_max.

* Sample layout (one sample per ciphertext, features (c, h, w) in slot c H W + h W + w): each round
  is ``m <- max(m, rot(m, s))`` with s a column offset or s W a row offset, one rotation per round;
  afterwards slot (c, s oh, s ow) holds the window maximum (the *anchor*), other slots hold maxima
  of windows that straddle rows (garbage).  The next linear stage reads only the anchors: its
  matrix is spread onto the anchor rows, with zeros elsewhere (free).
* Batch layout (slot = sample, one ciphertext per feature): the same rounds on the feature
  ciphertexts (no rotation), only for the positions an anchor needs; the output is compact.

**Smooth activations** (sigmoid, tanh, GELU, SiLU): the Chebyshev interpolant of f(R t) on [-1, 1]
(`ckks.circuits.chebyshev.fit`), of the smallest degree whose measured error is at most
2^-b max(1, max |f|) on [-R, R]; ceil(log2(d + 1)) levels.

**Outputs** are normalised too (ReLU and max-pool by R, smooth ones by max |f|), so every value a
stage hands on lies in [-1, 1], where a bootstrap is precise; the factor goes into the next linear
stage.  `calibrate` designs the stages on the calibration data and does the folding.

**The bootstrap protocol** (the stage protocol of `nn.encrypted.bootstrap`, which places them): every
stage states ``levels``, ``segments()`` (where a bootstrap may go inside it: before each sign stage
but the first, and before the product) and ``cut_bound(k)`` (max |value|
of what it carries at a cut, <= 1); `ApproxStage.evaluate` takes ``refresh(cts, k)``, called before
segment k >= 1 with everything the stage carries across the cut (ReLU: t and the partial sign;
max-pool: the round's input and the partial signs).  The segments are the sign stages, one each,
and the product (one level), so that no segment is deeper than the deepest sign stage (6 levels
for degree 49: the 128-bit bootstrapping chain restores 6).  The value carried to the product is
the scaled sign g p / 2 (g the output factor), and the product segment computes
t (g p / 2) + (g / 2) t = g t (1 + p) / 2 (max-pool: (a - b) (g p / 2) + (g / 2)(a + b)): a ciphertext
product and a scalar product side by side, one level.  The output factor is nu = max(1, the step's
peak g (1 + p) / 2 (1 + 2^-10)) times smaller than asked (in the last sign stage's coefficients), so
that the output and everything carried stay below 1; `calibrate` folds nu into the next linear stage
with R, or widens the next approximation's range by it (an element-wise polynomial or the end of the
network get a scaling linear stage, one level).

**Zeros stay zeros** (``keeps_zero_tail``, for sparse packing: a sparse bootstrap adds the slots beyond
the tensor into it, `nn.encrypted.bootstrap.sparse_slots`): the sign stages are odd polynomials (no
even Chebyshev coefficient), so a slot where t = 0 holds 0 in t, in every partial sign and in g p / 2,
i.e. in everything a ReLU carries across any cut, and in its output.  The same holds for max-pool in
the batch layout (a - b = a + b = 0 on empty slots); not in the sample layout, whose rotations wrap
features into the top slots.  A smooth activation keeps zeros when its series has p(0) = 0 (tanh, and
the Chebyshev interpolants of GELU and SiLU of even degree, which interpolate f(0) = 0; never sigmoid).

**The plaintext plan** (``em.plan_forward``) evaluates the same polynomials in float64, so the
encrypted outputs match it within ``em.tolerance``; ``summary()`` states every stage's error
against the exact activation.  Values beyond [-R, R] at run time are outside the approximation's
domain: `check_ranges` (called by ``em.encrypt``, where the client still sees its inputs) runs the
plaintext plan and warns (`nn.errors.RangeWarning`) naming the first such layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from nn.activations import GELU, ReLU, Sigmoid, SiLU, Tanh
from nn.errors import ConfigError
from nn.layers import MaxPool2d

#: the calibrated input range is widened by this factor before it is mapped onto [-1, 1]
RANGE_MARGIN = 1.25
#: approx_bits that compile accepts
MIN_BITS, MAX_BITS = 4, 20
#: the highest Chebyshev degree a smooth activation may use
MAX_DEGREE = 255
#: |p(0)| up to this counts as zero (`SmoothStage.keeps_zero_tail`)
ZERO_TAIL = 2.0**-40

Refresh = Callable[[list, int], list]


def check_bits(approx_bits: object) -> int:
    """``approx_bits`` checked: an integer in MIN_BITS .. MAX_BITS.

    Raises:
        ConfigError: another value.
    """
    if isinstance(approx_bits, bool) or not isinstance(approx_bits, (int, np.integer)) or not (
            MIN_BITS <= approx_bits <= MAX_BITS):
        raise ConfigError(f"approx_bits must be an integer from {MIN_BITS} to {MAX_BITS} (bits of precision of the "
                          f"ReLU/max-pool/activation approximations, relative to the calibrated range), "
                          f"got {approx_bits!r}")
    return int(approx_bits)


def _ceil_log2(n: int) -> int:
    return 0 if n <= 1 else math.ceil(math.log2(n))


#: the smooth activations by layer class name: the function
SMOOTH = {"Sigmoid": Sigmoid.function, "Tanh": Tanh.function, "GELU": GELU.function, "SiLU": SiLU.function}


@dataclass
class ApproxStage:
    """What every approximated stage shares (module docstring).

    Attributes:
        layers: the model layer name(s).
        bits: approx_bits.
        in_shape: the shape of one sample at the stage input (C, H, W) or (n,).
        divisor: R, the input is x / R (set by `calibrate`).
        gain: the output factor (folded out again by `calibrate`).
        recorded: (lo, hi), the input range on the calibration data.
        folded: notes for the summary.
    """

    layers: list[str]
    bits: int
    in_shape: tuple[int, ...]
    divisor: float = 1.0
    gain: float = 1.0
    recorded: tuple[float, float] | None = None
    layout: str = "sample"
    folded: list[str] = field(default_factory=list)

    @property
    def valid(self) -> tuple[float, float]:
        """The input interval (units of x) on which the approximation holds: [-R, R]."""
        return -self.divisor, self.divisor

    def levels_for(self, layout: str) -> int:
        return self.levels

    def cut_bound(self, k: int) -> float:
        """Bound on max |value| carried across the cut before segment k >= 1 (<= 1: bootstrap-safe).

        Raises:
            ConfigError: k is not a cut of this stage.
        """
        if not 1 <= k < len(self.segments()):
            raise ConfigError(f"{self.kind} stage {','.join(self.layers)} has cuts 1 .. {len(self.segments()) - 1}, "
                              f"got {k}")
        return self._cut_bound(k)

    def cut_width(self, k: int) -> int:
        """Ciphertexts a bootstrap before segment k refreshes, per input ciphertext (at most): the stage input
        alone before segment 0 and at a max-pool's round boundary (1), else the input and the partial sign (2)."""
        if k == 0 or isinstance(self, SmoothStage):
            return 1
        return 1 if isinstance(self, MaxPoolStage) and k % self._per == 0 else 2

    @property
    def out_gain(self) -> float:
        """The factor the output carries: ``gain`` (sign stages: divided by nu, see `_SignParts.nu`)."""
        return self.gain

    @property
    def carry(self) -> float:
        """c such that the stage output is c times the exact activation's (ReLU, max-pool: out_gain / R)."""
        return self.out_gain / self.divisor

    def set_divisor(self, divisor: float) -> None:
        """Widen R (when the previous stage cannot deliver x / R for free; `calibrate`)."""
        self.divisor = float(divisor)


# -- the sign parts (ReLU, max-pool) ------------------------------------------------------------------------


@dataclass
class _SignParts(ApproxStage):
    """A stage built on the composite sign of `ckks.circuits.comparison`."""

    plan: object = None  # ckks.circuits.comparison.SignPlan

    def _sign_plan(self):
        if self.plan is None:
            from ckks.circuits.comparison import sign_plan

            self.plan = sign_plan(self.bits)
        return self.plan

    def _stages(self, last_scale: float, last_shift: float) -> list[np.ndarray]:
        """The composite's Chebyshev coefficients, the last stage times last_scale plus last_shift."""
        cs = [np.asarray(c, dtype=np.float64) for c in self._sign_plan().coefficients]
        last = cs[-1] * last_scale
        last[0] += last_shift
        return cs[:-1] + [last]

    def _sign_segments(self, prefix: str, product: str) -> list[tuple[str, int]]:
        from ckks.circuits.polynomial import levels_for_degree

        degrees = self._sign_plan().degrees
        out = [(f"{prefix}sign stage {j + 1} (degree {d})", levels_for_degree(d)) for j, d in enumerate(degrees)]
        return out + [(f"{prefix}{product}", 1)]

    @property
    def _per(self) -> int:
        """Segments per composite: one per sign stage, one for the product."""
        return len(self._sign_plan().degrees) + 1

    @property
    def nu(self) -> float:
        """nu >= 1: the output factor ``gain`` is divided by it so that the values carried into the product (gain
        p / 2) and, for ReLU, the step gain (1 + p) / 2, which bounds the output, stay below 1, the bootstrap's
        range; `calibrate` folds the rest into the next linear stage, or widens the next approximation's range."""
        return max(1.0, abs(self.gain) * self._peak_factor() * (1.0 + 2.0**-10))

    @property
    def out_gain(self) -> float:
        return self.gain / self.nu

    def _partial_bound(self) -> float:
        from ckks.circuits.comparison import HEADROOM

        return 1.0 / (1.0 + HEADROOM)


def _odd(stages: list) -> bool:
    """Whether every stage of a composite is odd (no even Chebyshev coefficient): zero stays zero."""
    return all(not np.any(np.asarray(c, dtype=np.float64)[0::2]) for c in stages)


def _chain(y: np.ndarray, stages: list[np.ndarray]) -> np.ndarray:
    for c in stages:
        y = npcheb.chebval(y, c)
    return y


def _chebval(ops, ct, coeffs):
    from ckks.circuits.polynomial import chebval

    return chebval(ct, coeffs, (-1.0, 1.0), ops.ev, ops.enc)


def _times(ops, x, y):
    """x * y one level below y (x switched down to y's level first)."""
    x = ops.ev.mod_switch_to(x, y.level)
    return ops.ev.relinearize_rescale(ops.ev.multiply(x, y))


def _scaled_like(ops, ct, value: float, target):
    """value * ct at target's level and scale exactly (ct one level above target at least)."""
    ct = ops.ev.mod_switch_to(ct, target.level + 1)
    q = ops.params.data_moduli[target.level + 1]
    return ops.ev.rescale(ops.ev.multiply_scalar(ct, value, target.scale * q / ct.scale))


def _signs(ops, carried: list, n: int, stages: list[np.ndarray], first_segment: int, refresh: Refresh | None,
           recompute: Callable[[list], list]) -> tuple[list, list]:
    """Run the composite on the sign inputs; before each later stage and before the product hand everything
    to ``refresh``.

    ``carried`` holds the n ciphertexts the stage keeps (its inputs); ``recompute`` makes the sign
    inputs from them.  Returns (carried, last outputs), possibly refreshed, ready for the product
    (segment first_segment + len(stages)).
    """
    ys = recompute(carried)
    for j, c in enumerate(stages):
        if j and refresh is not None:
            both = refresh(list(carried) + list(ys), first_segment + j)
            carried, ys = both[:n], both[n:]
        ys = [_chebval(ops, y, c) for y in ys]
    if refresh is not None:
        both = refresh(list(carried) + list(ys), first_segment + len(stages))
        carried, ys = both[:n], both[n:]
    return carried, ys




@dataclass
class ReLUStage(_SignParts):
    """ReLU(x) = R t (1 + p(t)) / 2, t = x / R (module docstring)."""

    kind = "relu"

    @property
    def levels(self) -> int:
        return self._sign_plan().maximum_depth

    def segments(self) -> list[tuple[str, int]]:
        """(name, levels) per segment: sign stages 1 .. k, then the product t (1 + p) / 2 (1 level)."""
        return self._sign_segments("", "product t (1 + p) / 2")

    def _cut_bound(self, k: int) -> float:
        # before the product: t and the scaled sign g p / 2; before a sign stage: t and the partial sign
        sign = abs(self.out_gain) * self._sign_plan().bound / 2.0 if k == self._per - 1 else self._partial_bound()
        return max(1.0 / RANGE_MARGIN, sign)

    @property
    def keeps_zero_tail(self) -> bool:
        """Zero slots stay zero in everything carried across every cut and in the output (module docstring):
        the sign stages are odd, and the cut before the product carries g p / 2, not the step g (1 + p) / 2."""
        return _odd(self._sign_plan().coefficients)

    def _peak_factor(self) -> float:
        """max |(1 + p) / 2| on [-1, 1]: the step's peak per unit of gain (it bounds the output |t| (1 + p) / 2,
        and the carried g p / 2)."""
        return (1.0 + self._sign_plan().bound) / 2.0

    @property
    def error(self) -> float:
        """Bound on |output - ReLU(x)| in the units of x, for x in [-R, R]."""
        return self._sign_plan().maximum_error * self.divisor

    def design(self, x: np.ndarray, layout: str) -> None:
        """R from the calibration inputs x (units of x)."""
        self.recorded = (float(np.min(x)), float(np.max(x)))
        self.divisor = RANGE_MARGIN * max(float(np.max(np.abs(x))), 1e-9)
        self.layout = layout

    def forward(self, t: np.ndarray) -> np.ndarray:
        """g t (1 + p(t)) / 2 = t (g p / 2) + (g / 2) t, as `evaluate` computes it."""
        g = self.out_gain
        return t * _chain(t, self._stages(0.5 * g, 0.0)) + 0.5 * g * t

    def out_width(self, width: int) -> int:
        return width

    def evaluate(self, ops, cts: list, refresh: Refresh | None = None) -> list:
        """ReLU on each ciphertext of ``cts`` (all slots), D + 1 levels; ``refresh`` before sign stages 2 ..
        and before the product (everything carried: t and the partial sign, or t and g p / 2).  The product
        segment is t (g p / 2) + (g / 2) t, the ciphertext product and the scalar product both one level.

        Raises:
            LevelError: too few levels (without refresh).
        """
        g = self.out_gain
        carried, signs = _signs(ops, cts, len(cts), self._stages(0.5 * g, 0.0), 0, refresh, lambda xs: list(xs))
        out = []
        for x, s in zip(carried, signs):
            prod = _times(ops, x, s)
            out.append(ops.ev.add(prod, _scaled_like(ops, x, 0.5 * g, prod)))
        return out

    def costs(self, layout: str, width: int) -> dict:
        per = self._sign_plan().products + 1
        times = width if layout == "batch" else 1
        return {"rotations": 0, "steps": [], "ct_ct": per * times, "ct_pt": times}

    def summary_line(self) -> str:
        p = self._sign_plan()
        return (f"{','.join(self.layers)}: ReLU = x (1 + sign(x)) / 2 on [-{self.divisor:.4g}, {self.divisor:.4g}] "
                f"(recorded [{self.recorded[0]:.4g}, {self.recorded[1]:.4g}] x {RANGE_MARGIN}); sign {p.bits} bits, "
                f"degrees {list(p.degrees)}, {self.levels} levels; error <= {self.error:.3g}")


@dataclass
class MaxPoolStage(_SignParts):
    """k x k max-pooling by rounds of pairwise maxima (module docstring)."""

    kernel: int = 2
    stride: int = 2
    #: sample layout: the value the slots beyond the features hold (0 after a linear stage, f(0) after an
    #: activation f), which the rotations bring into the windows that straddle the end (garbage slots)
    pad: float = 0.0

    kind = "maxpool"

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        return c, (h - self.kernel) // self.stride + 1, (w - self.kernel) // self.stride + 1

    def _offsets(self) -> list[int]:
        """Flat offsets of the rounds: column offsets, then row offsets times W."""
        steps, w = [], 1
        while w < self.kernel:
            s = min(w, self.kernel - w)
            steps.append(s)
            w += s
        return steps + [s * self.in_shape[2] for s in steps]

    def anchors(self) -> np.ndarray:
        """Flat input indices (c, s oh, s ow) where the window maxima end up."""
        c, h, w = self.in_shape
        _, oh, ow = self.out_shape
        ch, i, j = np.meshgrid(np.arange(c), np.arange(oh) * self.stride, np.arange(ow) * self.stride, indexing="ij")
        return (ch * h * w + i * w + j).reshape(-1)

    @property
    def rounds(self) -> int:
        return len(self._offsets())

    @property
    def levels(self) -> int:
        return self.rounds * self._sign_plan().maximum_depth

    def segments(self) -> list[tuple[str, int]]:
        """(name, levels) per segment: per round, sign stages 1 .. k, then the product (1 level)."""
        out = []
        for r in range(self.rounds):
            out += self._sign_segments(f"round {r + 1}: ", "product (a - b) p(a - b) / 2 and the half sum")
        return out

    def _cut_bound(self, k: int) -> float:
        lo, hi = self.recorded if self.recorded else (-1.0, 1.0)
        r, j = divmod(k, self._per)
        inner = abs(self._half(r)) * self._sign_plan().bound if j == self._per - 1 else self._partial_bound()
        return max(max(abs(lo), abs(hi), hi - lo) / self.divisor, inner)

    def _peak_factor(self) -> float:
        """max |p / 2| on [-1, 1]: the carried half sign's peak per unit of gain (last round)."""
        return self._sign_plan().bound / 2.0

    @property
    def keeps_zero_tail(self) -> bool:
        """Batch layout: zero slots stay zero (a - b = a + b = 0 there, odd signs); sample layout: no, the
        rotations wrap features into the top slots (module docstring)."""
        return self.layout == "batch" and _odd(self._sign_plan().coefficients)

    @property
    def error(self) -> float:
        """Bound on |output - max| in the units of x: rounds * maximum_error * D_max."""
        return self.rounds * self._sign_plan().maximum_error * self.divisor

    def design(self, x: np.ndarray, layout: str) -> None:
        lo, hi = float(np.min(x)), float(np.max(x))
        self.recorded = (lo, hi)
        self.divisor = RANGE_MARGIN * max(hi - lo, abs(lo), abs(hi), 1e-9)
        self.layout = layout

    def _round_stages(self, r: int) -> list[np.ndarray]:
        return self._stages(self._half(r), 0.0)

    def _half(self, r: int) -> float:
        return 0.5 * (self.out_gain if r == self.rounds - 1 else 1.0)

    def forward(self, t: np.ndarray) -> np.ndarray:
        """(n, C H W) -> sample layout: (n, C H W) with the maxima at the anchors; batch: (n, C OH OW)."""
        n, width = t.shape
        pad = sum(self._offsets())
        m = np.concatenate([t, np.full((n, pad), self.pad)], axis=1)
        for r, s in enumerate(self._offsets()):
            a, b = m[:, : m.shape[1] - s], m[:, s:]
            d = a - b
            m = d * _chain(d, self._round_stages(r)) + self._half(r) * (a + b)
        m = m[:, :width]
        return m if self.layout == "sample" else m[:, self.anchors()]

    def out_width(self, width: int) -> int:
        return width if self.layout == "sample" else len(self.anchors())

    def _needed(self) -> list[list[int]]:
        """Per round, the positions whose values the anchors need (batch layout); last: the anchors."""
        need = [sorted(self.anchors().tolist())]
        for s in reversed(self._offsets()):
            need.insert(0, sorted(set(need[0]) | {p + s for p in need[0]}))
        return need

    def evaluate(self, ops, cts: list, refresh: Refresh | None = None) -> list:
        """The window maxima.  Sample layout: each ciphertext of ``cts`` one sample; batch: ``cts`` the features.

        Raises:
            LevelError: too few levels (without refresh).
            KeyMissingError: a rotation key is missing (sample layout).
        """
        if self.layout == "sample":
            return [self._sample(ops, ct, refresh) for ct in cts]
        need = self._needed()
        values = {p: cts[p] for p in need[0]}
        per = self._per
        for r, s in enumerate(self._offsets()):
            if r and refresh is not None:
                keys = sorted(values)
                values = dict(zip(keys, refresh([values[p] for p in keys], r * per)))
            pairs = need[r + 1]
            keys = sorted({p for p in pairs} | {p + s for p in pairs})
            carried = [values[p] for p in keys]
            index = {p: i for i, p in enumerate(keys)}

            def diffs(cs, pairs=pairs, index=index, s=s):
                return [ops.ev.sub(cs[index[p]], cs[index[p + s]]) for p in pairs]

            carried, signs = _signs(ops, carried, len(carried), self._round_stages(r), r * per, refresh, diffs)
            ds = diffs(carried)
            half = self._half(r)
            values = {}
            for p, d, sg in zip(pairs, ds, signs):
                prod = _times(ops, d, sg)
                total = ops.ev.add(carried[index[p]], carried[index[p + s]])
                values[p] = ops.ev.add(prod, _scaled_like(ops, total, half, prod))
        return [values[p] for p in need[-1]]

    def _sample(self, ops, ct, refresh: Refresh | None):
        per = self._per
        m = ct
        for r, s in enumerate(self._offsets()):
            if r and refresh is not None:
                (m,) = refresh([m], r * per)

            def diffs(cs, s=s):
                return [ops.ev.sub(cs[0], ops.rotator.rotate(cs[0], s))]

            (m,), (sg,) = _signs(ops, [m], 1, self._round_stages(r), r * per, refresh, diffs)
            b = ops.rotator.rotate(m, s)
            prod = _times(ops, ops.ev.sub(m, b), sg)
            m = ops.ev.add(prod, _scaled_like(ops, ops.ev.add(m, b), self._half(r), prod))
        return m

    def rotation_steps(self) -> list[int]:
        return sorted(set(self._offsets())) if self.layout == "sample" else []

    def costs(self, layout: str, width: int) -> dict:
        per = self._sign_plan().products + 1
        if layout == "sample":
            return {"rotations": self.rounds, "steps": self.rotation_steps(), "ct_ct": per * self.rounds, "ct_pt": 0}
        maxima = sum(len(p) for p in self._needed()[1:])
        return {"rotations": 0, "steps": [], "ct_ct": per * maxima, "ct_pt": 0}

    def summary_line(self) -> str:
        p = self._sign_plan()
        return (f"{','.join(self.layers)}: max-pool {self.kernel}x{self.kernel}/{self.stride} by {self.rounds} "
                f"rounds of max(a, b) = (a + b + (a - b) sign(a - b)) / 2 on values / {self.divisor:.4g} (recorded "
                f"[{self.recorded[0]:.4g}, {self.recorded[1]:.4g}]); sign {p.bits} bits, degrees {list(p.degrees)}, "
                f"{self.levels} levels; error <= {self.error:.3g}")


@dataclass
class SmoothStage(ApproxStage):
    """A smooth activation f by its Chebyshev interpolant on [-R, R] (module docstring)."""

    function: str = "Sigmoid"
    coefficients: np.ndarray | None = None
    fit_error: float = 0.0
    peak: float = 1.0

    kind = "smooth"

    @property
    def degree(self) -> int:
        return 0 if self.coefficients is None else len(self.coefficients) - 1

    @property
    def levels(self) -> int:
        from ckks.circuits.polynomial import levels_for_degree

        return levels_for_degree(self.degree) if self.coefficients is not None else 1

    def segments(self) -> list[tuple[str, int]]:
        """One segment: the series is not cut."""
        return [(f"{self.function} (Chebyshev degree {self.degree})", self.levels)]

    def _cut_bound(self, k: int) -> float:  # no cut
        return 1.0

    @property
    def carry(self) -> float:
        return self.gain

    @property
    def error(self) -> float:
        """The measured max |p - f| on [-R, R] (units of f)."""
        return self.fit_error

    def design(self, x: np.ndarray, layout: str) -> None:
        """R from the calibration inputs; the degree for 2^-bits max(1, max |f|).

        Raises:
            ConfigError: no degree up to MAX_DEGREE reaches the precision.
        """
        self.recorded = (float(np.min(x)), float(np.max(x)))
        self.layout = layout
        self.set_divisor(RANGE_MARGIN * max(float(np.max(np.abs(x))), 1e-9))
        self.gain = 1.0 / max(1.0, self.peak)

    def set_divisor(self, divisor: float) -> None:
        """R, and the series fitted on [-R, R].

        Raises:
            ConfigError: no degree up to MAX_DEGREE reaches the precision.
        """
        from ckks.circuits.chebyshev import fit

        self.divisor = r = float(divisor)
        f = SMOOTH[self.function]
        grid = np.linspace(-r, r, 4097)
        self.peak = max(float(np.max(np.abs(f(grid)))), 1e-12)
        target = 2.0 ** -self.bits * max(1.0, self.peak)
        chosen = None
        for k in range(1, _ceil_log2(MAX_DEGREE + 1) + 1):  # the level count first, then the lowest degree in it
            top = fit(f, (-r, r), (1 << k) - 1)
            if top.max_error <= target:
                chosen = top
                for d in range(1 << (k - 1), (1 << k) - 1):
                    low = fit(f, (-r, r), d)
                    if low.max_error <= target:
                        chosen = low
                        break
                break
        if chosen is None:
            raise ConfigError(
                f"layer {','.join(self.layers)}: {self.function} on [-{r:.4g}, {r:.4g}] needs a Chebyshev degree above "
                f"{MAX_DEGREE} for approx_bits={self.bits}; compile with a smaller approx_bits")
        self.coefficients = np.asarray(chosen.coefficients, dtype=np.float64)
        self.fit_error = float(chosen.max_error)

    def _series(self) -> np.ndarray:
        return self.coefficients * self.gain

    @property
    def keeps_zero_tail(self) -> bool:
        """Whether zero slots stay zero: |p(0)| <= ZERO_TAIL (module docstring; a sparse bootstrap adds at most
        2^14 such slots into one, ZERO_TAIL 2^14 = 2^-26 is far below its precision); sigmoid never."""
        return self.coefficients is not None and abs(float(npcheb.chebval(0.0, self._series()))) <= ZERO_TAIL

    def forward(self, t: np.ndarray) -> np.ndarray:
        return npcheb.chebval(t, self._series())

    def out_width(self, width: int) -> int:
        return width

    def evaluate(self, ops, cts: list, refresh: Refresh | None = None) -> list:
        """The series on each ciphertext (no cut, so ``refresh`` is never called).

        Raises:
            LevelError: too few levels.
        """
        return [_chebval(ops, ct, self._series()) for ct in cts]

    def costs(self, layout: str, width: int) -> dict:
        from ckks.circuits.polynomial import plan_polynomial

        plan = plan_polynomial(self._series(), "chebyshev")
        times = width if layout == "batch" else 1
        return {"rotations": 0, "steps": [], "ct_ct": plan.products * times,
                "ct_pt": plan.scalar_multiplications * times}

    def summary_line(self) -> str:
        return (f"{','.join(self.layers)}: {self.function} by a Chebyshev series of degree {self.degree} on "
                f"[-{self.divisor:.4g}, {self.divisor:.4g}] (recorded [{self.recorded[0]:.4g}, {self.recorded[1]:.4g}]"
                f" x {RANGE_MARGIN}), {self.levels} levels; error <= {self.error:.3g}")


APPROX_STAGES = (ReLUStage, MaxPoolStage, SmoothStage)


def stage_for(layer, name: str, bits: int, shape: tuple[int, ...]) -> ApproxStage:
    """The approximated stage of a ReLU, MaxPool2d or smooth activation layer (not yet designed)."""
    if isinstance(layer, MaxPool2d):
        return MaxPoolStage([name], bits, tuple(shape), kernel=layer.kernel_size, stride=layer.stride)
    kind = type(layer).__name__
    if kind in SMOOTH:
        return SmoothStage([name], bits, tuple(shape), function=kind)
    return ReLUStage([name], bits, tuple(shape))


def is_approximated(layer) -> bool:
    """Whether ``approximate=True`` evaluates ``layer`` by a polynomial approximation here."""
    return isinstance(layer, (ReLU, MaxPool2d)) or type(layer).__name__ in SMOOTH


# -- calibration and folding -------------------------------------------------------------------------------


def _affine(stage) -> bool:
    return getattr(stage, "kind", None) == "affine"


def _scale_output(stage, factor: float) -> None:
    """Multiply a stage's output by ``factor`` (folded into its matrix or its polynomials: free)."""
    if _affine(stage):
        stage.matrix, stage.bias = stage.matrix * factor, stage.bias * factor
    else:
        stage.gain *= factor


def calibrate(stages: list, feats: np.ndarray, layout: str) -> list:
    """Design every approximated stage on the calibration features and fold the normalisations.

    Walks the stages in order with the calibration values: an approximated stage takes its range
    from its (exact-units) input, the previous stage's output is divided by R (affine matrix or
    polynomial gain; a sign stage, whose carried step must stay below 1, may deliver less, and R is
    widened to match), and its own output factor is multiplied back into the next linear stage
    (or undone before any other stage, by a scaling linear stage where the gain cannot).  In the
    sample layout a max-pool's anchors are selected by the next linear stage's matrix (a selection
    stage is inserted when no linear stage follows before the next max-pool or the end).

    Args:
        stages: the plan's stages (the first affine), possibly ending with a soft-argmax/arg-max marker tuple.
        feats: the calibration features (n, features).
        layout: "sample" or "batch".

    Returns:
        The stage list (stages may be inserted).

    Raises:
        ConfigError: a smooth activation cannot reach approx_bits (see `SmoothStage.design`).
    """
    # the first stage is an AffineStage (compile inserts an identity otherwise); its class makes the selection
    # stages, so that this module does not import nn.encrypted.plan, which imports it
    AffineStage = type(stages[0])  # noqa: N806
    x = np.asarray(feats, dtype=np.float64)
    carry = 1.0  # x == exact values * carry
    anchors = None  # sample layout after a max-pool: the features sit at these slots
    pad = 0.0  # sample layout: the value of the slots beyond the features
    out: list = []

    def exact_units(note: str) -> None:
        """Make the last stage's output exact (carry 1): its own factor, or a scaling stage (1 level)."""
        nonlocal x, carry, pad
        if carry == 1.0:
            return
        prev = out[-1]
        _scale_output(prev, 1.0 / carry)
        got = prev.carry if isinstance(prev, APPROX_STAGES) else 1.0
        x, pad, carry = x / carry, pad / carry, 1.0
        if abs(got - 1.0) > 1e-12:  # a sign stage's step must stay below 1: one linear stage undoes the rest
            out.append(AffineStage(np.eye(x.shape[1]) / got, np.zeros(x.shape[1]), ["rescale"], folded=[note]))
            pad = 0.0

    for st in stages:
        if isinstance(st, tuple) or isinstance(st, MaxPoolStage) and anchors is not None:
            if anchors is not None:  # compact the anchors (one level)
                sel = AffineStage(np.eye(x.shape[1])[:, anchors] / carry, np.zeros(len(anchors)), ["select"],
                                  folded=["max-pool anchors gathered (no linear layer follows)"])
                out.append(sel)
                x, carry, anchors, pad = x[:, anchors] / carry, 1.0, None, 0.0
        if isinstance(st, tuple):
            exact_units(f"undoes the normalisation before {st[2]}")
            out.append(st)
            continue
        if isinstance(st, APPROX_STAGES):
            exact = x / carry
            st.design(exact, layout)
            prev = out[-1]
            _scale_output(prev, 1.0 / (st.divisor * carry))
            got = prev.carry if isinstance(prev, APPROX_STAGES) else 1.0 / st.divisor  # x == exact * got now
            if abs(got * st.divisor - 1.0) > 1e-12:  # the previous sign stage keeps its step below 1
                st.set_divisor(1.0 / got)
                st.folded.append(f"range widened to {st.divisor:.4g} (the previous step stays below 1)")
            prev.folded.append(f"divided by {st.divisor:.4g} for {','.join(st.layers)}")
            pad_in = pad / carry * got  # the garbage slots are scaled with the features
            if isinstance(st, MaxPoolStage):
                st.pad = pad_in
            x = st.forward(exact * got)
            pad = float(st.forward(np.full((1, exact.shape[1] if isinstance(st, MaxPoolStage) else 1), pad_in))[0, -1])
            carry = st.carry
            if isinstance(st, MaxPoolStage) and layout == "sample":
                anchors = st.anchors()
        elif _affine(st):
            if anchors is not None:
                spread = np.zeros((x.shape[1], st.matrix.shape[1]))
                spread[anchors] = st.matrix
                st.matrix = spread
                st.folded.append("reads the max-pool anchors")
                anchors = None
            if carry != 1.0:
                st.matrix = st.matrix / carry
                st.folded.append(f"times {1.0 / carry:.4g} (undoes the previous normalisation)")
            carry, pad = 1.0, 0.0
            x = st.forward(x)
        else:  # another element-wise stage (a polynomial): exact units first
            exact_units(f"undoes the normalisation before {','.join(st.layers)}")
            x = st.forward(x)
            pad = float(st.forward(np.array([[pad]]))[0, 0])
        out.append(st)
    if anchors is not None:
        out.append(AffineStage(np.eye(x.shape[1])[:, anchors] / carry, np.zeros(len(anchors)), ["select"],
                               folded=["max-pool anchors gathered (last layer)"]))
    else:
        exact_units("undoes the normalisation (last layer)")
    return out


# -- run-time range check --------------------------------------------------------------------------------


def check_ranges(stages: list, feats: np.ndarray) -> tuple[str, float, tuple[float, float]] | None:
    """The first approximated layer whose input leaves the interval its polynomial is valid on.

    Runs the plaintext plan on the client's features; an approximation holds on [-R, R], the
    recorded range widened by RANGE_MARGIN (module docstring).

    Args:
        stages: the compiled stages.
        feats: (n, features) as the first stage reads them.

    Returns:
        (layer names, the largest |input| seen, the valid interval) or None when every input fits.
    """
    x = np.asarray(feats, dtype=np.float64)
    for st in stages:
        if isinstance(st, APPROX_STAGES) and x.size:
            t = float(np.max(np.abs(x)))  # x is t = value / R here
            if isinstance(st, MaxPoolStage):  # the differences too: |a - b| <= 1
                t = max(t, float(np.max(np.ptp(x, axis=1))))
            if t > 1.0 + 1e-9:
                return ",".join(st.layers), t * st.divisor, st.valid
        x = st.forward(x)
    return None
