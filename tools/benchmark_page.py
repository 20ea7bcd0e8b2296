"""Store benchmark data, redraw the plots and regenerate the measured text of the docs and README from it.

    python benchmarks/compare.py --json /tmp/compare.json         # measure (each library in its own processes)
    python tools/benchmark_page.py --compare /tmp/compare.json    # store in data.json, redraw, rewrite the pages
    python tools/benchmark_page.py                                # redraw and rewrite from data.json only
    python tools/benchmark_page.py --speed /tmp/core.md           # bench_core.py's table (the "speed" list)

``docs/benchmarks/data.json`` holds ``precision`` (bits of this library and TenSEAL per ring degree and
circuit), ``speed`` (bench_core.py's medians) and ``compare`` (the --json output of benchmarks/compare.py).
From ``compare`` this script writes:

* ``docs/benchmarks.md``, between ``<!-- BEGIN MEASURED -->`` and ``<!-- END MEASURED -->``: every table
  of compare.py (rendered by compare.py's own ``render``), labelled with its setting, the load average
  and the command that measured it, and the plots ``compare.png``, ``scaling.png``, ``threads.png``,
  ``sizes.png``;
* ``README.md`` and the top of ``docs/benchmarks.md``, between ``<!-- BEGIN HEADLINE -->`` and
  ``<!-- END HEADLINE -->``: the headline ratios, at setting (b) (each library at its own recommended
  setting), with a sentence that says so.

tests/docs/test_claims.py checks that the pages hold exactly what this script writes from data.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "docs" / "benchmarks"
DATA = ROOT / "data.json"
PAGE = REPO / "docs" / "benchmarks.md"
README = REPO / "README.md"
sys.path.insert(0, str(REPO / "benchmarks"))
from compare import LABELS, NAMES, SECTIONS, check, power, render, unresolved  # noqa: E402

MEASURED = ("<!-- BEGIN MEASURED -->", "<!-- END MEASURED -->")
HEADLINE = ("<!-- BEGIN HEADLINE -->", "<!-- END HEADLINE -->")
#: The operations of the headline table.
HEADLINE_OPS = ("multiply", "rotate")


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


# -- text --------------------------------------------------------------------------------------------------------
def ratio_text(row: dict, peer: str) -> str:
    r = row["ratios"].get(peer)
    if r is None:
        return "-"
    flag = " (n.s.)" if unresolved(row, peer) else ""
    return f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f}){flag}"


def command(meta: dict) -> str:
    """The command that measured the data, without its --json destination."""
    return re.sub(r"\s*--json\s+\S+", "", meta.get("command", "python benchmarks/compare.py"))


def load_sentence(meta: dict) -> str:
    start, end = meta.get("load_start") or [0.0], meta.get("load_end") or [0.0]
    cores = meta.get("cores", 2)
    # the run's own worker processes keep about one core busy: the load at its end counts them
    busy = start[0] >= 0.5 * cores or end[0] >= cores
    text = (f"Measured on {meta.get('date', '?')[:16].replace('T', ' ')} UTC with "
            f"`{command(meta)}`; load average (1 min) "
            f"{start[0]:.2f} at the start and {end[0]:.2f} at the end, on {cores} cores"
            + (f" of an {meta['machine']}" if meta.get("machine") else ""))
    if busy:
        text += (": the data came from a **shared 2-core machine** with other users' jobs running, which is why "
                 "every number comes with its spread" if cores <= 2 else ": a busy machine")
    else:
        text += " (no other jobs were running; the load at the end is the benchmark's own processes)"
    return text + "."


def split(compare: dict) -> list[dict]:
    """The stored compare.py data as the runs it was merged from (each with its meta and its sections)."""
    if "meta" not in compare:
        return []
    metas = compare.get("runs") or [compare["meta"]]
    runs = [{"meta": meta} for meta in metas]
    for section in SECTIONS:
        if compare.get(section, {}).get("rows"):
            table = {k: v for k, v in compare[section].items() if k != "run"}
            runs[compare[section].get("run", 0)][section] = table
    return [run for run in runs if any(section in run for section in SECTIONS)]


def merge(runs: list[dict]) -> dict:
    """Several compare.py outputs as one: each section from the first run that measured it, tagged with its run."""
    chosen: dict[str, int] = {}
    for section in SECTIONS:
        for index, run in enumerate(runs):
            if run.get(section, {}).get("rows"):
                chosen[section] = index
                break
    used = sorted(set(chosen.values()) | {0})  # a run none of whose sections is kept is not cited
    merged = {"meta": runs[0]["meta"], "runs": [runs[i]["meta"] for i in used]}
    for section, index in chosen.items():
        merged[section] = dict(runs[index][section], run=used.index(index))
    return merged


def run_meta(compare: dict, section: str) -> dict:
    """The meta (command, date, load) of the run that measured ``section``."""
    runs = compare.get("runs") or [compare.get("meta", {})]
    return runs[compare.get(section, {}).get("run", 0)]


def headline(compare: dict) -> str:
    """The headline ratios (setting (b), one thread) and bootstrapping, as markdown, with what they measure."""
    core = compare.get("core", {}).get("rows", [])
    rings = sorted({r["N"] for r in core})
    lines = ["| ours / peer, one thread, setting (b) | " + " | ".join(f"N = {power(n)}" for n in rings) + " |",
             "|---|" + "---|" * len(rings)]
    for op in HEADLINE_OPS:
        for peer in ("openfhe_b", "tenseal"):
            cells, bases = [], set()
            for n in rings:
                match = [r for r in core if r["N"] == n and r["threads"] == 1 and r["operation"] == op]
                cells.append(ratio_text(match[0], peer) if match else "-")
                bases |= {match[0].get("bases", {}).get(peer, "ours")} if match else set()
            base = " / ".join(NAMES[b] for b in sorted(bases)) or "ours"
            lines.append(f"| {LABELS[op]}, {base} / {NAMES[peer]} | " + " | ".join(cells) + " |")
    refused = sorted({s["N"] for s in compare.get("core", {}).get("setups", [])
                      if s["libraries"].get("openfhe_b", {}).get("security", "").startswith("none")})
    caveat = ""
    if refused:
        caveat = (f" OpenFHE runs at our ring degree; at N = {' and '.join(power(n) for n in refused)} its own "
                  "128-bit check refuses that ring with its default digits (at 128 bits it picks twice the ring, "
                  "slower still: column (b128) of the benchmark page), so there these ratios favour OpenFHE.")
    text = ("Setting (b): every library at its own recommended setting for the same depth (OpenFHE with its "
            "default number of key-switching digits, TenSEAL at its default, ours with `key_switching=\"fast\"` "
            "against OpenFHE and at its default against TenSEAL), each library in "
            "processes of its own, timed alternately; median of the per-round ratios (min-max over rounds; "
            "below 1: ours is faster; (n.s.): the spread is larger than the difference)." + caveat + "\n\n"
            + "\n".join(lines))
    boot = [r for r in compare.get("bootstrap", {}).get("rows", []) if r["setting"] == "b" and r["threads"] == 1]
    if boot:
        row = boot[0]
        ours, theirs = row["details"].get("ours", {}), row["details"].get("openfhe_b", {})
        mine, peer = row["libraries"].get("ours"), row["libraries"].get("openfhe_b")
        if ours and theirs and mine and peer:
            where = ("at 128 bits" if compare["bootstrap"].get("preset") == "128" else
                     "at the insecure teaching preset")
            ring = f", on the ring it picks, N = {power(theirs['ring_dim'])}" if theirs.get("ring_dim") else ""
            single = " (one timed bootstrap each: no spread)" if min(mine["n"], peer["n"]) < 2 else ""
            text += (f"\n\nBootstrapping {where} (ours at N = {power(ours['poly_degree'])}, one thread, CPU time), "
                     f"against OpenFHE's own setup{ring}, with the same {ours.get('levels_after', '?')} levels "
                     f"after: {mine['median']:.1f} s against {peer['median']:.1f} s per bootstrap{single} (ratio "
                     f"{ratio_text(row, 'openfhe_b')}), keys {ours['key_memory_mb'] / 1024:.1f} GiB against "
                     f"{theirs['key_memory_mb'] / 1024:.1f} GiB, precision {ours['precision_bits']:.1f} against "
                     f"{theirs['precision_bits']:.1f} bits.")
    same_ring = [r for r in compare.get("bootstrap", {}).get("rows", [])
                 if r["setting"] == "b, our N" and r["threads"] == 1 and "openfhe_bn" in r["libraries"]]
    if boot and same_ring:
        row = same_ring[0]
        ours, theirs = row["details"].get("ours", {}), row["details"].get("openfhe_bn", {})
        peer = row["libraries"]["openfhe_bn"]
        text += (f" On our ring, N = {power(ours['poly_degree'])}, OpenFHE's own 128-bit setup keeps "
                 f"{theirs.get('levels_after', '?')} levels after the bootstrap (ours "
                 f"{ours.get('levels_after', '?')}): {peer['median']:.1f} s per bootstrap (ratio "
                 f"{ratio_text(row, 'openfhe_bn')}), keys {theirs['key_memory_mb'] / 1024:.1f} GiB, precision "
                 f"{theirs['precision_bits']:.1f} bits.")
    return text + "\n\n" + " ".join(sentences_for(compare))


def sentences_for(compare: dict) -> list[str]:
    """The load sentences of the runs that measured the headline's numbers (core rows, bootstrapping)."""
    sections = [s for s in ("core", "bootstrap") if compare.get(s, {}).get("rows")]
    runs = {section: compare.get(section, {}).get("run", 0) for section in sections}
    if len(set(runs.values())) < 2:
        return [load_sentence(run_meta(compare, sections[0]))] if sections else []
    names = {"core": "Core rows", "bootstrap": "Bootstrapping"}
    return [f"{names[section]}: {load_sentence(run_meta(compare, section))}" for section in sections]


def measured(compare: dict) -> str:
    """The generated part of docs/benchmarks.md: method, settings, every table, the check's verdict, plots."""
    meta = compare.get("meta", {})
    runs = compare.get("runs") or [meta]
    flagged = check(compare)
    verdict = (f"`--check` flags {len(flagged)} ratio(s) of this run whose spread is larger than the difference "
               "they report; they are marked (n.s.) in the tables and say nothing about which library is faster."
               if flagged else "`--check` flags no ratio of this run.")
    plots = []
    if compare.get("core", {}).get("rows"):
        plots.append("![Time ratios at settings (b) and (a), with their spread](benchmarks/compare.png)")
    if compare.get("scaling", {}).get("rows"):
        plots.append("![Time against N, one thread](benchmarks/scaling.png)")
    if compare.get("threads", {}).get("rows"):
        plots.append("![Speed-up from one thread to two, per library](benchmarks/threads.png)")
    if compare.get("sizes", {}).get("rows"):
        plots.append("![Serialized sizes relative to TenSEAL and OpenFHE](benchmarks/sizes.png)")
    return "\n\n".join([
        "```bash\n" + "".join(f"{command(run)} --json /tmp/run{k + 1}.json\n" for k, run in enumerate(runs))
        + "python tools/benchmark_page.py --compare " + " ".join(f"/tmp/run{k + 1}.json" for k in range(len(runs)))
        + "   # store, redraw, rewrite this section\n"
        "python benchmarks/compare.py --check docs/benchmarks/data.json   # list the unresolved ratios\n```",
        " ".join((f"Run {k + 1}: " if len(runs) > 1 else "") + load_sentence(run) for k, run in enumerate(runs))
        + f" {meta.get('rounds', '?')} rounds of {meta.get('repeat', '?')} timed calls per "
        "library and operation (after a warm-up call in the first round); one thread: CPU seconds of the "
        "worker process, two threads: wall seconds. Every cell is `median (min-max)` over the rounds; ratios "
        "are the medians of the per-round ratios (each round's libraries ran back to back under the same "
        "load). " + verdict,
        render(compare),
        *plots,
    ])


def replace_between(text: str, markers: tuple[str, str], body: str, name: str) -> str:
    begin, end = markers
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"{name}: the markers {begin} ... {end} are missing")
    return pattern.sub(lambda _: f"{begin}\n\n{body}\n\n{end}", text, count=1)


def pages(data: dict) -> dict[Path, str]:
    """The new text of docs/benchmarks.md and README.md for ``data`` (unchanged if it has no compare.py run)."""
    compare = data.get("compare", {})
    out = {PAGE: PAGE.read_text(encoding="utf-8"), README: README.read_text(encoding="utf-8")}
    if "meta" not in compare:
        return out
    out[PAGE] = replace_between(out[PAGE], MEASURED, measured(compare), "docs/benchmarks.md")
    out[PAGE] = replace_between(out[PAGE], HEADLINE, headline(compare), "docs/benchmarks.md")
    out[README] = replace_between(out[README], HEADLINE, headline(compare), "README.md")
    return out


# -- plots -------------------------------------------------------------------------------------------------------
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


def plot_compare(compare: dict) -> None:
    """compare.png (ratios with their spread, settings (b) and (a)), scaling.png and sizes.png."""
    import matplotlib.pyplot as plt
    import numpy as np

    core = compare.get("core", {}).get("rows", [])
    if core:
        groups = sorted({(r["N"], r["threads"]) for r in core})
        operations = list(dict.fromkeys(r["operation"] for r in core))
        bases = {peer: base for r in core for peer, base in r.get("bases", {}).items()}
        peers = [(key, f"{NAMES[bases.get(key, 'ours')]} / {NAMES[key]}")
                 for key in ("tenseal", "openfhe_b", "openfhe_a")]
        fig, axes = plt.subplots(1, len(peers), figsize=(14, 4.6), sharey=True)
        width = 0.8 / len(groups)
        for ax, (peer, title) in zip(axes, peers):
            for i, (n, threads) in enumerate(groups):
                medians, errors = [], [[], []]
                for op in operations:
                    match = [r for r in core if (r["N"], r["threads"], r["operation"]) == (n, threads, op)]
                    r = match[0]["ratios"].get(peer) if match else None
                    medians.append(r["median"] if r else 0)
                    errors[0].append(r["median"] - r["min"] if r else 0)
                    errors[1].append(r["max"] - r["median"] if r else 0)
                ax.barh(np.arange(len(operations)) + i * width, medians, width, xerr=errors, capsize=2,
                        label=f"N = {power(n)}, {threads} thread{'s' if threads > 1 else ''}")
            ax.axvline(1.0, color="k", linewidth=0.8)
            ax.set_yticks(np.arange(len(operations)) + 0.4 - width / 2, [LABELS[o] for o in operations], fontsize=8)
            ax.set_xlabel("time ratio (below 1: ours faster)")
            ax.set_title(title, fontsize=10)
        axes[0].legend(fontsize=7)
        fig.suptitle("Each library in its own processes, alternating; median and min-max over rounds")
        fig.tight_layout()
        fig.savefig(ROOT / "compare.png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    scaling = compare.get("scaling", {}).get("rows", [])
    if scaling:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for ax, op in zip(axes, list(dict.fromkeys(r["operation"] for r in scaling))):
            rows = sorted((r for r in scaling if r["operation"] == op), key=lambda r: r["N"])
            for key in ("ours", "tenseal", "openfhe_b", "openfhe_a"):
                points = [(r["N"], r["libraries"][key]) for r in rows if key in r["libraries"]]
                if points:
                    xs = [p[0] for p in points]
                    ys = [p[1]["median"] for p in points]
                    err = [[p[1]["median"] - p[1]["min"] for p in points],
                           [p[1]["max"] - p[1]["median"] for p in points]]
                    ax.errorbar(xs, ys, yerr=err, marker="o", capsize=2, label=NAMES[key])
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("N (3 data primes + 1 special prime)")
            ax.set_ylabel("ms, one thread (CPU time)")
            ax.set_title(LABELS[op])
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(ROOT / "scaling.png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    threads = compare.get("threads", {}).get("rows", [])
    if threads:
        plot_threads(compare["threads"])
    sizes = compare.get("sizes", {}).get("rows", [])
    if sizes:
        fig, ax = plt.subplots(figsize=(8, 3.6))
        y = np.arange(len(sizes))
        ax.barh(y - 0.2, [r["ours"] / r["tenseal"] if r.get("tenseal") else 0 for r in sizes], 0.4,
                label="ours / TenSEAL")
        ax.barh(y + 0.2, [r["ours"] / r["openfhe"] if r.get("openfhe") else 0 for r in sizes], 0.4,
                label="ours / OpenFHE (a)")
        ax.axvline(1.0, color="k", linewidth=0.8)
        ax.set_yticks(y, [r["object"] for r in sizes], fontsize=8)
        ax.set_xlabel("serialized size ratio (lower is better)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(ROOT / "sizes.png", dpi=100, metadata={"Software": None})
        plt.close(fig)


def plot_threads(table: dict) -> None:
    """threads.png: each library's speed-up from one thread to the most, per ring, one panel per operation."""
    import matplotlib.pyplot as plt
    import numpy as np

    rows = table["rows"]
    top = max(table.get("threads", [2]))
    operations = list(dict.fromkeys(r["operation"] for r in rows))
    rings = sorted({r["N"] for r in rows})
    libraries = list(dict.fromkeys(k for r in rows for k in r["libraries"]))
    fig, axes = plt.subplots(1, len(operations), figsize=(5.5 * len(operations), 3.8), sharey=True)
    axes = np.atleast_1d(axes)
    width = 0.8 / max(1, len(libraries))
    for ax, op in zip(axes, operations):
        for i, library in enumerate(libraries):
            medians, errors = [], [[], []]
            for n in rings:
                match = [r for r in rows if (r["N"], r["operation"]) == (n, op)]
                speedup = match[0]["libraries"].get(library, {}).get("speedup") if match else None
                medians.append(speedup["median"] if speedup else 0)
                errors[0].append(speedup["median"] - speedup["min"] if speedup else 0)
                errors[1].append(speedup["max"] - speedup["median"] if speedup else 0)
            ax.bar(np.arange(len(rings)) + i * width, medians, width, yerr=errors, capsize=2,
                   label=NAMES.get(library, library))
        ax.axhline(1.0, color="k", linewidth=0.8)
        ax.axhline(float(top), color="grey", linewidth=0.8, linestyle="--")
        ax.set_xticks(np.arange(len(rings)) + 0.4 - width / 2, [f"N = {power(n)}" for n in rings])
        ax.set_ylabel(f"speed-up, 1 -> {top} threads (wall)")
        ax.set_title(LABELS[op], fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle("Speed-up against threads: median and min-max over alternating rounds (dashed: ideal)")
    fig.tight_layout()
    fig.savefig(ROOT / "threads.png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", type=Path, help="a file with the markdown table printed by bench_core.py")
    parser.add_argument("--note", help="where and how the speed numbers were measured")
    parser.add_argument("--compare", type=Path, nargs="+",
                        help="the --json output of benchmarks/compare.py (several: each section from the first "
                             "file that has it)")
    parser.add_argument("--no-plots", action="store_true", help="rewrite the pages only")
    parser.add_argument("--keep", action="store_true",
                        help="with --compare: keep the stored sections that the new runs did not measure")
    args = parser.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    if args.speed:
        data["speed"] = parse_bench_table(args.speed.read_text(encoding="utf-8"))
        if args.note:
            data["speed_note"] = args.note
    if args.compare:
        runs = [json.loads(path.read_text(encoding="utf-8")) for path in args.compare]
        if args.keep:
            runs += split(data.get("compare", {}))
        data["compare"] = runs[0] if len(runs) == 1 else merge(runs)
    if args.speed or args.compare:
        DATA.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    for path, text in pages(data).items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"rewrote {path.relative_to(REPO)}")
    if not args.no_plots:
        plot(data)
        if "meta" in data.get("compare", {}):
            plot_compare(data["compare"])
        print(f"wrote plots to {ROOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
