"""Measure where each parallel kernel starts to pay: ``python -m ckks.crossover``.

Every numba ``parallel=True`` kernel of `ckks` is wrapped by `ckks.ring.modarith.serial_when_small`,
which runs its serial twin (``.serial``) below a threshold of elements of its first argument and the
parallel kernel (``.kernel``) from there on.  This tool times the two against each other on two
threads, for every wrapped kernel, over the argument layouts the library really passes: rings of
N = 2^10 .. 2^16 with 2, 3, 4 and 8 data primes (and one special prime), the arguments built by the
library's own code (`ckks.scheme.keyswitch.KeySwitcher` for the key-switching kernels, the RNS
divider of ``mod_down``, the CRT decoder, the NTT tables) or with exactly the layout of its call
sites.  For each argument set it alternates batches of serial and parallel calls (`time_pair`:
median of ``rounds`` batches each, a batch lasting at least 2 ms), sums the medians of the argument
sets of the same first-argument size, and picks the threshold with `crossover`: the smallest power of
two from which the parallel kernel won by at least ``margin`` (10%) at every measured size (one loss
between two wins counts as noise).

Two threads only pay when the second core is free, so `measure` watches the CPU time of other processes
while it times each ring (``/proc/stat``) and times a ring again after a quiet spell when they used more
than ``--quiet`` (5%) of the CPUs.  The first sweep on the 2-core machine of ``docs/benchmarks.md``, taken
while another job held a core, found that two threads paid for nothing below 2^17 elements (ratios of
1.00-1.05: the worker thread woke up after the kernel had finished); quiet sweeps put most kernels at
2^11-2^15 and the additions at 2^17-2^19.

It prints one line per ring as it goes, then the table, and writes `ckks.ring.thresholds.TABLE_FILE`
(``--output`` elsewhere; with ``--kernels``, only those entries change), with the CPU, the threads,
the threading layer and the date.  ``--raw FILE`` also writes every median, ``--from-raw A B`` computes
the table from earlier sweeps (summing their medians) without timing anything, and ``--plot PNG`` draws
them (``docs/benchmarks/thresholds.png``).  ``--lock FILE`` holds an exclusive ``flock`` on FILE while
each ring size is timed and releases it in between, so that timings of other jobs that take the same
lock do not overlap.  Run it twice and compare: ``docs/benchmarks.md`` shows two sweeps.

Measured public data only: the residues are random words from a seeded generator, never keys.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ckks.errors import InputError, SerializationError
from ckks.ring.thresholds import TABLE_FILE, Table, load_table

__all__ = ["DEGREES", "LIMBS", "MARGIN", "Sample", "crossover", "kernels", "time_pair", "measure", "table_of",
           "read_raw", "report", "plot", "substituted", "parse_args", "main"]

#: log2 N of the measured rings (N = 2^10 .. 2^16, the sizes of real use).
DEGREES = (10, 11, 12, 13, 14, 15, 16)

#: Data primes of the measured rings (one special prime follows them).
LIMBS = (2, 3, 4, 8)

#: The parallel kernel must take at most 1 - MARGIN times the serial twin's time to count as faster.
MARGIN = 0.10

#: Batches of each variant per argument set (medians of these).
ROUNDS = 9

#: Least seconds one batch of calls lasts (short kernels are called many times per batch).
BATCH_SECONDS = 0.002

#: A ring's timings count when other processes used at most this fraction of the CPUs meanwhile.
QUIET = 0.05

#: Seconds to wait for a quiet machine before timing a ring again.
PATIENCE = 60.0


# -- the crossover ------------------------------------------------------------------------------------------


def _floor_power_of_two(n: int) -> int:
    return 1 << (int(n).bit_length() - 1)


def crossover(sizes: Sequence[int], serial: Sequence[float], parallel: Sequence[float],
              margin: float = MARGIN, ignore_isolated: bool = True) -> int:  # fmt: skip
    """The threshold from timings: the smallest power of two t with the parallel kernel faster at every size >= t.

    Timings of equal sizes are summed first (several argument layouts of the same size).  The parallel
    kernel is faster at a size when its time is at most ``(1 - margin)`` times the serial one.  Let s_max be
    the largest size where it is not: the threshold is the least power of two above s_max; when it is
    faster everywhere, the largest power of two not above the smallest size (nothing is claimed below the
    measurements); when it is faster nowhere, a power of two above every measured size.  With
    ``ignore_isolated``, a loss at one size between two sizes (the next smaller and the next larger
    measured) where the parallel kernel won is taken for noise (a burst of another process's work) and
    does not count; a loss at the largest size always counts.

    Args:
        sizes: elements of the first argument of each timing (positive integers).
        serial: the serial twin's time at each (seconds, any unit).
        parallel: the parallel kernel's time at each, same unit.
        margin: the relative win the parallel kernel needs, in [0, 1).
        ignore_isolated: skip a loss whose two neighbouring sizes won.

    Returns:
        The threshold, a positive power of two.

    Raises:
        InputError: the sequences are empty or of different lengths, a size is not a positive integer, a
            time is not a positive finite number, or ``margin`` is outside [0, 1).
    """
    if not len(sizes) or not len(sizes) == len(serial) == len(parallel):
        raise InputError(f"crossover needs equally many sizes, serial and parallel times (got {len(sizes)}, "
                         f"{len(serial)}, {len(parallel)}), at least one")
    if not 0 <= margin < 1:
        raise InputError(f"margin must be in [0, 1), got {margin!r}")
    totals: dict[int, list[float]] = {}
    for size, s, p in zip(sizes, serial, parallel):
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size <= 0:
            raise InputError(f"sizes must be positive integers, got {size!r}")
        if not all(isinstance(t, (int, float)) and np.isfinite(t) and t > 0 for t in (s, p)):
            raise InputError(f"times must be positive finite numbers, got serial {s!r} and parallel {p!r}")
        entry = totals.setdefault(int(size), [0.0, 0.0])
        entry[0] += float(s)
        entry[1] += float(p)
    ordered = sorted(totals)
    wins = [totals[n][1] <= (1.0 - margin) * totals[n][0] for n in ordered]
    losing = [n for i, n in enumerate(ordered) if not wins[i] and not (
        ignore_isolated and 0 < i < len(ordered) - 1 and wins[i - 1] and wins[i + 1])]
    if not losing:
        return _floor_power_of_two(min(totals))
    return _floor_power_of_two(max(losing)) * 2


# -- the kernels and their arguments --------------------------------------------------------------------------


def kernels() -> dict[str, Callable]:
    """Every `serial_when_small` kernel of `ckks`, by its table key (``module.function``).

    Returns:
        name -> the wrapper (with ``.serial``, ``.kernel``, ``.threshold``), in module order.
    """
    from ckks.ring import modarith, ntt, rns
    from ckks.scheme import automorphism, keyswitch

    found: dict[str, Callable] = {}
    for module in (modarith, rns, ntt, keyswitch, automorphism):
        for value in vars(module).values():
            if callable(value) and hasattr(value, "rental") and hasattr(value, "serial") and \
                    getattr(value, "__module__", None) == module.__name__:
                found.setdefault(value.name, value)
    return found


@dataclass
class _Ring:
    """One measured ring: parameters with ``limbs`` data primes and one special prime at N = 2^log_n."""

    log_n: int
    limbs: int
    params: object = field(repr=False)
    rng: np.random.Generator = field(repr=False)

    @property
    def level(self) -> int:
        return self.limbs - 1

    def words(self, *shape: int) -> np.ndarray:
        """Random residues below every prime of the chain (all primes have more than 30 bits)."""
        return self.rng.integers(0, 1 << 30, shape, dtype=np.uint64)


def _ring(log_n: int, limbs: int) -> _Ring:
    from ckks.scheme.parameters import Parameters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # security=None warns: these rings only time kernels
        params = Parameters(1 << log_n, [60] + [40] * (limbs - 1) + [60], 40, security=None)
    return _Ring(log_n, limbs, params, np.random.default_rng(log_n * 100 + limbs))


@contextlib.contextmanager
def substituted(wrapper: Callable, substitute: Callable) -> Iterator[None]:
    """Make every ckks module's global name for ``wrapper`` mean ``substitute`` inside the block.

    The library's modules call the kernels through names they imported (``from ckks.ring.modarith import
    poly_add``), so this reaches every call the library makes.  Used to record a kernel's arguments, and by
    ``benchmarks/bench_thresholds.py`` to run the same computation with other thresholds in one process.

    Args:
        wrapper: a `serial_when_small` kernel.
        substitute: what its names refer to meanwhile.

    Yields:
        None; on exit every name refers to ``wrapper`` again.
    """
    patched = [(module, name) for module in list(sys.modules.values())
               if getattr(module, "__name__", "").startswith("ckks")
               for name, value in list(vars(module).items()) if value is wrapper]
    for module, name in patched:
        setattr(module, name, substitute)
    try:
        yield
    finally:
        for module, name in patched:
            setattr(module, name, wrapper)


def _recording(wrapper: Callable, calls: list) -> contextlib.AbstractContextManager:
    """Record the arguments of every call of ``wrapper`` made through a ckks module's global name."""

    def record(*args):
        calls.append(args)
        return wrapper(*args)

    return substituted(wrapper, record)


def _captured(name: str, action: Callable[[], object]) -> list[tuple]:
    """The argument tuples with which the library's own code (``action``) calls kernel ``name``."""
    calls: list[tuple] = []
    with _recording(kernels()[name], calls):
        action()
    return calls


def _elementwise(r: _Ring, name: str) -> list[tuple]:
    from ckks.ring.modarith import shoup_per_limb

    ring = r.params.at_level(r.level)
    shape = ring.shape
    a, b, c = r.words(*shape), r.words(*shape), r.words(*shape)
    out = np.empty(shape, dtype=np.uint64)
    scalars = r.words(ring.limbs)
    shoup = shoup_per_limb(scalars, ring.moduli)
    if name == "poly_add" or name == "poly_sub":
        return [(a, b, ring.moduli, out)]
    if name == "poly_neg":
        return [(a, ring.moduli, out)]
    if name == "poly_mul":
        return [(a, b, ring.moduli, ring.ratios, out)]
    if name == "poly_mul_add":
        return [(a, b, c, ring.moduli, ring.ratios, out)]
    if name == "poly_mul_scalar":
        return [(a, scalars, shoup, ring.moduli, out)]
    if name == "poly_add_scalar":
        return [(a, scalars, ring.moduli, out)]
    if name == "tensor_square_free":
        return [(a, b, c, r.words(*shape), ring.moduli, ring.ratios, out, np.empty_like(out), np.empty_like(out))]
    if name == "subtract_and_scale":
        return [(a, b, scalars, shoup, ring.moduli, out)]
    raise AssertionError(name)


def _arguments(r: _Ring, name: str) -> list[tuple]:
    """The argument tuples of kernel ``name`` (table key) on ring ``r``, as the library passes them."""
    short = name.rpartition(".")[2]
    params, level = r.params, r.level
    ring = params.at_level(level)
    if short in ("poly_add", "poly_sub", "poly_neg", "poly_mul", "poly_mul_add", "poly_mul_scalar",
                 "poly_add_scalar", "tensor_square_free", "subtract_and_scale"):
        return _elementwise(r, short)
    if short == "reduce_signed":  # RingAtLevel.from_signed, the encoder
        values = r.rng.integers(-(1 << 20), 1 << 20, params.poly_degree, dtype=np.int64)
        return _captured(name, lambda: ring.from_signed(values))
    if short == "ntt_forward_rows":
        return _captured(name, lambda: ring.forward(r.words(*ring.shape)))
    if short == "ntt_inverse_rows":
        return _captured(name, lambda: ring.inverse(r.words(*ring.shape)))
    if short == "fast_basis_convert":  # the converter of the division by P: from P to the primes of Q
        converter = params.mod_down(level).converter
        return _captured(name, lambda: converter.convert(r.words(params.special_count, params.poly_degree)))
    if short == "divide_round":  # ModDown of a key switch (2 polynomials over Q_l * P)
        wide = r.words(2, r.limbs + params.special_count, params.poly_degree)
        return _captured(name, lambda: params.mod_down(level).divide_many(wide))
    if short == "crt_centred_float":  # decoding
        return _captured(name, lambda: params.crt_decoder(level).to_float(r.words(*ring.shape)))
    from ckks.scheme.automorphism import ntt_permutation
    from ckks.scheme.keyswitch import KeySwitcher

    switcher = KeySwitcher(params)
    poly = r.words(*ring.shape)
    if short == "mod_up":
        return _captured(name, lambda: switcher.decompose(poly))
    perm = ntt_permutation(5, params.poly_degree)
    if short == "key_inner_product":  # relinearization (no permutation) and a rotation (permuted digits)
        extended = switcher.decompose(poly)
        key = r.words(extended.shape[0], 2, params.max_level + 1 + params.special_count, params.poly_degree)
        return _captured(name, lambda: (switcher.inner_product(extended, key),
                                        switcher.inner_product(extended, key, perm)))
    if short == "permuted_add":  # the rotator: sigma_g(c0) + key-switched c0, in place
        return [(poly, perm, r.words(*ring.shape), ring.moduli, r.words(*ring.shape))]
    raise InputError(f"no argument builder for kernel {name}: add one to ckks.crossover._arguments")


# -- timing -----------------------------------------------------------------------------------------------


def time_pair(serial: Callable, parallel: Callable, args: tuple, rounds: int = ROUNDS,
              batch_seconds: float = BATCH_SECONDS) -> tuple[float, float]:  # fmt: skip
    """Median seconds per call of ``serial(*args)`` and ``parallel(*args)``, timed in alternating batches.

    Both run once first (compilation, caches).  A batch repeats one variant enough times to last
    ``batch_seconds``; the rounds alternate which variant goes first.

    Args:
        serial: the serial twin.
        parallel: the parallel kernel.
        args: their arguments.
        rounds: batches of each.
        batch_seconds: least duration of one batch.

    Returns:
        ``(serial seconds, parallel seconds)`` per call, medians over the rounds.
    """
    serial(*args)
    parallel(*args)
    start = time.perf_counter()
    serial(*args)
    single = max(time.perf_counter() - start, 1e-7)
    reps = max(1, min(10_000, int(batch_seconds / single)))
    times: dict[Callable, list[float]] = {serial: [], parallel: []}
    for round_ in range(rounds):
        for fn in (serial, parallel) if round_ % 2 == 0 else (parallel, serial):
            start = time.perf_counter()
            for _ in range(reps):
                fn(*args)
            times[fn].append((time.perf_counter() - start) / reps)
    return statistics.median(times[serial]), statistics.median(times[parallel])


@dataclass(frozen=True)
class Sample:
    """One timing: kernel, ring, the first argument's shape, the two medians (seconds per call), and the
    fraction of the CPUs that other processes used meanwhile."""

    kernel: str
    log_n: int
    limbs: int
    shape: tuple[int, ...]
    serial: float
    parallel: float
    background: float = 0.0

    @property
    def size(self) -> int:
        """Elements of the first argument (what the threshold is compared with)."""
        return int(np.prod(self.shape))


@contextlib.contextmanager
def _held(lock: str | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot, from ``/proc/stat`` (None where there is none)."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _others_load(before: tuple[int, int] | None, own_before: float) -> float:
    """Fraction of all CPUs that other processes used since ``before`` (0 where ``/proc/stat`` is missing).

    The CPU time of every process minus this process's own (``os.times``), over the elapsed CPU time.
    """
    after = _cpu_ticks()
    if before is None or after is None or after[1] <= before[1]:
        return 0.0
    own = (sum(os.times()[:2]) - own_before) * os.sysconf("SC_CLK_TCK")
    return max(0.0, (after[0] - before[0] - own) / (after[1] - before[1]))


def _wait_for_quiet(quiet: float, patience: float, stream) -> float:
    """Poll 0.5 s windows until other processes use at most ``quiet`` of the CPUs or ``patience`` seconds pass.

    Returns:
        The load of the last window.
    """
    deadline = time.perf_counter() + patience
    while True:
        before, own = _cpu_ticks(), sum(os.times()[:2])
        time.sleep(0.5)
        load = _others_load(before, own)
        if load <= quiet or time.perf_counter() >= deadline:
            return load
        print(f"  waiting for a quiet machine (other processes use {100 * load:.0f}% of the CPUs)", file=stream,
              flush=True)


def measure(names: Sequence[str], degrees: Sequence[int] = DEGREES, limbs: Sequence[int] = LIMBS, *,
            threads: int = 2, rounds: int = ROUNDS, lock: str | None = None, quiet: float = QUIET,
            patience: float = PATIENCE, stream=None) -> list[Sample]:  # fmt: skip
    """Time every kernel of ``names`` serial against parallel on every ring (log2 N in ``degrees`` x ``limbs``).

    Two threads only pay when the second core is free: a worker thread that wakes up behind another
    process's time slice arrives after a short kernel has finished, and the timings would say that
    parallel never pays.  So the load of other processes is measured while each ring is timed
    (``/proc/stat`` minus this process's own CPU time); a ring timed while they used more than ``quiet``
    of the CPUs is timed again, after waiting up to ``patience`` seconds for a quiet window, up to
    three times, and the quietest attempt is kept (its load is in each `Sample`).

    Args:
        names: table keys of the kernels (`kernels`).
        degrees: log2 N of the rings.
        limbs: data primes of the rings.
        threads: numba threads of the parallel kernels.
        rounds: batches of each variant per argument set.
        lock: a file to ``flock`` while each ring size is timed (None: none).
        quiet: the largest fraction of the CPUs that other processes may use during a ring's timings.
        patience: seconds to wait for a quiet window before a retry.
        stream: where the progress lines go (default: standard error).

    Returns:
        One `Sample` per (kernel, ring, argument set).
    """
    import numba

    stream = sys.stderr if stream is None else stream
    wrappers = kernels()
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    samples: list[Sample] = []
    try:
        for log_n in degrees:
            with _held(lock):
                for count in limbs:
                    ring = _ring(log_n, count)
                    best: list[Sample] = []
                    for attempt in range(3):
                        start = time.perf_counter()
                        before, own = _cpu_ticks(), sum(os.times()[:2])
                        timed = [(name, args[0].shape, time_pair(wrappers[name].serial, wrappers[name].kernel,
                                                                 args, rounds))
                                 for name in names for args in _arguments(ring, name)]
                        load = _others_load(before, own)
                        if not best or load < best[0].background:
                            best = [Sample(name, log_n, count, tuple(shape), s, p, load)
                                    for name, shape, (s, p) in timed]
                        print(f"N=2^{log_n}, {count} primes + 1: {len(names)} kernel(s) timed in "
                              f"{time.perf_counter() - start:.1f} s, other processes used {100 * load:.0f}% "
                              "of the CPUs", file=stream, flush=True)
                        if load <= quiet or attempt == 2:
                            break
                        _wait_for_quiet(quiet, patience, stream)
                    samples.extend(best)
    finally:
        numba.set_num_threads(previous)
    return samples


def table_of(samples: Sequence[Sample], margin: float = MARGIN) -> dict[str, int]:
    """The threshold of each kernel in ``samples`` (`crossover` of its sizes and medians).

    Args:
        samples: timings from `measure`.
        margin: the relative win the parallel kernel needs.

    Returns:
        kernel name -> threshold.
    """
    by_kernel: dict[str, list[Sample]] = {}
    for sample in samples:
        by_kernel.setdefault(sample.kernel, []).append(sample)
    return {name: crossover([s.size for s in group], [s.serial for s in group], [s.parallel for s in group], margin)
            for name, group in by_kernel.items()}


def read_raw(path: str | os.PathLike) -> list[Sample]:
    """The samples of a ``--raw`` file.

    Args:
        path: a file written by ``python -m ckks.crossover --raw``.

    Returns:
        Its `Sample` list.

    Raises:
        SerializationError: the file cannot be read or is not a ``--raw`` file.
    """
    try:
        with open(path) as handle:
            rows = json.load(handle)["samples"]
        return [Sample(r["kernel"], int(r["log_n"]), int(r["limbs"]), tuple(int(d) for d in r["shape"]),
                       float(r["serial_s"]), float(r["parallel_s"]), float(r.get("background", 0.0))) for r in rows]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SerializationError(f"{os.fspath(path)!r} is not a readable --raw file of ckks.crossover "
                                 f"({type(error).__name__}: {error}); write one with --raw") from None


# -- command line -----------------------------------------------------------------------------------------


def _cpu() -> str:
    """The CPU's model name, with its family and model numbers where ``/proc/cpuinfo`` gives them."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if not line.strip():
                    break  # the first processor is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    if "flags" in fields:
        name += ", AVX-512" if "avx512f" in fields["flags"].split() else ", no AVX-512"
    return name


def _int_list(text: str, what: str, low: int, high: int) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values or any(not low <= v <= high for v in values):
        raise InputError(f"{what} must be integers in [{low}, {high}], got {text!r}")
    return sorted(set(values))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m ckks.crossover``, checked.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The namespace, with ``degrees`` and ``limbs`` as lists of integers and ``kernels`` as table keys.

    Raises:
        InputError: a list is malformed or out of range (log2 N in [10, 16], primes in [2, 16]), a kernel
            name matches no wrapped kernel, ``--rounds`` or ``--threads`` is below 1 or ``--threads`` above
            numba's thread count, ``--margin`` is outside [0, 1), ``--quiet`` outside [0, 1] or ``--patience``
            negative.
    """
    import numba

    parser = argparse.ArgumentParser(prog="python -m ckks.crossover", description=__doc__.splitlines()[0])
    parser.add_argument("--degrees", default=",".join(map(str, DEGREES)), help="log2 N of the rings, e.g. 10,12,14")
    parser.add_argument("--limbs", default=",".join(map(str, LIMBS)), help="data primes of the rings, e.g. 2,4,8")
    parser.add_argument("--kernels", default="", help="comma-separated kernel names (short or qualified); all if empty")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="timed batches of each variant")
    parser.add_argument("--margin", type=float, default=MARGIN, help="relative win the parallel kernel needs")
    parser.add_argument("--threads", type=int, default=2, help="numba threads of the parallel kernels")
    parser.add_argument("--lock", default=None, help="flock this file while each ring size is timed")
    parser.add_argument("--quiet", type=float, default=QUIET,
                        help="most fraction of the CPUs other processes may use while a ring is timed")
    parser.add_argument("--patience", type=float, default=PATIENCE, help="seconds to wait for a quiet machine")
    parser.add_argument("--output", default=str(TABLE_FILE), help="the table file to write (default: the package's)")
    parser.add_argument("--raw", default=None, help="also write every median to this JSON file")
    parser.add_argument("--no-write", action="store_true", help="print the table, write no table file")
    parser.add_argument("--plot", default=None, metavar="PNG", help="draw parallel/serial by size (matplotlib)")
    parser.add_argument("--from-raw", nargs="+", default=None, metavar="FILE",
                        help="time nothing: compute the table from the medians of earlier --raw files (summed)")
    ns = parser.parse_args(argv)
    ns.degrees = _int_list(ns.degrees, "--degrees (log2 N)", 10, 16)
    ns.limbs = _int_list(ns.limbs, "--limbs (data primes)", 2, 16)
    if ns.rounds < 1:
        raise InputError(f"--rounds must be at least 1, got {ns.rounds}")
    if not 1 <= ns.threads <= numba.config.NUMBA_NUM_THREADS:
        raise InputError(f"--threads must be in [1, {numba.config.NUMBA_NUM_THREADS}] (NUMBA_NUM_THREADS), "
                         f"got {ns.threads}")
    if not 0 <= ns.margin < 1:
        raise InputError(f"--margin must be in [0, 1), got {ns.margin}")
    if not 0 <= ns.quiet <= 1 or ns.patience < 0:
        raise InputError(f"--quiet must be in [0, 1] and --patience at least 0, got {ns.quiet} and {ns.patience}")
    known = kernels()
    if ns.kernels.strip():
        chosen = []
        for part in (p.strip() for p in ns.kernels.split(",") if p.strip()):
            match = [n for n in known if n == part or n.rpartition(".")[2] == part]
            if not match:
                short = sorted(n.rpartition(".")[2] for n in known)
                raise InputError(f"--kernels: no wrapped kernel is called {part!r}; the kernels are {short}")
            chosen.extend(m for m in match if m not in chosen)
        ns.kernels = chosen
    else:
        ns.kernels = list(known)
    return ns


def _format_size(n: int) -> str:
    """``2^k`` for a power of two, ``m*2^k`` (m odd) otherwise."""
    shift = (n & -n).bit_length() - 1
    return f"2^{shift}" if n == 1 << shift else f"{n >> shift}*2^{shift}"


def report(samples: Sequence[Sample], thresholds: dict[str, int], stream=None) -> None:
    """Print the table: per kernel, the threshold (measured and the old default) and parallel/serial by size.

    Args:
        samples: the timings.
        thresholds: their table (`table_of`).
        stream: where to print (default: standard output).
    """
    stream = sys.stdout if stream is None else stream
    wrappers = kernels()
    print(f"{'kernel':44s} {'threshold':>9s} {'default':>8s}  parallel/serial by first-argument size", file=stream)
    for name, threshold in thresholds.items():
        ratios = " ".join(f"{_format_size(n)}:{r:.2f}" for n, r in zip(*_ratios(samples, name)))
        default = wrappers[name].default if name in wrappers else 0
        print(f"{name:44s} {_format_size(threshold):>9s} {_format_size(default):>8s}  {ratios}", file=stream)


def _ratios(samples: Sequence[Sample], name: str) -> tuple[list[int], list[float]]:
    """Sizes of kernel ``name`` and parallel/serial of the medians summed per size, in size order."""
    totals: dict[int, list[float]] = {}
    for s in samples:
        if s.kernel == name:
            entry = totals.setdefault(s.size, [0.0, 0.0])
            entry[0] += s.serial
            entry[1] += s.parallel
    sizes = sorted(totals)
    return sizes, [totals[n][1] / totals[n][0] for n in sizes]


def plot(samples: Sequence[Sample], thresholds: dict[str, int], path: str | os.PathLike,
         margin: float = MARGIN) -> None:  # fmt: skip
    """Draw parallel/serial against the first argument's size, one line per kernel, its threshold marked.

    Three panels: the memory-bound kernels (additions), the element-wise products, and the transforms and
    key switching.  Needs matplotlib.

    Args:
        samples: the timings.
        thresholds: their table.
        path: the PNG to write.
        margin: drawn as the line the parallel kernel had to get under.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    from ckks.ring.modarith import CHEAP_THRESHOLD

    wrappers = kernels()
    panels: dict[str, list[str]] = {"additions (memory-bound)": [], "element-wise products": [],
                                    "transforms, RNS, key switching": []}
    for name in thresholds:
        if name in wrappers and wrappers[name].default == CHEAP_THRESHOLD:
            panels["additions (memory-bound)"].append(name)
        elif name.startswith("ckks.ring.modarith.") or name.endswith("subtract_and_scale"):
            panels["element-wise products"].append(name)
        else:
            panels["transforms, RNS, key switching"].append(name)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), sharey=True)
    for ax, (title, names) in zip(axes, panels.items()):
        for name in names:
            sizes, ratios = _ratios(samples, name)
            (line,) = ax.plot(sizes, ratios, marker=".", linewidth=1, label=name.rpartition(".")[2])
            threshold = thresholds[name]
            if threshold <= max(sizes):
                ax.axvline(threshold, color=line.get_color(), linestyle=":", linewidth=1)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(1.0 - margin, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_ylim(0.3, 3.0)
        ax.set_yticks([0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0], labels=["0.4", "0.6", "0.8", "1", "1.5", "2", "3"])
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(title)
        ax.set_xlabel("elements of the first argument")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("parallel / serial time (2 threads)")
    fig.suptitle("Where two threads pay: below the grey line the parallel kernel won; dotted: the threshold")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, int]:
    """``python -m ckks.crossover``: measure, print, and write the thresholds table (module docstring).

    Args:
        argv: command-line arguments (`parse_args`).

    Returns:
        The measured thresholds (kernel name -> elements).

    Raises:
        InputError: bad arguments (`parse_args`).
        SerializationError: the existing table file at ``--output`` is malformed (it is not overwritten), or a
            ``--from-raw`` file is not a ``--raw`` file.
    """
    import numba

    from ckks.ring.threads import threading_layer

    ns = parse_args(argv)
    if ns.from_raw:
        samples = [s for path in ns.from_raw for s in read_raw(path) if s.kernel in ns.kernels]
    else:
        samples = measure(ns.kernels, ns.degrees, ns.limbs, threads=ns.threads, rounds=ns.rounds, lock=ns.lock,
                          quiet=ns.quiet, patience=ns.patience)
    thresholds = table_of(samples, ns.margin)
    report(samples, thresholds)
    if ns.raw:
        rows = [{"kernel": s.kernel, "log_n": s.log_n, "limbs": s.limbs, "shape": list(s.shape),
                 "serial_s": s.serial, "parallel_s": s.parallel, "background": s.background} for s in samples]
        with open(ns.raw, "w") as handle:
            json.dump({"cpu": _cpu(), "threads": ns.threads, "date": date.today().isoformat(), "samples": rows},
                      handle, indent=0)
    if ns.plot:
        plot(samples, thresholds, ns.plot, ns.margin)
    if not ns.no_write:
        merged = dict(load_table(ns.output)) if os.path.exists(ns.output) and len(ns.kernels) < len(kernels()) else {}
        merged.update(thresholds)
        machine = {"cpu": _cpu(), "cores": os.cpu_count(), "threads": ns.threads,
                   "threading_layer": threading_layer(), "date": date.today().isoformat(), "numba": numba.__version__}
        if ns.from_raw:  # where and when the timings were taken, not this run
            with open(ns.from_raw[0]) as handle:
                first = json.load(handle)
            machine.update({key: first[key] for key in ("cpu", "threads", "date") if key in first})
            machine["sweeps"] = len(ns.from_raw)
        with open(ns.output, "w") as handle:
            handle.write(Table(merged, machine, ns.margin).to_json())
        print(f"wrote {len(merged)} thresholds to {ns.output}", file=sys.stderr)
    return thresholds


if __name__ == "__main__":
    try:
        main()
    except (InputError, SerializationError) as error:
        sys.exit(f"python -m ckks.crossover: {error}")
