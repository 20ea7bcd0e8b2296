"""TenSEAL (Microsoft SEAL) twins of this library's contexts, and where to find OpenFHE, for cross-checking.

This library chooses its primes exactly as SEAL's ``CoeffModulus::Create``,
so a TenSEAL context made from the same ``poly_degree`` and ``moduli_bits``
works over the very same modulus Q*P, and any computation can be run in both
and compared.  TenSEAL is a test dependency (the ``dev`` extra), imported only
when a twin is asked for.

OpenFHE's Python package is the second reference (bootstrapping, speed).
Its PyPI wheel holds a CPython 3.10 extension only, so it usually runs in a
separate interpreter: `openfhe_python` finds one.  ``.ci/run`` builds
``.venv-openfhe`` (Python 3.10 with ``openfhe``) next to the project's venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ckks.errors import InputTypeError, ParameterError
from ckks.scheme.parameters import Parameters


def tenseal_context(params: Parameters, galois: bool = False, scale: float | None = None) -> Any:
    """A TenSEAL CKKS context with the same ring, primes and scale as ``params``.

    Args:
        params: this library's parameters (``ctx.params``).
        galois: also generate TenSEAL's default Galois keys.
        scale: TenSEAL's global scale (default: ``params.scale``).

    Returns:
        The ``tenseal.Context`` (CKKS) over the same Q*P.

    Raises:
        InputTypeError: ``params`` is not a Parameters.
        ParameterError: ``params`` has more than one special prime (``key_switching="fast"``): SEAL has one, so
            TenSEAL would read the other special primes as data primes.
    """
    if not isinstance(params, Parameters):
        raise InputTypeError(f"params must be ckks.Parameters (ctx.params), got {type(params).__name__}")
    if params.special_count != 1:
        raise ParameterError(
            f"these parameters have {params.special_count} special primes (key_switching='fast'), SEAL and so "
            "TenSEAL only one: make the context with key_switching='seal' (the default) to compare with TenSEAL"
        )
    import tenseal as ts

    twin = ts.context(
        ts.SCHEME_TYPE.CKKS, poly_modulus_degree=params.poly_degree, coeff_mod_bit_sizes=list(params.moduli_bits)
    )
    twin.global_scale = params.scale if scale is None else scale
    if galois:
        twin.generate_galois_keys()
    return twin


#: Environment variable naming a Python interpreter that can ``import openfhe``.
OPENFHE_PYTHON_VARIABLE = "CKKS_OPENFHE_PYTHON"
#: Set to 1 (as ``.ci/run`` does) to make the OpenFHE cross-checks fail instead of skipping without OpenFHE.
REQUIRE_OPENFHE_VARIABLE = "CKKS_REQUIRE_OPENFHE"


def openfhe_python() -> str | None:
    """A Python interpreter that can ``import openfhe``, or None.

    Looked for, in order: the interpreter named by ``CKKS_OPENFHE_PYTHON``;
    this interpreter, if ``import openfhe`` works here; ``.venv-openfhe`` at
    the root of this checkout (what ``.ci/run`` creates with Python 3.10).

    Returns:
        The path of the interpreter, or None when none can import openfhe.
    """
    named = os.environ.get(OPENFHE_PYTHON_VARIABLE)
    if named:
        return named if _imports_openfhe(named) else None
    if _imports_openfhe(sys.executable):
        return sys.executable
    local = Path(__file__).resolve().parents[1] / ".venv-openfhe" / "bin" / "python"
    return str(local) if local.exists() and _imports_openfhe(str(local)) else None


def _imports_openfhe(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import openfhe"], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
