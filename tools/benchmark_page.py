"""Update the benchmark data of the documentation and redraw its plots.

    python benchmarks/bench_core.py > /tmp/core.md       # measure (prints a markdown table)
    python tools/benchmark_page.py --speed /tmp/core.md  # store it in docs/benchmarks/data.json, redraw
    python tools/benchmark_page.py                       # redraw the plots from data.json only
    python benchmarks/compare.py --json /tmp/compare.json   # the whole comparison (TenSEAL and OpenFHE)
    python tools/benchmark_page.py --compare /tmp/compare.json   # store it, draw compare/scaling/sizes.png

``docs/benchmarks/data.json`` holds two lists: ``precision`` (bits of precision of this library and
TenSEAL per ring degree and circuit) and ``speed`` (median milliseconds of both libraries per
operation, from bench_core.py), and ``compare`` (the --json output of benchmarks/compare.py).  The plots
are ``docs/benchmarks/precision.png``, ``speed.png``, ``compare.png``, ``scaling.png`` and ``sizes.png``;
the tables on ``docs/benchmarks.md`` are written by hand from the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
DATA = ROOT / "data.json"


def parse_bench_table(text: str) -> list[dict]:
    """The rows of bench_core.py's markdown table: N | operation | ours (ms) | TenSEAL (ms) | ratio."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            rows.append({"N": int(cells[0]), "operation": cells[1], "ours_ms": float(cells[2]),
                         "tenseal_ms": float(cells[3])})
    if not rows:
        raise SystemExit("no benchmark rows found: pass the markdown table printed by benchmarks/bench_core.py")
    return rows


def plot(data: dict) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    precision = data["precision"]
    if precision:
        labels = [f"N={r['N']}\n{r['circuit']}" for r in precision]
        x = np.arange(len(labels))
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.bar(x - 0.2, [r["ours_bits"] for r in precision], 0.4, label="ckks (this library)")
        theirs = [r.get("tenseal_bits") for r in precision]
        ax.bar(x + 0.2, [t if t is not None else 0 for t in theirs], 0.4, label="TenSEAL")
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylabel("bits of precision (higher is better)")
        ax.set_title("Precision at scale 2^40, inputs in [-1, 1]")
        ax.legend()
        fig.tight_layout()
        fig.savefig(ROOT / "precision.png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    speed = data["speed"]
    if speed:
        sizes = sorted({r["N"] for r in speed})
        operations = list(dict.fromkeys(r["operation"] for r in speed))
        fig, ax = plt.subplots(figsize=(7, 3.5))
        width = 0.8 / len(sizes)
        for i, n in enumerate(sizes):
            ratios = []
            for op in operations:
                match = [r for r in speed if r["N"] == n and r["operation"] == op]
                ratios.append(match[0]["ours_ms"] / match[0]["tenseal_ms"] if match else 0)
            ax.barh(np.arange(len(operations)) + i * width, ratios, width, label=f"N = {n}")
        ax.axvline(1.0, color="k", linewidth=0.8)
        ax.set_yticks(np.arange(len(operations)) + width * (len(sizes) - 1) / 2, operations, fontsize=8)
        ax.set_xlabel("time ours / TenSEAL (lower is better; 1 = as fast)")
        ax.set_title("Speed relative to TenSEAL (median, same run)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(ROOT / "speed.png", dpi=100, metadata={"Software": None})
        plt.close(fig)


def plot_compare(compare: dict) -> None:
    """The plots of benchmarks/compare.py: ratios per operation, time against N, serialized sizes."""
    import matplotlib.pyplot as plt
    import numpy as np

    core = compare.get("core", [])
    if core:
        groups = sorted({(r["N"], r["threads"]) for r in core})
        operations = list(dict.fromkeys(r["operation"] for r in core))
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
        for ax, other, title in ((axes[0], "tenseal_ms", "ours / TenSEAL"), (axes[1], "openfhe_ms", "ours / OpenFHE")):
            width = 0.8 / len(groups)
            for i, (n, threads) in enumerate(groups):
                ratios = []
                for op in operations:
                    match = [r for r in core if r["N"] == n and r["threads"] == threads and r["operation"] == op]
                    ok = match and match[0]["ours_ms"] and match[0].get(other)
                    ratios.append(match[0]["ours_ms"] / match[0][other] if ok else 0)
                ax.barh(np.arange(len(operations)) + i * width, ratios, width,
                        label=f"N = 2^{n.bit_length() - 1}, {threads} thread{'s' if threads > 1 else ''}")
            ax.axvline(1.0, color="k", linewidth=0.8)
            ax.set_yticks(np.arange(len(operations)) + 0.4 - width / 2, operations, fontsize=8)
            ax.set_xlabel(f"time {title} (lower is better)")
        axes[0].legend(fontsize=7)
        fig.suptitle("Same parameters, same run, alternating (median)")
        fig.tight_layout()
        fig.savefig(ROOT / "compare.png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    scaling = compare.get("scaling", [])
    if scaling:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for ax, op in zip(axes, list(dict.fromkeys(r["operation"] for r in scaling))):
            rows = sorted((r for r in scaling if r["operation"] == op), key=lambda r: r["N"])
            libraries = (("ours_ms", "ckks (this library)"), ("tenseal_ms", "TenSEAL"), ("openfhe_ms", "OpenFHE"))
            for key, label in libraries:
                points = [(r["N"], r[key]) for r in rows if r.get(key)]
                if points:
                    ax.plot(*zip(*points), marker="o", label=label)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("N (3 data primes + 1 special prime)")
            ax.set_ylabel("ms, one thread")
            ax.set_title(op)
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(ROOT / "scaling.png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    sizes = compare.get("sizes", [])
    if sizes:
        fig, ax = plt.subplots(figsize=(8, 3.6))
        y = np.arange(len(sizes))
        ax.barh(y - 0.2, [r["ours"] / r["tenseal"] for r in sizes], 0.4, label="ours / TenSEAL")
        ax.barh(y + 0.2, [r["ours"] / r["openfhe"] if r.get("openfhe") else 0 for r in sizes], 0.4,
                label="ours / OpenFHE")
        ax.axvline(1.0, color="k", linewidth=0.8)
        ax.set_yticks(y, [r["object"] for r in sizes], fontsize=8)
        ax.set_xlabel("serialized size ratio (lower is better)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(ROOT / "sizes.png", dpi=100, metadata={"Software": None})
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", type=Path, help="a file with the markdown table printed by bench_core.py")
    parser.add_argument("--note", help="where and how the speed numbers were measured")
    parser.add_argument("--compare", type=Path, help="the --json output of benchmarks/compare.py")
    args = parser.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    if args.speed:
        data["speed"] = parse_bench_table(args.speed.read_text(encoding="utf-8"))
        if args.note:
            data["speed_note"] = args.note
    if args.compare:
        data["compare"] = json.loads(args.compare.read_text(encoding="utf-8"))
    if args.speed or args.compare:
        DATA.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    plot(data)
    if data.get("compare"):
        plot_compare(data["compare"])
    print(f"wrote plots to {ROOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
