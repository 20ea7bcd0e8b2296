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
from ckks.errors import SerializationError
from ckks.vector import CKKSVector

TYPE_NAME = "nn.encrypted.batch"


class EncryptedBatch:
    """Ciphertexts of a batch of samples in a plan's layout.

    Args:
        vectors: the ciphertexts (``ckks.CKKSVector``).
        layout: "sample" or "batch".
        count: number of samples.
        plan_id: fingerprint of the plan they were made for.
        kind: "input" or "output".
    """

    def __init__(self, vectors: list[CKKSVector], layout: str, count: int, plan_id: str, kind: str = "input"):
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
            lengths = [int(n) for n in header["lengths"]]
            layout, count, plan, kind = header["layout"], int(header["count"]), str(header["plan"]), header["kind"]
        except (KeyError, TypeError, ValueError) as exc:
            raise SerializationError(f"malformed {TYPE_NAME} header: {exc}") from exc
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
