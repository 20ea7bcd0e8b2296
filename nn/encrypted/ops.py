"""The server-side evaluator wrapper of `nn.encrypted`: level- and scale-aware ciphertext operations.

Every layout (inference: `nn.encrypted.compiler`'s layouts; training: the block packing's
`nn.encrypted.training_packing.PermutationEngine` and `_Server`, the row packing's
`nn.encrypted.training_rows.RowsServer`) runs its ciphertext arithmetic through one `Ops`
built on a context's public evaluator, encoder and rotator.  Every helper states its level
and scale effect; ``s`` is the input scale and ``q_l`` the last prime of the input's level l.

Operation counts come from the scheme's hook (`ckks.scheme.counting`): an `Ops` given a
``counts`` counter activates it around each of its operations, and a caller may activate it
around a whole step as well (a counter re-entered counts each operation once).
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Iterable, Iterator

import numpy as np

from ckks.circuits import polynomial
from ckks.circuits.interleave import InterleavedEncoder, InterleavedRotator, check_copies
from ckks.circuits.permutation import rotate_and_sum
from ckks.errors import PrecisionWarning
from ckks.scheme.ciphertext import Ciphertext, Plaintext
from ckks.scheme.counting import OperationCounter


@contextlib.contextmanager
def ranges_checked_in_plaintext() -> Iterator[None]:
    """Run ciphertext code with ckks's "may overflow" PrecisionWarnings silenced.

    The generic magnitude bound that ckks tracks compounds worst cases through every polynomial,
    matrix product and masked sum, and overestimates a network's values by orders of magnitude.
    Encrypted inference (the plan's calibrated ranges with margin, parameters chosen so that they
    fit, InputRangeWarning at encrypt) and encrypted training (the plaintext twin's range check of
    every intermediate before anything is encrypted) check the real ranges instead.  A bound that
    is certain to be exceeded still raises LevelError.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        yield


class Ops:
    """Level- and scale-aware ciphertext operations with one context's public machinery.

    Args:
        context: a ``ckks.Context`` (a public copy is enough).
        copies: B > 1 runs every helper on B interleaved copies of S / B slots
            (`ckks.circuits.interleave`): ``enc`` and ``rotator`` are then views that repeat plaintext
            vectors B times and rotate by k B, and ``params.slots`` is S / B.
        counts: a `ckks.scheme.counting.OperationCounter` activated around every operation (None: no
            counter of its own; an outer one still sees everything).
        cache_bytes: memory allowed for encoded plaintexts reused from call to call (`plain`), keyed by a
            digest of their values, scale and level; 0 (the default) caches nothing.

    Raises:
        InputError: ``copies`` is not a power of two dividing the slots.
    """

    def __init__(self, context, copies: int = 1, counts: OperationCounter | None = None, cache_bytes: int = 0):
        self.context = context
        self.ev = context.evaluator
        self.copies = check_copies(copies, context.params.slots)
        self.enc = context.encoder if self.copies == 1 else InterleavedEncoder(context.encoder, self.copies)
        self.params = self.enc.params
        self.counts = counts
        self._rotator = None
        self._plains: dict = {}
        self._cache_left = int(cache_bytes)

    @property
    def rotator(self):
        if self.copies == 1:
            return self.context.rotator
        if self._rotator is None or self._rotator.rotator is not self.context.rotator:
            self._rotator = InterleavedRotator(self.context.rotator, self.copies)
        return self._rotator

    def counting(self) -> contextlib.AbstractContextManager:
        """``counts`` activated (``with ops.counting(): ...``), or nothing when there is no counter.

        Returns:
            A context manager.
        """
        return self.counts if self.counts is not None else contextlib.nullcontext()

    # -- plaintexts ---------------------------------------------------------------------------------
    def plain(self, values, scale: float, level: int) -> Plaintext:
        """``values`` encoded at (``scale``, ``level``), cached by a digest of the values while memory allows.

        Args:
            values: up to S real values (zero-padded).
            scale: the plaintext's scale.
            level: its level.

        Returns:
            The plaintext.
        """
        values = np.ascontiguousarray(values, dtype=np.float64)
        if not self._plains and self._cache_left <= 0:
            return self.enc.encode(values, scale, level)
        key = (hashlib.blake2b(values.tobytes(), digest_size=16).digest(), values.size, float(scale), int(level))
        plain = self._plains.get(key)
        if plain is None:
            plain = self.enc.encode(values, scale, level)
            size = plain.data.nbytes
            if size <= self._cache_left:
                self._plains[key] = plain
                self._cache_left -= size
        return plain

    def mask_scale(self, level: int, factor: float = 1.0) -> float:
        """``factor`` q_l: the scale of a mask at level l whose product a rescale brings back to the input's scale.

        Args:
            level: l, the level of the ciphertext the mask multiplies.
            factor: a factor on q_l.

        Returns:
            The scale.
        """
        return factor * float(self.params.data_moduli[level])

    # -- rotations ----------------------------------------------------------------------------------
    def rotate_many(self, ct: Ciphertext, steps: Iterable[int]) -> dict:
        """Hoisted rotations (one decomposition of c_1): level and scale kept.

        Args:
            ct: a size-2 ciphertext.
            steps: rotation steps.

        Returns:
            ``{step: rotated ciphertext}`` (empty for no steps).
        """
        steps = list(steps)
        if not steps:
            return {}
        with self.counting():
            return self.rotator.rotate_many(ct, steps)

    def rotate(self, ct: Ciphertext, step: int) -> Ciphertext:
        """rot_step(ct) (a one-step `rotate_many`): level and scale kept."""
        return self.rotate_many(ct, [step])[step]

    def accumulate(self, ct: Ciphertext, steps: Iterable[int]) -> Ciphertext:
        """ct + rot_s(ct) for each step s in turn (`ckks.circuits.permutation.rotate_and_sum`), level and scale kept.

        Args:
            ct: a size-2 ciphertext.
            steps: the steps, applied to the running sum one after the other.

        Returns:
            The sum.
        """
        with self.counting():
            return rotate_and_sum(ct, steps, self.ev, self.rotator)

    # -- products -----------------------------------------------------------------------------------
    def multiply_plain(self, ct: Ciphertext, plain: Plaintext) -> Ciphertext:
        """ct * plaintext, not rescaled: level l, scale s s_p."""
        with self.counting():
            return self.ev.multiply_plain(ct, plain)

    def rescale(self, ct: Ciphertext) -> Ciphertext:
        """Division by q_l: level l - 1, scale s / q_l."""
        with self.counting():
            return self.ev.rescale(ct)

    def product(self, a: Ciphertext, b: Ciphertext, steps: Iterable[int] = (), rescale: bool = True) -> Ciphertext:
        """a * b relinearized, the rotations ``steps`` accumulated (`accumulate`) before the rescale.

        The rotations run at scale s_a s_b, where their key-switching errors are q_l times smaller
        relative to the values than after the rescale.  Level min(l_a, l_b) - 1, scale s_a s_b / q_l
        (``rescale=False``: level min(l_a, l_b), scale s_a s_b).

        Args:
            a: a ciphertext.
            b: a ciphertext (the higher of the two is brought down to the other's level).
            steps: rotate-and-add steps before the rescale.
            rescale: end with the rescale.

        Returns:
            The product.
        """
        with self.counting():
            a, b = self.ev.align_levels(a, b)
            out = self.accumulate(self.ev.relinearize(self.ev.multiply(a, b)), steps)
            return self.ev.rescale(out) if rescale else out

    def multiply(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a * b, relinearized and rescaled: level min(l_a, l_b) - 1, scale s_a s_b / q_l."""
        return self.product(a, b)

    def masked(self, ct: Ciphertext, values, steps: Iterable[int] = (), rescale: bool = True) -> Ciphertext:
        """ct * values (encoded at scale q_l, `plain`), the rotations ``steps`` accumulated before the rescale.

        Level l - 1, scale kept (``rescale=False``: level l, scale s q_l).  The rotations run at
        scale s q_l (see `product`).

        Args:
            ct: a ciphertext at level l >= 1.
            values: the mask (S real values).
            steps: rotate-and-add steps before the rescale.
            rescale: end with the rescale.

        Returns:
            The masked ciphertext.
        """
        out = self.accumulate(self.multiply_plain(ct, self.plain(values, self.mask_scale(ct.level), ct.level)), steps)
        return self.rescale(out) if rescale else out

    def scalar(self, ct: Ciphertext, value: float) -> Ciphertext:
        """ct * value, scale kept: an integer costs nothing (level l), another value one level (l - 1).

        A non-integer is encoded as a constant at scale q_l and the product rescaled.

        Args:
            ct: a ciphertext.
            value: a real scalar.

        Returns:
            value * ct.
        """
        if float(value).is_integer():
            return self.ev.multiply_integer(ct, int(value))
        plain = self.enc.encode_constant(float(value), self.mask_scale(ct.level), ct.level)
        return self.rescale(self.multiply_plain(ct, plain))

    # -- additions ----------------------------------------------------------------------------------
    def add_constant(self, a: Ciphertext, value: float) -> Ciphertext:
        """a + c in every slot (no level, scale kept)."""
        if value == 0:
            return a
        return self.ev.add_plain(a, self.enc.encode_constant(float(value), a.scale, a.level))

    def affine(self, ct: Ciphertext, alpha: float, beta: float) -> Ciphertext:
        """alpha ct + beta (`scalar`, then `add_constant`): level l, or l - 1 for a non-integer alpha; scale kept."""
        return self.add_constant(self.scalar(ct, alpha), beta)

    def add_vector(self, a: Ciphertext, values: np.ndarray) -> Ciphertext:
        """a + v slot-wise (v zero-padded, encoded at a's scale and level by `plain`; no level)."""
        if not np.any(values):
            return a
        return self.ev.add_plain(a, self.plain(values, a.scale, a.level))

    def adjust(self, ct: Ciphertext, level: int, scale: float) -> Ciphertext:
        """ct at ``level`` with scale ``scale`` exactly (up to rounding of an integer factor): uses one level.

        Switches ct down to ``level`` + 1, multiplies by the constant 1 encoded at the integer
        scale round(scale q_(level+1) / s) and rescales.

        Args:
            ct: a ciphertext above ``level``.
            level: the target level.
            scale: the target scale.

        Returns:
            The adjusted ciphertext.
        """
        ct = self.ev.mod_switch_to(ct, level + 1)
        factor = round(scale * self.params.data_moduli[level + 1] / ct.scale)
        plain = self.enc.encode_constant(1.0, float(factor), ct.level)
        return self.rescale(self.multiply_plain(ct, plain))

    def aligned(self, a: Ciphertext, b: Ciphertext) -> tuple[Ciphertext, Ciphertext]:
        """(a, b) with the higher operand brought to the other's level and scale (`adjust`, one level of it)."""
        if a.level > b.level:
            a = self.adjust(a, b.level, b.scale)
        elif b.level > a.level:
            b = self.adjust(b, a.level, a.scale)
        return a, b

    def add(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a + b, levels and scales aligned (`aligned`): level min(l_a, l_b), the lower operand's scale."""
        return self.ev.add(*self.aligned(a, b))

    def subtract(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a - b, levels and scales aligned (`aligned`): level min(l_a, l_b), the lower operand's scale."""
        return self.ev.sub(*self.aligned(a, b))

    # -- polynomials --------------------------------------------------------------------------------
    def polyval(self, ct: Ciphertext, coeffs) -> Ciphertext:
        """sum_k c_k x^k: ceil(log2(d + 1)) levels, scale kept (``ckks.circuits.polynomial``)."""
        return polynomial.polyval(ct, np.asarray(coeffs, dtype=np.float64), self.ev, self.enc)

    def chebval(self, ct: Ciphertext, coeffs) -> Ciphertext:
        """sum_k c_k T_k(x) for x in [-1, 1]: ceil(log2(d + 1)) levels, scale kept."""
        return polynomial.chebval(ct, np.asarray(coeffs, dtype=np.float64), (-1.0, 1.0), self.ev, self.enc)

    def activation(self, ct: Ciphertext, stage) -> Ciphertext:
        """A PolyStage on one ciphertext (see `nn.encrypted.plan`)."""
        if stage.mode == "square":
            return self.multiply(ct, ct)
        if stage.mode == "monic2":
            return self.multiply(ct, self.add_constant(ct, float(stage.coeffs[1])))
        return self.polyval(ct, stage.coeffs)
