"""Numba's compile cache: a one-line note on stderr when the kernels are about to compile the first time.

The kernels are ``numba.njit(cache=True)``: the first run on a machine compiles them (10-25 s,
during which a demo or a tutorial would otherwise print nothing) and stores them next to their
modules in ``__pycache__`` (``<module>.<function>-<line>.py3XX.nbi`` index files), or under
``NUMBA_CACHE_DIR`` when that is set.  `note_cold_cache` looks for a current index of
`ckks.ring.ntt` (cheap: one directory listing) and prints the note when there is none.
`ckks.ring` calls it once, at import, before any kernel can compile.

**Cold start: serial twins first, parallel kernels bought when they pay** (`ParallelRental`).  A
parallel kernel costs 1-8 s to compile, its serial twin (`ckks.ring.modarith.serial_when_small`)
a fraction of that (no parfor lowering, no gufunc libraries): a cold ``python -m nn.encrypted.demo``
took 41 s on 2 threads and 28 s on one thread (2 cores shared with another job; 24 s of CPU against
43 s).  So a kernel whose parallel code is not in the cache runs its serial twin, and compiles the
parallel code only after that twin has run `RENT_SECONDS` seconds in the process: the ski-rental
rule (rent until the rent paid equals the price of buying), which never costs more than about twice
the better of "always serial" and "compile at once" in hindsight.  A short program (a demo, a test, a
tutorial cell) never pays the parallel compilation; a long one (training, bootstrapping) switches after
a few seconds; a later process finds the compiled code in the cache and runs it at once.
``CKKS_COLD_START=parallel`` compiles the parallel code at the first call, as before.

Where a cold demo spends its compilation on 2 threads (numba's ``numba:compile`` events, one
signature each, before the rental): ``divide_round`` 7-8 s (with the first compile of both NTTs),
``mod_up`` 4 s, ``key_inner_product`` 2.7 s, ``ntt_forward_rows`` 2.5 s (with ``forward_one``,
1.4 s), ``tensor_square_free`` 2.4 s, ``crt_centred_float`` 2 s, ``poly_mul`` and ``poly_mul_add``
1.5 s each, ``poly_mul_scalar`` and ``ntt_inverse_rows`` 1 s each, ``nn``'s ``weighted_sums`` 1 s,
the serial additions 0.2 s each.  Nothing compiles at import.  A ``prange`` costs about 0.45 s of
compilation by itself, and numba optimizes its body in its own library, in two thin wrapper
libraries and again in the kernel (skipping the wrappers' passes saved about 8% of the key-switching
kernels' compile time, but needs a process-wide patch of numba's private
``CPUCodeLibrary._optimize_final_module``: not kept).  Also tried and not kept: each ``prange`` body
as a separately compiled serial function (``divide_round``: 7.2 s instead of 5.5 s); plain ``njit``
helpers instead of ``inline="always"`` (25% less compilation, but the loops no longer vectorize:
3 times slower); compiling the late kernels in a background process (both processes compiled the
same kernels).  `ckks.warmup` compiles everything beforehand.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

#: The note printed on a cold cache.
NOTE = ("ckks: compiling kernels the first time, 10-25 s (numba caches them in __pycache__; "
        "python -m ckks.warmup compiles them all at once)")

#: Environment variable: "rent" (default: `ParallelRental`) or "parallel" (compile a parallel kernel at its
#: first call, whatever the cache holds).
COLD_START = "CKKS_COLD_START"

#: Seconds a kernel's serial twin runs in a process before its uncached parallel variant is compiled (the
#: price of compiling one: 1-8 s on 2 cores).
RENT_SECONDS = 4.0

#: Set in the environment of `ckks.warmup`'s worker processes: they compile on purpose, say nothing.
QUIET = "CKKS_WARMUP_WORKER"

_noted = False


def kernels_cached(module_file: str | os.PathLike | None = None) -> bool:
    """Whether numba has a cache index for a kernel module that is not older than its source.

    Args:
        module_file: the module whose kernels to look for (default: `ckks.ring.ntt`'s file).

    Returns:
        True when an index file ``<stem>.*.nbi`` at least as new as the module exists in its
        ``__pycache__`` (or anywhere under ``NUMBA_CACHE_DIR``).
    """
    source = Path(module_file) if module_file is not None else Path(__file__).with_name("ntt.py")
    try:
        modified = source.stat().st_mtime
    except OSError:
        return True  # no source to compile from: nothing to announce
    places = [(source.parent / "__pycache__", f"{source.stem}.*.nbi")]
    if os.environ.get("NUMBA_CACHE_DIR"):
        places.append((Path(os.environ["NUMBA_CACHE_DIR"]), f"**/{source.stem}.*.nbi"))
    for folder, pattern in places:
        if not folder.is_dir():
            continue
        if any(_index_is_current(index, modified) for index in folder.glob(pattern)):
            return True
    return False


def _index_is_current(index: str | os.PathLike, source_mtime: float) -> bool:
    """Whether numba's cache index file exists and is not older than the source it was compiled from."""
    try:
        return os.stat(index).st_mtime >= source_mtime
    except OSError:
        return False


def note_cold_cache(stream: TextIO | None = None, module_file: str | os.PathLike | None = None) -> bool:
    """Print `NOTE` (once per process) when the kernels are not compiled yet.

    Nothing is printed when ``NUMBA_DISABLE_JIT`` is set (nothing compiles), in the worker processes of
    `ckks.warmup` (environment variable `QUIET`), or after the first call.

    Args:
        stream: where to print (default: ``sys.stderr``).
        module_file: the kernel module to check (default: `ckks.ring.ntt`).

    Returns:
        True when the note was printed.
    """
    global _noted
    if _noted:
        return False
    _noted = True
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or os.environ.get(QUIET):
        return False
    if kernels_cached(module_file):
        return False
    print(NOTE, file=stream if stream is not None else sys.stderr, flush=True)
    return True


def compiled_or_cached(dispatcher) -> bool:
    """Whether calling a numba kernel costs no compilation: it is compiled in this process or numba's
    cache holds an index for it that is not older than its source.

    Args:
        dispatcher: a ``numba.njit(cache=True)`` kernel.

    Returns:
        True when compiled or cached (also when this numba keeps its cache elsewhere than where this
        looks: then nothing is assumed to be missing).
    """
    if getattr(dispatcher, "signatures", None):
        return True
    index = getattr(getattr(getattr(dispatcher, "_cache", None), "_cache_file", None), "_index_path", None)
    source = getattr(getattr(dispatcher, "py_func", None), "__code__", None)
    if index is None or source is None:
        return True
    try:
        modified = os.stat(source.co_filename).st_mtime
    except OSError:
        return False
    return _index_is_current(index, modified)


class ParallelRental:
    """When a parallel kernel's serial twin should still run in its place (the cold start, module docstring).

    Renting while the parallel variant is neither compiled nor cached and ``CKKS_COLD_START`` is not
    "parallel"; each rented call's time is added up, and after `RENT_SECONDS` of them the parallel
    variant is used (and compiled by that call).  Decided at the first call that could run in parallel.

    Args:
        kernel: the parallel numba kernel.
    """

    def __init__(self, kernel):
        self.kernel = kernel
        self.renting: bool | None = None
        self.spent = 0.0

    def rent(self) -> bool:
        """True while the serial twin should run instead of ``kernel``."""
        if self.renting is None:
            eager = os.environ.get(COLD_START, "rent").lower() == "parallel"
            self.renting = not eager and not compiled_or_cached(self.kernel)
        return self.renting

    def run(self, serial, args):
        """``serial(*args)``, timed against the rent (not a call that compiles the serial twin itself)."""
        compiled = bool(getattr(serial, "signatures", True))
        start = time.perf_counter()
        out = serial(*args)
        if compiled:
            self.spent += time.perf_counter() - start
            if self.spent >= RENT_SECONDS:
                self.renting = False
        return out
