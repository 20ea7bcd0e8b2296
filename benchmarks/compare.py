"""The whole comparison table in one command: this library vs TenSEAL (SEAL) and OpenFHE, side by side.

    python benchmarks/compare.py                          # everything (tens of minutes on 2 busy cores)
    python benchmarks/compare.py --quick                  # N = 2^13 and 2^14, fewer repeats, no N sweep
    python benchmarks/compare.py --rings 16384 --threads 1 --skip scaling extras sizes
    python benchmarks/compare.py --json docs/benchmarks/compare.json   # data for tools/benchmark_page.py

Every operation is timed for the three libraries alternately (ours, TenSEAL,
OpenFHE, ours, ...) in one run, so all three see the same machine load; the
tables give medians and the ratios ours / TenSEAL and ours / OpenFHE.
Sections:

* **core and rotation** for N = 2^13, 2^14, 2^15 (``--rings``) and numba on 1
  and 2 threads (``--threads``): encrypt, decrypt, add, plaintext multiply,
  multiply + relinearize + rescale, rotate(1).  TenSEAL runs each operation
  on one core (SEAL does not parallelize one ciphertext operation); OpenFHE
  runs with OMP_NUM_THREADS equal to the thread count.
* **rotations, linear algebra, polynomials** (``extras``, N = 2^13 and 2^14):
  hoisted rotations, sum of all slots, polyval, plaintext matrix product.
* **time against N** (``scaling``): multiply and rotate for N = 2^12 .. 2^16
  with three data primes and one special prime, per library, one thread.
* **serialized sizes** (``sizes``, N = 2^13): ours / TenSEAL (and OpenFHE's
  binary format where its wheel can serialize the object).
* **NTT per transform** (``ntt``): one limb, N = 2^14, forward and inverse.

Parameters (scale 2^40, full slot vectors, uniform inputs in [-1, 1]):
N = 2^13 ``[60, 40, 40, 60]``, 2^14 ``[60, 40 x 7, 60]`` (8 data primes),
2^15 ``[60, 40 x 11, 60]`` (12 data primes); one prime per key-switching
digit and one special prime in all three libraries.  OpenFHE runs in a
worker process (`openfhe_worker.py`) under the interpreter that
`ckks.interop.openfhe_python` finds: the one named by ``CKKS_OPENFHE_PYTHON``,
else this interpreter if it can ``import openfhe``, else ``.venv-openfhe`` at
the repository root (which ``.ci/run`` creates; the ``openfhe`` wheel is
CPython 3.10 only); without one the OpenFHE columns are "-".  Timings are never asserted anywhere: this is a report.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tenseal as ts
import tenseal.sealapi as sealapi

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from common import markdown_table  # noqa: E402

import ckks  # noqa: E402
from ckks.interop import openfhe_python, tenseal_context  # noqa: E402
from ckks.ring.modarith import set_threads  # noqa: E402

RINGS = {
    4096: ([30, 25, 25, 28], 25),
    8192: ([60, 40, 40, 60], 40),
    16384: ([60] + [40] * 7 + [60], 40),
    32768: ([60] + [40] * 11 + [60], 40),
    65536: ([60, 40, 40, 60], 40),
}
SCALING = {n: (([30, 25, 25, 28], 25) if n == 4096 else ([60, 40, 40, 60], 40)) for n in RINGS}
CORE = ["encrypt", "decrypt", "add", "plain multiply", "multiply", "rotate"]
LABELS = {
    "encrypt": "encrypt (encode + public-key encrypt)",
    "decrypt": "decrypt (decrypt + decode)",
    "add": "add",
    "plain multiply": "plaintext multiply + rescale",
    "multiply": "multiply + relinearize + rescale",
    "rotate": "rotate(1)",
    "hoisted": "hoisted rotations (per rotation, 8 steps)",
    "sum": "sum of all slots",
    "polyval": "polyval degree 7",
    "matmul": "plaintext matmul 64x64",
}
HOISTED = [2, 4, 8, 16, -1, -2, -4, -8]
POLY = [0.1, -0.3, 0.2, 0.05, -0.02, 0.01, 0.003, -0.001]


@functools.cache
def openfhe_interpreter() -> str | None:
    """The Python that can import openfhe (`ckks.interop.openfhe_python`, looked up once), or None."""
    return openfhe_python()


# -- OpenFHE worker ----------------------------------------------------------------------------------------------
class OpenFHE:
    """A worker process running openfhe_worker.py with a fixed OMP thread count."""

    def __init__(self, threads: int):
        self.proc = None
        python = openfhe_interpreter()
        if python is None:
            return
        # passive waiting: spinning OpenMP threads would steal the cores the other libraries are timed on
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE")
        self.proc = subprocess.Popen(
            [python, str(HERE / "openfhe_worker.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=env,
        )

    def ask(self, request: dict) -> dict:
        if self.proc is None:
            return {"error": "no openfhe interpreter"}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def setup(self, n: int, bits: list[int], scale_bits: int, values, steps, with_sum=False) -> dict:
        return self.ask({"cmd": "setup", "poly_degree": n, "moduli_bits": bits, "scale_bits": scale_bits,
                         "steps": steps, "hoisted": HOISTED, "sum": with_sum, "values": list(map(float, values)),
                         "poly": POLY})

    def timer(self, op: str):
        def run():
            reply = self.ask({"cmd": "time", "op": op, "clock": "cpu" if clock is CLOCK["cpu"] else "wall"})
            if "error" in reply:
                raise RuntimeError(reply["error"])
            return reply["seconds"]
        return run

    def close(self) -> None:
        if self.proc is not None:
            self.ask_quit()

    def ask_quit(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()


# -- timing ------------------------------------------------------------------------------------------------------
#: "cpu": CPU seconds of the timing process (robust on a loaded machine, where wall time counts the other
#: processes' turns; right for one thread, where every library computes in one thread); "wall": elapsed seconds.
CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCK["wall"]


def local(fn):
    """A timer of an in-process callable: seconds of one call on the current clock."""
    def run():
        start = clock()
        fn()
        return clock() - start
    return run


def alternate(timers: list, repeat: int) -> list[float | None]:
    """Median milliseconds of each timer, run alternately (one warm-up each); None where a timer fails."""
    alive = []
    for timer in timers:
        try:
            timer() if timer is not None else None
            alive.append(timer)
        except Exception as exc:  # noqa: BLE001 - a library without this operation shows "-"
            print(f"  (skipped: {str(exc)[:100]})", file=sys.stderr)
            alive.append(None)
    samples: list[list[float]] = [[] for _ in timers]
    for _ in range(repeat):
        for i, timer in enumerate(alive):
            if timer is not None:
                samples[i].append(timer() * 1e3)
    return [statistics.median(s) if s else None for s in samples]


def use_clock(threads: int) -> None:
    """Numba threads and the clock for a measurement: CPU time on one thread (unless --clock wall), else wall time."""
    global clock
    set_threads(threads)
    clock = CLOCK["cpu"] if threads == 1 and CLOCK_MODE == "auto" else CLOCK["wall" if CLOCK_MODE != "cpu" else "cpu"]


CLOCK_MODE = "auto"


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def seal_galois_element(step: int, n: int) -> int:
    """SEAL's Galois element of a rotation step (GaloisTool::get_elt_from_step: generator 3)."""
    slots = n // 2
    return pow(3, step % slots, 2 * n)


# -- the three libraries on one parameter set --------------------------------------------------------------------
class Setup:
    """Our context, TenSEAL's twin and an OpenFHE worker's context on the same parameters."""

    def __init__(self, n: int, bits: list[int], scale_bits: int, steps: list[int], openfhe: OpenFHE | None,
                 extras: bool = False):
        rng = np.random.default_rng(n)
        self.n = n
        self.values = rng.uniform(-1, 1, n // 2)
        self.other = rng.uniform(-1, 1, n // 2)
        self.ours = ckks.Context(n, bits, scale_bits)
        self.ours.generate_galois_keys(steps=steps, progress=False)
        self.ox, self.oy = self.ours.encrypt(self.values), self.ours.encrypt(self.other)
        try:
            self.theirs = tenseal_context(self.ours.params, galois=False)
        except ValueError as exc:  # SEAL's default build stops at N = 2^15
            print(f"  (TenSEAL: {exc})", file=sys.stderr)
            self.theirs = None
        if self.theirs is not None:
            seal_context = self.theirs.seal_context().data
            keygen = sealapi.KeyGenerator(seal_context, self.theirs.secret_key().data)
            self.seal_galois = sealapi.GaloisKeys()
            keygen.create_galois_keys([seal_galois_element(k, n) for k in steps], self.seal_galois)
            self.seal_evaluator = sealapi.Evaluator(seal_context)
            self.tx, self.ty = ts.ckks_vector(self.theirs, self.values), ts.ckks_vector(self.theirs, self.other)
        self.openfhe = openfhe
        self.openfhe_info = (
            openfhe.setup(n, bits, scale_bits, self.values, steps, with_sum=extras) if openfhe is not None else {}
        )
        if extras:
            self.theirs_full = tenseal_context(self.ours.params, galois=True)
            self.tfx = ts.ckks_vector(self.theirs_full, self.values)
            self.matrix = rng.uniform(-1, 1, (64, 64))
            self.ox64 = self.ours.encrypt(self.values[:64])
            self.tx64 = ts.ckks_vector(self.theirs_full, self.values[:64])

    def seal_rotate(self, step: int):
        out = sealapi.Ciphertext()
        self.seal_evaluator.rotate_vector(self.tx.ciphertext()[0], step, self.seal_galois, out)
        return out

    def timers(self, op: str) -> list:
        ox, oy = self.ox, self.oy
        tx, ty = (self.tx, self.ty) if self.theirs is not None else (None, None)
        y = self.other
        ours = {
            "encrypt": lambda: self.ours.encrypt(self.values),
            "decrypt": lambda: ox.decrypt(),
            "add": lambda: ox + oy,
            "plain multiply": lambda: ox * y,
            "multiply": lambda: ox * oy,
            "rotate": lambda: ox.rotate(1),
            "hoisted": lambda: ox.rotate_many(HOISTED),
            "sum": lambda: ox.sum(),
            "polyval": lambda: ox.polyval(POLY),
            "matmul": lambda: self.ox64.matmul(self.matrix),
        }[op]
        theirs = {
            "encrypt": lambda: ts.ckks_vector(self.theirs, self.values),
            "decrypt": lambda: tx.decrypt(),
            "add": lambda: tx + ty,
            "plain multiply": lambda: tx * y,
            "multiply": lambda: tx * ty,
            "rotate": lambda: self.seal_rotate(1),
            "hoisted": lambda: [self.seal_rotate(k) for k in HOISTED],
            "sum": lambda: self.tfx.sum() if hasattr(self, "tfx") else None,
            "polyval": lambda: tx.polyval(POLY),
            "matmul": lambda: self.tx64.matmul(self.matrix.tolist()) if hasattr(self, "tx64") else None,
        }[op]
        openfhe = None
        if self.openfhe is not None and self.openfhe_info.get("ok") and op != "matmul":
            openfhe = self.openfhe.timer(op)
        return [local(ours), local(theirs) if self.theirs is not None else None, openfhe]


def per_rotation(op: str, values: list[float | None]) -> list[float | None]:
    return [v / len(HOISTED) if v is not None and op == "hoisted" else v for v in values]


# -- sections ----------------------------------------------------------------------------------------------------
def core_section(rings, threads_list, repeat, results) -> str:
    rows = []
    for n in rings:
        bits, scale_bits = RINGS[n]
        workers = {t: OpenFHE(t) for t in threads_list}
        setups = {t: Setup(n, bits, scale_bits, [1], workers[t]) for t in threads_list}
        for op in CORE:
            for t in threads_list:
                use_clock(t)
                mine, seal, ofhe = alternate(setups[t].timers(op), repeat)
                results["core"].append({"N": n, "threads": t, "operation": LABELS[op], "ours_ms": mine,
                                        "tenseal_ms": seal, "openfhe_ms": ofhe})
                rows.append([f"2^{n.bit_length() - 1}", str(t), LABELS[op], fmt(mine), fmt(seal), fmt(ofhe),
                             ratio(mine, seal), ratio(mine, ofhe)])
                print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
        for w in workers.values():
            w.close()
    header = ["N", "threads", "operation", "ours ms", "TenSEAL ms", "OpenFHE ms", "ours/TenSEAL", "ours/OpenFHE"]
    return markdown_table(header, rows)


def extras_section(rings, threads_list, repeat, results) -> str:
    rows = []
    steps = sorted(set(HOISTED + [1]) | {2**i for i in range(12)} | {-(2**i) for i in range(4)})
    for n in rings:
        bits, scale_bits = RINGS[n]
        for t in threads_list:
            use_clock(t)
            worker = OpenFHE(t)
            setup = Setup(n, bits, scale_bits, [k for k in steps if abs(k) < n // 2], worker, extras=True)
            for op in ("hoisted", "sum", "polyval", "matmul"):
                mine, seal, ofhe = per_rotation(op, alternate(setup.timers(op), max(3, repeat // 2)))
                results["extras"].append({"N": n, "threads": t, "operation": LABELS[op], "ours_ms": mine,
                                          "tenseal_ms": seal, "openfhe_ms": ofhe})
                rows.append([f"2^{n.bit_length() - 1}", str(t), LABELS[op], fmt(mine), fmt(seal), fmt(ofhe),
                             ratio(mine, seal), ratio(mine, ofhe)])
                print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
            worker.close()
            del setup
    header = ["N", "threads", "operation", "ours ms", "TenSEAL ms", "OpenFHE ms", "ours/TenSEAL", "ours/OpenFHE"]
    note = ("TenSEAL: `sum` and `matmul` of CKKSVector with its default Galois keys, hoisted = 8 single SEAL "
            "rotate_vector calls (SEAL has no hoisting); OpenFHE: EvalFastRotation, EvalSum, EvalPoly.")
    return markdown_table(header, rows) + "\n\n" + note


def scaling_section(rings, repeat, results) -> str:
    rows = []
    use_clock(1)
    for n in rings:
        bits, scale_bits = SCALING[n]
        worker = OpenFHE(1)
        setup = Setup(n, bits, scale_bits, [1], worker)
        for op in ("multiply", "rotate"):
            mine, seal, ofhe = alternate(setup.timers(op), repeat)
            results["scaling"].append({"N": n, "operation": LABELS[op], "ours_ms": mine, "tenseal_ms": seal,
                                       "openfhe_ms": ofhe})
            rows.append([f"2^{n.bit_length() - 1}", LABELS[op], fmt(mine), fmt(seal), fmt(ofhe), ratio(mine, seal),
                         ratio(mine, ofhe)])
            print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
        worker.close()
        del setup
    header = ["N", "operation", "ours ms", "TenSEAL ms", "OpenFHE ms", "ours/TenSEAL", "ours/OpenFHE"]
    return markdown_table(header, rows) + "\n\n3 data primes + 1 special prime at every N (`[60, 40, 40, 60]`; " \
        "`[30, 25, 25, 28]` at 2^12), one thread."


def sizes_section(results) -> str:
    import bench_sizes

    values = np.random.default_rng(0).uniform(-1, 1, bench_sizes.N // 2)
    theirs = bench_sizes.tenseal_sizes(values)
    ours, _ = bench_sizes.our_sizes(values)
    worker = OpenFHE(1)
    info = worker.setup(bench_sizes.N, bench_sizes.BITS, bench_sizes.SCALE_BITS, values, [])
    worker.close()
    openfhe = info.get("sizes", {})
    rows = []
    for name in ours:
        o = openfhe.get(name)
        results["sizes"].append({"object": name, "ours": ours[name], "tenseal": theirs[name], "openfhe": o})
        rows.append([name, f"{ours[name]:,}", f"{theirs[name]:,}", f"{o:,}" if o else "-",
                     f"{ours[name] / theirs[name]:.2f}", f"{ours[name] / o:.2f}" if o else "-"])
    header = ["object", "ours bytes", "TenSEAL bytes", "OpenFHE bytes", "ours/TenSEAL", "ours/OpenFHE"]
    return markdown_table(header, rows) + (
        "\n\nN = 8192, `[60, 40, 40, 60]`, 24 Galois keys on our and TenSEAL's side. Ours: residues bit-packed "
        "to their prime's width, the uniform half of keys and fresh symmetric ciphertexts stored as a seed. "
        "TenSEAL: SEAL's format with zstd (its keys are seeded too). OpenFHE: its binary format.")


def ntt_section(results) -> str:
    from ckks.ring.ntt import forward_one, inverse_one

    set_threads(1)
    rows = []
    for n in (8192, 16384, 32768):
        params = ckks.Context(n, RINGS[n][0], 40).params
        tables = params.tables
        q = tables.moduli[1]
        a = np.random.default_rng(1).integers(0, int(q), n, dtype=np.uint64)
        b = a.copy()

        def fwd(b=b, tables=tables, q=q):
            forward_one(b, tables.psi_rev[1], tables.psi_rev_shoup[1], q)

        def inv(b=b, tables=tables, q=q):
            inverse_one(b, tables.psi_inv_rev[1], tables.psi_inv_rev_shoup[1], tables.n_inv[1], q)

        f_ms, i_ms = alternate([local(fwd), local(inv)], 200)
        results["ntt"].append({"N": n, "forward_ms": f_ms, "inverse_ms": i_ms})
        rows.append([f"2^{n.bit_length() - 1}", f"{f_ms * 1e3:.0f}", f"{i_ms * 1e3:.0f}"])
    from numba import njit

    probe = njit(forward_one.py_func)  # a fresh compilation: cached code cannot be inspected
    probe(b, tables.psi_rev[1], tables.psi_rev_shoup[1], q)
    asm = probe.inspect_asm(probe.signatures[0])
    vector = "zmm" if "zmm" in asm else "ymm" if "ymm" in asm else "xmm"
    note = (f"\n\nOne limb, one thread, median of 200. The butterflies compile to `vpmuludq` on `{vector}` registers "
            f"({len(re.findall('vpmuludq', asm))} in `forward_one`). The issue's reference for SEAL (TenSEAL 0.3.x, "
            "this machine): 16 limbs at 2^14 in 3.60 ms forward and 2.42 ms inverse, i.e. 225 and 151 us per limb.")
    return markdown_table(["N", "forward us", "inverse us"], rows) + note


def load_note() -> str:
    try:
        load = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rings", type=int, nargs="+", default=[8192, 16384, 32768])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--scaling", type=int, nargs="+", default=[4096, 8192, 16384, 32768, 65536])
    parser.add_argument("--skip", nargs="*", default=[], choices=["core", "extras", "scaling", "sizes", "ntt"])
    parser.add_argument("--quick", action="store_true", help="N = 2^13, 2^14; 5 repeats; no N sweep")
    parser.add_argument("--json", type=Path, help="also write the measurements here (for tools/benchmark_page.py)")
    parser.add_argument("--clock", choices=["auto", "cpu", "wall"], default="auto",
                        help="auto (default): CPU time of the process on 1 thread, wall time on more; "
                             "wall: elapsed time everywhere (use on an idle machine)")
    args = parser.parse_args()
    global CLOCK_MODE
    CLOCK_MODE = args.clock
    if args.quick:
        args.rings, args.repeat, args.skip = [8192, 16384], 5, list(args.skip) + ["scaling"]
    results: dict = {"core": [], "extras": [], "scaling": [], "sizes": [], "ntt": []}
    started = load_note()

    def emit(text: str) -> None:  # print each section as soon as it is measured, and keep the data so far
        print(text, flush=True)
        if args.json:
            results["note"] = f"at start: {started}; now: {load_note()}"
            args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")

    emit(f"# ckks vs TenSEAL {ts.__version__} vs OpenFHE (median of {args.repeat}, alternating)\n\n"
         f"Clock: {args.clock} (auto = CPU seconds of the process for 1 thread, wall seconds for 2).\n")
    if "core" not in args.skip:
        emit("## Core operations and rotation\n\n" + core_section(args.rings, args.threads, args.repeat, results))
    if "extras" not in args.skip:
        emit("\n## Rotations, linear algebra, polynomials\n\n"
             + extras_section([n for n in args.rings if n <= 16384], args.threads, args.repeat, results))
    if "scaling" not in args.skip:
        emit("\n## Time against N\n\n" + scaling_section(args.scaling, max(3, args.repeat // 2), results))
    if "sizes" not in args.skip:
        emit("\n## Serialized sizes\n\n" + sizes_section(results))
    if "ntt" not in args.skip:
        emit("\n## NTT per transform\n\n" + ntt_section(results))
    emit(f"\nMachine: at start: {started}; at end: {load_note()}.")


if __name__ == "__main__":
    main()
