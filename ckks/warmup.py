"""Compile the numba kernels once, in parallel processes: ``python -m ckks.warmup``.

The kernels are ``numba.njit(cache=True)``: the first process that calls one with a
new signature compiles it (seconds per kernel: about 40 s of the first
``python -m nn.encrypted.demo`` on 2 cores is compilation) and stores it in numba's
cache (``__pycache__`` next to the module, or ``NUMBA_CACHE_DIR``); every later
process loads it instead.  Compilation is single-threaded, so the kernels of
independent families compile in parallel when separate processes call them.
Each *job* here calls one family at the ring sizes the library uses, so that
the parallel variants and their serial twins (`ckks.ring.modarith.serial_when_small`)
compile with the argument types of real use:

* ``"ring"``: key generation, encoding, encryption, decryption, sums and the tensor
  product of a context at N = 16384 (NTTs, sampling, element-wise kernels, CRT), and the
  parallel variants of the additions (which wider rings, as in training, run);
* ``"keyswitch"``: a key switch and a rotation's permuted inner product on
  synthetic residues (no key is made): the digit decomposition (ModUp), the 128-bit
  inner product with the key, the division by P (ModDown, the rescale's kernel too)
  and the permuted addition of a rotation, at N = 16384;
* ``"small"``: both on a small ring (N = 2048), where the kernels run their serial twins.

``python -m ckks.warmup`` runs the jobs in parallel processes (``spawn``) and
prints each one's seconds; `start` runs some in the background while a program
compiles the rest itself (a process that reaches a kernel before the background
has cached it compiles it too: measured on the demo, the overlap gains little).
Warm caches make every job a fraction of a second.  Measured on 2 cores, empty
cache: all jobs 19-21 s (42 s while another job held a core), then ``python -m nn.encrypted.demo``
11-12 s (only ``nn``'s own kernel compiles), against 35-40 s for the demo alone; an encrypted
training on Iris (batch 32) then compiles nothing, and its first epoch takes 1.1-1.4 times a
later one (5-7 times without the warm-up).  The residues of the
``"keyswitch"`` job are public test data from a seeded generator, never keys.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable

import numpy as np

#: Ring sizes of the jobs: the demo's (parallel kernels) and a small one (serial twins).
LARGE = (16384, [60, 52, 52, 52, 60], 52)
SMALL = (2048, [30, 25, 30], 25)


def _ring_job(size: tuple = LARGE) -> None:
    """Key generation, encoding, encryption, sums, the tensor product and decryption (N = 16384 by default)."""
    import warnings

    from ckks.context import Context

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = Context(*size, security=None)
        x = context.encrypt(np.linspace(-1.0, 1.0, 16))
        y = x + x
        context.evaluator.multiply(x.ciphertext, y.ciphertext)  # the tensor product; key switching: the other job
        (x - y).decrypt()
    if size == LARGE:  # the small job's ring is far below the additions' threshold
        _wide_additions(size[0])
        _compile_skipped(parallel=True)


def _wide_additions(poly_degree: int) -> None:
    """The parallel variants of the additions, which run in parallel only from their measured thresholds
    (`ckks.ring.thresholds`: 2^17 elements and more, or `CHEAP_THRESHOLD` without a measurement).

    The demo's ring (5 primes at N = 16384) stays below them, so its additions run their serial twins;
    key generation and training at more primes reach them (issue 26: training compiled ``poly_add`` and
    ``poly_neg`` in its first epoch after a warm-up without this).
    """
    from ckks.ring.modarith import poly_add, poly_neg, poly_sub

    limbs = -(-max(k.threshold for k in (poly_add, poly_sub, poly_neg)) // poly_degree)
    a = np.zeros((limbs, poly_degree), dtype=np.uint64)
    moduli = np.full(limbs, 97, dtype=np.uint64)  # any word: only the argument types matter here
    out = np.empty_like(a)
    poly_add.kernel(a, a, moduli, out)  # the parallel variants themselves, whatever the thread count here
    poly_sub.kernel(a, a, moduli, out)
    poly_neg.kernel(a, moduli, out)


def _keyswitch_job(sizes: tuple = (LARGE,)) -> None:
    """ModUp, the key inner product (with and without a permutation), ModDown and the permuted addition."""
    import warnings

    from ckks.scheme.automorphism import ntt_permutation, permuted_add
    from ckks.scheme.keyswitch import KeySwitcher
    from ckks.scheme.parameters import Parameters

    rng = np.random.default_rng(0)  # public synthetic residues: only the argument types matter here
    for poly_degree, bits, scale in sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = Parameters(poly_degree, bits, scale, security=None)
        switcher = KeySwitcher(params)
        rows = params.max_level + 1
        # in the order a computation first needs them: the division of a rescale (ModDown's kernel), then ModUp,
        # the inner product with the key and the permuted addition of a rotation
        wide = rng.integers(0, 1 << 20, (2, rows + params.special_count, poly_degree), dtype=np.uint64)
        plain = switcher.mod_down(wide)  # every residue below every modulus
        extended = switcher.decompose(np.ascontiguousarray(plain[1]))
        key = rng.integers(0, 1 << 20, (extended.shape[0], 2, rows + params.special_count, poly_degree),
                           dtype=np.uint64)
        switcher.inner_product(extended, key)
        perm = ntt_permutation(5, poly_degree)
        rotated = switcher.mod_down(switcher.inner_product(extended, key, perm))
        permuted_add(np.ascontiguousarray(plain[0]), perm, rotated[0], params.at_level(rows - 1).moduli, rotated[0])
    if LARGE in sizes:
        _compile_skipped(parallel=True)


def _small_job() -> None:
    """Both families on a small ring, where the kernels run their serial twins."""
    _ring_job(SMALL)
    _keyswitch_job((SMALL,))
    _compile_skipped(parallel=False)


def _compile_skipped(parallel: bool) -> None:
    """Compile the variant of every wrapped kernel that this process's calls did not reach.

    Which variant a call runs depends on the measured threshold of its kernel (`ckks.ring.thresholds`):
    on the large ring a kernel whose threshold lies above it ran its serial twin, on the small ring one
    whose threshold lies below it ran in parallel.  With ``parallel``, the parallel kernel is compiled for
    every signature its serial twin ran with here; otherwise the serial twin for every signature of the
    parallel kernel.  So the warm-up covers both variants whatever the table says.
    """
    from ckks.crossover import kernels

    for wrapper in kernels().values():
        target, source = (wrapper.kernel, wrapper.serial) if parallel else (wrapper.serial, wrapper.kernel)
        for signature in list(source.signatures):
            if signature not in target.signatures:
                target.compile(signature)


#: The jobs by name (module docstring).
JOBS: dict[str, Callable[[], None]] = {"keyswitch": _keyswitch_job, "ring": _ring_job, "small": _small_job}


def _timed(name: str) -> tuple[str, float]:
    start = time.perf_counter()
    JOBS[name]()
    return name, time.perf_counter() - start


def _check_jobs(jobs: Iterable[str] | None) -> list[str]:
    names = list(JOBS) if jobs is None else list(jobs)
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        from ckks.errors import InputError

        raise InputError(f"unknown warm-up job(s) {unknown}; the jobs are {sorted(JOBS)}")
    return names


@contextlib.contextmanager
def _quiet_workers():
    """Processes spawned inside inherit `ckks.ring.jit.QUIET`: they compile on purpose, without the cold-cache note."""
    from ckks.ring.jit import QUIET

    before = os.environ.get(QUIET)
    os.environ[QUIET] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[QUIET]
        else:
            os.environ[QUIET] = before


def run(jobs: Iterable[str] | None = None, processes: int | None = None,
        report: Callable[[str, float], None] | None = None) -> dict[str, float]:
    """Run warm-up jobs, each in its own process (at most ``processes`` at a time), and wait for them.

    Args:
        jobs: job names (`JOBS`; default all).
        processes: worker processes (default: one per job, at most the CPU count).
        report: called with (job, seconds) as each job finishes.

    Returns:
        {job: seconds it took in its process}.

    Raises:
        InputError: an unknown job name.
    """
    names = _check_jobs(jobs)
    workers = max(1, min(len(names), processes or os.cpu_count() or 1))
    seconds: dict[str, float] = {}
    with _quiet_workers():
        pool = multiprocessing.get_context("spawn").Pool(workers)
    with pool:
        for name, took in pool.imap_unordered(_timed, names):
            seconds[name] = took
            if report is not None:
                report(name, took)
    return seconds


def start(jobs: Iterable[str]) -> list:
    """Start warm-up jobs in background processes and return at once (join them with `finish`).

    A program that finds the cache cold (`ckks.ring.jit.kernels_cached`) starts the jobs it will need
    later, compiles what it needs first itself, and later loads what the background compiled.

    Args:
        jobs: job names (`JOBS`).

    Returns:
        The started processes.

    Raises:
        InputError: an unknown job name.
    """
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=JOBS[name], name=f"ckks-warmup-{name}", daemon=False)
                 for name in _check_jobs(jobs)]
    with _quiet_workers():
        for process in processes:
            process.start()
    return processes


def finish(processes: list, timeout: float | None = None) -> None:
    """Wait for background jobs from `start` (at most ``timeout`` seconds each)."""
    for process in processes:
        process.join(timeout)


def main(argv: list[str] | None = None) -> int:
    """``python -m ckks.warmup [--jobs ring keyswitch] [--processes K]``: compile, print seconds per job."""
    parser = argparse.ArgumentParser(prog="python -m ckks.warmup", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", choices=sorted(JOBS), default=None, help="default: all")
    parser.add_argument("--processes", type=int, default=None, help="default: one per job, at most the CPUs")
    args = parser.parse_args(argv)
    start_time = time.perf_counter()
    seconds = run(args.jobs, args.processes, lambda name, took: print(f"  {name:<10} {took:6.1f} s", flush=True))
    print(f"ckks.warmup: {len(seconds)} job(s) in {time.perf_counter() - start_time:.1f} s "
          "(numba cache warm for the kernels they use)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
