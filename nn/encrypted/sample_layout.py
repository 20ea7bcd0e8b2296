"""Layout "sample": one sample per ciphertext, linear stages as BSGS diagonal matrix-vector products.

The n features of a sample sit in the first n of the S = N/2 slots::

    ciphertext of sample b:
    slot:   0     1     2    ...   n-1   n   ...  S-1
           x_0   x_1   x_2   ...  x_n-1  0   ...   0

A linear stage ``y = x M + b`` (M of shape (n, m), composed from Linear,
Conv2d, AvgPool2d and Flatten layers) is the slot map
``y = sum_k d_k * rot_k(x)`` over the generalized diagonals
``d_k[j] = M[j + k, j]`` (`ckks.circuits.linear_transform.vector_matrix_transform`),
evaluated baby-step giant-step: the baby rotations hoisted (one key-switch
decomposition of x), about 2 sqrt(#diagonals) rotations, one plaintext
multiplication per diagonal, one level.  Slots of x beyond n are never read, so
activations may leave garbage there (p(0) of a polynomial) at no cost, and the
result has zeros beyond m before the bias is added.

A convolution is such a map too: the server-side convolution on this layout
is the transform of its Toeplitz matrix, whose non-zero diagonals are
``k = (c - f) H W + di W + dj`` for input channel c, output channel f and
kernel offset (di, dj): at most (C + F - 1) k^2 of them, whatever the image
size.  A first convolution can instead read client-side im2col patches
(`nn.encrypted.convolution`), which need only C k^2 + F - 1 diagonals,
all multiples of the window count.  Pooling and strided layers do not keep the image's shape in this
flat layout (their diagonals grow with image area times channels): `nn.encrypted.multiplexed` keeps the
images packed instead (channels interleaved in the slots) and gives this layout its stages
(``slot_transform``, ``run_packed``).

**Several samples per ciphertext** (``copies`` = B, compile's ``interleave``): every stage is built for
S' = S / B slots and evaluated through the views of `ckks.circuits.interleave` (rotations by k B,
plaintext vectors repeated B times), so B samples interleaved in one ciphertext (feature i of sample j
at slot i B + j) each see the layout they would have alone on a ring of S' slots::

    slot:   0       1     ...  B-1       B      ...   i B + j   ...
          x_0[0]  x_1[0]  ... x_B-1[0]  x_0[1]  ...   x_j[i]    ...

The linear maps become M (x) I_B; polynomials, comparisons and bootstraps act slot by slot (a bootstrap
refreshes all S slots: sparse packing would replicate one sample's S' slots over the others).
"""

from __future__ import annotations

import numpy as np

from ckks.circuits.interleave import check_copies, deinterleave, interleave, physical_steps
from ckks.circuits.linear_transform import LinearTransform, vector_matrix_transform
from nn.encrypted import argmax
from nn.encrypted.approximation import APPROX_STAGES
from nn.encrypted.ops import Ops
from nn.encrypted.plan import AffineStage, PolyStage
from nn.encrypted.softargmax import SoftArgmaxStage


class SampleLayout:
    """The per-stage machinery of the one-sample-per-ciphertext layout.

    Args:
        stages: the plan's stages (`nn.encrypted.plan`).
        slots: N/2 of the chosen parameters.
        copies: samples per ciphertext, B (a power of two dividing ``slots``): each sample in the layout it
            would have alone on S' = N / 2B slots, interleaved (`ckks.circuits.interleave`: feature i of
            sample j at slot i B + j; rotations by k B; plaintext vectors repeated B times).  Every stage
            then runs on B samples for the price of one; a bootstrap must refresh all N/2 slots.
    """

    name = "sample"

    def __init__(self, stages: list, slots: int, copies: int = 1):
        self.stages = stages
        self.copies = check_copies(copies, slots)
        #: S', the slots of one sample (N/2 without interleaving)
        self.slots = slots // self.copies
        self.ring_slots = slots
        slots = self.slots
        #: an Argmax output: all its differences in one ciphertext, blocks of one slot (`nn.encrypted.argmax`)
        self.packing = argmax.sample_packing(stages[-1], slots) if isinstance(stages[-1], argmax.ArgmaxStage) else None
        self.transforms: list = []
        for st in stages:
            if hasattr(st, "slot_transform"):  # packed conv, pool and linear head (nn.encrypted.multiplexed)
                self.transforms.append(st.slot_transform(slots))
            elif isinstance(st, AffineStage):
                self.transforms.append(vector_matrix_transform(st.matrix, slots))
            elif isinstance(st, SoftArgmaxStage) and st.mode == "multi":
                c = st.classes
                a = np.zeros((c, c + 1))
                a[:, :] = 1.0
                b = np.zeros((c, c + 1))
                b[:, :c] = np.eye(c)
                b[:, c] = np.arange(c)
                self.transforms.append((vector_matrix_transform(a, slots), vector_matrix_transform(b, slots)))
            else:
                self.transforms.append(None)

    def ciphertexts_for(self, count: int) -> int:
        return -(-count // self.copies)

    def rotation_steps(self) -> list[int]:
        """The Galois-key steps of the plan (with interleaving, the ciphertext's steps (k mod S') B)."""
        steps = self._sample_steps()
        return steps if self.copies == 1 else physical_steps(steps, self.copies, self.ring_slots)

    def _sample_steps(self) -> list[int]:
        steps: set[int] = set()
        for t in self.transforms:
            for lt in (t if isinstance(t, tuple) else (t,)):
                if isinstance(lt, LinearTransform) or hasattr(lt, "rotation_steps"):
                    steps |= set(lt.rotation_steps)
        if self.packing is not None:
            steps |= set(self.packing.steps())
        for st in self.stages:
            if isinstance(st, APPROX_STAGES) and hasattr(st, "rotation_steps"):
                steps |= set(st.rotation_steps())
        return sorted(steps)

    def costs(self) -> list[dict]:
        """Per stage: rotations, their steps, ciphertext-ciphertext and ciphertext-plaintext products (per sample)."""
        rows = []
        for st, t in zip(self.stages, self.transforms):
            row = {"rotations": 0, "steps": [], "ct_ct": 0, "ct_pt": 0}
            if isinstance(st, AffineStage) or hasattr(st, "slot_transform"):
                row.update(rotations=t.rotations, steps=t.rotation_steps, ct_pt=t.plaintext_multiplications)
            elif isinstance(st, PolyStage):
                if st.mode in ("square", "monic2"):
                    row["ct_ct"] = 1
                else:
                    row.update(_poly_counts(st.coeffs, "power"))
            elif isinstance(st, argmax.ArgmaxStage):
                row.update(argmax.costs(st, self.packing))
            elif isinstance(st, APPROX_STAGES):
                row.update(st.costs("sample", 1))
            elif isinstance(st, SoftArgmaxStage):
                if st.mode == "binary":
                    row.update(_poly_counts(st.sigmoid_coeffs, "chebyshev"))
                else:
                    a, b = t
                    e = _poly_counts(st.exp_coeffs, "chebyshev")
                    i = _poly_counts(st.inv_coeffs, "chebyshev")
                    row.update(
                        rotations=a.rotations + b.rotations,
                        steps=sorted(set(a.rotation_steps) | set(b.rotation_steps)),
                        ct_ct=e["ct_ct"] + i["ct_ct"] + st.squarings + 2 * st.newton + 1,
                        ct_pt=e["ct_pt"] + i["ct_pt"] + a.plaintext_multiplications + b.plaintext_multiplications,
                    )
            rows.append(row)
        return rows

    def pack(self, features: np.ndarray) -> list[np.ndarray]:
        """(count, n) features -> one slot vector per ciphertext (B samples interleaved in each)."""
        if self.copies == 1:
            return [row for row in features]
        vectors = []
        for start in range(0, len(features), self.copies):
            rows = np.zeros((self.copies, features.shape[1]))
            chunk = features[start:start + self.copies]
            rows[: len(chunk)] = chunk
            vectors.append(interleave(rows, self.ring_slots))
        return vectors

    def unpack(self, decrypted: list[np.ndarray], count: int, outputs: int) -> np.ndarray:
        """Decrypted slot vectors -> (count, outputs)."""
        if self.copies == 1:
            return np.stack([v[:outputs] for v in decrypted])[:count]
        return np.concatenate([deinterleave(np.asarray(v), self.copies)[:, :outputs] for v in decrypted])[:count]

    def run_stage(self, ops: Ops, index: int, cts: list, refresh=None) -> list:
        """One stage on every sample ciphertext (new ciphertexts; the inputs are not modified).

        ``refresh(cts, k)``: the stage protocol's callback (`nn.encrypted.bootstrap.Executor`), passed to
        stages that can be cut (the arg-max, approximated stages' ``evaluate``).
        """
        if getattr(ops, "copies", 1) != self.copies:  # interleaved samples: the views of ckks.circuits.interleave
            ops = Ops(ops.context, self.copies)
        st, t = self.stages[index], self.transforms[index]
        if hasattr(st, "evaluate"):  # a stage that runs itself (nn.encrypted.approximation)
            return st.evaluate(ops, cts, refresh)
        out = []
        for ct in cts:
            if hasattr(st, "run_packed"):  # a multiplexed convolution or pooling (nn.encrypted.multiplexed)
                out.append(st.run_packed(ops, t, ct))
            elif isinstance(st, AffineStage):
                y = t.apply(ct, ops.ev, ops.enc, ops.rotator)
                out.append(ops.add_vector(y, st.bias))
            elif isinstance(st, PolyStage):
                out.append(ops.activation(ct, st))
            elif isinstance(st, argmax.ArgmaxStage):  # pads step to 1, empty slots to 0 (0 levels)
                padded = ops.add_vector(ct, argmax.pad_vector(self.packing))
                out.append(argmax.evaluate(ops, st, self.packing, [padded], refresh))
            else:
                out.append(_softargmax_sample(ops, st, t, ct))
        return out


def _softargmax_sample(ops: Ops, st: SoftArgmaxStage, transforms, ct):
    if st.mode == "binary":
        return ops.chebval(ct, st.sigmoid_coeffs)
    a, b = transforms
    c = st.classes
    e = ops.chebval(ct, st.exp_coeffs)
    for _ in range(st.squarings):
        e = ops.multiply(e, e)
    pre = ops.rotator, ops.ev, ops.enc
    offset = np.zeros(c + 1)
    offset[:] = st.offset
    y2 = ops.add_vector(a.apply(e, pre[1], pre[2], pre[0]), offset)  # S' + offset in slots 0..C, 0 elsewhere
    numerators = b.apply(e, pre[1], pre[2], pre[0])  # e_0 .. e_C-1, sum_i i e_i
    s = ops.add_constant(y2, -st.offset)
    v = ops.chebval(y2, st.inv_coeffs)
    for _ in range(st.newton):
        sv = ops.multiply(s, v)
        v = ops.multiply(v, ops.add_constant(ops.ev.negate(sv), 2.0))
    return ops.multiply(numerators, v)


def _poly_counts(coeffs, basis: str) -> dict:
    from ckks.circuits.polynomial import plan_polynomial

    plan = plan_polynomial(np.asarray(coeffs, dtype=np.float64), basis)
    return {"ct_ct": plan.products, "ct_pt": plan.scalar_multiplications}
