"""Block permutations as sums of masked hoisted rotations, moved-mask products and block sums.

**Permutations of blocks.**  Cut the S = N/2 slots into m equal *groups*, each a
run of blocks of n slots (S = m G n).  A weighted permutation of every block,
group by group, reads

    y[g G n + b n + l] = w_g[l] * x[g G n + b n + src_g[l]]        (0 <= l, src_g[l] < n),

the same ``(src_g, w_g)`` in every block of group g.  With the offset
r_l = src_g[l] - l, slot l of the output is slot l of rot_r(x) (rot_r(x)[t] =
x[t + r]), so

    y = sum_r M_r * rot_r(x),     M_r[g G n + b n + l] = w_g[l] if r_l = r else 0:

one rotation per distinct offset, all of one input hoisted (one digit
decomposition, Halevi and Shoup, CRYPTO 2018), and one plaintext mask per
offset; the masks of one permutation have disjoint supports.  The offsets
never leave a block, so the blocks never mix.  A *periodic* input (the same
block in every block: a weight matrix repeated over the slots) may read a
neighbouring block's copy instead, so its offsets are reduced modulo n into
(-n/2, n/2], which can only merge offsets (fewer rotations).

Jiang, Kim, Lauter and Song ("Secure outsourced matrix computation and
application to neural networks", CCS 2018) write their matrix product
A B = sum_k phi^k(sigma(A)) * psi^k(tau(B)) with exactly such permutations
(`ckks.circuits.matrix_product`: `phi_sigma_sources`, `psi_tau_sources`,
`transpose_sources`).  Putting term k in group k of one ciphertext (Mihara,
Yamaguchi, Mitsuishi and Maruyama, "Neural network training with homomorphic
encryption", arXiv 2012.13552, pack the terms side by side in the same way)
makes each side of the product *one* permutation: the d products become one,
and a sum over the d groups (`rotate_and_sum` with `sum_steps`) adds the terms.

Levels and scales.  [`Permutation.apply`][ckks.circuits.permutation.Permutation.apply]
encodes the masks at scale ``mask_scale`` q_l, q_l the last prime of the input's
level l, and rescales once: level l -> l - 1, scale s -> s ``mask_scale``
(exactly s for the default 1: a permutation keeps the scale, and a factor such
as a learning rate folded into the weights costs nothing).

**Moving the masks.**  Slot-wise products commute, so

    perm(a) * b = sum_r rot_r(a) * (M_r * b)

([`moved_product`][ckks.circuits.permutation.moved_product]): the masks cost a
level on b (``M_r * b``: [`Permutation.masked_copies`][ckks.circuits.permutation.Permutation.masked_copies],
computed earlier, or by a client in plaintext) and none on a, whose rotations
cost no level.  When a is on the critical path the product costs one level
there instead of two, for one tensor product per offset (added before one
relinearization and one rescale) instead of one.  The sum over groups or
blocks runs before the rescale, at scale s_a s_b, where the key-switching
errors of its rotations are negligible: the result carries one rescale error,
not one per block added.

Plaintext data (sources, weights, masks) belongs to no parameter set; encoded
masks are cached per parameters fingerprint, level and scale (one entry), or
passed in by a caller that keeps its own cache.

May import: layers 0 to 3 and `ckks.circuits.linear_transform`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ckks.circuits.linear_transform import LinearTransform, require_levels
from ckks.errors import InputError, InputTypeError
from ckks.scheme.ciphertext import Ciphertext, Plaintext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.rotation import Rotator
from ckks.validation import check_int

__all__ = [
    "Permutation",
    "block_offsets",
    "hoisted_rotations",
    "moved_product",
    "rotate_and_sum",
    "sum_steps",
]


def _check_sources(sources, block: int | None = None, what: str = "sources") -> np.ndarray:
    """``sources`` as a 1-D int array of slots inside one block (of ``block`` slots, or its own length)."""
    try:
        array = np.asarray(sources)
    except Exception as exc:  # noqa: BLE001  (anything numpy refuses)
        raise InputTypeError(f"{what} must be a 1-D array of slot indices: {exc}") from exc
    if array.dtype == object or array.dtype.kind not in "iu":
        raise InputTypeError(f"{what} must hold integer slot indices, got dtype {array.dtype}")
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"{what} must be a non-empty 1-D array (one source slot per slot of a block), "
                         f"got shape {array.shape}")
    n = array.size if block is None else block
    if array.size != n:
        raise InputError(f"{what} has {array.size} entries, but the blocks have {n} slots: give one source per slot")
    bad = (array < 0) | (array >= n)
    if np.any(bad):
        raise InputError(
            f"{what} must lie in [0, {n}) (a slot of the same block), got {array[bad][:5].tolist()}; "
            "a permutation here never reads outside its block"
        )
    return array.astype(np.int64)


def block_offsets(sources, block: int, periodic: bool = False) -> np.ndarray:
    """The rotation offset of every slot of a block: r_l = sources[l] - l, reduced modulo n if periodic.

    Output slot l reads input slot l + r_l.  For a periodic input (the same n values in every
    block) the offset is reduced modulo n into (-n/2, n/2].

    Args:
        sources: the input slot each of the n slots of a block reads (ints in [0, n)).
        block: n, the block length.
        periodic: whether the input repeats one block everywhere.

    Returns:
        n int offsets, in (-n, n) (or (-n/2, n/2] when periodic).

    Raises:
        InputTypeError: ``block`` is not an integer, ``periodic`` not a bool, or ``sources`` not integers.
        InputError: ``block`` is below 1, or ``sources`` does not have ``block`` entries in [0, block).
    """
    n = check_int("block", block, 1)
    if not isinstance(periodic, (bool, np.bool_)):
        raise InputTypeError(f"periodic must be True or False, got {periodic!r}")
    off = _check_sources(sources, n) - np.arange(n)
    if periodic:
        off = off % n
        off = np.where(off > n // 2, off - n, off)
    return off


def sum_steps(period: int, count: int) -> list[int]:
    """Rotation steps that add ``count`` consecutive runs of ``period`` slots: period 2^i, 2^i < count.

    After ``rotate_and_sum(ct, sum_steps(p, c), ...)`` every slot t holds
    sum_(u < c) x[t + u p] (indices mod S): with p = G n and c = m, the sum of the m
    groups (Jiang's d terms); with p = n and c = S / n, the sum of all blocks.

    Args:
        period: the run length p.
        count: how many runs c (a power of two).

    Returns:
        log2(c) steps, increasing.

    Raises:
        InputTypeError: ``period`` or ``count`` is not an integer.
        InputError: ``period`` is below 1, or ``count`` is not a power of two.
    """
    period = check_int("period", period, 1)
    count = check_int("count", count, 1)
    if count & (count - 1):
        raise InputError(f"count must be a power of two (a rotate-and-add sum doubles the runs), got {count}")
    return [period << i for i in range(count.bit_length() - 1)]


def rotate_and_sum(ct: Ciphertext, steps: Iterable[int], evaluator: Evaluator, rotator: Rotator) -> Ciphertext:
    """x + rot_s(x) for each step s in turn (see `sum_steps`); level and scale unchanged.

    Args:
        ct: the ciphertext x (size 2).
        steps: the rotation steps.
        evaluator: the additions.
        rotator: one rotation per step (not hoisted: each rotates the running sum).

    Returns:
        The sum.

    Raises:
        KeyMissingError: a step has no Galois key to make or compose it from (from the rotator).
    """
    for step in steps:
        ct = evaluator.add(ct, rotator.rotate(ct, step))
    return ct


class Permutation:
    """A weighted permutation of every block, group by group, as y = sum_r M_r * rot_r(x).

    Args:
        groups: m groups; each a pair ``(sources, weights)`` or just ``sources`` (unit weights):
            ``sources[l]`` the slot of the block that slot l reads (ints in [0, n)), ``weights[l]`` the
            real factor it is multiplied by (``None``: ones).  Group g covers slots [g S / m, (g + 1) S / m).
        slots: S = N/2 (a multiple of m n).
        periodic: whether the input repeats one block in every block (offsets reduced modulo n).

    Attributes:
        masks: ``{r: M_r}`` (S real values each) for every offset r some non-zero weight uses.
        block: n.  groups: m.  slots: S.  periodic: as given.

    Raises:
        InputTypeError: ``slots`` is not an integer, ``periodic`` not a bool, or sources/weights not numbers.
        InputError: no group, groups of different block lengths, a source outside its block, weights of the
            wrong shape or not finite, m n not dividing ``slots``, or every weight zero (the zero map).
    """

    def __init__(self, groups: Sequence, slots: int, periodic: bool = False):
        self.slots = check_int("slots", slots, 1)
        if not isinstance(periodic, (bool, np.bool_)):
            raise InputTypeError(f"periodic must be True or False, got {periodic!r}")
        self.periodic = bool(periodic)
        if isinstance(groups, np.ndarray) or not isinstance(groups, Sequence) or not len(groups):
            raise InputError(
                "groups must be a non-empty list of (sources, weights) pairs (one per group); for a single "
                "group use Permutation.from_sources(sources, slots)"
            )
        pairs = []
        for g, item in enumerate(groups):
            if isinstance(item, tuple) and len(item) != 2:
                raise InputError(f"group {g} must be a pair (sources, weights), got {len(item)} items")
            pairs.append(item if isinstance(item, tuple) else (item, None))
        self.block = _check_sources(pairs[0][0], what="sources of group 0").size
        self.groups = len(groups)
        if self.slots % (self.groups * self.block):
            raise InputError(
                f"{self.groups} group(s) of blocks of {self.block} slots need a multiple of "
                f"{self.groups * self.block} slots, got {self.slots}; use fewer groups or smaller blocks "
                "(powers of two divide the slots)"
            )
        offsets, weights = [], []
        for g, (sources, w) in enumerate(pairs):
            offsets.append(block_offsets(_check_sources(sources, self.block, f"sources of group {g}"),
                                         self.block, self.periodic))
            weights.append(self._check_weights(w, g))
        used = sorted({int(r) for off, w in zip(offsets, weights) for r in np.unique(off[w != 0])})
        if not used:
            raise InputError("every weight is zero: the permutation is the zero map; drop it or give a non-zero weight")
        reps = self.slots // (self.groups * self.block)
        self.masks: dict[int, np.ndarray] = {
            r: np.concatenate([np.tile(np.where(off == r, w, 0.0), reps) for off, w in zip(offsets, weights)])
            for r in used
        }
        self._encoded: dict[tuple[str, int, float], dict[int, Plaintext]] = {}

    def _check_weights(self, weights, g: int) -> np.ndarray:
        if weights is None:
            return np.ones(self.block)
        try:
            array = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InputTypeError(f"the weights of group {g} must be real numbers: {exc}") from exc
        if array.shape != (self.block,):
            raise InputError(f"the weights of group {g} have shape {array.shape}, expected ({self.block},): "
                             "one weight per slot of a block")
        if not np.all(np.isfinite(array)):
            raise InputError(f"the weights of group {g} contain NaN or infinity")
        return array

    @classmethod
    def from_sources(cls, sources, slots: int, periodic: bool = False, weights=None) -> Permutation:
        """One group: every block of the S slots applies the same ``(sources, weights)``.

        Args:
            sources: the slot of the block that each slot reads (ints in [0, n)).
            slots: S = N/2 (a multiple of n).
            periodic: whether the input repeats one block everywhere.
            weights: n real factors (default ones).

        Returns:
            The permutation.

        Raises:
            InputTypeError: an argument has the wrong type.
            InputError: as the constructor.
        """
        return cls([(sources, weights)], slots, periodic)

    @property
    def steps(self) -> list[int]:
        """The non-zero rotation offsets, increasing (the Galois keys that make every rotation direct)."""
        return [r for r in self.masks if r]

    def apply_plain(self, values) -> np.ndarray:
        """The permutation on plaintext slot values: sum_r M_r * rot_r(x) (a reference in numpy).

        Args:
            values: S numbers.

        Returns:
            S values (complex if ``values`` is).

        Raises:
            InputError: ``values`` does not have S entries.
        """
        x = np.asarray(values)
        if x.shape != (self.slots,):
            raise InputError(f"values must have shape ({self.slots},), got {x.shape}")
        return sum(mask * np.roll(x, -r) for r, mask in self.masks.items())

    def as_linear_transform(self, method: str = "diagonal") -> LinearTransform:
        """The same map as a [`LinearTransform`][ckks.circuits.linear_transform.LinearTransform] (diagonals M_r).

        Its ``apply`` encodes the diagonals at the input's scale (level l -> l - 1, scale s^2 / q_l) and
        may use baby-step giant-step; `apply` here keeps the scale and shares rotations between
        permutations of one input.

        Args:
            method: "diagonal" (one hoisted rotation per offset) or "bsgs".

        Returns:
            A new transform.

        Raises:
            InputError: ``method`` is unknown.
        """
        return LinearTransform(dict(self.masks), self.slots, method=method)

    # -- encrypted ---------------------------------------------------------------------------------------------
    def plaintexts(self, encoder: Encoder, level: int, mask_scale: float = 1.0) -> dict[int, Plaintext]:
        """The masks encoded at ``level`` and scale ``mask_scale`` q_level (cached: one entry).

        Args:
            encoder: the encoder of the ciphertexts' parameters.
            level: the level of the ciphertexts the masks multiply.
            mask_scale: the factor on q_level (default 1: the product's rescale restores the scale).

        Returns:
            ``{r: encoded M_r}``.

        Raises:
            InputError: ``mask_scale`` is not a positive finite number, or the encoder has another slot count.
            LevelError: ``level`` is not a level of the parameters (from the encoder).
        """
        mask_scale = _check_mask_scale(mask_scale)
        if encoder.params.slots != self.slots:
            raise InputError(f"the permutation was built for {self.slots} slots, the parameters have "
                             f"{encoder.params.slots}; build it with slots=ctx.slots")
        key = (encoder.params.fingerprint(), int(level), mask_scale)
        cached = self._encoded.get(key)
        if cached is None:
            scale = mask_scale * float(encoder.params.data_moduli[level])
            cached = {r: encoder.encode(values, scale, level) for r, values in self.masks.items()}
            self._encoded = {key: cached}
        return cached

    def _plaintexts_for(self, plaintexts, encoder: Encoder, level: int, mask_scale: float) -> Mapping:
        if plaintexts is None:
            return self.plaintexts(encoder, level, mask_scale)
        missing = set(self.masks) - set(plaintexts)
        if missing:
            raise InputError(f"plaintexts lacks the masks of offsets {sorted(missing)}; pass one per offset "
                             "(Permutation.plaintexts makes them)")
        return plaintexts

    def apply(self, ct: Ciphertext, evaluator: Evaluator, encoder: Encoder, rotator: Rotator,
              rotated: Mapping[int, Ciphertext] | None = None, mask_scale: float = 1.0,
              plaintexts: Mapping[int, Plaintext] | None = None) -> Ciphertext:
        """perm(x) = sum_r M_r * rot_r(x), then one rescale: level l -> l - 1, scale s -> s ``mask_scale``.

        Args:
            ct: x (size 2, level l >= 1, scale s); periodic if the permutation was built so.
            evaluator: the products, sums and the rescale.
            encoder: encodes the masks at (l, ``mask_scale`` q_l) unless ``plaintexts`` are given.
            rotator: the hoisted rotations (keys of `steps`), unless ``rotated`` is given.
            rotated: ``{r: rot_r(x)}`` already made (`hoisted_rotations`, shared with other permutations of x).
            mask_scale: the masks' scale factor on q_l.
            plaintexts: ``{r: encoded M_r}`` at level l (a caller's own cache), else `plaintexts`.

        Returns:
            perm(x) at level l - 1, scale s ``mask_scale``.

        Raises:
            LevelError: ``ct`` is at level 0.
            InputError: ``rotated`` or ``plaintexts`` lacks an offset, or ``mask_scale`` is not positive.
            KeyMissingError: a rotation has no Galois key to make or compose it from.
        """
        require_levels(ct.level, 1, "a masked-rotation permutation", evaluator.params)
        rotated = self._rotated_for(ct, rotated, rotator)
        plains = self._plaintexts_for(plaintexts, encoder, ct.level, mask_scale)
        acc = None
        for r in self.masks:
            term = evaluator.multiply_plain(rotated[r], plains[r])
            acc = term if acc is None else evaluator.add(acc, term)
        return evaluator.rescale(acc)

    def _rotated_for(self, ct: Ciphertext, rotated, rotator: Rotator) -> Mapping[int, Ciphertext]:
        if rotated is None:
            return hoisted_rotations(ct, [self], rotator)
        missing = set(self.masks) - set(rotated)
        if missing:
            raise InputError(f"rotated lacks the rotations by {sorted(missing)}; make them with "
                             "hoisted_rotations(ct, [every permutation of ct], rotator)")
        return rotated

    def masked_copies(self, ct: Ciphertext, evaluator: Evaluator, encoder: Encoder, rescale: bool = True,
                      mask_scale: float = 1.0, plaintexts: Mapping[int, Plaintext] | None = None
                      ) -> dict[int, Ciphertext]:
        """M_r * b for every mask of the permutation: the other operand of a `moved_product`.

        Rescaled (the default): level l -> l - 1, scale s -> s ``mask_scale``; each copy carries its own
        rescale error, spread over all slots.  Unrescaled: level l, scale s ``mask_scale`` q_l, no error
        beyond the rounding of the encoded mask; the product then rescales twice
        (``moved_product(..., rescales=2)``).

        Args:
            ct: b (level l, scale s).
            evaluator: the products and rescales.
            encoder: encodes the masks (unless ``plaintexts`` are given).
            rescale: rescale each copy.
            mask_scale: the masks' scale factor on q_l.
            plaintexts: ``{r: encoded M_r}`` at level l, else `plaintexts`.

        Returns:
            ``{r: M_r * b}`` over the permutation's offsets.

        Raises:
            LevelError: ``rescale`` and ``ct`` is at level 0.
            InputError: ``plaintexts`` lacks an offset, or ``mask_scale`` is not positive.
        """
        if rescale:
            require_levels(ct.level, 1, "rescaled masked copies", evaluator.params)
        plains = self._plaintexts_for(plaintexts, encoder, ct.level, mask_scale)
        copies = {r: evaluator.multiply_plain(ct, plains[r]) for r in self.masks}
        return {r: evaluator.rescale(c) for r, c in copies.items()} if rescale else copies


def _check_mask_scale(mask_scale) -> float:
    try:
        value = float(mask_scale)
    except (TypeError, ValueError):
        raise InputTypeError(f"mask_scale must be a positive number, got {mask_scale!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"mask_scale must be a positive finite number, got {mask_scale!r}")
    return value


def hoisted_rotations(ct: Ciphertext, permutations: Iterable[Permutation], rotator: Rotator) -> dict[int, Ciphertext]:
    """rot_r(x) for every offset r some of ``permutations`` uses, hoisted (one decomposition); 0: x itself.

    Args:
        ct: x (size 2).
        permutations: the permutations that will be applied to x.
        rotator: the rotations (keys of the permutations' `steps`).

    Returns:
        ``{r: rot_r(x)}`` (level and scale of x), with ``0: ct``.

    Raises:
        InputTypeError: a permutation is not a `Permutation`.
        KeyMissingError: a rotation has no Galois key to make or compose it from.
    """
    steps: set[int] = set()
    for perm in permutations:
        if not isinstance(perm, Permutation):
            raise InputTypeError(f"expected Permutation objects, got {type(perm).__name__}")
        steps.update(perm.steps)
    rotated = rotator.rotate_many(ct, sorted(steps)) if steps else {}
    rotated[0] = ct
    return rotated


def moved_product(rotated: Mapping[int, Ciphertext], copies: Mapping[int, Ciphertext], evaluator: Evaluator,
                  rotator: Rotator, steps: Iterable[int] = (), rescales: int = 1) -> Ciphertext:
    """perm(a) * b = sum_r rot_r(a) * (M_r * b), summed over ``steps``, then rescaled ``rescales`` times.

    The size-3 terms are added before one relinearization; then ``rotate_and_sum`` over
    ``steps`` (e.g. `sum_steps` of the groups), at scale s_a s_b' where the rotations'
    key-switching errors are negligible, and the rescales.  Level: min over the terms of
    min(l_a, l_b') - ``rescales``; scale s_a s_b' / (q ...) (one division per rescale), where
    b' = M_r * b is at scale s_b' (s_b rescaled, or s_b q_l unrescaled: then ``rescales=2``).

    Args:
        rotated: ``{r: rot_r(a)}`` (`hoisted_rotations`), at least the offsets of ``copies``.
        copies: ``{r: M_r * b}`` (`Permutation.masked_copies`, or made by the client); its keys say
            which offsets the permutation of a uses.
        evaluator: products, relinearization (its key), additions and rescales.
        rotator: the rotations of the sum.
        steps: the rotate-and-add steps after the relinearization (none: no sum).
        rescales: how many rescales end the product (0, 1 or 2).

    Returns:
        The product, size 2.

    Raises:
        InputTypeError: ``rescales`` is not an integer.
        InputError: ``copies`` is empty, ``rotated`` lacks one of its offsets, or ``rescales`` is not 0, 1 or 2.
        LevelError: fewer than ``rescales`` levels are left.
        KeyMissingError: no relinearization key, or a sum step has no Galois key.
    """
    rescales = check_int("rescales", rescales, 0)
    if rescales > 2:
        raise InputError(f"rescales must be 0, 1 or 2 (rescaled or unrescaled masked copies), got {rescales}")
    if not copies:
        raise InputError("copies is empty: pass {r: M_r * b} from Permutation.masked_copies")
    missing = set(copies) - set(rotated)
    if missing:
        raise InputError(f"rotated lacks the rotations by {sorted(missing)} that copies needs; make them with "
                         "hoisted_rotations(a, [the permutation], rotator)")
    level = min(min(rotated[r].level, c.level) for r, c in copies.items())
    require_levels(level, rescales, f"a moved product with {rescales} rescale(s)", evaluator.params)
    acc = None
    for r, masked in copies.items():
        a, b = evaluator.align_levels(rotated[r], masked)
        term = evaluator.multiply(a, b)
        acc = term if acc is None else evaluator.add(acc, term)
    out = rotate_and_sum(evaluator.relinearize(acc), steps, evaluator, rotator)
    for _ in range(rescales):
        out = evaluator.rescale(out)
    return out
