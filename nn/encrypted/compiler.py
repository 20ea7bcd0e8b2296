"""compile(): a trained nn model -> an EncryptedModel (plan, parameters, keys, run on ciphertexts).

::

    em = encrypted.compile(model, input_shape=(1, 8, 8), batch_size=1)
    print(em.summary())
    ctx = em.keygen()                 # client: secret key + exactly the Galois keys of the plan
    server = ctx.public_copy()        # no secret key
    enc = em.encrypt(ctx, x)          # (batch, *input_shape) -> EncryptedBatch
    out = em.run(server, enc)         # server side
    y = em.decrypt(ctx, out)          # (batch, outputs): logits, or soft-argmax probabilities

The plan (`nn.encrypted.plan`) is laid out by `nn.encrypted.sample_layout`
(one sample per ciphertext) or `nn.encrypted.batch_layout` (slot = sample),
chosen from a cost estimate unless forced; the parameters come from the plan's
depth and value range (`nn.encrypted.params`).
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from ckks.context import Context
from ckks.errors import ContextMismatchError, InputError, InputTypeError, KeyMissingError
from ckks.security.flooding import DEFAULT_STATISTICAL_SECURITY, Flooding
from nn.encrypted import approximation, argmax, flooding, multiplexed
from nn.encrypted.batch_layout import BatchLayout
from nn.encrypted.bootstrap import Executor, check_mode, level_lines, warn_ranges
from nn.encrypted.bootstrap import choose as choose_bootstraps
from nn.encrypted.ops import Ops, ranges_checked_in_plaintext
from nn.encrypted.params import ParameterChoice, noise_bits
from nn.encrypted.plan import (
    AffineStage,
    PolyStage,
    build_stages,
    forward_stages,
    im2col_vector,
    unfolded_levels,
)
from nn.encrypted.sample_layout import SampleLayout
from nn.encrypted.softargmax import SoftArgmaxStage, check_precision, design, exact
from nn.encrypted.tensor import EncryptedBatch
from nn.encrypted.validation import (
    CALIBRATION_SAMPLES,
    COMPILE_MEMORY_LIMIT,
    MAX_BATCH_SIZE,
    check_memory,
    check_memory_limit,
    check_options,
    check_range,
    check_shape,
    check_weights,
    ciphertext_bytes,
    estimate_plan_bytes,
)
from nn.errors import ConfigError, LayerTypeError, RangeWarning, ShapeError, translating, translating_methods
from nn.model import Sequential
from nn.shape_hints import input_shape_hint

LAYOUTS = ("auto", "sample", "batch")


class InputRangeWarning(UserWarning):
    """Inputs lie outside the range recorded at compile time: polynomial approximations may be off there."""


@translating
def compile(  # noqa: A001 - the issue's API name
    model: Sequential,
    input_shape: Sequence[int],
    batch_size: int = 1,
    *,
    layout: str = "auto",
    calibration: np.ndarray | None = None,
    input_range: tuple[float, float] = (0.0, 1.0),
    precision_bits: int | None = None,
    security: int | None = 128,
    poly_degree: int | None = None,
    scale_bits: int | None = None,
    first_conv: str = "im2col",
    softargmax_error: float = 1e-3,
    flooding: bool = True,
    statistical_security: int = DEFAULT_STATISTICAL_SECURITY,
    memory_limit: float | None = COMPILE_MEMORY_LIMIT,
    argmax_margin: float = argmax.DEFAULT_MARGIN,
    bootstrap: str = "auto",
    approximate: bool = False,
    approx_bits: int = 12,
    conv_packing: str = "auto",
    interleave: int = 1,
) -> EncryptedModel:
    """Compile a trained HE-friendly model into an encrypted inference plan.

    Args:
        model: an ``nn.Sequential`` of Linear, Conv2d, AvgPool2d, Flatten, Square,
            QuadraticActivation, PolyActivation layers, optionally ending with SoftArgmax or Argmax
            (`nn.encrypted.argmax`: comparisons, a one-hot output).
        input_shape: shape of one sample, e.g. (1, 8, 8) or (64,).
        batch_size: the largest number of samples encrypted and run at once.
        layout: "sample" (one sample per ciphertext), "batch" (slot = sample), or "auto":
            the cheaper by a cost estimate (rotations cost most; see the module docstring).
        calibration: samples (n, *input_shape), typically the training data: the value ranges
            (and the soft-argmax polynomials) are recorded on them.  Default: 256 samples drawn
            uniformly from ``input_range``.
        input_range: the range of the random calibration samples when ``calibration`` is None.
        precision_bits: requested bits of precision of the decrypted outputs, after flooding (sets the scale;
            `nn.encrypted.params.choose_parameters`).  None: 16, or with flooding the most that fits a
            60-bit first prime (at least 8; `summary` and ``params.precision_bits`` say how many).
        security: 128, 192, 256 or None (insecure toy parameters, with ``poly_degree``).
        poly_degree: force the ring degree N.
        scale_bits: force log2 of the scale.
        first_conv: "im2col" (a first Conv2d reads client-side im2col patches, TenSEAL-compatible)
            or "server" (every convolution is a linear transform on the server).  The batch layout
            always uses raw features.
        softargmax_error: error budget of each polynomial approximation in the soft-argmax (positive).
        flooding: True (default): every decryption of the model's outputs and of the `EncryptedModel.keygen`
            context is noise-flooded (IND-CPA-D: decrypted values can be shared without revealing the secret
            key), and the scale is budgeted so that ``precision_bits`` holds after flooding
            (`nn.encrypted.params`).  False opts out: smaller parameters, but anyone who sees an output
            ciphertext and its decryption recovers the secret key (Li and Micciancio, Eurocrypt 2021;
            ``ckks.attacks``): only for results that never leave the key owner.
        statistical_security: lambda of the flooding (bits; an adversary's advantage per decryption is
            at most 2^-lambda), 1 .. 128, default 30 as OpenFHE.
        memory_limit: refuse (ResourceLimitError) before allocating if compiling, or the ciphertexts of
            a full batch, would take more bytes than this (default 8 GiB; None: no limit); the estimate is
            in `nn.encrypted.validation`.
        argmax_margin: for a model ending with ``nn.Argmax``: the comparison's margin relative to the
            calibrated logit-difference range R (``nn.encrypted.argmax``): logits closer than
            ``argmax_margin * R`` are ties; smaller margins cost more levels.
        bootstrap: "auto" (default): run the plan in a bootstrapping context (preset "teaching" with
            ``security=None``, else "128") when no parameter set holds its depth, or when the cost model says
            the bootstraps are faster than the longer modulus chain; bootstraps go between any stages and
            inside stages that can be cut, placed with the level of every segment by a dynamic programme
            over modelled latency (`nn.encrypted.placement`, `nn.encrypted.bootstrap`; `summary` states each
            bootstrap, the modelled costs and the naive policy's count).  Needs ``calibration`` when it
            bootstraps.  "never": refuse as without bootstrapping (SecurityError).  "always": bootstrap even
            when the depth fits (teaching, tests).
        approximate: False (default): ReLU, MaxPool2d, Sigmoid, Tanh, GELU and SiLU are refused
            (NotHEFriendlyError).  True: they are evaluated by polynomials on the range recorded on
            ``calibration`` (required; `nn.encrypted.approximation`): ReLU as x (1 + sign(x)) / 2 and MaxPool2d
            by pairwise maxima with the composite minimax sign (Lee et al., IEEE TDSC 2021), the smooth ones by
            Chebyshev series; the normalisation onto [-1, 1] is folded into the neighbouring linear layers;
            `summary` states each approximation's degrees, levels and error, and `encrypt` warns
            (`nn.errors.RangeWarning`) naming the first layer whose inputs leave the range it is valid on.
        approx_bits: precision of those approximations relative to the calibrated range, 4 .. 20 (12: a ReLU
            costs 17 levels, 8: 12).
        conv_packing: how the sample layout evaluates convolutions and pooling (`nn.encrypted.multiplexed`):
            "dense" (every run of affine layers one matrix on the flat image, its diagonals by BSGS),
            "multiplexed" (channels interleaved in the slots; a convolution costs one level and about
            2 sqrt(k^2 B) rotations for B channel-base differences, a pooling only rotations, the first
            Linear reads the packed layout through permuted weights), or "auto" (default): multiplexed when
            its cost model (rotations + 0.2 x plaintext products) is lower or the dense plan's memory estimate
            is over ``memory_limit``; `summary` states both costs.  The batch layout is always dense.
        interleave: samples per ciphertext in the sample layout, B (a power of two; default 1).  Each sample
            keeps the layout it would have alone on S' slots, and B of them share a ring of B S' slots,
            interleaved: feature i of sample j at slot i B + j (`ckks.circuits.interleave`: a rotation by k B
            rotates every sample by k, a plaintext vector repeated B times multiplies every sample).  A run
            then costs what one sample's does, for B samples: the sample layout's latency, amortised like the
            batch layout's.  S' is the smallest power of two that holds the layout, so the ring needs B S'
            slots; bootstraps refresh every slot (no sparse packing).  Use with ``layout="sample"``.

    Returns:
        An EncryptedModel.

    Raises:
        NotHEFriendlyError: the model holds ReLU, MaxPool2d, Sigmoid, Tanh, GELU or SiLU layers and
            ``approximate`` is False (convert with ``nn.convert``, or approximate), or a SoftArgmax or Argmax
            that is not last.
        LayerTypeError: ``model`` is not an ``nn.Sequential`` or holds unsupported layers.
        ShapeError: the model does not accept ``input_shape``, or ``calibration`` has another shape.
        ConfigError: a bad ``input_shape``, ``input_range``, ``batch_size``, ``layout``, ``first_conv``,
            ``precision_bits``, ``security``, ``poly_degree``, ``scale_bits``, ``softargmax_error``,
            ``flooding``, ``statistical_security`` or ``memory_limit``; NaN or infinite weights; or a
            SoftArgmax whose denominator range (beta times the logit spread on the calibration data)
            the chosen parameters cannot represent: the ciphertext noise 2^-p divided by the smallest
            scaled denominator exceeds ``softargmax_error`` (``nn.encrypted.softargmax.check_precision``).
        SecurityError: no 128-bit-secure parameter set holds the plan's depth (the message names
            the depth needed and the largest secure depth) and ``bootstrap="never"``; or, bootstrapping at
            128 bits, a forced ``poly_degree`` other than 2^16.
        ConfigError: a bad ``bootstrap``; a plan that bootstraps without ``calibration``; bootstrapping,
            a forced ``scale_bits`` other than the preset's, recorded values too large for the bootstrapping
            chain, too few bits of precision after flooding (the "128" preset's 2^42 scale at N = 2^16:
            compile with ``flooding=False``), or a segment deeper than the levels a bootstrap restores
            (`nn.encrypted.placement.PlacementError`).
        ParameterError: a forced ``poly_degree`` has too few slots for the layout, or the scale
            ``precision_bits`` needs (with flooding) exceeds the 60-bit prime limit, or (``bootstrap="never"``)
            the depth needs more than the 64 primes a chain may have.
        ResourceLimitError: the estimated memory exceeds ``memory_limit`` (the plan's, estimated before it is
            built, or after the parameters are chosen, its encoded diagonals and Galois keys).
        ConfigError (packing): ``conv_packing`` not one of "auto", "dense", "multiplexed", or "multiplexed" for a
            model or layout it cannot pack (the batch layout, approximations, no leading Conv2d/AvgPool2d on a
            (C, H, W) input, tensors over 2^15 slots).
        ConfigError (interleave): ``interleave`` is not a power of two >= 1, or is above 1 without
            ``layout="sample"``; or a bootstrapping ring with fewer than B S' slots.
        ConfigError (approximations): ``approximate`` is not a bool, ``approx_bits`` is not an integer in
            4 .. 20, ``approximate=True`` without ``calibration``, or a smooth activation that no Chebyshev
            degree up to 255 approximates to ``approx_bits`` on its range.
    """
    input_shape = _check_shape(input_shape)
    check_options(batch_size, precision_bits, security, poly_degree, scale_bits, softargmax_error, flooding,
                  statistical_security, memory_limit)
    limit = check_memory_limit(memory_limit)
    bootstrap = check_mode(bootstrap)
    approx_bits = _check_approximation(approximate, approx_bits, calibration)
    if not isinstance(model, Sequential):
        raise LayerTypeError(f"compile takes an nn.Sequential model, got {type(model).__name__}")
    check_weights(model)
    if calibration is None:
        check_range(input_range)
    samples = CALIBRATION_SAMPLES if calibration is None else int(np.shape(calibration)[0] or 1)
    packing, packed = multiplexed.decide(  # the convolution packing, from estimates made before anything is built
        model, input_shape, conv_packing, [estimate_plan_bytes(model, input_shape, samples, n) for n in (1, 2)],
        samples, limit, layout, bool(approximate), first_conv, flooding)
    check_memory(f"compiling this model ({packing.packing} convolutions)", packing.plan_bytes, limit)
    if layout not in LAYOUTS:
        raise ConfigError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if first_conv not in ("im2col", "server"):
        raise ConfigError(f"first_conv must be 'im2col' or 'server', got {first_conv!r}")
    copies = _check_interleave(interleave, layout)
    x_cal = _calibration(calibration, input_shape, input_range)
    candidates = {}
    for name in packing.layouts if layout == "auto" else (layout,):
        conv_mode = first_conv if name == "sample" else "server"
        candidates[name] = _plan(model, input_shape, x_cal, conv_mode, softargmax_error, argmax_margin,
                                 (name, approx_bits) if approximate else None, packed if name == "sample" else None)
    if layout == "auto":
        layout = _cheaper(candidates, batch_size) if len(candidates) > 1 else next(iter(candidates))
    stages, info = candidates[layout]
    info["conv_packing"] = packing if layout == "sample" else None
    depth = sum(st.levels_for(layout) if isinstance(st, SoftArgmaxStage) else st.levels for st in stages)
    slots_needed = 1
    if layout == "sample":
        slots_needed = max(max(st.matrix.shape) for st in stages if isinstance(st, AffineStage))
        slots_needed = max(slots_needed, max((st.outputs for st in stages if isinstance(st, SoftArgmaxStage)),
                                             default=1))
    if isinstance(stages[-1], argmax.ArgmaxStage):
        stages[-1].batch_size = int(batch_size)  # the batch layout's block width
        slots_needed = max(slots_needed, argmax.min_slots(stages[-1]) if layout == "sample" else 2 * stages[-1].classes)
    info["sample_slots"] = 1 << max(0, math.ceil(math.log2(slots_needed)))  # S': the slots of one sample
    if copies > 1:  # B samples of S' slots each: the ring holds B S' (nn.encrypted.sample_layout)
        slots_needed = info["sample_slots"] * copies
    params, info["bootstrap"] = choose_bootstraps(  # nn.encrypted.bootstrap, nn.encrypted.placement
        stages, layout, bootstrap, depth=depth, stage_max=info["stage_max"], max_abs=info["max_abs"],
        slots_needed=slots_needed, batch_size=int(batch_size), calibrated=calibration is not None, copies=copies,
        precision_bits=precision_bits, security=security, poly_degree=poly_degree, scale_bits=scale_bits,
        statistical_security=int(statistical_security) if flooding else None, memory_limit=limit,
        notes=info.setdefault("bootstrap_notes", []))
    if isinstance(stages[-1], SoftArgmaxStage):  # before any key or ciphertext exists
        # the soft-argmax runs before decryption: its precision is the scale less the ciphertext noise
        check_precision(stages[-1], params.scale_bits - noise_bits(params.poly_degree), params.moduli_bits[0],
                        softargmax_error)
    features = int(np.prod(input_shape)) if stages[0].im2col is None else stages[0].matrix.shape[0]
    check_memory(f"the ciphertexts of a batch of {batch_size}", ciphertext_bytes(
        layout, int(batch_size), features, _last_width(stages) + 1, params, copies), limit)
    if info["conv_packing"] is not None and info["conv_packing"].packing == "multiplexed":
        check_memory("the encoded diagonals and Galois keys of this plan", multiplexed.runtime_bytes(stages, params),
                     limit)
    info["precision_bits"] = params.precision_bits
    if info["bootstrap"] is not None:  # a bootstrap is precise to its preset's bits on [-1, 1]
        info["precision_bits"] = min(params.precision_bits, info["bootstrap"].precision_bits)
    k = 1 if layout == "sample" else min(int(batch_size), params.slots)  # the flooding noise run (keygen)
    order = np.argsort(-np.max(np.abs(x_cal.reshape(len(x_cal), -1)), axis=1), kind="stable")
    info["noise_samples"] = x_cal[order[np.arange(k) % len(x_cal)]]
    info["copies"] = copies
    return EncryptedModel(model, input_shape, int(batch_size), layout, stages, params, info)


_check_shape = check_shape


def _check_interleave(interleave, layout: str) -> int:
    """compile's ``interleave`` as an int (see `compile` for the errors)."""
    if isinstance(interleave, bool) or not isinstance(interleave, (int, np.integer)) or interleave < 1 or (
            interleave & (interleave - 1)):
        raise ConfigError(f"interleave must be a power of two >= 1 (samples per ciphertext), got {interleave!r}")
    if interleave > 1 and layout != "sample":
        raise ConfigError(f"interleave={interleave} packs samples in the sample layout; compile with layout='sample' "
                          f"(got layout={layout!r})")
    return int(interleave)


def _calibration(calibration, input_shape, input_range) -> np.ndarray:
    if calibration is None:
        lo, hi = check_range(input_range)
        return np.random.default_rng(0).uniform(lo, hi, size=(CALIBRATION_SAMPLES, *input_shape))
    x = np.asarray(calibration, dtype=np.float64)
    if x.shape[1:] != input_shape or x.shape[0] < 1:
        raise ShapeError(
            f"calibration must have shape (n, *{input_shape}), got {x.shape}; {input_shape_hint(x.shape, input_shape)}"
        )
    if not np.all(np.isfinite(x)):
        raise ShapeError("calibration data contains NaN or infinity")
    return x


def features_of(stages: list, x: np.ndarray) -> np.ndarray:
    """(n, *input_shape) samples -> (n, features) as the first stage reads them (im2col or flattened)."""
    first = stages[0]
    if first.im2col is not None:
        return im2col_vector(x, first.im2col)
    if isinstance(first, multiplexed.PackedAffineStage):  # a packed head reads the image in its slot layout
        lay = first.in_layout
        return lay.pack(x.reshape(x.shape[0], lay.channels, lay.height, lay.width), first.matrix.shape[0])
    return x.reshape(x.shape[0], -1)


def _check_approximation(approximate, approx_bits, calibration) -> int:
    """approx_bits checked; calibration data present when approximating (see `compile`)."""
    if not isinstance(approximate, bool):
        raise ConfigError(f"approximate must be True or False, got {approximate!r}")
    bits = approximation.check_bits(approx_bits)
    if approximate and calibration is None:
        raise ConfigError(
            "approximate=True needs calibration data: the ReLU, max-pool and activation approximations hold only on "
            "the value ranges recorded on it; pass calibration= a few hundred typical inputs (e.g. training samples) "
            "of shape (n, *input_shape)")
    return bits


def _plan(model, input_shape, x_cal, first_conv, softargmax_error, argmax_margin=argmax.DEFAULT_MARGIN,
          approximate: tuple[str, int] | None = None, packed: list | None = None):
    """Stages and calibration info; ``approximate`` = (layout, approx_bits) keeps ReLU & co as approximations."""
    stages = packed if packed is not None else build_stages(model, input_shape, first_conv, approximate is not None,
                                                            approximate[1] if approximate else 12)
    linear_first = isinstance(stages[0], AffineStage) or getattr(stages[0], "kind", None) in ("conv", "pool")
    feats = features_of(stages, x_cal) if linear_first else x_cal.reshape(len(x_cal), -1)
    if not linear_first:  # a model that starts with an activation: identity first
        n = feats.shape[1]
        stages.insert(0, AffineStage(np.eye(n), np.zeros(n), ["input"], folded=["identity (no linear layer first)"]))
    if approximate is not None:  # ranges, polynomials, normalisations folded (nn.encrypted.approximation)
        stages = approximation.calibrate(stages, feats, approximate[0])
    info: dict = {}
    if isinstance(stages[-1], tuple):
        what, beta, name = stages.pop()
        if not isinstance(stages[-1], AffineStage):
            c = forward_stages(stages, feats)[-1].shape[1]
            stages.append(AffineStage(np.eye(c), np.zeros(c), [name], folded=[f"identity before {what}"]))
        logits = forward_stages(stages, feats)[-1]
        if what == "argmax":
            sa = argmax.design(logits, [name], argmax_margin)
            note = f"arg-max differences z_i - z_(i+m) for m = 1..{sa.shifts}, divided by {sa.scale:.4g}"
        else:
            sa = design(logits, beta, [name], softargmax_error)
            note = f"soft-argmax input map (beta={beta:g}, shift, range -> [-1, 1])"
        f, h = sa.fold_matrix()
        prev = stages[-1]
        prev.matrix, prev.bias = prev.matrix @ f, prev.bias @ f + h
        prev.folded.append(note)
        stages.append(sa)
        info["logits"] = logits
    values = forward_stages(stages, feats)
    info["stage_max"] = [float(np.max(np.abs(v))) for v in values]
    info["max_abs"] = max([float(np.max(np.abs(feats)))] + info["stage_max"])
    info["input_range"] = (float(x_cal.min()), float(x_cal.max()))
    reference = model.forward(x_cal)
    if isinstance(stages[-1], SoftArgmaxStage):
        reference = exact(info.pop("logits"), stages[-1].beta)
    info.pop("logits", None)
    info["plan_error"] = float(np.max(np.abs(values[-1] - reference)))
    return stages, info


def _cheaper(candidates: dict, batch_size: int) -> str:
    """The layout with the smaller estimated cost (rotation = 1, ct-ct product = 1, ct-pt product = 0.02)."""
    costs = {}
    for name, (stages, _) in candidates.items():
        slots = 4096  # a typical N/2: only the ratio matters
        lay = SampleLayout(stages, max(slots, _width(stages))) if name == "sample" else BatchLayout(stages, slots)
        per_run = sum(r["rotations"] + r["ct_ct"] + 0.02 * r["ct_pt"] for r in lay.costs())
        runs = batch_size if name == "sample" else math.ceil(batch_size / slots)
        costs[name] = per_run * runs
    return min(costs, key=costs.get)


def _width(stages) -> int:
    return max(max(st.matrix.shape) for st in stages if isinstance(st, AffineStage))


def _layout(name: str, stages: list, slots: int, copies: int = 1):
    return SampleLayout(stages, slots, copies) if name == "sample" else BatchLayout(stages, slots)


@translating_methods
class EncryptedModel:
    """A compiled encrypted-inference plan: stages, layout, CKKS parameters.

    Made by `compile`; see the module docstring for the client/server flow.

    Attributes:
        layout: "sample" or "batch".
        params: the chosen `nn.encrypted.params.ParameterChoice`.
        stages: the plan's stages (AffineStage, PolyStage, SoftArgmaxStage).
        depth: levels the plan consumes.
        unfolded_depth: levels without scalar folding and layer composition.
    """

    def __init__(self, model, input_shape, batch_size, layout, stages, params: ParameterChoice, info):
        self.model = model
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.stages = stages
        self.params = params
        self.info = info
        self.layout = layout
        self._layout = _layout(layout, stages, params.slots, info.get("copies", 1))
        #: samples per ciphertext (interleaved in the sample layout; `compile`'s ``interleave``)
        self.copies = info.get("copies", 1)
        self.depth = params.depth
        #: the bootstraps of the plan (`nn.encrypted.bootstrap.BootstrapPlan`), or None
        self.bootstrap = info.get("bootstrap")
        if self.bootstrap is not None and layout == "batch" and self.bootstrap.slots_refreshed < params.slots:
            self._layout.zero_tail = self.bootstrap.slots_refreshed  # sparse packing: zeros beyond the batch
        sa = stages[-1] if isinstance(stages[-1], (SoftArgmaxStage, argmax.ArgmaxStage)) else None
        self.unfolded_depth = unfolded_levels(model) + (sa.levels_for(layout) if sa else 0) + sum(
            st.levels for st in stages if isinstance(st, approximation.APPROX_STAGES))
        self.outputs = stages[-1].outputs if sa else stages[-1].matrix.shape[1] if isinstance(
            stages[-1], AffineStage) else _last_width(stages)
        self.classes = sa.classes if sa else self.outputs
        h = hashlib.sha256()
        h.update(repr((layout, input_shape, batch_size, params.describe())
                      + ((self.copies,) if self.copies > 1 else ())).encode())
        for st in stages:
            for arr in (getattr(st, "matrix", None), getattr(st, "bias", None), getattr(st, "coeffs", None),
                        getattr(st, "weight", None)):
                if arr is not None:
                    h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        self.plan_id = h.hexdigest()[:16]
        #: Statistical security of flooded decryptions (None: compiled with flooding=False).
        self.statistical_security = params.statistical_security
        #: The flooding policy of the outputs (measured at the first `keygen`; None before, or without flooding).
        self.flooding: Flooding | None = None
        self._outputs_seen: tuple[int, list[float]] | None = None  # level and scales of this plan's outputs
        #: max |e_1 - e_2| of the noise run (`nn.encrypted.flooding.measure`), once measured.
        self.measured_noise: float | None = None

    # -- introspection ------------------------------------------------------------------------
    @property
    def rotation_steps(self) -> list[int]:
        """The Galois-key steps the plan needs (exactly those `keygen` makes)."""
        return self._layout.rotation_steps()

    @property
    def max_interleave(self) -> int:
        """The most samples one ciphertext of this plan's ring could hold interleaved (sample layout; else 1):
        N/2 over the smallest power of two of slots that holds one sample (`compile`'s ``interleave``)."""
        if self.layout != "sample":
            return 1
        return max(1, self.params.slots // self.info["sample_slots"])

    @property
    def tolerance(self) -> float:
        """The error bound the parameters promise on the outputs: 32 * 2^-precision_bits * max(1, V).

        V is the largest absolute value recorded at any stage on the calibration data.  The
        scale leaves ``precision_bits`` bits after the binary point once encoding and
        key-switching noise are paid (`nn.encrypted.params`); the factor 32 covers the
        accumulation over the plan's stages, and large intermediate values lose bits in proportion.
        With bootstraps, ``precision_bits`` is at most the bootstrap's on values scaled into [-1, 1]
        (`nn.encrypted.bootstrap.BootstrapPlan.precision_bits`: the preset's promise less what sparse
        packing's trace and the real-part conjugation cost).
        """
        return 32.0 * 2.0 ** -self.info["precision_bits"] * max(1.0, max(self.info["stage_max"]))

    @property
    def has_softargmax(self) -> bool:
        return isinstance(self.stages[-1], SoftArgmaxStage)

    def summary(self) -> str:
        """A printable table: per stage its layers, layout, levels, rotations and steps, products.

        Returns:
            The summary text (levels used with and without folding, parameters, Galois keys).
        """
        names = {"sample": "one sample per ciphertext (BSGS diagonal matvec, hoisted rotations)",
                 "batch": "SIMD over the batch (slot = sample, one ciphertext per feature)"}
        if self.copies > 1:
            names["sample"] = (f"{self.copies} samples per ciphertext, interleaved (feature i of sample j at slot "
                               f"i*{self.copies} + j; each sample in {self._layout.slots} slots as alone; BSGS "
                               f"diagonal matvec, rotations by k*{self.copies})")
        lines = [
            f"EncryptedModel: layout '{self.layout}' - {names[self.layout]}",
            f"input {self.input_shape}, batch_size {self.batch_size}, outputs {self.outputs}"
            + (" (probabilities + soft-argmax index)" if self.has_softargmax else
               " (one-hot arg-max)" if isinstance(self.stages[-1], argmax.ArgmaxStage) else " (logits)"),
            f"parameters: {self.params.describe()}",
            f"{'#':>2}  {'stage':<10} {'layers':<34} {'levels':>6} {'rot':>5} {'ct-ct':>6} {'ct-pt':>6}  steps",
        ]
        costs = self._layout.costs()
        for i, (st, c) in enumerate(zip(self.stages, costs)):
            levels = st.levels_for(self.layout) if isinstance(st, SoftArgmaxStage) else st.levels
            kind = st.kind if not isinstance(st, PolyStage) else f"poly:{st.mode}"
            if isinstance(st, AffineStage) and st.im2col:
                kind = "affine/i2c"
            elif isinstance(st, multiplexed.PackedAffineStage):
                kind = "affine/mux"
            layers = ",".join(st.layers)
            steps = _short(c["steps"])
            lines.append(f"{i:>2}  {kind:<10} {layers:<34.34} {levels:>6} {c['rotations']:>5} {c['ct_ct']:>6} "
                         f"{c['ct_pt']:>6}  {steps}")
            for note in st.folded:
                lines.append(f"{'':>14}folded: {note}")
        lines.extend(multiplexed.summary_lines(self.info.get("conv_packing"), self.stages, self.params.slots))
        chunk = getattr(self._layout, "chunk", self.params.slots)
        unit = ("per sample" if self.copies == 1 else f"per ciphertext of {self.copies} samples") \
            if self.layout == "sample" else f"per group of up to {chunk} samples"
        lines.append(
            f"levels used: {self.depth} (without folding: {self.unfolded_depth}); "
            f"rotations {unit}: {sum(c['rotations'] for c in costs)}; "
            f"Galois keys: {len(self.rotation_steps)} step(s)"
        )
        if isinstance(self.stages[-1], (SoftArgmaxStage, argmax.ArgmaxStage)):
            lines.append(self.stages[-1].summary_line())
        approximated = [st for st in self.stages if isinstance(st, approximation.APPROX_STAGES)]
        lines.extend(f"approximation {st.summary_line()}" for st in approximated)
        if approximated:
            lines.append(f"approximations: plan_forward evaluates the same polynomials, so decrypted outputs are "
                         f"within the tolerance {self.tolerance:.2e} of it; the errors above are against the exact "
                         "layers")
        lines.extend(level_lines(self) + self.info.get("bootstrap_notes", []))
        if self.bootstrap is not None:
            lines.extend(self.bootstrap.summary_lines(self.layout, self.copies))
        lines.append(f"plan vs model on calibration data: max |difference| {self.info['plan_error']:.2e}")
        lines.append(flooding.describe(self.params, self.flooding, self.statistical_security, self.measured_noise))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"EncryptedModel(layout={self.layout!r}, depth={self.depth}, N={self.params.poly_degree}, "
                f"stages={len(self.stages)})")

    # -- client ------------------------------------------------------------------------------------
    def keygen(self, seed: int | bytes | None = None) -> Context:
        """A private ``ckks.Context`` with the chosen parameters and exactly the plan's Galois keys.

        Args:
            seed: a fixed seed (INSECURE, for reproducible teaching runs; warns).

        Returns:
            The client's context (holds the secret key; send ``ctx.public_copy()`` to the server).  Compiled
            with flooding (the default), the context floods every decryption (``ctx.decrypt``,
            ``vector.decrypt()``, `decrypt`) with the model's policy; the first keygen measures the outputs'
            noise bound for it (two runs of one calibration batch, `nn.encrypted.flooding`).

        Raises:
            ParameterError: the chosen parameters cannot be built (not expected), or (a plan that bootstraps)
                its bootstrapping keys would take more than compile's ``memory_limit``.
        """
        p = self.params
        if self.bootstrap is not None:  # a bootstrapping context, with its keys (nn.encrypted.bootstrap)
            ctx = self.bootstrap.context(seed, self.rotation_steps)
        else:
            ctx = Context(p.poly_degree, list(p.moduli_bits), p.scale_bits, security=p.security, seed=seed)
        steps = self.rotation_steps
        if steps:
            ctx.generate_galois_keys(steps=steps, progress=False)
        if self.statistical_security is not None:
            ctx.set_flooding(self._flooding_policy(ctx))
        return ctx

    def _flooding_policy(self, context: Context) -> Flooding:
        """The model's flooding policy, measuring the output noise with ``context`` the first time."""
        if self.flooding is None:
            measured, level, scales = flooding.measure(self, context)
            self._outputs_seen = (level, scales)
            self.measured_noise = measured
            self.flooding = flooding.policy(self.params.poly_degree, measured, self.statistical_security)
        return self.flooding

    def _samples(self, x, most: int) -> np.ndarray:
        """``x`` as float64 samples (1 .. ``most``, *input_shape), finite (see `features` for the errors)."""
        if isinstance(x, (str, bytes)):
            raise InputTypeError(f"inputs must be a numeric array, got {type(x).__name__}")
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputTypeError(f"inputs must be a numeric array, got {type(x).__name__}: {exc}") from exc
        if x.shape[1:] != self.input_shape:
            raise ShapeError(
                f"inputs must have shape (batch, {', '.join(map(str, self.input_shape))}), got {x.shape}; "
                f"{input_shape_hint(x.shape, self.input_shape)}"
            )
        if not 1 <= x.shape[0] <= most:
            raise ShapeError(
                f"this model was compiled for batches of 1 to {most} samples, got {x.shape[0]}; "
                "compile with a larger batch_size or split the inputs"
            )
        if not np.all(np.isfinite(x)):
            raise InputError("inputs contain NaN or infinity; CKKS encrypts finite real numbers only")
        return x

    def features(self, x) -> np.ndarray:
        """Checked samples (batch, *input_shape) -> the (batch, n) feature rows the first stage reads.

        Args:
            x: the samples.

        Returns:
            The features (im2col patches for a client-side first convolution, else flattened).

        Raises:
            InputTypeError: ``x`` is not numeric.
            ShapeError: wrong sample shape, or a batch of 0 or more than ``batch_size`` samples.
            InputError: NaN or infinity in ``x``.
        """
        x = self._samples(x, self.batch_size)
        self._check_approximation_ranges(x)
        warn_ranges(self, features_of(self.stages, x))  # values at the bootstraps (nn.encrypted.bootstrap)
        lo, hi = self.info["input_range"]
        margin = 1e-9 + 0.05 * (hi - lo)
        if x.min() < lo - margin or x.max() > hi + margin:
            warnings.warn(
                f"inputs span [{x.min():.3g}, {x.max():.3g}] but the model was compiled on [{lo:.3g}, {hi:.3g}]: "
                "the parameters and polynomial approximations are only valid on the recorded range",
                InputRangeWarning,
                stacklevel=3,
            )
        return features_of(self.stages, x)

    def _check_approximation_ranges(self, x: np.ndarray) -> None:
        """Warn (RangeWarning) when a polynomial approximation would see inputs beyond its valid range.

        The server cannot see encrypted values, so the check runs here, where the client holds x: the
        plaintext plan on x, the first approximated layer whose inputs leave [-R, R] named
        (`nn.encrypted.approximation.check_ranges`).
        """
        if not any(isinstance(st, approximation.APPROX_STAGES) for st in self.stages):
            return
        found = approximation.check_ranges(self.stages, features_of(self.stages, x))
        if found is not None:
            layer, seen, (lo, hi) = found
            warnings.warn(
                f"layer {layer}: its inputs reach {seen:.4g} in magnitude, beyond [{lo:.4g}, {hi:.4g}] where its "
                "polynomial approximation holds (the range recorded on the calibration data, widened by "
                f"{approximation.RANGE_MARGIN}); the encrypted result may be garbage: recompile with calibration "
                "data that covers such inputs", RangeWarning, stacklevel=4)

    def encrypt(self, context: Context, x) -> EncryptedBatch:
        """Encrypt a batch of samples in the plan's layout.

        Args:
            context: the client's context from `keygen` (a public copy can encrypt too).
            x: samples of shape (batch, *input_shape), 1 <= batch <= batch_size.

        Returns:
            An EncryptedBatch (input).

        Raises:
            InputTypeError: ``context`` is not a ``ckks.Context`` or ``x`` is not numeric.
            ContextMismatchError: ``context`` has other parameters than the plan.
            ShapeError: wrong sample shape or batch size.
            InputError: NaN or infinity in ``x``.

        Warns:
            RangeWarning: (``approximate=True``) the plaintext plan on ``x`` takes an approximated layer's
                inputs beyond the interval its polynomial holds on; the message names the first such layer.
                Or (a plan that bootstraps) the values at a bootstrap between stages leave [-1, 1] after its
                scaling; the message names where.
        """
        self._check_context(context)
        feats = self.features(x)
        vectors = [context.encrypt(v) for v in self._layout.pack(feats)]
        return EncryptedBatch(vectors, self.layout, feats.shape[0], self.plan_id, "input")

    def decrypt(self, context: Context, out: EncryptedBatch) -> np.ndarray:
        """Decrypt the outputs of `run`.

        Args:
            context: the client's private context.
            out: the EncryptedBatch `run` returned.

        Returns:
            (batch, outputs): logits, or the soft-argmax probabilities (batch, classes) when the
            model ends with SoftArgmax (the index: `decrypt_soft_argmax`).

        Raises:
            KeyMissingError: ``context`` holds no secret key (a public copy).
            ContextMismatchError: ``out`` belongs to another plan or context, or its count, level or scales
                are not those of this plan's outputs.
            InputTypeError: ``out`` is not an EncryptedBatch.
        """
        values = self._decrypt_all(context, out)
        return values[:, : self.classes] if self.has_softargmax else values

    def decrypt_soft_argmax(self, context: Context, out: EncryptedBatch) -> np.ndarray:
        """The encrypted soft-argmax value sum_i i softmax(beta z)_i per sample, decrypted.

        Args:
            context: the client's private context.
            out: the EncryptedBatch `run` returned.

        Returns:
            (batch,) values; rounded, they are the predicted classes.

        Raises:
            ConfigError: the model does not end with SoftArgmax.
            KeyMissingError: ``context`` holds no secret key.
            ContextMismatchError: ``out`` belongs to another plan or context.
            InputTypeError: ``out`` is not an EncryptedBatch.
        """
        if not self.has_softargmax:
            raise ConfigError("the model does not end with SoftArgmax: there is no soft-argmax value to decrypt")
        return self._decrypt_all(context, out)[:, -1]

    def _decrypt_all(self, context, out) -> np.ndarray:
        self._check_context(context)
        if not isinstance(out, EncryptedBatch):
            raise InputTypeError(f"decrypt takes the EncryptedBatch run() returned, got {type(out).__name__}")
        if out.plan_id != self.plan_id or out.kind != "output":
            raise ContextMismatchError("these ciphertexts are not outputs of this EncryptedModel's run()")
        if not context.is_private:
            raise KeyMissingError(
                "this context has no secret key (a public copy) and cannot decrypt; decrypt with the client's "
                "context from keygen()"
            )
        self._check_outputs(out)
        policy = self._flooding_policy(context) if self.statistical_security is not None else None
        self._check_outputs(out)  # now against the measured level and scales too
        decrypted = [context.decrypt(v, flooding=policy) for v in out.vectors]
        return self._layout.unpack(decrypted, out.count, self.outputs)

    def _check_outputs(self, out: EncryptedBatch) -> None:
        """Count, number, level and scale of the output ciphertexts must be this plan's (before decrypting)."""
        count = out.count
        expected = (self._layout.ciphertexts_for(count) if self.layout == "sample"
                    else -(-count // self.params.slots) * self.outputs)
        if self.layout == "batch" and isinstance(self.stages[-1], argmax.ArgmaxStage):
            expected = -(-count // self._layout.packing.width)  # one packed one-hot ciphertext per chunk
        if not 1 <= count <= self.batch_size or len(out.vectors) != expected:
            raise ContextMismatchError(
                f"these outputs claim {count} sample(s) in {len(out.vectors)} ciphertext(s), which is not what this "
                f"plan's run() returns (1 to {self.batch_size} samples; {expected} ciphertext(s) for {count})"
            )
        # fresh ciphertexts are at level depth, and the plan uses all of it (or the bootstraps' stated level)
        level, want = (0 if self.bootstrap is None else self.bootstrap.output_level), None
        if self._outputs_seen is not None:
            level, scales = self._outputs_seen
            want = scales[0] if len(set(scales)) == 1 else None
        bad_scale = False
        for v in out.vectors:
            sc = float(v.ciphertext.scale)
            bad_scale |= not math.isfinite(sc) or not sc > 0 or abs(math.log2(sc) - self.params.scale_bits) > 1
            bad_scale |= want is not None and abs(sc - want) > 1e-9 * want
        if bad_scale or any(v.level != level or v.ciphertext.size != 2 for v in out.vectors):
            raise ContextMismatchError(
                f"these outputs are not at the level ({level}) and scale (2^{self.params.scale_bits}) of this plan's "
                "outputs: they were not made by run() with this model; decrypt only what run() returned"
            )

    # -- server -------------------------------------------------------------------------------------
    def run(self, context: Context, enc: EncryptedBatch,
            progress: Callable[[int, int], None] | None = None, client: object | None = None) -> EncryptedBatch:
        """Evaluate the plan on encrypted inputs with public material only.

        Args:
            context: the server's context (``ctx.public_copy()`` or ``Context.load`` of public bytes).
            enc: the EncryptedBatch from `encrypt` (or loaded from bytes).
            progress: optional callback(done, total) called after every stage (with a client: see
                `nn.encrypted.distributed.run_distributed`).
            client: a ``dask.distributed.Client`` to spread the batch over its workers (images in
                chunks, or the batch layout's ciphertexts in chunks stage by stage; the workers get
                the public context and the plan, never the secret key: `nn.encrypted.distributed`).

        Returns:
            An EncryptedBatch (output); ``enc`` is not modified.

        Raises:
            InputTypeError: wrong argument types (``client`` not a ``dask.distributed.Client`` included).
            InputError: ``client``'s cluster has no worker.
            ConfigError: ``client`` with an ``nn.Argmax`` model or bootstraps in the batch layout (not split; run
                it locally).
            ContextMismatchError: the context has other parameters, or the ciphertexts were encrypted
                under another key or for another plan.
            KeyMissingError: the context lacks a Galois key of the plan (names the steps).
            LevelError: the ciphertexts have fewer levels left than the plan needs.
        """
        self._check_context(context)
        if not isinstance(enc, EncryptedBatch):
            raise InputTypeError(f"run takes the EncryptedBatch encrypt() returned, got {type(enc).__name__}")
        if enc.plan_id != self.plan_id or enc.layout != self.layout or enc.kind != "input":
            raise ContextMismatchError(
                "these ciphertexts were not encrypted for this EncryptedModel (another plan, layout or an output); "
                "encrypt them with em.encrypt"
            )
        for v in enc.vectors:
            if v.ciphertext.key_id != context.key_id:
                raise ContextMismatchError(
                    "a ciphertext was encrypted under another key than this context's; "
                    "run on the public copy of the context that encrypted it"
                )
        missing = [k for k in self.rotation_steps
                   if context.galois_keys is None or not context.galois_keys.has_step(k)]
        if missing:
            raise KeyMissingError(
                f"the context lacks Galois keys for rotation steps {missing[:8]}{'...' if len(missing) > 8 else ''}; "
                "make the client context with em.keygen() and send its public_copy()"
            )
        from ckks.circuits.linear_transform import require_levels

        require_levels(enc.level, self.depth if self.bootstrap is None else self.bootstrap.start_level,
                       "this encrypted model", context.params)
        if client is not None and self.layout == "batch" and isinstance(self.stages[-1], argmax.ArgmaxStage):
            raise ConfigError(
                "an Argmax model in the batch layout packs its comparisons across the slots, which "
                "nn.encrypted.distributed does not split; run it without client=, or compile with layout='sample'"
            )
        if client is not None and self.layout == "batch" and self.bootstrap is not None:
            raise ConfigError(
                "a bootstrapping plan in the batch layout is run stage by stage with its bootstraps, which "
                "nn.encrypted.distributed does not split; run it without client=, or compile with layout='sample'"
            )
        if client is not None:
            from nn.encrypted.distributed import run_distributed

            return run_distributed(self, context, enc, client, progress)
        ops = Ops(context)
        cts = [v.ciphertext for v in enc.vectors]
        executor = None if self.bootstrap is None else Executor(self.bootstrap, ops)
        with ranges_checked_in_plaintext():
            for i in range(len(self.stages)):
                cts = self._run_stage(ops, i, cts, executor)
                if progress is not None:
                    progress(i + 1, len(self.stages))
        from ckks.vector import CKKSVector

        vectors = [CKKSVector(context, ct, context.slots) for ct in cts]
        return EncryptedBatch(vectors, self.layout, enc.count, self.plan_id, "output")

    def _run_stage(self, ops: Ops, i: int, cts: list, executor: Executor | None) -> list:
        """Stage i, with the bootstraps and level switches of the placement around and inside it."""
        if executor is None:
            return self._layout.run_stage(ops, i, cts)
        return self._layout.run_stage(ops, i, executor.before(i, cts), executor.refresh_for(i))

    def _check_context(self, context) -> None:
        if not isinstance(context, Context):
            raise InputTypeError(f"expected a ckks.Context (from em.keygen()), got {type(context).__name__}")
        p = context.params
        if p.poly_degree != self.params.poly_degree or tuple(p.moduli_bits) != tuple(self.params.moduli_bits):
            raise ContextMismatchError(
                f"the context has N={p.poly_degree}, moduli_bits={list(p.moduli_bits)} but the plan needs "
                f"{self.params.describe()}; make the context with em.keygen()"
            )

    # -- plaintext references and tracing ----------------------------------------------------------------
    def plan_forward(self, x) -> np.ndarray:
        """The plan evaluated in float64 (what the ciphertexts compute, without noise).

        Args:
            x: samples (n, *input_shape).

        Returns:
            (n, outputs), in the format of `decrypt` before splitting off the index.

        Raises:
            InputTypeError: ``x`` is not numeric.
            ShapeError: wrong sample shape, or no sample.
            InputError: NaN or infinity in ``x``.
        """
        x = self._samples(x, MAX_BATCH_SIZE)
        return forward_stages(self.stages, features_of(self.stages, x))[-1]

    def trace(self, context: Context, x) -> list[dict]:
        """Run stage by stage, decrypting after each one, against the float64 plan (for plots and tests).

        Args:
            context: the client's private context (it runs the server side too).
            x: samples (batch, *input_shape).

        Returns:
            One dict per stage: ``stage``, ``layers``, ``level``, ``max_error`` (max |encrypted - plan|),
            ``max_value`` and ``seconds``.

        Raises:
            Same as `encrypt` and `run`.
        """
        enc = self.encrypt(context, x)
        feats = self.features(x)
        plain = forward_stages(self.stages, feats)
        ops = Ops(context)
        cts = [v.ciphertext for v in enc.vectors]
        rows = []
        from ckks.vector import CKKSVector

        executor = None if self.bootstrap is None else Executor(self.bootstrap, ops)
        for i, st in enumerate(self.stages):
            t0 = time.perf_counter()
            with ranges_checked_in_plaintext():
                cts = self._run_stage(ops, i, cts, executor)
            seconds = time.perf_counter() - t0
            width = plain[i].shape[1]
            got = self._layout.unpack([context.decrypt(CKKSVector(context, ct, context.slots)) for ct in cts],
                                      feats.shape[0], width)
            rows.append({
                "stage": i, "kind": st.kind, "layers": ",".join(st.layers), "level": cts[0].level,
                "max_error": float(np.max(np.abs(got - plain[i]))), "max_value": float(np.max(np.abs(plain[i]))),
                "seconds": seconds,
            })
        return rows


def _last_width(stages) -> int:
    for st in reversed(stages):
        if isinstance(st, AffineStage):
            return st.matrix.shape[1]
    raise ConfigError("the plan has no linear stage")


def _short(steps: list[int]) -> str:
    text = ",".join(str(s) for s in steps)
    return text if len(text) <= 40 else text[:37] + "..."
