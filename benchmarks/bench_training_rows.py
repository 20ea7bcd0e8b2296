"""Encrypted training beyond Iris: the row packing on the 8x8 digits and the breast-cancer set (issue 23).

Trains ``Linear(n_in, h) -> activation -> Linear(h, K)`` with ``nn.encrypted.train(..., packing="rows")``
(one sample per segment of slots, each matrix at its own shape: `nn.encrypted.training_rows`) and prints
one markdown row: test accuracy encrypted vs plaintext twin, the largest weight difference over the
epochs, seconds per epoch (wall), the whole training (wall and CPU seconds of the process), refreshes and
bootstraps, and the per-step operation counts of the packed step against the naive ones
(`nn.encrypted.training.naive_counts`).

The activation is ``x2`` (``nn.Square``), ``quadratic`` (p(x) = x + 0.1 x^2, fixed coefficients) or
``trainable`` (``nn.QuadraticActivation(a=0.1, b=1.0)``: the same start, its coefficients trained under
encryption too).  Refresh ``owner`` uses the
automatic 128-bit parameters (N = 16384, scale 2^40, one step between refreshes; with ``--flooding``
N = 32768); ``bootstrap`` uses the insecure teaching bootstrapping preset at ``--poly-degree``
(``security=None``): no key owner during training.  ``--insecure`` runs the owner refresh with
``security=None`` (small rings for quick checks).

Run::

    python benchmarks/bench_training_rows.py --dataset digits --hidden 16 --activation x2 --lr 0.1 --batch 4
    python benchmarks/bench_training_rows.py --dataset digits --hidden 16 --activation quadratic --lr 0.02 \\
        --batch 8 --loss softmax_ce
    python benchmarks/bench_training_rows.py --dataset breast_cancer --hidden 16 --activation quadratic \\
        --lr 0.05 --batch 8 --refresh bootstrap --poly-degree 4096
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATASETS = ("digits", "breast_cancer", "iris")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (exits with status 2 and a message on bad input)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=DATASETS, default="digits")
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--activation", choices=("x2", "quadratic", "trainable"), default="x2")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--loss", choices=("mse", "softmax_ce"), default="mse")
    parser.add_argument("--logit-range", type=float, default=16.0)
    parser.add_argument("--refresh", choices=("owner", "bootstrap"), default="owner")
    parser.add_argument("--poly-degree", type=int, default=None,
                        help="N (bootstrap: the teaching preset's ring, default 4096; owner: automatic)")
    parser.add_argument("--flooding", action="store_true", help="the key owner floods its refreshes (owner only)")
    parser.add_argument("--insecure", action="store_true",
                        help="owner refresh with security=None (small --poly-degree for quick runs; not 128-bit)")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="initialisation and batch order")
    args = parser.parse_args(argv)
    for name in ("hidden", "batch", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.max_steps is not None and args.max_steps < 1:
        parser.error("--max-steps must be >= 1")
    if not (args.lr > 0 and args.logit_range > 0):
        parser.error("--lr and --logit-range must be positive")
    if args.flooding and args.refresh == "bootstrap":
        parser.error("--flooding applies to --refresh owner (bootstrapping has no key owner to flood)")
    return args


def load(name: str):
    """The data set as (n, features) arrays."""
    from nn.datasets import load_breast_cancer, load_digits, load_iris

    return {"digits": lambda: load_digits(images=False), "breast_cancer": load_breast_cancer,
            "iris": load_iris}[name]()


def build_model(n_in: int, hidden: int, n_out: int, activation: str, seed: int):
    """The MLP, Xavier-initialised from ``seed``."""
    import nn

    rng = np.random.default_rng(seed)
    act = {"x2": nn.Square, "quadratic": lambda: nn.PolyActivation([0.0, 1.0, 0.1]),
           "trainable": lambda: nn.QuadraticActivation(a=0.1, b=1.0)}[activation]()
    return nn.Sequential([nn.Linear(n_in, hidden, init="xavier", rng=rng), act,
                          nn.Linear(hidden, n_out, init="xavier", rng=rng)])


def run(args: argparse.Namespace) -> dict:
    """Train once; the measured figures."""
    from nn.encrypted import train

    ds = load(args.dataset)
    n_out = int(ds.y_train.max()) + 1
    model = build_model(ds.x_train.shape[1], args.hidden, n_out, args.activation, args.seed)
    options = {"packing": "rows", "loss": args.loss, "logit_range": args.logit_range, "refresh": args.refresh,
               "flooding": args.flooding, "max_steps": args.max_steps, "verbose": True}
    if args.refresh == "bootstrap":
        options.update(security=None, poly_degree=args.poly_degree or 4096)
    else:
        options.update(poly_degree=args.poly_degree, security=None if args.insecure else 128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the teaching preset's InsecureWarning, the fixed coefficients
        wall, cpu = time.perf_counter(), time.process_time()
        report = train(model, ds.x_train, ds.y_train, epochs=args.epochs, learning_rate=args.lr,
                       batch_size=args.batch, seed=args.seed, **options)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    def accuracy(m) -> float:
        return float(np.mean(np.argmax(m(ds.x_test), axis=1) == ds.y_test))

    naive = report.counts["naive"]
    return {
        "network": f"{ds.x_train.shape[1]}-{args.hidden}-{n_out}", "activation": args.activation,
        "loss": args.loss, "refresh": args.refresh, "epochs": len(report.history), "steps": report.steps,
        "test_accuracy": accuracy(report.model), "twin_test_accuracy": accuracy(report.twin_model),
        "max_weight_diff": max(e["weight_diff"] for e in report.history),
        "seconds_per_epoch": [round(e["seconds"], 1) for e in report.history],
        "wall_s": wall, "cpu_s": cpu, "refreshes": report.refreshes, "bootstraps": report.bootstraps,
        "refresh_s": report.refresh_seconds, "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "key_switches": report.counts["key_switches"], "depth": report.counts["depth"],
        "naive_key_switches": (naive["per_sample"]["key_switches"], naive["per_value"]["key_switches"]),
        "parameters": report.parameters,
    }


def row(r: dict) -> str:
    """The markdown row of one run."""
    return (f"| {r['network']} {r['activation']}, {r['loss']}, {r['refresh']} | {r['epochs']} ({r['steps']} steps) | "
            f"{100 * r['test_accuracy']:.2f} % / {100 * r['twin_test_accuracy']:.2f} % | {r['max_weight_diff']:.1e} | "
            f"{', '.join(map(str, r['seconds_per_epoch']))} | {r['wall_s']:.0f} / {r['cpu_s']:.0f} | "
            f"{r['refreshes']} / {r['bootstraps']} | {r['key_switches']} (naive {r['naive_key_switches'][0]}, "
            f"{r['naive_key_switches'][1]}), depth {r['depth']} |")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print("| network, loss, refresh | epochs | test accuracy encrypted / twin | max \\|W - W_twin\\| | "
          "s / epoch | wall / CPU s | refreshes / bootstraps | key switches per step |")
    print("|---|---|---|---|---|---|---|---|")
    print(row(result))
    print("parameters:", result["parameters"], f"peak RSS {result['peak_rss_gib']:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
