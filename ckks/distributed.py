"""Scale-out on ``dask.distributed``: many independent encrypted computations, public material only on workers.

The deployment shape::

    client (holds the secret key)                 workers (hold public material only)
    ctx = Context(...); v_i = ctx.encrypt(x_i)
    public = scatter_public(client, ctx)  ---->   Context.load(ctx.serialize()): public key,
                                                  relinearization, Galois and bootstrapping keys
    vector bytes (CKKSVector.serialize) ---->     CKKSVector.load(public, blob); f(v); serialize
    ctx.decrypt(...)                     <----    result bytes

The context crosses the wire once, broadcast to every worker
(``client.scatter(..., broadcast=True)``) and kept there for later calls with the same
client and keys (`scatter_once`), as the bytes of ``Context.serialize()``
without the secret key: a `PublicContext` holds only those bytes, so no pickle of
it can carry the secret key, whatever context the caller passes (a private one
included).  A worker loads the bytes once (a loaded context registers its
bootstrapper, so ``v.bootstrap()`` works there).  `map_vectors` sends vectors as
``CKKSVector.serialize()`` bytes, checked on arrival by ``CKKSVector.load``;
computations with many large intermediate ciphertexts (the encrypted-inference
stages) pass residues as they are (`ciphertext_state`), since a pickled
``Ciphertext`` would carry its parameters' tables (ten times the residues).  A pickled context or vector also carries a
fresh PRNG seeded from each worker's OS, never the client's state
(``ckks.ring.sampling``).

`map_vectors` applies a function to many vectors, a chunk of them per task, and
returns the results bound to the caller's context; `bootstrap` is
``map_vectors(client, CKKSVector.bootstrap, vectors)``.  The encrypted-inference
layer builds on the same pieces (`nn.encrypted.distributed`).  dask is an
optional dependency (the ``scale`` extra): it is imported only when a client is
used.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ckks.context import Context
from ckks.errors import ContextMismatchError, InputError, InputTypeError
from ckks.scheme.ciphertext import Ciphertext
from ckks.vector import CKKSVector

#: Held by every task while it computes.  ckks selects numba's "workqueue" threading layer where TBB is
#: missing (it survives fork, `ckks.ring`), and that layer aborts the process when two threads launch
#: parallel kernels at once, as the threads of one dask worker would (``threads_per_worker > 1``, or
#: ``LocalCluster(processes=False)``).  So the tasks of one process compute one at a time; the speed-up
#: comes from worker processes (``LocalCluster(processes=True, threads_per_worker=1)``).
KERNELS = threading.RLock()


class PublicContext:
    """A context's public material as it is sent to workers: the bytes of ``Context.serialize()``, no secret key.

    Pickling sends the bytes only; `get` loads them (once per copy, so once per worker when
    scattered with ``broadcast=True``) into a public ``ckks.Context``.

    Args:
        context: the client's context (private or public); its secret key is never read.

    Raises:
        InputTypeError: ``context`` is not a ``ckks.Context``.
    """

    def __init__(self, context: Context):
        if not isinstance(context, Context):
            raise InputTypeError(f"expected a ckks.Context, got {type(context).__name__}")
        self.blob = context.serialize()  # secret_key=False: the public key, relin, Galois and bootstrapping keys
        self.key_id = context.key_id
        self._loaded: Context | None = None

    def __reduce__(self):
        return _public_from_blob, (self.blob, self.key_id)

    def get(self) -> Context:
        """The public context (loaded from the bytes on first use, then cached)."""
        with KERNELS:
            if self._loaded is None:
                self._loaded = Context.load(self.blob)
            return self._loaded


def _public_from_blob(blob: bytes, key_id: str) -> PublicContext:
    obj = PublicContext.__new__(PublicContext)
    obj.blob, obj.key_id, obj._loaded = blob, key_id, None
    return obj


def check_client(client: Any) -> Any:
    """``client`` if it is a ``dask.distributed.Client`` with at least one worker.

    Args:
        client: the object to check.

    Returns:
        The client.

    Raises:
        InputTypeError: ``client`` is not a ``distributed.Client`` (or dask is not installed:
            ``pip install 'ckks-nn[scale]'``).
        InputError: the cluster has no worker.
    """
    try:
        from distributed import Client
    except ModuleNotFoundError as exc:  # pragma: no cover - the scale extra is missing
        raise InputTypeError(
            "a dask client was given but dask.distributed is not installed: pip install 'ckks-nn[scale]'"
        ) from exc
    if not isinstance(client, Client):
        raise InputTypeError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    if not client.scheduler_info().get("workers"):
        raise InputError("the dask cluster has no worker: start some (LocalCluster(n_workers=2)) or wait_for_workers")
    return client


def worker_threads(client: Any) -> int:
    """The number of task slots in the cluster (the sum of the workers' threads).

    Args:
        client: a ``dask.distributed.Client``.

    Returns:
        At least 1.
    """
    workers = client.scheduler_info().get("workers", {})
    return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))


def scatter_once(client: Any, owner: object, version: object, make: Callable[[], object]) -> Any:
    """A future of ``make()`` broadcast to every worker, sent once per (client, owner, version) and then reused.

    The futures are remembered while ``owner`` lives (weakly keyed), so the cluster keeps the data
    between calls; a future whose data was lost (a restarted cluster) is sent again.

    Args:
        client: a ``dask.distributed.Client``.
        owner: the object the data belongs to (a context, a compiled model).
        version: what must match for the sent data to be reused (e.g. the set of Galois keys).
        make: builds what is sent.

    Returns:
        The dask future.
    """
    sent = _SENT.setdefault(owner, {})
    key = (client.id, version)
    future = sent.get(key)
    if future is None or future.status != "finished":
        future = sent[key] = client.scatter(make(), broadcast=True, hash=False)
    return future


_SENT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scatter_public(client: Any, context: Context) -> Any:
    """Send a context's public material to every worker, once per client and key set.

    Args:
        client: a ``dask.distributed.Client``.
        context: the client's context (private or public); only ``context.serialize()`` is sent.

    Returns:
        A dask future of a `PublicContext`; pass it to tasks, which call ``.get()``.  Later calls with
        the same context, client and keys return the same future (nothing is sent again).

    Raises:
        InputTypeError: ``client`` or ``context`` has the wrong type.
        InputError: the cluster has no worker.
    """
    check_client(client)
    if not isinstance(context, Context):
        raise InputTypeError(f"expected a ckks.Context, got {type(context).__name__}")
    keys = context.galois_keys
    version = (tuple(keys.elements) if keys is not None else (), context._bootstrapper() is not None)
    return scatter_once(client, context, version, lambda: PublicContext(context))


def ciphertext_state(ct: Ciphertext) -> tuple:
    """A ciphertext without its parameters, for passing between the tasks of one computation.

    A pickled ``Ciphertext`` carries its ``Parameters`` with their NTT tables (about 1.4 MB at
    N = 8192, where the residues are 130 KB), and ``CKKSVector.serialize`` packs residues at their
    primes' widths (compact, checked, but about 25 ms a ciphertext at N = 8192 each way).  Between
    stages of one computation on the cluster the residues travel as they are.

    Args:
        ct: the ciphertext.

    Returns:
        (residues, scale, key id, seed, bound, noise, bound_exact); `ciphertext_from_state` inverts it.
    """
    return (ct.data, ct.scale, ct.key_id, ct.seed, ct.bound, ct.noise, ct.bound_exact)


def ciphertext_from_state(context: Context, state: tuple) -> Ciphertext:
    """The ciphertext of `ciphertext_state` output, on ``context``'s parameters.

    Args:
        context: the context (same parameters and key) the ciphertext belongs to.
        state: what `ciphertext_state` returned.

    Returns:
        The ciphertext (its shape, levels and scale checked by ``Ciphertext``).

    Raises:
        ContextMismatchError: the ciphertext was encrypted under another key than ``context``'s.
        InputError: the residues do not fit the parameters (from ``Ciphertext``).
    """
    data, scale, key_id, seed, bound, noise, bound_exact = state
    if key_id != context.key_id:
        raise ContextMismatchError(
            "a ciphertext was encrypted under another key than this context's; run on the public copy of the "
            "context that encrypted it"
        )
    return Ciphertext(context.params, data, scale, key_id, seed, bound, noise, bound_exact)


def split(items: Sequence, parts: int) -> list[list]:
    """``items`` in ``parts`` contiguous chunks of near-equal length (none empty; fewer if there are fewer items).

    Args:
        items: the sequence.
        parts: the wanted number of chunks (at least 1).

    Returns:
        The chunks, in order; their concatenation is ``list(items)``.
    """
    items = list(items)
    if not items:
        return []
    parts = max(1, min(int(parts), len(items)))
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        chunks.append(items[start:stop])
        start = stop
    return chunks


def gather_in_order(client: Any, futures: list, progress: Callable[[int, int], None] | None = None) -> list:
    """The results of ``futures`` in their order, calling ``progress(done, total)`` as each one finishes.

    Args:
        client: the ``dask.distributed.Client`` the futures belong to.
        futures: dask futures.
        progress: optional callback.

    Returns:
        The results; a task's exception is raised here, with its own type, once every task has
        finished (none is left computing behind the caller's back).
    """
    from distributed import as_completed

    for done, _ in enumerate(as_completed(futures), start=1):
        if progress is not None:
            progress(done, len(futures))
    return client.gather(futures)


def _map_chunk(public: PublicContext, function: Callable, blobs: list[bytes], args: tuple) -> list[bytes]:
    """Worker side of `map_vectors`: load, apply, serialize."""
    context = public.get()
    with KERNELS:
        return [function(CKKSVector.load(context, b), *args).serialize() for b in blobs]


def map_vectors(
    client: Any,
    function: Callable,
    vectors: Sequence[CKKSVector],
    *args: Any,
    chunks: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[CKKSVector]:
    """``[function(v, *args) for v in vectors]`` computed on a dask cluster with public material only.

    The vectors' context is sent once (`scatter_public`: no secret key), the vectors in
    ``chunks`` tasks (default: one per worker thread) as serialized bytes; the results come back
    bound to the vectors' own context, so a private context can decrypt them directly.

    Args:
        client: a ``dask.distributed.Client``.
        function: a picklable function (a module-level function or a method such as
            ``CKKSVector.bootstrap``) taking a vector bound to the worker's public context and
            returning a CKKSVector.
        vectors: CKKSVectors of one context, each held in one ciphertext.
        *args: extra arguments passed to every call (pickled once per task).
        chunks: the number of tasks (default: the number of worker threads).
        progress: optional callback(done, total) called as tasks finish.

    Returns:
        The results, in the order of ``vectors``.

    Raises:
        InputTypeError: ``client`` is not a dask client, or ``vectors`` holds something other than CKKSVectors.
        InputError: no vectors, a vector split over several ciphertexts, or a cluster without workers.
        ContextMismatchError: the vectors belong to different contexts.
    """
    check_client(client)
    vectors = list(vectors)
    if not vectors:
        raise InputError("map_vectors needs at least one vector")
    for v in vectors:
        if not isinstance(v, CKKSVector):
            raise InputTypeError(f"map_vectors takes CKKSVectors, got {type(v).__name__}")
    context = vectors[0].context
    if any(v.context.key_id != context.key_id or v.context.params != context.params for v in vectors):
        raise ContextMismatchError("map_vectors takes vectors of one context (one parameter set, one key)")
    blobs = [v.serialize() for v in vectors]
    public = scatter_public(client, context)
    futures = [
        client.submit(_map_chunk, public, function, part, args, pure=False)
        for part in split(blobs, chunks or worker_threads(client))
    ]
    results = gather_in_order(client, futures, progress)
    return [CKKSVector.load(context, b) for part in results for b in part]


def bootstrap(
    client: Any, vectors: Sequence[CKKSVector], progress: Callable[[int, int], None] | None = None
) -> list[CKKSVector]:
    """Bootstrap many vectors on a dask cluster: ``[v.bootstrap() for v in vectors]``, spread over the workers.

    The workers get the public context with its bootstrapping keys (``Context.serialize()``),
    never the secret key.

    Args:
        client: a ``dask.distributed.Client``.
        vectors: CKKSVectors of a bootstrapping context (``Context.for_bootstrapping`` and
            ``generate_bootstrapping_keys()``), one ciphertext each.
        progress: optional callback(done, total) called as tasks finish.

    Returns:
        The refreshed vectors, in order, bound to the vectors' context.

    Raises:
        InputTypeError: ``client`` is not a dask client, or ``vectors`` holds something other than CKKSVectors.
        InputError: no vectors, a vector split over several ciphertexts, or a cluster without workers.
        ContextMismatchError: the vectors belong to different contexts.
        KeyMissingError: the context has no bootstrapping keys (raised by the workers).
    """
    return map_vectors(client, CKKSVector.bootstrap, vectors, progress=progress)
