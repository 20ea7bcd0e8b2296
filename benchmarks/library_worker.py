"""One library in one process: the worker that benchmarks/compare.py starts for this library or for TenSEAL.

    python benchmarks/library_worker.py ours       # this library (numba threads: NUMBA_NUM_THREADS)
    python benchmarks/library_worker.py tenseal    # TenSEAL / Microsoft SEAL (never imports ckks to time it)

compare.py never times two libraries in one process: each (library, setting, thread count) gets a
worker of its own (this file for ours and TenSEAL, `openfhe_worker.py` for OpenFHE), so that thread
pools, allocators and caches of one library cannot slow another. The worker talks JSON lines on
stdin/stdout, the same protocol as `openfhe_worker.py`:

    {"cmd": "setup", "poly_degree": N, "moduli_bits": [60, 40, 40, 60], "scale_bits": 40,
     "steps": [1], "hoisted": [2, 4], "sum": false, "values": [...], "other": [...], "poly": [...]}
                                                   -> {"ok": true, "ring_dim": N, "relin_key_bytes": ...}
    {"cmd": "time", "op": "multiply", "repeat": 3, "clock": "cpu", "warmup": true}  -> {"samples": [s, ...]}
    {"cmd": "sizes"}                               -> {"sizes": {object: bytes}}    (N = 8192, bench_sizes.py)
    {"cmd": "ntt"}                                 -> {"rows": [...], "register": "zmm", ...}  (ours only)
    {"cmd": "bootstrap", "preset": "128", "poly_degree": null, "repeat": 2, "values": [...], "clock": "cpu"}
                                                   -> {"seconds": [...], "keygen_seconds": ..., ...}   (ours only)
    {"cmd": "quit"}

One warm-up call precedes the timed calls of a ``time`` request unless it says ``"warmup": false``.
``clock`` "cpu" is the CPU time of this process (``time.process_time``; right for one thread on a loaded
machine), "wall" elapsed time.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def requested_threads(request: dict) -> int:
    """The thread count a request asks for: its ``"threads"``, else the worker's ``NUMBA_NUM_THREADS``.

    compare.py starts every worker with ``NUMBA_NUM_THREADS`` set to the thread count of its rows, so a request
    without ``"threads"`` still runs on that many (it once ran on one thread, and the 2-thread rows of ours
    measured one thread).
    """
    return int(request.get("threads", os.environ.get("NUMBA_NUM_THREADS", 1)))


def seal_galois_element(step: int, n: int) -> int:
    """SEAL's Galois element of a rotation step (GaloisTool::get_elt_from_step: generator 3)."""
    return pow(3, step % (n // 2), 2 * n)


class Ours:
    """This library's context, two ciphertexts and the callables to time."""

    def __init__(self, request: dict):
        import numpy as np

        import ckks
        from ckks.ring.modarith import set_threads

        set_threads(requested_threads(request))
        n, bits, scale_bits = int(request["poly_degree"]), list(request["moduli_bits"]), int(request["scale_bits"])
        self.values, other = np.array(request["values"]), np.array(request["other"])
        self.ctx = ckks.Context(n, bits, scale_bits, key_switching=request.get("key_switching", "seal"))
        self.ctx.generate_galois_keys(steps=[int(k) for k in request.get("steps", [1])], progress=False)
        x, y = self.ctx.encrypt(self.values), self.ctx.encrypt(other)
        hoisted, poly = [int(k) for k in request.get("hoisted", [])], [float(c) for c in request.get("poly", [])]
        matrix = np.random.default_rng(n).uniform(-1, 1, (64, 64))
        x64 = self.ctx.encrypt(self.values[:64])
        self.ops = {
            "encrypt": lambda: self.ctx.encrypt(self.values),
            "decrypt": lambda: x.decrypt(),
            "add": lambda: x + y,
            "plain multiply": lambda: x * other,
            "multiply": lambda: x * y,
            "rotate": lambda: x.rotate(1),
            "hoisted": lambda: x.rotate_many(hoisted),
            "sum": lambda: x.sum(),
            "polyval": lambda: x.polyval(poly),
            "matmul": lambda: x64.matmul(matrix),
        }
        params = self.ctx.params
        self.info = {"ring_dim": n, "relin_key_bytes": len(self.ctx.relin_key.serialize()),
                     "security": "128-bit (our HE-standard check)", "threads": numba_threads(),
                     "special_primes": params.special_count, "digits": list(params.digit_sizes)}


class TenSEAL:
    """TenSEAL's context (SEAL's CoeffModulus::Create gives the same primes as ours), ciphertexts and callables."""

    def __init__(self, request: dict):
        import tenseal as ts
        import tenseal.sealapi as sealapi

        n, bits, scale_bits = int(request["poly_degree"]), list(request["moduli_bits"]), int(request["scale_bits"])
        values, other = list(request["values"]), list(request["other"])
        ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=n, coeff_mod_bit_sizes=bits)
        ctx.global_scale = 2.0**scale_bits
        seal_context = ctx.seal_context().data
        keygen = sealapi.KeyGenerator(seal_context, ctx.secret_key().data)
        galois = sealapi.GaloisKeys()
        keygen.create_galois_keys([seal_galois_element(int(k), n) for k in request.get("steps", [1])], galois)
        evaluator = sealapi.Evaluator(seal_context)
        x, y = ts.ckks_vector(ctx, values), ts.ckks_vector(ctx, other)

        def rotate(step: int):
            out = sealapi.Ciphertext()
            evaluator.rotate_vector(x.ciphertext()[0], step, galois, out)
            return out

        hoisted, poly = [int(k) for k in request.get("hoisted", [])], [float(c) for c in request.get("poly", [])]
        self.ops = {
            "encrypt": lambda: ts.ckks_vector(ctx, values),
            "decrypt": lambda: x.decrypt(),
            "add": lambda: x + y,
            "plain multiply": lambda: x * other,
            "multiply": lambda: x * y,
            "rotate": lambda: rotate(1),
            "hoisted": lambda: [rotate(k) for k in hoisted],  # SEAL has no hoisting: single rotations
            "polyval": lambda: x.polyval(poly),
        }
        if request.get("sum"):  # TenSEAL's own sum and matmul need its default Galois keys
            import numpy as np

            full = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=n, coeff_mod_bit_sizes=bits)
            full.global_scale = 2.0**scale_bits
            full.generate_galois_keys()
            fx, fx64 = ts.ckks_vector(full, values), ts.ckks_vector(full, values[:64])
            matrix = np.random.default_rng(n).uniform(-1, 1, (64, 64)).tolist()
            self.ops["sum"] = lambda: fx.sum()
            self.ops["matmul"] = lambda: fx64.matmul(matrix)
        relin = len(ctx.serialize(save_public_key=False, save_secret_key=False, save_galois_keys=False,
                                  save_relin_keys=True))
        self.info = {"ring_dim": n, "relin_key_bytes": relin, "security": "128-bit (SEAL's default check)"}


def bootstrap(request: dict) -> dict:
    """Our bootstrapping at a preset: key generation, a warm-up bootstrap, then ``repeat`` timed ones."""
    import numpy as np
    from bench_bootstrap import Ours as OurBootstrap
    from bench_bootstrap import peak_gib

    from ckks.ring.modarith import set_threads

    set_threads(requested_threads(request))
    values = np.array(request["values"])
    ours = OurBootstrap(request["preset"], request.get("poly_degree"), values)
    seconds = []
    clock = time.process_time if request.get("clock") == "cpu" else time.perf_counter
    for _ in range(int(request.get("repeat", 2))):
        start = clock()
        ours.out = ours.low.bootstrap()
        seconds.append(clock() - start)
    report = dict(ours.report(), dnum=ours.ctx.params.dnum, hamming_weight=ours.ctx.params.hamming_weight)
    return dict(report, seconds=seconds, keygen_seconds=ours.keygen_seconds, threads=numba_threads(),
                key_memory_mb=report["key_memory_mb"], peak_rss_mb=peak_gib() * 1024)


def numba_threads() -> int:
    """The threads numba's parallel kernels run on in this process (``set_threads``)."""
    import numba

    return numba.get_num_threads()


def ntt() -> dict:
    """Forward and inverse NTT of one limb, one thread, median of 200, and the vector multiplies LLVM emitted."""
    import statistics

    import numpy as np

    import ckks
    from ckks.ring.modarith import set_threads
    from ckks.ring.ntt import forward_one, inverse_one

    set_threads(1)
    rows = []
    for n, bits in ((8192, [60, 40, 40, 60]), (16384, [60] + [40] * 7 + [60]), (32768, [60] + [40] * 11 + [60])):
        tables = ckks.Context(n, bits, 40).params.tables
        q = tables.moduli[1]
        a = np.random.default_rng(1).integers(0, int(q), n, dtype=np.uint64)
        calls = {
            "forward_us": (forward_one, (a, tables.psi_rev[1], tables.psi_rev_shoup[1], q)),
            "inverse_us": (inverse_one, (a, tables.psi_inv_rev[1], tables.psi_inv_rev_shoup[1], tables.n_inv[1], q)),
        }
        row = {"N": n}
        for name, (kernel, arguments) in calls.items():
            kernel(*arguments)
            samples = []
            for _ in range(200):
                start = time.process_time()
                kernel(*arguments)
                samples.append((time.process_time() - start) * 1e6)
            row[name] = statistics.median(samples)
        rows.append(row)
    from numba import njit

    probe = njit(forward_one.py_func)  # a fresh compilation: cached code cannot be inspected
    probe(*calls["forward_us"][1])
    asm = probe.inspect_asm(probe.signatures[0])
    register = "zmm" if "zmm" in asm else "ymm" if "ymm" in asm else "xmm"
    return {"rows": rows, "register": register, "vpmuludq": asm.count("vpmuludq")}


def sizes(library: str) -> dict:
    """Serialized sizes at bench_sizes.py's parameters (N = 8192)."""
    import bench_sizes
    import numpy as np

    values = np.random.default_rng(0).uniform(-1, 1, bench_sizes.N // 2)
    return bench_sizes.our_sizes(values)[0] if library == "ours" else bench_sizes.tenseal_sizes(values)


def main() -> None:
    from worker_protocol import serve, time_call

    library = sys.argv[1] if len(sys.argv) > 1 else "ours"
    if library not in ("ours", "tenseal"):
        sys.exit(f"library must be 'ours' or 'tenseal', got {library!r}")
    state = {}

    def handle(request: dict) -> dict | None:
        command = request["cmd"]
        if command == "setup":
            state["bench"] = (Ours if library == "ours" else TenSEAL)(request)
            return dict(state["bench"].info, ok=True)
        if command == "time":
            return time_call(state["bench"].ops[request["op"]], request)
        if command == "sizes":
            return {"sizes": sizes(library)}
        if command == "ntt" and library == "ours":
            return ntt()
        if command == "bootstrap" and library == "ours":
            return bootstrap(request)
        if command == "quit":
            return None
        return {"error": f"{library} worker: unknown command {command!r}"}

    serve(handle)


if __name__ == "__main__":
    main()
