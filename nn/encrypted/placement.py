"""Where to bootstrap, and at which level to run every segment: a dynamic programme over the chain.

A compiled plan is a chain of *segments* (`Segment`): every stage cut at the points where a bootstrap may
go inside it (``stage.segments()``, the stage protocol of the deep-networks issue: an affine or polynomial
stage is one segment, the arg-max one per sign stage plus its product tree, a ReLU one per sign stage).
Segment j consumes ``d_j`` levels.  Fresh ciphertexts start at level ``L_0`` and a bootstrap returns
``L_c`` levels (``compute_levels`` of the bootstrapping chain).

**The model of latency** (`CostModel`).  Every homomorphic operation on a ciphertext at level l costs time
proportional to its number of limbs l + 1 (RNS: one NTT-domain polynomial per prime) and to N: a
ciphertext-ciphertext product with relinearisation and rescale costs ``MUL_SECONDS`` per limb at
N = 4096, a rotation ``ROT_SECONDS``, a plaintext product ``PT_SECONDS``.  The constants were measured
on this project's 2-core machines (numba kernels, one thread)::

    N = 4096, level 8 (9 limbs + 1 special):  multiply+relinearize+rescale 10.7 ms,  rotate 8.5 ms,
    multiply_plain 0.58 ms  ->  1.2 ms, 0.95 ms, 0.065 ms per limb
    teaching bootstrap (N = 4096, 24 primes): 1.28 s with 2048 slots, 0.83 s with 64 slots (sparse)
    "128" bootstrap (N = 2^16, one thread): 16.2 s (the bootstrapping issue's benchmark)

(on a quiet machine; with the seven engineers' jobs running, products and rotations measured up to 2x
slower, plaintext products and sparse bootstraps about the same: the placement depends on the ratios)

(``python benchmarks/bench_placement_costs.py`` measures them again: ``ckks.Context(4096, [60] + [40] * 8
+ [60], 40)`` and ``Context.for_bootstrapping("teaching", slots=...)``, best of a few runs after a warm-up).
A segment of d levels entered at level l costs ``work * (l + 1 - (d - 1) / 2)``: ``work`` is its operations'
seconds per limb (the layout's rotation and product counts, `operation_work`), and its operations run at levels
l, l - 1, ..., l - d + 1.  Switching a ciphertext down a level (dropping a prime in NTT form) is free.
A bootstrap point costs `CostModel.bootstrap_seconds` per bootstrap it runs, whatever the input level
(ModRaise starts from level 0): the executor refreshes the c ciphertexts of a segment two at a time, one
bootstrap of a + i b per pair (``Bootstrapper.bootstrap_pair``: the values are real, and one complex slot holds
two reals), so a point costs ceil(c / 2) bootstraps (`Segment.bootstraps`).

**The programme** (as Orion, Ebel et al., ASPLOS 2025, over a chain rather than a graph).  State
(j, l): before segment j, the ciphertexts at level l.  Choices before segment j (j >= 1):

* bootstrap or not.  A bootstrap needs ``pre_j`` levels left (a scalar product that scales the values
  into the bootstrap's precise range |z| <= 1, unless folded into the previous linear stage) and
  leaves ``L_c - post_j`` (the product that scales them back, unless folded into the next one);
* the level r <= l at which segment j runs (switching down early makes it and what follows cheaper),
  with r >= d_j;

cost(j, l) = min over the choices of [bootstrap cost] + work_j (r + 1 - (d_j - 1) / 2) + cost(j + 1, r - d_j),
and cost(n, l) = 0.  It has n (L + 1)^2 transitions: microseconds for any network.

**The naive policy** (`naive`): run every segment at the level the ciphertexts have, and bootstrap only
when the next segment does not fit (or a bootstrap would not fit after it); `Placement` states its
bootstrap count and modelled cost next to the optimum's.

`level_profile` gives, for a compiled model, the level along the network before and after placement
(for the tutorial's plot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nn.errors import ConfigError

#: Seconds per limb at N = 4096 of one ciphertext-ciphertext product with relinearisation and rescale.
MUL_SECONDS = 1.2e-3
#: Seconds per limb at N = 4096 of one rotation (key switch and automorphism).
ROT_SECONDS = 0.95e-3
#: Seconds per limb at N = 4096 of one plaintext (or scalar) product.
PT_SECONDS = 0.065e-3
#: Measured bootstraps: preset -> (N, primes in the chain incl. special, seconds with full packing).
BOOTSTRAP_SECONDS = {"teaching": (4096, 24, 1.28), "128": (65536, 0, 16.2)}
#: A sparse bootstrap (n <= N/4 slots: EvalMod once, shorter DFTs) relative to a full one (measured 0.83 / 1.28).
SPARSE_FACTOR = 0.65
#: The ring degree the per-limb constants were measured at.
REFERENCE_DEGREE = 4096


class PlacementError(ConfigError):
    """No placement exists: a segment needs more levels than a bootstrap restores."""


@dataclass(frozen=True)
class Segment:
    """One piece of the chain between two points where a bootstrap may go.

    Attributes:
        name: what it is, for the summary (``"stage 3 (relu): sign stage 1"``).
        stage: index of its stage in the plan.
        part: k, its index inside the stage (0 = the stage's first segment).
        levels: d, the levels it consumes.
        work: its operations' modelled seconds per limb (`segment_work`).
        ciphertexts: how many ciphertexts a bootstrap before it refreshes (`bootstraps`: how many bootstraps).
        pre: levels a bootstrap before it needs first (1: the values are scaled into [-1, 1] by a product).
        post: levels a bootstrap before it consumes after (1: the values are scaled back by a product).
        bound: max |value| at the point before it (the calibrated range, or the stage's ``cut_bound``).
    """

    name: str
    stage: int
    part: int
    levels: int
    work: float = 0.0
    ciphertexts: int = 1
    pre: int = 0
    post: int = 0
    bound: float = 1.0

    @property
    def bootstraps(self) -> int:
        """Bootstraps that refresh its ``ciphertexts``: ceil(c / 2), two real ciphertexts per bootstrap (a + i b,
        ``ckks`` ``Bootstrapper.bootstrap_pair``; an odd one out alone)."""
        return -(-self.ciphertexts // 2)


@dataclass(frozen=True)
class CostModel:
    """Modelled seconds (module docstring).

    Attributes:
        poly_degree: N.
        bootstrap_seconds: one bootstrap (of one ciphertext, or of a pair packed as a + i b).
    """

    poly_degree: int
    bootstrap_seconds: float = 0.0

    def segment_seconds(self, segment: Segment, level: int) -> float:
        """A segment run from ``level``: work * (l + 1 - (d - 1) / 2), scaled by N / 4096."""
        limbs = level + 1 - (segment.levels - 1) / 2.0
        return segment.work * limbs * self.poly_degree / REFERENCE_DEGREE


def operation_work(rotations: float, products: float, plain_products: float) -> float:
    """Seconds per limb (at N = 4096) of a group of operations: the constants of the module docstring."""
    return rotations * ROT_SECONDS + products * MUL_SECONDS + plain_products * PT_SECONDS


def bootstrap_seconds(preset: str, poly_degree: int, primes: int, full_packing: bool) -> float:
    """Modelled seconds of one bootstrap: the measured preset's, scaled by N and the number of primes.

    Args:
        preset: "teaching" or "128".
        poly_degree: N of the chain.
        primes: primes of the chain (data and special).
        full_packing: False for sparse packing (`SPARSE_FACTOR`).

    Returns:
        Seconds.
    """
    n0, primes0, seconds = BOOTSTRAP_SECONDS.get(preset, BOOTSTRAP_SECONDS["teaching"])
    ratio = (poly_degree / n0) * (primes / primes0 if primes0 else 1.0)
    return seconds * ratio * (1.0 if full_packing else SPARSE_FACTOR)


@dataclass
class Placement:
    """The chosen bootstraps and levels, and the naive policy's for comparison.

    Attributes:
        segments: the chain.
        bootstraps: indices of the segments a bootstrap precedes.
        run_levels: per segment, the level it is run at (after any bootstrap and early switch down).
        cost: modelled seconds of the whole chain (segments and bootstraps).
        bootstrap_cost: modelled seconds of the bootstraps alone.
        start_level: L_0, the level of fresh ciphertexts.
        restored_level: L_c, the level a bootstrap returns.
        naive_bootstraps: bootstrap count of the naive "bootstrap when empty" policy (None: infeasible).
        naive_cost: its modelled seconds.
    """

    segments: list[Segment]
    bootstraps: list[int]
    run_levels: list[int]
    cost: float
    bootstrap_cost: float
    start_level: int
    restored_level: int
    naive_bootstraps: int | None = None
    naive_cost: float | None = None

    @property
    def output_level(self) -> int:
        """The level of the outputs."""
        return self.run_levels[-1] - self.segments[-1].levels if self.segments else self.start_level

    def levels_in(self) -> list[int]:
        """Per segment, the level of the ciphertexts arriving at it (before any bootstrap or switch)."""
        out, level = [], self.start_level
        for seg, run in zip(self.segments, self.run_levels):
            out.append(level)
            level = run - seg.levels
        return out

    def at(self, stage: int, part: int) -> tuple[bool, int] | None:
        """(bootstrap before, run level) of the segment (stage, part), or None if there is no such segment."""
        for j, seg in enumerate(self.segments):
            if seg.stage == stage and seg.part == part:
                return j in self.bootstraps, self.run_levels[j]
        return None


def stage_levels(stage, layout: str) -> int:
    """Levels a stage consumes in a layout (the soft-argmax's depend on it)."""
    if hasattr(stage, "levels_for"):
        return int(stage.levels_for(layout))
    return int(stage.levels)


def segments(stage, layout: str = "sample") -> list[tuple[str, int]]:
    """The stage cut where a bootstrap may go: ``stage.segments()``, or the whole stage as one piece."""
    cut = getattr(stage, "segments", None)
    if callable(cut):
        return [(str(name), int(levels)) for name, levels in cut()]
    return [(stage.kind, stage_levels(stage, layout))]


def segment_label(i: int, stage, name: str, pieces: int) -> str:
    """The name of piece ``name`` of stage i in summaries: ``"stage 3 (relu): sign stage 2"``."""
    mode = getattr(stage, "mode", None)
    kind = f"{stage.kind}:{mode}" if stage.kind == "poly" and mode else stage.kind
    return f"stage {i} ({kind})" + (f": {name}" if pieces > 1 else "")


def check_chain(segments: list[Segment], restored_level: int) -> None:
    """Every segment must fit the level a bootstrap restores.

    Raises:
        PlacementError: a segment needs more levels than ``restored_level``.
    """
    for seg in segments:
        if seg.levels > restored_level:
            raise PlacementError(
                f"{seg.name} needs {seg.levels} levels, more than the {restored_level} a bootstrap restores: no "
                "placement of bootstraps can run it; use a bootstrapping chain with more compute levels, or lower "
                "the precision of this stage (a smaller approx_bits or a larger argmax_margin)"
            )


def place(segments: list[Segment], start_level: int, restored_level: int, model: CostModel,
          allow_bootstraps: bool = True) -> Placement:
    """The cheapest placement (module docstring), by dynamic programming over (segment, level).

    Args:
        segments: the chain, in order.
        start_level: L_0, the level of fresh ciphertexts.
        restored_level: L_c, the level after a bootstrap.
        model: the cost model.
        allow_bootstraps: False: the chain must fit ``start_level`` (levels are still chosen).

    Returns:
        The placement, with the naive policy's count and cost.

    Raises:
        PlacementError: no placement exists (a segment deeper than ``restored_level``, or without bootstraps
            a chain deeper than ``start_level``).
    """
    if allow_bootstraps:
        check_chain(segments, restored_level)
    top = max(start_level, restored_level)
    n = len(segments)
    inf = math.inf
    # best[j][l]: cheapest cost of segments j.. from level l before segment j; choice[j][l]: (boot, run level)
    best = [[inf] * (top + 1) for _ in range(n + 1)]
    choice: list[list[tuple[bool, int] | None]] = [[None] * (top + 1) for _ in range(n)]
    best[n] = [0.0] * (top + 1)
    boot_cost = [model.bootstrap_seconds * seg.bootstraps for seg in segments]
    for j in range(n - 1, -1, -1):
        seg = segments[j]
        for level in range(top + 1):
            options = [(False, level, 0.0)]
            if allow_bootstraps and j > 0 and level >= seg.pre:
                options.append((True, restored_level - seg.post, boot_cost[j]))
            for boot, avail, extra in options:
                for run in range(seg.levels, avail + 1):
                    rest = best[j + 1][run - seg.levels]
                    if rest == inf:
                        continue
                    total = extra + model.segment_seconds(seg, run) + rest
                    if total < best[j][level] - 1e-15:
                        best[j][level] = total
                        choice[j][level] = (boot, run)
    if n and best[0][start_level] == inf:
        need = sum(seg.levels for seg in segments)
        for j, seg in enumerate(segments):
            around = seg.post + seg.levels + (segments[j + 1].pre if j + 1 < n else 0)
            if allow_bootstraps and around > restored_level:
                raise PlacementError(
                    f"{seg.name} needs {seg.levels} levels, and with the scaling products around the bootstraps "
                    f"before and after it {around}, more than the {restored_level} a bootstrap restores; use a "
                    "bootstrapping chain with more compute levels"
                )
        raise PlacementError(
            f"the chain needs {need} levels and the ciphertexts start at level {start_level}"
            + ("" if allow_bootstraps else " without bootstraps")
            + "; no placement runs it"
        )
    boots, runs, level = [], [], start_level
    for j in range(n):
        boot, run = choice[j][level]
        if boot:
            boots.append(j)
        runs.append(run)
        level = run - segments[j].levels
    spent = sum(boot_cost[j] for j in boots)
    result = Placement(list(segments), boots, runs, best[0][start_level] if n else 0.0, spent, start_level,
                       restored_level)
    if allow_bootstraps:
        result.naive_bootstraps, result.naive_cost = naive(segments, start_level, restored_level, model)
    return result


def naive(segments: list[Segment], start_level: int, restored_level: int,
          model: CostModel) -> tuple[int | None, float | None]:
    """The naive policy: run at the level the ciphertexts have; bootstrap when the next segment does not fit.

    A bootstrap goes before segment j when the level left is below d_j, or when running segment j would leave
    less than a bootstrap before segment j + 1 needs while segment j + 1 would not fit either.

    Args:
        segments: the chain.
        start_level: L_0.
        restored_level: L_c.
        model: the cost model.

    Returns:
        (bootstraps, modelled seconds), or (None, None) when this policy gets stuck.
    """
    level, count, cost = start_level, 0, 0.0
    for j, seg in enumerate(segments):
        nxt = segments[j + 1] if j + 1 < len(segments) else None
        stuck_next = nxt is not None and level - seg.levels < nxt.levels and level - seg.levels < nxt.pre
        if j > 0 and (level < seg.levels or stuck_next):
            if level < seg.pre:
                return None, None
            count += 1
            cost += model.bootstrap_seconds * seg.bootstraps
            level = restored_level - seg.post
        if level < seg.levels:
            return None, None
        cost += model.segment_seconds(seg, level)
        level -= seg.levels
    return count, cost


def chain_cost(segments: list[Segment], start_level: int, model: CostModel) -> float:
    """Modelled seconds of the chain without bootstraps, every segment at the level the ciphertexts have.

    Args:
        segments: the chain.
        start_level: the level of fresh ciphertexts (the plan's depth for a chain without bootstraps).
        model: the cost model.

    Returns:
        Seconds.

    Raises:
        PlacementError: the chain is deeper than ``start_level``.
    """
    need = sum(seg.levels for seg in segments)
    if need > start_level:
        raise PlacementError(f"the chain needs {need} levels and the ciphertexts start at level {start_level} "
                             "without bootstraps; no placement runs it")
    cost, level = 0.0, need  # a longer chain is switched down first: every later segment is then cheaper
    for seg in segments:
        cost += model.segment_seconds(seg, level)
        level -= seg.levels
    return cost


def level_profile(em) -> dict:
    """The level along a compiled network, before and after placement (the tutorial's plot).

    "Before" is the chain without bootstraps: fresh ciphertexts at the plan's whole depth, each segment
    taking its levels (what a parameter set without bootstrapping must hold).  "After" is the placed plan:
    fresh ciphertexts at L_c, the level rising to L_c at each bootstrap, switched down early where the
    placement chose it.  For a plan that does not bootstrap both are the same chain.

    Args:
        em: an ``nn.encrypted.EncryptedModel``.

    Returns:
        ``{"before": [(name, level), ...], "after": [(name, level), ...], "bootstraps": [segment names]}``:
        the first entry of each list is ``("input", start level)``, then one entry per segment with the level
        after it; "after" has an extra ``("bootstrap before <name>", L_c)`` entry where a bootstrap is
        placed, and ``("switch down before <name>", r)`` where a segment runs below the level it got.
    """
    plan = getattr(em, "bootstrap", None)
    placement = plan.placement if plan is not None else None
    chain = []
    for i, st in enumerate(em.stages):
        pieces = segments(st, em.layout)
        chain.extend((segment_label(i, st, name, len(pieces)), d) for name, d in pieces)
    depth = sum(d for _, d in chain)
    before = [("input", depth)]
    level = depth
    for name, d in chain:
        level -= d
        before.append((name, level))
    if placement is None:
        return {"before": before, "after": list(before), "bootstraps": []}
    after = [("input", placement.start_level)]
    level = placement.start_level
    for j, (seg, run) in enumerate(zip(placement.segments, placement.run_levels)):
        if j in placement.bootstraps:
            level = placement.restored_level
            after.append((f"bootstrap before {seg.name}", level))
            if seg.post:
                level -= seg.post
                after.append((f"scale back before {seg.name}", level))
        if run < level:
            after.append((f"switch down before {seg.name}", run))
        level = run - seg.levels
        after.append((seg.name, level))
    return {"before": before, "after": after,
            "bootstraps": [placement.segments[j].name for j in placement.bootstraps]}
