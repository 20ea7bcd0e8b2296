"""Bootstraps in a compiled plan: between any stages and inside them, placed by `nn.encrypted.placement`.

``encrypted.compile(..., bootstrap=...)`` (`choose`):

* ``"never"``: no bootstrap; a plan that no parameter set holds is refused (SecurityError, with the depth);
* ``"auto"`` (default): bootstrap when no parameter set of the requested security holds the plan's depth
  (or its chain would need more than ``MAX_MODULI`` primes), or when the cost model says the bootstrapped
  plan is faster than the longer modulus chain (`nn.encrypted.placement`: modelled seconds of both for a
  full batch, stated in the summary, also when it keeps the longer chain);
* ``"always"``: bootstrap (teaching, tests).

A plan that bootstraps needs calibration data (compile refuses without).

**The chain.**  Every stage is cut where a bootstrap may go (the stage protocol: ``stage.segments()`` lists
(name, levels) per piece, ``stage.cut_bound(k)`` bounds the values at the cut before piece k, and the
stage's evaluation calls ``refresh(cts, k)`` there; an affine or polynomial stage is one piece).  Between
stages the bound is the calibrated range of the previous stage's output.  `plan_segments` turns the
stages into the `placement.Segment` chain with the layout's operation counts and the ciphertexts a
bootstrap there refreshes; `nn.encrypted.placement.place` chooses the bootstraps and the level of every
segment.

**The bootstrapping chain** (`ckks.Context.for_bootstrapping`): preset ``"teaching"`` with
``security=None`` (insecure, N = 2^12 or the forced ``poly_degree``; its ``compute_levels`` raised to the
deepest segment, with the scaling products around it), else ``"128"`` (N = 2^16, 6 levels after a
bootstrap, fixed: a deeper segment is refused with `placement.PlacementError`).  Fresh ciphertexts start
at L_c = ``compute_levels``; a bootstrap returns L_c.

**Sparse packing** (`sparse_slots`): when every stage keeps zeros beyond the tensor (affine stages,
polynomials with p(0) = 0, stages that declare ``keeps_zero_tail``: approximated ReLUs, max-pool in the
batch layout, smooth activations with p(0) = 0, see `nn.encrypted.approximation`; not the arg-max,
soft-argmax or multiplexed stages), a bootstrap refreshes only the smallest power of two of slots that
holds the widest tensor (sample layout) or the batch (batch layout, whose biases are then added to those
slots only, ``BatchLayout.zero_tail``): a shorter DFT and one EvalMod instead of two (0.53 to 0.65 of the
time measured).  The trace of the sparse bootstrap adds slots n apart, which is why the slots beyond must
be zero.  Where a stage leaves values there (a polynomial with p(0) != 0; max-pool in the sample layout,
whose rotations wrap features into the top slots; sigmoid), `plan` also places the bootstraps with a 0/1
mask before each (one level: every segment's ``pre`` is 1) and sparse packing, and keeps the
cheaper of the two modelled placements (``BootstrapPlan.masked``).

**Ranges.**  A bootstrap is precise for |z| <= 1 (``precision_bits`` of the preset).  Where the calibrated
values before a bootstrap between stages leave [-1, 1], they are divided by B = ``RANGE_MARGIN`` times the
largest of them before it and multiplied by B after it: folded into the neighbouring stages when both
sides allow it (`_fold_scaling`: a linear stage's M and b, a square's inner constant with the linear
stage around it, a polynomial's coefficients), else two scalar products (one level before the bootstrap,
which drops the ciphertext to level 0 anyway, and one of the restored levels after: the segment's ``pre``
and ``post`` in the placement).  Inside stages the protocol keeps |z| <= 1.  `warn_ranges` (at
``em.encrypt``) warns when the client's inputs would take a bootstrap's input beyond [-1, 1].

**Execution** (`Executor`): before each stage, the bootstrap the placement put there (on every
ciphertext the stage reads: per sample in the sample layout, per feature ciphertext of a chunk in the
batch layout), then a switch down to the level the placement runs the stage at; inside a stage, the
same through the ``refresh`` callback.  The values are real, so consecutive ciphertexts are refreshed in
pairs, one bootstrap of a + i b each (``Bootstrapper.bootstrap_pair``; an odd one out by
``bootstrap(ct, real=True)``): a point with c ciphertexts runs ceil(c / 2) bootstraps, which is what the
placement's cost model and `BootstrapPlan.count` count (`placement.Segment.bootstraps`).  A ReLU carries
two ciphertexts across its cuts (its input and the sign stage's value): one bootstrap per cut instead of two.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from ckks.errors import ParameterError, SecurityError
from ckks.scheme.parameters import MAX_MODULI
from nn.encrypted import placement as placing
from nn.encrypted.params import MIN_AUTO_PRECISION_BITS, ParameterChoice, flooding_bits, noise_bits
from nn.encrypted.placement import segments, stage_levels
from nn.errors import ConfigError

#: The values of compile's ``bootstrap`` argument.
MODES = ("auto", "never", "always")
#: The bound at a bootstrap between stages: this times the largest |value| recorded on the calibration data.
RANGE_MARGIN = 1.25
#: Bits of bootstrap precision lost per halving of the refreshed slots (sparse packing: the trace adds
#: N / 2n noisy copies, error ~ sqrt(N / 2n)).
SPARSE_BITS_PER_DOUBLING = 0.5
#: Bits lost to returning real parts (the conjugation of ``bootstrap(real=True)``).
REAL_OUTPUT_BITS = 0.5


def check_mode(bootstrap: object) -> str:
    """``bootstrap`` checked against MODES.

    Raises:
        ConfigError: another value.
    """
    if not isinstance(bootstrap, str) or bootstrap not in MODES:
        raise ConfigError(f"bootstrap must be one of {MODES}, got {bootstrap!r}")
    return bootstrap


def _squaring(stage) -> bool:
    return stage.kind == "poly" and getattr(stage, "mode", None) in ("square", "monic2")


def _affine(stage) -> bool:
    return stage is not None and stage.kind == "affine"


def _foldable(stages: list, i: int) -> bool:
    """Can the scaling of a bootstrap before stage i fold into its neighbours (`_fold_scaling`)?

    Before: stage i - 1 affine, or a (folded) square x (x + c) after an affine stage.  After: stage i
    affine, a polynomial evaluated whole (``mode="poly"``), or a square before an affine stage.
    """
    def at(k):
        return stages[k] if 0 <= k < len(stages) else None

    before = _affine(at(i - 1)) or (_squaring(at(i - 1)) and _affine(at(i - 2)))
    after = _affine(at(i)) or (at(i).kind == "poly" and at(i).mode == "poly") or (
        _squaring(at(i)) and _affine(at(i + 1)))
    return before and after


def input_counts(stages: list, layout) -> list[int]:
    """Ciphertexts entering each stage: 1 per sample (sample layout), the features per chunk (batch)."""
    if layout.name == "sample":
        return [1] * len(stages)
    from nn.encrypted.batch_layout import _width_in

    counts = [_width_in(stages, i) for i in range(len(stages))]
    if layout.packing is not None:  # the arg-max reads its packed differences
        counts[-1] = layout.packing.count
    return counts


def plan_segments(stages: list, layout, stage_max: list[float] | None = None) -> list[placing.Segment]:
    """The chain of segments of a plan (module docstring), with the layout's operation counts.

    Args:
        stages: the plan's stages.
        layout: its `SampleLayout` or `BatchLayout`.
        stage_max: the largest |value| after each stage on the calibration data (None: no scaling).

    Returns:
        The segments, in order.
    """
    costs = layout.costs()
    counts = input_counts(stages, layout)
    chain = []
    for i, (st, row) in enumerate(zip(stages, costs)):
        pieces = segments(st, layout.name)
        total = sum(d for _, d in pieces) or 1
        work = placing.operation_work(row.get("rotations", 0), row.get("ct_ct", 0), row.get("ct_pt", 0))
        if work == 0:  # a stage without counts: one product per level and ciphertext
            work = placing.operation_work(0, counts[i] * total, 0)
        for k, (name, d) in enumerate(pieces):
            pre = post = 0
            if k == 0:  # scaled only where the calibrated values leave [-1, 1]
                high = i and stage_max is not None and stage_max[i - 1] > 1.0
                bound = RANGE_MARGIN * stage_max[i - 1] if high else 1.0
                if bound > 1.0 and not _foldable(stages, i):
                    pre = post = 1
            else:
                bound = float(st.cut_bound(k)) if hasattr(st, "cut_bound") else 1.0
                if bound > 1.0:
                    pre = post = 1
            width = int(st.cut_width(k)) if hasattr(st, "cut_width") else 1
            label = placing.segment_label(i, st, name, len(pieces))
            chain.append(placing.Segment(label, i, k, d, work * d / total, counts[i] * width, pre, post, bound))
    return chain


def sparse_slots(stages: list, layout: str, config, batch_size: int = 1, masked: bool = False) -> int:
    """Slots a bootstrap refreshes: N/2, or, when every stage keeps zeros beyond the tensor (affine stages,
    polynomials with p(0) = 0, stages with ``keeps_zero_tail = True``: zero slots stay zero in everything they
    carry across their cuts; no arg-max or soft-argmax), the smallest power of two that holds the
    widest tensor (sample layout) or the batch (batch layout, whose biases then go to those slots only), at
    least 2^(DFT levels) and at most N/4.

    ``masked``: the slots beyond are zeroed by a 0/1 mask before every bootstrap (one level, `Executor`), so
    element-wise and in-tensor stages that leave values there (polynomials, ReLU, max-pool, smooth
    activations) allow sparse packing too; the arg-max, the soft-argmax and multiplexed stages still do not.
    """
    from nn.encrypted.plan import AffineStage, PolyStage

    full = config.poly_degree // 2
    width = 1 if layout == "sample" else int(batch_size)
    for st in stages:
        if isinstance(st, AffineStage) and not hasattr(st, "slot_transform"):
            width = max(width, *st.matrix.shape) if layout == "sample" else width
        elif getattr(st, "keeps_zero_tail", False):  # a stage that says so: zero slots stay zero, at every cut too
            continue
        elif isinstance(st, PolyStage) and (st.mode != "poly" or st.coeffs[0] == 0):
            continue
        elif not (masked and st.kind in ("poly", "relu", "maxpool", "smooth")):
            return full  # p(0) != 0 (unmasked), or a stage that fills every slot
    n = 1 << max(math.ceil(math.log2(width)), config.cts_levels, config.stc_levels, 1)
    return n if n <= full // 2 else full


@dataclass
class BootstrapPlan:
    """The bootstrapping context and the placement of a plan (module docstring).

    Attributes:
        preset: "teaching" or "128".
        options: the preset's fields changed (``compute_levels``, ``poly_degree``, ``slots``).
        security: what `ckks.Context.for_bootstrapping` is asked for (None or 128).
        compute_levels: L_c, the level of a fresh ciphertext and of a bootstrap's output.
        placement: the `nn.encrypted.placement.Placement`.
        memory_limit: the keys' memory guard (compile's ``memory_limit``).
        reason: why the plan bootstraps.
        slots_refreshed: the slots a bootstrap refreshes (sparse packing below N/2).
        scales: stage index -> B, the divisor of the values at a bootstrap before that stage.
        folded: stage indices whose scaling is folded into the neighbouring stages.
        alternative: modelled seconds of the plan without bootstraps (None: no parameter set holds it).
        runs: runs of the chain for a full batch (samples, or chunks in the batch layout).
        masked: sparse packing with a 0/1 mask before every bootstrap (`sparse_slots`).
    """

    preset: str
    options: dict
    security: int | None
    compute_levels: int
    placement: placing.Placement
    memory_limit: float | None
    reason: str
    slots_refreshed: int = 0
    scales: dict = field(default_factory=dict)
    folded: set = field(default_factory=set)
    alternative: float | None = None
    runs: int = 1
    masked: bool = False

    @property
    def output_level(self) -> int:
        """The level of the outputs."""
        return self.placement.output_level

    @property
    def start_level(self) -> int:
        """The level the inputs must have (the first segment's run level)."""
        return self.placement.run_levels[0]

    @property
    def precision_bits(self) -> int:
        """Bits a bootstrap keeps on values |z| <= 1, for the slot count it refreshes.

        The preset's ``precision_bits`` holds for full packing.  With sparse packing of n slots the trace
        (`ckks.circuits.bootstrapping.mod_raise.sparse_trace`) sums N / 2n rotated copies of the
        ciphertext, and their independent rounding and key-switching errors add up: the error grows
        by about sqrt(N / 2n), i.e. ``SPARSE_BITS_PER_DOUBLING`` bits per halving of n.  Returning real
        parts (``bootstrap(real=True)``, which the executor uses) costs ``REAL_OUTPUT_BITS`` more (one
        conjugation's key switch at the compute level).  Measured at the "128" preset, N = 2^16, 64 slots:
        about 13 bits (errors 6e-5 to 1.6e-4 on |z| <= 1); this bound gives 11.
        """
        config = self.config()
        sparse = max(0.0, math.log2(config.poly_degree // 2 / max(1, self.slots_refreshed or config.slots)))
        bits = config.precision_bits - SPARSE_BITS_PER_DOUBLING * sparse - REAL_OUTPUT_BITS
        return int(math.floor(bits))

    @property
    def count(self) -> int:
        """Bootstraps per run of the chain (per sample, or per chunk in the batch layout): ceil(c / 2) at a point
        with c ciphertexts (refreshed in pairs, `Executor`).  The executor pairs all the ciphertexts it is handed
        at a point: B samples of the sample layout run together take sum ceil(B c / 2) <= B * count."""
        return sum(self.placement.segments[j].bootstraps for j in self.placement.bootstraps)

    def config(self):
        """The `ckks.circuits.bootstrapping.BootstrapConfig` of the chain."""
        from ckks.circuits.bootstrapping import preset

        return preset(self.preset, **self.options)

    def key_levels(self, params, extra_steps: list[int]) -> list[int]:
        """The top level of every key the plan makes, before any key exists.

        The bootstrapping keys at the levels they are used at (`Bootstrapper.key_levels`), the plan's own
        rotation keys at the compute levels (fresh ciphertexts and bootstrap outputs are there,
        `ckks.Context.generate_galois_keys`; a step that is also a bootstrapping step shares that key)
        and the relinearization key at L.
        """
        from ckks.circuits.bootstrapping import Bootstrapper
        from ckks.scheme.automorphism import galois_element

        config = self.config()
        boot = Bootstrapper(params, config, None).key_levels()
        n = params.poly_degree
        plan = {galois_element(k, n) for k in extra_steps if k % (n // 2)} - set(boot)
        return list(boot.values()) + [config.compute_levels] * len(plan) + [params.max_level]

    def key_estimate(self, params, extra_steps: list[int]) -> tuple[int, int]:
        """(key count, bytes) of the bootstrapping keys and the plan's rotation keys, before any key exists."""
        levels = self.key_levels(params, extra_steps)
        return len(levels), sum(params.key_switch_key_bytes(level) for level in levels)

    def context(self, seed=None, extra_steps: list[int] = ()):
        """A private bootstrapping context with its bootstrapping keys (progress bar on a terminal).

        The memory of the keys is estimated and printed first (stderr); above ``memory_limit`` the same
        refusal as ``ctx.generate_bootstrapping_keys(memory_limit=...)`` comes before any key is made.

        Args:
            seed: a fixed seed (INSECURE, for reproducible teaching runs; warns).
            extra_steps: the plan's own rotation steps (counted in the estimate).

        Returns:
            The context (``ctx.bootstrapper`` holds the keys).

        Raises:
            ParameterError: the keys would take more than ``memory_limit`` bytes.
        """

        from ckks.circuits.bootstrapping import bootstrapping_parameters
        from ckks.context import Context
        from ckks.scheme.keys import check_key_memory

        params = bootstrapping_parameters(self.config(), self.security)
        levels = self.key_levels(params, list(extra_steps))
        sizes = [params.key_switch_key_bytes(level) for level in levels]
        print(f"bootstrapping keys: {len(levels)} key-switching keys of {min(sizes) / 2**20:.1f}-"
              f"{max(sizes) / 2**20:.1f} MiB (each only as tall as the highest level it is used at), about "
              f"{sum(sizes) / 2**30:.2f} GiB (N = {params.poly_degree}, {len(params.all_moduli)} primes)",
              file=sys.stderr)
        # the refusal of KeyGenerator.create_galois_keys, before the secret key exists
        check_key_memory(params, levels, self.memory_limit, f"the bootstrapping plan's {len(levels)} keys")
        ctx = Context.for_bootstrapping(self.preset, security=self.security, seed=seed, **self.options)
        ctx.generate_bootstrapping_keys(progress=True, memory_limit=self.memory_limit)
        return ctx

    def summary_lines(self, layout: str, copies: int = 1) -> list[str]:
        """The context, each bootstrap (where, level restored, modelled cost), the totals and the naive policy
        (``copies``: samples per ciphertext of the sample layout)."""
        p = self.placement
        per = ("per sample" if copies == 1 else f"per ciphertext of {copies} samples") if layout == "sample" \
            else "per chunk"
        full = self.slots_refreshed == self.config().poly_degree // 2
        mask = ", masked before each bootstrap" if self.masked else ""
        lines = [f"bootstraps ({self.reason}): preset '{self.preset}' "
                 f"({'INSECURE' if self.security is None else '128-bit secure'}), {self.slots_refreshed} slots "
                 f"refreshed ({'full' if full else 'sparse'} packing{mask}), fresh ciphertexts and bootstrap "
                 f"outputs at level {self.compute_levels}"]
        levels_in = p.levels_in()
        model = self.cost_model()
        for n, j in enumerate(p.bootstraps, start=1):
            seg = p.segments[j]
            scale = ""
            if seg.part == 0 and seg.stage in self.scales:
                how = "folded into the neighbouring stages" if seg.stage in self.folded else "two scalar products"
                scale = f"; values divided by {self.scales[seg.stage]:.4g} into [-1, 1] and back ({how})"
            seconds = model.bootstrap_seconds * seg.bootstraps
            paired = f" in {seg.bootstraps} paired bootstrap(s)" if seg.ciphertexts > 1 else ""
            lines.append(f"  bootstrap {n}: before {seg.name}, level {levels_in[j]} -> {self.compute_levels}, "
                         f"{seg.ciphertexts} ciphertext(s){paired} {per}, modelled {seconds:.3g} s" + scale)
        naive = ("stuck" if p.naive_bootstraps is None else
                 f"{p.naive_bootstraps} bootstrap point(s), modelled {p.naive_cost:.3g} s")
        lines.append(f"placement (dynamic programme over {len(p.segments)} segments): {len(p.bootstraps)} bootstrap "
                     f"point(s), {self.count} bootstrap(s) {per} (two ciphertexts per bootstrap: a + i b), "
                     f"modelled {p.cost:.3g} s {per} "
                     f"({p.bootstrap_cost:.3g} s of it bootstrapping); naive 'bootstrap when empty' policy: {naive}")
        if self.alternative is not None:
            lines.append(f"a full batch: modelled {p.cost * self.runs:.3g} s with these bootstraps, "
                         f"{self.alternative:.3g} s without them (a longer modulus chain)")
        return lines

    def cost_model(self) -> placing.CostModel:
        """The cost model of this chain (`nn.encrypted.placement`)."""
        config = self.config()
        return placing.CostModel(config.poly_degree, placing.bootstrap_seconds(
            self.preset, config.poly_degree, len(config.moduli_bits()), config.full_packing))


def _chain_config(name: str, chain: list, poly_degree, security, layout: str, stages: list, batch_size: int,
                  masked: bool = False, full: bool = False):
    """The preset and its changed options for a chain (teaching: compute levels raised to the deepest segment).

    ``full``: refresh all N/2 slots (interleaved samples, `nn.encrypted.sample_layout`), never sparse packing.
    """
    from ckks.circuits.bootstrapping import preset

    base = preset(name)
    options: dict = {}
    if name == "teaching":
        if poly_degree is not None and poly_degree != base.poly_degree:
            options["poly_degree"] = int(poly_degree)
        # enough for every segment between two bootstraps, with the scaling products around them
        need = max([base.compute_levels] + [s.post + s.levels + (chain[j + 1].pre if j + 1 < len(chain) else 0)
                                            for j, s in enumerate(chain)])
        if need != base.compute_levels:
            options["compute_levels"] = need
    elif security is not None and poly_degree not in (None, 1 << 16):
        raise SecurityError(f"the 128-bit bootstrapping chain has N = 65536; poly_degree={poly_degree} cannot hold "
                            "this plan's depth securely")
    config = preset(name, **options)
    slots = config.slots if full else sparse_slots(stages, layout, config, batch_size, masked)
    if slots != config.slots:
        options["slots"] = slots
    return options, preset(name, **options)


def plan(stages: list, layout, reason: str, *, precision_bits, security, poly_degree, scale_bits,
         statistical_security, stage_max: list[float], max_abs: float, slots_needed: int, memory_limit,
         runs: int = 1, alternative: float | None = None, batch_size: int = 1) -> tuple[ParameterChoice, BootstrapPlan]:
    """Parameters and the placement of bootstraps for a plan (module docstring); folds the range scaling.

    Args:
        stages: the plan's stages (the affine stages around a placed bootstrap are rescaled in place).
        layout: the plan's layout object (`SampleLayout` or `BatchLayout`, at any slot count: only its
            operation counts are read).
        reason: why (for the summary).
        precision_bits, security, poly_degree, scale_bits, statistical_security: as `compile`'s.
        stage_max: the largest |value| after each stage on the calibration data.
        max_abs: the largest recorded value (the outputs' bound when ``stage_max`` is empty).
        slots_needed: slots the layout needs.
        memory_limit: the keys' memory guard.
        runs: runs of the chain for a full batch (for the comparison with ``alternative``).
        alternative: modelled seconds of the plan without bootstraps, if a parameter set holds it.
        batch_size: compile's (the batch layout's sparse packing holds it).

    Returns:
        (ParameterChoice of the bootstrapping chain, BootstrapPlan).

    Raises:
        ConfigError: ``scale_bits`` differs from the preset's; the recorded outputs do not fit q_0 / scale; the
            precision after flooding is below what is asked; a segment deeper than the levels a bootstrap
            restores (`nn.encrypted.placement.PlacementError`).
        SecurityError: a ``poly_degree`` other than 2^16 at 128 bits.
    """
    from ckks.circuits.bootstrapping import bootstrapping_parameters

    name = "teaching" if security is None else "128"
    chain = plan_segments(stages, layout, stage_max)
    full = getattr(layout, "copies", 1) > 1  # interleaved samples fill every slot
    options, config = _chain_config(name, chain, poly_degree, security, layout.name, stages, batch_size, full=full)
    masked = False
    if config.full_packing and not full:  # try sparse packing with a mask before every bootstrap (one level before it)
        masked_chain = [replace(seg, pre=max(seg.pre, 1)) for seg in chain]
        m_options, m_config = _chain_config(name, masked_chain, poly_degree, security, layout.name, stages,
                                            batch_size, masked=True)
        if not m_config.full_packing and _cheaper_masked(chain, config, masked_chain, m_config, name):
            chain_scaling = chain
            chain, options, config, masked = masked_chain, m_options, m_config, True
    lc = config.compute_levels
    if scale_bits is not None and int(scale_bits) != config.scale_bits:
        raise ConfigError(f"scale_bits={scale_bits}: a bootstrapping plan uses the '{name}' preset's scale "
                          f"2^{config.scale_bits}; leave scale_bits unset")
    # values reach level 0 only at the outputs (at a bootstrap they are scaled into [-1, 1] first); above
    # level 0 they have Q_l / scale >= 2^(q_0 + scale bits - scale bits) of room
    out_max = float(stage_max[-1]) if stage_max else float(max_abs)
    integer_bits = max(1, math.ceil(math.log2(max(out_max, 1.0) * 4.0)))
    if integer_bits > config.q0_bits - config.scale_bits:
        raise ConfigError(f"outputs up to {out_max:.4g} need {integer_bits} integer bits, but the '{name}' "
                          f"bootstrapping chain has q_0 / scale = 2^{config.q0_bits - config.scale_bits}; "
                          "scale the inputs down")
    params = bootstrapping_parameters(config, security)
    if params.slots < slots_needed:
        raise ConfigError(f"the bootstrapping ring has {params.slots} slots; the layout needs {slots_needed}"
                          + (" (compile with fewer interleaved samples)" if full else ""))
    depth = sum(s.levels for s in chain)
    choice = ParameterChoice(params.poly_degree, tuple(params.moduli_bits), config.scale_bits, security, depth,
                             statistical_security)
    lost = max(noise_bits(choice.poly_degree),
               flooding_bits(choice.poly_degree, statistical_security) if statistical_security is not None else 0)
    have = config.scale_bits - lost
    want = MIN_AUTO_PRECISION_BITS if precision_bits is None else int(precision_bits)
    if have < want:
        raise ConfigError(
            f"the '{name}' bootstrapping chain's scale 2^{config.scale_bits} leaves {have} bits of precision after "
            f"{'flooding' if statistical_security is not None else 'noise'}, below the {want} asked; "
            + ("compile with flooding=False (outputs only for the key owner)" if statistical_security is not None
               else "lower precision_bits")
        )
    boot = BootstrapPlan(name, options, security, lc, None, memory_limit, reason, config.slots,  # type: ignore
                         runs=runs, alternative=alternative, masked=masked)
    placed = placing.place(chain, lc, lc, boot.cost_model())
    boot.placement = placed
    for j in placed.bootstraps:
        seg = (chain_scaling if masked else chain)[j]
        if seg.part == 0 and seg.bound > 1.0:
            boot.scales[seg.stage] = seg.bound
            if seg.pre == 0:
                boot.folded.add(seg.stage)
    return choice, boot


def _cheaper_masked(chain: list, config, masked_chain: list, m_config, name: str) -> bool:
    """Is sparse packing with masks modelled cheaper than full packing (and feasible)?"""
    def cost(segs, cfg):
        model = placing.CostModel(cfg.poly_degree, placing.bootstrap_seconds(
            name, cfg.poly_degree, len(cfg.moduli_bits()), cfg.full_packing))
        try:
            return placing.place(segs, cfg.compute_levels, cfg.compute_levels, model).cost
        except placing.PlacementError:
            return math.inf

    sparse = cost(masked_chain, m_config)
    return sparse < math.inf and sparse < cost(chain, config)


def fold(stages: list, boot: BootstrapPlan) -> None:
    """Fold the range scaling of the placed bootstraps into their neighbouring stages (module docstring)."""
    for i in sorted(boot.folded):
        _fold_scaling(stages, i, boot.scales[i])


def _layout_for(stages: list, layout: str, slots: int, copies: int = 1):
    from nn.encrypted.batch_layout import BatchLayout
    from nn.encrypted.sample_layout import SampleLayout

    return SampleLayout(stages, slots, copies) if layout == "sample" else BatchLayout(stages, slots)


def _runs(lay, batch_size: int) -> int:
    return lay.ciphertexts_for(int(batch_size)) if lay.name == "sample" else -(-int(batch_size) // lay.chunk)


def choose(stages: list, layout: str, bootstrap: str, *, depth: int, stage_max: list[float], max_abs: float,
           slots_needed: int, batch_size: int, calibrated: bool, precision_bits, security, poly_degree, scale_bits,
           statistical_security, memory_limit,
           notes: list | None = None, copies: int = 1) -> tuple[ParameterChoice, BootstrapPlan | None]:
    """Parameters of a plan, bootstrapping or not (module docstring: "never", "auto", "always").

    "auto" compares the modelled seconds of a full batch with and without bootstraps when a parameter set
    holds the depth, and bootstraps when the placement is cheaper; the scaling of the placed bootstraps is
    folded into ``stages``.

    Args:
        stages: the plan's stages.
        layout: "sample" or "batch".
        bootstrap: compile's ``bootstrap``.
        depth: the plan's depth.
        stage_max: the largest |value| after each stage on the calibration data.
        max_abs: the largest recorded value.
        slots_needed: slots the layout needs.
        batch_size: compile's ``batch_size``.
        calibrated: whether compile was given calibration data.
        precision_bits, security, poly_degree, scale_bits, statistical_security, memory_limit: as `compile`'s.
        notes: where "auto" appends why it did not bootstrap after comparing the modelled costs (for the summary).
        copies: samples per ciphertext of the sample layout (interleaved; ``slots_needed`` holds all of them):
            the runs of a batch are ``ceil(batch_size / copies)``, and a bootstrap refreshes every slot.

    Returns:
        (ParameterChoice, BootstrapPlan or None).

    Raises:
        SecurityError: nothing holds the depth and ``bootstrap="never"``.
        ConfigError: the plan bootstraps but no calibration data was given; or what `plan` raises.
        ParameterError: as `nn.encrypted.params.choose_parameters`; or, with ``bootstrap="never"``, a chain of
            more than ``MAX_MODULI`` primes.
    """
    from nn.encrypted.params import choose_parameters

    params, reason, alternative = None, "bootstrap='always'", None
    if bootstrap != "always":
        try:
            params = choose_parameters(depth, max_abs, slots_needed, precision_bits, security, poly_degree,
                                       scale_bits, statistical_security)
        except SecurityError:
            if bootstrap == "never":
                raise
            reason = f"no {security}-bit-secure parameter set holds depth {depth}"
        if params is not None and len(params.moduli_bits) > MAX_MODULI:  # a chain no Parameters can hold
            if bootstrap == "never":
                raise ParameterError(f"the plan's depth {depth} needs {len(params.moduli_bits)} primes, more than the "
                                     f"{MAX_MODULI} supported; compile with bootstrap='auto'")
            params, reason = None, f"depth {depth} needs more than the {MAX_MODULI} primes a chain may have"
    if bootstrap == "never":
        return params, None
    from ckks.circuits.bootstrapping import preset

    base = preset("teaching" if security is None else "128")
    deepest = max(d for st in stages for _, d in segments(st, layout))
    if params is not None and bootstrap == "auto" and depth <= max(base.compute_levels, deepest):
        return params, None  # a bootstrapping chain would hold it without a bootstrap: nothing to gain
    if params is not None:
        lay = _layout_for(stages, layout, params.slots, copies)
        chain = plan_segments(stages, lay)
        alternative = placing.chain_cost(chain, depth, placing.CostModel(params.poly_degree)) * _runs(lay, batch_size)
    slots = (poly_degree or base.poly_degree) // 2
    lay = _layout_for(stages, layout, max(slots, slots_needed), copies)
    runs = _runs(lay, batch_size)
    kwargs = {"precision_bits": precision_bits, "security": security, "poly_degree": poly_degree,
              "scale_bits": scale_bits, "statistical_security": statistical_security, "stage_max": stage_max,
              "max_abs": max_abs, "slots_needed": slots_needed, "memory_limit": memory_limit, "runs": runs,
              "alternative": alternative, "batch_size": batch_size}
    if params is not None and bootstrap == "auto":
        try:  # a candidate: its warnings (e.g. the insecure teaching preset) only matter if it is chosen
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                choice, boot = plan(stages, lay, reason, **kwargs)
        except (ConfigError, SecurityError) as exc:
            if notes is not None:
                notes.append(f"bootstraps: none (bootstrap='auto'; no bootstrapping chain for this plan: {exc})")
            return params, None  # no bootstrapping chain for this plan: the longer chain it is
        if not boot.placement.bootstraps or boot.placement.cost * runs >= alternative:
            if notes is not None:
                notes.append(f"bootstraps: none (bootstrap='auto': the modulus chain is modelled at "
                             f"{alternative:.3g} s for a batch of {batch_size}, the best placement of bootstraps at "
                             f"{boot.placement.cost * runs:.3g} s)")
            return params, None  # no bootstrap needed, or the longer chain is modelled no slower
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        boot.reason = (f"modelled faster than the longer modulus chain: {boot.placement.cost * runs:.3g} s vs "
                       f"{alternative:.3g} s for a batch of {batch_size}")
    else:
        choice, boot = plan(stages, lay, reason, **kwargs)
    if not calibrated:
        raise ConfigError("this plan bootstraps, and the values at every bootstrap must be scaled from their "
                          "calibrated range into [-1, 1]: pass calibration= (typically the training inputs) to "
                          "compile, or bootstrap='never'")
    fold(stages, boot)
    return choice, boot


def _fold_scaling(stages: list, i: int, bound: float) -> None:
    """Divide the values entering stage i by B and make stage i and after read them as before.

    Before: an affine stage's M and b divided by B; or, for a square x (x + c) after an affine stage, that
    stage divided by sqrt(B) and c by sqrt(B) (the square's output is then divided by B).  After: an affine
    stage's M times B; a polynomial's coefficients c_k B^k; or, for a square, c divided by B and the next
    affine stage's M times B^2 (z = x / B: z (z + c / B) = x (x + c) / B^2).
    """
    before, after = stages[i - 1], stages[i]
    note = f"for the bootstrap before stage {i}"
    if _affine(before):
        before.matrix, before.bias = before.matrix / bound, before.bias / bound
        before.folded.append(f"1/{bound:.4g}: its outputs in [-1, 1] {note}")
    else:
        root = math.sqrt(bound)
        first = stages[i - 2]
        first.matrix, first.bias = first.matrix / root, first.bias / root
        first.folded.append(f"1/{root:.4g}: the square after it gives values in [-1, 1] {note}")
        before.coeffs = np.array(before.coeffs, dtype=np.float64) * np.array([1.0, 1.0 / root, 1.0])
    if _affine(after):
        after.matrix = after.matrix * bound
        after.folded.append(f"x{bound:.4g}: undoes the scaling {note}")
    elif after.mode == "poly":  # p(B z): coefficients c_k B^k
        after.coeffs = after.coeffs * bound ** np.arange(len(after.coeffs))
        after.folded.append(f"coefficients times {bound:.4g}^k: undo the scaling {note}")
    else:
        after.coeffs = np.array(after.coeffs, dtype=np.float64) * np.array([1.0, 1.0 / bound, 1.0])
        following = stages[i + 1]
        following.matrix = following.matrix * bound**2
        following.folded.append(f"x{bound:.4g}^2: undoes the scaling {note} (through the square)")


def bootstrapper_of(context):
    """The context's bootstrapper (its own, or its owner's for a public copy).

    Raises:
        KeyMissingError: the context has no bootstrapping keys (make it with ``em.keygen()``).
    """
    from ckks.circuits.bootstrapping import find_bootstrapper
    from ckks.errors import KeyMissingError

    bootstrapper = getattr(context, "bootstrapper", None) or find_bootstrapper(context.params, context.key_id)
    if bootstrapper is None or bootstrapper.galois_keys is None:
        raise KeyMissingError("this plan bootstraps, and the context has no bootstrapping keys; make the client "
                              "context with em.keygen() and send its public_copy()")
    return bootstrapper


def _times(ops, ct, value: float):
    """ct * value by a scalar product and a rescale: one level, the scale kept."""
    q = ops.params.data_moduli[ct.level]
    return ops.ev.rescale(ops.ev.multiply_scalar(ct, float(value), scale=float(q))).with_scale(ct.scale)


def _masked(ops, ct, slots: int, value: float):
    """ct times (value on slots 0 .. slots - 1, 0 beyond) and a rescale: one level, the scale kept."""
    q = ops.params.data_moduli[ct.level]
    mask = ops.enc.encode(np.full(slots, float(value)), float(q), ct.level)
    return ops.ev.rescale(ops.ev.multiply_plain(ct, mask)).with_scale(ct.scale)


#: Two ciphertexts whose scales differ by at most this relative amount share a bootstrap (`bootstrap_in_pairs`).
#: Ciphertexts that took different paths carry scales that differ by products of (prime / scale) factors:
#: about 1e-8 at the teaching rings, 6.2e-6 for the weights of a training step at the "128" preset (N = 2^16,
#: primes 1 mod 2^17 within 6e-6 of 2^42).  b read at a's scale holds its values times b.scale / a.scale, at
#: most 1 + 2^-12 times larger: still inside EvalMod's range.
PAIR_SCALE_RTOL = 2.0**-12


def bootstrap_in_pairs(bootstrapper, cts: list, output_scale: float | None = None) -> tuple[list, int]:
    """Real ciphertexts refreshed two per bootstrap, an odd one out alone: (refreshed, bootstraps run).

    ``cts[0], cts[1]`` share one ``bootstrap_pair`` (z = a + i b), then ``cts[2], cts[3]``, and so on; a pair whose
    scales differ by more than ``PAIR_SCALE_RTOL`` is bootstrapped one at a time (``bootstrap(real=True)``).
    Within the tolerance, b is read at a's scale: its values times r = b.scale / a.scale, which a bootstrap
    refreshes like any others (it works on the integer message m), and b' is read back at its scale times r:

    * ``output_scale=None``: a' at a.scale, b' at b.scale, the same values (exact);
    * ``output_scale=s``: a' at s and b' at s r, the same values (exact; |r - 1| <= ``PAIR_SCALE_RTOL``).  A
      single bootstrap returns s itself.  So no refreshed scale is ever more than ``PAIR_SCALE_RTOL`` from s
      (a scale that drifts from step to step restarts from s at every refresh, `Bootstrapper.bootstrap`,
      ``output_scale``), and the values carry no error from the scales: relabelling b' to s instead would
      multiply its values by r at every refresh (6.2e-6 a refresh at the "128" preset, a bias that adds up).

    Args:
        bootstrapper: a ``ckks.circuits.bootstrapping.Bootstrapper`` with keys.
        cts: size-2 ciphertexts of real values (any levels).
        output_scale: the scale to refresh to (None: each input's).

    Returns:
        (the refreshed ciphertexts in the order given, at ``config.compute_levels``; the bootstraps run).

    Raises:
        InputError: a scale too close to q_0, or a bad ``output_scale`` (``Bootstrapper.bootstrap``).
        KeyMissingError: the bootstrapper has no keys.
    """
    options = {} if output_scale is None else {"output_scale": output_scale}
    out, runs = [], 0
    for k in range(0, len(cts), 2):
        a, b = cts[k], (cts[k + 1] if k + 1 < len(cts) else None)
        if b is None or abs(b.scale / a.scale - 1.0) > PAIR_SCALE_RTOL:
            out.extend(bootstrapper.bootstrap(ct, real=True, **options) for ct in (a, b) if ct is not None)
            runs += 1 if b is None else 2
            continue
        first, second = bootstrapper.bootstrap_pair(a, b if b.scale == a.scale else b.with_scale(a.scale), **options)
        out.extend([first, second.with_scale(b.scale if output_scale is None else second.scale * (b.scale / a.scale))])
        runs += 1
    return out, runs


class Executor:
    """Runs a plan's bootstraps and level switches (`BootstrapPlan`) around and inside its stages.

    Args:
        boot: the BootstrapPlan.
        ops: the `nn.encrypted.ops.Ops` of the server's context.
    """

    def __init__(self, boot: BootstrapPlan, ops):
        self.boot = boot
        self.ops = ops
        self.where = {(s.stage, s.part): j for j, s in enumerate(boot.placement.segments)}
        self.count = 0  # bootstraps done

    def _apply(self, stage: int, part: int, cts: list) -> list:
        j = self.where.get((stage, part))
        if j is None:
            return cts
        placement = self.boot.placement
        if j in placement.bootstraps:
            explicit = part == 0 and stage in self.boot.scales and stage not in self.boot.folded
            bound = self.boot.scales.get(stage, 1.0) if explicit else 1.0
            bootstrapper = bootstrapper_of(self.ops.context)
            ready = []
            for ct in cts:
                if self.boot.masked:  # zeros beyond the sparse slots (and the scaling), one level
                    ct = _masked(self.ops, ct, self.boot.slots_refreshed, 1.0 / bound)
                elif explicit:
                    ct = _times(self.ops, ct, 1.0 / bound)
                ready.append(ct)
            # real outputs: the bootstrap's imaginary error would blow up in the sign polynomials that follow
            # (ckks Bootstrapper.bootstrap, ``real``; garbage at the 128-bit preset otherwise); two real
            # ciphertexts per bootstrap (a + i b, ``bootstrap_pair``), an odd one out alone
            out, runs = bootstrap_in_pairs(bootstrapper, ready)
            self.count += runs
            cts = [_times(self.ops, ct, bound) for ct in out] if explicit else out
        run = placement.run_levels[j]
        return [self.ops.ev.mod_switch_to(ct, run) if ct.level > run else ct for ct in cts]

    def before(self, stage: int, cts: list) -> list:
        """The ciphertexts entering stage ``stage``, bootstrapped and switched down as placed.

        Raises:
            KeyMissingError: a bootstrap is placed here and the context has no bootstrapping keys.
        """
        return self._apply(stage, 0, cts)

    def refresh_for(self, stage: int):
        """The ``refresh(cts, k)`` callback of the stage protocol for stage ``stage`` (it raises what `before`
        raises)."""
        return lambda cts, k: self._apply(stage, k, list(cts))




def stage_level_pairs(em) -> list[tuple[int, int]]:
    """Per stage of a compiled model: (level in, level out), bootstraps and early switches included.

    "In" is the level the ciphertexts have when the stage starts (after a bootstrap or switch placed before
    it), "out" the level after it.
    """
    boot = em.bootstrap
    if boot is None:
        pairs, level = [], em.depth
        for st in em.stages:
            d = stage_levels(st, em.layout)
            pairs.append((level, level - d))
            level -= d
        return pairs
    p = boot.placement
    first: dict = {}
    last: dict = {}
    for seg, run in zip(p.segments, p.run_levels):
        first.setdefault(seg.stage, run)
        last[seg.stage] = run - seg.levels
    return [(first[i], last[i]) for i in range(len(em.stages))]


def level_lines(em) -> list[str]:
    """The summary's line of levels in -> out per stage."""
    pairs = stage_level_pairs(em)
    inside: dict = {}
    if em.bootstrap is not None:
        p = em.bootstrap.placement
        for j in p.bootstraps:
            if p.segments[j].part > 0:
                inside[p.segments[j].stage] = inside.get(p.segments[j].stage, 0) + 1
    cells = [f"{i}: {a}->{b}" + (f" ({inside[i]} bootstrap(s) inside)" if i in inside else "")
             for i, (a, b) in enumerate(pairs)]
    return ["levels in -> out per stage: " + ", ".join(cells)]


def warn_ranges(em, feats: np.ndarray) -> None:
    """Warn (RangeWarning) when values at a bootstrap between stages would leave [-1, 1] on these inputs.

    The server cannot see them, so the client checks (``em.encrypt``): the plaintext plan on its features,
    divided by the bootstrap's scaling where it is not folded into the stages; the first bootstrap whose
    input exceeds 1 (its precise range; far beyond, q_0 / (4 scale), the values wrap around) is named.
    """
    boot = em.bootstrap
    if boot is None:
        return
    import warnings

    from nn.errors import RangeWarning

    points = {boot.placement.segments[j].stage: boot.placement.segments[j] for j in boot.placement.bootstraps
              if boot.placement.segments[j].part == 0}
    x = np.asarray(feats, dtype=np.float64)
    for i, st in enumerate(em.stages):
        if i in points and x.size:
            divisor = boot.scales[i] if i in boot.scales and i not in boot.folded else 1.0
            seen = float(np.max(np.abs(x))) / divisor
            if seen > 1.0 + 1e-3:
                warnings.warn(
                    f"the bootstrap before {points[i].name} would see values up to {seen:.4g} (after its scaling), "
                    "beyond the [-1, 1] where it keeps its precision (the range recorded on the calibration data, "
                    f"widened by {RANGE_MARGIN}); the encrypted result may lose precision or be garbage: recompile "
                    "with calibration data that covers such inputs", RangeWarning, stacklevel=4)
                return
        x = st.forward(x)
