"""Paper-style accuracy table for HE-friendly training (Baruch et al. 2022) on shipped data.

For each seed (model initialisation and mini-batch order; the train/test split
is the datasets' fixed one) it trains

1. the ReLU/max-pool teacher;
2. the same architecture with ``Square`` activations (CryptoNets) from scratch;
3. the same architecture with trainable quadratic activations from scratch;
4. the quadratic model via the methodology (conversion of the teacher, smooth
   ReLU-to-quadratic transition, distillation), quadratic started at the
   identity-like form ``a=0, b=1, c=0``;
5. the same, started at the least-squares fit of ReLU on the observed range;

and prints a markdown table of test accuracy and macro-F1 (mean +- sample
standard deviation over the seeds, in percent) with each model's CKKS
multiplicative depth.  The from-scratch models get as many epochs as the
teacher and the conversion together, with the same optimizer and schedule.

    python benchmarks/nn_table.py --dataset digits --seeds 5
    python benchmarks/nn_table.py --dataset breast_cancer --seeds 5
    python benchmarks/nn_table.py --dataset mnist --seeds 5

On ``mnist`` (the 8,000 / 2,000 shipped digits of ``nn.datasets.load_mnist``) the network is
``nn.architectures.lenet5`` with 4 and 8 channels (ReLU / max-pool for the teacher) and the budget is
small, so that five seeds take minutes on two shared cores: 4 teacher epochs, 1 transition and 3
fine-tuning epochs; the from-scratch rows (2, 3) are left out unless ``--scratch`` asks for them
(8 epochs each).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# The matrices here are tiny: a multi-threaded BLAS only adds overhead, and under CPU
# contention its spinning threads make training many times slower. Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn.architectures import digits_cnn, lenet5, mlp  # noqa: E402
from nn.convert import convert_and_distill  # noqa: E402
from nn.datasets import Dataset, load  # noqa: E402
from nn.model import Sequential  # noqa: E402
from nn.optim import Adam, cosine_schedule  # noqa: E402
from nn.train import GradientClipping, LearningRateSchedule, evaluate, fit  # noqa: E402


@dataclass(frozen=True)
class Setup:
    """Architecture and training budget for one dataset."""

    teacher_epochs: int
    transition_epochs: int
    finetune_epochs: int
    lr: float
    distill_lr: float
    batch_size: int
    temperature: float = 4.0
    alpha: float = 0.7
    scratch: bool = True  # train the from-scratch rows (square, quadratic)

    def build(self, dataset: str, act: str, seed: int) -> Sequential:
        if dataset == "digits":
            return digits_cnn(act, channels=16, hidden=64, rng=seed)
        if dataset == "mnist":
            return lenet5(act, channels=(4, 8), rng=seed)
        return mlp([30, 32, 16, 2], act, rng=seed)


SETUPS = {
    "digits": Setup(
        teacher_epochs=30, transition_epochs=5, finetune_epochs=25, lr=3e-3, distill_lr=2e-3, batch_size=32
    ),
    "breast_cancer": Setup(
        teacher_epochs=40, transition_epochs=5, finetune_epochs=25, lr=1e-3, distill_lr=1e-3, batch_size=16
    ),
    "mnist": Setup(
        teacher_epochs=4, transition_epochs=1, finetune_epochs=3, lr=3e-3, distill_lr=2e-3, batch_size=32,
        scratch=False,
    ),
}

ROWS = (
    ("teacher", "ReLU teacher"),
    ("square", "Square activation (x^2), from scratch"),
    ("quadratic", "Quadratic (trainable), from scratch"),
    ("method_identity", "Quadratic via methodology, identity init"),
    ("method_lsq", "Quadratic via methodology, least-squares ReLU init"),
)


def _train(model: Sequential, ds: Dataset, setup: Setup, epochs: int, seed: int) -> None:
    opt = Adam(model.parameters(), lr=setup.lr)
    fit(
        model,
        ds.x_train,
        ds.y_train,
        epochs=epochs,
        batch_size=setup.batch_size,
        optimizer=opt,
        seed=seed,
        callbacks=[GradientClipping(5.0), LearningRateSchedule(cosine_schedule(setup.lr, epochs))],
        verbose=False,
    )


def run_seed(dataset: str, ds: Dataset, seed: int, scratch: bool | None = None) -> dict[str, dict[str, float]]:
    """Train the models of the table for one seed (the from-scratch ones if ``scratch``, default: the
    dataset's `Setup`); return their test metrics and depth."""
    setup = SETUPS[dataset]
    scratch = setup.scratch if scratch is None else scratch
    scratch_epochs = setup.teacher_epochs + setup.transition_epochs + setup.finetune_epochs
    out: dict[str, dict[str, float]] = {}

    def record(key: str, model: Sequential) -> None:
        m = evaluate(model, ds.x_test, ds.y_test)
        depth = model.multiplicative_depth() if model.is_he_friendly() else float("nan")
        out[key] = {"accuracy": m["accuracy"], "f1": m["f1"], "depth": depth}

    teacher = setup.build(dataset, "relu", seed)
    _train(teacher, ds, setup, setup.teacher_epochs, seed)
    record("teacher", teacher)
    for act in ("square", "quadratic") if scratch else ():
        model = setup.build(dataset, act, seed)
        _train(model, ds, setup, scratch_epochs, seed)
        record(act, model)
    for init in ("identity", "lsq"):
        result = convert_and_distill(
            teacher,
            ds.x_train,
            ds.y_train,
            init=init,
            transition_epochs=setup.transition_epochs,
            finetune_epochs=setup.finetune_epochs,
            temperature=setup.temperature,
            alpha=setup.alpha,
            lr=setup.distill_lr,
            batch_size=setup.batch_size,
            seed=seed,
            verbose=False,
        )
        record(f"method_{init}", result.model)
    return out


def table(dataset: str, per_seed: list[dict[str, dict[str, float]]]) -> str:
    """The markdown table (percent, mean +- sample std over seeds)."""
    n = len(per_seed)
    lines = [
        f"| {dataset}: model ({n} seeds) | accuracy (%) | macro-F1 (%) | depth |",
        "|---|---|---|---|",
    ]
    for key, label in ROWS:
        if key not in per_seed[0]:
            continue
        cells = []
        for metric in ("accuracy", "f1"):
            v = 100 * np.array([r[key][metric] for r in per_seed])
            spread = v.std(ddof=1) if n > 1 else 0.0
            cells.append(f"{v.mean():.2f} ± {spread:.2f}")
        depth = per_seed[0][key]["depth"]
        cells.append("n/a (ReLU)" if np.isnan(depth) else str(int(depth)))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=sorted(SETUPS), default="digits")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0, 1, ..., n-1)")
    parser.add_argument("--json", type=Path, help="also write the per-seed results to this JSON file")
    parser.add_argument("--scratch", action="store_true",
                        help="also train the from-scratch rows where the dataset's setup leaves them out (mnist)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    ds = load(args.dataset)
    per_seed = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        per_seed.append(run_seed(args.dataset, ds, seed, True if args.scratch else None))
        accs = ", ".join(f"{k} {100 * v['accuracy']:.2f}" for k, v in per_seed[-1].items())
        print(f"seed {seed}: {accs}  ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    print(table(args.dataset, per_seed))
    teacher = np.mean([r["teacher"]["accuracy"] for r in per_seed])
    for key in (k for k in ("method_identity", "method_lsq", "quadratic") if k in per_seed[0]):
        gap = 100 * (teacher - np.mean([r[key]["accuracy"] for r in per_seed]))
        print(f"\naccuracy gap to the ReLU teacher, {dict(ROWS)[key]}: {gap:+.2f} points", end="")
    print(f"\n\n({args.seeds} seeds, {time.perf_counter() - start:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({"dataset": args.dataset, "results": per_seed}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
