"""This library against TenSEAL (SEAL) and OpenFHE, each in processes of its own, at two labelled settings.

    python benchmarks/compare.py --json /tmp/compare.json        # everything (about 25 minutes on 2 cores)
    python benchmarks/compare.py --quick --json /tmp/quick.json  # small rows only: N = 2^13, 2^14, small bootstrap
    python benchmarks/compare.py --check /tmp/compare.json       # flag tables whose spread hides the difference
    python benchmarks/compare.py --sections core --rings 16384 --threads 1 --rounds 5 --check

**Settings.** Every peer runs at two settings, and every table says which:

* **(a) like for like**: our parameters in every library: the same N, prime sizes (SEAL and this
  library make the same primes; OpenFHE makes its own of the same sizes), one prime per key-switching
  digit and one special prime, uniform ternary secret.
* **(b) each library's own recommended setting for the same security and depth**: TenSEAL at its
  default (which is (a): SEAL has one key-switching setting, one prime per digit); ours both at its
  default (SEAL's layout, column "ours") and with ``key_switching="fast"`` (column "ours (fast)": the same
  data primes, the special primes and digits of `ckks.scheme.layout.fast_key_switching` within the
  128-bit bound), and OpenFHE (b)'s ratios are taken against "ours (fast)" where it ran;
  OpenFHE with its default number of digits for hybrid key switching (``SetNumLargeDigits`` not
  called) and ``HEStd_128_classic`` where OpenFHE accepts our ring with them. Where its 128-bit check
  refuses our N (at depths 1 and 7 its default digits need a larger special modulus), (b) keeps our N
  without OpenFHE's check and a third column, **(b128)**, lets OpenFHE pick the ring at 128 bits.
  Bootstrapping at (b): OpenFHE's own 128-bit setup (``HEStd_128_classic``, its sparse-encapsulated
  secret, level budget [3, 3], default digits), against (a): OpenFHE at our level budget, digits and
  sparse secret, without its security check.

**Method.** One library per process per configuration: ``library_worker.py ours``,
``library_worker.py tenseal`` and ``openfhe_worker.py`` (under the Python 3.10 that can import the
``openfhe`` wheel, `ckks.interop.openfhe_python`) for each setting and thread count; this process
only starts them and collects numbers. Threads: ours ``NUMBA_NUM_THREADS`` and ``set_threads`` in its
own process, OpenFHE ``OMP_NUM_THREADS`` (passive waiting, so an idle worker does not spin on a core);
SEAL computes one ciphertext operation in one thread either way. The workers are timed alternately:
each operation gets ``--rounds`` rounds, and in each round every worker (in an order that rotates from
round to round) runs ``--repeat`` timed calls (after one warm-up call in the first round); a round's value is
the median of those.
Tables give the median over rounds and the spread (min-max over rounds); ratios are medians of the
per-round ratios with their min-max. Clock: CPU time of the worker process for one thread (on a shared
machine wall time mostly measures waiting for a core), wall time for two. The load average
(``os.getloadavg``) is recorded at the start and end of every table and of the run.

``--check`` flags every table row whose spread is larger than the difference it reports: a ratio
whose min-max interval contains 1, or two libraries whose min-max ranges overlap; the exit status is
then 1 and the message names the rows. Rows flagged in a table are marked "(n.s.)".

Bootstrapping (``--sections bootstrap``, N = 2^16, 128-bit preset) needs about 14 GiB per process: every
bootstrapping process runs under ``flock /tmp/bigmem.lock`` (the machine's shared memory lock), one at
a time, ours and OpenFHE (a) and (b) alternating. ``--quick`` bootstraps the teaching preset at N = 2^12.
Timings are never asserted anywhere: this is a report.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from common import markdown_table  # noqa: E402

RINGS = {
    4096: ([30, 25, 25, 28], 25),
    8192: ([60, 40, 40, 60], 40),
    16384: ([60] + [40] * 7 + [60], 40),
    32768: ([60] + [40] * 11 + [60], 40),
    65536: ([60, 40, 40, 60], 40),
}
SCALING = {n: (([30, 25, 25, 28], 25) if n == 4096 else ([60, 40, 40, 60], 40)) for n in RINGS}
CORE = ["encrypt", "decrypt", "add", "plain multiply", "multiply", "rotate"]
EXTRAS = ["hoisted", "sum", "polyval", "matmul"]
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
#: Column keys and their names. "a"/"b"/"b128": the settings (see the module docstring).
NAMES = {"ours": "ours", "ours_fast": "ours (fast)", "tenseal": "TenSEAL", "openfhe_a": "OpenFHE (a)",
         "openfhe_b": "OpenFHE (b)", "openfhe_b128": "OpenFHE (b128)", "openfhe_bn": "OpenFHE (b, our N)"}
#: Which columns each setting's table shows (TenSEAL's default is (a), so it appears in both).
SETTING_COLUMNS = {"b": ["ours_fast", "tenseal", "openfhe_b", "openfhe_b128"], "a": ["tenseal", "openfhe_a"]}
#: The base of a peer's ratio where it is not "ours": OpenFHE at its own setting against ours at our fast layout.
RATIO_BASE = {"openfhe_b": "ours_fast", "openfhe_b128": "ours_fast"}
#: Our columns: they are bases of ratios, never peers.
OURS = ("ours", "ours_fast")


def ratio_base(peer: str, available) -> str:
    """Which of our columns ``peer``'s ratio divides: `RATIO_BASE` where that column was measured, else "ours"."""
    base = RATIO_BASE.get(peer, "ours")
    return base if base in available else "ours"
LOCK = "/tmp/bigmem.lock"
NOT_SIGNIFICANT = "(n.s.)"


# -- one library per process ------------------------------------------------------------------------------------
def openfhe_interpreter() -> str | None:
    """The Python that can import openfhe (`ckks.interop.openfhe_python`), or None."""
    sys.path.insert(0, str(ROOT))
    from ckks.interop import openfhe_python

    return openfhe_python()


def worker_command(library: str, threads: int, openfhe_python: str | None = None, lock: bool = False,
                   script: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one library's worker process.

    ``library`` is a column key (``ours``, ``tenseal``, ``openfhe_a``, ...): ours and TenSEAL run
    ``library_worker.py`` under this interpreter, OpenFHE ``openfhe_worker.py`` (or ``script``) under
    ``openfhe_python``. ``threads`` goes to numba (``NUMBA_NUM_THREADS``) and OpenMP (``OMP_NUM_THREADS``);
    ``lock`` prefixes ``flock /tmp/bigmem.lock`` (runs that need more than 4 GiB).
    """
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE",
               OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    if library in ("ours", "ours_fast", "tenseal"):
        argv = [sys.executable, str(HERE / "library_worker.py"), library.removesuffix("_fast")]
    elif library.startswith("openfhe"):
        if openfhe_python is None:
            raise ValueError("OpenFHE needs a Python that can import openfhe (ckks.interop.openfhe_python)")
        argv = [openfhe_python, script or str(HERE / "openfhe_worker.py")]
    else:
        raise ValueError(f"unknown library {library!r}")
    return (["flock", LOCK] + argv if lock else argv), env


class Worker:
    """One library at one setting and thread count, in a process of its own (JSON lines on stdin/stdout)."""

    def __init__(self, library: str, threads: int, openfhe_python: str | None = None):
        self.library, self.threads = library, threads
        argv, env = worker_command(library, threads, openfhe_python)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, request: dict) -> dict:
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except (BrokenPipeError, OSError) as exc:
            return {"error": f"{self.library} worker: {exc}"}
        return json.loads(line) if line else {"error": f"{self.library} worker exited ({self.proc.poll()})"}

    def close(self) -> None:
        try:
            self.ask({"cmd": "quit"})
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def setup_request(library: str, n: int, bits: list[int], scale_bits: int, steps: list[int], extras: bool,
                  threads: int = 1) -> dict:
    """The ``setup`` request of one worker: ring, primes, keys to make, the values, and the thread count."""
    import numpy as np

    rng = np.random.default_rng(n)
    values, other = rng.uniform(-1, 1, n // 2), rng.uniform(-1, 1, n // 2)
    request = {"cmd": "setup", "poly_degree": n, "moduli_bits": bits, "scale_bits": scale_bits, "steps": steps,
               "hoisted": HOISTED, "sum": extras, "values": values.tolist(), "other": other.tolist(), "poly": POLY,
               "threads": threads}
    if library.startswith("openfhe_"):
        request["setting"] = library.removeprefix("openfhe_")
    if library == "ours_fast":
        request["key_switching"] = "fast"
    return request


def start_workers(libraries: list[str], threads: int, n: int, bits: list[int], scale_bits: int, steps: list[int],
                  extras: bool = False) -> tuple[dict[str, Worker], dict[str, dict]]:
    """Start and set up one worker per library; returns the live workers and every setup reply."""
    python = openfhe_interpreter() if any(lib.startswith("openfhe") for lib in libraries) else None
    workers, info = {}, {}
    for library in libraries:
        if library.startswith("openfhe") and python is None:
            info[library] = {"error": "no Python that can import openfhe"}
            continue
        worker = Worker(library, threads, python)
        reply = worker.ask(setup_request(library, n, bits, scale_bits, steps, extras, threads))
        reply = check_threads(reply, threads)
        info[library] = {k: v for k, v in reply.items() if k != "ok"}
        if "error" in reply:
            print(f"  ({NAMES[library]} setup: {reply['error'][:200]})", file=sys.stderr)
            worker.close()
        else:
            workers[library] = worker
    # (b128) only where OpenFHE's own ring differs from ours (else it repeats (b)).
    if "openfhe_b128" in workers and info["openfhe_b128"].get("ring_dim") == n:
        workers.pop("openfhe_b128").close()
        info["openfhe_b128"]["skipped"] = "same ring as (b)"
    return workers, info


def check_threads(reply: dict, threads: int) -> dict:
    """The setup reply, or an error reply when the worker says it runs on another thread count than asked.

    Our worker reports numba's thread count (``"threads"``); a row labelled 2 threads that ran on one is worse
    than no row.
    """
    used = reply.get("threads")
    if "error" in reply or used is None or int(used) == threads:
        return reply
    return {"error": f"the worker runs on {used} thread(s), not the {threads} asked for"}


def rotate(items: list, k: int) -> list:
    k %= max(1, len(items))
    return items[k:] + items[:k]


def measure(workers: dict[str, Worker], op: str, rounds: int, repeat: int, clock: str) -> dict[str, list[float]]:
    """Per-round medians (ms) of ``op`` for every worker, the workers alternating in a rotating order."""
    per_round: dict[str, list[float]] = {key: [] for key in workers}
    failed: set[str] = set()
    for r in range(rounds):
        for key in rotate(list(workers), r):
            if key in failed:
                continue
            # a warm-up call before the first round only (compilation, caches, lazily built tables)
            reply = workers[key].ask({"cmd": "time", "op": op, "repeat": repeat, "clock": clock, "warmup": r == 0})
            if "error" in reply:
                print(f"  ({label(key)} {op}: {reply['error'][:120]})", file=sys.stderr)
                failed.add(key)
                continue
            per_round[key].append(statistics.median(reply["samples"]) * 1e3)
    return {key: values for key, values in per_round.items() if key not in failed and values}


# -- statistics and the check -----------------------------------------------------------------------------------
def spread(values: list[float]) -> dict:
    """Median, min, max and quartiles of a list of measurements."""
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "q1": q[0], "q3": q[2],
            "n": len(values), "values": list(values)}


def ratio_spread(ours: list[float], theirs: list[float]) -> dict:
    """The ratio ours / theirs per round (paired: the same round saw the same load), and its spread."""
    pairs = [a / b for a, b in zip(ours, theirs) if b]
    return spread(pairs)


def unresolved(row: dict, peer: str) -> str | None:
    """Why the row does not resolve ours against ``peer`` (its spread exceeds the difference), or None."""
    r = row.get("ratios", {}).get(peer)
    mine, theirs = row["libraries"].get(row.get("bases", {}).get(peer, "ours")), row["libraries"].get(peer)
    if r is None or mine is None or theirs is None:
        return None
    if min(mine["n"], theirs["n"]) < 2:
        return "one measurement: no spread to judge the difference by"
    if r["min"] <= 1.0 <= r["max"]:
        return f"ratio {r['median']:.2f} with per-round range [{r['min']:.2f}, {r['max']:.2f}] contains 1"
    if mine["min"] <= theirs["max"] and theirs["min"] <= mine["max"]:
        return (f"min-max ranges overlap: ours [{mine['min']:.3g}, {mine['max']:.3g}], "
                f"{NAMES.get(peer, peer)} [{theirs['min']:.3g}, {theirs['max']:.3g}]")
    return None


def make_row(keys: dict, per_round: dict[str, list[float]]) -> dict:
    """A table row: identifying ``keys``, every library's spread, the ratios and what they do not resolve."""
    row = dict(keys)
    row["libraries"] = {key: spread(values) for key, values in per_round.items()}
    if "ours" in per_round:
        row["bases"] = {key: ratio_base(key, per_round) for key in per_round if key not in OURS}
        row["ratios"] = {key: ratio_spread(per_round[base], per_round[key]) for key, base in row["bases"].items()}
    else:
        row["ratios"] = {}
    row["unresolved"] = {peer: why for peer in row["ratios"] if (why := unresolved(row, peer))}
    return row


def check(results: dict) -> list[str]:
    """One message per (table, row, peer) whose spread is larger than the difference it reports."""
    messages = []
    for section in ("core", "extras", "scaling", "bootstrap"):
        for row in results.get(section, {}).get("rows", []):
            where = ", ".join(f"{k}={row[k]}" for k in ("N", "threads", "operation", "setting") if k in row)
            for peer in row.get("ratios", {}):
                if why := unresolved(row, peer):  # judged from the stored spreads, not a stored verdict
                    base = NAMES[row.get("bases", {}).get(peer, "ours")]
                    messages.append(f"{section}: {where}: {base} / {NAMES.get(peer, peer)}: {why}")
    return messages


# -- tables ------------------------------------------------------------------------------------------------------
def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def cell(stats: dict | None) -> str:
    """``median (min-max)``."""
    return "-" if stats is None else f"{fmt(stats['median'])} ({fmt(stats['min'])}-{fmt(stats['max'])})"


def ratio_cell(row: dict, peer: str) -> str:
    r = row.get("ratios", {}).get(peer)
    if r is None:
        return "-"
    text = f"{r['median']:.2f} ({r['min']:.2f}-{r['max']:.2f})"
    return f"{text} {NOT_SIGNIFICANT}" if unresolved(row, peer) else text


def power(n: int) -> str:
    return f"2^{n.bit_length() - 1}"


def load_text(table: dict) -> str:
    start, end = table.get("load_start"), table.get("load_end")
    if not start or not end:
        return ""
    run = f" (run {table['run'] + 1})" if "run" in table else ""
    return (f"Load average (1 min) at the start / end of this table{run}: {start[0]:.2f} / {end[0]:.2f} "
            f"on {table.get('cores', os.cpu_count())} cores.")


def render_timing(table: dict, columns: list[str], with_threads: bool = True) -> str:
    """A markdown table of one section at one setting: ours and ``columns``, medians (min-max), ratios."""
    present = [c for c in columns if any(c in row["libraries"] for row in table["rows"])]
    peers = [c for c in present if c not in OURS]
    available = {key for row in table["rows"] for key in row["libraries"]}
    header = ["N"] + (["threads"] if with_threads else []) + ["operation", "ours ms"]
    header += [f"{NAMES[c]} ms" for c in present] + [f"{NAMES[ratio_base(c, available)]}/{NAMES[c]}" for c in peers]
    lines = []
    for row in table["rows"]:
        cells = [power(row["N"])] + ([str(row["threads"])] if with_threads else []) + [LABELS[row["operation"]]]
        cells += [cell(row["libraries"].get("ours"))] + [cell(row["libraries"].get(c)) for c in present]
        cells += [ratio_cell(row, c) for c in peers]
        lines.append(cells)
    return markdown_table(header, lines)


def render_setups(table: dict) -> str:
    """What each worker ran: ring degree OpenFHE used, its security check, relinearization key size."""
    rows = []
    for setup in table.get("setups", []):
        for key, info in setup["libraries"].items():
            if "error" in info or "skipped" in info:
                continue
            key_bytes = info.get("relin_key_bytes")
            layout = (f"{len(info['digits'])} digits, {info['special_primes']} special" if info.get("digits")
                      else "OpenFHE's default digits" if key.startswith("openfhe_b") else "one prime per digit")
            rows.append([power(setup["N"]), NAMES[key], power(info["ring_dim"]) if info.get("ring_dim") else "-",
                         info.get("security", "-"), layout, f"{key_bytes / 2**20:.1f}" if key_bytes else "-"])
    unique = list(dict.fromkeys(tuple(r) for r in rows))
    header = ["N", "library", "ring it ran", "security check", "key switching", "relin key MiB (serialized)"]
    return markdown_table(header, [list(r) for r in unique])


def render_bootstrap(table: dict) -> str:
    header = ["threads", "setting", "library", "bootstrap s", "ours/peer", "keygen+setup s", "key GiB",
              "precision bits", "levels after", "ring, secret, security"]
    rows = []
    for row in table["rows"]:
        if len(row["libraries"]) < 2:  # no peer measured at this setting: see the errors under the table
            continue
        for key in ["ours"] + [k for k in row["libraries"] if k != "ours"]:
            stats, extra = row["libraries"].get(key), row.get("details", {}).get(key, {})
            if stats is None:
                continue
            rows.append([str(row["threads"]), row["setting"], NAMES.get(key, key), cell(stats),
                         "" if key == "ours" else ratio_cell(row, key), fmt(extra.get("keygen_seconds")),
                         fmt(extra["key_memory_mb"] / 1024) if extra.get("key_memory_mb") else "-",
                         f"{extra['precision_bits']:.1f}" if extra.get("precision_bits") else "-",
                         str(extra.get("levels_after", "-")), extra.get("describe", "")])
    return markdown_table(header, rows)


def render_sizes(table: dict) -> str:
    rows = []
    for row in table["rows"]:
        o, t, f = row.get("ours"), row.get("tenseal"), row.get("openfhe")
        rows.append([row["object"], f"{o:,}", f"{t:,}" if t else "-", f"{f:,}" if f else "-",
                     f"{o / t:.2f}" if t else "-", f"{o / f:.2f}" if f else "-"])
    return markdown_table(["object", "ours bytes", "TenSEAL bytes", "OpenFHE (a) bytes", "ours/TenSEAL",
                           "ours/OpenFHE (a)"], rows)


def render_ntt(table: dict) -> str:
    rows = [[power(r["N"]), f"{r['forward_us']:.0f}", f"{r['inverse_us']:.0f}"] for r in table["rows"]]
    return markdown_table(["N", "forward us", "inverse us"], rows)


def render(results: dict) -> str:
    """Every measured table of ``results`` as markdown, each labelled with its setting and load."""
    parts = []
    core = results.get("core")
    if core and core.get("rows"):
        parts.append("### Core operations, setting (b): each library at its own recommended setting\n\n"
                     + render_timing(core, SETTING_COLUMNS["b"]) + "\n\n" + load_text(core)
                     + " OpenFHE (b) runs at our ring degree; (b128) is OpenFHE at 128 bits on the ring it picks "
                     "itself, shown where that ring differs from ours. TenSEAL's default is setting (a).")
        parts.append("### Core operations, setting (a): like for like (our parameters everywhere)\n\n"
                     + render_timing(core, SETTING_COLUMNS["a"]))
        parts.append("### What each library ran\n\n" + render_setups(core) + "\n\nRelinearization key: "
                     "serialized, in each library's own format (ours bit-packed and seeded, SEAL's seeded and "
                     "compressed, OpenFHE's in full); its size grows with the number of digits.")
    extras = results.get("extras")
    if extras and extras.get("rows"):
        parts.append("### Rotations, linear algebra, polynomials (settings (b) and (a))\n\n"
                     + render_timing(extras, ["ours_fast", "tenseal", "openfhe_b", "openfhe_a"]) + "\n\n"
                     + load_text(extras)
                     + " TenSEAL: `sum` and `matmul` of CKKSVector with its default Galois keys, hoisted = 8 "
                     "single SEAL rotate_vector calls (SEAL has no hoisting); OpenFHE: EvalFastRotation, EvalSum, "
                     "EvalPoly (no plaintext matmul in its API). polyval needs depth 3, more than N = 2^13 has.")
    scaling = results.get("scaling")
    if scaling and scaling.get("rows"):
        parts.append("### Time against N (3 data primes + 1 special prime, one thread)\n\n"
                     + render_timing(scaling, ["tenseal", "openfhe_b", "openfhe_a"], with_threads=False)
                     + "\n\n" + load_text(scaling))
    threads = results.get("threads")
    if threads and threads.get("rows"):
        parts.append("### Threads: speed-up from one thread to more (wall time on every count)\n\n"
                     + render_threads(threads) + "\n\n" + load_text(threads)
                     + " One worker process per library and thread count, all timed alternately; the speed-up "
                     "is the median of the per-round ratios 1-thread time / k-thread time (min-max over rounds). "
                     "OpenFHE (b): its own default digits; (a): our parameters. SEAL computes one ciphertext "
                     "operation on one thread.")
    boot = results.get("bootstrap")
    if boot and boot.get("rows"):
        parts.append("### Bootstrapping\n\n" + render_bootstrap(boot) + "\n\n" + load_text(boot)
                     + " One process per library and setting, one at a time (under the memory lock at N = 2^16). "
                     "Bootstrap s: median (min-max) of the timed bootstraps of that process (CPU seconds on one "
                     "thread, "
                     "wall seconds on more). Keygen+setup (wall seconds, so inflated by the machine's load): ours "
                     "the rotation keys and a first bootstrap that encodes the DFT diagonals, OpenFHE "
                     "EvalBootstrapSetup and its key generation. Key GiB: ours the rotation keys in memory; "
                     "OpenFHE the growth of its resident memory over key generation from N = 2^16 on (serializing "
                     "its keys would double its memory), the serialized size of its rotation keys on smaller "
                     "rings. Levels after: ours the "
                     "ciphertext's level, OpenFHE depth - level - (noise scale degree - 1) as its examples "
                     "count them. Precision: -log2 of the largest error over all slots, inputs uniform in "
                     "[-1, 1]." + "".join(f" Not measured: {NAMES.get(k.split(',')[0], k)}{k[k.find(','):]}: "
                                          f"{why}." for k, why in boot.get("errors", {}).items()))
    sizes = results.get("sizes")
    if sizes and sizes.get("rows"):
        parts.append("### Serialized sizes (N = 2^13, setting (a))\n\n" + render_sizes(sizes))
    ntt = results.get("ntt")
    if ntt and ntt.get("rows"):
        parts.append("### NTT per transform (ours, one limb, one thread, median of 200)\n\n" + render_ntt(ntt)
                     + (f"\n\nThe butterflies compile to `vpmuludq` on `{ntt['register']}` registers "
                        f"({ntt['vpmuludq']} in `forward_one`)." if ntt.get("register") else ""))
    return "\n\n".join(parts)


# -- sections ----------------------------------------------------------------------------------------------------
def load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_model() -> str:
    """The CPU's model name and its widest vector extension (Linux ``/proc/cpuinfo``), or the platform's name."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    vector = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    return f"{model} ({vector})"


def clock_for(threads: int, mode: str) -> str:
    """CPU time on one thread (unless --clock wall), wall time otherwise."""
    if mode == "auto":
        return "cpu" if threads == 1 else "wall"
    return mode


def timing_section(configs: list[tuple[int, list[int], int, int]], ops: list[str], libraries: list[str],
                   rounds: int, repeat: int, clock_mode: str, steps_for, extras: bool = False) -> dict:
    """Rows for every (N, moduli_bits, scale_bits, threads) config and operation, each library in its worker."""
    table = {"rows": [], "setups": [], "load_start": load(), "cores": os.cpu_count()}
    for n, bits, scale_bits, threads in configs:
        workers, info = start_workers(libraries, threads, n, bits, scale_bits, steps_for(n), extras)
        table["setups"].append({"N": n, "threads": threads, "moduli_bits": bits, "libraries": info})
        try:
            for op in ops:
                per_round = measure(workers, op, rounds, repeat, clock_for(threads, clock_mode))
                if op == "hoisted":
                    per_round = {k: [v / len(HOISTED) for v in vs] for k, vs in per_round.items()}
                row = make_row({"N": n, "threads": threads, "operation": op, "clock": clock_for(threads, clock_mode)},
                               per_round)
                table["rows"].append(row)
                print(f"  {power(n)} t={threads} {op}: " + ", ".join(
                    f"{NAMES[k]} {cell(v)}" for k, v in row["libraries"].items()), file=sys.stderr, flush=True)
        finally:
            for worker in workers.values():
                worker.close()
    table["load_end"] = load()
    return table


def label(key: str) -> str:
    """The printed name of a worker key: a library (``ours``) or a library at a thread count (``ours@2``)."""
    library, _, threads = key.partition("@")
    return NAMES.get(library, library) + (f", {threads} thr" if threads else "")


#: The libraries of the thread-scaling rows: ours, SEAL, OpenFHE at its own setting and like for like.
THREAD_LIBRARIES = ["ours", "ours_fast", "tenseal", "openfhe_b", "openfhe_a"]
THREAD_OPS = ["multiply", "rotate"]


def threads_section(rings: list[int], thread_counts: list[int], libraries: list[str], rounds: int,
                    repeat: int) -> dict:
    """Speed-up of every library from one thread to more: wall seconds on every count, alternating.

    For each ring, one worker per (library, thread count), all alive at once and timed one after another in
    a rotating order, so that a round's 1-thread and k-thread times of a library saw the same load. The
    speed-up of a round is its 1-thread time over its k-thread time; a row gives its median and min-max,
    and ours / peer at the most threads. Wall time on every count (CPU time would hide the waiting).
    """
    top = max(thread_counts)
    table = {"rows": [], "load_start": load(), "cores": os.cpu_count(), "threads": thread_counts}
    for n in rings:
        bits, scale_bits = RINGS[n]
        workers: dict[str, Worker] = {}
        try:
            for threads in thread_counts:
                started, _ = start_workers(libraries, threads, n, bits, scale_bits, core_steps(n))
                workers.update({f"{library}@{threads}": worker for library, worker in started.items()})
            for op in THREAD_OPS:
                per_round = measure(workers, op, rounds, repeat, "wall")
                row = threads_row(n, op, per_round, thread_counts)
                table["rows"].append(row)
                print(f"  {power(n)} {op} speed-up 1 -> {top} threads: " + ", ".join(
                    f"{NAMES[k]} {cell(v['speedup'])}" for k, v in row["libraries"].items() if "speedup" in v),
                    file=sys.stderr, flush=True)
        finally:
            for worker in workers.values():
                worker.close()
    table["load_end"] = load()
    return table


def threads_row(n: int, op: str, per_round: dict[str, list[float]], thread_counts: list[int]) -> dict:
    """One ring and operation: each library's times per thread count, its speed-up, ours / peer at the most."""
    top = max(thread_counts)
    libraries: dict[str, dict] = {}
    for key, values in per_round.items():
        library, _, threads = key.partition("@")
        libraries.setdefault(library, {})[threads] = spread(values)
    for library, times in libraries.items():
        one, many = per_round.get(f"{library}@1"), per_round.get(f"{library}@{top}")
        if one and many:
            times["speedup"] = spread([a / b for a, b in zip(one, many) if b])
    bases = {library: ratio_base(library, libraries) for library in libraries if library not in OURS}
    ratios = {library: ratio_spread(per_round[f"{base}@{top}"], per_round[f"{library}@{top}"])
              for library, base in bases.items()
              if per_round.get(f"{base}@{top}") and per_round.get(f"{library}@{top}")}
    return {"N": n, "operation": op, "threads": top, "libraries": libraries, "ratios": ratios,
            "bases": {library: base for library, base in bases.items() if library in ratios}}


def render_threads(table: dict) -> str:
    """N | operation | library | ms per thread count | speed-up | ours / library at the most threads."""
    counts = [str(t) for t in table.get("threads", [1, 2])]
    top = counts[-1]
    header = ["N", "operation", "library"] + [f"{t} thr ms" for t in counts] + [f"speed-up 1 -> {top}",
                                                                                 f"ours/library, {top} thr"]
    # a ratio against "ours (fast)" says so in its cell
    rows = []
    for row in table["rows"]:
        for library, times in row["libraries"].items():
            ratio = row["ratios"].get(library)
            rows.append([power(row["N"]), LABELS[row["operation"]], NAMES.get(library, library)]
                        + [cell(times.get(t)) for t in counts] + [cell(times.get("speedup"))]
                        + ["" if library in OURS else (cell(ratio) + base_note(row, library)) if ratio else "-"])
    return markdown_table(header, rows)


def base_note(row: dict, peer: str) -> str:
    """" (ours (fast))" after a ratio whose base is not the default column, else ""."""
    base = row.get("bases", {}).get(peer, "ours")
    return "" if base == "ours" else f" ({NAMES[base]})"


def core_steps(n: int) -> list[int]:
    return [1]


def extras_steps(n: int) -> list[int]:
    steps = sorted(set(HOISTED + [1]) | {2**i for i in range(12)} | {-(2**i) for i in range(4)})
    return [k for k in steps if abs(k) < n // 2]


def run_json(argv: list[str], env: dict, request: dict, timeout: float) -> dict:
    """Run a one-shot JSON worker (request on stdin, reply on stdout)."""
    try:
        done = subprocess.run(argv, input=json.dumps(request), capture_output=True, text=True, env=env,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode:
        return {"error": f"exit {done.returncode}: {done.stderr[-500:]}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[0]) if lines else {"error": "no reply"}


def bootstrap_requests(preset: str, poly_degree: int | None, ours: dict, values: list[float],
                       repeat: int) -> dict[str, dict]:
    """OpenFHE's bootstrapping requests (openfhe_reference.py) at (a) our level budget and (b) its own setup.

    At the 128-bit preset also (b, our N): OpenFHE's own setup forced onto our ring, with as many levels after
    as its security check admits there (fewer than ours).
    """
    big = (poly_degree or 1 << 16) >= 1 << 16
    common = {"slots": ours["slots"], "levels_after": ours["compute_levels"], "values": values, "repeat": repeat,
              "key_memory": "rss" if big else "serialized"}
    a = dict(common, poly_degree=ours["poly_degree"], level_budget=[ours["cts"], ours["stc"]],
             secret="SPARSE_TERNARY", dnum=ours.get("dnum", 4))
    b = dict(common, poly_degree=None, level_budget=[3, 3], secret="SPARSE_ENCAPSULATED", dnum=None,
             security="128" if preset == "128" else None)
    if preset != "128":  # the teaching preset is insecure: OpenFHE's check would pick a far larger ring
        b["poly_degree"] = ours["poly_degree"]
        return {"openfhe_a": a, "openfhe_b": b}
    return {"openfhe_a": a, "openfhe_b": b, "openfhe_bn": dict(b, poly_degree=ours["poly_degree"], fit_levels=True)}


def bootstrap_rows(threads: int, details: dict[str, dict]) -> list[dict]:
    """The (b) and (a) rows of one thread count from the processes' reports so far."""
    rows = []
    for setting, key in (("b", "openfhe_b"), ("b, our N", "openfhe_bn"), ("a", "openfhe_a")):
        if setting == "b, our N" and key not in details:
            continue
        per_round = {k: details[k]["seconds"] for k in ("ours", key) if k in details}
        row = make_row({"threads": threads, "setting": setting, "operation": "bootstrap"}, per_round)
        row["details"] = {k: {f: v for f, v in details[k].items() if f != "seconds"} for k in ("ours", key)
                          if k in details}
        rows.append(row)
    return rows


def bootstrap_section(preset: str, poly_degree: int | None, threads_list: list[int], repeat: int,
                      clock_mode: str = "auto", progress=None) -> dict:
    """Ours and OpenFHE (a), (b): one process each, under the memory lock, alternating.

    ``progress(table)`` is called after every process (each takes minutes), so that a run cut short keeps
    what it measured.
    """
    import numpy as np

    table = {"rows": [], "load_start": load(), "cores": os.cpu_count(), "preset": preset}
    python = openfhe_interpreter()
    big = preset == "128"
    n = poly_degree or (1 << 16 if big else 4096)
    values = np.random.default_rng(n).uniform(-1, 1, n // 2).tolist()
    script = str(ROOT / "tests" / "ckks" / "circuits" / "bootstrapping" / "openfhe_reference.py")
    for index, threads in enumerate(threads_list):
        argv, env = worker_command("ours", threads, lock=big)
        ours = run_json(argv, env, {"cmd": "bootstrap", "preset": preset, "poly_degree": None if big else n,
                                    "repeat": repeat, "values": values, "threads": threads,
                                    "clock": clock_for(threads, clock_mode)}, 1800)
        if "error" in ours:
            print(f"  (ours bootstrap: {ours['error']})", file=sys.stderr)
            continue
        ours["describe"] = (f"N = {power(ours['poly_degree'])}, sparse h = {ours.get('hamming_weight', '?')}, "
                            f"budget [{ours['cts']}, {ours['stc']}], dnum {ours.get('dnum', '?')}, "
                            + ("128-bit (our check)" if big else "insecure teaching preset"))
        requests = bootstrap_requests(preset, None if big else n, ours, values, repeat)
        for request in requests.values():
            request["clock"] = clock_for(threads, clock_mode)
        details = {"ours": ours}
        done = len(table["rows"])
        table["rows"][done:] = bootstrap_rows(threads, details)
        if progress:
            progress(table)
        for key in rotate(list(requests), index):
            if python is None:
                break
            argv, env = worker_command(key, threads, python, lock=big, script=script)
            reply = run_json(argv, env, requests[key], 1800)
            if "error" in reply:
                print(f"  ({NAMES[key]} bootstrap: {reply['error']})", file=sys.stderr)
                table.setdefault("errors", {})[f"{key}, {threads} thread(s)"] = reply["error"][-300:]
                continue
            reply.pop("values", None)
            request = requests[key]
            reply["levels_after"] = reply.get("levels_remaining")
            reply["seconds"] = reply.get("bootstrap_samples") or [reply["bootstrap_seconds"]]
            reply["describe"] = (f"N = {power(reply['ring_dim'])}, {request['secret'].lower()}, budget "
                                 f"{request['level_budget']}, dnum {request['dnum'] or 'default'}, "
                                 f"{reply.get('security', '-')}")
            details[key] = reply
            table["rows"][done:] = bootstrap_rows(threads, details)
            if progress:
                progress(table)
        print(render_bootstrap({"rows": table["rows"][done:]}), file=sys.stderr, flush=True)
    table["load_end"] = load()
    return table


def sizes_section(python: str | None) -> dict:
    from bench_sizes import BITS, SCALE_BITS, N

    sizes = {}
    for library in ("ours", "tenseal", "openfhe_a"):
        if library == "openfhe_a" and python is None:
            continue
        worker = Worker(library, 1, python)
        if library == "openfhe_a":
            worker.ask(setup_request(library, N, BITS, SCALE_BITS, [], False))
        sizes[library] = worker.ask({"cmd": "sizes"}).get("sizes", {})
        worker.close()
    rows = [{"object": name, "ours": size, "tenseal": sizes.get("tenseal", {}).get(name),
             "openfhe": sizes.get("openfhe_a", {}).get(name)} for name, size in sizes["ours"].items()]
    return {"rows": rows}


def ntt_section() -> dict:
    worker = Worker("ours", 1)
    reply = worker.ask({"cmd": "ntt"})
    worker.close()
    return {"rows": reply.get("rows", []), "register": reply.get("register"), "vpmuludq": reply.get("vpmuludq")}


SECTIONS = ["core", "extras", "scaling", "threads", "bootstrap", "sizes", "ntt"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rings", type=int, nargs="+", default=[8192, 16384, 32768])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5, help="alternation rounds per operation (spread over these)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per worker per round (median kept)")
    parser.add_argument("--scaling", type=int, nargs="+", default=[4096, 8192, 16384, 32768, 65536])
    parser.add_argument("--sections", nargs="+", default=SECTIONS, choices=SECTIONS)
    parser.add_argument("--bootstrap-repeat", type=int, default=2, help="timed bootstraps per process")
    parser.add_argument("--bootstrap-threads", type=int, nargs="+", default=[1],
                        help="thread counts of the bootstrapping rows (default 1: each 128-bit process takes minutes)")
    parser.add_argument("--threads-rings", type=int, nargs="+", default=[8192, 16384, 32768],
                        help="rings of the thread-scaling rows (section threads)")
    parser.add_argument("--extras-threads", type=int, nargs="+", default=[1],
                        help="thread counts of the rotations / linear algebra / polynomials rows")
    parser.add_argument("--quick", action="store_true",
                        help="small rows only: N = 2^13 and 2^14 core rows, 3 rounds, bootstrapping at the teaching "
                             "preset (N = 2^12); no extras, no N sweep")
    parser.add_argument("--json", type=Path, help="write the measurements here (for tools/benchmark_page.py)")
    parser.add_argument("--check", nargs="?", const="", metavar="JSON",
                        help="flag rows whose spread is larger than their difference (exit 1); with a file, "
                             "check that file without measuring")
    parser.add_argument("--clock", choices=["auto", "cpu", "wall"], default="auto",
                        help="auto (default): CPU time of the worker process on 1 thread, wall time on more")
    args = parser.parse_args(argv)
    if args.quick:
        args.rings, args.rounds = [8192, 16384], 3
        args.sections = [s for s in args.sections if s not in ("extras", "scaling", "threads")]
    return args


def run_check(results: dict) -> int:
    messages = check(results)
    if not messages:
        print("--check: every ratio is resolved (its spread is smaller than the difference it reports)")
        return 0
    print(f"--check: {len(messages)} ratio(s) whose spread is larger than the difference they report "
          "(marked (n.s.) in the tables):", file=sys.stderr)
    for message in messages:
        print("  " + message, file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.check:
        stored = json.loads(Path(args.check).read_text(encoding="utf-8"))
        return run_check(stored.get("compare", stored))  # docs/benchmarks/data.json holds the run under "compare"
    python = openfhe_interpreter()
    libraries = ["ours", "ours_fast", "tenseal"] + (["openfhe_a", "openfhe_b", "openfhe_b128"] if python else [])
    results: dict = {"meta": {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/compare.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cores": os.cpu_count(), "machine": cpu_model(), "rounds": args.rounds,
        "repeat": args.repeat, "clock": args.clock, "openfhe": python is not None, "load_start": load()}}

    def save() -> None:
        results["meta"]["load_end"] = load()
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")

    started = time.perf_counter()
    if "core" in args.sections:
        configs = [(n, *RINGS[n], t) for n in args.rings for t in args.threads]
        results["core"] = timing_section(configs, CORE, libraries, args.rounds, args.repeat, args.clock, core_steps)
        save()
    if "extras" in args.sections:
        configs = [(n, *RINGS[n], t) for n in args.rings if n <= 16384 for t in args.extras_threads]
        extras_libraries = [lib for lib in libraries if lib != "openfhe_b128"]
        results["extras"] = timing_section(configs, EXTRAS, extras_libraries, max(3, args.rounds - 2), 1,
                                           args.clock, extras_steps, extras=True)
        save()
    if "scaling" in args.sections:
        configs = [(n, *SCALING[n], 1) for n in args.scaling]
        scaling_libraries = [lib for lib in libraries if lib not in ("openfhe_b128", "ours_fast")]
        results["scaling"] = timing_section(configs, ["multiply", "rotate"], scaling_libraries,
                                            max(3, args.rounds - 2), args.repeat, args.clock, core_steps)
        save()
    if "threads" in args.sections:
        thread_libraries = [lib for lib in THREAD_LIBRARIES if lib in libraries]
        results["threads"] = threads_section(args.threads_rings, sorted(set(args.threads) | {1}), thread_libraries,
                                             args.rounds, args.repeat)
        save()
    if "bootstrap" in args.sections:
        preset = "teaching" if args.quick else "128"
        def progress(table: dict) -> None:
            results["bootstrap"] = dict(table, load_end=load())
            save()

        results["bootstrap"] = bootstrap_section(preset, 4096 if args.quick else None, args.bootstrap_threads,
                                                 args.bootstrap_repeat, args.clock, progress)
        save()
    if "sizes" in args.sections:
        results["sizes"] = sizes_section(python)
        save()
    if "ntt" in args.sections:
        results["ntt"] = ntt_section()
        save()
    results["meta"]["minutes"] = round((time.perf_counter() - started) / 60, 1)
    save()
    print(render(results))
    meta = results["meta"]
    print(f"\nLoad average at start / end of the run: {meta['load_start']} / {meta['load_end']} "
          f"on {meta['cores']} cores; {meta['minutes']} minutes.")
    return run_check(results) if args.check == "" else 0


if __name__ == "__main__":
    raise SystemExit(main())
