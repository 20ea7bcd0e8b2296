"""Encrypted inference at real image sizes (issue 22): MNIST against TenSEAL, and a CIFAR-shaped network.

    python benchmarks/bench_inference.py --dataset mnist                      # everything, 2,000 test images
    python benchmarks/bench_inference.py --dataset mnist --images 200 --single 5 --models tenseal_cnn
    python benchmarks/bench_mnist.py --models cifar --cifar-images 2          # the same, called directly

Three networks:

1. ``mnist_tenseal_cnn``, TenSEAL's MNIST tutorial network (tutorial 4): ``Conv2d(1, 4, 7, stride=3) ->
   Square -> Flatten -> Linear(256, 64) -> Square -> Linear(64, 10)``, and its TenSEAL twin
   (`nn.encrypted.tenseal_twin`: TenSEAL's ``im2col_encoding``, ``conv2d_im2col``, ``pack_vectors``,
   ``mm``, square) on the same images.  TenSEAL's parameters (``--ts-params``): "fitted" (default),
   its tutorial's ring N = 8192 and prime layout ``[q0, s x 6, P]`` (its convolution takes two
   levels), with the largest scale 2^s for which ``q0 = P = s +`` the integer bits of the model's
   largest logit on the calibration images keep ``log2(QP)`` within the 128-bit bound (218 bits);
   "tutorial", exactly the tutorial's ``[31, 26 x 6, 31]``, scale 2^26 (5 integer bits: logits
   above 16 wrap around); "ours", our ring and primes plus one prime (refused by SEAL where that
   passes the 128-bit bound).
2. ``mnist_lenet``, the LeNet-5-shaped HE-friendly CNN (`nn.architectures.lenet5`: three convolutions,
   x^2, average pooling): ours only (TenSEAL cannot run a second convolution, its issue #403), one
   image per ciphertext and the batch layout (slot = image).
3. The CIFAR-shaped network (input 3x32x32, ``Conv2d(3, 16, 3, padding=1) -> Square -> AvgPool2d(2) ->
   Conv2d(16, 16, 3, padding=1) -> Square -> AvgPool2d(2) -> Flatten -> Linear(1024, 10)``) with
   random weights on random inputs: compile time and peak memory, seconds per image, argmax
   agreement with the plaintext model.

Each library runs in a process of its own (`inference_worker.py`); this process holds only the
plaintext model and the images.  Single-image latency is encrypt + evaluate + decrypt of one image,
ours and TenSEAL's timed alternately image by image (both see the same load); the table gives
medians with the min-max spread, and the ratio ours/TenSEAL as the median (min-max) of the
per-image ratios.  The batch layout encrypts all images at once (slot = image) and its amortised
time is the whole encrypt + run + decrypt divided by the image count (key generation excluded,
as for single images).  Compilation uses the defaults of `nn.encrypted.compile` (128-bit
security, noise-flooded decryptions); ``--no-flooding`` opts out.

Without the shipped MNIST data (`nn.datasets.load_mnist`) or models (`nn.encrypted.pretrained`) the
benchmark falls back to random 28x28 images and random weights of the same shapes and says so
(accuracy is then meaningless; agreement and times are not).

Targets (issue 22): model 1 agreement >= 99.9 %, latency ours/TenSEAL <= 0.2, amortised batch time
<= 1/200 of TenSEAL's single-image time; model 2 agreement >= 99.5 %, <= 2.2 s per image single
(LoLa) and <= 0.03 s amortised (CryptoNets); CIFAR-shaped: compiles in < 2 GB and < 60 s, argmax
equals plaintext.  Runs of 2,000 images take several GiB: hold ``flock /tmp/bigmem.lock``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import nn  # noqa: E402
import nn.datasets  # noqa: E402
from nn.encrypted import pretrained  # noqa: E402

MODELS = ("tenseal_cnn", "lenet", "cifar")
CIFAR_SHAPE = (3, 32, 32)
MNIST_SHAPE = (1, 28, 28)


# -- models and data ----------------------------------------------------------------------------------------


def cifar_cnn(seed: int = 0) -> nn.Sequential:
    """The CIFAR-shaped network of issue 22, randomly initialised (Xavier: values stay O(1) through both squares)."""
    rng = np.random.default_rng(seed)
    return nn.Sequential([nn.Conv2d(3, 16, 3, padding=1, init="xavier", rng=rng), nn.Square(), nn.AvgPool2d(2),
                          nn.Conv2d(16, 16, 3, padding=1, init="xavier", rng=rng), nn.Square(), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(1024, 10, init="xavier", rng=rng)])


def mnist_model(name: str, seed: int = 0) -> tuple[nn.Sequential, str]:
    """The shipped model ``name`` (`nn.encrypted.pretrained`), else its architecture, random weights; and which."""
    if pretrained.path(name).exists():
        return pretrained.load(name), "shipped"
    return pretrained.architecture(name, seed), "random weights (weights not shipped)"


@dataclass
class Data:
    """Test images and labels, calibration images, and where they came from."""

    x_test: np.ndarray
    y_test: np.ndarray
    x_cal: np.ndarray
    origin: str


def mnist_data(images: int, calibration: int = 512, seed: int = 0) -> Data:
    """The first ``images`` test images of ``nn.datasets.load_mnist()``, else random 28x28 images in [0, 1]."""
    loader = getattr(nn.datasets, "load_mnist", None)
    try:
        data = loader() if loader is not None else None
    except Exception as exc:  # a data file not (yet) shipped: fall back, and say so
        print(f"load_mnist() failed ({type(exc).__name__}: {exc}); using random images", file=sys.stderr)
        data = None
    if data is not None:
        return Data(data.x_test[:images], data.y_test[:images], data.x_train[:calibration],
                    f"nn.datasets.load_mnist() ({len(data.y_train)} train / {len(data.y_test)} test)")
    rng = np.random.default_rng(seed)
    return Data(rng.random((images, *MNIST_SHAPE)), rng.integers(0, 10, images), rng.random((calibration,
                *MNIST_SHAPE)), "random 28x28 images in [0, 1] (labels random: accuracy meaningless)")


# -- the worker processes -------------------------------------------------------------------------------------


class Worker:
    """One library in a subprocess (`inference_worker.py`), asked in JSON lines."""

    def __init__(self, library: str):
        env = dict(os.environ)
        env.setdefault("PYTHONWARNINGS", "ignore")
        self.library = library
        self.proc = subprocess.Popen([sys.executable, str(HERE / "inference_worker.py"), library],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, **request) -> dict:
        """Send one request; the reply, or RuntimeError with the worker's message."""
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.library} worker exited (code {self.proc.wait()}) on {request['cmd']!r}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.library} worker, {request['cmd']!r}: {reply['error']}")
        return reply

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def tenseal_fitted(model: nn.Sequential, calibration: np.ndarray, poly_degree: int = 8192) -> dict:
    """TenSEAL's tutorial ring and prime layout with the scale fitted to the model's logits (module docstring).

    ``q0 = P = s + b`` with ``b = ceil(log2 max|logit|) + 2`` (sign and margin), ``s`` the largest with
    ``2 (s + b) + 6 s`` within the HE-standard bound of ``poly_degree``.
    """
    from ckks.security.standard import max_modulus_bits

    largest = float(np.max(np.abs(model.predict(calibration))))
    integer_bits = max(1, math.ceil(math.log2(max(largest, 1.0)))) + 2
    scale_bits = min(60 - integer_bits, (max_modulus_bits(poly_degree) - 2 * integer_bits) // 8)
    edge = scale_bits + integer_bits
    return {"poly_degree": poly_degree, "moduli_bits": [edge, *[scale_bits] * 6, edge], "scale_bits": scale_bits}


def compile_options(no_flooding: bool, conv_packing: str | None) -> dict:
    """Options passed to ``nn.encrypted.compile`` (``conv_packing`` only where the compiler has it)."""
    from nn.encrypted import compile as compile_model

    options = {"flooding": False} if no_flooding else {}
    if conv_packing is not None:
        if "conv_packing" not in inspect.signature(compile_model).parameters:
            raise SystemExit("--conv-packing: this nn.encrypted.compile has no conv_packing option yet")
        options["conv_packing"] = conv_packing
    return options


def save_inputs(folder: Path, name: str, model: nn.Sequential, images: np.ndarray, cal: np.ndarray) -> dict:
    """Write the model and images for the workers; the paths, as setup fields."""
    paths = {"model": folder / f"{name}.npz", "images": folder / f"{name}_x.npy",
             "calibration": folder / f"{name}_cal.npy"}
    model.save(paths["model"])
    np.save(paths["images"], np.ascontiguousarray(images, dtype=np.float64))
    np.save(paths["calibration"], np.ascontiguousarray(cal, dtype=np.float64))
    return {key: str(value) for key, value in paths.items()}


def spread(values) -> tuple[float, float, float]:
    """(median, min, max)."""
    values = list(values)
    return statistics.median(values), min(values), max(values)


def fmt(stats: tuple[float, float, float] | None, digits: int = 3, scale: float = 1.0) -> str:
    """``median (min-max)``."""
    if stats is None:
        return "n/a"
    m, lo, hi = (v * scale for v in stats)
    return f"{m:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"


# -- the three benchmarks ---------------------------------------------------------------------------------------


def tenseal_setup(config: str, model: nn.Sequential, calibration: np.ndarray, ours: dict) -> dict:
    """The TenSEAL worker's setup fields for one ``--ts-params`` entry (module docstring)."""
    from inference_worker import TENSEAL_TUTORIAL

    if config == "tutorial":
        return dict(TENSEAL_TUTORIAL, extra_conv_prime=False)
    if config == "ours":
        return {"poly_degree": ours["poly_degree"], "moduli_bits": ours["moduli_bits"],
                "scale_bits": ours["scale_bits"], "extra_conv_prime": True}
    return dict(tenseal_fitted(model, calibration, int(config)), extra_conv_prime=False)


def bench_tenseal_cnn(args, data: Data, folder: Path, options: dict) -> list[dict]:
    """Model 1 and its TenSEAL twins, alternately on the same images; then our batch layout. One row per twin."""
    model, origin = mnist_model("mnist_tenseal_cnn", args.seed)
    plain = model.predict(data.x_test).argmax(1)
    base = {"model": "mnist_tenseal_cnn", "weights": origin, "images": len(plain),
            "plain_acc": float(np.mean(plain == data.y_test))}
    files = save_inputs(folder, "tenseal_cnn", model, data.x_test, data.x_cal)
    twins = [Worker("tenseal") for _ in args.ts_params]
    try:
        with Worker("ours") as ours:
            setup = ours.ask(cmd="setup", layout="sample", options=options, **files)
            base.update(params=setup["params"], keygen_s=setup["keygen_s"], summary=setup["summary"])
            rows = []
            for config, twin in zip(args.ts_params, twins):
                fields = tenseal_setup(config, model, data.x_cal, setup)
                reply = twin.ask(cmd="setup", model=files["model"], images=files["images"], **fields)
                rows.append({"ts_params": reply["params"], "ts_config": config, "t_ts": [], "p_ts": []})
            t_ours, p_ours = [], []
            count = min(max(args.single, args.ts_images), len(plain))
            for i in range(count):  # alternately, image by image: every library sees the same load
                if i < args.single:
                    reply = ours.ask(cmd="single", index=i)
                    t_ours.append(reply["seconds"])
                    p_ours.append(int(np.argmax(reply["logits"])))
                for row, twin in zip(rows, twins):
                    if i < args.ts_images:
                        reply = twin.ask(cmd="single", index=i)
                        row["t_ts"].append(reply["seconds"])
                        row["p_ts"].append(int(np.argmax(reply["logits"])))
                print(f"  mnist_tenseal_cnn: image {i + 1}/{count} one by one", file=sys.stderr)
            for twin in twins:
                twin.close()
            base.update(ours_single=spread(t_ours) if t_ours else None, single=len(p_ours),
                        ours_single_agree=float(np.mean(np.array(p_ours) == plain[: len(p_ours)])) if p_ours else 0.0)
            if args.images > 0:
                base.update(_batch(ours, len(plain), plain, data.y_test))
    finally:
        for twin in twins:
            twin.__exit__()
    out = []
    for row in rows:
        t_ts, p_ts = row.pop("t_ts"), np.array(row.pop("p_ts"))
        row = {**base, **row, "ts_images": len(p_ts)}
        if len(p_ts):
            row.update(ts_single=spread(t_ts), ts_acc=float(np.mean(p_ts == data.y_test[: len(p_ts)])),
                       ts_agree=float(np.mean(p_ts == plain[: len(p_ts)])))
        paired = min(len(t_ours), len(t_ts))
        if paired:
            row["ratio_single"] = spread(a / b for a, b in zip(t_ours[:paired], t_ts[:paired]))
        out.append(row)
    return out or [base]


def _batch(worker: Worker, count: int, plain: np.ndarray, labels: np.ndarray) -> dict:
    reply = worker.ask(cmd="batch", count=count)
    pred = np.asarray(reply["logits"]).argmax(1)
    return {"batch_s": reply["seconds"], "amortised_s": reply["seconds"] / count, "batch_params": reply["params"],
            "batch_keygen_s": reply["keygen_s"], "batch_rss_mb": reply["rss_mb"],
            "ours_acc": float(np.mean(pred == labels)), "ours_agree": float(np.mean(pred == plain))}


def bench_lenet(args, data: Data, folder: Path, options: dict) -> dict:
    """Model 2: one image per ciphertext, then the batch layout over all images."""
    model, origin = mnist_model("mnist_lenet", args.seed)
    plain = model.predict(data.x_test).argmax(1)
    row = {"model": "mnist_lenet", "weights": origin, "images": len(plain),
           "plain_acc": float(np.mean(plain == data.y_test))}
    files = save_inputs(folder, "lenet", model, data.x_test, data.x_cal)
    with Worker("ours") as ours:
        setup = ours.ask(cmd="setup", layout="sample", options=options, **files)
        row.update(params=setup["params"], keygen_s=setup["keygen_s"], compile_s=setup["compile_s"],
                   summary=setup["summary"])
        times, pred = [], []
        for i in range(min(args.single, len(plain))):
            reply = ours.ask(cmd="single", index=i)
            times.append(reply["seconds"])
            pred.append(int(np.argmax(reply["logits"])))
            print(f"  mnist_lenet: image {i + 1}/{args.single} one by one", file=sys.stderr)
        if times:
            row.update(ours_single=spread(times), single=len(pred),
                       ours_single_agree=float(np.mean(np.array(pred) == plain[: len(pred)])))
        if args.images > 0:
            row.update(_batch(ours, len(plain), plain, data.y_test))
    return row


def bench_cifar(args, folder: Path, options: dict) -> dict:
    """The CIFAR-shaped network on random inputs: compile time and memory, seconds per image, argmax agreement."""
    model = cifar_cnn(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    x = rng.random((max(1, args.cifar_images), *CIFAR_SHAPE))
    plain = model.predict(x).argmax(1)
    files = save_inputs(folder, "cifar", model, x, rng.random((64, *CIFAR_SHAPE)))
    row = {"model": "CIFAR-shaped (3x32x32)", "weights": "random weights", "images": len(plain)}
    with Worker("ours") as ours:
        setup = ours.ask(cmd="setup", layout="sample", options=options, **files)
        row.update(params=setup["params"], compile_s=setup["compile_s"], rss_compile_mb=setup["rss_compile_mb"],
                   keygen_s=setup["keygen_s"], summary=setup["summary"])
        times, pred = [], []
        for i in range(len(plain)):
            reply = ours.ask(cmd="single", index=i)
            times.append(reply["seconds"])
            pred.append(int(np.argmax(reply["logits"])))
            print(f"  CIFAR-shaped: image {i + 1}/{len(plain)}", file=sys.stderr)
        row.update(ours_single=spread(times), single=len(pred),
                   ours_single_agree=float(np.mean(np.array(pred) == plain)))
    return row


# -- report -------------------------------------------------------------------------------------------------------


def pct(row: dict, key: str) -> str:
    return f"{row[key]:.2%}" if key in row else "n/a"


def twin_label(config: str) -> str:
    """``N=8192`` for a fitted ring, else the config's name."""
    return f"N={config}" if config.isdigit() else config


def table(rows: list[dict]) -> str:
    """The markdown table of the rows."""
    header = ["model", "weights", "plain acc", "ours acc / agree (batch)", "ours agree (single)",
              "TenSEAL acc / agree", "ours single (s)", "TenSEAL single (s)", "ours / TenSEAL single",
              "ours amortised (ms)", "amortised / TenSEAL single"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        ts_single = r.get("ts_single")
        amort = r.get("amortised_s")
        cells = [
            r["model"] + (f" vs TenSEAL {twin_label(r['ts_config'])}" if "ts_config" in r else ""), r["weights"],
            pct(r, "plain_acc"),
            f"{pct(r, 'ours_acc')} / {pct(r, 'ours_agree')} ({r['images']})" if amort else "n/a",
            f"{pct(r, 'ours_single_agree')} ({r.get('single', 0)})",
            f"{pct(r, 'ts_acc')} / {pct(r, 'ts_agree')} ({r.get('ts_images', 0)})" if ts_single else "n/a",
            fmt(r.get("ours_single")), fmt(ts_single), fmt(r.get("ratio_single"), 2),
            f"{amort * 1e3:.2f}" if amort else "n/a",
            f"1/{ts_single[0] / amort:.0f}" if amort and ts_single else "n/a",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(r: dict) -> str:
    """One line per row: parameters, compile and key-generation times, the batch run, TenSEAL's parameters."""
    text = f"{r['model']}: ours {r['params']}"
    if "compile_s" in r:
        text += f"; compile {r['compile_s']:.1f} s"
    if "rss_compile_mb" in r:
        text += f" (process peak RSS {r['rss_compile_mb']:.0f} MiB)"
    text += f"; keygen {r.get('keygen_s', 0):.1f} s"
    if "batch_s" in r:
        text += (f"; batch {r['batch_params']}: {r['batch_s']:.1f} s for {r['images']} images (keygen "
                 f"{r['batch_keygen_s']:.0f} s), worker peak RSS {r['batch_rss_mb']:.0f} MiB")
    if "ts_params" in r:
        text += f"; TenSEAL {r['ts_params']}"
    return text


def targets(rows: list[dict]) -> list[str]:
    """Each target of issue 22 with the measured value and whether it is met."""
    out = []

    def check(name: str, value: str, ok: bool) -> None:
        out.append(f"- {name}: {value} -> {'met' if ok else 'MISSED'}")

    for r in rows:
        if r["model"] == "mnist_tenseal_cnn":
            vs = f" (TenSEAL {twin_label(r['ts_config'])})" if "ts_config" in r else ""
            if "ours_agree" in r and r is next(q for q in rows if q["model"] == "mnist_tenseal_cnn"):
                check("model 1 agreement >= 99.9%", f"{r['ours_agree']:.2%} on {r['images']} images",
                      r["ours_agree"] >= 0.999)
            if "ratio_single" in r:
                check(f"model 1 single latency ours/TenSEAL <= 0.2{vs}", f"{r['ratio_single'][0]:.2f}",
                      r["ratio_single"][0] <= 0.2)
            if "amortised_s" in r and r.get("ts_single"):
                frac = r["ts_single"][0] / r["amortised_s"]
                check(f"model 1 amortised <= 1/200 of TenSEAL single{vs}", f"1/{frac:.0f}", frac >= 200)
        elif r["model"] == "mnist_lenet":
            if "ours_agree" in r:
                check("model 2 agreement >= 99.5%", f"{r['ours_agree']:.2%} on {r['images']} images",
                      r["ours_agree"] >= 0.995)
            if "ours_single" in r:
                check("model 2 single <= 2.2 s (LoLa)", f"{r['ours_single'][0]:.2f} s", r["ours_single"][0] <= 2.2)
            if "amortised_s" in r:
                check("model 2 amortised <= 0.03 s (CryptoNets)", f"{r['amortised_s']:.4f} s",
                      r["amortised_s"] <= 0.03)
        else:
            check("CIFAR-shaped compiles in < 60 s", f"{r['compile_s']:.1f} s", r["compile_s"] < 60)
            check("CIFAR-shaped compile peak memory < 2 GB", f"{r['rss_compile_mb']:.0f} MiB (process peak RSS)",
                  r["rss_compile_mb"] < 2000)
            check("CIFAR-shaped argmax equals plaintext", f"{r['ours_single_agree']:.0%} of {r['single']} images",
                  r["ours_single_agree"] == 1.0)
    return out


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the MNIST benchmark (also ``bench_inference.py --dataset mnist``)."""
    parser = argparse.ArgumentParser(prog="bench_inference.py --dataset mnist", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, of {', '.join(MODELS)} (default: all)")
    parser.add_argument("--images", type=int, default=2000,
                        help="test images classified by the batch layout (0: no batch run; default 2000)")
    parser.add_argument("--single", type=int, default=10, help="images classified one by one by ours (default 10)")
    parser.add_argument("--ts-images", type=int, default=None,
                        help="images classified one by one by TenSEAL (default: --single)")
    parser.add_argument("--ts-params", default="8192,16384",
                        help="TenSEAL twins, comma-separated: a ring degree (its tutorial's prime layout, the scale "
                        "fitted to the model; default 8192,16384), tutorial (exactly its tutorial's), ours")
    parser.add_argument("--cifar-images", type=int, default=3, help="random inputs for the CIFAR-shaped network")
    parser.add_argument("--conv-packing", default=None, help="compile(..., conv_packing=...) (default: compiler's)")
    parser.add_argument("--no-flooding", action="store_true", help="compile with flooding=False (smaller ring)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random weights and inputs")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        parser.error(f"--models: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(MODELS)}")
    for name in ("images", "single", "cifar_images"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be >= 0")
    if args.ts_images is None:
        args.ts_images = args.single
    if args.ts_images < 0:
        parser.error("--ts-images must be >= 0")
    args.models = models
    configs = [c.strip() for c in args.ts_params.split(",") if c.strip()]
    bad = [c for c in configs if c not in ("tutorial", "ours") and c not in ("8192", "16384", "32768")]
    if bad or not configs:
        parser.error(f"--ts-params: unknown {', '.join(bad) or '(none given)'}; use 8192, 16384, 32768, tutorial, ours")
    args.ts_params = configs
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmarks asked for, print the table and the targets; the rows, for tests."""
    args = parse(argv)
    options = compile_options(args.no_flooding, args.conv_packing)
    start = time.perf_counter()
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if {"tenseal_cnn", "lenet"} & set(args.models):
            data = mnist_data(max(args.images, args.single, args.ts_images, 1))
            print(f"data: {data.origin}; {len(data.y_test)} test images", file=sys.stderr)
        if "tenseal_cnn" in args.models:
            rows.extend(bench_tenseal_cnn(args, data, folder, options))
        if "lenet" in args.models:
            rows.append(bench_lenet(args, data, folder, options))
        if "cifar" in args.models:
            rows.append(bench_cifar(args, folder, options))
    print("\n" + table(rows) + "\n")
    for r in rows:
        print(details(r))
    print("\ntargets (issue 22):")
    print("\n".join(targets(rows)))
    print(f"\nload average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, at end "
          + " ".join(f"{v:.2f}" for v in os.getloadavg()) + f"; {time.perf_counter() - start:.0f} s in all; "
          f"options {options or 'defaults'}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    return rows


if __name__ == "__main__":
    main()
