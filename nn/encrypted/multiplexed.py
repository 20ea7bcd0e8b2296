"""Multiplexed convolution packing for the one-sample layout (channels interleaved in the slots).

The dense path (`nn.encrypted.sample_layout`) turns every run of affine layers into one matrix
on the flattened image and evaluates its generalized diagonals.  A stride-1 convolution has few
of them, but a pooling or strided layer does not keep the image's shape in the flat layout: its
diagonals grow with image area times channels, and the CIFAR-shaped network (3x32x32,
Conv 3->16, x^2, AvgPool, Conv 16->16, x^2, AvgPool, Linear 1024->10) never finishes compiling.

This module keeps every spatial tensor *packed*: a `Layout` says which slot holds value
(c, i, j), and no layer ever compacts the image.

**Layout** (Lee et al., ICML 2022, "Low-complexity deep convolutional neural networks on FHE
using multiplexed parallel convolutions": gap and multiplexed packing; Ebel et al., ASPLOS 2025,
Orion: single-shot multiplexing).  The input image C x H x W is encrypted channel-major on a
*canvas* of Hc x Wc = H x W slots per channel block (T = Hc Wc)::

    slot(c, i, j) = base[c] + g i Wc + g j

with the gap g = 1 and base[c] = c T.  A layer of stride s multiplies the gap by s: the value
(c, i, j) of its output sits where the window of its top-left input pixel sat, so the canvas never
shrinks and no rotation is spent on compaction.  The free slots of the gap are then filled by
other channels (*multiplexed*): with gap g, g^2 channels share a block::

    base[c] = (c // g^2) T + ((c mod g^2) // g) Wc + (c mod g)

    gap 2, canvas 4 x 4, 8 channels of 2 x 2 (slot = block * 16 + row * 4 + col):
      block 0                       block 1
      c0(0,0) c1(0,0) c0(0,1) c1(0,1)   c4(0,0) c5(0,0) ...
      c2(0,0) c3(0,0) c2(0,1) c3(0,1)   c6(0,0) c7(0,0) ...
      c0(1,0) c1(1,0) c0(1,1) c1(1,1)   ...
      c2(1,0) c3(1,0) c2(1,1) c3(1,1)

The compiler picks, for every convolution output, the arrangement of channel bases ("blocks":
base[f] = f T, or "multiplexed" as above) with the least work: diagonals times the slot count it needs;
`Layout.diagram` prints the result.

**Convolution** (one level).  Output f at (i, j) of a k x k convolution with stride s and padding p
reads input (c, s i + di - p, s j + dj - p).  With out-gap = s x in-gap the slot difference

    slot_in - slot_out = base_in[c] - base_out[f] + g ((di - p) Wc + (dj - p))

does not depend on (i, j): the convolution is the linear map of the slots with one generalized
diagonal per distinct value, at most |{base_in[c] - base_out[f]}| x k^2 of them, each the
kernel weights placed at the output slots whose window is inside the image (zero-padding is a
zero in the diagonal).  It is evaluated baby-step giant-step (`ckks.circuits.linear_transform`):
about 2 sqrt(k^2 B) rotations and k^2 B plaintext products for B channel-base differences,
whatever the image size.  Strided outputs come out multiplexed in the same single product
(Orion's single-shot multiplexing); slots outside the output layout are exactly zero.

**Average pooling** (no level): ``sum_{a,b < k} rot(x, g (a Wc + b))`` (k^2 - 1 hoisted rotations)
leaves the window sums at the window's top-left slot; the new gap is g s.  The 1/k^2 is folded into
the next layer's weights, and slots outside the layout hold partial sums nobody reads.  A pooling
followed only by Flatten/Linear is folded into that linear head instead (no rotation at all).

**Linear head** (one level).  The first Linear reads the packed layout by permuting its weight
matrix at compile time (rows at the layout's slots, zero elsewhere) and is evaluated by the
hybrid method (Juvekar et al., GAZELLE, USENIX Security 2018): with m' = 2^ceil(log2 m),
``z = sum_{r < m'} D_r * rot_r(x)`` with ``D_r[t] = A[t + r, t mod m']`` (m' diagonals), then
``y = sum_t rot(z, m' 2^t)`` (log2(S / m') rotations).  Slot t holds y[t mod m']: the outputs
are in the first m slots (and repeated every m' slots), as the dense path's next stages read them.
When the head's outputs are decrypted with flooding (or compared by an Argmax), the noise of every
slot would count: the head is then the plain diagonal transform of the permuted matrix when its
diagonals are few ("clean"), else the hybrid followed by a 0/1 mask (one more level, "masked").
The head's cost does not depend on its rows, so convolutions and poolings of the same affine run join
it when the composed matrix is small, as does a run of convolutions alone with a tiny output (a
convolution as large as its image is a Linear); the stages after the head are the dense path's.

**Scalars.**  A quadratic activation ``a x^2 + b x + c`` is folded as in `nn.encrypted.plan`:
the slots hold ``u = x (x + b / a)`` and the next linear layer multiplies its weights by a and adds
c times the sum of its (in-image) weights to its bias, position by position.

**Cost model** (`Decision`): per stage, rotations + plaintext products (BSGS on the offsets) and
the bytes of its diagonals; for the dense path the diagonals of the same layers on the flat
layout.  ``compile(conv_packing="auto")`` takes the multiplexed plan when it is cheaper or the
dense plan does not fit ``memory_limit``; "dense" and "multiplexed" force one.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from ckks.circuits.linear_transform import LinearTransform, vector_matrix_transform
from ckks.errors import PrecisionWarning
from ckks.scheme.ciphertext import Ciphertext
from nn.activations import Argmax, PolyActivation, SoftArgmax, Square
from nn.encrypted.plan import AffineStage, PolyStage, _affine_of, _fold, _poly_coeffs, check_he_friendly
from nn.encrypted.plan import layer_name as _name
from nn.errors import ConfigError, ShapeError
from nn.layers import AvgPool2d, Conv2d, Flatten, Layer, Linear, im2col
from nn.model import Sequential

PACKINGS = ("auto", "dense", "multiplexed")
#: Largest slot count of one ciphertext (N = 2^16).
MAX_SLOTS = 1 << 15
#: Relative cost of one plaintext product (with its share of the rescale) against one rotation, measured at
#: N = 2^14 on the MNIST tutorial network's single-image profile: about 1 ms per product against 4.6 ms per
#: rotation.  The compiler's sample/batch layout choice uses 0.02: there the rotations dominate either way.
PT_COST = 0.2
#: ``conv_packing="auto"`` takes the multiplexed plan over a dense one that fits only when it is this many times
#: cheaper: the dense side of the cost model counts each layer's diagonals on its own, while the dense plan
#: composes a run of layers into one matrix (sometimes fewer diagonals than the sum).
AUTO_MARGIN = 2.0
#: Largest composed matrix (entries) of convolutions/poolings folded into the linear head (`_joins_head`).
HEAD_ENTRIES = 1 << 22
#: Largest output of a run of convolutions/poolings alone that becomes a linear head (`_joins_head`).
HEAD_OUTPUTS = 64
#: A final linear head is evaluated cleanly (zeros beyond its outputs) when its diagonals take at most this.
CLEAN_HEAD_BYTES = 128 << 20


class NotMultiplexable(ConfigError):
    """The model has no multiplexed plan (the message says why); ``conv_packing="auto"`` then uses the dense one."""


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


# -- layouts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Where value (c, i, j) of a C x H x W tensor sits: ``slot = bases[c] + gap (i Wc + j)``.

    Attributes:
        channels, height, width: the tensor's shape.
        gap: the distance between neighbouring pixels of one channel, in canvas pixels.
        canvas: (Hc, Wc), the canvas of one channel block (T = Hc Wc slots).
        bases: the slot of (c, 0, 0) for every channel.
    """

    channels: int
    height: int
    width: int
    gap: int
    canvas: tuple[int, int]
    bases: tuple[int, ...]

    @classmethod
    def image(cls, channels: int, height: int, width: int) -> Layout:
        """The input layout: channel-major, gap 1 (``slot = c H W + i W + j``, as the client encrypts)."""
        return cls(channels, height, width, 1, (height, width), tuple(c * height * width for c in range(channels)))

    @property
    def block(self) -> int:
        """T = Hc Wc, the slots of one channel block."""
        return self.canvas[0] * self.canvas[1]

    def positions(self) -> np.ndarray:
        """(C, H, W) array of slot indices."""
        g, wc = self.gap, self.canvas[1]
        rows = np.arange(self.height, dtype=np.int64)[:, None] * (g * wc)
        cols = np.arange(self.width, dtype=np.int64)[None, :] * g
        return np.asarray(self.bases, dtype=np.int64)[:, None, None] + rows + cols

    @property
    def span(self) -> int:
        """Slots from 0 to the last one used, inclusive."""
        return int(max(self.bases)) + self.gap * ((self.height - 1) * self.canvas[1] + self.width - 1) + 1

    def fits(self) -> bool:
        """Every channel stays inside its canvas block and no two values share a slot."""
        hc, wc = self.canvas
        for b in self.bases:
            r, col = (b % self.block) // wc, b % wc
            if r + self.gap * (self.height - 1) >= hc or col + self.gap * (self.width - 1) >= wc:
                return False
        pos = self.positions().ravel()
        return np.unique(pos).size == pos.size

    def strided(self, stride: int, channels: int, height: int, width: int, arrangement: str) -> Layout:
        """The layout of a stride-``stride`` output: gap x stride, same canvas, channel bases by ``arrangement``.

        ``"blocks"``: base[f] = f T; ``"multiplexed"``: g'^2 channels per block (module docstring);
        ``"same"``: the input's bases (a pooling keeps every channel where it is).
        """
        g = self.gap * stride
        if arrangement == "same":
            bases = self.bases
        elif arrangement == "blocks":
            bases = tuple(f * self.block for f in range(channels))
        else:
            wc = self.canvas[1]
            bases = tuple((f // (g * g)) * self.block + ((f % (g * g)) // g) * wc + f % g for f in range(channels))
        return Layout(channels, height, width, g, self.canvas, bases)

    def pack(self, x: np.ndarray, width: int) -> np.ndarray:
        """(n, C, H, W) tensors -> (n, width) slot vectors (zeros outside the layout)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros((x.shape[0], width))
        out[:, self.positions().ravel()] = x.reshape(x.shape[0], -1)
        return out

    def unpack(self, v: np.ndarray) -> np.ndarray:
        """(n, >= span) slot vectors -> (n, C, H, W) tensors."""
        v = np.asarray(v)
        return v[:, self.positions().ravel()].reshape(v.shape[0], self.channels, self.height, self.width)

    def describe(self) -> str:
        kind = "channel-major" if self.gap == 1 else f"gap {self.gap}"
        mux = max(1, sum(1 for b in self.bases if b < self.block))
        return f"{self.channels}x{self.height}x{self.width}, {kind}, {mux} channel(s) per {self.block}-slot block"

    def diagram(self, rows: int | None = None, cols: int | None = None) -> str:
        """A text picture of the first canvas block: ``c(i,j)`` per slot, ``.`` for an unused slot."""
        hc, wc = self.canvas
        rows, cols = min(hc, rows or hc), min(wc, cols or wc)
        cells = [["." for _ in range(cols)] for _ in range(rows)]
        pos = self.positions()
        for c in range(self.channels):
            for i in range(self.height):
                for j in range(self.width):
                    p = int(pos[c, i, j])
                    if p < self.block and p // wc < rows and p % wc < cols:
                        cells[p // wc][p % wc] = f"c{c}({i},{j})"
        size = max(len(x) for row in cells for x in row)
        return "\n".join(" ".join(x.rjust(size) for x in row) for row in cells)


# -- slot transforms -------------------------------------------------------------------------------------


def bsgs_counts(offsets, slots: int | None = None) -> tuple[int, int]:
    """(rotations, plaintext products) of the BSGS transform with these diagonal offsets, without building it.

    With ``slots``, offsets equal modulo the slot count are one diagonal (the rotations are cyclic).
    """
    offsets = sorted({int(k) for k in offsets})
    if slots:
        merged: dict[int, int] = {}
        for k in offsets:
            merged.setdefault(k % slots, k if abs(k) < slots else k % slots)
        offsets = sorted(set(merged.values()))
    nonzero = [k for k in offsets if k]
    shell = SimpleNamespace(diagonals=dict.fromkeys(offsets), stride=math.gcd(*nonzero) if nonzero else 1,
                            method="bsgs")
    plan = LinearTransform._make_plan(shell, None)
    babies = {b for pairs in plan.values() for b, _ in pairs if b}
    return len(babies) + len([g for g in plan if g]), len(offsets)


class RotationSum:
    """``y = sum_o rot_o(x)`` over fixed offsets: hoisted rotations and additions, no level, scale kept."""

    def __init__(self, offsets: list[int]):
        self.offsets = sorted(set(int(o) for o in offsets))
        self.rotation_steps = [o for o in self.offsets if o]
        self.rotations = len(self.rotation_steps)
        self.plaintext_multiplications = 0

    def apply(self, ct: Ciphertext, evaluator, encoder, rotator) -> Ciphertext:
        rotated = rotator.rotate_many(ct, self.rotation_steps) if self.rotation_steps else {}
        rotated[0] = ct
        total = None
        for o in self.offsets:
            total = rotated[o] if total is None else evaluator.add(total, rotated[o])
        return total


class ReplicatingProduct:
    """``y = x A`` for x packed anywhere in the slots and A of shape (rows, m): the hybrid method.

    m' = 2^ceil(log2 m) diagonals ``D_r[t] = A[t + r, t mod m']`` (BSGS, one level), then a
    rotate-and-sum by m', 2 m', ..., S/2: slot t of the result holds y[t mod m'] (0 for
    t mod m' >= m), so y is in the first m slots and repeats every m' slots (module docstring).

    Raises:
        ConfigError: more rows or outputs than slots.
    """

    def __init__(self, matrix: np.ndarray, slots: int, mask: bool = False):
        rows, m = matrix.shape
        self.outputs, self.mask = m, mask
        width = _next_pow2(m)
        if rows > slots or width > slots:
            raise ConfigError(f"a {rows}x{m} packed linear layer does not fit in {slots} slots")
        a = np.zeros((slots, width))
        a[:rows, :m] = matrix
        t = np.arange(slots)
        diagonals = {}
        for r in range(width):
            d = a[(t + r) % slots, t % width]
            if np.any(d):
                diagonals[r] = d
        self.transform = LinearTransform(diagonals, slots)
        self.sum_steps = [width << e for e in range(int(math.log2(slots // width)))]
        self.rotation_steps = sorted(set(self.transform.rotation_steps) | set(self.sum_steps))
        self.rotations = self.transform.rotations + len(self.sum_steps)
        self.plaintext_multiplications = self.transform.plaintext_multiplications + int(mask)
        self.gain = float(np.max(np.abs(a).sum(axis=0))) if a.size else 0.0

    def apply(self, ct: Ciphertext, evaluator, encoder, rotator) -> Ciphertext:
        """x A at level l - 1 and scale s^2 / q_l; the sum's rotations run before the rescale (less noise)."""
        z = self.transform.apply(ct, evaluator, encoder, rotator, rescale=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrecisionWarning)  # partial sums: bounded below, not term by term
            for step in self.sum_steps:
                z = evaluator.add(z, rotator.rotate(z, step))
        if ct.bound is not None and z.bound is not None and z.bound > ct.bound * self.gain:
            z = Ciphertext(z.params, z.data, z.scale, z.key_id, None, ct.bound * self.gain, z.noise, False)
        y = evaluator.rescale(z)
        if not self.mask:
            return y
        # 1 in the first m slots, 0 elsewhere, encoded at the scale q of the prime the rescale drops: the
        # product is rescaled back to y's scale exactly (one more level; only the outputs' noise is left)
        q = float(evaluator.params.data_moduli[y.level])
        ones = np.zeros(encoder.params.slots)
        ones[: self.outputs] = 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrecisionWarning)
            masked = evaluator.rescale(evaluator.multiply_plain(y, encoder.encode(ones, q, y.level)))
        return masked.with_scale(y.scale)


# -- stages ----------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class _PackedStage:
    """What the packed stages share: layouts, the plaintext plan's slot-vector width, names and notes.

    Attributes:
        in_layout, out_layout: the packed layouts.
        width: length of the slot vectors of the plaintext plan (>= every layout's span).
        layers, folded: names and notes, as `nn.encrypted.plan.AffineStage`.
        dense_diagonals: the same layer's diagonals on the flat layout (the cost model's dense side).
    """

    in_layout: Layout
    out_layout: Layout
    width: int = 0
    layers: list[str] = field(default_factory=list)
    folded: list[str] = field(default_factory=list)
    dense_diagonals: int = 0

    im2col = None

    def _padded(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.pad(x, ((0, 0), (0, self.width - x.shape[1]))) if x.shape[1] < self.width else x


@dataclass(kw_only=True)
class ConvStage(_PackedStage):
    """A convolution between two packed layouts (one level; module docstring).

    Attributes:
        weight: (F, C, k, k) kernel, folded scalars included (what multiplies the input slots).
        bias: (F, OH, OW) bias per output position (folded constants make it position-dependent).
        stride, padding: of the layer.
    """

    weight: np.ndarray
    bias: np.ndarray
    stride: int
    padding: int

    kind = "conv"

    @property
    def levels(self) -> int:
        return 1

    def _taps(self):
        """Per kernel offset (di, dj): the output rows and columns whose input pixel is inside the image."""
        k, s, p = self.weight.shape[2], self.stride, self.padding
        lin, lout = self.in_layout, self.out_layout
        oi, oj = np.arange(lout.height), np.arange(lout.width)
        for di in range(k):
            ri = s * oi + di - p
            for dj in range(k):
                rj = s * oj + dj - p
                yield di, dj, (ri >= 0) & (ri < lin.height), (rj >= 0) & (rj < lin.width)

    def offset_array(self) -> np.ndarray:
        """(F, C, k, k): the diagonal index ``slot_in - slot_out`` of every weight."""
        lin, lout = self.in_layout, self.out_layout
        k, p, g, wc = self.weight.shape[2], self.padding, lin.gap, lin.canvas[1]
        d = np.arange(k) - p
        taps = g * (d[:, None] * wc + d[None, :])
        base = np.asarray(lin.bases, dtype=np.int64)[None, :] - np.asarray(lout.bases, dtype=np.int64)[:, None]
        return base[:, :, None, None] + taps[None, None]

    def offsets(self) -> list[int]:
        """The distinct diagonals of non-zero weights."""
        off = self.offset_array()
        return sorted(set(off[self.weight != 0].tolist()))

    def counts(self, slots: int | None = None) -> tuple[int, int]:
        """(rotations, plaintext products) of this stage (on ``slots`` slots: offsets merged modulo it)."""
        return bsgs_counts(self.offsets(), slots)

    def diagonals(self, slots: int) -> dict[int, np.ndarray]:
        """{offset: diagonal of length ``slots``}: the kernel weights at the output slots."""
        off = self.offset_array()
        keys, inverse = np.unique(off, return_inverse=True)
        inverse = inverse.reshape(off.shape)
        diags = np.zeros((keys.size, slots))
        pos = self.out_layout.positions()
        for di, dj, mi, mj in self._taps():
            slots_f = pos[:, mi][:, :, mj].reshape(pos.shape[0], -1)  # (F, valid outputs)
            if slots_f.shape[1] == 0:
                continue
            rows = inverse[:, :, di, dj]  # (F, C)
            values = self.weight[:, :, di, dj]
            nz = values != 0
            f_idx, c_idx = np.nonzero(nz)
            np.add.at(diags, (rows[f_idx, c_idx][:, None], slots_f[f_idx]), values[f_idx, c_idx][:, None])
        return {int(k): diags[i] for i, k in enumerate(keys) if np.any(diags[i])}

    def slot_transform(self, slots: int) -> LinearTransform:
        """The BSGS transform on ``slots`` slots (what `nn.encrypted.sample_layout` evaluates)."""
        return LinearTransform(self.diagonals(slots), slots)

    def bias_slots(self, slots: int) -> np.ndarray:
        return self.out_layout.pack(self.bias[None], slots)[0]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Plaintext plan: (n, <= width) slot vectors -> (n, width) slot vectors (zero outside the output layout)."""
        x = self._padded(x)
        out = np.zeros((x.shape[0], self.width))
        pos = self.out_layout.positions().ravel()
        f, k = self.weight.shape[0], self.weight.shape[2]
        w2 = self.weight.reshape(f, -1)
        for start in range(0, x.shape[0], 32):  # bounded im2col memory
            t = self.in_layout.unpack(x[start:start + 32])
            cols = im2col(t, k, k, self.stride, self.padding)
            n, oh, ow = cols.shape[0], cols.shape[-2], cols.shape[-1]
            y = np.matmul(w2, cols.reshape(n, -1, oh * ow)).reshape(n, f, oh, ow) + self.bias[None]
            out[start:start + n, pos] = y.reshape(n, -1)
        return out

    def run_packed(self, ops, transform, ct: Ciphertext) -> Ciphertext:
        """The convolution on one ciphertext: level l -> l - 1 (``transform`` from `slot_transform`)."""
        return ops.add_vector(transform.apply(ct, ops.ev, ops.enc, ops.rotator), self.bias_slots(ops.params.slots))

    def describe(self, slots: int | None = None) -> str:
        rot, pt = self.counts(slots or self.width)
        taps = self.weight.shape[2] ** 2
        return (f"multiplexed: {rot} rotations + {pt} plaintext products ({taps} kernel offsets x "
                f"{max(1, pt // taps)} channel blocks) vs dense: {self.dense_diagonals:,} diagonals; "
                f"out {self.out_layout.describe()}")


@dataclass(kw_only=True)
class PoolStage(_PackedStage):
    """Average pooling as a rotation sum (no level; the 1/k^2 is folded into the next stage).

    The output layout keeps the input's channel bases, its gap times the stride.  Slots outside it hold
    partial sums that no later stage reads; the plaintext plan computes them cyclically on ``width``
    slots, as the ciphertext does when N/2 = width (with more slots they differ near the end).

    Attributes:
        kernel, stride: of the layer.
    """

    kernel: int
    stride: int

    kind = "pool"
    bias = None

    @property
    def levels(self) -> int:
        return 0

    def offsets(self) -> list[int]:
        g, wc = self.in_layout.gap, self.in_layout.canvas[1]
        return [g * (a * wc + b) for a in range(self.kernel) for b in range(self.kernel)]

    def counts(self, slots: int | None = None) -> tuple[int, int]:
        return len([o for o in self.offsets() if o]), 0

    def slot_transform(self, slots: int) -> RotationSum:
        """The rotation sum (what `nn.encrypted.sample_layout` evaluates)."""
        return RotationSum(self.offsets())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Plaintext plan: the window sums at the window corners; other slots as the rotations leave them."""
        x = self._padded(x)
        return sum(np.roll(x, -o, axis=1) for o in self.offsets())

    def run_packed(self, ops, transform, ct: Ciphertext) -> Ciphertext:
        """The window sums on one ciphertext: no level, scale kept."""
        return transform.apply(ct, ops.ev, ops.enc, ops.rotator)

    def describe(self, slots: int | None = None) -> str:
        rot, _ = self.counts()
        return (f"multiplexed: {rot} rotations, no level vs dense: {self.dense_diagonals:,} diagonals; "
                f"out {self.out_layout.describe()}")


@dataclass
class PackedAffineStage(AffineStage):
    """The linear head: an `AffineStage` whose matrix rows are slots of a packed layout.

    ``matrix`` has one row per slot of the plaintext plan's vectors (zero rows outside the layout):
    the weights of Flatten/Linear (and foldable pooling) permuted at compile time.  The sample
    layout evaluates it by `ReplicatingProduct` (outputs repeated over all the slots), or, when it is
    the plan's last linear stage (``final``) and its generalized diagonals ``slot - output`` are few
    (`CLEAN_HEAD_BYTES`), or an Argmax needs zeros beyond the outputs (``needs_zeros``), as the dense
    path's diagonal transform on the permuted matrix: outputs in the first m slots, zeros elsewhere,
    so only their noise reaches the decryption (and its flooding bound).
    """

    in_layout: Layout | None = None
    dense_diagonals: int = 0
    final: bool = False
    needs_zeros: bool = False
    flooding: bool = True

    def clean_offsets(self) -> np.ndarray:
        """The diagonals ``slot - output`` of the non-zero weights (the clean transform's plaintexts)."""
        rows, cols = np.nonzero(self.matrix)
        return np.unique(rows - cols)

    @property
    def mode(self) -> str:
        """"clean" (diagonal transform, zeros beyond the outputs), "masked" (hybrid, then a mask: one more
        level) or "replicated" (hybrid: outputs repeated over the slots).

        A head whose outputs are decrypted (``final``, with flooding) or compared (``needs_zeros``) must
        leave only the outputs' noise: clean when its diagonals take at most `CLEAN_HEAD_BYTES`, else masked.
        """
        if not (self.needs_zeros or (self.final and self.flooding)):
            return "replicated"
        return "clean" if self.clean_offsets().size * self.matrix.shape[0] * 16 <= CLEAN_HEAD_BYTES else "masked"

    @property
    def levels(self) -> int:
        return 2 if self.mode == "masked" else 1

    def segments(self) -> list[tuple[str, int]]:
        """One piece (the stage protocol of `nn.encrypted.bootstrap`)."""
        return [("linear", self.levels)]

    def counts(self, slots: int | None = None) -> tuple[int, int]:
        """(rotations, plaintext products) of this stage on ``slots`` slots."""
        mode = self.mode
        if mode == "clean":
            return bsgs_counts(self.clean_offsets(), slots)
        width = _next_pow2(self.matrix.shape[1])
        rot, pt = bsgs_counts(range(width))
        return rot + int(math.log2(max(1, (slots or self.matrix.shape[0]) // width))), pt + int(mode == "masked")

    def slot_transform(self, slots: int):
        """The transform on ``slots`` slots (what `nn.encrypted.sample_layout` evaluates)."""
        mode = self.mode
        if mode == "clean":
            return vector_matrix_transform(self.matrix, slots)
        return ReplicatingProduct(self.matrix, slots, mask=mode == "masked")

    def describe(self, slots: int | None = None) -> str:
        rot, pt = self.counts(slots)
        how = {"clean": "outputs in the first slots, zeros beyond",
               "masked": "hybrid, then a mask: one more level, zeros beyond the outputs",
               "replicated": "hybrid, outputs repeated over the slots"}[self.mode]
        return (f"multiplexed: {rot} rotations + {pt} plaintext products (weights permuted to the packed layout; "
                f"{how}) vs dense: {self.dense_diagonals:,} diagonals")


# -- the plan --------------------------------------------------------------------------------------------


def _dense_diagonals(layer: Layer, shape: tuple[int, ...]) -> int:
    """Diagonals of one conv/pool layer on the flat channel-major layout (distinct slot_in - slot_out)."""
    c, h, w = shape
    if isinstance(layer, Conv2d):
        f, k, s, p = layer.out_channels, layer.kernel_size, layer.stride, layer.padding
    else:
        f, k, s, p = c, layer.kernel_size, layer.stride, 0
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    oi, oj = np.arange(oh), np.arange(ow)
    spatial = set()
    for di in range(k):
        ri = s * oi + di - p
        ri = ri[(ri >= 0) & (ri < h)]
        oi_ok = oi[(s * oi + di - p >= 0) & (s * oi + di - p < h)]
        for dj in range(k):
            rj = s * oj + dj - p
            oj_ok = oj[(rj >= 0) & (rj < w)]
            rj = rj[(rj >= 0) & (rj < w)]
            diff = (ri[:, None] * w + rj[None, :]) - (oi_ok[:, None] * ow + oj_ok[None, :])
            spatial.update(np.unique(diff).tolist())
    cin = np.arange(c) * h * w
    cout = np.arange(f) * oh * ow
    if isinstance(layer, Conv2d):
        bases = np.unique(cin[None, :] - cout[:, None])
    else:
        bases = np.unique(cin - cout)
    bound = c * h * w + f * oh * ow - 1
    if bases.size * len(spatial) > 4_000_000:
        return int(min(bound, bases.size * len(spatial)))
    sp = np.fromiter(spatial, dtype=np.int64)
    return int(min(bound, np.unique(bases[:, None] + sp[None, :]).size))


def _compose_poly(coeffs: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Coefficients in u of p(alpha u + beta) (the slots hold u, the layer sees alpha u + beta)."""
    p = np.polynomial.Polynomial(np.asarray(coeffs, dtype=np.float64))
    return p(np.polynomial.Polynomial([beta, alpha])).coef


def _chunked_affine(layers: list[Layer], shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, tuple]:
    """M, b, out shape of a run of affine layers, the basis pushed through in chunks (bounded memory)."""
    n = int(np.prod(shape))
    if n <= 2048:
        return _affine_of(layers, shape)

    def run(x):
        for layer in layers:
            x = layer.forward(x)
        return x

    zero = run(np.zeros((1, *shape)))
    bias = zero.reshape(-1)
    rows = []
    for start in range(0, n, 1024):
        stop = min(n, start + 1024)
        basis = np.zeros((stop - start, n))
        basis[np.arange(stop - start), np.arange(start, stop)] = 1.0
        rows.append(run(basis.reshape(-1, *shape)).reshape(stop - start, -1) - bias)
    return np.concatenate(rows), bias.copy(), zero.shape[1:]


def _choose_bases(lin: Layout, stride: int, channels: int, height: int, width: int, slots: int,
                  weight: np.ndarray, padding: int) -> Layout:
    """The output layout of a convolution: the arrangement with the least diagonals x slots.

    ``slots`` is the slot count the plan needs so far; an arrangement that needs more makes every
    stage's ciphertexts larger, so its diagonals count at its own (larger) slot count.
    """
    best = None
    for arrangement in ("blocks", "multiplexed"):
        lay = lin.strided(stride, channels, height, width, arrangement)
        if not lay.fits():
            continue
        probe = ConvStage(weight=weight, bias=np.zeros((channels, height, width)), stride=stride, padding=padding,
                          in_layout=lin, out_layout=lay)
        key = (lay.span > MAX_SLOTS, len(probe.offsets()) * max(slots, _next_pow2(lay.span)), lay.span)
        if best is None or key < best[0]:
            best = (key, lay)
    if best is None:
        raise NotMultiplexable(
            f"a stride-{stride} output of {channels}x{height}x{width} does not fit the {lin.canvas[0]}x{lin.canvas[1]} "
            "canvas of its input (padding larger than half the kernel?)")
    return best[1]


def build_stages(model: Sequential, input_shape: tuple[int, ...], flooding: bool = True) -> list:
    """The multiplexed stage list of a model (before the soft-argmax/arg-max normalisation of the compiler).

    Returns `ConvStage`, `PoolStage`, `PolyStage` (on slot vectors) up to the linear head (a
    `PackedAffineStage`), then the dense path's stages and the output marker, as
    `nn.encrypted.plan.build_stages`.  ``flooding``: the outputs' decryptions are flooded (compile's option),
    so a final linear head must leave zeros beyond its outputs (`PackedAffineStage.mode`).

    Raises:
        NotMultiplexable: the model does not start with Conv2d/AvgPool2d on a (C, H, W) input,
            or a layer's output does not fit its canvas or the slots.
        NotHEFriendlyError, LayerTypeError: see `nn.encrypted.plan.check_he_friendly`.
        ShapeError: the model does not accept ``input_shape`` (kernel larger than the padded image included).
    """
    check_he_friendly(model)
    if len(input_shape) != 3:
        raise NotMultiplexable(f"multiplexed packing takes images (C, H, W), got input_shape {tuple(input_shape)}")
    try:
        model.forward(np.zeros((1, *input_shape)))
    except (ShapeError, ValueError) as exc:
        raise ShapeError(f"the model does not accept inputs of shape {tuple(input_shape)}: {exc}") from exc
    layers = list(model.layers)
    if not layers or not isinstance(layers[0], (Conv2d, AvgPool2d)):
        raise NotMultiplexable("multiplexed packing needs a model that starts with Conv2d or AvgPool2d")
    # group: runs of affine layers, polynomials, output markers (as plan.build_stages)
    groups: list = []
    run: list = []
    for i, layer in enumerate(layers):
        if isinstance(layer, (Linear, Conv2d, AvgPool2d, Flatten)):
            run.append((i, layer))
            continue
        if run:
            groups.append(("affine", run))
            run = []
        if isinstance(layer, (PolyActivation, Square)):
            groups.append(("poly", (i, layer)))
        else:
            groups.append(("marker", ("argmax" if isinstance(layer, Argmax) else "softargmax",
                                      layer.beta if isinstance(layer, SoftArgmax) else None, _name(i, layer))))
    if run:
        groups.append(("affine", run))

    needed = _next_pow2(int(np.prod(input_shape)))  # slots the plan needs so far

    shape = tuple(input_shape)
    layout = Layout.image(*shape)
    spatial: list = []  # stages before the head, widths fixed afterwards
    alpha, beta = 1.0, 0.0  # the layer sees alpha * (slot value) + beta
    head = None
    tail_raw: list = []
    for kind, item in groups:
        if head is not None:  # the dense tail, on compact features
            if kind == "affine":
                tl = [lay for _, lay in item]
                matrix, bias, shape = _affine_of(tl, shape)
                folded = [f"1/{lay.kernel_size ** 2} of {_name(i, lay)}" for i, lay in item
                          if isinstance(lay, AvgPool2d)]
                tail_raw.append(AffineStage(matrix, bias, [_name(i, lay) for i, lay in item], None, folded))
            elif kind == "poly":
                i, layer = item
                tail_raw.append(PolyStage(_poly_coeffs(layer), "poly", [_name(i, layer)]))
            else:
                tail_raw.append(item)
            continue
        if kind == "poly":
            i, layer = item
            coeffs = _compose_poly(_poly_coeffs(layer), alpha, beta)
            coeffs = coeffs[: max(1, np.flatnonzero(coeffs).max() + 1 if np.any(coeffs) else 1)]
            name = _name(i, layer)
            if coeffs.size <= 2:  # affine in the slots: carried into the next linear layer
                c = np.zeros(2)
                c[: coeffs.size] = coeffs
                alpha, beta = float(c[1]), float(c[0])
                spatial.append(("note", f"{name} (affine, folded into the next layer)"))
            elif coeffs.size == 3:
                c0, c1, a = coeffs
                mode = "square" if c1 == 0 else "monic2"
                st = PolyStage(np.array([0.0, c1 / a, 1.0]), mode, [name],
                               ["leading coefficient and constant moved into the next linear stage"])
                spatial.append(st)
                alpha, beta = float(a), float(c0)
                if (a, c0) != (1.0, 0.0):
                    spatial.append(("note", f"a={a:.4g}, c={c0:.4g} of {name}"))
            else:
                spatial.append(PolyStage(coeffs, "poly", [name]))
                alpha, beta = 1.0, 0.0
            continue
        if kind == "marker":
            head = _identity_head(shape, layout, alpha, beta, spatial)
            shape = (head.matrix.shape[1],)
            tail_raw.append(item)
            continue
        # an affine run in the spatial part
        for idx, (i, layer) in enumerate(item):
            rest = [lay for _, lay in item[idx:]]
            name = _name(i, layer)
            if _joins_head(rest, shape):
                head = _head(item[idx:], shape, layout, alpha, beta, spatial)
                shape = head.out_shape
                break
            if isinstance(layer, Conv2d):
                c, h, w = shape
                k, s, p = layer.kernel_size, layer.stride, layer.padding
                oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
                weight = layer.params["weight"] * alpha
                ones = np.ones((1, c, h, w)) * beta
                bias = layer.params["bias"][:, None, None] + _conv_zero_bias(layer, ones)
                out = _choose_bases(layout, s, layer.out_channels, oh, ow, needed, weight, p)
                needed = max(needed, _next_pow2(out.span))
                notes = [n for tag, n in (e for e in spatial if isinstance(e, tuple)) if tag == "note"]
                spatial[:] = [e for e in spatial if not isinstance(e, tuple)]
                st = ConvStage(weight=weight, bias=np.broadcast_to(bias, (layer.out_channels, oh, ow)).copy(),
                               stride=s, padding=p, in_layout=layout, out_layout=out, layers=[name], folded=notes,
                               dense_diagonals=_dense_diagonals(layer, shape))
                spatial.append(st)
                layout, shape = out, (layer.out_channels, oh, ow)
                alpha, beta = 1.0, 0.0
            else:  # AvgPool2d (a run that reaches Flatten/Linear has joined the head above)
                c, h, w = shape
                k, s = layer.kernel_size, layer.stride
                oh, ow = (h - k) // s + 1, (w - k) // s + 1
                out = layout.strided(s, c, oh, ow, "same")
                if not out.fits():
                    raise NotMultiplexable(f"the output of {name} does not fit its canvas")
                spatial.append(PoolStage(kernel=k, stride=s, in_layout=layout, out_layout=out, layers=[name],
                                         folded=[f"1/{k * k} into the next layer"],
                                         dense_diagonals=_dense_diagonals(layer, shape)))
                layout, shape = out, (c, oh, ow)
                alpha = alpha / (k * k)
    if head is None:
        head = _identity_head(shape, layout, alpha, beta, spatial)
    spatial_stages = [e for e in spatial if not isinstance(e, tuple)]
    width = _next_pow2(max([head.in_layout.span] + [st.in_layout.span for st in spatial_stages
                                                     if isinstance(st, (ConvStage, PoolStage))]
                           + [st.out_layout.span for st in spatial_stages if isinstance(st, (ConvStage, PoolStage))]))
    if width > MAX_SLOTS:
        raise NotMultiplexable(f"the packed tensors need {width} slots, more than one ciphertext holds ({MAX_SLOTS} "
                               "at N = 2^16); use fewer channels or smaller images")
    for st in spatial_stages:
        if isinstance(st, (ConvStage, PoolStage)):
            st.width = width
    rows = head.in_layout.positions().ravel()
    matrix = np.zeros((width, head.logical.shape[1]))
    matrix[rows] = head.logical
    stage = PackedAffineStage(matrix, head.bias, head.layers, None, head.folded, in_layout=head.in_layout,
                              dense_diagonals=head.dense)
    stages = _fold([stage] + tail_raw)
    for i, st in enumerate(stages):  # a composition in _fold keeps the later stage's class
        if isinstance(st, AffineStage) and not isinstance(st, PackedAffineStage) and st.matrix.shape[0] == width \
                and st.layers[: len(stage.layers)] == stage.layers:
            stages[i] = PackedAffineStage(st.matrix, st.bias, st.layers, None, st.folded, in_layout=stage.in_layout,
                                          dense_diagonals=stage.dense_diagonals)
    affine = [st for st in stages if isinstance(st, AffineStage)]
    if isinstance(affine[-1], PackedAffineStage):  # the last linear stage: its outputs are decrypted
        affine[-1].final = True
        affine[-1].needs_zeros = isinstance(stages[-1], tuple) and stages[-1][0] == "argmax"
        affine[-1].flooding = bool(flooding)
    return spatial_stages + stages


def _joins_head(rest: list[Layer], shape: tuple[int, ...]) -> bool:
    """Do the rest of an affine run go into the linear head (one level, weights permuted)?

    Always from the first Flatten/Linear on; a convolution or pooling before them too when the composed
    matrix (inputs x outputs) has at most `HEAD_ENTRIES` entries: the head's cost does not depend on its
    rows, so a final convolution as large as its image (LeNet's) or a pooling costs nothing there.  A run
    of convolutions/poolings alone joins when its output has at most `HEAD_OUTPUTS` values: the layers
    after it then read compact features (the dense path).
    """
    if isinstance(rest[0], (Flatten, Linear)):
        return True
    x = np.zeros((1, *shape))
    for layer in rest:
        x = layer.forward(x)
    if int(np.prod(shape)) * x.size > HEAD_ENTRIES:
        return False
    # spatial layers only: join when their output is tiny (a convolution as large as its image is a
    # Linear: 2^ceil(log2 m) diagonals instead of one per channel pair and kernel offset)
    return any(isinstance(r, (Flatten, Linear)) for r in rest) or x.size <= HEAD_OUTPUTS


def _conv_zero_bias(layer: Conv2d, constant: np.ndarray) -> np.ndarray:
    """conv_w(constant input) without the layer's own bias (zero padding included): (F, OH, OW)."""
    k = layer.kernel_size
    cols = im2col(constant, k, k, layer.stride, layer.padding)
    n, oh, ow = cols.shape[0], cols.shape[-2], cols.shape[-1]
    w2 = layer.params["weight"].reshape(layer.out_channels, -1)
    return np.matmul(w2, cols.reshape(n, -1, oh * ow)).reshape(layer.out_channels, oh, ow)


def _head(run, shape, layout, alpha, beta, spatial):
    layers = [lay for _, lay in run]
    logical, bias, out_shape = _chunked_affine(layers, shape)
    bias = bias + beta * logical.sum(axis=0)
    notes = [n for tag, n in (e for e in spatial if isinstance(e, tuple)) if tag == "note"]
    spatial[:] = [e for e in spatial if not isinstance(e, tuple)]
    folded = notes + [f"1/{lay.kernel_size ** 2} of {_name(i, lay)}" for i, lay in run if isinstance(lay, AvgPool2d)]
    folded.append(f"weights permuted to the packed layout ({layout.describe()})")
    dense = int(np.prod(shape)) + logical.shape[1] - 1
    return SimpleNamespace(logical=alpha * logical, bias=bias, layers=[_name(i, lay) for i, lay in run],
                           folded=folded, in_layout=layout, out_shape=out_shape, dense=dense)


def _identity_head(shape, layout, alpha, beta, spatial):
    n = int(np.prod(shape))
    notes = [n_ for tag, n_ in (e for e in spatial if isinstance(e, tuple)) if tag == "note"]
    spatial[:] = [e for e in spatial if not isinstance(e, tuple)]
    return SimpleNamespace(logical=alpha * np.eye(n), bias=np.full(n, beta), layers=["flatten"],
                           folded=notes + [f"unpack the layout ({layout.describe()})"], in_layout=layout,
                           out_shape=(n,), dense=2 * n - 1)


# -- cost model and memory --------------------------------------------------------------------------------


@dataclass
class Decision:
    """The convolution packing chosen for the sample layout, and why (`summary_lines`).

    Attributes:
        packing: "dense" or "multiplexed".
        reason: why, in words.
        layouts: the candidate layouts compile plans for ``layout="auto"``.
        plan_bytes: the memory estimate of planning those candidates.
        multiplexed_cost, dense_cost: rotations + PT_COST x plaintext products (None: not estimated).
        multiplexed_bytes, dense_bytes: the memory estimates of one sample-layout plan.
    """

    packing: str
    reason: str
    layouts: tuple[str, ...] = ("sample", "batch")
    plan_bytes: float = 0.0
    multiplexed_cost: float | None = None
    dense_cost: float | None = None
    multiplexed_bytes: float | None = None
    dense_bytes: float | None = None


def stage_costs(stages: list, slots: int | None = None) -> tuple[float, list[str]]:
    """Rotations + PT_COST x plaintext products of the multiplexed stages, and one summary line per stage."""
    total, lines = 0.0, []
    for st in stages:
        if isinstance(st, (ConvStage, PoolStage)):
            rot, pt = st.counts(slots or st.width)
            lines.append(f"{','.join(st.layers)}: {st.describe(slots)}")
        elif isinstance(st, PackedAffineStage):
            rot, pt = st.counts(slots)
            lines.append(f"{','.join(st.layers)}: {st.describe(slots)}")
        else:
            continue
        total += rot + PT_COST * pt
    return total, lines


def summary_lines(decision: Decision | None, stages: list, slots: int) -> list[str]:
    """The cost-model lines of `nn.encrypted.compiler.EncryptedModel.summary` (none for the batch layout)."""
    if decision is None or decision.reason.startswith("no multiplexed plan"):
        return []
    lines = [f"convolutions: {decision.packing} ({decision.reason})"]
    if decision.packing == "multiplexed":
        lines += [f"  {line}" for line in stage_costs(stages, slots)[1]]
    if decision.multiplexed_cost is not None:
        gib = 2.0**30
        lines.append(f"  cost model (rotations + {PT_COST} x plaintext products): multiplexed "
                     f"{decision.multiplexed_cost:,.0f}, dense {decision.dense_cost:,.0f}; compile memory "
                     f"estimate: multiplexed {decision.multiplexed_bytes / gib:.3g} GiB, dense "
                     f"{decision.dense_bytes / gib:.3g} GiB")
    return lines


def multiplexed_bytes(stages: list, samples: int) -> float:
    """Bytes compile holds for a multiplexed plan: diagonals (complex, two layouts' worth), head, calibration."""
    width = max((st.matrix.shape[0] for st in stages if isinstance(st, PackedAffineStage)), default=1)
    diagonals = 0
    for st in stages:
        if isinstance(st, ConvStage):
            diagonals += len(st.offsets())
        elif isinstance(st, PackedAffineStage):
            diagonals += st.counts()[1] + 2 * st.matrix.shape[1]
    per_diag = width * (16 + 8)  # the complex diagonal and its float construction
    calibration = 8 * samples * width * (len(stages) + 3)
    return 2.0 * diagonals * per_diag + calibration


def dense_cost(stages: list, first_conv: str = "server") -> float:
    """The dense path's rotations (2 sqrt(D)) + PT_COST x D per multiplexed stage's layers (D: its diagonals).

    With ``first_conv="im2col"`` a first convolution reads client-side patches: C k^2 + F - 1 diagonals
    (`nn.encrypted.convolution`) instead of its server-side count.
    """
    total = 0.0
    for i, st in enumerate(stages):
        d = getattr(st, "dense_diagonals", 0)
        if i == 0 and first_conv == "im2col" and isinstance(st, ConvStage):
            f, c, k, _ = st.weight.shape
            d = c * k * k + f - 1
        if d:
            total += 2 * math.sqrt(d) + PT_COST * d
    return total


def decide(model, input_shape, conv_packing: str, dense_bytes: list[float], samples: int, limit: float,
           layout: str = "sample", approximate: bool = False, first_conv: str = "im2col",
           flooding: bool = True) -> tuple[Decision, list | None]:
    """Choose the sample layout's convolution packing (before any dense matrix or diagonal is built).

    Args:
        model: the ``nn.Sequential``.
        input_shape: the checked sample shape.
        conv_packing: "auto", "dense" or "multiplexed".
        dense_bytes: the dense plan's memory estimates for one and two candidate layouts
            (`nn.encrypted.validation.estimate_plan_bytes`).
        samples: calibration samples.
        limit: memory_limit in bytes (inf: none).
        layout: compile's ``layout`` ("batch" is always dense).
        approximate: compile's ``approximate`` (approximated layers are dense-path stages).
        first_conv: compile's ``first_conv`` (the dense plan's first convolution, for its cost).
        flooding: compile's ``flooding`` (`build_stages`).

    Returns:
        ``(Decision, stages or None)``: the multiplexed stages when they are chosen.

    Raises:
        ConfigError: ``conv_packing`` is not one of `PACKINGS`, or "multiplexed" for a model or layout that
            has no multiplexed plan (the message says why).
        ShapeError: the model does not accept ``input_shape``.
    """
    if not isinstance(conv_packing, str) or conv_packing not in PACKINGS:
        raise ConfigError(f"conv_packing must be one of {PACKINGS}, got {conv_packing!r}")
    one, two = dense_bytes
    dense = Decision("dense", "conv_packing='dense'", plan_bytes=two if layout == "auto" else one)
    if conv_packing == "dense":
        return dense, None
    why = ("the batch layout packs samples, not channels" if layout == "batch" else
           "approximate=True keeps dense stages" if approximate else None)
    try:
        if why is not None:
            raise NotMultiplexable(why)
        stages = build_stages(model, input_shape, bool(flooding))
    except NotMultiplexable as exc:
        if conv_packing == "multiplexed":
            raise ConfigError(f"conv_packing='multiplexed' cannot pack this model: {exc}") from None
        dense.reason = f"no multiplexed plan: {exc}"
        return dense, None
    mux_cost, _ = stage_costs(stages)
    d_cost = dense_cost(stages, first_conv)
    mux_bytes = multiplexed_bytes(stages, samples)
    if conv_packing == "multiplexed":
        packing, reason = "multiplexed", "conv_packing='multiplexed'"
    elif one > limit and mux_bytes <= limit:
        packing, reason = "multiplexed", f"the dense plan's estimated {one / 2**30:.3g} GiB is over memory_limit"
    elif mux_cost * AUTO_MARGIN < d_cost:
        packing, reason = "multiplexed", f"cheaper by the cost model: {mux_cost:,.0f} vs dense {d_cost:,.0f}"
    else:
        packing, reason = "dense", (f"the dense plan fits and the multiplexed one is not {AUTO_MARGIN:g}x cheaper by "
                                    f"the cost model ({mux_cost:,.0f} vs dense {d_cost:,.0f})")
    if packing == "dense":
        layouts, total = ("sample", "batch"), (two if layout == "auto" else one)
    else:  # the batch candidate (dense) only when it fits beside the multiplexed plan
        with_batch = layout == "auto" and mux_bytes + one <= limit
        layouts = ("sample", "batch") if with_batch else ("sample",)
        total = mux_bytes + (one if with_batch else 0.0)
    decision = Decision(packing, reason, layouts, total, mux_cost, d_cost, mux_bytes, one)
    return decision, stages if packing == "multiplexed" else None


def runtime_bytes(stages: list, params) -> float:
    """Bytes of the encoded diagonals and the Galois keys of a multiplexed plan under ``params`` (upper bound)."""
    limbs = len(params.moduli_bits)
    plains, steps = 0, 0
    for st in stages:
        if isinstance(st, (ConvStage, PoolStage)):
            rot, pt = st.counts(params.slots)
            plains, steps = plains + pt, steps + rot
        elif isinstance(st, PackedAffineStage):
            rot, pt = st.counts(params.slots)
            plains, steps = plains + pt, steps + rot
    key = (limbs - 1) * 2 * limbs * params.poly_degree * 8
    return plains * params.poly_degree * limbs * 8 + (steps + 1) * key


# -- numeric reference (plain numpy, for the tests) --------------------------------------------------------


def reference_conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Direct convolution (cross-correlation) of (n, C, H, W) inputs, by explicit sums over the kernel."""
    n, c, h, w = x.shape
    f, _, k, _ = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    out = np.zeros((n, f, oh, ow)) + np.asarray(bias).reshape(1, f, 1, 1)
    for di in range(k):
        for dj in range(k):
            patch = xp[:, :, di: di + stride * (oh - 1) + 1: stride, dj: dj + stride * (ow - 1) + 1: stride]
            out += np.einsum("nchw,fc->nfhw", patch, weight[:, :, di, dj])
    return out


def simulate(transform, x: np.ndarray) -> np.ndarray:
    """A slot transform on plaintext slot vectors (n, S): ``sum_k d_k * roll(x, -k)`` or the rotation sum."""
    if isinstance(transform, RotationSum):
        return sum(np.roll(x, -o, axis=1) for o in transform.offsets)
    lt = transform.transform if isinstance(transform, ReplicatingProduct) else transform
    y = sum(np.real(d)[None] * np.roll(x, -k, axis=1) for k, d in lt.diagonals.items())
    if isinstance(transform, ReplicatingProduct):
        for step in transform.sum_steps:
            y = y + np.roll(y, -step, axis=1)
    return y
