"""Issue 12, item 5: encrypted batch work on dask.distributed (a LocalCluster of 2 worker processes).

The client ships a public context and encrypted batches, the workers compute (and encrypt on their
side), the client gathers and decrypts; no two workers may draw the same encryption randomness.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

pytestmark = [
    pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


def worker_circuit(public, vectors, bias):
    """x * x + Enc(bias) per vector; also returns the worker's fresh c_1 and the worker's address."""
    from distributed import get_worker

    results, fresh = [], []
    for v in vectors:
        b = public.encrypt(np.full(v.size, bias))
        fresh.append(b.ciphertext.data[1].tobytes())
        results.append(v * v + b)
    return results, fresh, get_worker().address


def test_dask_local_cluster_computes_encrypted_batches(toy):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ctx = toy(32, (60, 40, 40, 60), 40)
    rng = np.random.default_rng(5)
    batch = [rng.uniform(-1, 1, 8) for _ in range(8)]
    sender = ctx.public_copy()  # vectors of the private context refuse to be pickled (they hold the secret key)
    encrypted = [sender.encrypt(x) for x in batch]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    ) as cluster, distributed.Client(cluster, timeout=120) as client:
        client.wait_for_workers(2, timeout=120)
        public = client.scatter(sender, broadcast=True)
        workers = list(client.scheduler_info()["workers"])
        futures = [
            client.submit(worker_circuit, public, encrypted[i::4], 0.5, pure=False, workers=[workers[i % 2]])
            for i in range(4)
        ]
        gathered = client.gather(futures)
    addresses = {address for _, _, address in gathered}
    assert len(addresses) == 2  # both workers computed
    fresh = [c1 for _, part, _ in gathered for c1 in part]
    assert len(set(fresh)) == len(fresh) == len(batch)  # no two encryptions share randomness
    for i, (results, _, _) in enumerate(gathered):
        for j, r in enumerate(results):
            x = batch[i + 4 * j]
            np.testing.assert_allclose(ctx.decrypt(r), x * x + 0.5, atol=1e-3)
