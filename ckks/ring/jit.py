"""Numba's compile cache: a one-line note on stderr when the kernels are about to compile the first time.

The kernels are ``numba.njit(cache=True)``: the first run on a machine compiles them (13-30 s,
during which a demo or a tutorial would otherwise print nothing) and stores them next to their
modules in ``__pycache__`` (``<module>.<function>-<line>.py3XX.nbi`` index files), or under
``NUMBA_CACHE_DIR`` when that is set.  `note_cold_cache` looks for a current index of
`ckks.ring.ntt` (cheap: one directory listing) and prints the note when there is none.
`ckks.ring` calls it once, at import, before any kernel can compile.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

#: The note printed on a cold cache.
NOTE = "ckks: compiling kernels, about 15 s the first time (numba caches them in __pycache__)"

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
        for index in folder.glob(pattern):
            try:
                if index.stat().st_mtime >= modified:
                    return True
            except OSError:
                continue
    return False


def note_cold_cache(stream: TextIO | None = None, module_file: str | os.PathLike | None = None) -> bool:
    """Print `NOTE` (once per process) when the kernels are not compiled yet.

    Nothing is printed when ``NUMBA_DISABLE_JIT`` is set (nothing compiles) or after the first call.

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
    if os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or kernels_cached(module_file):
        return False
    print(NOTE, file=stream if stream is not None else sys.stderr, flush=True)
    return True
