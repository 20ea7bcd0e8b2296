"""Bootstraps in a compiled plan: a fixed refresh before (and inside) an ``nn.Argmax`` that does not fit.

``encrypted.compile(..., bootstrap="auto")`` keeps the plan as it is whenever a parameter set holds its
depth.  When none does (`nn.encrypted.params.choose_parameters` raises SecurityError) and the model ends
with ``nn.Argmax``, the plan runs in a bootstrapping context instead
(`ckks.Context.for_bootstrapping`, `ckks.circuits.bootstrapping`):

* preset ``"teaching"`` when ``security=None`` (insecure, N = 2^12 or the forced ``poly_degree``,
  seconds per bootstrap; its ``compute_levels`` raised to what the plan needs), else ``"128"``
  (N = 2^16, 128-bit secure, a fixed chain with 6 levels after a bootstrap);
* a fresh ciphertext starts at level L_c = ``compute_levels`` (the chain above it belongs to the
  bootstrapping circuit), so the network before the arg-max (the folded differences included) must
  fit L_c; placing bootstraps *inside* a network is the deep-networks issue's placement pass;
* the arg-max is cut into segments: the composite sign's stages (``ceil(log2(d_i + 1))`` levels
  each, `ckks.circuits.comparison`) and the product tree (``ceil(log2(C - 1))`` levels).  A bootstrap
  is placed, fixed, between the network and the comparison (the differences, |d| <= 1, are in the
  bootstrap's precise range), and then before every segment that the level left cannot hold
  (greedy: the fewest bootstraps for the segment order).  The values bootstrapped there are the
  differences, a sign stage's output (normalised into [-1, 1]) or the steps (in [0, 1]): always
  |z| <= 1, where the bootstrap promises its ``precision_bits``.

``bootstrap="always"`` places the same bootstraps even when the depth fits (teaching, tests);
``"never"`` refuses as before (SecurityError).  Every bootstrap is ModRaise, CoeffsToSlots, EvalMod
and SlotsToCoeffs on one ciphertext (per sample in the sample layout, per packed ciphertext of a
chunk in the batch layout), and needs the bootstrapping keys, which `EncryptedModel.keygen` makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ckks.errors import SecurityError
from nn.encrypted.params import MIN_AUTO_PRECISION_BITS, ParameterChoice, flooding_bits, noise_bits
from nn.errors import ConfigError

#: The values of compile's ``bootstrap`` argument.
MODES = ("auto", "never", "always")


def check_mode(bootstrap: object) -> str:
    """``bootstrap`` checked against MODES.

    Raises:
        ConfigError: another value.
    """
    if not isinstance(bootstrap, str) or bootstrap not in MODES:
        raise ConfigError(f"bootstrap must be one of {MODES}, got {bootstrap!r}")
    return bootstrap


def _ceil_log2(n: int) -> int:
    return 0 if n <= 1 else math.ceil(math.log2(n))


def segments(stage) -> list[tuple[str, int]]:
    """The arg-max cut where a bootstrap may go: (what, levels) per sign stage, then the product tree."""
    out = [(f"sign stage {k + 1} (degree {d})", _ceil_log2(d + 1)) for k, d in enumerate(stage.sign.degrees)]
    products = _ceil_log2(stage.shifts)
    if products:
        out.append((f"product tree ({stage.shifts} factors)", products))
    return out


def place(stage, input_level: int, compute_levels: int) -> list[tuple[int, int]]:
    """Where the bootstraps go: (segment index, level of the ciphertext there) in segment order.

    A fixed bootstrap before segment 0 (between the network and the comparison), then one before
    every segment the level left cannot hold.

    Args:
        stage: the `nn.encrypted.argmax.ArgmaxStage`.
        input_level: the level of the arg-max's input (L_c less the network's depth).
        compute_levels: L_c, the level a bootstrap restores.

    Returns:
        The bootstrap points.

    Raises:
        ConfigError: a segment needs more than L_c levels.
    """
    points = []
    level = input_level
    for k, (what, need) in enumerate(segments(stage)):
        if need > compute_levels:
            raise ConfigError(f"the arg-max's {what} needs {need} levels, more than the {compute_levels} a bootstrap "
                              "restores; use a larger argmax_margin")
        if k == 0 or level < need:
            points.append((k, level))
            level = compute_levels
        level -= need
    return points


@dataclass
class BootstrapPlan:
    """The bootstrapping context and the bootstraps of a plan (module docstring).

    Attributes:
        preset: "teaching" or "128".
        options: the preset's fields changed (``compute_levels``, ``poly_degree``).
        security: what `ckks.Context.for_bootstrapping` is asked for (None or 128).
        compute_levels: L_c, the level of a fresh ciphertext and of a bootstrap's output.
        points: (segment index, level before) of each bootstrap of the arg-max.
        where: the segment names, for the summary.
        memory_limit: the keys' memory guard (compile's ``memory_limit``).
        output_level: the level of the outputs.
        reason: why the plan bootstraps.
    """

    preset: str
    options: dict
    security: int | None
    compute_levels: int
    points: list[tuple[int, int]]
    where: list[str]
    memory_limit: float | None
    output_level: int
    reason: str
    slots_refreshed: int = 0
    extra: dict = field(default_factory=dict)

    def context(self, seed=None):
        """A private bootstrapping context with its bootstrapping keys (progress bar on a terminal).

        Args:
            seed: a fixed seed (INSECURE, for reproducible teaching runs; warns).

        Returns:
            The context (``ctx.bootstrapper`` holds the keys).

        Raises:
            ParameterError: the bootstrapping keys would take more than ``memory_limit`` bytes.
        """
        from ckks.context import Context

        ctx = Context.for_bootstrapping(self.preset, security=self.security, seed=seed, **self.options)
        ctx.generate_bootstrapping_keys(progress=True, memory_limit=self.memory_limit)
        return ctx

    def summary_lines(self, layout: str) -> list[str]:
        """One line per bootstrap: where, from which level, the level restored; and the context."""
        per = "per sample" if layout == "sample" else "per packed ciphertext of a chunk"
        lines = [f"bootstraps ({self.reason}): preset '{self.preset}' "
                 f"({'INSECURE' if self.security is None else '128-bit secure'}), {self.slots_refreshed} slots "
                 f"refreshed, fresh ciphertexts and bootstrap outputs at level {self.compute_levels}"]
        for n, ((_, level), what) in enumerate(zip(self.points, self.where), start=1):
            lines.append(f"  bootstrap {n}: before the arg-max's {what}"
                         + (" (between the network and the comparison)" if n == 1 else "")
                         + f", level {level} -> {self.compute_levels}, {per}")
        return lines


def plan(stages: list, layout: str, reason: str, *, precision_bits, security, poly_degree, scale_bits,
         statistical_security, max_abs: float, slots_needed: int,
         memory_limit) -> tuple[ParameterChoice, BootstrapPlan]:
    """Parameters and bootstraps for a plan ending with an arg-max (module docstring).

    Args:
        stages: the plan's stages, the last an ArgmaxStage.
        layout: "sample" or "batch".
        reason: why (for the summary).
        precision_bits, security, poly_degree, scale_bits, statistical_security: as `compile`'s.
        max_abs: the largest recorded value.
        slots_needed: slots the layout needs.
        memory_limit: the keys' memory guard.

    Returns:
        (ParameterChoice of the bootstrapping chain, BootstrapPlan).

    Raises:
        ConfigError: the model does not end with Argmax; ``scale_bits`` differs from the preset's; the
            recorded values do not fit q_0 / scale; the precision after flooding is below what is asked.
        SecurityError: the network before the arg-max is deeper than the levels after a bootstrap (the
            deep-networks placement is not built), or a ``poly_degree`` other than 2^16 at 128 bits.
    """
    from ckks.circuits.bootstrapping import bootstrapping_parameters, preset

    stage = stages[-1]
    if getattr(stage, "kind", None) != "argmax":  # an nn.encrypted.argmax.ArgmaxStage
        raise ConfigError("bootstrapping is placed only before and inside an nn.Argmax output for now; this model "
                          "does not end with Argmax (compile with bootstrap='never', or a shallower model)")
    network = sum(st.levels for st in stages[:-1])  # affine and polynomial stages
    name = "teaching" if security is None else "128"
    if security is not None and poly_degree not in (None, 1 << 16):
        raise SecurityError(f"the 128-bit bootstrapping chain has N = 65536; poly_degree={poly_degree} cannot hold "
                            "this plan's depth securely")
    base = preset(name)
    options: dict = {}
    if name == "teaching":
        if poly_degree is not None and poly_degree != base.poly_degree:
            options["poly_degree"] = int(poly_degree)
        need = max([base.compute_levels, network] + [n for _, n in segments(stage)])
        if need != base.compute_levels:
            options["compute_levels"] = need
    config = preset(name, **options)
    lc = config.compute_levels
    if network > lc:
        raise SecurityError(
            f"the network before the arg-max needs {network} levels, more than the {lc} a fresh ciphertext has in the "
            f"'{name}' bootstrapping chain; bootstraps inside a network are the deep-networks placement, not built "
            "yet: use a shallower network"
        )
    if scale_bits is not None and int(scale_bits) != config.scale_bits:
        raise ConfigError(f"scale_bits={scale_bits}: a bootstrapping plan uses the '{name}' preset's scale "
                          f"2^{config.scale_bits}; leave scale_bits unset")
    integer_bits = max(1, math.ceil(math.log2(max(float(max_abs), 1.0) * 4.0)))
    if integer_bits > config.q0_bits - config.scale_bits:
        raise ConfigError(f"values up to {max_abs:.4g} need {integer_bits} integer bits, but the '{name}' "
                          f"bootstrapping chain has q_0 / scale = 2^{config.q0_bits - config.scale_bits}; "
                          "scale the inputs down")
    params = bootstrapping_parameters(config, security)
    if params.slots < slots_needed:
        raise ConfigError(f"the bootstrapping ring has {params.slots} slots; the layout needs {slots_needed}")
    points = place(stage, lc - network, lc)
    names = [w for w, _ in segments(stage)]
    stage.bootstraps = tuple(k for k, _ in points)
    level = lc
    for k, (_, n) in enumerate(segments(stage)):
        level = (lc if k in stage.bootstraps else level) - n
    depth = network + stage.levels
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
    boot = BootstrapPlan(name, options, security, lc, points, [names[k] for k, _ in points], memory_limit, level,
                         reason, config.slots)
    return choice, boot


def refresh(ops, ct):
    """Bootstrap one ciphertext with the context's bootstrapper (level -> compute_levels, scale kept).

    Raises:
        KeyMissingError: the context has no bootstrapping keys (make it with ``em.keygen()``).
    """
    from ckks.circuits.bootstrapping import find_bootstrapper
    from ckks.errors import KeyMissingError

    context = ops.context
    bootstrapper = getattr(context, "bootstrapper", None) or find_bootstrapper(context.params, context.key_id)
    if bootstrapper is None or bootstrapper.galois_keys is None:
        raise KeyMissingError("this plan bootstraps, and the context has no bootstrapping keys; make the client "
                              "context with em.keygen() and send its public_copy()")
    return bootstrapper.bootstrap(ct)
