"""The threading layer under numba's parallel kernels: Intel TBB where it is installed, else numba's workqueue.

Every ``parallel=True`` kernel of this layer starts its loop on numba's threading layer, once per call.
What a start costs decides whether two threads pay at small rings.  Measured on a 2-core AMD EPYC with
two threads, an empty ``prange`` over 2 items, three runs of 2000 calls each, while other jobs ran
(load average 1.5):

=============  ===============  ======================================================
layer          start (us)       behaviour after ``fork``
=============  ===============  ======================================================
``tbb``        5-18             the child runs parallel kernels (fork-safe, thread-safe)
``workqueue``  136-210          the child runs them; not safe from several Python threads
``omp`` (GNU)  6                the child dies ("fork() called from a process already
                                using GNU OpenMP"): never chosen here
=============  ===============  ======================================================

A multiply + relinearize + rescale at N = 2^13 starts about eight parallel loops: on workqueue, two
threads were slower than one (3.9 ms against 3.2 ms); on TBB they are faster.  So ``ckks`` asks numba for
its "forksafe" choice (TBB, else workqueue) and makes TBB loadable: the ``tbb`` wheel (a dependency on
Linux x86-64) puts ``libtbb.so.12`` in the environment's ``lib/`` folder, which the dynamic loader does
not search, so `load_tbb` opens it once with ``RTLD_GLOBAL`` before numba looks for it.  An explicit
``NUMBA_THREADING_LAYER`` (environment) wins over all of this.

May import: the standard library, numpy and numba.
"""

from __future__ import annotations

import ctypes
import os
import sys
from importlib import metadata
from pathlib import Path

import numba

__all__ = ["TBB_LIBRARY", "load_tbb", "choose_threading_layer", "threading_layer"]

#: The shared library numba's TBB layer links against (``tbbpool``: ``NEEDED libtbb.so.12``).
TBB_LIBRARY = "libtbb.so.12"

_loaded: list[str] = []


def tbb_candidates():
    """Where the ``tbb`` wheel may have put `TBB_LIBRARY`, cheapest first: ``sys.prefix/lib`` (a venv's install),
    then the wheel's own file list (a user or system install; reading it costs about 35 ms, so only then).

    Yields:
        Paths of existing files, each once.
    """
    seen: set[Path] = set()
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        path = Path(prefix) / "lib" / TBB_LIBRARY
        if path.is_file() and path not in seen:
            seen.add(path)
            yield path
    try:
        files = metadata.files("tbb") or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == TBB_LIBRARY:
            path = Path(file.locate()).resolve()
            if path.is_file() and path not in seen:
                seen.add(path)
                yield path


def load_tbb() -> str | None:
    """Open `TBB_LIBRARY` with ``RTLD_GLOBAL`` so that numba's TBB layer can load; its path, or None.

    Idempotent.  Nothing happens off Linux (the wheels of other systems put the library where the
    loader finds it, or there is none).

    Returns:
        The path of the opened library, or None when none was found or it could not be opened.
    """
    if _loaded:
        return _loaded[0]
    if not sys.platform.startswith("linux"):
        return None
    for path in tbb_candidates():
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        _loaded.append(str(path))
        return str(path)
    return None


def choose_threading_layer() -> None:
    """Ask numba for TBB, else workqueue ("forksafe"), unless ``NUMBA_THREADING_LAYER`` is set.

    Called once when `ckks.ring` is imported, before any parallel kernel runs (numba picks its layer at
    the first parallel launch and keeps it for the process).
    """
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    load_tbb()
    numba.config.THREADING_LAYER = "forksafe"


def threading_layer() -> str:
    """The layer numba's parallel kernels run on in this process: "tbb", "workqueue" or "omp".

    Starts the layer if no parallel kernel has run yet (a trivial parallel loop), so the answer is the
    one every kernel will use.
    """
    try:
        return numba.threading_layer()
    except ValueError:  # not started yet
        _start_layer()
        return numba.threading_layer()


@numba.njit(parallel=True, cache=True)
def _touch(values):  # pragma: no cover - compiled
    for i in numba.prange(values.shape[0]):
        values[i] += 1.0


def _start_layer() -> None:
    import numpy as np

    _touch(np.zeros(2))
