"""Encrypted training of a small MLP with packed matrix products and transposes (Mihara et al.).

Reproduces and extends Mihara, Yamaguchi, Mitsuishi and Maruyama, "Neural
Network Training With Homomorphic Encryption" (arXiv 2012.13552): the data,
the labels and the model stay encrypted for the whole training (forward pass,
backpropagation, weight update)::

    from nn import encrypted
    report = encrypted.train(model, x_train, y_train, epochs=5, learning_rate=0.2,
                             batch_size=32, refresh="owner", seed=0)
    report.model, report.twin_model, report.history, report.counts

Roles.  The *key owner* (the client: it owns the data and the secret key)
encrypts each batch and the initial weights with its secret key (symmetric,
seeded: less noise and half the upload of public-key encryption), and is
called back only to refresh the weights ([`KeyOwner.refresh`][nn.encrypted.training.KeyOwner.refresh]:
decrypt and re-encrypt, counted), as TenSEAL's encrypted-training tutorial
does.  The *server* holds a public copy of the context (no secret key) and
runs every step.  ``refresh="bootstrap"`` goes through the same interface
with bootstraps on the server instead (`BootstrapRefresher`: two weight ciphertexts a bootstrap), so that
no key owner is needed.

Loss: mean-squared error against one-hot labels, L = sum (z - y)^2 / (2 B), or
(``loss="softmax_ce"``, row packing) softmax cross-entropy through a linear surrogate of softmax
(`nn.encrypted.training_rows`).  Packing: ``"blocks"`` (below) or ``"rows"`` (one sample per segment, any
layer sizes: `nn.encrypted.training_rows`).  Activation: a polynomial p(x) = c1 x + c2 x^2
(``nn.Square`` or a degree <= 2 ``nn.PolyActivation`` / ``nn.QuadraticActivation``
with p(0) = 0; the row packing trains a trainable activation's coefficients, the block packing keeps them
fixed).  The arithmetic, and the
plaintext twin that repeats it in numpy, are described in
`nn.encrypted.training_twin`; the packing in
`nn.encrypted.training_packing`.

One step, with every product a packed d x d product (Jiang et al.) over
the whole batch (one block of d samples per d^2 slots):

    Z1 = X W1,  A1 = p(Z1),  Z2 = A1 W2,  E = Z2 - Y
    dW2 = A1^T E,  dZ1 = (E W2^T) * p'(Z1),  dW1 = X^T dZ1,  W -= (lr / B) dW

The transposes W2^T and A1^T are packed transposes on the server (one level
each, off the critical path); X and X^T come from the client in the layout of
a left operand, already multiplied by the public masks of the right operand's
permutation.  Every product on the critical path moves the permutation's
masks onto its other operand (`PermutationEngine.moved_product`), so it costs
one level: 6 levels per step for p = x^2 (7 when c2 is not an integer; see
`step_depth`), and the default 128-bit chain (N = 16384, 12 levels at scale
2^30) holds two steps between refreshes.  The gradient of each block is
summed over the blocks by log2(S / d^2) rotations, before the product's
rescale, so that the blocks a batch leaves empty add no rescale noise.

Noise.  The learning rate lr / B is folded into masks: for dW1 into the
client's masked X^T, for dW2 into the masked copies of A1^T, which stay
unrescaled (``masked_copies(..., rescale=False)``; the product rescales
twice at no cost in depth, A1^T being on the longer path).  A rescaled copy
of the small (lr / B) A1^T would carry a rescale error B / lr times larger
relative to its values, and each of its 2d - 1 copies would reach every output
slot; the rounding of an encoded mask is about 100 times smaller (and 16 times
smaller again at ``DW2_MASK_SCALE``, since it repeats in every step).  One step adds
about 7e-6 (rms) to each weight at N = 16384 and scale 2^30, a few rescale
errors.  The weights are periodic (S / d^2 copies), so the key owner refreshes
and reads the mean of the copies: sqrt(S / d^2) times less flooding noise.  See
docs/nn/encrypted_training.md, "Noise budget per step".
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ckks.context import Context
from ckks.errors import InputTypeError, KeyMissingError, LevelError
from ckks.scheme.ciphertext import Ciphertext
from ckks.security.flooding import DEFAULT_STATISTICAL_SECURITY, Flooding
from ckks.vector import CKKSVector
from nn.activations import PolyActivation, QuadraticActivation, ReLUToQuadratic, Square
from nn.encrypted.flooding import difference_noise
from nn.encrypted.flooding import policy as flooding_policy
from nn.encrypted.ops import Ops, ranges_checked_in_plaintext
from nn.encrypted.params import flooding_bits
from nn.encrypted.training_packing import (
    OpCounts,
    PermutationEngine,
    block_index,
    offset_masks,
    pack_batch,
    pack_weight,
    periodic_mean,
    phi_sigma_sources,
    psi_tau_sources,
    transpose_sources,
    unpack_weight,
)
from nn.encrypted.training_rows import RowsBatch, RowsLayout, RowsServer, rows_depth, softmax_slope
from nn.encrypted.training_twin import TwinState, augment_batch, loss_and_accuracy, twin_step
from nn.errors import (
    ConfigError,
    DatasetError,
    RefreshError,
    ShapeError,
    TrainingDivergedError,
    translating,
    translating_methods,
)
from nn.layers import Linear
from nn.model import Sequential

__all__ = [
    "BootstrapRefresher",
    "KeyOwner",
    "TrainingReport",
    "check_bootstrap_available",
    "naive_counts",
    "step_depth",
    "train",
    "training_parameters",
]

#: dW2's masks (holding lr / B) are encoded at this times q_l, the permutation of A1^T before them at q_l / this:
#: their rounding, the same in every step, is that much smaller relative to lr / B, the rescale error of the
#: permuted A1^T (met once per block, not once per mask offset) that much larger; 16 balances the two on Iris.
DW2_MASK_SCALE = 16.0

#: Memory for the encoded masks a training server reuses from step to step (`nn.encrypted.ops.Ops.plain`).
MASK_CACHE_BYTES = 256 << 20

#: log2(Q P) bounds of the HomomorphicEncryption.org standard at 128 bits (ternary secrets).
_BOUND_128 = {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881, 65536: 1761}


# -- the network --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Network:
    n_in: int
    hidden: int
    n_out: int
    c1: float
    c2: float
    d: int
    trainable: bool = False  # the activation's coefficients are trainable (trained by the row packing)

    @property
    def coeffs(self) -> tuple[float, float]:
        return (self.c1, self.c2)

    @property
    def p1(self) -> float:
        return self.c1 + self.c2


def _network(model: Sequential) -> _Network:
    if not isinstance(model, Sequential):
        raise ConfigError(f"model must be an nn.Sequential, got {type(model).__name__}")
    layers = list(model)
    kinds = [type(layer).__name__ for layer in layers]
    if len(layers) != 3 or not isinstance(layers[0], Linear) or not isinstance(layers[2], Linear):
        raise ConfigError(
            f"encrypted training takes Sequential([Linear, polynomial activation, Linear]), got {kinds}"
        )
    act = layers[1]
    trainable = False
    if isinstance(act, Square):
        c0, c1, c2 = 0.0, 0.0, 1.0
    elif isinstance(act, PolyActivation) and not isinstance(act, ReLUToQuadratic):
        coeffs = act.coeffs
        if coeffs.size > 3 and np.any(coeffs[3:] != 0):
            raise ConfigError(f"the activation must have degree <= 2 for encrypted training, got {act!r}")
        coeffs = np.pad(coeffs, (0, 3))[:3]
        c0, c1, c2 = (float(c) for c in coeffs)
        trainable = bool(act.trainable or isinstance(act, QuadraticActivation))
    else:
        raise ConfigError(
            f"the middle layer must be nn.Square or a degree <= 2 nn.PolyActivation, got {type(act).__name__}"
        )
    if c0 != 0.0:
        raise ConfigError(
            f"the activation must satisfy p(0) = 0 (constant coefficient {c0}): the zero rows that pad a "
            "batch to whole blocks must stay zero"
        )
    if c1 + c2 == 0.0:
        raise ConfigError("the activation must satisfy p(1) != 0: the second layer's bias rides on p(1)")
    first, second = layers[0], layers[2]
    if second.in_features != first.out_features:
        raise ConfigError(
            f"the layers do not chain: Linear({first.in_features}, {first.out_features}) then "
            f"Linear({second.in_features}, {second.out_features})"
        )
    n_in, hidden, n_out = first.in_features, first.out_features, second.out_features
    d = 1 << max(1, math.ceil(math.log2(max(n_in + 1, hidden + 1, n_out))))
    return _Network(n_in, hidden, n_out, c1, c2, d, trainable)


def _augmented(model: Sequential, net: _Network, train_coefficients: bool = False) -> TwinState:
    coeffs = np.array(net.coeffs) if train_coefficients else None
    return _augment(net, model[0].params["weight"], model[0].params["bias"], model[2].params["weight"],
                    model[2].params["bias"], coeffs)


def _augment(net: _Network, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray,
             coeffs: np.ndarray | None = None) -> TwinState:
    """The augmented d x d matrices of the twin (see `nn.encrypted.training_twin`) of W1, b1, W2, b2.

    ``coeffs``: the trained (c1, c2), kept in the state; b2 rides on their p(1).
    """
    d = net.d
    w1a = np.zeros((d, d))
    w1a[: net.n_in, : net.hidden] = w1
    w1a[net.n_in, : net.hidden] = b1
    w1a[net.n_in, net.hidden] = 1.0
    w2a = np.zeros((d, d))
    w2a[: net.hidden, : net.n_out] = w2
    w2a[net.hidden, : net.n_out] = np.asarray(b2) / (net.p1 if coeffs is None else float(np.sum(coeffs)))
    return TwinState(w1a, w2a, coeffs)


def _split(net: _Network, state: TwinState) -> tuple[np.ndarray, ...]:
    """(W1, b1, W2, b2) of augmented matrices."""
    p1 = net.p1 if state.coeffs is None else float(np.sum(state.coeffs))
    return (state.w1[: net.n_in, : net.hidden], state.w1[net.n_in, : net.hidden],
            state.w2[: net.hidden, : net.n_out], state.w2[net.hidden, : net.n_out] * p1)


def _to_model(model: Sequential, net: _Network, state: TwinState) -> Sequential:
    out = model.copy()
    w1, b1, w2, b2 = _split(net, state)
    out[0].params["weight"][...] = w1
    out[0].params["bias"][...] = b1
    out[2].params["weight"][...] = w2
    out[2].params["bias"][...] = b2
    if state.coeffs is not None:  # the trained activation (a trainable nn.PolyActivation)
        out[1].params["coeffs"][1:3] = state.coeffs
    return out


# -- depth, parameters, naive counts --------------------------------------------------------------


def step_depth(c1: float = 0.0, c2: float = 1.0) -> int:
    """Levels one packed training step consumes, for the activation p(x) = c1 x + c2 x^2.

    Level plan (relative to the weights' level 0).  A product perm(a) * b costs one
    level on the critical operand a, because the permutation's masks are moved onto
    b (see ``PermutationEngine.moved_product``): b's own permutation and masks are
    computed from the weights earlier, or made by the client in plaintext.

    * Z1 = X W1: -1 (the client's masked X, W1's rotations).
    * A1 = Z1 (c2 Z1 + c1): -2 (-3 if c2 is not an integer); p'(Z1) = 2 c2 Z1 + c1: -1 (-2).
    * Z2 = A1 W2, E = Z2 - Y: -3 (W2's permutation -1 and masks -2 are ready before A1).
    * dA1 = E W2^T: -4 (W2^T -1, its permutation -2, masks -3); dZ1 = dA1 p'(Z1): -5.
    * dW1 = X^T ((lr / B) dZ1): -6 (the client's masked X^T).
    * dW2 = ((lr / B) A1)^T E: -6 (A1^T -3, its permutation -4, masked copies with lr / B left unrescaled
      at -4, the product rescaled twice).

    Args:
        c1: linear coefficient of the activation.
        c2: quadratic coefficient of the activation.

    Returns:
        The depth (6 for x^2).
    """
    act = 0 if float(c2).is_integer() else 1
    deriv = 0 if float(2 * c2).is_integer() else 1
    z1 = -1
    a1, p1 = z1 - act - 1, z1 - deriv
    err = min(a1, -2) - 1
    da1 = min(err, -3) - 1
    dz1 = min(da1, p1) - 1
    dw1 = dz1 - 1
    dw2 = min(err, a1 - 2) - 2
    return -min(dw1, dw2)


def training_parameters(
    depth: int,
    poly_degree: int | None = None,
    scale_bits: int | None = None,
    security: int | None = 128,
    headroom_bits: int = 7,
    steps_per_refresh: int | None = 2,
    flooding: bool = False,
    max_scale_bits: int = 30,
) -> dict:
    """CKKS parameters for ``steps_per_refresh`` training steps of ``depth`` levels between refreshes.

    The chain is [q0] + [scale] * (depth * steps_per_refresh) + [P]: q0 has
    ``headroom_bits`` more bits than the scale (values up to 2^(headroom_bits - 1)
    survive the last level); the special prime P has q0's size.  Without
    ``scale_bits``, the largest scale of at most 30 bits whose chain fits the
    128-bit bound of N is used (N = 16384, x^2: 2 steps of 6 levels at scale 2^30,
    [37] + [30] * 12 + [37] = 434 bits).

    Args:
        depth: levels per step (see `step_depth`).
        poly_degree: N (default 16384 at 128-bit security, 8192 without).
        scale_bits: log2 of the scale (default: the largest <= 30 that fits the bound).
        security: 128, or None for parameters below the standard (warns when used).
        headroom_bits: bits of q0 above the scale (7: values below 64; Iris peaks at 14).
        steps_per_refresh: training steps the chain holds; the weights are refreshed after them (None: 2,
            or with flooding the most up to 2 that fit).
        flooding: budget the scale for the key owner's flooded refreshes and decryptions: without
            ``scale_bits``, the scale is 60 - ``headroom_bits`` (q0 at the 60-bit prime limit: 2^53, whose 6
            levels and q0 = P = 60 fill the 438 bits of N = 16384 exactly), which leaves about 15 bits after
            flooding at N = 16384 (see `nn.encrypted.params.flooding_bits`): each flooded refresh adds about
            1.3e-5 (standard deviation) to every slot, 1.2e-6 to a weight averaged over its S / d^2 copies.
        max_scale_bits: without ``scale_bits`` and flooding, the largest scale tried (30; the row packing,
            one step between refreshes, uses up to 40).

    Returns:
        ``{"poly_degree", "moduli_bits", "scale_bits", "security", "steps_per_refresh"}``.

    Raises:
        ConfigError: ``depth`` or ``steps_per_refresh`` is not an integer >= 1, or no scale of at least 20
            bits fits the security bound of N.
    """
    depth = _check_int("depth", depth, 1)
    options = [2, 1] if steps_per_refresh is None else [_check_int("steps_per_refresh", steps_per_refresh, 1)]
    if steps_per_refresh is None and not flooding:
        options = [2]
    steps = options[0]
    n = poly_degree or (16384 if security else 8192)
    bound = _BOUND_128.get(n) if security else None
    if scale_bits:
        candidates = [scale_bits]
    else:
        candidates = [min(60 - headroom_bits, 60)] if flooding else range(max_scale_bits, 19, -1)
    for steps in options:
        for s in candidates:
            q0 = s + headroom_bits
            bits = [q0] + [s] * (depth * steps) + [q0]
            if bound is None or sum(bits) <= bound:
                return {"poly_degree": n, "moduli_bits": bits, "scale_bits": s, "security": security,
                        "steps_per_refresh": steps}
    raise ConfigError(
        f"{steps} step(s) of {depth} levels between refreshes do not fit the 128-bit bound of {bound} bits for "
        f"poly_degree={n}; use steps_per_refresh=1, poly_degree=32768, or security=None for experiments"
    )


def naive_counts(n_in: int, hidden: int, n_out: int, batch: int) -> dict:
    """Analytic per-step counts of two naive encrypted trainings of the same network and batch.

    Biases ride on a constant input and hidden unit, as in the packed version
    (a = n_in + 1 inputs, h = hidden + 1 hidden units, o outputs, B samples).

    * ``per_value``: one ciphertext per number (every entry of the batch, the
      weights and the intermediates).  A product (r x s)(s x t) costs r s t
      ciphertext products; transposes are free re-indexing; 0 rotations.
      Products: Z1 B a (h - 1), A1 B (h - 1), Z2 B h o, dA1 B o (h - 1),
      dZ1 B (h - 1), dW1 a (h - 1) B, dW2 h o B.  Depth 7 (the learning rate
      one level more).
    * ``per_sample``: one ciphertext per sample (its features in slots) and one
      per weight column, as with TenSEAL vectors.  y = x W is, per output, one
      product and a rotate-and-sum over the padded width; outputs are re-packed
      into one vector (a masked product each); the transpose W2^T is made by
      re-packing every entry (a masked product and a rotation each);
      gradients are per-sample products summed by additions.  Depth 8.

    Args:
        n_in: input features.
        hidden: hidden units.
        n_out: outputs.
        batch: samples per step.

    Returns:
        ``{"per_value": {...}, "per_sample": {...}}`` with rotations, ct_ct_multiplications,
        pt_multiplications, relinearizations (one per product), key_switches (rotations +
        relinearizations) and depth.
    """
    a, h, o, b = n_in + 1, hidden + 1, n_out, batch

    def log2(w: int) -> int:
        return max(1, math.ceil(math.log2(max(w, 2))))

    mults = b * a * (h - 1) + b * (h - 1) + b * h * o + b * o * (h - 1) + b * (h - 1) + a * (h - 1) * b + h * o * b
    per_value = {
        "rotations": 0,
        "ct_ct_multiplications": mults,
        "pt_multiplications": a * (h - 1) + h * o,
        "relinearizations": mults,
        "key_switches": mults,
        "depth": 7,
    }
    rotations = b * (h - 1) * log2(a) + b * o * log2(h) + h * o + b * (h - 1) * log2(o)
    mults = b * (h - 1) * 5 + 2 * b * o  # layer 1, square, dA1, dZ1, dW1; layer 2, dW2
    per_sample = {
        "rotations": rotations,
        "ct_ct_multiplications": mults,
        "pt_multiplications": b * (h - 1) + b * o + h * o,
        "relinearizations": mults,
        "key_switches": rotations + mults,
        "depth": 8,
    }
    return {"per_value": per_value, "per_sample": per_sample}


# -- roles -------------------------------------------------------------------------------------------


@translating_methods
class KeyOwner:
    """The client: owns the secret key and the data; encrypts, and refreshes weights on request.

    Its only callback from the server is [`refresh`][nn.encrypted.training.KeyOwner.refresh]
    (decrypt and re-encrypt weight ciphertexts), counted in ``refreshes`` and
    ``refreshed_ciphertexts``.

    Secure by default.  Every decryption whose result can leave the key owner (`decrypt`: the
    trained weights, progress reports) and every refresh is noise-flooded
    (`ckks.security.flooding`; without it a server that sees a ciphertext and its decrypted
    values recovers the secret key: Li and Micciancio, Eurocrypt 2021, ``ckks.attacks``).  The
    noise bound is the owner's measurement (`measure_noise`) once made, else each ciphertext's
    tracked bound.  A refresh is accepted only for the weights this owner issued in this
    training: the server presents the ticket of the last issue (an HMAC-SHA256, under a key
    drawn from ``secrets``, of the session, the generation, the count, the expected level and
    scale), the ciphertexts are at the level and scale the plan expects, their decrypted values
    within the plan's range, and the plan's refresh budget is not spent; any failure raises the
    same generic `nn.errors.RefreshError`, so that a server crafting ciphertexts learns one bit
    (refused) and nothing about why.

    Args:
        context: a ``ckks.Context`` holding the secret key.
        flooding: True (default) to flood decryptions and refreshes; False opts out, re-opening the
            key-recovery attack for anyone who sees a decrypted value and its ciphertext.
        statistical_security: lambda of the flooding (bits), 1 .. 128.

    Raises:
        KeyMissingError: the context has no secret key.
        ConfigError: ``flooding`` is not a bool or ``statistical_security`` not an integer in [1, 128].
    """

    def __init__(self, context: Context, flooding: bool = True,
                 statistical_security: int = DEFAULT_STATISTICAL_SECURITY):
        if not getattr(context, "is_private", False):
            raise KeyMissingError("the key owner needs a context with the secret key (not a public copy)")
        if not isinstance(flooding, bool):
            raise ConfigError(f"flooding must be True or False, got {flooding!r}")
        if isinstance(statistical_security, bool) or not isinstance(statistical_security, int) or not (
                1 <= statistical_security <= 128):
            raise ConfigError(f"statistical_security must be an integer in [1, 128], got {statistical_security!r}")
        self._context = context
        self.refreshes = 0
        self.refreshed_ciphertexts = 0
        self.encryptions = 0
        self.seconds = 0.0
        self.statistical_security = statistical_security if flooding else None
        #: The flooding policy once the noise is measured (`measure_noise`); None before or without flooding.
        self.flooding: Flooding | None = None
        self._mac_key = secrets.token_bytes(32)
        self._session = secrets.token_hex(16)
        self._generation = 0
        self._plan: dict | None = None
        #: The ticket the server presents with the next refresh (see `issue`).
        self.ticket: bytes | None = None

    @property
    def public_context(self) -> Context:
        """A public copy for the server (parameters, public, relinearization and Galois keys).

        Returns:
            A ``ckks.Context`` without the secret key.
        """
        return self._context.public_copy()

    def encrypt(self, values: np.ndarray):
        """Encrypt S slot values with the secret key (a fresh ciphertext at the top level).

        The key owner holds the secret key, so it encrypts symmetrically: less noise than a
        public-key encryption, and the uniform half is a seed (half the bytes to upload).

        Args:
            values: the slot vector.

        Returns:
            A ``ckks.scheme.ciphertext.Ciphertext``.
        """
        self.encryptions += 1
        return self._context.encrypt(np.asarray(values, dtype=np.float64), symmetric=True).ciphertext

    def _policy(self, ciphertext) -> Flooding | None:
        if self.statistical_security is None:
            return None
        if self.flooding is not None:
            return self.flooding
        return Flooding(statistical_security=self.statistical_security)  # the ciphertext's tracked bound

    def decrypt(self, ciphertext) -> np.ndarray:
        """Decrypt all S slots, noise-flooded unless this owner was made with ``flooding=False``.

        Args:
            ciphertext: a ciphertext of this context.

        Returns:
            The S real slot values.

        Raises:
            InputTypeError: ``ciphertext`` is not a Ciphertext.
            ContextMismatchError: it belongs to other parameters or another key.
            ParameterError: flooding without a noise estimate (a ciphertext with no tracked bound before
                `measure_noise`), or flooding noise that does not fit the modulus at its level.
        """
        return self._decrypt(ciphertext, self._policy(ciphertext))

    def _decrypt(self, ciphertext, policy: Flooding | None) -> np.ndarray:
        if not isinstance(ciphertext, Ciphertext):
            raise InputTypeError(f"expected a ckks Ciphertext, got {type(ciphertext).__name__}")
        return self._context.decrypt(CKKSVector(self._context, ciphertext, self._context.slots), flooding=policy)

    def measure_noise(self, first: list, second: list) -> float:
        """Set the flooding bound from two runs of the same computation on separate encryptions of the same values.

        The coefficients of the decrypted difference are exactly e_1 - e_2 (the messages cancel);
        B = 2 max |e_1 - e_2|, never below `nn.encrypted.params.noise_allowance` (as for inference,
        `nn.encrypted.flooding`).  The owner's own measurement: nothing of it leaves the owner.

        Args:
            first: ciphertexts of the first run.
            second: the same ciphertexts of the second run.

        Returns:
            The measured max |e_1 - e_2|.

        Raises:
            InputTypeError: not two equally long lists of Ciphertexts.
        """
        if len(first) != len(second) or not all(isinstance(c, Ciphertext) for c in [*first, *second]):
            raise InputTypeError("measure_noise takes two equally long lists of ckks Ciphertexts")
        worst = difference_noise(self._context, first, second)
        if self.statistical_security is not None:
            self.flooding = flooding_policy(self._context.params.poly_degree, worst, self.statistical_security)
        return worst

    def plan_refreshes(self, count: int, level: int, budget: int, value_limit: float,
                       period: int | None = None) -> None:
        """What the training plan expects of every refresh (before the first `issue`).

        Args:
            count: ciphertexts per refresh.
            level: their level when refreshed.
            budget: the number of refreshes the plan needs.
            value_limit: the largest absolute slot value a refreshed weight may hold.
            period: the weights are periodic with this period (d^2): a refresh re-encrypts the mean of
                the periods (`nn.encrypted.training_packing.periodic_mean`) of the decrypted, flooded
                values, whose noise is sqrt(S / period) times smaller.  None: re-encrypt them as decrypted.

        Raises:
            ConfigError: a negative or non-integer count, level or budget, a non-positive limit, or a period
                that is not a positive integer dividing the number of slots.
        """
        for name, value in (("count", count), ("level", level), ("budget", budget)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
        if not float(value_limit) > 0:
            raise ConfigError(f"value_limit must be positive, got {value_limit!r}")
        slots = self._context.slots
        if period is not None and (isinstance(period, bool) or not isinstance(period, int) or period < 1
                                   or slots % period):
            raise ConfigError(f"period must be a positive integer dividing the {slots} slots, got {period!r}")
        self._plan = {"count": count, "level": level, "budget": budget, "limit": float(value_limit),
                      "period": period}

    def issue(self, ciphertexts: list) -> bytes:
        """Record weight ciphertexts as issued to the server: the ticket of their generation.

        Args:
            ciphertexts: the freshly encrypted weights.

        Returns:
            The ticket (also in ``self.ticket``) the server presents with their refresh.
        """
        self.ticket = self._ticket(len(ciphertexts))
        return self.ticket

    def _ticket(self, count: int) -> bytes:
        p = self._context.params
        message = f"{self._session}|{self._generation}|{count}|{p.scale_bits}".encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).digest()

    def refresh(self, ciphertexts: list, ticket: bytes | None = None) -> list:
        """Decrypt and re-encrypt weight ciphertexts this owner issued: the same values (plus flooding and fresh
        noise; averaged over their periods when the plan gives one) at the top level.

        Args:
            ciphertexts: the server's weight ciphertexts, derived from the last ones issued.
            ticket: the ticket of the last issue (`issue`, ``self.ticket``).

        Returns:
            Fresh ciphertexts, in the same order (their new ticket is in ``self.ticket``).

        Raises:
            RefreshError: any check failed (the message never says which): a wrong or replayed ticket, a
                count, level or scale the plan does not expect, values outside the plan's range, the refresh
                budget spent, or a decryption that failed.
        """
        start = time.perf_counter()
        refused = RefreshError(
            "refresh refused: these are not the weight ciphertexts this key owner issued in this training, in the "
            "state the training plan expects"
        )
        plan = self._plan
        ciphertexts = list(ciphertexts) if isinstance(ciphertexts, (list, tuple)) else []
        ok = plan is not None and isinstance(ticket, bytes) and self.refreshes < plan["budget"]
        ok = ok and len(ciphertexts) == plan["count"] and hmac.compare_digest(ticket, self._ticket(len(ciphertexts)))
        p = self._context.params
        ok = ok and all(
            isinstance(ct, Ciphertext) and ct.size == 2 and ct.level == plan["level"]
            and ct.key_id == self._context.key_id and ct.params == p
            and math.isfinite(ct.scale) and ct.scale > 0 and abs(math.log2(ct.scale) - p.scale_bits) < 1
            for ct in ciphertexts
        )
        if not ok:
            raise refused
        try:
            values = [self._decrypt(ct, self._policy(ct)) for ct in ciphertexts]
        except Exception:  # noqa: BLE001 - the refusal must not tell why
            raise refused from None
        if not all(np.all(np.isfinite(v)) and float(np.max(np.abs(v))) <= plan["limit"] for v in values):
            raise refused
        if plan["period"] is not None:  # plaintext post-processing of flooded values: no effect on their security
            values = [periodic_mean(v, plan["period"]) for v in values]
        self.refreshes += 1
        self.refreshed_ciphertexts += len(ciphertexts)
        self._generation += 1
        fresh = [self.encrypt(v) for v in values]
        self.issue(fresh)
        self.seconds += time.perf_counter() - start
        return fresh


class BootstrapRefresher:
    """Refresh by bootstrapping (``ckks.circuits.bootstrapping.Bootstrapper``), with the interface of `KeyOwner`.

    Runs on the server's public context: no secret key and no call to the key owner.  The weight
    ciphertexts are real, so two share one bootstrap (z = a + i b, ``Bootstrapper.bootstrap_pair``; an
    odd one out alone, ``bootstrap(real=True)``): k weight ciphertexts cost ceil(k / 2) bootstraps, counted
    in ``bootstraps`` (`nn.encrypted.bootstrap.bootstrap_in_pairs`).  The same values (within the
    bootstrapping precision, about one bit less for a pair than alone) come back at level
    ``config.compute_levels`` and at the context's nominal scale s, for no level (``output_scale``: the
    factor folded into EvalMod's constant).  A step's output scale is a power of its input scale over the
    primes, so a refresh that kept the scale would let its deviation grow about 5x a step until the scale no
    longer fits below q_0.  The first of a pair comes back at s exactly; the second, read at the first's
    scale, at s r with r = its scale / the first's (exact values; |r - 1| <= ``PAIR_SCALE_RTOL`` = 2^-12, else
    both are bootstrapped alone at s): no refreshed scale is more than 2^-12 from s, at any refresh.

    Args:
        context: the server's context (a bootstrapping context or its public copy), with bootstrapping keys.

    Raises:
        ConfigError: this ckks has no ``CKKSVector.bootstrap``, or the context bootstraps fewer slots than it has
            (sparse packing: the weights fill every slot).
        KeyMissingError: the context is not a bootstrapping context, or has no bootstrapping keys.
    """

    def __init__(self, context: Context):
        self._bootstrapper = check_bootstrap_available(context)
        self._context = context
        self.refreshes = 0
        self.refreshed_ciphertexts = 0
        self.bootstraps = 0
        self.seconds = 0.0

    def refresh(self, ciphertexts: list, ticket: bytes | None = None) -> list:
        """Bootstrap the ciphertexts two at a time (no secret key involved).

        Args:
            ciphertexts: real weight ciphertexts, any number (size 2, any level, scale with q_0 / scale >= 2^8).
            ticket: ignored (the interface of `KeyOwner.refresh`: no key owner is involved).

        Returns:
            Bootstrapped ciphertexts, in the order given, at level ``config.compute_levels`` and the context's
            nominal scale (the second of a pair within 2^-12 of it, see the class), holding the same values.

        Raises:
            InputError: a ciphertext's scale is too close to q_0 (``Bootstrapper.bootstrap``).
        """
        from nn.encrypted.bootstrap import bootstrap_in_pairs

        start = time.perf_counter()
        out, runs = bootstrap_in_pairs(self._bootstrapper, list(ciphertexts), output_scale=self._context.params.scale)
        self.refreshes += 1
        self.refreshed_ciphertexts += len(out)
        self.bootstraps += runs
        self.seconds += time.perf_counter() - start
        return out


def check_bootstrap_available(context: Context | None):
    """Check that ``refresh="bootstrap"`` can work: ``CKKSVector.bootstrap`` exists and the context has its keys.

    A context made by ``ckks.Context.for_bootstrapping`` has ``ctx.bootstrapper``; a public
    copy of it finds its owner's bootstrapper (same parameters and key id).  The keys are
    the bootstrapper's Galois keys, made by ``ctx.generate_bootstrapping_keys()``.

    Args:
        context: the context training would use (None: an automatic one is built by `train`).

    Returns:
        The context's ``ckks.circuits.bootstrapping.Bootstrapper``.

    Raises:
        ConfigError: ``CKKSVector`` has no ``bootstrap`` method in this ckks, or the context bootstraps fewer
            slots than it has (sparse packing).
        KeyMissingError: no context, not a bootstrapping context, or no bootstrapping keys.
    """
    if not hasattr(CKKSVector, "bootstrap"):
        raise ConfigError(
            "refresh='bootstrap' needs ckks bootstrapping (CKKSVector.bootstrap()), which this ckks does not "
            "have yet; use refresh='owner' (the key owner decrypts and re-encrypts the weights)"
        )
    from ckks.circuits.bootstrapping import find_bootstrapper

    bootstrapper = None
    if context is not None:
        bootstrapper = getattr(context, "bootstrapper", None) or find_bootstrapper(context.params, context.key_id)
    if bootstrapper is None:
        raise KeyMissingError(
            "refresh='bootstrap' needs a bootstrapping context: pass context=ckks.Context.for_bootstrapping("
            "'teaching', security=None, compute_levels=...) (or context=None for an automatic one)"
        )
    if bootstrapper.galois_keys is None:
        raise KeyMissingError(
            "refresh='bootstrap' needs the bootstrapping keys: call ctx.generate_bootstrapping_keys() on the "
            "owner's context first"
        )
    if bootstrapper.config.slots < context.params.slots:
        raise ConfigError(
            f"refresh='bootstrap' refreshes weights that fill all {context.params.slots} slots, but this context "
            f"bootstraps {bootstrapper.config.slots} (sparse packing); build it with "
            f"ckks.Context.for_bootstrapping(..., slots={context.params.slots})"
        )
    return bootstrapper


# -- the server ---------------------------------------------------------------------------------------


@dataclass
class _Batch:
    x_terms: dict  # {r: M_r * L(X)}: group k of L(X) is phi^k(sigma(X_b)) for every block b; M_r: W1's masks
    xt_terms: dict  # {r: M_r * L(X^T)}, M_r the masks of (lr / B) psi^k(tau(dZ1))
    y: object  # Y, replicated in every group
    size: int


def _left_layout(blocks: np.ndarray, d: int, slots: int) -> np.ndarray:
    """Group k holds phi^k(sigma(A_b)) of every block A_b: a left operand of Jiang's product, in plaintext."""
    flat = blocks.reshape(len(blocks), -1)
    return np.concatenate([pack_batch(flat[:, phi_sigma_sources(d, k)], slots // d) for k in range(d)])


def _client_batch(owner: KeyOwner, layout: _Layout, xa: np.ndarray, ya: np.ndarray, size: int) -> _Batch:
    """The client's upload: X and X^T in the layout of a left operand, already multiplied by the masks.

    The server multiplies X by W1 and X^T by (lr / B) dZ1 with the masks of the right
    operand's permutation moved onto the left operand (see
    [`moved_product`][nn.encrypted.training_packing.PermutationEngine.moved_product]); the client
    applies those public masks in plaintext, so that the server's products cost one level each.
    """
    d, slots = layout.d, layout.slots
    blocks = xa.reshape(-1, d, d)
    x_left = _left_layout(blocks, d, slots)
    xt_left = _left_layout(blocks.transpose(0, 2, 1), d, slots)
    x_terms = {r: owner.encrypt(m * x_left) for r, m in layout.masks(layout.right, True).items()}
    xt_terms = {r: owner.encrypt(m * xt_left) for r, m in layout.masks(layout.rated(size), False).items()}
    y = owner.encrypt(np.concatenate([pack_batch(ya.reshape(-1, d * d), slots // d)] * d))
    return _Batch(x_terms, xt_terms, y, size)


class _Layout:
    """The public permutations of a step (index arithmetic only: the client and the server both use it)."""

    def __init__(self, net: _Network, lr: float, slots: int):
        d = net.d
        self.d, self.slots, self.lr, self.net = d, slots, float(lr), net
        ones = np.ones(d * d)
        self.left = [(phi_sigma_sources(d, k), ones) for k in range(d)]
        self.right = [(psi_tau_sources(d, k), ones) for k in range(d)]
        self.transpose = [(transpose_sources(d), ones)] * d
        _, j = block_index(d)
        self.keep = [(src, (j != net.hidden).astype(np.float64)) for src, _ in self.right]

    def rated(self, size: int) -> list:
        """The right-operand permutation with the learning rate lr / B in its masks."""
        return [(src, np.full(self.d**2, self.lr / size)) for src, _ in self.right]

    def scaled_left(self) -> list:
        """The left-operand permutation of A1^T, row h scaled by 1 / p(1)^2 (the bias b2 / p(1))."""
        i, _ = block_index(self.d)
        row_scale = np.where(i == self.net.hidden, 1.0 / self.net.p1**2, 1.0)
        return [(src, row_scale) for src, _ in self.left]

    def masks(self, spec: list, periodic: bool) -> dict:
        return offset_masks(spec, periodic, self.d, self.slots)


class _Server:
    """The training steps on public material only (a public copy of the context).

    Its ciphertext operations are those of one `nn.encrypted.ops.Ops` (``ops``, counting into an
    `OpCounts`), shared with the layout's permutations (``engine``, a `PermutationEngine`).
    """

    def __init__(self, context: Context, net: _Network, lr: float):
        self.ctx = context
        self.net = net
        self.ops = Ops(context, counts=OpCounts(), cache_bytes=MASK_CACHE_BYTES)
        self.engine = PermutationEngine(context, net.d, ops=self.ops)
        self.layout = _Layout(net, lr, context.slots)

    def galois_steps(self) -> list[int]:
        e, lay = self.engine, self.layout
        steps = set(e.allreduce_steps()) | set(e.group_steps())
        for periodic in (True, False):
            steps |= set(e.steps_of([lay.left, lay.right, lay.transpose, lay.keep], periodic))
        return sorted(steps)

    def step(self, w1, w2, batch: _Batch):
        """One SGD step; levels relative to the weights' (see `step_depth`): both updates at -6 for x^2."""
        net, ops, e, lay = self.net, self.ops, self.engine, self.layout
        with ranges_checked_in_plaintext(), ops.counting():
            # forward: Z1 = X W1 (-1), A1 = p(Z1) (-2), Z2 = A1 W2 (-3), E = Z2 - Y (-3)
            z1 = e.moved_product(e.rotations_for(w1, [(lay.right, True)]), batch.x_terms)
            a1 = ops.multiply(z1, ops.affine(z1, net.c2, net.c1))
            p1 = ops.affine(z1, 2.0 * net.c2, net.c1)
            w2_right, w2_t = e.permute(w2, [lay.right, lay.transpose], True, "w2")
            w2_masked = e.masked_copies(w2_right, lay.left, False, "z2")
            z2 = e.moved_product(e.rotations_for(a1, [(lay.left, False)]), w2_masked)
            err = ops.subtract(z2, batch.y)
            # backward: dA1 = E (W2 with row h masked)^T (-4), dZ1 = dA1 * p'(Z1) (-5), dW1 = X^T (rate dZ1) (-6)
            (w2t_right,) = e.permute(w2_t, [lay.keep], True, "w2t")
            err_rotated = e.rotations_for(err, [(lay.left, False), (lay.right, False)])
            da1 = e.moved_product(err_rotated, e.masked_copies(w2t_right, lay.left, False, "da1"))
            dz1 = ops.multiply(da1, p1)
            rated = lay.rated(batch.size)
            dw1 = e.moved_product(e.rotations_for(dz1, [(rated, False)]), batch.xt_terms, "all")
            # dW2 = (A1, row h scaled by 1 / p(1)^2)^T (rate E) (-6): the rate rides in the unrescaled masks
            (a1_t,) = e.permute(a1, [lay.transpose], False, "a1")
            (a1t_left,) = e.permute(a1_t, [lay.scaled_left()], False, "a1t", 1 / DW2_MASK_SCALE)
            a1t_masked = e.masked_copies(a1t_left, rated, False, ("dw2", batch.size), False, DW2_MASK_SCALE)
            dw2 = e.moved_product(err_rotated, a1t_masked, "all", rescales=2)
            return ops.subtract(w1, dw1), ops.subtract(w2, dw2)


# -- the report and the entry point -------------------------------------------------------------------


@dataclass
class TrainingReport:
    """What [`train`][nn.encrypted.training.train] returns.

    Attributes:
        model: the trained ``nn.Sequential``, decrypted by the key owner at the end.
        twin_model: the plaintext twin trained with the same arithmetic in numpy.
        history: one dict per epoch: ``epoch``, ``loss`` (training MSE of the decrypted weights),
            ``twin_loss``, ``weight_diff`` (max |encrypted - twin| over the weights), ``seconds``,
            ``levels_left`` (of the weights at the end of the epoch), ``refreshes`` (in the epoch),
            ``train_accuracy`` and ``twin_train_accuracy``.
        counts: per training step: rotations, ct_ct_multiplications, pt_multiplications,
            relinearizations, key_switches, rescales, hoisted_decompositions, depth,
            uploaded_ciphertexts (the client's batch: masked X and X^T, and Y); plus
            ``naive`` (analytic counts of two naive approaches, see
            [`naive_counts`][nn.encrypted.training.naive_counts]).
        step_counts: the counts of every step.
        parameters: the CKKS parameters used.
        refreshes: total refreshes; ``refreshed_ciphertexts`` their ciphertexts; ``refresh_seconds``
            the wall time spent refreshing (decrypt/re-encrypt, or bootstrapping on the server).
        bootstraps: bootstraps run by ``refresh="bootstrap"`` (two weight ciphertexts each, `BootstrapRefresher`).
        seconds: total wall time of the encrypted training (setup included: ``setup_seconds``).
    """

    model: Sequential
    twin_model: Sequential
    history: list[dict]
    counts: dict
    step_counts: list[dict] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    refreshes: int = 0
    refreshed_ciphertexts: int = 0
    seconds: float = 0.0
    refresh_seconds: float = 0.0
    setup_seconds: float = 0.0
    bootstraps: int = 0
    steps: int = 0


def _check_data(x, y, net: _Network) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ShapeError(f"x_train must be a numeric array of shape (n, {net.n_in}): {exc}") from exc
    if x.ndim != 2 or x.shape[1] != net.n_in or x.shape[0] == 0:
        raise ShapeError(f"x_train must have shape (n, {net.n_in}) for this model, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise DatasetError("x_train contains NaN or infinite values")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ShapeError(f"y_train must be a 1-D array of {x.shape[0]} class indices, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.dtype.kind != "f" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise DatasetError(f"y_train must hold integer class indices, got dtype {y.dtype}")
        y = y.astype(np.int64)
    bad = (y < 0) | (y >= net.n_out)
    if np.any(bad):
        raise DatasetError(
            f"y_train holds labels outside the model's {net.n_out} classes 0..{net.n_out - 1}: "
            f"{sorted(set(y[bad].tolist()))[:5]}"
        )
    return x, y.astype(np.int64)


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _batches(n: int, batch_size: int, epochs: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    plan = []
    for _ in range(epochs):
        order = rng.permutation(n)
        plan.append([order[s : s + batch_size] for s in range(0, n, batch_size)])
    return plan


def _partial_sums(xa: np.ndarray, state: TwinState, values: dict) -> dict:
    """Bounds on the partial sums the row packing leaves beside its run sums (cleared by masks, but held)."""
    return {"partial sums of Z1": np.abs(xa) @ np.abs(state.w1), "partial sums of Z2": np.abs(values["A1"]) @ np.abs(
        state.w2), "partial sums of dA1": np.abs(values["E"]) @ np.abs(state.w2).T}


def _check_twin_values(values: dict, where: str, limit: float, lr: float, weight_limit, activation_range,
                       logit_range, n_out: int, batch: int) -> None:
    """Raise if a twin value would not fit the encrypted circuit (see `_run_twin`)."""
    for name, value in values.items():
        peak = float(np.max(np.abs(value)))
        if not np.isfinite(peak):
            raise TrainingDivergedError(
                f"the plaintext twin diverged ({name} is not finite at {where}); lower learning_rate"
            )
        if peak >= limit:
            raise ConfigError(
                f"{name} reaches {peak:.3g} at {where} (plaintext twin, checked before encryption), beyond "
                f"the {limit:g} that q0 / scale allows; lower learning_rate={lr:g}, scale the data down, "
                "or raise headroom_bits"
            )
        if weight_limit is not None and name in ("W1", "W2") and peak >= weight_limit:
            raise ConfigError(
                f"{name} reaches {peak:.3g} at {where} (plaintext twin, checked before encryption), beyond "
                f"the {weight_limit:g} that bootstrapping refreshes (q0 / (8 scale)); lower "
                f"learning_rate={lr:g} or use refresh='owner'"
            )
    if activation_range is not None:
        peak = float(np.max(np.abs(values["Z1"])))
        if peak > activation_range:
            raise ConfigError(
                f"the activation's input reaches {peak:.3g} at {where}, outside its valid range "
                f"[-{activation_range:g}, {activation_range:g}]; lower learning_rate or scale the data"
            )
    if logit_range is not None:
        logits = values["Z2"][:batch, :n_out]
        peak = float(np.max(np.abs(logits - logits.mean(axis=1, keepdims=True))))
        if peak > logit_range:
            raise ConfigError(
                f"loss='softmax_ce' is fitted to centred logits in [-{logit_range:g}, {logit_range:g}], and the "
                f"plaintext twin's reach {peak:.3g} at {where} (checked before encryption); lower learning_rate, "
                "raise logit_range, or use loss='mse'"
            )


def _run_twin(model, net, x, y, plan, lr, limit, activation_range, weight_limit=None, softmax=None,
              logit_range=None, rows=False):
    """The whole twin training (before any encryption): range checks, then the per-epoch states.

    The row packing trains a trainable activation's coefficients (the block packing keeps them fixed).
    """
    state = _augmented(model, net, rows and net.trainable)
    loss = "mse" if softmax is None else "softmax_ce"
    states, losses = [], []
    for epoch, batches in enumerate(plan):
        for step, idx in enumerate(batches):
            xa, ya = augment_batch(x[idx], y[idx], net.d, net.n_out)
            before = state.copy() if rows else None
            values = twin_step(state, xa, ya, len(idx), lr, net.coeffs, net.hidden, softmax=softmax)
            if rows:
                values.update(_partial_sums(xa, before, values))
            values.update({"W1": state.w1, "W2": state.w2})
            _check_twin_values(values, f"epoch {epoch + 1}, step {step + 1}", limit, lr, weight_limit,
                               activation_range, logit_range, net.n_out, len(idx))
        states.append(state.copy())
        losses.append(loss_and_accuracy(state, x, y, net.coeffs, net.n_out, loss))
    return states, losses


def _find_bootstrapper(context: Context):
    """The bootstrapper of a bootstrapping context (or of its owner, for a public copy), or None."""
    from ckks.circuits.bootstrapping import find_bootstrapper

    return getattr(context, "bootstrapper", None) or find_bootstrapper(context.params, context.key_id)


def _bootstrap_config(depth: int, poly_degree: int | None, security: int | None):
    """The automatic bootstrapping preset: "teaching", ``compute_levels`` = ``depth`` (all steps between refreshes)."""
    from ckks.circuits.bootstrapping import preset
    from ckks.errors import CKKSError

    if security is not None:
        raise ConfigError(
            f"refresh='bootstrap' without a context builds the insecure 'teaching' bootstrapping preset, which "
            f"needs security=None (the steps between refreshes need {depth} compute levels); at 128 bits pass "
            "context=ckks.Context.for_bootstrapping('128') (6 compute levels: one step of x^2 per bootstrap, "
            "N = 2^16) with its bootstrapping keys, or security=None for the teaching preset"
        )
    options = {"compute_levels": depth}
    if poly_degree is not None:
        options["poly_degree"] = poly_degree
    try:
        return preset("teaching", **options)
    except CKKSError as exc:
        raise ConfigError(f"no teaching bootstrapping preset with {options}: {exc}") from None


def _options(config) -> dict:
    """The `for_bootstrapping` options that rebuild ``config`` from its preset."""
    return {"poly_degree": config.poly_degree, "slots": config.slots, "compute_levels": config.compute_levels}


def _measured(owner: KeyOwner, weights: list, shadow: list | None) -> None:
    """Measure the flooding bound from the noise run (the weights and their shadow), once; the shadow is dropped."""
    if shadow is not None:
        owner.measure_noise(weights, shadow)
    return None


@translating
def train(
    model: Sequential,
    x_train,
    y_train,
    epochs: int = 5,
    learning_rate: float = 0.2,
    batch_size: int = 16,
    refresh: str = "owner",
    seed: int = 0,
    *,
    context: Context | None = None,
    poly_degree: int | None = None,
    scale_bits: int | None = None,
    security: int | None = 128,
    headroom_bits: int = 7,
    activation_range: float | None = None,
    max_steps: int | None = None,
    steps_per_refresh: int | None = None,
    verbose: bool = True,
    flooding: bool = True,
    packing: str = "auto",
    loss: str = "mse",
    logit_range: float = 16.0,
) -> TrainingReport:
    """Train ``model`` on encrypted data with packed products; the key owner only refreshes the weights.

    Everything is checked, and the plaintext twin is trained, before anything
    is encrypted; ``model`` is never modified.  Per epoch the batches are a
    seeded permutation of the data (the last one may be smaller).  The weights
    are refreshed before a step whenever fewer levels than a step needs are left.

    Args:
        model: ``nn.Sequential([Linear(n_in, h), activation, Linear(h, n_out)])`` with
            ``nn.Square`` or a degree <= 2 polynomial activation with p(0) = 0; its
            current weights are the initialisation.
        x_train: (n, n_in) features.
        y_train: (n,) integer labels in [0, n_out).
        epochs: passes over the data.
        learning_rate: SGD step on the MSE loss sum (z - y)^2 / (2 B).
        batch_size: samples per step (packed ceil(B / d) blocks of d rows).
        refresh: ``"owner"`` (decrypt and re-encrypt at the key owner) or ``"bootstrap"`` (the server
            bootstraps the weights, two ciphertexts a bootstrap, `BootstrapRefresher`: no key owner during
            training).
        seed: seeds the batch order (the encryption randomness stays from the OS).
        context: a private ``ckks.Context`` to use instead of automatic parameters; Galois keys are
            added to it.  For ``refresh="bootstrap"``: a ``ckks.Context.for_bootstrapping(...)`` context
            with ``compute_levels`` >= the step's depth and its bootstrapping keys generated.  Without
            one, ``refresh="bootstrap"`` builds the insecure "teaching" preset (``security=None`` only)
            with ``compute_levels`` = the step's depth and ``poly_degree`` (default the preset's), its
            own q0 and scale (``scale_bits`` and ``headroom_bits`` are not used), and makes its keys.
        poly_degree: N for the automatic parameters.
        scale_bits: log2 of the scale for the automatic parameters.
        security: 128, or None (toy parameters, warns).
        headroom_bits: bits of q0 above the scale (bounds the values: 2^(headroom_bits - 1), 64 by default).
        activation_range: if given, the activation's inputs must stay in [-r, r].
        max_steps: stop the encrypted training after this many steps (the twin runs the same steps).
        steps_per_refresh: for the automatic parameters, steps the modulus chain holds between two
            refreshes (default 2: N = 16384, 12 levels at scale 2^30, 128-bit; with flooding 1: 6 levels at
            scale 2^53; for ``refresh="bootstrap"`` the teaching preset's ``compute_levels``).  With a
            ``context``, its levels decide.
        verbose: print one line per epoch.
        flooding: True (default): the key owner floods every refresh and every decryption of the weights
            (`KeyOwner`), its noise bound measured on the first refresh cycle (the server runs it twice on
            separate encryptions; `KeyOwner.measure_noise`), and the automatic parameters budget the scale
            for it (`training_parameters`).  False opts out: a server that sees the trained weights and
            their last ciphertexts can recover the secret key (Li and Micciancio, Eurocrypt 2021).
        packing: ``"blocks"`` (Jiang et al.'s d x d products, `nn.encrypted.training_packing`: every layer
            squared to one power of two d, d^3 <= S slots, 6 levels a step), ``"rows"`` (one sample per
            segment, each matrix at its own shape, `nn.encrypted.training_rows`: any sizes, 8 levels a step)
            or ``"auto"``: blocks when the loss is MSE, the activation not trainable and 2 d^3 <= N, else rows.
            The row packing trains a trainable activation's coefficients (``nn.QuadraticActivation``, a
            ``PolyActivation(trainable=True)``: one (c1, c2) shared by the units, as in ``nn``); the block packing
            keeps them fixed (with a warning).
        loss: ``"mse"`` (sum (z - y)^2 / (2 B)) or ``"softmax_ce"``: softmax cross-entropy through its linear
            surrogate fitted over centred logits in [-``logit_range``, ``logit_range``]
            (`nn.encrypted.training_rows.softmax_slope`; rows packing only).
        logit_range: R of ``loss="softmax_ce"``: the twin's centred logits must stay within [-R, R].

    Returns:
        A [`TrainingReport`][nn.encrypted.training.TrainingReport].

    Raises:
        ConfigError: unsupported model, bad hyper-parameter, values that would overflow q0 / scale or leave
            ``activation_range`` (or ``logit_range`` for ``loss="softmax_ce"``), an unknown ``packing`` or
            ``loss``, ``loss="softmax_ce"`` with ``packing="blocks"``, a network whose packing does not fit
            the ring, ``refresh="bootstrap"`` without ckks bootstrapping, or with flooding a scale that leaves
            fewer than 8 bits after it.
        ShapeError: ``x_train`` or ``y_train`` has the wrong shape.
        DatasetError: labels outside the classes, or non-finite features.
        TrainingDivergedError: the plaintext twin diverges.
        KeyMissingError: ``context`` is a public copy, or for ``refresh="bootstrap"`` not a bootstrapping
            context or without its bootstrapping keys.
        LevelError: ``context`` has fewer levels than one step needs (for a bootstrapping context: fewer
            ``compute_levels``).
    """
    net = _network(model)
    x, y = _check_data(x_train, y_train, net)
    epochs, batch_size, seed, max_steps, lr, steps_per_refresh = _check_arguments(
        epochs, batch_size, seed, max_steps, learning_rate, refresh, activation_range, steps_per_refresh, flooding)
    kind, softmax = _choose_packing(packing, loss, logit_range, net, context, poly_degree)
    depth = step_depth(net.c1, net.c2) if kind == "blocks" else rows_depth()
    params, boot_config, headroom_bits = _choose_parameters(
        context, refresh, depth, kind, poly_degree, scale_bits, security, headroom_bits, steps_per_refresh, flooding)
    slots = params["poly_degree"] // 2
    _check_fits(kind, net, slots, batch_size, loss)
    if batch_size > x.shape[0]:
        raise ConfigError(f"batch_size={batch_size} exceeds the {x.shape[0]} training samples")
    if refresh == "bootstrap" and context is not None:
        check_bootstrap_available(context)  # the bootstrapping keys
    limit, weight_limit = _value_limits(params, flooding, headroom_bits, refresh, x)
    plan = _step_plan(x.shape[0], batch_size, epochs, seed, max_steps)
    twin_states, twin_metrics = _run_twin(model, net, x, y, plan, lr, limit, activation_range, weight_limit,
                                          softmax, logit_range if softmax else None, kind == "rows")
    # -- encrypted training (nothing above encrypted anything) --
    start = time.perf_counter()
    server, owner, refresher, weights, shadow, fresh_levels = _encrypted_setup(
        context, refresh, boot_config, params, kind, net, lr, softmax, flooding,
        _augmented(model, net, kind == "rows" and net.trainable), plan, depth, limit)
    setup = time.perf_counter() - start
    metric = "mse" if softmax is None else "softmax_ce"
    weights, history, step_counts = _training_loop(
        server, owner, refresher, weights, shadow, plan, (x, y), depth, (twin_states, twin_metrics), metric, verbose)
    return _report(model, net, server.decrypt(owner, weights), twin_states[-1], history, step_counts, batch_size,
                   {**params, "depth_per_step": depth, "d": net.d, "refresh": refresh,
                    "steps_per_refresh": fresh_levels // depth, "packing": kind, "loss": metric, **server.describe(),
                    **({"compute_levels": boot_config.compute_levels, "bootstrap_depth": boot_config.depth,
                        "bootstrap_precision_bits": boot_config.precision_bits} if boot_config else {})},
                   refresher, start, setup)


def _training_loop(server, owner: KeyOwner, refresher, weights: list, shadow: list | None, plan: list, data: tuple,
                   depth: int, twin: tuple, metric: str, verbose: bool) -> tuple[list, list[dict], list[dict]]:
    """The encrypted epochs: (final weights, per-epoch history, per-step counts).

    Before a step the weights are refreshed when fewer than ``depth`` levels are left; with
    flooding the ``shadow`` (a second encryption of the initial weights) runs the first cycle
    again so that the key owner can measure the noise (`_measured`).
    """
    x, y = data
    twin_states, twin_metrics = twin
    net = server.net
    history: list[dict] = []
    step_counts: list[dict] = []
    for epoch, batches in enumerate(plan):
        t0 = time.perf_counter()
        refreshes_before = refresher.refreshes
        for idx in batches:
            uploads = owner.encryptions
            batch = server.upload(owner, x[idx], y[idx])
            uploads = owner.encryptions - uploads
            if min(w.level for w in weights) < depth:
                shadow = _measured(owner, weights, shadow)
                weights = refresher.refresh(weights, owner.ticket)
                if min(w.level for w in weights) < depth:
                    raise LevelError(
                        f"after a refresh the weights have {weights[0].level} levels, a step needs {depth}")
            before, level = server.counts.copy(), min(w.level for w in weights)
            weights = server.step(weights, batch)
            counts = server.counts.minus(before).as_dict()
            counts["depth"] = level - min(w.level for w in weights)
            counts["uploaded_ciphertexts"] = uploads
            step_counts.append(counts)
            if shadow is not None:
                shadow = server.step(shadow, server.upload(owner, x[idx], y[idx]))
        shadow = _measured(owner, weights, shadow)
        state = server.decrypt(owner, weights)
        loss_value, accuracy = loss_and_accuracy(state, x, y, net.coeffs, net.n_out, metric)
        diff = max(float(np.max(np.abs(state.w1 - twin_states[epoch].w1))),
                   float(np.max(np.abs(state.w2 - twin_states[epoch].w2))))
        entry = {
            "epoch": epoch + 1,
            "loss": loss_value,
            "twin_loss": twin_metrics[epoch][0],
            "train_accuracy": accuracy,
            "twin_train_accuracy": twin_metrics[epoch][1],
            "weight_diff": diff,
            "seconds": time.perf_counter() - t0,
            "levels_left": min(w.level for w in weights),
            "refreshes": refresher.refreshes - refreshes_before,
            "steps": len(batches),
        }
        history.append(entry)
        if verbose:
            print(
                f"epoch {entry['epoch']:3d}  loss {loss_value:.4f} (twin {entry['twin_loss']:.4f})  "
                f"|enc - twin| {diff:.2e}  {entry['seconds']:.1f} s  levels left {entry['levels_left']}  "
                f"refreshes {entry['refreshes']}",
                flush=True,
            )
    return weights, history, step_counts


# -- the pieces of train --------------------------------------------------------------------------------


def _value_limits(params: dict, flooding: bool, headroom_bits: int, refresh: str, x: np.ndarray) -> tuple:
    """(limit on every value: 2^(headroom - 1), limit on the weights for bootstrapping or None), checked."""
    flood = flooding_bits(params["poly_degree"], DEFAULT_STATISTICAL_SECURITY) if flooding else 0
    if flooding and params["scale_bits"] - flood < 8:
        raise ConfigError(
            f"scale 2^{params['scale_bits']} leaves fewer than 8 bits once the key owner floods its decryptions "
            f"({flood} bits at N={params['poly_degree']}); "
            "leave scale_bits to the automatic choice, raise it, or pass flooding=False (only if no decrypted weight "
            "ever leaves the key owner)"
        )
    limit = 2.0 ** (headroom_bits - 1)
    weight_limit = 2.0 ** (headroom_bits - 3) if refresh == "bootstrap" else None
    if float(np.max(np.abs(x))) + 1.0 >= limit:
        raise DatasetError(
            f"x_train reaches {np.max(np.abs(x)):.3g}, beyond the {limit:g} that q0 / scale allows; standardize it"
        )
    return limit, weight_limit


def _encrypted_setup(context, refresh, boot_config, params, kind, net, lr, softmax, flooding, init: TwinState,
                     plan: list, depth: int, limit: float) -> tuple:
    """The context (made when not given), key owner, Galois keys, server, refresher and encrypted weights.

    Returns ``(server, owner, refresher, weights, shadow, fresh_levels)``: the shadow is a second
    encryption of the weights for the key owner's noise measurement (with flooding), and the owner's
    refresh plan is set (``refresh="owner"``).
    """
    if context is None and refresh == "bootstrap":
        context = Context.for_bootstrapping(boot_config.name, security=None, **_options(boot_config))
        context.generate_bootstrapping_keys(progress=False)
    elif context is None:
        context = Context(
            params["poly_degree"], params["moduli_bits"], scale_bits=params["scale_bits"], security=params["security"]
        )
    owner = KeyOwner(context, flooding=flooding)
    context.generate_galois_keys(_packing(kind, context, net, lr, softmax).galois_steps(), progress=False)
    server = _packing(kind, owner.public_context, net, lr, softmax)
    refresher = owner if refresh == "owner" else BootstrapRefresher(server.ctx)
    weights = server.encrypt(owner, init)
    fresh_levels = min(weights[0].level, boot_config.compute_levels) if boot_config else weights[0].level
    # the noise run: the first cycle again on separate encryptions (KeyOwner.measure_noise)
    shadow = server.encrypt(owner, init) if flooding else None
    if refresh == "owner":
        total, per_cycle = sum(len(b) for b in plan), max(fresh_levels // depth, 1)
        owner.plan_refreshes(len(weights), fresh_levels - per_cycle * depth, max(-(-total // per_cycle) - 1, 0),
                             limit, period=server.period)
        owner.issue(weights)
    return server, owner, refresher, weights, shadow, fresh_levels


def _report(model, net, final: TwinState, twin_final: TwinState, history, step_counts, batch_size: int,
            parameters: dict, refresher, start: float, setup: float) -> TrainingReport:
    """The `TrainingReport` of a finished training."""
    counts = dict(step_counts[0]) if step_counts else {}
    counts["naive"] = naive_counts(net.n_in, net.hidden, net.n_out, batch_size)
    return TrainingReport(
        model=_to_model(model, net, final),
        twin_model=_to_model(model, net, twin_final),
        history=history,
        counts=counts,
        step_counts=step_counts,
        parameters=parameters,
        refreshes=refresher.refreshes,
        refreshed_ciphertexts=refresher.refreshed_ciphertexts,
        refresh_seconds=refresher.seconds,
        bootstraps=getattr(refresher, "bootstraps", 0),
        seconds=time.perf_counter() - start,
        setup_seconds=setup,
        steps=len(step_counts),
    )


def _check_arguments(epochs, batch_size, seed, max_steps, learning_rate, refresh, activation_range,
                     steps_per_refresh, flooding) -> tuple:
    """The hyper-parameters checked: (epochs, batch_size, seed, max_steps, lr, steps_per_refresh)."""
    epochs = _check_int("epochs", epochs, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    seed = _check_int("seed", seed, 0)
    if max_steps is not None:
        max_steps = _check_int("max_steps", max_steps, 1)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float, np.floating, np.integer)):
        raise ConfigError(f"learning_rate must be a positive number, got {learning_rate!r}")
    lr = float(learning_rate)
    if not (math.isfinite(lr) and lr > 0):
        raise ConfigError(f"learning_rate must be a positive finite number, got {learning_rate!r}")
    if refresh not in ("owner", "bootstrap"):
        raise ConfigError(f"refresh must be 'owner' or 'bootstrap', got {refresh!r}")
    if activation_range is not None and not (float(activation_range) > 0):
        raise ConfigError(f"activation_range must be a positive number or None, got {activation_range!r}")
    if steps_per_refresh is not None:
        steps_per_refresh = _check_int("steps_per_refresh", steps_per_refresh, 1)
    if not isinstance(flooding, bool):
        raise ConfigError(f"flooding must be True or False, got {flooding!r}")
    return epochs, batch_size, seed, max_steps, lr, steps_per_refresh


def _choose_packing(packing, loss, logit_range, net: _Network, context, poly_degree) -> tuple[str, tuple | None]:
    """("blocks" or "rows", None or (K, a) for the softmax surrogate), checked."""
    if packing not in ("auto", "blocks", "rows"):
        raise ConfigError(f"packing must be 'auto', 'blocks' or 'rows', got {packing!r}")
    if loss not in ("mse", "softmax_ce"):
        raise ConfigError(f"loss must be 'mse' or 'softmax_ce', got {loss!r}")
    softmax = None
    if loss == "softmax_ce":
        if isinstance(logit_range, bool) or not isinstance(logit_range, (int, float, np.integer, np.floating)):
            raise ConfigError(f"logit_range must be a positive number, got {logit_range!r}")
        softmax = (net.n_out, softmax_slope(net.n_out, float(logit_range)))
        if packing == "blocks":
            raise ConfigError("loss='softmax_ce' needs packing='rows' (or 'auto'): the block packing has MSE only")
    if packing == "auto":
        params = getattr(context, "params", None)
        n = getattr(params, "poly_degree", None) or poly_degree or 8192
        packing = "blocks" if softmax is None and not net.trainable and 2 * net.d**3 <= n else "rows"
    if packing == "blocks" and net.trainable:
        warnings.warn("the block packing keeps the activation's coefficients fixed (they are not trained); "
                      "packing='rows' trains them", stacklevel=4)
    return packing, softmax


def _choose_parameters(context, refresh, depth, kind, poly_degree, scale_bits, security, headroom_bits,
                       steps_per_refresh, flooding) -> tuple[dict, object, int]:
    """(CKKS parameters, bootstrapping config or None, headroom bits) for the context given or automatic ones."""
    boot_config = None
    if context is None and refresh == "bootstrap":
        boot_config = _bootstrap_config(depth * (steps_per_refresh or 2), poly_degree, security)
        data_bits = boot_config.data_bits()
        params = {"poly_degree": boot_config.poly_degree, "moduli_bits": boot_config.moduli_bits(),
                  "scale_bits": boot_config.scale_bits, "security": None}
        return params, boot_config, int(data_bits[0] - boot_config.scale_bits)
    if context is None:
        if kind == "rows":  # 8 levels: one step between refreshes, at the largest scale that fits
            if poly_degree is None and flooding and security:
                poly_degree = 32768  # one step of 8 levels at the flooding scale 2^53 does not fit N = 16384
            params = training_parameters(depth, poly_degree, scale_bits, security, headroom_bits,
                                         steps_per_refresh or 1, flooding=flooding, max_scale_bits=40)
        else:
            params = training_parameters(depth, poly_degree, scale_bits, security, headroom_bits, steps_per_refresh,
                                         flooding=flooding)
        return params, None, headroom_bits
    if not isinstance(context, Context):
        raise ConfigError(f"context must be a ckks.Context, got {type(context).__name__}")
    p = context.params
    data_bits = list(p.moduli_bits[: len(p.moduli_bits) - p.special_count])
    params = {"poly_degree": p.poly_degree, "moduli_bits": list(p.moduli_bits), "scale_bits": p.scale_bits,
              "security": p.security}
    if not context.is_private:
        raise KeyMissingError("encrypted training needs the key owner's private context, got a public copy")
    bootstrapper = _find_bootstrapper(context)
    if refresh == "bootstrap" and bootstrapper is None:
        check_bootstrap_available(context)  # raises: not a bootstrapping context
    if bootstrapper is not None:
        boot_config = bootstrapper.config
        fresh_levels = min(p.max_level, boot_config.compute_levels)
        if fresh_levels < depth:
            raise LevelError(
                f"a training step needs {depth} levels but this bootstrapping context gives "
                f"{fresh_levels} (compute_levels); build it with "
                f"ckks.Context.for_bootstrapping(..., compute_levels={depth})"
            )
    elif p.max_level < depth:
        raise LevelError(
            f"a training step needs {depth} levels but the context has {p.max_level}; "
            f"use moduli_bits with {depth} rescaling primes (see nn.encrypted.training.training_parameters)"
        )
    return params, boot_config, int(data_bits[0] - p.scale_bits)


def _check_fits(kind: str, net: _Network, slots: int, batch_size: int, loss: str) -> None:
    """Raise ConfigError if the packing does not fit the slots (rows: one sample's segment; blocks: d^3)."""
    if kind == "rows":
        RowsLayout(net.n_in, net.hidden, net.n_out, slots, loss)
        return
    if slots % net.d**3:
        raise ConfigError(
            f"d groups of {net.d}x{net.d} blocks need poly_degree >= {2 * net.d**3}; use packing='rows' (any sizes)"
        )
    blocks, per_group = -(-batch_size // net.d), slots // net.d**3
    if blocks > per_group:
        raise ConfigError(
            f"batch_size={batch_size} needs {blocks} blocks of {net.d} samples, more than the {per_group} that "
            f"poly_degree={2 * slots} holds (S / d^3); use batch_size <= {per_group * net.d} or a larger poly_degree"
        )


def _step_plan(n: int, batch_size: int, epochs: int, seed: int, max_steps: int | None) -> list[list[np.ndarray]]:
    """The batches of every epoch, cut after ``max_steps`` steps."""
    plan = _batches(n, batch_size, epochs, seed)
    if max_steps is None:
        return plan
    kept, left = [], max_steps
    for batches in plan:
        if left <= 0:
            break
        kept.append(batches[:left])
        left -= len(kept[-1])
    return kept


class _BlockPacking:
    """The block packing behind one interface with `_RowPacking`: weights [W1_a, W2_a] (period d^2)."""

    def __init__(self, context: Context, net: _Network, lr: float):
        self.server = _Server(context, net, lr)
        self.ctx, self.net = context, net
        self.period = net.d**2
        self.counts = self.server.ops.counts

    def galois_steps(self) -> list[int]:
        return self.server.galois_steps()

    def describe(self) -> dict:
        return {"slot_use": self.net.n_in * self.net.hidden / self.net.d**2}

    def encrypt(self, owner: KeyOwner, state: TwinState) -> list:
        return [owner.encrypt(pack_weight(m, self.ctx.slots)) for m in (state.w1, state.w2)]

    def decrypt(self, owner: KeyOwner, weights: list) -> TwinState:
        return TwinState(*(unpack_weight(owner.decrypt(w), self.net.d, average=True) for w in weights))

    def upload(self, owner: KeyOwner, x: np.ndarray, y: np.ndarray) -> _Batch:
        xa, ya = augment_batch(x, y, self.net.d, self.net.n_out)
        return _client_batch(owner, self.server.layout, xa, ya, len(x))

    def step(self, weights: list, batch: _Batch) -> list:
        return list(self.server.step(*weights, batch))


class _RowPacking:
    """The row packing (`nn.encrypted.training_rows`): weights [W1, b1, W2, b2] (period T)."""

    def __init__(self, context: Context, net: _Network, lr: float, softmax: tuple | None):
        loss = "mse" if softmax is None else "softmax_ce"
        self.ctx, self.net = context, net
        self.layout = RowsLayout(net.n_in, net.hidden, net.n_out, context.slots, loss)
        ops = Ops(context, counts=OpCounts(), cache_bytes=MASK_CACHE_BYTES)
        self.server = RowsServer(context, self.layout, lr, net.coeffs, ops, softmax[1] if softmax else 1.0,
                                 trainable=net.trainable)
        self.period = self.layout.segment
        self.counts = ops.counts

    def galois_steps(self) -> list[int]:
        return self.layout.galois_steps()

    def describe(self) -> dict:
        lay = self.layout
        return {"segment": lay.segment, "samples_per_ciphertext": lay.copies, "slot_use": lay.slot_use()["W1"]}

    def encrypt(self, owner: KeyOwner, state: TwinState) -> list:
        vectors = self.layout.pack_weights(*_split(self.net, state))
        if self.net.trainable:
            vectors += self.layout.pack_coefficients(*state.coeffs)
        return [owner.encrypt(v) for v in vectors]

    def decrypt(self, owner: KeyOwner, weights: list) -> TwinState:
        values = [owner.decrypt(w) for w in weights]
        coeffs = self.layout.unpack_coefficients(values[4:]) if self.net.trainable else None
        return _augment(self.net, *self.layout.unpack_weights(values[:4]), coeffs)

    def upload(self, owner: KeyOwner, x: np.ndarray, y: np.ndarray) -> RowsBatch:
        lay, c = self.layout, self.layout.copies
        onehot = np.eye(self.net.n_out)[y]
        parts = range(0, len(x), c)
        return RowsBatch([owner.encrypt(lay.pack_inputs(x[i : i + c])) for i in parts],
                         [owner.encrypt(lay.pack_targets(onehot[i : i + c])) for i in parts],
                         [len(x[i : i + c]) for i in parts], len(x))

    def step(self, weights: list, batch: RowsBatch) -> list:
        return self.server.step(weights, batch)


def _packing(kind: str, context: Context, net: _Network, lr: float, softmax: tuple | None):
    return _BlockPacking(context, net, lr) if kind == "blocks" else _RowPacking(context, net, lr, softmax)
