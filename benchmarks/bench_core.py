"""Core CKKS operations, this library vs TenSEAL, side by side in one run.

    python benchmarks/bench_core.py                 # N = 8192 and 16384
    python benchmarks/bench_core.py --threads 1     # numba on one core, like SEAL
    python benchmarks/bench_core.py --profile       # where the time of multiply goes

Prints a markdown table of median times and the ratio ours / TenSEAL.
Parameters: N = 8192 with [60, 40, 40, 60] and N = 16384 with
[60, 40 x 7, 60] (8 data primes), scale 2^40, full slot vectors.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

import numpy as np
import tenseal as ts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import context_pair, interleaved_ms, markdown_table  # noqa: E402

from ckks.ring.modarith import set_threads  # noqa: E402

SETS = {8192: [60, 40, 40, 60], 16384: [60] + [40] * 7 + [60]}


def contexts(poly_degree: int):
    return context_pair(poly_degree, SETS[poly_degree])


def operations(ours, theirs, poly_degree: int):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, poly_degree // 2), rng.uniform(-1, 1, poly_degree // 2)
    ox, oy = ours.encrypt(x), ours.encrypt(y)
    tx, ty = ts.ckks_vector(theirs, x), ts.ckks_vector(theirs, y)
    return {
        "encrypt (encode + public-key encrypt)": (lambda: ours.encrypt(x), lambda: ts.ckks_vector(theirs, x)),
        "decrypt (decrypt + decode)": (lambda: ox.decrypt(), lambda: tx.decrypt()),
        "add": (lambda: ox + oy, lambda: tx + ty),
        "plaintext multiply (+ rescale)": (lambda: ox * y, lambda: tx * y),
        "multiply + relinearize + rescale": (lambda: ox * oy, lambda: tx * ty),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8192, 16384])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: all cores)")
    parser.add_argument("--profile", action="store_true", help="profile multiply+relinearize+rescale at the largest N")
    args = parser.parse_args()
    if args.threads:
        set_threads(args.threads)
    rows = []
    for n in args.sizes:
        ours, theirs = contexts(n)
        for name, (mine, seal) in operations(ours, theirs, n).items():
            a, b = interleaved_ms(mine, seal, args.repeat)
            rows.append([str(n), name, f"{a:.2f}", f"{b:.2f}", f"{a / b:.2f}"])
            print(" | ".join(rows[-1]), file=sys.stderr)
    print(markdown_table(["N", "operation", "ours (ms)", "TenSEAL (ms)", "ours / TenSEAL"], rows))
    if args.profile:
        n = max(args.sizes)
        ours, theirs = contexts(n)
        mine, _ = operations(ours, theirs, n)["multiply + relinearize + rescale"]
        mine()
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [mine() for _ in range(5)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(10)


if __name__ == "__main__":
    main()
