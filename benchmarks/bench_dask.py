"""Scale-out on dask.distributed (issue 27): the same encrypted work here and on LocalClusters of 1 and 2 workers.

    python benchmarks/bench_dask.py                      # every case, 1 and 2 worker processes
    python benchmarks/bench_dask.py --only sample --workers 1,2,4 --images 16
    python benchmarks/bench_dask.py --security none      # a quick look on a small insecure ring

Cases (the shipped digits models, 128-bit parameters unless ``--security none``):

* ``sample``: the digits CNN, one image per ciphertext, ``--images`` images: ``em.run(server, enc,
  client=c)`` cuts them in one chunk per worker.
* ``batch``: the digits CNN, slot = image, the 450 test images in one group of ciphertexts:
  chunks of ciphertexts stage by stage (linear stages split by output column).
* ``batches``: the digits MLP, one image per ciphertext, ``--images`` requests of one image each:
  ``encrypted.run_batches`` (one task per request; plan and context sent once).
* ``bootstrap``: ``--vectors`` ciphertexts at level 0 refreshed with ``ckks.distributed.bootstrap``
  (``Context.for_bootstrapping("teaching")``, N = 2^10 with full packing).

Every worker is a process with one thread and ``NUMBA_NUM_THREADS=1``; the local reference runs
with one numba thread too, so "local" and "1 worker" do the same work on one core and their ratio
is the overhead of sending the plan, the public context and the ciphertexts.  Each timed call
includes that sending (the context and the plan are broadcast once per call), after one untimed
warm-up call per cluster (numba loads its cache in each new worker process).  The clusters stay up
together and the settings are timed in turn, ``--repeat`` rounds, medians reported, so that all of
them see the same machine load.  The speed-up is ``1 worker / n workers``; it cannot exceed the
number of free cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown_table  # noqa: E402


def _models(args) -> dict:
    """Compiled models, keys and encrypted inputs per case (client side: all of it made here, once)."""
    from nn import encrypted
    from nn.datasets import load_digits
    from nn.encrypted import pretrained

    data = load_digits()
    options = {"calibration": data.x_train}
    if args.security == "none":
        options.update(security=None, poly_degree=2048)
    cases = {}
    n = args.images
    if "sample" in args.only:
        em = encrypted.compile(pretrained.load("digits_cnn"), (1, 8, 8), n, layout="sample", **options)
        ctx = em.keygen()
        cases["sample"] = (em, ctx, ctx.public_copy(), em.encrypt(ctx, data.x_test[:n]))
    if "batch" in args.only:
        em = encrypted.compile(pretrained.load("digits_cnn"), (1, 8, 8), 450, layout="batch", **options)
        ctx = em.keygen()
        cases["batch"] = (em, ctx, ctx.public_copy(), em.encrypt(ctx, data.x_test[:450]))
    if "batches" in args.only:
        em = encrypted.compile(pretrained.load("digits_mlp"), (1, 8, 8), 1, layout="sample", **options)
        ctx = em.keygen()
        cases["batches"] = (em, ctx, ctx.public_copy(), [em.encrypt(ctx, data.x_test[i : i + 1]) for i in range(n)])
    if "bootstrap" in args.only:
        import ckks

        ctx = ckks.Context.for_bootstrapping("teaching", poly_degree=1024)
        ctx.generate_bootstrapping_keys(progress=False)
        rng = np.random.default_rng(0)
        low = []
        for _ in range(args.vectors):
            v = ctx.encrypt(rng.uniform(-1, 1, ctx.slots))
            low.append(ckks.CKKSVector(ctx, ctx.evaluator.mod_switch_to(v.ciphertext, 0), v.size, zero_tail=True))
        cases["bootstrap"] = (None, ctx, None, low)
    return cases


def _call(name: str, case: tuple, client):
    """One run of a case, locally (client None) or on the cluster; returns the decrypted outputs."""
    import ckks.distributed
    from nn import encrypted

    em, ctx, server, inputs = case
    if name == "bootstrap":
        out = [v.bootstrap() for v in inputs] if client is None else ckks.distributed.bootstrap(client, inputs)
        return np.stack([ctx.decrypt(v) for v in out])
    if name == "batches":
        outs = encrypted.run_batches(em, server, inputs, client=client)
        return np.concatenate([em.decrypt(ctx, o) for o in outs])
    return em.decrypt(ctx, em.run(server, inputs, client=client))


def _timed(name: str, case: tuple, client) -> tuple[float, np.ndarray]:
    """Seconds of one `_call` and its outputs."""
    start = time.perf_counter()
    result = _call(name, case, client)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> dict:
    """Run the cases and print the table.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        {case: {"local": s, 1: s, 2: s, ..., "error": max |spread - local|}}.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="sample,batch,batches,bootstrap")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--images", type=int, default=8, help="images of the sample and batches cases")
    parser.add_argument("--vectors", type=int, default=4, help="ciphertexts of the bootstrap case")
    parser.add_argument("--security", default="128", choices=["128", "none"])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; medians are reported")
    args = parser.parse_args(argv)
    args.only = args.only.split(",")
    workers = [int(w) for w in args.workers.split(",")]
    warnings.simplefilter("ignore")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    import contextlib

    import dask
    import distributed
    import numba

    numba.set_num_threads(1)
    # dask's nanny exports MALLOC_TRIM_THRESHOLD_=65536 to its workers; setting it switches off glibc's
    # dynamic mmap threshold, so every ciphertext-sized array is a fresh mmap and page-faults in:
    # tasks ran 2-2.5x slower than the same work here, mostly in system time (docs/nn/scale_out.md).
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    print(f"preparing {', '.join(args.only)} (compile, keys, encryption) ...", flush=True)
    cases = _models(args)
    samples: dict = {name: {key: [] for key in ["local", *workers]} for name in cases}
    errors = dict.fromkeys(cases, 0.0)
    reference = {name: _call(name, case, None) for name, case in cases.items()}  # also the local warm-up
    with contextlib.ExitStack() as stack:
        clients = {}
        for n in workers:
            start = time.perf_counter()
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50,
                env={"NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
            ))
            clients[n] = stack.enter_context(distributed.Client(cluster, timeout=300))
            clients[n].wait_for_workers(n, timeout=300)
            for name, case in cases.items():
                _call(name, case, clients[n])  # warm-up: sends the plan and keys, loads numba's cache
            print(f"{n} worker(s) up and warm in {time.perf_counter() - start:.1f} s", flush=True)
        for round_ in range(1, args.repeat + 1):  # interleaved: every setting sees the same machine load
            for name, case in cases.items():
                for key in ["local", *workers]:
                    seconds, out = _timed(name, case, clients.get(key))
                    samples[name][key].append(seconds)
                    errors[name] = max(errors[name], float(np.max(np.abs(out - reference[name]))))
                print(f"  round {round_}: {name} " + ", ".join(
                    f"{key}: {samples[name][key][-1]:.2f} s" for key in ["local", *workers]), flush=True)
    results = {name: {key: statistics.median(v) for key, v in by.items()} | {"error": errors[name]}
               for name, by in samples.items()}
    header = ["case", "local (1 core)"] + [f"{n} worker(s)" for n in workers]
    if 1 in workers and len(workers) > 1:
        header += [f"speed-up 1 -> {workers[-1]}"]
    header += ["max abs(spread - local)"]
    rows = []
    for name, r in results.items():
        row = [name, f"{r['local']:.2f} s"] + [f"{r[n]:.2f} s" for n in workers]
        if 1 in workers and len(workers) > 1:
            row.append(f"{r[1] / r[workers[-1]]:.2f}x")
        rows.append(row + [f"{r['error']:.1e}"])
    print()
    print(markdown_table(header, rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{os.cpu_count()} CPU(s), load average {load:.1f} at the end")
    return results


if __name__ == "__main__":
    main()
