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
from nn.encrypted.batch_layout import BatchLayout
from nn.encrypted.ops import Ops, ranges_checked_in_plaintext
from nn.encrypted.params import ParameterChoice, choose_parameters, noise_bits
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
from nn.errors import ConfigError, ShapeError
from nn.model import Sequential

LAYOUTS = ("auto", "sample", "batch")


class InputRangeWarning(UserWarning):
    """Inputs lie outside the range recorded at compile time: polynomial approximations may be off there."""


def compile(  # noqa: A001 - the issue's API name
    model: Sequential,
    input_shape: Sequence[int],
    batch_size: int = 1,
    *,
    layout: str = "auto",
    calibration: np.ndarray | None = None,
    input_range: tuple[float, float] = (0.0, 1.0),
    precision_bits: int = 16,
    security: int | None = 128,
    poly_degree: int | None = None,
    scale_bits: int | None = None,
    first_conv: str = "im2col",
    softargmax_error: float = 1e-3,
) -> EncryptedModel:
    """Compile a trained HE-friendly model into an encrypted inference plan.

    Args:
        model: an ``nn.Sequential`` of Linear, Conv2d, AvgPool2d, Flatten, Square,
            QuadraticActivation, PolyActivation layers, optionally ending with SoftArgmax.
        input_shape: shape of one sample, e.g. (1, 8, 8) or (64,).
        batch_size: the largest number of samples encrypted and run at once.
        layout: "sample" (one sample per ciphertext), "batch" (slot = sample), or "auto":
            the cheaper by a cost estimate (rotations cost most; see the module docstring).
        calibration: samples (n, *input_shape), typically the training data: the value ranges
            (and the soft-argmax polynomials) are recorded on them.  Default: 256 samples drawn
            uniformly from ``input_range``.
        input_range: the range of the random calibration samples when ``calibration`` is None.
        precision_bits: requested bits of precision of the outputs (sets the scale).
        security: 128, 192, 256 or None (insecure toy parameters, with ``poly_degree``).
        poly_degree: force the ring degree N.
        scale_bits: force log2 of the scale.
        first_conv: "im2col" (a first Conv2d reads client-side im2col patches, TenSEAL-compatible)
            or "server" (every convolution is a linear transform on the server).  The batch layout
            always uses raw features.
        softargmax_error: error budget of each polynomial approximation in the soft-argmax.

    Returns:
        An EncryptedModel.

    Raises:
        NotHEFriendlyError: the model holds ReLU or MaxPool2d layers (convert with ``nn.convert``),
            or a SoftArgmax that is not last.
        LayerTypeError: ``model`` is not an ``nn.Sequential`` or holds unsupported layers.
        ShapeError: the model does not accept ``input_shape``, or ``calibration`` has another shape.
        ConfigError: a bad ``batch_size``, ``layout``, ``first_conv`` or ``precision_bits``; or a
            SoftArgmax whose denominator range (beta times the logit spread on the calibration data)
            the chosen parameters cannot represent: the ciphertext noise 2^-p divided by the smallest
            scaled denominator exceeds ``softargmax_error`` (``nn.encrypted.softargmax.check_precision``).
        SecurityError: no 128-bit-secure parameter set holds the plan's depth (the message names
            the depth needed and the largest secure depth).
        ParameterError: a forced ``poly_degree`` has too few slots for the layout.
    """
    input_shape = _check_shape(input_shape)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    if layout not in LAYOUTS:
        raise ConfigError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if first_conv not in ("im2col", "server"):
        raise ConfigError(f"first_conv must be 'im2col' or 'server', got {first_conv!r}")
    if isinstance(precision_bits, bool) or not isinstance(precision_bits, (int, np.integer)) or not (
        4 <= precision_bits <= 40
    ):
        raise ConfigError(f"precision_bits must be an integer in [4, 40], got {precision_bits!r}")
    x_cal = _calibration(calibration, input_shape, input_range)
    candidates = {}
    for name in ("sample", "batch") if layout == "auto" else (layout,):
        conv_mode = first_conv if name == "sample" else "server"
        candidates[name] = _plan(model, input_shape, x_cal, conv_mode, softargmax_error)
    if layout == "auto":
        layout = _cheaper(candidates, batch_size)
    stages, info = candidates[layout]
    depth = sum(st.levels_for(layout) if isinstance(st, SoftArgmaxStage) else st.levels for st in stages)
    slots_needed = 1
    if layout == "sample":
        slots_needed = max(max(st.matrix.shape) for st in stages if isinstance(st, AffineStage))
        slots_needed = max(slots_needed, max((st.outputs for st in stages if isinstance(st, SoftArgmaxStage)),
                                             default=1))
    params = choose_parameters(
        depth, info["max_abs"], slots_needed, int(precision_bits), security, poly_degree, scale_bits
    )
    if isinstance(stages[-1], SoftArgmaxStage):  # before any key or ciphertext exists
        check_precision(stages[-1], params.scale_bits - noise_bits(params.poly_degree), params.moduli_bits[0],
                        softargmax_error)
    info["precision_bits"] = int(precision_bits)
    return EncryptedModel(model, input_shape, int(batch_size), layout, stages, params, info)


def _check_shape(shape) -> tuple[int, ...]:
    try:
        out = tuple(int(s) for s in shape)
    except TypeError as exc:
        raise ConfigError(f"input_shape must be a tuple of positive integers, got {shape!r}") from exc
    if not out or any(s < 1 for s in out):
        raise ConfigError(f"input_shape must be a tuple of positive integers, got {shape!r}")
    return out


def _calibration(calibration, input_shape, input_range) -> np.ndarray:
    if calibration is None:
        lo, hi = (float(v) for v in input_range)
        return np.random.default_rng(0).uniform(lo, hi, size=(256, *input_shape))
    x = np.asarray(calibration, dtype=np.float64)
    if x.shape[1:] != input_shape or x.shape[0] < 1:
        raise ShapeError(f"calibration must have shape (n, *{input_shape}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ShapeError("calibration data contains NaN or infinity")
    return x


def features_of(stages: list, x: np.ndarray) -> np.ndarray:
    """(n, *input_shape) samples -> (n, features) as the first stage reads them (im2col or flattened)."""
    first = stages[0]
    if first.im2col is not None:
        return im2col_vector(x, first.im2col)
    return x.reshape(x.shape[0], -1)


def _plan(model, input_shape, x_cal, first_conv, softargmax_error):
    stages = build_stages(model, input_shape, first_conv)
    feats = features_of(stages, x_cal) if isinstance(stages[0], AffineStage) else x_cal.reshape(len(x_cal), -1)
    if not isinstance(stages[0], AffineStage):  # a model that starts with an activation: identity first
        n = feats.shape[1]
        stages.insert(0, AffineStage(np.eye(n), np.zeros(n), ["input"], folded=["identity (no linear layer first)"]))
    info: dict = {}
    if isinstance(stages[-1], tuple):
        _, beta, name = stages.pop()
        if not isinstance(stages[-1], AffineStage):
            c = forward_stages(stages, feats)[-1].shape[1]
            stages.append(AffineStage(np.eye(c), np.zeros(c), [name], folded=["identity before soft-argmax"]))
        logits = forward_stages(stages, feats)[-1]
        sa = design(logits, beta, [name], softargmax_error)
        f, h = sa.fold_matrix()
        prev = stages[-1]
        prev.matrix, prev.bias = prev.matrix @ f, prev.bias @ f + h
        prev.folded.append(f"soft-argmax input map (beta={beta:g}, shift, range -> [-1, 1])")
        stages.append(sa)
        info["logits"] = logits
    values = forward_stages(stages, feats)
    info["stage_max"] = [float(np.max(np.abs(v))) for v in values]
    info["max_abs"] = max([float(np.max(np.abs(feats)))] + info["stage_max"])
    info["input_range"] = (float(x_cal.min()), float(x_cal.max()))
    reference = model.forward(x_cal)
    if isinstance(stages[-1], SoftArgmaxStage):
        reference = exact(info.pop("logits"), stages[-1].beta)
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


def _layout(name: str, stages: list, slots: int):
    return SampleLayout(stages, slots) if name == "sample" else BatchLayout(stages, slots)


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
        self._layout = _layout(layout, stages, params.slots)
        self.depth = params.depth
        sa = stages[-1] if isinstance(stages[-1], SoftArgmaxStage) else None
        self.unfolded_depth = unfolded_levels(model) + (sa.levels_for(layout) if sa else 0)
        self.outputs = stages[-1].outputs if sa else stages[-1].matrix.shape[1] if isinstance(
            stages[-1], AffineStage) else _last_width(stages)
        self.classes = sa.classes if sa else self.outputs
        h = hashlib.sha256()
        h.update(repr((layout, input_shape, batch_size, params.describe())).encode())
        for st in stages:
            for arr in (getattr(st, "matrix", None), getattr(st, "bias", None), getattr(st, "coeffs", None)):
                if arr is not None:
                    h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        self.plan_id = h.hexdigest()[:16]

    # -- introspection ------------------------------------------------------------------------
    @property
    def rotation_steps(self) -> list[int]:
        """The Galois-key steps the plan needs (exactly those `keygen` makes)."""
        return self._layout.rotation_steps()

    @property
    def tolerance(self) -> float:
        """The error bound the parameters promise on the outputs: 32 * 2^-precision_bits * max(1, V).

        V is the largest absolute value recorded at any stage on the calibration data.  The
        scale leaves ``precision_bits`` bits after the binary point once encoding and
        key-switching noise are paid (`nn.encrypted.params`); the factor 32 covers the
        accumulation over the plan's stages, and large intermediate values lose bits in proportion.
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
        lines = [
            f"EncryptedModel: layout '{self.layout}' - {names[self.layout]}",
            f"input {self.input_shape}, batch_size {self.batch_size}, outputs {self.outputs}"
            + (" (probabilities + soft-argmax index)" if self.has_softargmax else " (logits)"),
            f"parameters: {self.params.describe()}",
            f"{'#':>2}  {'stage':<10} {'layers':<34} {'levels':>6} {'rot':>5} {'ct-ct':>6} {'ct-pt':>6}  steps",
        ]
        costs = self._layout.costs()
        for i, (st, c) in enumerate(zip(self.stages, costs)):
            levels = st.levels_for(self.layout) if isinstance(st, SoftArgmaxStage) else st.levels
            kind = st.kind if not isinstance(st, PolyStage) else f"poly:{st.mode}"
            if isinstance(st, AffineStage) and st.im2col:
                kind = "affine/i2c"
            layers = ",".join(st.layers)
            steps = _short(c["steps"])
            lines.append(f"{i:>2}  {kind:<10} {layers:<34.34} {levels:>6} {c['rotations']:>5} {c['ct_ct']:>6} "
                         f"{c['ct_pt']:>6}  {steps}")
            for note in st.folded:
                lines.append(f"{'':>14}folded: {note}")
        unit = "per sample" if self.layout == "sample" else f"per group of up to {self.params.slots} samples"
        lines.append(
            f"levels used: {self.depth} (without folding: {self.unfolded_depth}); "
            f"rotations {unit}: {sum(c['rotations'] for c in costs)}; "
            f"Galois keys: {len(self.rotation_steps)} step(s)"
        )
        if self.has_softargmax:
            sa = self.stages[-1]
            errs = ", ".join(f"{k} {v:.1e}" for k, v in sa.errors.items())
            lines.append(f"soft-argmax ({sa.mode}, beta={sa.beta:g}): approximation errors {errs}; "
                         f"exp squarings {sa.squarings}, Newton steps {sa.newton}, denominator in "
                         f"[{sa.s_range[0]:.3g}, {sa.s_range[1]:.3g}]")
        lines.append(f"plan vs model on calibration data: max |difference| {self.info['plan_error']:.2e}")
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
            The client's context (holds the secret key; send ``ctx.public_copy()`` to the server).

        Raises:
            ParameterError: the chosen parameters cannot be built (not expected).
        """
        p = self.params
        ctx = Context(p.poly_degree, list(p.moduli_bits), p.scale_bits, security=p.security, seed=seed)
        steps = self.rotation_steps
        if steps:
            ctx.generate_galois_keys(steps=steps, progress=False)
        return ctx

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
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputTypeError(f"inputs must be a numeric array, got {type(x).__name__}: {exc}") from exc
        if x.shape[1:] != self.input_shape:
            raise ShapeError(
                f"inputs must have shape (batch, {', '.join(map(str, self.input_shape))}), got {x.shape}; "
                "add the batch axis for a single sample (x[None])"
            )
        if not 1 <= x.shape[0] <= self.batch_size:
            raise ShapeError(
                f"this model was compiled for batches of 1 to {self.batch_size} samples, got {x.shape[0]}; "
                "compile with a larger batch_size or split the inputs"
            )
        if not np.all(np.isfinite(x)):
            raise InputError("inputs contain NaN or infinity; CKKS encrypts finite real numbers only")
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
            ContextMismatchError: ``out`` belongs to another plan or context.
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
        decrypted = [context.decrypt(v) for v in out.vectors]
        return self._layout.unpack(decrypted, out.count, self.outputs)

    # -- server -------------------------------------------------------------------------------------
    def run(self, context: Context, enc: EncryptedBatch,
            progress: Callable[[int, int], None] | None = None) -> EncryptedBatch:
        """Evaluate the plan on encrypted inputs with public material only.

        Args:
            context: the server's context (``ctx.public_copy()`` or ``Context.load`` of public bytes).
            enc: the EncryptedBatch from `encrypt` (or loaded from bytes).
            progress: optional callback(done, total) called after every stage.

        Returns:
            An EncryptedBatch (output); ``enc`` is not modified.

        Raises:
            InputTypeError: wrong argument types.
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

        require_levels(enc.level, self.depth, "this encrypted model", context.params)
        ops = Ops(context)
        cts = [v.ciphertext for v in enc.vectors]
        with ranges_checked_in_plaintext():
            for i in range(len(self.stages)):
                cts = self._layout.run_stage(ops, i, cts)
                if progress is not None:
                    progress(i + 1, len(self.stages))
        from ckks.vector import CKKSVector

        vectors = [CKKSVector(context, ct, context.slots) for ct in cts]
        return EncryptedBatch(vectors, self.layout, enc.count, self.plan_id, "output")

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
        """
        x = np.asarray(x, dtype=np.float64)
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

        for i, st in enumerate(self.stages):
            t0 = time.perf_counter()
            with ranges_checked_in_plaintext():
                cts = self._layout.run_stage(ops, i, cts)
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
