"""Row packing for encrypted training: one sample per segment of slots, any layer sizes.

The block packing (`nn.encrypted.training_packing`) squares every matrix to one
power-of-two d and replicates the batch over d groups: it needs d^3 <= S slots,
so a network with 64 inputs and a bias (d = 128) would need N = 2^22.  This
packing keeps each matrix at its own shape and puts **one sample in a segment**
of T slots; a ciphertext holds C = S / T samples, a batch ceil(B / C)
ciphertexts (*chunks*).

Layout of a segment (n', h', o' the powers of two at or above n_in, hidden and
n_out; runs of w = max(n', o') slots, 2 o' for ``softmax_ce``; T = h' w):

* slot j w + i of a segment ("run j, position i"), j < h', i < w;
* X (client): x_s[i] at (j, i) for every j: the sample repeated in every run;
* W1 (weight): W1[i, j] at (j, i), the same in every segment (*periodic*);
  b1 at (j, 0); W2: W2[j, k] at (j, k); b2 at (0, k); Y (client): y_s[k] at (0, k).

One step (p(z) = c1 z + c2 z^2; M_h = 1 at (j, 0), j < hidden, M_o = 1 at (0, k), k < n_out, both only in
the segments that hold a sample of the chunk; r = lr / B):

    Z1 = sum_i X * W1 + b1             run sums by rotations 1, 2, .., n'/2: valid at (j, 0)      level -1
    A1 = Z1 * (M_h (c2 Z1 + c1))       p(Z1), masked (the mask rides on the second factor)        -3
    A1 -> every position k < o' of its run (rotations -1, .., -o'/2; clean, so no mask)
    Z2 = sum_j A1 * W2 + b2            sums over the runs by rotations w, 2w, ..: valid at (0, k) -4
    E  = M_o (Z2 - Y)                                                                          -5
    E  -> every run (rotations -w, -2w, ..)
    dA1 = sum_k E * W2                 valid at (j, 0)                                            -6
    dZ1 = dA1 * (M_h r (2 c2 Z1 + c1)) p'(Z1) with the mask and the rate (computed at -2)         -7
    dZ1 -> every position of its run;  dW1 = dZ1 * X   (-8),   db1 = dZ1 (-7)
    dW2 = E * (r A1) (-6),   db2 = r E (-6)

and every gradient is summed over the chunks, then over the segments (rotations
T, 2T, .., S/2: the sum lands in every segment, periodic like the weight).
A run sum leaves the sum in position 0 and partial sums elsewhere; a mask
clears them before anything is spread again, and a spread of a clean vector
needs no mask.  8 levels a step (`rows_depth`).
Slot use: n_in hidden of the T slots of a segment for the first layer
(64 x 16 = 1024 of 1024 for the digits), B of the C ceil(B / C) segments.

Softmax cross-entropy.  dL/dz = softmax(z) - y; the surrogate used is linear in
the centred logits u = z - mean(z): softmax(z) ~ (1 + a u) / K with a fitted by
least squares over logits in [-R, R] (`softmax_slope`), which sums to one like
softmax and is monotone (quadratic and cubic surrogates made the plaintext training of the
digits diverge: they grow the wrong way outside their range).  The
centring rides on W2 and b2 (their class mean is subtracted, one level, off the
critical path), so the error costs no more levels than MSE: E = M_o ((1 + a u) / K - Y),
the slope a / K riding in the mask.  Because sum_k E_k = 0, the gradients through the centred
weights are those of the uncentred ones.

Everything here is plaintext index arithmetic except
[`RowsServer`][nn.encrypted.training_rows.RowsServer], which runs a step on
ciphertexts with a public context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nn.errors import ConfigError

__all__ = ["RowsLayout", "RowsServer", "rows_depth", "softmax_slope"]


def _pow2(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def rows_depth() -> int:
    """Levels one step of the row packing consumes (any activation c1 z + c2 z^2, either loss).

    Z1 -1, p(Z1) -3 (its mask on the second factor at -2), Z2 -4, E -5 (the mask; the softmax
    surrogate's slope rides in it, its centring on W2 and b2 at -1), dA1 -6, dZ1 -7 (p'(Z1) with its
    mask and the rate at -2), dW1 -8; dW2 and db2 -6, db1 -7.

    Returns:
        8.
    """
    return 8


def softmax_slope(n_out: int, logit_range: float) -> float:
    """The slope a of the linear softmax surrogate softmax(z) ~ (1 + a u) / K, u = z - mean(z).

    Least squares of K softmax(u) - 1 against u over centred logit vectors drawn (seeded, so the
    same every time) from a normal distribution of standard deviation R / 3, the vectors with
    some |u_c| > R left out.  About 1 for small R (the first-order Taylor expansion), smaller for
    larger R, where softmax saturates.

    Args:
        n_out: K, the number of classes (>= 2).
        logit_range: R > 0.

    Returns:
        The slope a.

    Raises:
        ConfigError: K < 2 or R not a positive finite number.
    """
    if n_out < 2:
        raise ConfigError(f"loss='softmax_ce' needs at least 2 classes, got {n_out}")
    if not (isinstance(logit_range, (int, float)) and math.isfinite(logit_range) and logit_range > 0):
        raise ConfigError(f"logit_range must be a positive number, got {logit_range!r}")
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, logit_range / 3.0, size=(20000, n_out))
    u = z - z.mean(axis=1, keepdims=True)
    u = u[np.max(np.abs(u), axis=1) <= logit_range]
    soft = np.exp(u - u.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    target = (n_out * soft - 1.0).ravel()
    flat = u.ravel()
    return float(flat @ target / (flat @ flat))


@dataclass(frozen=True)
class RowsLayout:
    """Where every value of a step sits (index arithmetic; the client and the server both use it).

    Attributes:
        n_in: inputs.
        hidden: hidden units.
        n_out: outputs (classes).
        slots: S = N / 2.
        loss: ``"mse"`` or ``"softmax_ce"``.

    Raises:
        ConfigError: one sample's segment needs more slots than ``slots``.
    """

    n_in: int
    hidden: int
    n_out: int
    slots: int
    loss: str = "mse"

    def __post_init__(self):
        if self.segment > self.slots:
            raise ConfigError(
                f"one sample of a {self.n_in}-{self.hidden}-{self.n_out} network needs a segment of {self.segment} "
                f"slots (runs of {self.width} for {self.hidden_p} hidden units), more than the {self.slots} of "
                f"poly_degree={2 * self.slots}; use a larger poly_degree"
            )

    # -- sizes --------------------------------------------------------------------------------------
    @property
    def in_p(self) -> int:
        """n', the power of two at or above n_in."""
        return _pow2(self.n_in)

    @property
    def hidden_p(self) -> int:
        """h', the power of two at or above hidden (the number of runs)."""
        return _pow2(self.hidden)

    @property
    def out_p(self) -> int:
        """o', the power of two at or above n_out."""
        return _pow2(self.n_out)

    @property
    def width(self) -> int:
        """w, the slots of a run: max(n', o') (at least 2 o' for the softmax surrogate's class sums)."""
        return max(self.in_p, self.out_p * (2 if self.loss == "softmax_ce" else 1))

    @property
    def segment(self) -> int:
        """T = h' w, the slots of one sample."""
        return self.hidden_p * self.width

    @property
    def copies(self) -> int:
        """C = S / T, samples per ciphertext."""
        return self.slots // self.segment

    def chunks(self, batch: int) -> int:
        """Ciphertexts a batch of ``batch`` samples needs: ceil(B / C)."""
        return -(-batch // self.copies)

    def slot_use(self) -> dict:
        """Fractions of a segment the weights use: ``{"W1": n_in hidden / T, "W2": hidden n_out / T}``."""
        return {"W1": self.n_in * self.hidden / self.segment, "W2": self.hidden * self.n_out / self.segment}

    # -- packing ------------------------------------------------------------------------------------
    def _segment(self) -> np.ndarray:
        return np.zeros((self.hidden_p, self.width))

    def _periodic(self, seg: np.ndarray) -> np.ndarray:
        return np.tile(seg.reshape(-1), self.copies)

    def _chunk(self, segs: np.ndarray) -> np.ndarray:
        out = np.zeros(self.slots)
        flat = segs.reshape(-1)
        out[: flat.size] = flat
        return out

    def pack_inputs(self, x: np.ndarray) -> np.ndarray:
        """X of up to C samples: x_s[i] at (j, i) of segment s for every run j.

        Args:
            x: (m, n_in) with m <= C.

        Returns:
            S slot values (segments beyond m are zero).
        """
        segs = np.zeros((len(x), self.hidden_p, self.width))
        segs[:, :, : self.n_in] = np.asarray(x, dtype=np.float64)[:, None, :]
        return self._chunk(segs)

    def pack_targets(self, y: np.ndarray) -> np.ndarray:
        """One-hot targets of up to C samples: y_s[k] at (j, k) of segment s, in every run j.

        Args:
            y: (m, n_out) one-hot rows, m <= C.

        Returns:
            S slot values.
        """
        segs = np.zeros((len(y), self.hidden_p, self.width))
        segs[:, :, : self.n_out] = np.asarray(y, dtype=np.float64)[:, None, :]
        return self._chunk(segs)

    def pack_weights(self, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> list[np.ndarray]:
        """The four periodic weight vectors [W1, b1, W2, b2] (W1 (n_in, hidden), W2 (hidden, n_out)).

        Args:
            w1: (n_in, hidden).
            b1: (hidden,).
            w2: (hidden, n_out).
            b2: (n_out,).

        Returns:
            Four slot vectors of length S.
        """
        s1 = self._segment()
        s1[: self.hidden, : self.n_in] = np.asarray(w1).T
        sb1 = self._segment()
        sb1[: self.hidden, 0] = b1
        s2 = self._segment()
        s2[: self.hidden, : self.n_out] = w2
        sb2 = self._segment()
        sb2[0, : self.n_out] = b2
        return [self._periodic(s) for s in (s1, sb1, s2, sb2)]

    def unpack_weights(self, vectors: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        """(W1, b1, W2, b2) from four decrypted slot vectors, each the mean of its S / T periodic copies.

        Args:
            vectors: four slot vectors (W1, b1, W2, b2 in the layout of `pack_weights`).

        Returns:
            ``(w1 (n_in, hidden), b1 (hidden,), w2 (hidden, n_out), b2 (n_out,))``.
        """
        segs = [np.asarray(v, dtype=np.float64).reshape(self.copies, self.hidden_p, self.width).mean(axis=0)
                for v in vectors]
        return (segs[0][: self.hidden, : self.n_in].T.copy(), segs[1][: self.hidden, 0].copy(),
                segs[2][: self.hidden, : self.n_out].copy(), segs[3][0, : self.n_out].copy())

    def pack_coefficients(self, c1: float, c2: float) -> list[np.ndarray]:
        """The trained activation's coefficients [c1, c2]: c at (j, 0) of every run j, in every segment.

        Args:
            c1: the linear coefficient.
            c2: the quadratic coefficient.

        Returns:
            Two slot vectors of length S.
        """
        out = []
        for c in (c1, c2):
            seg = self._segment()
            seg[:, 0] = c
            out.append(self._periodic(seg))
        return out

    def unpack_coefficients(self, vectors: list[np.ndarray]) -> np.ndarray:
        """(c1, c2) from two decrypted slot vectors: the mean of their h' S / T copies.

        Args:
            vectors: two slot vectors in the layout of `pack_coefficients`.

        Returns:
            ``array([c1, c2])``.
        """
        return np.array([np.asarray(v, dtype=np.float64).reshape(-1, self.width)[:, 0].mean() for v in vectors])

    # -- masks --------------------------------------------------------------------------------------
    def hidden_mask(self, count: int) -> np.ndarray:
        """M_h: 1 at (j, 0) for j < hidden in the first ``count`` segments.

        Args:
            count: samples in the chunk.

        Returns:
            S slot values.
        """
        seg = self._segment()
        seg[: self.hidden, 0] = 1.0
        return self._chunk(np.tile(seg, (count, 1, 1)))

    def class_mask(self, count: int | None = None) -> np.ndarray:
        """M_o: 1 at (0, k) for k < n_out in the first ``count`` segments (all segments for None).

        Args:
            count: samples in the chunk, or None.

        Returns:
            S slot values.
        """
        seg = self._segment()
        seg[0, : self.n_out] = 1.0
        return self._periodic(seg) if count is None else self._chunk(np.tile(seg, (count, 1, 1)))

    def every_run(self, values: np.ndarray) -> np.ndarray:
        """Slot values whose run 0 is copied to every run of its segment (plaintext).

        Args:
            values: S slot values.

        Returns:
            S slot values.
        """
        segs = np.asarray(values, dtype=np.float64).reshape(-1, self.hidden_p, self.width)
        return np.broadcast_to(segs[:, :1, :], segs.shape).reshape(-1).copy()

    # -- rotations ----------------------------------------------------------------------------------
    @staticmethod
    def _doubling(first: int, count: int, sign: int = 1) -> list[int]:
        """sign * first * 2^t for 2^t < count."""
        return [sign * first << t for t in range(int(math.log2(count)))] if count > 1 else []

    def run_sum_steps(self, length: int) -> list[int]:
        """Rotations that sum ``length`` consecutive positions of a run into its first: 1, 2, .., length / 2."""
        return self._doubling(1, length)

    def spread_steps(self, length: int) -> list[int]:
        """Rotations that copy position 0 of a run to positions < ``length``: -1, -2, .., -length / 2."""
        return self._doubling(1, length, -1)

    def runs_sum_steps(self) -> list[int]:
        """Rotations that sum the runs of a segment into run 0: w, 2 w, .., (h' / 2) w."""
        return self._doubling(self.width, self.hidden_p)

    def runs_spread_steps(self) -> list[int]:
        """Rotations that copy run 0 to every run: -w, -2 w, .."""
        return self._doubling(self.width, self.hidden_p, -1)

    def segments_sum_steps(self) -> list[int]:
        """Rotations that add all segments (the result in every segment): T, 2 T, .., S / 2."""
        return self._doubling(self.segment, self.copies)

    def class_total_steps(self) -> list[int]:
        """Rotations of `RowsServer.class_total`: 1, .., o' / 2 and -(o' - 1)."""
        return self.run_sum_steps(self.out_p) + ([-(self.out_p - 1)] if self.out_p > 1 else [])

    def galois_steps(self) -> list[int]:
        """Every rotation step a training step uses.

        Returns:
            Sorted distinct non-zero steps.
        """
        steps = set(self.run_sum_steps(self.in_p)) | set(self.spread_steps(self.out_p))
        steps |= set(self.runs_sum_steps()) | set(self.runs_spread_steps())
        steps |= set(self.run_sum_steps(self.out_p)) | set(self.spread_steps(self.in_p))
        steps |= set(self.segments_sum_steps())
        if self.loss == "softmax_ce":
            steps |= set(self.class_total_steps())
        steps.discard(0)
        return sorted(steps)


@dataclass
class RowsBatch:
    """The client's upload for one step: per chunk, X and Y encrypted, and the number of samples."""

    inputs: list
    targets: list
    counts: list
    size: int


class RowsServer:
    """The training step of the row packing on public material only (a public copy of the context).

    Its ciphertext operations (level- and scale-aware products, masks, rotate-and-add sums, the
    cache of encoded masks, the counter) are those of the server's one evaluator wrapper,
    `nn.encrypted.ops.Ops`; the server adds only the step.

    Args:
        context: a ``ckks.Context`` (no secret key needed), with the Galois keys of
            ``layout.galois_steps()``.
        layout: the `RowsLayout`.
        lr: the learning rate.
        coeffs: (c1, c2) of the activation.
        ops: the `nn.encrypted.ops.Ops` on ``context`` (or anything with one as ``.ops``, such as a
            `nn.encrypted.training_packing.PermutationEngine`); its ``counts`` (a
            `ckks.scheme.counting.OperationCounter`) is active during each step.
        slope: a of the softmax surrogate (``loss="softmax_ce"``).
        trainable: the activation's coefficients are two more weight ciphertexts (`RowsLayout.pack_coefficients`)
            and are trained; ``coeffs`` is then ignored.
    """

    def __init__(self, context, layout: RowsLayout, lr: float, coeffs: tuple[float, float], ops,
                 slope: float = 1.0, trainable: bool = False):
        self.ctx = context
        self.layout = layout
        self.lr = float(lr)
        self.c1, self.c2 = (float(c) for c in coeffs)
        self.ops = getattr(ops, "ops", ops)
        self.slope = float(slope)
        self.trainable = bool(trainable)

    def class_total(self, ct):
        """Every position k < o' of run 0 gets the sum over the classes (input clean outside them).

        With S1 = sum_(t < o') rot_t(v): S1 + rot_(-(o' - 1))(S1) - v sums v over the window
        [k - o' + 1, k + o' - 1], which holds all classes for every k < o' (and reaches no other
        value, as runs have w >= 2 o' slots and the input is zero outside the classes).  No level.
        """
        lay, ops = self.layout, self.ops
        total = ops.accumulate(ct, lay.run_sum_steps(lay.out_p))
        if lay.out_p > 1:
            total = ops.ev.sub(ops.ev.add(total, ops.rotate(total, -(lay.out_p - 1))), ct)
        return total

    # -- the step ---------------------------------------------------------------------------------------
    def _centred(self, w2, b2):
        """(W2 - its class mean per run, b2 - its class mean) on the classes: the logits come out centred."""
        ops, inverse_k = self.ops, np.full(self.layout.slots, 1.0 / self.layout.n_out)
        # ct / K with the constant encoded at scale q_l, not rescaled (scale s q_l) before the class total
        w2c = ops.subtract(w2, ops.rescale(self.class_total(ops.masked(w2, inverse_k, rescale=False))))
        b2c = ops.subtract(b2, ops.rescale(self.class_total(ops.masked(b2, inverse_k, rescale=False))))
        return w2c, b2c

    def _error(self, z2, b2, y, count: int):
        """E in every run (y_s is in every run): M_o (Z2 + b2) - Y spread, or M_o (1 + a u) / K - Y spread."""
        lay, ops = self.layout, self.ops
        logits = ops.add(z2, b2)
        spread = lay.runs_spread_steps()
        if lay.loss == "mse":
            return ops.masked(ops.subtract(logits, y), lay.class_mask(count), spread)
        k = lay.n_out
        err = ops.masked(logits, lay.class_mask(count) * (self.slope / k), spread)
        return ops.add_vector(ops.subtract(err, y), lay.every_run(lay.class_mask(count)) / k)

    def _activation(self, z1, coefficients: list | None, hidden_mask: np.ndarray, rate: float) -> tuple:
        """(M_h (c2 Z1 + c1), M_h r (2 c2 Z1 + c1)) at Z1's level - 1, plaintext or encrypted coefficients."""
        ops = self.ops
        if coefficients is None:
            act = ops.masked(z1, self.c2 * hidden_mask)
            slope = ops.masked(z1, (2.0 * self.c2 * rate) * hidden_mask)
            if self.c1:
                act = ops.add_vector(act, self.c1 * hidden_mask)
                slope = ops.add_vector(slope, (self.c1 * rate) * hidden_mask)
            return act, slope
        c1, c2 = coefficients  # c at (j, 0): the masks (one level each, off the critical path) keep the chunk's samples
        act = ops.add(ops.product(z1, ops.masked(c2, hidden_mask)), ops.masked(c1, hidden_mask))
        slope = ops.add(ops.product(z1, ops.masked(c2, (2.0 * rate) * hidden_mask)), ops.masked(c1, rate * hidden_mask))
        return act, slope

    def _chunk_gradients(self, w1, b1, w2, w2_out, b2_out, x, y, count: int, rate: float,
                         coefficients: list | None = None) -> list:
        """The gradients of one chunk, not rescaled (summed over the chunks and segments first).

        With trained coefficients also r sum dA1 Z1 and r sum dA1 Z1^2 at every (j, 0) (dA1's partial sums
        are multiplied by masked factors, so both are clean).
        """
        lay, ops = self.layout, self.ops
        hidden_mask = lay.hidden_mask(count)
        z1 = ops.add(ops.product(x, w1, lay.run_sum_steps(lay.in_p)), b1)
        act, slope = self._activation(z1, coefficients, hidden_mask, rate)
        a1 = ops.product(z1, act, lay.spread_steps(lay.out_p))
        z2 = ops.product(a1, w2_out, lay.runs_sum_steps())
        err = self._error(z2, b2_out, y, count)
        da1 = ops.product(err, w2, lay.run_sum_steps(lay.out_p))
        dz1 = ops.product(da1, slope, rescale=False)
        dz1_runs = ops.rescale(ops.accumulate(dz1, lay.spread_steps(lay.in_p)))
        dw1 = ops.product(dz1_runs, x, rescale=False)
        dw2 = ops.product(err, ops.scalar(a1, rate), rescale=False)
        db2 = ops.masked(err, rate * lay.class_mask(), rescale=False)
        if coefficients is None:
            return [dw1, dz1, dw2, db2]
        z1_rated = ops.masked(z1, rate * hidden_mask)  # r Z1 at (j, 0), clean
        dc1 = ops.product(da1, z1_rated, rescale=False)
        dc2 = ops.product(da1, ops.product(z1, z1_rated), rescale=False)
        return [dw1, dz1, dw2, db2, dc1, dc2]

    def step(self, weights: list, batch: RowsBatch) -> list:
        """One SGD step on [W1, b1, W2, b2] (and [c1, c2]): the new weights, at one level (`rows_depth` below).

        Args:
            weights: four ciphertexts in the layout of `RowsLayout.pack_weights`, then with ``trainable``
                two in that of `RowsLayout.pack_coefficients`.
            batch: the client's upload.

        Returns:
            Four (six) ciphertexts.
        """
        from nn.encrypted.ops import ranges_checked_in_plaintext

        w1, b1, w2, b2 = weights[:4]
        coefficients = list(weights[4:]) if self.trainable else None
        ops, rate = self.ops, self.lr / batch.size
        with ranges_checked_in_plaintext(), ops.counting():  # counted by ckks.scheme.counting
            w2_out, b2_out = self._centred(w2, b2) if self.layout.loss == "softmax_ce" else (w2, b2)
            grads = None
            for x, y, count in zip(batch.inputs, batch.targets, batch.counts, strict=True):
                chunk = self._chunk_gradients(w1, b1, w2, w2_out, b2_out, x, y, count, rate, coefficients)
                grads = chunk if grads is None else [ops.ev.add(g, c) for g, c in zip(grads, chunk)]
            steps = self.layout.segments_sum_steps()
            # the coefficients' gradients are added over the runs too (the segment sum made them periodic, so the
            # rotations by w, 2w, .. are cyclic over the runs): the total lands at every (j, 0)
            runs = self.layout.runs_sum_steps()
            grads = [ops.rescale(ops.accumulate(ops.accumulate(g, steps), runs if i >= 4 else []))
                     for i, g in enumerate(grads)]
            new = [ops.subtract(w, g) for w, g in zip(weights, grads)]
        level = min(ct.level for ct in new)
        return [ops.ev.mod_switch_to(ct, level) for ct in new]
