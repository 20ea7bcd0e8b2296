"""Helpers of the documentation tests: run a Python command in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def child_env() -> dict[str, str]:
    """The environment of a child process: non-interactive plots, one numba thread.

    One thread because these children are short and many: numba's parallel regions cost more
    than they save there, and far more when the machine is busy.
    """
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env.setdefault("NUMBA_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def run_python(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def python():
    return run_python
