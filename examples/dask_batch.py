"""Encrypted batch work on dask.distributed: the client keeps the secret key, the workers compute.

Run with ``python examples/dask_batch.py`` (needs ``pip install "ckks-nn[scale]"``, i.e. dask[distributed]).

1. The client makes a context, keeps it, and ships only ``ctx.public_copy()`` to the cluster
   (``client.scatter(..., broadcast=True)``): no secret key leaves the client (a vector bound to
   the private context refuses to be pickled, so encrypt what you ship with the public copy).
2. The client encrypts a batch of vectors and submits one task per chunk of the batch.
3. Each worker evaluates the circuit (here x * x + bias, with the bias encrypted on the worker).
4. The client gathers the encrypted results and decrypts them.

Randomness: a context's random stream is never pickled (`ckks.ring.sampling`); every copy that
arrives on a worker reseeds from the worker's OS, so no two workers draw the same encryption
randomness (a reused stream would let anybody subtract two ciphertexts and read the difference
of the plaintexts).
"""

from __future__ import annotations

import numpy as np

import ckks


def circuit(public: ckks.Context, vectors: list, bias: float) -> tuple[list, list[bytes]]:
    """The server's computation on one chunk: x * x + Enc(bias) for each vector.

    Args:
        public: the public context (no secret key).
        vectors: encrypted CKKSVectors.
        bias: a public number, encrypted on the worker with the public key.

    Returns:
        The encrypted results, and the c_1 of each fresh worker-side encryption (to show that the
        randomness differs from worker to worker).
    """
    results, fresh = [], []
    for v in vectors:
        b = public.encrypt(np.full(v.size, bias))
        fresh.append(b.ciphertext.data[1].tobytes())
        results.append(v * v + b)
    return results, fresh


def run(client, ctx: ckks.Context, batch: list[np.ndarray], bias: float = 0.5, chunks: int = 2) -> list[np.ndarray]:
    """Encrypt ``batch`` with ``ctx``, compute on the cluster of ``client``, gather and decrypt.

    Args:
        client: a ``dask.distributed.Client``.
        ctx: the owner's context (with the secret key; it never leaves this process).
        batch: the plaintext vectors.
        bias: the public constant the workers add.
        chunks: how many tasks to split the batch into.

    Returns:
        The decrypted results, one array per input vector.
    """
    sender = ctx.public_copy()  # vectors of the private context refuse to be pickled: they hold the secret key
    public = client.scatter(sender, broadcast=True)
    encrypted = [sender.encrypt(x) for x in batch]
    parts = [encrypted[i::chunks] for i in range(chunks)]
    futures = [client.submit(circuit, public, part, bias, pure=False) for part in parts]
    gathered = client.gather(futures)
    out: list = [None] * len(batch)
    for i, (results, _) in enumerate(gathered):
        for j, r in enumerate(results):
            out[i + j * chunks] = ctx.decrypt(r)
    return out


def main() -> None:
    """Start a local two-worker cluster, run a batch, print the largest error."""
    from dask.distributed import Client, LocalCluster

    ctx = ckks.Context(8192, [60, 40, 40, 60], 40)
    rng = np.random.default_rng(0)
    batch = [rng.uniform(-1, 1, 100) for _ in range(8)]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        results = run(client, ctx, batch)
    error = max(np.max(np.abs(r - (x * x + 0.5))) for r, x in zip(results, batch))
    print(f"{len(batch)} encrypted vectors computed on 2 dask workers; largest error {error:.2e}")


if __name__ == "__main__":
    main()
