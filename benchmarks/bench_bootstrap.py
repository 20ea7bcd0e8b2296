"""CKKS bootstrapping, this library vs OpenFHE, side by side in one run, on 1 and 2 threads.

    python benchmarks/bench_bootstrap.py                       # teaching preset, N = 2^12 and 2^13
    python benchmarks/bench_bootstrap.py --rings 4096 --threads 1 2 --repeat 3
    python benchmarks/bench_bootstrap.py --preset 128           # N = 2^16 (needs tens of GB and minutes)
    python benchmarks/bench_bootstrap.py --profile              # where our time goes (cProfile)

For each ring and thread count: time per bootstrap (median of ``--repeat``,
after a warm-up that also encodes the DFT diagonals; the two libraries are run
alternately ``--rounds`` times and the best median of each is kept), key-generation time
(rotation keys + precomputation), memory of the rotation keys, levels left
after the bootstrap and precision (-log2 of the largest error) on the same
uniform inputs in [-1, 1], for both libraries, and the ratios ours / OpenFHE.
OpenFHE (``openfhe`` wheel, CPython 3.10) runs in a subprocess
(tests/ckks/circuits/bootstrapping/openfhe_reference.py), under the
interpreter `ckks.interop.openfhe_python` finds (``CKKS_OPENFHE_PYTHON``, else
this interpreter if it imports openfhe, else ``.venv-openfhe`` at the
repository root, which ``.ci/run`` creates), with the same ring
degree, slot count, sparse ternary secret, level budget [3, 3] (CoeffsToSlots,
SlotsToCoeffs) and 3 levels after bootstrapping, with OMP_NUM_THREADS set to
the thread count; our numba kernels run with ``set_threads``.

At the "128" preset (N = 2^16, 2^15 slots; OpenFHE with level budget [4, 3] and 6 levels after), our
keys (3.5 GiB: 39 keys, each made only for the levels it is used at, digits by size and DFT levels sharing
rotations; 6.5 GiB before that, 10.2 GiB as full keys) and OpenFHE's
~9 GiB do not fit together in 23 GiB: from N = 2^16 on, each round builds
our context and keys, times them, frees them (del + gc.collect) and only then runs OpenFHE, which reports
its key memory as the resident-memory growth of its key generation (``"key_memory": "rss"``) instead of
serializing its keys (that doubles its memory); ``--rounds`` defaults to 1 there. One run on a shared
2-core, 23 GiB machine (load about 2 from other users), peak resident memory of both processes together
15.1 GiB (with the 10.2 GiB keys of that time, on a machine with AVX-512; benchmarks/compare.py --sections bootstrap
is the maintained comparison, with OpenFHE at its own settings too, and the docs' benchmark page has its
numbers):

    python benchmarks/bench_bootstrap.py --preset 128 --threads 1 2 --repeat 2

    threads  bootstrap s (ours / OpenFHE)  ratio  keygen+setup s  key MiB (ratio)      peak RSS GiB  bits         levels
    1        18.18 / 21.02                 0.86   98.8 / 72.2     10416 / 9264 (1.12)  13.8 / 13.8   18.4 / 16.2  6
    2        12.95 / 23.41                 0.55   79.0 / 44.4     10416 / 9279 (1.12)  13.8 / 13.8   18.3 / 16.2  6

(bits: precision, -log2 of the largest error; levels: ours after the bootstrap; bootstrap s: ours the median of
the second and third bootstraps, OpenFHE the faster of its two.)

Our keygen+setup includes the first (warm-up) bootstrap, which encodes the DFT diagonals; OpenFHE's
includes ``EvalBootstrapSetup``. Our process kept 1.8 / 2.3 GiB resident while OpenFHE ran. OpenFHE's
two-thread bootstrap was slower than its one-thread one in this run (the machine is shared; one round).
See docs/concepts/bootstrapping.md, "At the 128-bit preset".
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "ckks" / "circuits" / "bootstrapping"))
from common import markdown_table  # noqa: E402
from test_openfhe_reference import run_openfhe  # noqa: E402

import ckks  # noqa: E402
from ckks.circuits.bootstrapping import max_error_bits  # noqa: E402
from ckks.errors import InsecureWarning  # noqa: E402
from ckks.interop import OPENFHE_PYTHON_VARIABLE, openfhe_python  # noqa: E402
from ckks.ring.modarith import set_threads  # noqa: E402
from ckks.scheme.keys import KeyGenerator  # noqa: E402


class Ours:
    """Our bootstrapping context with keys, ready to be timed."""

    def __init__(self, preset: str, poly_degree: int | None, values: np.ndarray):
        options = {} if poly_degree is None else {"poly_degree": poly_degree}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureWarning)
            self.ctx = ckks.Context.for_bootstrapping(preset, **options)
        self.values = values
        start = time.perf_counter()
        # Larger plans than the "128" preset's 39 keys (3.5 GiB) may exceed the 8 GiB default guard: lift it here.
        bootstrapper = self.ctx.bootstrapper
        keygen = KeyGenerator(self.ctx.params, secret_key=self.ctx.secret_key, prng=self.ctx.prng)
        bootstrapper.generate_keys(keygen, progress=False, memory_limit=None)
        self.summary = bootstrapper.summary()
        v = self.ctx.encrypt(values)
        self.low = ckks.CKKSVector(self.ctx, self.ctx.evaluator.mod_switch_to(v.ciphertext, 0), v.size, zero_tail=True)
        self.out = self.low.bootstrap()  # warm-up: numba compilation and encoding of the DFT diagonals (setup)
        self.keygen_seconds = time.perf_counter() - start

    def time(self, repeat: int) -> float:
        """Median seconds per bootstrap."""
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            self.out = self.low.bootstrap()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def profile(self) -> None:
        """Print where one bootstrap spends its time."""
        profiler = cProfile.Profile()
        profiler.enable()
        self.low.bootstrap()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)

    def report(self) -> dict:
        config = self.ctx.bootstrapper.config
        return {
            "key_memory_mb": self.summary["key_memory_mb"],
            "levels_after": self.out.level,
            "precision_bits": max_error_bits(self.values, self.out.decrypt()),
            "slots": config.slots,
            "poly_degree": self.ctx.params.poly_degree,
            "compute_levels": config.compute_levels,
            "cts": config.cts_levels,
            "stc": config.stc_levels,
        }


def resident_gib() -> float:
    """This process's resident memory now, in GiB (``/proc/self/statm``, Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def peak_gib() -> float:
    """This process's peak resident memory so far, in GiB (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="teaching", choices=["teaching", "128"])
    parser.add_argument("--rings", type=int, nargs="*", default=[4096, 8192], help="ring degrees (teaching preset)")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternations of ours and OpenFHE, best kept (default 2; 1 at the 128 preset, where "
                             "every round regenerates our keys)")
    parser.add_argument("--profile", action="store_true", help="print our cProfile (first ring, first thread count)")
    args = parser.parse_args()
    if openfhe_python() is None:
        sys.exit(
            "no Python that can import openfhe (the wheel needs CPython 3.10): set "
            f"{OPENFHE_PYTHON_VARIABLE}, or create .venv-openfhe at the repository root (.ci/run does)"
        )
    rounds = args.rounds or (1 if args.preset == "128" else 2)
    rings = [None] if args.preset == "128" else args.rings
    rows = []
    for ring in rings:
        ring_degree = ring or 1 << 16
        # From N = 2^16 on, our keys (3.5 GiB) and OpenFHE's (about 9 GiB, twice that while serialized) do not
        # fit in memory together: free ours before each OpenFHE run (regenerating them in the next round), and
        # have OpenFHE measure its key memory as resident-memory growth instead of serializing its keys.
        low_memory = ring_degree >= 1 << 16
        for threads in args.threads:
            set_threads(threads)
            values = np.random.default_rng(ring_degree).uniform(-1, 1, ring_degree // 2)
            mine, info, request = None, None, None
            ours_seconds, ours_keygen, theirs, residual = [], [], [], 0.0
            for _ in range(rounds):
                if mine is None:
                    mine = Ours(args.preset, ring, values)
                    ours_keygen.append(mine.keygen_seconds)
                    if info is None:
                        info = mine.report()
                        if args.profile and not rows:
                            mine.profile()
                        request = {
                            "poly_degree": info["poly_degree"], "slots": info["slots"],
                            "levels_after": info["compute_levels"], "level_budget": [info["cts"], info["stc"]],
                            "values": values.tolist(), "repeat": args.repeat,
                        }
                        if low_memory:
                            request["key_memory"] = "rss"
                # Alternate the two libraries and keep the best median of each: the machine is shared.
                ours_seconds.append(mine.time(args.repeat))
                if low_memory:
                    mine = None
                    gc.collect()
                    residual = max(residual, resident_gib())
                theirs.append(run_openfhe(request, threads=threads))
            mine = None
            gc.collect()
            best = min(theirs, key=lambda r: r["bootstrap_seconds"])
            theirs = dict(best, keygen_seconds=min(r["keygen_seconds"] for r in theirs),
                          peak_rss_mb=max(r.get("peak_rss_mb") or 0.0 for r in theirs))
            mine_seconds = min(ours_seconds)
            key_ratio = info["key_memory_mb"] / theirs["key_memory_mb"] if theirs["key_memory_mb"] else float("nan")
            rows.append([
                f"{args.preset} N=2^{int(np.log2(info['poly_degree']))}, {info['slots']} slots", str(threads),
                f"{mine_seconds:.2f} / {theirs['bootstrap_seconds']:.2f}",
                f"{mine_seconds / theirs['bootstrap_seconds']:.2f}",
                f"{min(ours_keygen):.1f} / {theirs['keygen_seconds']:.1f}",
                f"{info['key_memory_mb']:.0f} / {theirs['key_memory_mb'] or float('nan'):.0f} ({key_ratio:.2f})",
                f"{peak_gib():.1f} / {theirs['peak_rss_mb'] / 1024:.1f}"
                + (f" (ours {residual:.1f} while OpenFHE ran)" if low_memory else ""),
                f"{info['precision_bits']:.1f} / {theirs['precision_bits']:.1f}",
                str(info["levels_after"]),
            ])
            print(rows[-1], flush=True)
    header = ["ring", "threads", "bootstrap s (ours / OpenFHE)", "ratio", "keygen+setup s",
              "key MiB (ratio)" + (" (OpenFHE: RSS growth)" if args.preset == "128" else ""),
              "peak RSS GiB", "precision bits", "levels after (ours)"]
    print(markdown_table(header, rows))

if __name__ == "__main__":
    main()
