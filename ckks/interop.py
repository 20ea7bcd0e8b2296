"""TenSEAL (Microsoft SEAL) twins of this library's contexts, for cross-checking.

This library chooses its primes exactly as SEAL's ``CoeffModulus::Create``,
so a TenSEAL context made from the same ``poly_degree`` and ``moduli_bits``
works over the very same modulus Q*P, and any computation can be run in both
and compared.  TenSEAL is a test dependency (the ``dev`` extra), imported only
when a twin is asked for.
"""

from __future__ import annotations

from typing import Any

from ckks.errors import InputTypeError
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
    """
    if not isinstance(params, Parameters):
        raise InputTypeError(f"params must be ckks.Parameters (ctx.params), got {type(params).__name__}")
    import tenseal as ts

    twin = ts.context(
        ts.SCHEME_TYPE.CKKS, poly_modulus_degree=params.poly_degree, coeff_mod_bit_sizes=list(params.moduli_bits)
    )
    twin.global_scale = params.scale if scale is None else scale
    if galois:
        twin.generate_galois_keys()
    return twin
