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
with r_l in (-d, d) (row-local: `phi_sigma_sources`) for the left side and
r_l in d (-d, d) (column-local: `psi_tau_sources`) for the right side, both
from `ckks.circuits.matrix_product`.  **One level per side instead of two,
2d - 1 rotations per side, one ciphertext product instead of d**, and
log2(d) rotations by G d^2 2^i add the d groups (leaving A B replicated
again).  The offsets never leave a block, so the batch blocks do not mix.  A
gradient (sum over the batch of A_b^T G_b) adds all blocks of all groups
instead: log2(S / d^2) rotations, and the result is periodic like a weight.

The circuits themselves are generic and live in `ckks.circuits.permutation`:
a permutation of every block, group by group, as a sum of masked hoisted
rotations that keeps the scale ([`Permutation`][ckks.circuits.permutation.Permutation]),
the product with the masks moved onto the other operand,
perm(a) * b = sum_r rot_r(a) * (M_r * b)
([`moved_product`][ckks.circuits.permutation.moved_product]: one level on the
critical operand instead of two, so a training step is 6 levels deep instead
of 10 and the chain of N = 16384 at 128-bit security holds two steps between
refreshes), and the group and block sums
([`sum_steps`][ckks.circuits.permutation.sum_steps]).  Operation counts come
from the scheme's counting hook (`ckks.scheme.counting`).

Everything in this module is plaintext index arithmetic (which slot holds
what) except [`PermutationEngine`][nn.encrypted.training_packing.PermutationEngine],
a thin layer that applies those circuits to this layout through the server's one
evaluator wrapper, [`Ops`][nn.encrypted.ops.Ops] (ciphertext operations, the
cache of encoded masks, the counter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ckks.circuits import permutation as perm
from ckks.circuits.matrix_product import block_indices, phi_sigma_sources, psi_tau_sources, transpose_sources
from ckks.deprecated import warn as _deprecated
from ckks.errors import InputError
from ckks.scheme.counting import OperationCounter
from nn.encrypted.ops import Ops

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

#: Row and column of every slot of one d x d block, slot l = d i + j
#: (`ckks.circuits.matrix_product.block_indices`).
block_index = block_indices


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
    """Rotation offset of every output slot of a d x d block (`ckks.circuits.permutation.block_offsets`, n = d^2).

    Args:
        sources: the input slot read by each output slot of a block.
        d: the matrix dimension.
        periodic: whether the input repeats the same block in every block (offsets reduced modulo d^2).

    Returns:
        int offsets, one per output slot.

    Raises:
        InputError: ``sources`` does not have d^2 entries in [0, d^2) (from ckks).
    """
    return perm.block_offsets(sources, d * d, periodic)


def offset_masks(spec: list, periodic: bool, d: int, slots: int) -> dict[int, np.ndarray]:
    """A permutation of this layout as masked rotations: ``{r: M_r}`` with perm(x) = sum_r M_r * rot_r(x).

    Group g of the output (slots [g S / d, (g + 1) S / d) for the d groups of a product), slot l of
    every block, reads input slot l + r_l with weight w_g[l], ``(sources, w_g) = spec[g]``
    (`ckks.circuits.permutation.Permutation`).

    Args:
        spec: d pairs ``(sources, weights)``, one per group (arrays of length d^2).
        periodic: whether the input repeats one block everywhere (offsets reduced modulo d^2).
        d: the matrix dimension.
        slots: S = N/2 (a multiple of d^3).

    Returns:
        ``{r: S-vector}`` for every offset r some non-zero weight uses (0 included when used).

    Raises:
        InputError: the sources are not d^2 slots of a block, or the weights are all zero (from ckks).
    """
    return _permutation(spec, periodic, d, slots).masks


def _permutation(spec: list, periodic: bool, d: int, slots: int) -> perm.Permutation:
    """``spec`` as a `ckks.circuits.permutation.Permutation` of d^2-slot blocks."""
    permutation = perm.Permutation([(src, w) for src, w in spec], slots, periodic)
    if permutation.block != d * d:
        raise InputError(f"the sources have {permutation.block} entries, a {d}x{d} block needs {d * d}")
    return permutation


@dataclass
class OpCounts(OperationCounter):
    """Homomorphic operations counted on the server (one training step, or a total).

    An `ckks.scheme.counting.OperationCounter`: the scheme counts every operation while it is
    active (``with counts:``; an `nn.encrypted.ops.Ops` given one activates it around each of its operations).

    Attributes:
        rotations: Galois automorphisms with a key switch (hoisted ones count one each).
        ct_ct_multiplications: ciphertext x ciphertext tensor products.
        pt_multiplications: ciphertext x plaintext (and x constant) products.
        relinearizations: key switches of a product back to two components.
        rescales: divisions by the last prime (one level each).
        hoisted_decompositions: digit decompositions shared by a set of hoisted rotations.
        extra: more counts for `as_dict`.
    """

    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The counts as a plain dict (with ``key_switches``, and ``extra``).

        Returns:
            ``{name: count}``.
        """
        out = super().as_dict()
        out.update(self.extra)
        return out


class PermutationEngine:
    """This layout's permutations, products and sums on ciphertexts, through one `nn.encrypted.ops.Ops`.

    Slot layout: the S slots are d *groups* of G = S / d^3 blocks of d^2 slots
    (slot g G d^2 + b d^2 + l).  A data matrix (a batch of up to G blocks)
    is *replicated*: every group holds the same G blocks.  A weight is
    *periodic*: every block holds the same d x d matrix.  The left and right
    operands of a product carry term k of Jiang's sum in group k, so that
    one ciphertext product computes all d terms at once and log2(d)
    rotations by G d^2 2^i sum them (the result is replicated again).

    The circuits are `ckks.circuits.permutation`'s; the ciphertext operations, the
    cache of encoded masks and the counting are those of ``ops`` (the server's one
    evaluator wrapper, `nn.encrypted.ops.Ops`, whose ``counts`` the engine activates
    around each of its calls).  What the engine adds is this layout: its block
    size, group and block sums and the permutations of a d x d block.  Built on the
    public machinery of a context (evaluator, encoder, rotator); a public copy is enough.

    Args:
        context: a ``ckks.Context`` (no secret key needed).
        d: the block dimension (a power of two, d^3 <= S).
        cache_bytes: memory allowed for encoded masks (reused from step to step) when the engine
            makes its own ``ops``.
        ops: the `nn.encrypted.ops.Ops` to run on (None: a new one on ``context`` with an `OpCounts`
            and a cache of ``cache_bytes``).
    """

    def __init__(self, context, d: int, cache_bytes: int = 256 << 20, ops: Ops | None = None):
        self.context = context
        self.ops = ops if ops is not None else Ops(context, counts=OpCounts(), cache_bytes=cache_bytes)
        self.slots = context.slots
        self.d = int(d)
        self.block = self.d * self.d
        self.group = self.slots // self.d  # slots per group (G d^2)
        self.blocks_per_group = self.group // self.block

    @property
    def counts(self) -> OperationCounter | None:
        """The counter of ``ops`` (an `OpCounts` unless another ``ops`` was given)."""
        return self.ops.counts

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
        return sorted({r for spec in outputs for r in self._permutation(spec, periodic).steps})

    def group_steps(self) -> list[int]:
        """Rotation steps of the sum over the d groups: G d^2 2^i (`ckks.circuits.permutation.sum_steps`).

        Returns:
            The steps, increasing.
        """
        return perm.sum_steps(self.group, self.d)

    def allreduce_steps(self) -> list[int]:
        """Rotation steps of the sum over all blocks: d^2 2^i below S.

        Returns:
            The steps, increasing.
        """
        return perm.sum_steps(self.block, self.slots // self.block)

    # -- the counted primitives that moved to Ops (deprecated shims) ---------------------------------------
    def rotate_many(self, ct, steps: list[int]) -> dict:
        """Deprecated: ``engine.ops.rotate_many`` (`nn.encrypted.ops.Ops`)."""
        _deprecated("PermutationEngine.rotate_many", "PermutationEngine.ops.rotate_many")
        return self.ops.rotate_many(ct, steps)

    def multiply_plain(self, ct, plain):
        """Deprecated: ``engine.ops.multiply_plain``."""
        _deprecated("PermutationEngine.multiply_plain", "PermutationEngine.ops.multiply_plain")
        return self.ops.multiply_plain(ct, plain)

    def rescale(self, ct):
        """Deprecated: ``engine.ops.rescale``."""
        _deprecated("PermutationEngine.rescale", "PermutationEngine.ops.rescale")
        return self.ops.rescale(ct)

    def scalar(self, ct, value: float):
        """Deprecated: ``engine.ops.scalar``."""
        _deprecated("PermutationEngine.scalar", "PermutationEngine.ops.scalar")
        return self.ops.scalar(ct, value)

    def add_constant(self, ct, value: float):
        """Deprecated: ``engine.ops.add_constant``."""
        _deprecated("PermutationEngine.add_constant", "PermutationEngine.ops.add_constant")
        return self.ops.add_constant(ct, value)

    def _permutation(self, spec: list, periodic: bool) -> perm.Permutation:
        return _permutation(spec, periodic, self.d, self.slots)

    def multiply(self, a, b):
        """a * b, levels aligned, relinearized and rescaled (`Ops.multiply`): level min - 1, scale s_a s_b / q.

        Args:
            a: a ciphertext.
            b: a ciphertext.

        Returns:
            The product.
        """
        return self.ops.multiply(a, b)

    def _plaintexts(self, permutation: perm.Permutation, level: int, factor: float) -> dict:
        """The encoded masks of ``permutation`` at ``level`` and scale ``factor`` q_level (`Ops.plain`, cached)."""
        scale = self.ops.mask_scale(level, factor)
        return {r: self.ops.plain(v, scale, level) for r, v in permutation.masks.items()}

    # -- permutations, products, sums ----------------------------------------------------------
    def rotations_for(self, ct, specs: list[tuple[list, bool]]) -> dict:
        """Hoisted rotations of ``ct`` by every offset some of ``specs`` uses (offset 0: ``ct`` itself).

        Args:
            ct: a size-2 ciphertext.
            specs: ``(spec, periodic)`` pairs, each spec d ``(sources, weights)`` pairs (one per group).

        Returns:
            ``{r: rot_r(ct)}`` (same level and scale as ``ct``).
        """
        with self.ops.counting():
            return perm.hoisted_rotations(ct, [self._permutation(s, p) for s, p in specs], self.ops.rotator)

    def permute(self, ct, outputs: list, periodic: bool, name=None, mask_scale: float = 1.0) -> list:
        """Weighted block permutations of one ciphertext, group by group, hoisted: l -> l - 1, scale kept.

        Output o, group g, slot l of every block: w[l] * input[l + r_l] with
        ``(sources, w) = outputs[o][g]``.  One hoisted set of rotations for all
        outputs; each output is sum_r mask_r * rot_r(input), the masks encoded at
        scale q_l, then one rescale by q_l: the scale is unchanged
        ([`Permutation.apply`][ckks.circuits.permutation.Permutation.apply]).

        Args:
            ct: the input ciphertext (level >= 1).
            outputs: per output, d pairs ``(sources, weights)`` (one per group; arrays of length d^2).
            periodic: whether the input repeats one block everywhere.
            name: a label for the reader (the encoded masks are cached by a digest of their values).
            mask_scale: encode the masks at scale ``mask_scale`` q_l: the output's scale is then ``mask_scale``
                times the input's (see `masked_copies`).

        Returns:
            One ciphertext per output.
        """
        perms = [self._permutation(spec, periodic) for spec in outputs]
        ops = self.ops
        with ops.counting():
            rotated = perm.hoisted_rotations(ct, perms, ops.rotator)
            return [p.apply(ct, ops.ev, ops.enc, ops.rotator, rotated, mask_scale,
                            self._plaintexts(p, ct.level, mask_scale))
                    for p in perms]

    def masked_copies(self, ct, spec: list, periodic: bool, name=None, rescale: bool = True,
                      mask_scale: float = 1.0) -> dict:
        """M_r * ct for every mask M_r of the permutation ``spec``, the masks encoded at scale q_l.

        The other operand of a [`moved_product`][nn.encrypted.training_packing.PermutationEngine.moved_product]
        ([`Permutation.masked_copies`][ckks.circuits.permutation.Permutation.masked_copies]).
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
            name: a label for the reader (the encoded masks are cached by a digest of their values).
            rescale: rescale each copy (one level, scale kept) or leave it at scale s q_l.
            mask_scale: encode the masks at scale ``mask_scale`` q_l.

        Returns:
            ``{r: M_r * ct}``.
        """
        p = self._permutation(spec, periodic)
        with self.ops.counting():
            return p.masked_copies(ct, self.ops.ev, self.ops.enc, rescale, mask_scale,
                                   self._plaintexts(p, ct.level, mask_scale))

    def moved_product(self, rotated: dict, others: dict, reduce: str = "groups", rescales: int = 1):
        """perm(a) * b with the permutation's masks moved onto b: sum_r rot_r(a) * (M_r * b), one level on a.

        [`ckks.circuits.permutation.moved_product`][ckks.circuits.permutation.moved_product] on this
        layout: because a permutation is sum_r M_r * rot_r(a) and slot-wise products commute,
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
        steps = self.group_steps() if reduce == "groups" else self.allreduce_steps()
        with self.ops.counting():
            return perm.moved_product(rotated, others, self.ops.ev, self.ops.rotator, steps, rescales)
