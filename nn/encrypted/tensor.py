"""Encrypted inputs and outputs of an EncryptedModel, and their byte format.

An `EncryptedBatch` is a list of ``ckks.CKKSVector`` laid out as the
plan's layout says, plus what the server and the client need to check that
it belongs to the plan: the layout name, the number of samples, the plan's
fingerprint and whether it is an input or an output.  ``serialize()`` writes
one ``ckks.container`` blob (header type ``"nn.encrypted.batch"``) holding the
vectors' own serialized bytes; ``EncryptedBatch.load(context, blob)`` checks
every vector against the context (parameters and keys).
"""

from __future__ import annotations

import numpy as np

from ckks import container
from ckks.errors import InputError, InputTypeError, SerializationError
from ckks.vector import CKKSVector
from nn.errors import translating_methods

TYPE_NAME = "nn.encrypted.batch"
#: Largest sample count a loaded batch may claim.
MAX_COUNT = 1 << 25


def _is_count(value, high: int) -> bool:
    """A JSON integer (not a bool, not a float such as 1e400) in [1, high]."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and 1 <= value <= high


@translating_methods
class EncryptedBatch:
    """Ciphertexts of a batch of samples in a plan's layout.

    Args:
        vectors: the ciphertexts (``ckks.CKKSVector``).
        layout: "sample" or "batch".
        count: number of samples.
        plan_id: fingerprint of the plan they were made for.
        kind: "input" or "output".

    Raises:
        InputTypeError: ``vectors`` is not a non-empty list of CKKSVectors, or ``plan_id`` is not a string.
        InputError: an unknown ``layout`` or ``kind``, or ``count`` is not an integer in [1, 2^25].
    """

    def __init__(self, vectors: list[CKKSVector], layout: str, count: int, plan_id: str, kind: str = "input"):
        if not isinstance(vectors, (list, tuple)) or not vectors or not all(
                isinstance(v, CKKSVector) for v in vectors):
            raise InputTypeError("vectors must be a non-empty list of ckks.CKKSVector")
        if not isinstance(plan_id, str):
            raise InputTypeError(f"plan_id must be a string, got {type(plan_id).__name__}")
        if layout not in ("sample", "batch") or kind not in ("input", "output") or not _is_count(count, MAX_COUNT):
            raise InputError(f"an EncryptedBatch needs layout 'sample' or 'batch', kind 'input' or 'output' and a "
                             f"count in [1, {MAX_COUNT}], got {layout!r}, {kind!r}, {count!r}")
        self.vectors = list(vectors)
        self.layout = layout
        self.count = int(count)
        self.plan_id = plan_id
        self.kind = kind

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        level = self.vectors[0].level if self.vectors else None
        return (
            f"EncryptedBatch({self.kind}, {self.count} sample(s), layout {self.layout!r}, "
            f"{len(self.vectors)} ciphertext(s), level {level})"
        )

    @property
    def level(self) -> int:
        """The level of the ciphertexts (all equal)."""
        return min(v.level for v in self.vectors)

    def serialize(self) -> bytes:
        """These ciphertexts as bytes (a ``ckks.container`` blob of the vectors' own blobs).

        Returns:
            The bytes; `load` reads them back.
        """
        blobs = [v.serialize() for v in self.vectors]
        header = {
            "type": TYPE_NAME, "layout": self.layout, "count": self.count, "plan": self.plan_id,
            "kind": self.kind, "lengths": [len(b) for b in blobs],
        }
        payload = np.frombuffer(b"".join(blobs), dtype=np.int8)
        return container.pack(header, [("vectors", payload)])

    @staticmethod
    def load(context, blob: bytes) -> EncryptedBatch:
        """An EncryptedBatch from `serialize` output, checked against ``context``.

        Args:
            context: the ``ckks.Context`` (private or public copy) the ciphertexts belong to.
            blob: the bytes.

        Returns:
            The EncryptedBatch.

        Raises:
            SerializationError: truncated or corrupted bytes, another type of object, or ciphertexts
                made for other parameters or keys (``WrongContextError``).
            InputTypeError: ``blob`` is not bytes.
        """
        header, payload = container.open_blob(blob)
        if header.get("type") != TYPE_NAME:
            raise SerializationError(f"expected an {TYPE_NAME!r} blob, got type {header.get('type')!r}")
        try:
            lengths, count = header["lengths"], header["count"]
            layout, plan, kind = header["layout"], header["plan"], header["kind"]
        except (KeyError, TypeError) as exc:
            raise SerializationError(f"malformed {TYPE_NAME} header: missing {exc}") from exc
        if not isinstance(lengths, list) or not all(_is_count(n, len(payload)) for n in lengths):
            raise SerializationError(f"malformed {TYPE_NAME} header: lengths must be a list of byte counts")
        if not _is_count(count, MAX_COUNT) or not isinstance(plan, str) or len(plan) > 64:
            raise SerializationError(f"malformed {TYPE_NAME} header: count or plan out of range")
        if layout not in ("sample", "batch") or kind not in ("input", "output") or count < 1:
            raise SerializationError(f"malformed {TYPE_NAME} header: layout {layout!r}, kind {kind!r}, count {count}")
        data = bytes(payload)
        if sum(lengths) != len(data) or min(lengths, default=1) < 1:
            raise SerializationError(f"{TYPE_NAME}: the vector lengths do not match the payload")
        offset, vectors = 0, []  # the payload is the int8 array: the concatenated vector blobs
        for n in lengths:
            vectors.append(CKKSVector.load(context, data[offset : offset + n]))
            offset += n
        return EncryptedBatch(vectors, layout, count, plan, kind)
