"""One library in one process: the worker that ``bench_inference.py --dataset mnist`` starts for ours or TenSEAL.

    python benchmarks/inference_worker.py ours       # nn.encrypted on this library's CKKS
    python benchmarks/inference_worker.py tenseal    # the TenSEAL twin (never imports ckks or nn.encrypted)

The benchmark never runs two libraries in one process: each gets a worker of its own, so that
thread pools, allocators and caches of one cannot slow the other, and the parent (plaintext only)
times them alternately, image by image, so that both see the same machine load.  The worker talks
JSON lines on stdin/stdout (the protocol of `library_worker.py` and `openfhe_worker.py`):

    {"cmd": "setup", "model": "m.npz", "images": "x.npy", "layout": "sample", "calibration": "c.npy",
     "options": {...}}                -> {"ok": true, "params": "...", "compile_s": ..., "keygen_s": ...,
                                          "rss_compile_mb": ..., "summary": "..."}            (ours)
    {"cmd": "setup", "model": "m.npz", "images": "x.npy", "poly_degree": N, "moduli_bits": [...],
     "scale_bits": s}                 -> {"ok": true, "params": "..."}                         (tenseal)
    {"cmd": "single", "index": i}     -> {"logits": [...], "seconds": t}   (encrypt + evaluate + decrypt)
    {"cmd": "batch", "count": n}      -> {"logits": [[...], ...], "seconds": t, "params": "..."}  (ours, batch layout)
    {"cmd": "quit"}

Every reply to a failed command is ``{"error": "..."}``.  The TenSEAL side is
`nn.encrypted.tenseal_twin.TenSEALTwin` (TenSEAL's ``im2col_encoding``, ``conv2d_im2col``,
``pack_vectors``, ``mm`` and ``square_``, as TenSEAL's tutorial 4 on MNIST).
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

#: TenSEAL's own parameters for its MNIST tutorial network (tutorial 4): N = 8192, 26-bit scale, 128-bit secure.
TENSEAL_TUTORIAL = {"poly_degree": 8192, "moduli_bits": [31, 26, 26, 26, 26, 26, 26, 31], "scale_bits": 26}


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MiB (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Ours:
    """nn.encrypted: the model compiled in one layout, its keys, and a public copy of the context (the server)."""

    def __init__(self, request: dict):
        import numpy as np

        from nn import encrypted
        from nn.model import Sequential

        self.np, self.encrypted = np, encrypted
        self.model = Sequential.load(request["model"])
        self.images = np.load(request["images"], allow_pickle=False)
        self.calibration = np.load(request["calibration"], allow_pickle=False)
        self.options = dict(request.get("options") or {})
        self.input_shape = tuple(self.images.shape[1:])
        self.batch_model = None
        start = time.perf_counter()
        self.em = encrypted.compile(self.model, self.input_shape, 1, layout=request.get("layout", "sample"),
                                    calibration=self.calibration, **self.options)
        self.compile_s = time.perf_counter() - start
        self.rss_compile_mb = peak_rss_mb()
        start = time.perf_counter()
        self.ctx = self.em.keygen()
        self.server = self.ctx.public_copy()
        self.keygen_s = time.perf_counter() - start
        self.classify(0)  # warm-up: numba caches load and the diagonals are encoded once per plan

    def setup_reply(self) -> dict:
        return {"ok": True, "params": self.em.params.describe(), "compile_s": self.compile_s,
                "keygen_s": self.keygen_s, "rss_compile_mb": self.rss_compile_mb, "summary": self.em.summary(),
                "poly_degree": self.em.params.poly_degree, "moduli_bits": list(self.em.params.moduli_bits),
                "scale_bits": self.em.params.scale_bits}

    def classify(self, index: int) -> list[float]:
        x = self.images[index : index + 1]
        return self.em.decrypt(self.ctx, self.em.run(self.server, self.em.encrypt(self.ctx, x)))[0].tolist()

    def batch(self, count: int) -> dict:
        """The batch layout (slot = image) on the first ``count`` images: encrypt + run + decrypt, timed."""
        x = self.images[:count]
        self.em = self.ctx = self.server = None  # free the sample layout's keys and encodings first
        em = self.encrypted.compile(self.model, self.input_shape, count, layout="batch",
                                    calibration=self.calibration, **self.options)
        start = time.perf_counter()
        ctx = em.keygen()
        keygen_s = time.perf_counter() - start
        start = time.perf_counter()
        logits = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x)))
        return {"logits": logits.tolist(), "seconds": time.perf_counter() - start, "keygen_s": keygen_s,
                "params": em.params.describe(), "rss_mb": peak_rss_mb()}


class TenSEAL:
    """The TenSEAL twin of the model (`nn.encrypted.tenseal_twin`), at the given ring, primes and scale."""

    def __init__(self, request: dict):
        import numpy as np

        from nn.encrypted.tenseal_twin import TenSEALTwin
        from nn.model import Sequential

        self.model = Sequential.load(request["model"])
        self.images = np.load(request["images"], allow_pickle=False)
        self.twin = TenSEALTwin(self.model, request["poly_degree"], request["moduli_bits"], request["scale_bits"],
                                extra_conv_prime=request.get("extra_conv_prime", True))
        self.classify(0)  # warm-up

    def setup_reply(self) -> dict:
        return {"ok": True, "params": f"N={self.twin.poly_degree}, moduli_bits={self.twin.moduli_bits}, "
                                      f"scale 2^{self.twin.scale_bits} (TenSEAL {self.twin.ts.__version__})"}

    def classify(self, index: int) -> list[float]:
        return self.twin.classify(self.images[index]).tolist()


def serve(library: str, stdin=sys.stdin, stdout=sys.stdout) -> None:
    """Answer JSON-line requests until ``quit`` or end of input."""
    worker = None
    for line in stdin:
        request = json.loads(line)
        cmd = request.get("cmd")
        try:
            if cmd == "quit":
                break
            if cmd == "setup":
                worker = (Ours if library == "ours" else TenSEAL)(request)
                reply = worker.setup_reply()
            elif cmd == "single":
                start = time.perf_counter()
                logits = worker.classify(int(request["index"]))
                reply = {"logits": logits, "seconds": time.perf_counter() - start}
            elif cmd == "batch" and library == "ours":
                reply = worker.batch(int(request["count"]))
            else:
                reply = {"error": f"unknown command {cmd!r} for {library}"}
        except Exception as exc:  # reported to the parent, which stops with the message
            reply = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}"}
        stdout.write(json.dumps(reply) + "\n")
        stdout.flush()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in ("ours", "tenseal"):
        print("usage: inference_worker.py ours|tenseal", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    serve(argv[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
