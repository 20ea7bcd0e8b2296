"""Cross-check against OpenFHE: our bootstrapping precision is at least OpenFHE's minus one bit.

OpenFHE runs its CKKS bootstrapping (`EvalBootstrap`) on the same ring degree,
slot count, level budget (3 CoeffsToSlots + 3 SlotsToCoeffs levels), levels
left after bootstrapping (3), sparse ternary secret and the same input values.
The PyPI wheel ``openfhe`` holds a CPython 3.10 extension only, so OpenFHE runs
in a subprocess (`openfhe_reference.py`) under the interpreter that
`ckks.interop.openfhe_python` finds (``.ci/run`` creates ``.venv-openfhe`` with
Python 3.10 and openfhe).  Without one the test is skipped with that reason,
except where ``CKKS_REQUIRE_OPENFHE=1`` (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import ckks
from ckks import interop
from ckks.circuits.bootstrapping import max_error_bits
from ckks.errors import InsecureWarning

SCRIPT = Path(__file__).with_name("openfhe_reference.py")


def openfhe_python() -> str:
    """The interpreter that can import openfhe; skip (locally) or fail (CI) when there is none."""
    python = interop.openfhe_python()
    if python is None:
        message = (
            "no Python that can import openfhe: the openfhe wheel needs CPython 3.10; run "
            "`python3.10 -m venv .venv-openfhe && .venv-openfhe/bin/pip install openfhe numpy` "
            f"or set {interop.OPENFHE_PYTHON_VARIABLE}"
        )
        if os.environ.get(interop.REQUIRE_OPENFHE_VARIABLE) == "1":
            raise AssertionError(message)
        pytest.skip(message)
    return python


def run_openfhe(request: dict, threads: int = 1) -> dict:
    """Run OpenFHE's bootstrapping on ``request`` (see openfhe_reference.py) and return its report."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(
        [openfhe_python(), str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True, env=env,
        timeout=600,
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
