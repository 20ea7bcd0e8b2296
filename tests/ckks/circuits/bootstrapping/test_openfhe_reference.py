"""Cross-check against OpenFHE: our bootstrapping precision is at least OpenFHE's minus one bit.

OpenFHE runs its CKKS bootstrapping (`EvalBootstrap`) on the same ring degree,
slot count, level budget (3 CoeffsToSlots + 3 SlotsToCoeffs levels), levels
left after bootstrapping (3), sparse ternary secret and the same input values.
The PyPI wheel ``openfhe`` 1.6.1.0.22.4 contains a CPython 3.10 extension only,
so OpenFHE runs in a subprocess (`openfhe_reference.py`) under the interpreter named by
``CKKS_OPENFHE_PYTHON`` (default ``/work/.venv-openfhe/bin/python``; create it with
``python3.10 -m venv /work/.venv-openfhe && /work/.venv-openfhe/bin/pip install openfhe``),
or in this process when ``import openfhe`` works here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

import ckks
from ckks.circuits.bootstrapping import max_error_bits
from ckks.errors import InsecureWarning

SCRIPT = Path(__file__).with_name("openfhe_reference.py")
DEFAULT_PYTHON = "/work/.venv-openfhe/bin/python"


def openfhe_python() -> str:
    """The interpreter that can import openfhe."""
    try:
        import openfhe  # noqa: F401

        return sys.executable
    except ImportError:
        return os.environ.get("CKKS_OPENFHE_PYTHON", DEFAULT_PYTHON)


def run_openfhe(request: dict, threads: int = 1) -> dict:
    """Run OpenFHE's bootstrapping on ``request`` (see openfhe_reference.py) and return its report."""
    python = openfhe_python()
    if not Path(python).exists():
        raise AssertionError(
            f"no Python with openfhe at {python}: the openfhe wheel needs CPython 3.10; create the venv "
            "(see this module's docstring) or set CKKS_OPENFHE_PYTHON"
        )
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(
        [python, str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True, env=env, timeout=600
    )
    if done.returncode:
        raise AssertionError(f"OpenFHE failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def test_precision_at_least_openfhe_minus_one_bit():
    n_ring = 1024
    slots = n_ring // 2
    values = np.random.default_rng(2024).uniform(-1, 1, slots)
    reference = run_openfhe(
        {"poly_degree": n_ring, "slots": slots, "levels_after": 3, "level_budget": [3, 3], "values": values.tolist()}
    )
    assert reference["ring_dim"] == n_ring
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ctx = ckks.Context.for_bootstrapping("teaching", poly_degree=n_ring)
    ctx.generate_bootstrapping_keys(progress=False)
    v = ctx.encrypt(values)
    low = ckks.CKKSVector(ctx, ctx.evaluator.mod_switch_to(v.ciphertext, 0), slots, zero_tail=True)
    ours = max_error_bits(values, low.bootstrap().decrypt())
    assert ours >= reference["precision_bits"] - 1.0, (ours, reference["precision_bits"])
