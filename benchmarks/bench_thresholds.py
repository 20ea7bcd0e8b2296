"""Before/after of the per-kernel serial-when-small thresholds (issue 26), on 1 and 2 threads.

    python benchmarks/bench_thresholds.py                           # N = 8192 and 16384, 2 processes each
    python benchmarks/bench_thresholds.py --sizes 8192 --processes 3

"Before" is every kernel at its class default (``PARALLEL_THRESHOLD`` = 2^13 for the kernels that multiply,
``CHEAP_THRESHOLD`` = 2^17 for the additions), "after" the measured table of ``ckks/ring/thresholds.json``.
Both run in the same process on the same ciphertexts, each through twin wrappers of every kernel (same
numba kernels, the default or the measured threshold; `ckks.crossover.substituted` swaps them in), so the
comparison is free of the 10-20% differences between processes (and of the 1-4% that the swap itself cost
one arm when only "before" was swapped: ``--control`` gives both arms the measured thresholds).
Each repetition times multiply + relinearize + rescale (``x * y``) and
``rotate(1)`` with the public API on 1 and 2 numba threads, the two tables alternating (and which goes first
alternating too); medians of 15.  One thread is the control: there every kernel runs its serial twin
whatever the table says.  Each process reports the share of the CPUs that other processes used meanwhile,
waits for a quiet machine before it starts (at most ``--patience`` seconds) and is run again, up to three
times, when they used more than 10%.
Parameters as ``bench_core.py``: N = 8192 with [60, 40, 40, 60], N = 16384 with [60, 40 x 7, 60], scale 2^40.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SETS = {8192: [60, 40, 40, 60], 16384: [60] + [40] * 7 + [60]}
REPEAT = 15  # medians of 15, as the table
OPS = ("multiply+relinearize+rescale", "rotate(1)")


def worker(poly_degree: int, control: bool = False) -> dict:
    """Medians (ms) of multiply and rotate per table ("before", "after") and thread count, in one process."""
    import numpy as np

    import ckks
    from ckks.crossover import _cpu_ticks, _others_load, kernels, substituted
    from ckks.ring.modarith import serial_when_small, set_threads

    ctx = ckks.Context(poly_degree=poly_degree, moduli_bits=SETS[poly_degree], scale_bits=40)
    ctx.generate_galois_keys(steps=[1])
    rng = np.random.default_rng(0)
    x = ctx.encrypt(rng.uniform(-1, 1, poly_degree // 2))
    y = ctx.encrypt(rng.uniform(-1, 1, poly_degree // 2))
    ops = dict(zip(OPS, (lambda: x * y, lambda: x.rotate(1))))
    wrappers = kernels().values()
    twins = {"before": {w: serial_when_small(w.kernel, threshold=w.threshold if control else w.default)
                        for w in wrappers},
             "after": {w: serial_when_small(w.kernel, threshold=w.threshold) for w in wrappers}}

    def tables(label: str) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        for wrapper, twin in twins[label].items():
            stack.enter_context(substituted(wrapper, twin))
        return stack

    times = {(label, op, threads): [] for label in ("before", "after") for op in OPS for threads in (1, 2)}
    for label in ("before", "after"):  # warm both (compilation, caches)
        with tables(label):
            for threads in (1, 2):
                set_threads(threads)
                for fn in ops.values():
                    fn()
    before, own = _cpu_ticks(), sum(os.times()[:2])
    for repeat in range(REPEAT):
        for label in ("before", "after") if repeat % 2 == 0 else ("after", "before"):
            with tables(label):
                for threads in (1, 2):
                    set_threads(threads)
                    for op, fn in ops.items():
                        start = time.perf_counter()
                        fn()
                        times[label, op, threads].append((time.perf_counter() - start) * 1e3)
    medians = {f"{label}|{op}|{threads}": statistics.median(v) for (label, op, threads), v in times.items()}
    return {"medians": medians, "background": _others_load(before, own)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="processes per N")
    parser.add_argument("--patience", type=float, default=60.0, help="seconds to wait for a quiet machine")
    parser.add_argument("--sizes", default="8192,16384", help="ring degrees (of 8192, 16384)")
    parser.add_argument("--control", action="store_true", help="both arms with the measured thresholds (A/A)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.control)))
        return
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from ckks.crossover import _wait_for_quiet

    degrees = [int(n) for n in args.sizes.split(",")]
    if any(n not in SETS for n in degrees):
        parser.error(f"--sizes must be among {sorted(SETS)}")
    results: dict[int, list[dict]] = {}
    for poly_degree in degrees:
        for _ in range(args.processes):
            for _attempt in range(3):  # a run during which other processes took a core is run again
                _wait_for_quiet(0.05, args.patience, sys.stderr)
                command = [sys.executable, __file__, "--worker", str(poly_degree)] + ["--control"] * args.control
                out = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                if result["background"] <= 0.10:
                    break
            results.setdefault(poly_degree, []).append(result)
            print(f"N={poly_degree}: other processes used {100 * result['background']:.0f}% of the CPUs",
                  file=sys.stderr, flush=True)
    print("Medians of 15 (ms), one cell per process (in brackets: the share of the CPUs other processes used).\n")
    print("| operation | N | threads | before (defaults) | after (measured) | after / before |")
    print("|---|---|---|---|---|---|")
    for poly_degree in degrees:
        runs = results[poly_degree]
        for op in OPS:
            for threads in (1, 2):
                b = [r["medians"][f"before|{op}|{threads}"] for r in runs]
                a = [r["medians"][f"after|{op}|{threads}"] for r in runs]
                load = [f"[{100 * r['background']:.0f}%]" for r in runs]
                print(f"| {op} | {poly_degree} | {threads} | "
                      + " / ".join(f"{v:.2f} {w}" for v, w in zip(b, load)) + " | "
                      + " / ".join(f"{v:.2f}" for v in a) + " | "
                      + " / ".join(f"{y / x:.3f}" for x, y in zip(b, a)) + " |")


if __name__ == "__main__":
    main()
