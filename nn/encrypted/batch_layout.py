"""Layout "batch": SIMD over the batch (CryptoNets), slot = sample, one ciphertext per feature.

Feature i of samples 0..B-1 sits in ciphertext i::

    ciphertext of feature i:
    slot:    0        1        2      ...   B-1      B  ...  S-1
           x_0[i]   x_1[i]   x_2[i]   ...  x_B-1[i]  0  ...   0

(more than S = N/2 samples: several groups of ciphertexts).  A linear stage
``y_j = sum_i M[i, j] x_i + b_j`` needs no rotation at all: each weight is
rounded to the integer round(M[i, j] q_l) and multiplied in exactly
(``multiply_integer``, no level), the sum is rescaled once by q_l, which
returns it to the input scale exactly, and the bias is a constant addition.
Zero weights (most of a convolution's Toeplitz matrix) are skipped, so a
convolution costs C k^2 scalar products per output pixel.  Activations and the
soft-argmax are slot-wise on every ciphertext; the soft-argmax's sums over the
classes are additions of ciphertexts (0 levels).  The cost is independent of
B up to S samples: the amortised time per image is the time of one run
divided by S.
"""

from __future__ import annotations

import numpy as np

from ckks.scheme.ciphertext import Ciphertext
from nn.encrypted import argmax
from nn.encrypted.approximation import APPROX_STAGES
from nn.encrypted.kernels import integer_weights, weighted_sums
from nn.encrypted.ops import Ops
from nn.encrypted.plan import AffineStage, PolyStage
from nn.encrypted.softargmax import SoftArgmaxStage


class BatchLayout:
    """The per-stage machinery of the batch layout.

    Args:
        stages: the plan's stages.
        slots: N/2 of the chosen parameters.
    """

    name = "batch"

    def __init__(self, stages: list, slots: int):
        self.stages = stages
        self.slots = slots
        self._weights: dict = {}
        #: an Argmax output packs its differences into blocks (`nn.encrypted.argmax`); samples come in chunks
        self.packing = argmax.batch_packing(stages[-1], slots) if isinstance(stages[-1], argmax.ArgmaxStage) else None
        self.chunk = self.packing.width if self.packing is not None else slots
        #: set when bootstraps use sparse packing (`nn.encrypted.bootstrap.sparse_slots`): the biases go to the
        #: first ``zero_tail`` slots only, so that every ciphertext keeps zeros beyond them
        self.zero_tail: int | None = None
        self.nonzero = [
            [np.flatnonzero(st.matrix[:, j]) for j in range(st.matrix.shape[1])] if isinstance(st, AffineStage)
            else None
            for st in stages
        ]

    def ciphertexts_for(self, count: int) -> int:
        features = self.stages[0].matrix.shape[0]
        return features * -(-count // self.chunk)

    def rotation_steps(self) -> list[int]:
        return self.packing.steps() if self.packing is not None else []

    def costs(self) -> list[dict]:
        """Per stage and per group of up to S samples: rotations (none), products."""
        rows = []
        width = self.stages[0].matrix.shape[0]
        for index, (st, nz) in enumerate(zip(self.stages, self.nonzero)):
            row = {"rotations": 0, "steps": [], "ct_ct": 0, "ct_pt": 0}
            if self.packing is not None and index >= len(self.stages) - 2:
                row.update(argmax.costs(st, self.packing))
            elif isinstance(st, AffineStage):
                row["ct_pt"] = int(sum(len(x) for x in nz))
                width = st.matrix.shape[1]
            elif isinstance(st, PolyStage):
                row["ct_ct"] = width * (1 if st.mode in ("square", "monic2") else max(1, len(st.coeffs) - 1))
            elif isinstance(st, APPROX_STAGES):
                row.update(st.costs("batch", width))
                width = st.out_width(width)
            elif isinstance(st, SoftArgmaxStage):
                c = st.classes
                if st.mode == "binary":
                    from nn.encrypted.sample_layout import _poly_counts

                    row.update(_poly_counts(st.sigmoid_coeffs, "chebyshev"))
                else:
                    row["ct_ct"] = c * (len(st.exp_coeffs) + st.squarings) + len(st.inv_coeffs) + 2 * st.newton + c + 1
                width = st.outputs
            rows.append(row)
        return rows

    def pack(self, features: np.ndarray) -> list[np.ndarray]:
        """(count, n) features -> per group of S samples, one slot vector per feature."""
        if self.packing is not None:
            return argmax.tile(features, self.packing)
        out = []
        for start in range(0, features.shape[0], self.slots):
            block = features[start : start + self.slots]
            out.extend(block[:, i] for i in range(features.shape[1]))
        return out

    def unpack(self, decrypted: list[np.ndarray], count: int, outputs: int) -> np.ndarray:
        if self.packing is not None:
            chunks = -(-count // self.chunk)
            if len(decrypted) == chunks and outputs == self.packing.classes:
                return argmax.untile(decrypted, count, self.packing)  # the packed one-hot outputs
            if len(decrypted) == chunks * self.packing.count and outputs == self.stages[-1].columns():
                return argmax.untile_differences(decrypted, count, self.packing)  # the packed differences (trace)
        groups = len(decrypted) // outputs
        blocks = []
        for g in range(groups):
            cols = decrypted[g * outputs : (g + 1) * outputs]
            rows = min(self.chunk, count - g * self.chunk)
            blocks.append(np.stack([c[:rows] for c in cols], axis=1))
        return np.concatenate(blocks, axis=0)

    def run_stage(self, ops: Ops, index: int, cts: list, refresh=None) -> list:
        """One stage on every group of feature ciphertexts (new ciphertexts; inputs untouched).

        ``refresh(cts, k)``: the stage protocol's callback (`nn.encrypted.bootstrap.Executor`), passed to
        stages that can be cut (the arg-max, approximated stages' ``evaluate``).
        """
        st = self.stages[index]
        if self.packing is not None and index >= len(self.stages) - 2:
            return self._run_argmax(ops, index, cts, refresh)
        width = _width_in(self.stages, index)
        groups = len(cts) // width
        out = []
        for g in range(groups):
            xs = cts[g * width : (g + 1) * width]
            if isinstance(st, AffineStage):
                out.extend(self._affine(ops, index, xs))
            elif isinstance(st, PolyStage):
                out.extend(ops.activation(x, st) for x in xs)
            elif hasattr(st, "evaluate"):  # a stage that runs itself (nn.encrypted.approximation)
                out.extend(st.evaluate(ops, xs, refresh))
            else:
                out.extend(_softargmax_batch(ops, st, xs))
        return out


    def _run_argmax(self, ops: Ops, index: int, cts: list, refresh=None) -> list:
        """The packed differences (the linear stage before Argmax) or the arg-max itself, per chunk."""
        st = self.stages[index]
        last = index == len(self.stages) - 1
        width = self.packing.count if last else _width_in(self.stages, index)
        out = []
        for g in range(len(cts) // width):
            xs = cts[g * width : (g + 1) * width]
            if last:
                out.append(argmax.evaluate(ops, st, self.packing, xs, refresh))
            else:
                out.extend(argmax.packed_differences(ops, st.matrix, st.bias, self.packing, xs))
        return out

    def _affine(self, ops: Ops, index: int, xs: list) -> list:
        """y_j = sum_i M[i, j] x_i + b_j for every j: one fused kernel, one rescale per output.

        Level l -> l - 1, scale s kept exactly (weights scaled by q_l, rescaled by q_l).
        """
        st = self.stages[index]
        level = min(x.level for x in xs)
        xs = [x if x.level == level else ops.ev.mod_switch_to(x, level) for x in xs]
        key = (index, level)
        cached = self._weights.get(key)
        if cached is None:
            q = ops.params.data_moduli[level]
            nz = self.nonzero[index]
            pointers = np.zeros(len(nz) + 1, dtype=np.int64)
            pointers[1:] = np.cumsum([len(v) for v in nz])
            indices = np.concatenate(nz).astype(np.int64) if pointers[-1] else np.zeros(0, dtype=np.int64)
            values = np.concatenate([st.matrix[v, j] for j, v in enumerate(nz)]) if pointers[-1] else np.zeros(0)
            moduli = list(ops.params.data_moduli[: level + 1])
            w, sh = integer_weights(values, q, moduli)
            cached = (pointers, indices, w, sh, np.array(moduli, dtype=np.uint64), q)
            self._weights[key] = cached
        pointers, indices, w, sh, moduli, q = cached
        data = np.stack([x.data for x in xs])
        out = np.empty((len(pointers) - 1, *data.shape[1:]), dtype=np.uint64)
        weighted_sums(data, pointers, indices, w, sh, moduli, out)
        first = xs[0]
        results = []
        for j in range(out.shape[0]):
            y = ops.ev.rescale(Ciphertext(first.params, out[j], first.scale * q, first.key_id))
            y = y.with_scale(first.scale)  # s q / q exactly
            bias = float(st.bias[j])
            results.append(ops.add_constant(y, bias) if self.zero_tail is None or bias == 0
                           else ops.add_vector(y, np.full(self.zero_tail, bias)))
        return results


def _width_in(stages: list, index: int) -> int:
    """Ciphertexts per group entering stage ``index``."""
    width = stages[0].matrix.shape[0]
    for st in stages[:index]:
        if isinstance(st, AffineStage):
            width = st.matrix.shape[1]
        elif isinstance(st, SoftArgmaxStage):
            width = st.outputs
        elif isinstance(st, APPROX_STAGES):
            width = st.out_width(width)
    return width


def _softargmax_batch(ops: Ops, st: SoftArgmaxStage, ys: list) -> list:
    if st.mode == "binary":  # ys = (-d, d, d): one series, p_0 = 1 - p_1 (sigmoid(-x) = 1 - sigmoid(x), 0 levels)
        p1 = ops.chebval(ys[1], st.sigmoid_coeffs)
        return [ops.add_constant(ops.ev.negate(p1), 1.0), p1, p1]
    es = []
    for y in ys:
        e = ops.chebval(y, st.exp_coeffs)
        for _ in range(st.squarings):
            e = ops.multiply(e, e)
        es.append(e)
    s = es[0]
    numerator = None
    for i, e in enumerate(es):
        if i:
            s = ops.ev.add(s, e)
            term = ops.ev.multiply_integer(e, i)
            numerator = term if numerator is None else ops.ev.add(numerator, term)
    v = ops.chebval(ops.add_constant(s, st.offset), st.inv_coeffs)
    for _ in range(st.newton):
        sv = ops.multiply(s, v)
        v = ops.multiply(v, ops.add_constant(ops.ev.negate(sv), 2.0))
    return [ops.multiply(e, v) for e in es] + [ops.multiply(numerator, v)]
