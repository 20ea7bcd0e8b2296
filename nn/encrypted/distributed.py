"""Encrypted inference on a ``dask.distributed`` cluster: ``em.run(server, enc, client=...)`` and `run_batches`.

The deployment shape (`ckks.distributed`): the client holds the secret key,
encrypts and decrypts; the workers hold public material only.  The public
context (``Context.serialize()``: public, relinearization and Galois keys, never
the secret key) and the compiled plan (the ``EncryptedModel``: weights and layout,
no key) are each sent once, broadcast to every worker, and kept there for later
calls with the same client (``ckks.distributed.scatter_once``); the ciphertexts
travel as their residues (``ckks.distributed.ciphertext_state``: the packed and
checked ``serialize()`` format costs about 25 ms a ciphertext each way at
N = 8192, and the batch layout moves hundreds of them between stages).

How one batch is spread (``em.run(server, enc, client=client)``):

* layout "sample" (one image per ciphertext): the images are cut into one chunk
  per worker thread; each task runs the whole plan on its chunk (``em.run`` on the
  worker), so the work divides with no communication between workers.
* layout "batch" (slot = image, one ciphertext per feature), more than N/2 images:
  each group of N/2 images is an independent task.
* layout "batch", one group: the ciphertexts are cut in chunks, stage by stage.
  A linear stage ``y_j = sum_i M[i, j] x_i + b_j`` needs every input ciphertext, so
  each task computes a chunk of the outputs j (the columns of M) from all inputs;
  an activation is slot-wise, so each task squares its own chunk; the soft-argmax
  (sums over the classes) runs as one task.  Between stages the chunks stay on
  the workers (dask futures); dask moves them where the next stage needs them.

`run_batches` runs many batches (many users' requests, say), one task per batch,
with the plan and the context sent once for all of them.  The results equal a
local ``em.run`` up to CKKS noise (the encryption randomness of the constants
differs, nothing else): the same stages run on the same ciphertexts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ckks.context import Context
from ckks.distributed import (
    KERNELS,
    PublicContext,
    check_client,
    ciphertext_from_state,
    ciphertext_state,
    gather_in_order,
    scatter_once,
    scatter_public,
    split,
    worker_threads,
)
from ckks.errors import InputTypeError
from ckks.vector import CKKSVector
from nn.encrypted.ops import Ops, ranges_checked_in_plaintext
from nn.encrypted.plan import AffineStage, PolyStage
from nn.encrypted.tensor import EncryptedBatch

if TYPE_CHECKING:
    from nn.encrypted.compiler import EncryptedModel


def run_batches(
    em: EncryptedModel,
    context: Context,
    batches: Sequence[EncryptedBatch],
    client: Any = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[EncryptedBatch]:
    """``[em.run(context, b) for b in batches]``, one dask task per batch when ``client`` is given.

    Args:
        em: the EncryptedModel.
        context: the server's context (``ctx.public_copy()``); with a client, only its public
            bytes are sent to the workers, once.
        batches: EncryptedBatches from ``em.encrypt`` (each at most ``em.batch_size`` samples).
        client: a ``dask.distributed.Client``, or None to run here, one batch after the other.
        progress: optional callback(done, total) called as batches finish.

    Returns:
        One output EncryptedBatch per input batch, in order, bound to ``context``.

    Raises:
        InputTypeError: ``context`` is not a ``ckks.Context``, ``batches`` holds something other
            than EncryptedBatches, or ``client`` is not a dask client.
        InputError: the dask cluster has no worker.
        ContextMismatchError: a batch was not encrypted for this model under this context's key
            (raised by ``em.run``, on the worker).
        KeyMissingError: the context lacks a Galois key of the plan.
        LevelError: a batch has fewer levels left than the plan needs.
    """
    em._check_context(context)
    batches = list(batches)
    for b in batches:
        if not isinstance(b, EncryptedBatch):
            raise InputTypeError(f"run_batches takes EncryptedBatches from em.encrypt, got {type(b).__name__}")
    if client is None:
        outputs = []
        for i, b in enumerate(batches, start=1):
            outputs.append(em.run(context, b))
            if progress is not None:
                progress(i, len(batches))
        return outputs
    check_client(client)
    if not batches:
        return []
    model, public = _send_plan(client, em, context)
    futures = [client.submit(_run_part, model, public, _header(b), _dumps(b.vectors), pure=False) for b in batches]
    results = gather_in_order(client, futures, progress)
    return [_output(em, context, states, b.count) for states, b in zip(results, batches)]


def run_distributed(
    em: EncryptedModel,
    context: Context,
    enc: EncryptedBatch,
    client: Any,
    progress: Callable[[int, int], None] | None = None,
) -> EncryptedBatch:
    """One batch spread over a dask cluster (what ``em.run(context, enc, client=client)`` calls after its checks).

    Args:
        em: the EncryptedModel.
        context: the server's context, already checked by ``em.run``.
        enc: the input EncryptedBatch, already checked by ``em.run``.
        client: a ``dask.distributed.Client``.
        progress: optional callback(done, total): per finished chunk (layout "sample", several
            groups of the batch layout) or per stage (one group of the batch layout).

    Returns:
        The output EncryptedBatch, bound to ``context``.

    Raises:
        InputTypeError: ``client`` is not a dask client.
        InputError: the dask cluster has no worker.
    """
    check_client(client)
    model, public = _send_plan(client, em, context)
    threads = worker_threads(client)
    if em.layout == "sample":
        parts = [(chunk, min(em.batch_size, len(chunk) * em.copies)) for chunk in split(enc.vectors, threads)]
    else:
        width = len(enc.vectors) // -(-enc.count // em.params.slots)  # ciphertexts per group of N/2 samples
        groups = [enc.vectors[i : i + width] for i in range(0, len(enc.vectors), width)]
        if len(groups) == 1:
            return _run_stagewise(client, em, model, public, context, enc, threads, progress)
        parts = [(g, min(em.params.slots, enc.count - i * em.params.slots)) for i, g in enumerate(groups)]
    futures = [
        client.submit(_run_part, model, public, (em.layout, count, em.plan_id, "input"), _dumps(vectors), pure=False)
        for vectors, count in parts
    ]
    results = gather_in_order(client, futures, progress)
    return _output(em, context, [state for states in results for state in states], enc.count)


def _send_plan(client, em, context) -> tuple:
    """Broadcast the plan and the public context to every worker, once per client (reused by later calls)."""
    return scatter_once(client, em, em.plan_id, lambda: em), scatter_public(client, context)


def _header(batch: EncryptedBatch) -> tuple:
    return batch.layout, batch.count, batch.plan_id, batch.kind


def _dumps(vectors_or_ciphertexts: list) -> list[tuple]:
    """Ciphertexts as `ckks.distributed.ciphertext_state` tuples (residues as they are)."""
    return [ciphertext_state(getattr(c, "ciphertext", c)) for c in vectors_or_ciphertexts]


def _loads(context: Context, chunks: list) -> list:
    return [ciphertext_from_state(context, state) for part in chunks for state in part]


def _vectors(context: Context, states: list) -> list:
    """Ciphertext states as CKKSVectors of all slots, as ``em.run`` returns them."""
    return [CKKSVector(context, ct, context.slots) for ct in _loads(context, [states])]


def _output(em, context: Context, states: list, count: int) -> EncryptedBatch:
    return EncryptedBatch(_vectors(context, states), em.layout, count, em.plan_id, "output")


def _run_part(em, public: PublicContext, header: tuple, states: list) -> list[tuple]:
    """Worker: the whole plan on one batch (a chunk of images, a group, or a user's batch), by ``em.run``."""
    context = public.get()
    with KERNELS:
        batch = EncryptedBatch(_vectors(context, states), *header)
        return _dumps(em.run(context, batch).vectors)


# -- batch layout, one group: chunks of ciphertexts, stage by stage -----------------------------------------
def _run_stagewise(client, em, model, public, context, enc, threads, progress) -> EncryptedBatch:
    from distributed import wait

    chunks = client.scatter([_dumps(part) for part in split(enc.vectors, threads)], hash=False)
    total = len(em.stages)
    for index, stage in enumerate(em.stages):
        if isinstance(stage, AffineStage):
            columns = split(range(stage.matrix.shape[1]), threads)
            chunks = [
                client.submit(_affine_part, model, public, index, (c[0], c[-1] + 1), chunks, pure=False)
                for c in columns
            ]
        elif isinstance(stage, PolyStage):
            chunks = [client.submit(_poly_part, model, public, index, c, pure=False) for c in chunks]
        else:  # the soft-argmax: sums over all classes, one task
            chunks = [client.submit(_whole_stage, model, public, index, chunks, pure=False)]
        wait(chunks)
        if progress is not None:
            progress(index + 1, total)
    return _output(em, context, [state for part in client.gather(chunks) for state in part], enc.count)


_COLUMN_LAYOUTS: dict = {}


def _column_layout(em, index: int, columns: tuple[int, int]):
    """A one-stage BatchLayout computing output columns [start, stop) of stage ``index`` (cached per worker)."""
    key = (em.plan_id, index, columns)
    layout = _COLUMN_LAYOUTS.get(key)
    if layout is None:
        from nn.encrypted.batch_layout import BatchLayout

        stage = em.stages[index]
        start, stop = columns
        part = dataclasses.replace(stage, matrix=stage.matrix[:, start:stop], bias=stage.bias[start:stop])
        if len(_COLUMN_LAYOUTS) > 256:
            _COLUMN_LAYOUTS.clear()
        layout = _COLUMN_LAYOUTS[key] = BatchLayout([part], em.params.slots)
    return layout


def _affine_part(em, public: PublicContext, index: int, columns: tuple[int, int], chunks: list) -> list[tuple]:
    """Worker: outputs ``columns`` of a linear stage, from every input ciphertext of the group."""
    context = public.get()
    with KERNELS, ranges_checked_in_plaintext():
        out = _column_layout(em, index, columns).run_stage(Ops(context), 0, _loads(context, chunks))
        return _dumps(out)


def _poly_part(em, public: PublicContext, index: int, chunk: list) -> list[tuple]:
    """Worker: a slot-wise activation on a chunk of ciphertexts."""
    context = public.get()
    ops = Ops(context)
    with KERNELS, ranges_checked_in_plaintext():
        out = [ops.activation(ct, em.stages[index]) for ct in _loads(context, [chunk])]
        return _dumps(out)


def _whole_stage(em, public: PublicContext, index: int, chunks: list) -> list[tuple]:
    """Worker: a stage that needs the whole group (the soft-argmax), by the plan's own layout."""
    context = public.get()
    with KERNELS, ranges_checked_in_plaintext():
        out = em._layout.run_stage(Ops(context), index, _loads(context, chunks))
        return _dumps(out)
