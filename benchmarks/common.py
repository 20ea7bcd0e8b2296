"""Shared helpers of the benchmark scripts: interleaved timing and a markdown table.

Timings on shared machines are noisy, so every benchmark times our operation
and TenSEAL's alternately in one run, takes medians, and reports the ratio
(ours / TenSEAL); the absolute milliseconds are printed for context only.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def context_pair(poly_degree: int, moduli_bits: list[int], galois: bool = False):
    """This library's context and its TenSEAL twin (:mod:`ckks.interop`), scale 2^40."""
    import ckks  # here, not at the top: compare.py imports this module and must not load any library
    from ckks.interop import tenseal_context

    ours = ckks.Context(poly_degree, moduli_bits, 40)
    if galois:
        ours.generate_galois_keys(progress=False)
    return ours, tenseal_context(ours.params, galois=galois)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeat`` calls (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def interleaved_ms(ours: Callable[[], object], theirs: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Medians of ours and theirs, timed alternately so that both see the same machine load."""
    ours()
    theirs()
    a, b = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        ours()
        a.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        theirs()
        b.append((time.perf_counter() - start) * 1e3)
    return statistics.median(a), statistics.median(b)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
