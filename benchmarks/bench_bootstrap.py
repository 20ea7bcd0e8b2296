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
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
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


class Ours:
    """Our bootstrapping context with keys, ready to be timed."""

    def __init__(self, preset: str, poly_degree: int | None, values: np.ndarray):
        options = {} if poly_degree is None else {"poly_degree": poly_degree}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureWarning)
            self.ctx = ckks.Context.for_bootstrapping(preset, **options)
        self.values = values
        start = time.perf_counter()
        self.summary = self.ctx.generate_bootstrapping_keys(progress=False)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="teaching", choices=["teaching", "128"])
    parser.add_argument("--rings", type=int, nargs="*", default=[4096, 8192], help="ring degrees (teaching preset)")
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of ours and OpenFHE (best kept)")
    parser.add_argument("--profile", action="store_true", help="print our cProfile (first ring, first thread count)")
    args = parser.parse_args()
    if openfhe_python() is None:
        sys.exit(
            "no Python that can import openfhe (the wheel needs CPython 3.10): set "
            f"{OPENFHE_PYTHON_VARIABLE}, or create .venv-openfhe at the repository root (.ci/run does)"
        )
    rings = [None] if args.preset == "128" else args.rings
    rows = []
    for ring in rings:
        for threads in args.threads:
            set_threads(threads)
            ring_degree = ring or 1 << 16
            values = np.random.default_rng(ring_degree).uniform(-1, 1, ring_degree // 2)
            mine = Ours(args.preset, ring, values)
            info = mine.report()
            if args.profile and not rows:
                mine.profile()
            request = {
                "poly_degree": info["poly_degree"], "slots": info["slots"], "levels_after": info["compute_levels"],
                "level_budget": [info["cts"], info["stc"]], "values": values.tolist(), "repeat": args.repeat,
            }
            # Alternate the two libraries (two rounds) and keep the best median of each: the machine is shared.
            ours_seconds, theirs = [], []
            for _ in range(args.rounds):
                ours_seconds.append(mine.time(args.repeat))
                theirs.append(run_openfhe(request, threads=threads))
            best = min(theirs, key=lambda r: r["bootstrap_seconds"])
            theirs = dict(best, keygen_seconds=min(r["keygen_seconds"] for r in theirs))
            mine_seconds = min(ours_seconds)
            key_ratio = info["key_memory_mb"] / theirs["key_memory_mb"] if theirs["key_memory_mb"] else float("nan")
            rows.append([
                f"{args.preset} N=2^{int(np.log2(info['poly_degree']))}, {info['slots']} slots", str(threads),
                f"{mine_seconds:.2f} / {theirs['bootstrap_seconds']:.2f}",
                f"{mine_seconds / theirs['bootstrap_seconds']:.2f}",
                f"{mine.keygen_seconds:.1f} / {theirs['keygen_seconds']:.1f}",
                f"{info['key_memory_mb']:.0f} / {theirs['key_memory_mb'] or float('nan'):.0f} ({key_ratio:.2f})",
                f"{info['precision_bits']:.1f} / {theirs['precision_bits']:.1f}",
                str(info["levels_after"]),
            ])
            print(rows[-1], flush=True)
    header = ["ring", "threads", "bootstrap s (ours / OpenFHE)", "ratio", "keygen+setup s", "key MiB (ratio)",
              "precision bits", "levels after (ours)"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
