"""The threading layer (`ckks.ring.threads`): TBB where the wheel is installed, workqueue otherwise, never GNU
OpenMP; and a child forked after a parallel kernel still runs parallel kernels. Each check runs in a fresh
interpreter, since numba picks its layer once per process."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata

import pytest

from ckks.ring import threads


def run_python(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    environment.update(env, NUMBA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def tbb_installed() -> bool:
    try:
        metadata.version("tbb")
    except metadata.PackageNotFoundError:
        return False
    return sys.platform.startswith("linux")


def test_the_layer_is_tbb_where_the_wheel_is_installed_and_never_gnu_openmp():
    layer = run_python("import ckks.ring.threads as t, ckks.ring; print(t.threading_layer())")
    assert layer == ("tbb" if tbb_installed() else "workqueue")


def test_load_tbb_finds_the_wheel_s_library_or_says_none():
    path = threads.load_tbb()
    if tbb_installed():
        assert path is not None and path.endswith(threads.TBB_LIBRARY) and os.path.isfile(path)
        assert threads.load_tbb() == path  # idempotent
    else:
        assert path is None


def test_an_explicit_numba_threading_layer_wins():
    layer = run_python("import ckks.ring.threads as t, ckks.ring; print(t.threading_layer())",
                       NUMBA_THREADING_LAYER="workqueue")
    assert layer == "workqueue"


FORK = """
import multiprocessing, numpy as np
from ckks.ring import modarith
q = np.array([97, 101], dtype=np.uint64)
big = np.ones((2, 1 << 18), dtype=np.uint64)  # above every threshold: the parallel kernel on two threads
modarith.poly_add(big, big, q, np.empty_like(big))

def child(_):
    out = modarith.poly_add(big, big, q, np.empty_like(big))
    return int(out[1, 5])

with multiprocessing.get_context("fork").Pool(2) as pool:
    print(pool.map_async(child, range(2)).get(timeout=120))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is the Linux start method")
def test_a_child_forked_after_a_parallel_kernel_runs_parallel_kernels():
    assert run_python(FORK) == "[2, 2]"
