"""Counting homomorphic operations: one hook in the scheme, active only inside ``with OperationCounter()``.

The cost of a CKKS circuit is dominated by a few operations (Halevi and Shoup,
CRYPTO 2014 and 2018; Jiang et al., CCS 2018, count their matrix products the
same way):

* ``rotations``: every automorphism with a key switch, in `Rotator` (hoisted
  rotations count one each, a composed rotation one per key it applies, and
  conjugations count too);
* ``hoisted_decompositions``: one per `Rotator.rotate_many` call whose steps share a
  digit decomposition of c_1 (a step with its own key);
* ``ct_ct_multiplications``: tensor products, `Evaluator.multiply` (and ``square``);
* ``pt_multiplications``: `Evaluator.multiply_plain` and ``multiply_scalar``;
* ``relinearizations``: `Evaluator.relinearize` of a size-3 ciphertext (a key switch);
* ``rescales``: `Evaluator.rescale` (one level each).

Additions, level switches and integer multiples (`Evaluator.multiply_integer`: exact,
no level, no encoding) are free by comparison and not counted.

Usage::

    with OperationCounter() as counts:
        y = transform.apply(x, evaluator, encoder, rotator)
    counts.rotations, counts.key_switches, counts.as_dict()

A counter counts the operations of the thread that activated it; counters nest (an
outer one sees everything an inner one sees), and activating one counter again while it
is active (re-entering it) counts each operation once.  Inactive, the hook is one test
of an empty list per operation: nothing measurable next to the microseconds an
operation takes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ckks.errors import InputError

__all__ = ["ACTIVE", "FIELDS", "OperationCounter", "record"]

#: The counter fields, in the order of `OperationCounter`'s constructor.
FIELDS = (
    "rotations",
    "ct_ct_multiplications",
    "pt_multiplications",
    "relinearizations",
    "rescales",
    "hoisted_decompositions",
)

#: Every active counter (of all threads).  The scheme's operations call `record` only when it is not empty.
ACTIVE: list[OperationCounter] = []
_LOCK = threading.Lock()


def record(field: str, count: int = 1) -> None:
    """Add ``count`` to ``field`` of every counter active in the calling thread (the scheme's hook).

    Callers test ``if ACTIVE:`` first, so that an inactive hook costs one test of an empty list.

    Args:
        field: one of `FIELDS`.
        count: how many operations.
    """
    ident = threading.get_ident()
    for counter in ACTIVE:
        if counter._thread == ident:
            setattr(counter, field, getattr(counter, field) + count)


@dataclass
class OperationCounter:
    """Counts of homomorphic operations; a context manager that counts while active.

    ``OperationCounter(rotations, ct_ct_multiplications, pt_multiplications, relinearizations,
    rescales, hoisted_decompositions)``, all 0 by default.
    """

    rotations: int = 0
    """Galois automorphisms with a key switch (hoisted ones count one each, a composed rotation one per key
    it applies; conjugations count too)."""
    ct_ct_multiplications: int = 0
    """Ciphertext x ciphertext tensor products."""
    pt_multiplications: int = 0
    """Ciphertext x plaintext (and x encoded constant) products."""
    relinearizations: int = 0
    """Key switches of a size-3 product back to size 2."""
    rescales: int = 0
    """Divisions by the last prime (one level each)."""
    hoisted_decompositions: int = 0
    """Digit decompositions shared by a set of hoisted rotations (`Rotator.rotate_many` calls with a step
    that has its own key)."""

    # not dataclass fields (no annotation): the activation state
    _depth = 0
    _thread = None

    def __enter__(self) -> OperationCounter:
        """Start counting in this thread (re-entrant: an active counter entered again counts once).

        Returns:
            The counter itself.

        Raises:
            InputError: the counter is active in another thread (use one counter per thread).
        """
        ident = threading.get_ident()
        with _LOCK:
            if self._depth and self._thread != ident:
                raise InputError(
                    "this OperationCounter is already counting in another thread; give each thread its own "
                    "counter (and add them up afterwards)"
                )
            if not self._depth:
                self._thread = ident
                ACTIVE.append(self)
            self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        with _LOCK:
            self._depth -= 1
            if not self._depth:
                self._thread = None
                for i, counter in enumerate(ACTIVE):
                    if counter is self:  # by identity: two counters with equal counts compare equal
                        del ACTIVE[i]
                        break

    @property
    def active(self) -> bool:
        """Whether the counter is counting now."""
        return self._depth > 0

    @property
    def key_switches(self) -> int:
        """Rotations plus relinearizations: the expensive operations."""
        return self.rotations + self.relinearizations

    def as_dict(self) -> dict:
        """The counts as a plain dict (with ``key_switches``).

        Returns:
            ``{name: count}``: the fields and ``key_switches``.
        """
        return {
            "rotations": self.rotations,
            "ct_ct_multiplications": self.ct_ct_multiplications,
            "pt_multiplications": self.pt_multiplications,
            "relinearizations": self.relinearizations,
            "key_switches": self.key_switches,
            "rescales": self.rescales,
            "hoisted_decompositions": self.hoisted_decompositions,
        }

    def minus(self, other: OperationCounter) -> OperationCounter:
        """Counts of ``self`` minus those of ``other`` (one step from two running totals).

        Args:
            other: the earlier totals.

        Returns:
            A new, inactive counter of ``self``'s type.
        """
        return type(self)(*(getattr(self, name) - getattr(other, name) for name in FIELDS))

    def copy(self) -> OperationCounter:
        """A snapshot (inactive).

        Returns:
            A new counter of ``self``'s type with the same numbers.
        """
        return type(self)(*(getattr(self, name) for name in FIELDS))
