"""Multiplexed against dense convolution packing (issue 22): compile time and memory, seconds per image.

    python benchmarks/bench_multiplexed.py                                # the CIFAR-shaped network, 128-bit
    python benchmarks/bench_multiplexed.py --size 16 --channels 8 --packing dense multiplexed
    python benchmarks/bench_multiplexed.py --compile-only                 # compile time and memory only
    python benchmarks/bench_multiplexed.py --model mnist_lenet --packing multiplexed dense --images 3

The network is the CIFAR-shaped one of issue 22 with ``--channels`` C and ``--size`` S:
``Conv2d(3, C, 3, padding=1) -> Square -> AvgPool2d(2) -> Conv2d(C, C, 3, padding=1) -> Square ->
AvgPool2d(2) -> Flatten -> Linear(C (S/4)^2, 10)``, Xavier-initialised random weights (values stay O(1)
through both squares), inputs uniform in [0, 1); ``--model mnist_lenet`` (or ``mnist_tenseal_cnn``) takes the
shipped MNIST model instead, on MNIST test images (calibration: 256 training images). Per packing
(``compile(..., conv_packing=...)``) it prints compile seconds, the compile's peak traced memory (tracemalloc)
and the process's peak RSS, key generation seconds, seconds per image (encrypt + run + decrypt, each image
alone) and whether the encrypted argmax equals the plaintext one. Each packing runs in this process one after
the other: the peak RSS is the process's so far (run one packing per process for a clean figure). Runs over 4
GiB (N = 2^15 keys) should hold the shared lock: ``flock /tmp/bigmem.lock python
benchmarks/bench_multiplexed.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np

import nn
from nn import encrypted


def network(channels: int, size: int, seed: int = 0) -> nn.Sequential:
    """The CIFAR-shaped network with ``channels`` channels on ``size`` x ``size`` images."""
    rng = np.random.default_rng(seed)
    flat = channels * (size // 4) ** 2
    return nn.Sequential([
        nn.Conv2d(3, channels, 3, padding=1, init="xavier", rng=rng), nn.Square(), nn.AvgPool2d(2),
        nn.Conv2d(channels, channels, 3, padding=1, init="xavier", rng=rng), nn.Square(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(flat, 10, init="xavier", rng=rng)])


def inputs(args) -> tuple[nn.Sequential, tuple[int, ...], np.ndarray, np.ndarray]:
    """The model, the sample shape, the images and the calibration samples of ``--model``."""
    rng = np.random.default_rng(args.seed + 1)
    if args.model == "cifar":
        shape = (3, args.size, args.size)
        return network(args.channels, args.size, args.seed), shape, rng.random((args.images, *shape)), rng.random(
            (64, *shape))
    from nn.datasets import load_mnist
    from nn.encrypted import pretrained

    data = load_mnist()
    return pretrained.load(args.model), (1, 28, 28), data.x_test[: args.images], data.x_train[:256]


def measure(args, packing: str) -> dict:
    model, shape, x, cal = inputs(args)
    options = {} if args.security == 128 else {"security": None, "poly_degree": args.poly_degree}
    if args.no_flooding:
        options["flooding"] = False
    row = {"model": args.model, "packing": packing}
    if args.model == "cifar":
        row.update(channels=args.channels, size=args.size)
    tracemalloc.start()
    t0 = time.perf_counter()
    em = encrypted.compile(model, shape, layout="sample", conv_packing=packing, calibration=cal,
                           memory_limit=args.memory_limit * 2**30, **options)
    row["compile_s"] = round(time.perf_counter() - t0, 2)
    row["compile_peak_traced_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    row["rss_after_compile_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    row["params"] = em.params.describe()
    row["rotations"] = sum(c["rotations"] for c in em._layout.costs())
    row["galois_keys"] = len(em.rotation_steps)
    if args.verbose:
        print(em.summary(), file=sys.stderr)
    if args.compile_only:
        return row
    t0 = time.perf_counter()
    ctx = em.keygen()
    row["keygen_s"] = round(time.perf_counter() - t0, 2)
    server = ctx.public_copy()
    times, agree = [], []
    for i in range(args.images):
        t0 = time.perf_counter()
        y = em.decrypt(ctx, em.run(server, em.encrypt(ctx, x[i:i + 1])))
        times.append(time.perf_counter() - t0)
        plain = model.forward(x[i:i + 1])
        agree.append(bool(np.argmax(y) == np.argmax(plain)))
        row.setdefault("max_abs_error", 0.0)
        row["max_abs_error"] = max(row["max_abs_error"], float(np.max(np.abs(y - plain))))
        print(f"  {packing}: image {i + 1}/{args.images}: {times[-1]:.2f} s", file=sys.stderr)
    row["seconds_per_image"] = round(float(np.median(times)), 2)
    row["argmax_agrees"] = f"{sum(agree)}/{len(agree)}"
    row["rss_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cifar", choices=["cifar", "mnist_lenet", "mnist_tenseal_cnn"])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--size", type=int, default=32, help="image side (a multiple of 4)")
    parser.add_argument("--packing", nargs="+", default=["multiplexed"], choices=["auto", "dense", "multiplexed"])
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--security", type=int, default=128, choices=[0, 128], help="0: insecure toy ring")
    parser.add_argument("--poly-degree", type=int, default=None, help="ring degree with --security 0")
    parser.add_argument("--no-flooding", action="store_true")
    parser.add_argument("--memory-limit", type=float, default=8.0, help="compile's memory_limit, GiB")
    parser.add_argument("--compile-only", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="print each summary() to stderr")
    args = parser.parse_args(argv)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the insecure-ring warning of --security 0
        for packing in args.packing:
            rows.append(measure(args, packing))
            print(json.dumps(rows[-1]))
    return rows


if __name__ == "__main__":
    main()
