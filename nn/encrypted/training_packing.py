"""Block packing and hoisted permutations for encrypted training (Jiang et al. products, Mihara et al.).

Layout.  A d x d matrix is stored row-major in a *block* of d^2 slots (slot
d i + j holds M[i, j]).  The S = N/2 slots are d *groups* of G = S / d^3
blocks.  A training batch of B <= G d samples is cut into ceil(B / d) row
blocks of d samples, and a data matrix (X, Z1, E, ...) holds those blocks in
every group (*replicated*), so that one ciphertext holds the whole batch and
every ciphertext operation serves all of its samples.  A weight matrix is the
same d x d matrix in every block (*periodic*).

Products.  For d x d matrices (Jiang, Kim, Lauter and Song, CCS 2018),

    A B = sum_(k < d) phi^k(sigma(A)) * psi^k(tau(B)),

    phi^k(sigma(A))[i, j] = A[i, (i + j + k) mod d],
    psi^k(tau(B))[i, j]   = B[(i + j + k) mod d, j].

Jiang et al. compute sigma(A) (one level), then phi^k by two masked
rotations (a second level), and multiply d pairs of ciphertexts.  Here the
left operand of term k is put in group k of *one* ciphertext, taken directly
from A as a permutation of each block: output slot l reads input slot l + r_l
with r_l in (-d, d) (row-local) for the left side and r_l in d (-d, d)
(column-local) for the right side.  The rotations of one input are hoisted
(one decomposition), each side is a sum of masked rotations (the mask of
offset r covers all groups at once) and one rescale: **one level per side
instead of two, 2d - 1 rotations per side, one ciphertext product instead of
d**, and log2(d) rotations by G d^2 2^i add the d groups (leaving A B
replicated again).  The offsets never leave a block, so the batch blocks do
not mix.  The masks are encoded at the scale q_l of the level they are
rescaled by, so a permutation keeps the scale of its input exactly, and a
scalar (the learning rate) folded into a mask costs nothing.  A gradient
(sum over the batch of A_b^T G_b) adds all blocks of all groups instead:
log2(S / d^2) rotations, and the result is periodic like a weight.

Moving the masks.  A permutation is a sum of masked rotations,
perm(a) = sum_r M_r * rot_r(a), and slot-wise products commute, so

    perm(a) * b = sum_r rot_r(a) * (M_r * b).

Rotations cost no level; the masks cost one level on b instead of on a.  In a
training step the critical operand a (an activation, the error) is only
rotated, and b (a permuted weight, or the batch, which the client uploads
already multiplied by the public masks) is ready earlier.  Each product then
costs one level on the critical path instead of two, for 2d - 1 tensor products
(added before one relinearization and one rescale) instead of one:
[`moved_product`][nn.encrypted.training_packing.PermutationEngine.moved_product].
A training step is 6 levels deep instead of 10, so the chain of N = 16384 at
128-bit security holds two steps between refreshes.

Everything in this module is plaintext index arithmetic except
[`PermutationEngine`][nn.encrypted.training_packing.PermutationEngine], which
applies the permutations to ciphertexts and counts what it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "OpCounts",
    "PermutationEngine",
    "block_index",
    "block_offsets",
    "offset_masks",
    "pack_batch",
    "pack_weight",
    "periodic_mean",
    "phi_sigma_sources",
    "psi_tau_sources",
    "transpose_sources",
    "unpack_weight",
]


def block_index(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every slot of one d x d block.

    Args:
        d: the matrix dimension.

    Returns:
        ``(i, j)``: two int arrays of length d^2, slot l = d i + j.
    """
    slot = np.arange(d * d)
    return slot // d, slot % d


def phi_sigma_sources(d: int, k: int) -> np.ndarray:
    """Source slots of phi^k(sigma(A)): output [i, j] reads A[i, (i + j + k) mod d].

    Args:
        d: the matrix dimension.
        k: the term of the product, 0 <= k < d.

    Returns:
        For every output slot of a block, the input slot it reads (row-local offsets in (-d, d)).
    """
    i, j = block_index(d)
    return d * i + (i + j + k) % d


def psi_tau_sources(d: int, k: int) -> np.ndarray:
    """Source slots of psi^k(tau(B)): output [i, j] reads B[(i + j + k) mod d, j].

    Args:
        d: the matrix dimension.
        k: the term of the product, 0 <= k < d.

    Returns:
        For every output slot of a block, the input slot it reads (offsets in d (-d, d)).
    """
    i, j = block_index(d)
    return d * ((i + j + k) % d) + j


def transpose_sources(d: int) -> np.ndarray:
    """Source slots of the transpose: output [i, j] reads A[j, i] (offsets (d - 1)(j - i)).

    Args:
        d: the matrix dimension.

    Returns:
        For every output slot of a block, the input slot it reads.
    """
    i, j = block_index(d)
    return d * j + i


def pack_batch(blocks: np.ndarray, slots: int) -> np.ndarray:
    """The slot vector of a batch: block b of ``blocks`` (shape (m, d, d)) in slots [b d^2, (b + 1) d^2).

    Args:
        blocks: m matrices of shape (d, d).
        slots: S = N/2 (a multiple of d^2, with m d^2 <= S).

    Returns:
        S real values, zero beyond the m blocks.
    """
    blocks = np.asarray(blocks, dtype=np.float64)
    out = np.zeros(slots)
    flat = blocks.reshape(-1)
    out[: flat.size] = flat
    return out


def pack_weight(matrix: np.ndarray, slots: int) -> np.ndarray:
    """The slot vector of a weight: the d x d matrix row-major, repeated in every block.

    Args:
        matrix: a (d, d) array.
        slots: S = N/2 (a multiple of d^2).

    Returns:
        S real values (period d^2).
    """
    flat = np.asarray(matrix, dtype=np.float64).reshape(-1)
    return np.tile(flat, slots // flat.size)


def unpack_weight(values: np.ndarray, d: int, average: bool = False) -> np.ndarray:
    """The d x d weight matrix held in a decrypted slot vector: its first block, or the mean of all blocks.

    A weight is periodic (the same block in all S / d^2 blocks), and the noise of its copies is
    independent from block to block (the flooding of a decryption, the last rescales of a step),
    so their mean (``average=True``, `periodic_mean`) has up to sqrt(S / d^2) times less.

    Args:
        values: decrypted slots.
        d: the matrix dimension.
        average: the mean of all blocks instead of the first one.

    Returns:
        A (d, d) array.
    """
    values = periodic_mean(values, d * d) if average else np.asarray(values, dtype=np.float64)
    return values[: d * d].reshape(d, d).copy()


def periodic_mean(values: np.ndarray, period: int) -> np.ndarray:
    """The slot vector whose every block of ``period`` slots is the mean of the blocks of ``values``.

    The least-squares periodic vector for a periodic value observed with independent noise per slot:
    the noise's standard deviation shrinks by sqrt(len(values) / period).

    Args:
        values: S real values (S a multiple of ``period``).
        period: the block length (d^2 for a weight).

    Returns:
        S real values, periodic.
    """
    values = np.asarray(values, dtype=np.float64)
    return np.tile(values.reshape(-1, period).mean(axis=0), values.size // period)


def block_offsets(sources: np.ndarray, d: int, periodic: bool) -> np.ndarray:
    """Rotation offset of every output slot of a block: r_l = source_l - l (reduced if periodic).

    A periodic input (the same block everywhere) can read a neighbouring block's
    copy, so offsets are reduced modulo d^2 into (-d^2 / 2, d^2 / 2].

    Args:
        sources: the input slot read by each output slot of a block.
        d: the matrix dimension.
        periodic: whether the input repeats the same block in every block.

    Returns:
        int offsets, one per output slot.
    """
    n = d * d
    off = np.asarray(sources) - np.arange(n)
    if periodic:
        off = off % n
        off = np.where(off > n // 2, off - n, off)
    return off


def offset_masks(spec: list, periodic: bool, d: int, slots: int) -> dict[int, np.ndarray]:
    """A permutation as a sum of masked rotations: ``{r: M_r}`` with perm(x) = sum_r M_r * rot_r(x).

    Group g of the output, slot l of every block, reads input slot l + r_l with
    weight w_g[l], ``(sources, w_g) = spec[g]``; M_r holds w_g[l] where r_l = r and 0
    elsewhere.  The masks of one permutation have disjoint supports.

    Args:
        spec: d pairs ``(sources, weights)``, one per group (arrays of length d^2).
        periodic: whether the input repeats one block everywhere (offsets reduced modulo d^2).
        d: the matrix dimension.
        slots: S = N/2 (a multiple of d^3).

    Returns:
        ``{r: S-vector}`` for every offset r some non-zero weight uses (0 included when used).
    """
    reps = slots // (d * d * d)
    offs = [block_offsets(src, d, periodic) for src, _ in spec]
    weights = [np.asarray(w, dtype=np.float64) for _, w in spec]
    used = sorted({int(r) for off, w in zip(offs, weights) for r in np.unique(off[w != 0])})
    return {
        r: np.concatenate([np.tile(np.where(off == r, w, 0.0), reps) for off, w in zip(offs, weights)])
        for r in used
    }


@dataclass
class OpCounts:
    """Homomorphic operations counted on the server (one training step, or a total).

    Attributes:
        rotations: Galois automorphisms with a key switch (hoisted ones count one each).
        ct_ct_multiplications: ciphertext x ciphertext tensor products.
        pt_multiplications: ciphertext x plaintext (and x constant) products.
        relinearizations: key switches of a product back to two components.
        rescales: divisions by the last prime (one level each).
        hoisted_decompositions: digit decompositions shared by a set of hoisted rotations.
    """

    rotations: int = 0
    ct_ct_multiplications: int = 0
    pt_multiplications: int = 0
    relinearizations: int = 0
    rescales: int = 0
    hoisted_decompositions: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def key_switches(self) -> int:
        """Rotations plus relinearizations: the expensive operations."""
        return self.rotations + self.relinearizations

    def as_dict(self) -> dict:
        """The counts as a plain dict (with ``key_switches``).

        Returns:
            ``{name: count}``.
        """
        out = {
            "rotations": self.rotations,
            "ct_ct_multiplications": self.ct_ct_multiplications,
            "pt_multiplications": self.pt_multiplications,
            "relinearizations": self.relinearizations,
            "key_switches": self.key_switches,
            "rescales": self.rescales,
            "hoisted_decompositions": self.hoisted_decompositions,
        }
        out.update(self.extra)
        return out

    def minus(self, other: OpCounts) -> OpCounts:
        """Counts of ``self`` minus those of ``other`` (one step from two running totals).

        Args:
            other: the earlier totals.

        Returns:
            A new OpCounts.
        """
        return OpCounts(
            self.rotations - other.rotations,
            self.ct_ct_multiplications - other.ct_ct_multiplications,
            self.pt_multiplications - other.pt_multiplications,
            self.relinearizations - other.relinearizations,
            self.rescales - other.rescales,
            self.hoisted_decompositions - other.hoisted_decompositions,
        )

    def copy(self) -> OpCounts:
        """A snapshot.

        Returns:
            A new OpCounts with the same numbers.
        """
        return self.minus(OpCounts())


class PermutationEngine:
    """Counted ciphertext operations of the server: hoisted permutations, products, block sums.

    Slot layout: the S slots are d *groups* of G = S / d^3 blocks of d^2 slots
    (slot g G d^2 + b d^2 + l).  A data matrix (a batch of up to G blocks)
    is *replicated*: every group holds the same G blocks.  A weight is
    *periodic*: every block holds the same d x d matrix.  The left and right
    operands of a product carry term k of Jiang's sum in group k, so that
    one ciphertext product computes all d terms at once and log2(d)
    rotations by G d^2 2^i sum them (the result is replicated again).

    Built on the public machinery of a context (evaluator, encoder, rotator);
    a public copy is enough.

    Args:
        context: a ``ckks.Context`` (no secret key needed).
        d: the block dimension (a power of two, d^3 <= S).
        cache_bytes: memory allowed for encoded masks (reused from step to step).
    """

    def __init__(self, context, d: int, cache_bytes: int = 256 << 20):
        self.context = context
        self.ev = context.evaluator
        self.encoder = context.encoder
        self.params = context.params
        self.slots = context.slots
        self.d = int(d)
        self.block = self.d * self.d
        self.group = self.slots // self.d  # slots per group (G d^2)
        self.blocks_per_group = self.group // self.block
        self.counts = OpCounts()
        self._masks: dict = {}
        self._cache_left = int(cache_bytes)

    # -- offsets ----------------------------------------------------------------------------------
    def offsets(self, sources: np.ndarray, periodic: bool) -> np.ndarray:
        """Rotation offset of every output slot of a block (see `block_offsets`).

        Args:
            sources: the input slot read by each output slot of a block.
            periodic: whether the input repeats the same block in every block.

        Returns:
            int offsets, one per output slot.
        """
        return block_offsets(sources, self.d, periodic)

    def masks(self, spec: list, periodic: bool) -> dict[int, np.ndarray]:
        """The slot mask of every rotation offset of one permutation (see `offset_masks`).

        Args:
            spec: d pairs ``(sources, weights)``, one per group.
            periodic: whether the input repeats one block everywhere.

        Returns:
            ``{r: mask}`` over the offsets the permutation uses.
        """
        return offset_masks(spec, periodic, self.d, self.slots)

    def steps_of(self, outputs: list, periodic: bool) -> list[int]:
        """The non-zero rotation steps a set of permutations of one input needs.

        Args:
            outputs: per output, a list of d ``(sources, weights)`` pairs, one per group
                (arrays of length d^2).
            periodic: whether the input is periodic (a weight).

        Returns:
            The sorted distinct non-zero offsets where some weight is non-zero.
        """
        steps: set[int] = set()
        for per_group in outputs:
            for sources, weights in per_group:
                off = self.offsets(sources, periodic)
                steps |= {int(r) for r in np.unique(off[np.asarray(weights) != 0])}
        steps.discard(0)
        return sorted(steps)

    def group_steps(self) -> list[int]:
        """Rotation steps of the sum over the d groups: G d^2 2^i.

        Returns:
            The steps, increasing.
        """
        return [self.group << i for i in range(int(np.log2(self.d)))]

    def allreduce_steps(self) -> list[int]:
        """Rotation steps of the sum over all blocks: d^2 2^i below S.

        Returns:
            The steps, increasing.
        """
        steps, step = [], self.block
        while step < self.slots:
            steps.append(step)
            step *= 2
        return steps

    # -- counted primitives ----------------------------------------------------------------------
    def rotate_many(self, ct, steps: list[int]) -> dict:
        """Hoisted rotations (counted: one rotation per key switch).

        Args:
            ct: a size-2 ciphertext.
            steps: rotation steps.

        Returns:
            ``{step: rotated ciphertext}``.
        """
        rotator = self.context.rotator
        if not steps:
            return {}
        self.counts.rotations += rotator.rotations_needed(list(steps))
        self.counts.hoisted_decompositions += 1
        return rotator.rotate_many(ct, list(steps))

    def multiply_plain(self, ct, plain):
        """ct * plaintext (counted).

        Args:
            ct: a ciphertext.
            plain: a plaintext at the same level.

        Returns:
            The product (not rescaled).
        """
        self.counts.pt_multiplications += 1
        return self.ev.multiply_plain(ct, plain)

    def rescale(self, ct):
        """Rescale by the last prime (counted).

        Args:
            ct: a ciphertext at level >= 1.

        Returns:
            The rescaled ciphertext (level - 1).
        """
        self.counts.rescales += 1
        return self.ev.rescale(ct)

    def multiply(self, a, b):
        """a * b, levels aligned, relinearized and rescaled (counted): level min - 1, scale s_a s_b / q.

        Args:
            a: a ciphertext.
            b: a ciphertext.

        Returns:
            The product.
        """
        a, b = self.ev.align_levels(a, b)
        self.counts.ct_ct_multiplications += 1
        self.counts.relinearizations += 1
        return self.rescale(self.ev.relinearize(self.ev.multiply(a, b)))

    def scalar(self, ct, value: float):
        """ct * value with the scale kept: an integer costs nothing, another value one level.

        Args:
            ct: a ciphertext.
            value: a real scalar.

        Returns:
            value * ct (level l, or l - 1 with the constant encoded at scale q_l).
        """
        if float(value).is_integer():
            return self.ev.multiply_integer(ct, int(value))
        q = self.params.data_moduli[ct.level]
        plain = self.encoder.encode_constant(float(value), float(q), ct.level)
        return self.rescale(self.multiply_plain(ct, plain))

    def add_constant(self, ct, value: float):
        """ct + value in every slot (no level).

        Args:
            ct: a ciphertext.
            value: a real scalar.

        Returns:
            The sum.
        """
        if value == 0:
            return ct
        return self.ev.add_plain(ct, self.encoder.encode_constant(float(value), ct.scale, ct.level))

    def _mask(self, key, values_of, level: int, factor: float = 1.0):
        """The mask plaintext ``key`` at ``level`` (scale factor * q_level), cached while memory allows."""
        plain = self._masks.get((key, level, factor))
        if plain is None:
            q = float(self.params.data_moduli[level])
            plain = self.encoder.encode(values_of(), factor * q, level)
            size = plain.data.nbytes
            if size <= self._cache_left:
                self._masks[(key, level, factor)] = plain
                self._cache_left -= size
        return plain

    # -- permutations, products, sums ----------------------------------------------------------
    def rotations_for(self, ct, specs: list[tuple[list, bool]]) -> dict:
        """Hoisted rotations of ``ct`` by every offset some of ``specs`` uses (offset 0: ``ct`` itself).

        Args:
            ct: a size-2 ciphertext.
            specs: ``(spec, periodic)`` pairs, each spec d ``(sources, weights)`` pairs (one per group).

        Returns:
            ``{r: rot_r(ct)}`` (same level and scale as ``ct``).
        """
        steps = set().union(*(self.steps_of([spec], periodic) for spec, periodic in specs))
        rotated = self.rotate_many(ct, sorted(steps))
        rotated[0] = ct
        return rotated

    def _masked_sum(self, rotated: dict, masks: dict, key, level: int, factor: float = 1.0):
        """sum_r M_r * rotated[r] with the masks encoded at scale factor * q_level (not rescaled)."""
        acc = None
        for r, values in masks.items():
            plain = self._mask((key, r), lambda values=values: values, level, factor)
            term = self.multiply_plain(rotated[r], plain)
            acc = term if acc is None else self.ev.add(acc, term)
        return acc

    def permute(self, ct, outputs: list, periodic: bool, name, mask_scale: float = 1.0) -> list:
        """Weighted block permutations of one ciphertext, group by group, hoisted: l -> l - 1, scale kept.

        Output o, group g, slot l of every block: w[l] * input[l + r_l] with
        ``(sources, w) = outputs[o][g]``.  One hoisted set of rotations for all
        outputs; each output is sum_r mask_r * rot_r(input), the masks encoded at
        scale q_l, then one rescale by q_l: the scale is unchanged.

        Args:
            ct: the input ciphertext (level >= 1).
            outputs: per output, d pairs ``(sources, weights)`` (one per group; arrays of length d^2).
            periodic: whether the input repeats one block everywhere.
            name: a name for the mask cache (the same name must mean the same outputs).
            mask_scale: encode the masks at scale ``mask_scale`` q_l: the output's scale is then ``mask_scale``
                times the input's (see `masked_copies`).

        Returns:
            One ciphertext per output.
        """
        rotated = self.rotations_for(ct, [(spec, periodic) for spec in outputs])
        return [
            self.rescale(self._masked_sum(rotated, self.masks(spec, periodic), (name, o), ct.level, mask_scale))
            for o, spec in enumerate(outputs)
        ]

    def masked_copies(self, ct, spec: list, periodic: bool, name, rescale: bool = True,
                      mask_scale: float = 1.0) -> dict:
        """M_r * ct for every mask M_r of the permutation ``spec``, the masks encoded at scale q_l.

        The other operand of a [`moved_product`][nn.encrypted.training_packing.PermutationEngine.moved_product].
        Rescaled (the default), each copy is at level l - 1 with the scale of ``ct``, and carries its own
        rescale error, spread over all slots: in the product, every output slot meets the errors of all
        2d - 1 copies.  Unrescaled (``rescale=False``), each copy stays at level l with scale s q_l and
        carries no error of its own beyond the rounding of the encoded mask (a plaintext, with no
        secret-key term: sqrt(1 + 2N/3) times, about 100 times at N = 16384, smaller than a rescale
        error); the product then rescales twice.  This is free on the critical path when l <= the level
        of the other operand, and lets a small factor (the learning rate lr / B) ride in the masks
        instead of in a rescaled ciphertext, whose rescale error would be B / lr times larger relative
        to its values.  The rounding of a mask holding lr / B is itself B / lr times larger relative to
        its values, and the same in every step; ``mask_scale`` > 1 encodes the masks at scale
        ``mask_scale`` q_l (the rounding that much smaller, the copies' scale that much larger), to be
        balanced by a permutation of ``ct`` with ``mask_scale`` < 1.

        Args:
            ct: a ciphertext (level >= 1).
            spec: the permutation whose masks are applied, d pairs ``(sources, weights)``.
            periodic: whether the permutation's input is periodic (offsets reduced modulo d^2).
            name: a name for the mask cache.
            rescale: rescale each copy (one level, scale kept) or leave it at scale s q_l.
            mask_scale: encode the masks at scale ``mask_scale`` q_l.

        Returns:
            ``{r: M_r * ct}``.
        """
        masks = self.masks(spec, periodic)
        copies = {
            r: self.multiply_plain(ct, self._mask((name, r), lambda v=v: v, ct.level, mask_scale))
            for r, v in masks.items()
        }
        return {r: self.rescale(c) for r, c in copies.items()} if rescale else copies

    def moved_product(self, rotated: dict, others: dict, reduce: str = "groups", rescales: int = 1):
        """perm(a) * b with the permutation's masks moved onto b: sum_r rot_r(a) * (M_r * b), one level on a.

        Because a permutation is sum_r M_r * rot_r(a) and slot-wise products commute,
        perm(a) * b = sum_r rot_r(a) * (M_r * b).  The masks cost a level on b (computed
        earlier, off the critical path: ``others = masked_copies(b, spec, ...)`` for the
        permutation ``spec`` of a, or made by the client in plaintext) and none on a: the product is at level
        min(l_a, l_b') - 1 instead of l_a - 2.  The size-3 terms are added before one
        relinearization.  Then the d groups are added (``"groups"``: Jiang's product, replicated)
        or all blocks of all groups (``"all"``: a gradient, periodic), before the one rescale:
        at scale s_a s_b the key-switching errors of the rotations are negligible, so the sum
        carries one rescale error instead of one per block summed (S / d^2 of them for ``"all"``,
        most of them blocks the batch leaves empty: a factor sqrt(S / d^2) more noise).

        With unrescaled copies (``masked_copies(..., rescale=False)``, scale s_b q_l) the sum is
        rescaled twice: the first rescale's error is relative to s_a s_b (negligible), so the product
        carries one rescale error in all, where rescaled copies add 2d - 1 more (one per offset, each
        met by every output slot, and S / d^2 times for ``"all"``, once per block summed).

        Args:
            rotated: ``{r: rot_r(a)}`` from `rotations_for` (at least the offsets of ``others``).
            others: ``{r: M_r * b}`` for every offset r of the permutation of a (its keys say which).
            reduce: ``"groups"`` or ``"all"``.
            rescales: 1 for rescaled copies, 2 for unrescaled ones.

        Returns:
            The product (scale s_a s_b / q, level min - 1; with unrescaled copies scale s_a s_b q_l / (q_l q_(l-1)),
            level min - 2), summed as ``reduce`` says.
        """
        acc = None
        for r, masked in others.items():
            a, b = self.ev.align_levels(rotated[r], masked)
            self.counts.ct_ct_multiplications += 1
            term = self.ev.multiply(a, b)
            acc = term if acc is None else self.ev.add(acc, term)
        self.counts.relinearizations += 1
        steps = self.group_steps() if reduce == "groups" else self.allreduce_steps()
        out = self._sum_rotations(self.ev.relinearize(acc), steps)
        for _ in range(rescales):
            out = self.rescale(out)
        return out

    def _sum_rotations(self, ct, steps: list[int]):
        rotator = self.context.rotator
        for step in steps:
            self.counts.rotations += rotator.rotations_needed([step])
            ct = self.ev.add(ct, rotator.rotate(ct, step))
        return ct
