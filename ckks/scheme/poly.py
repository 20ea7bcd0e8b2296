"""Helpers that move small integer polynomials into RNS/NTT form and back.

A polynomial of R_Q = Z_Q[X]/(X^N + 1) is a uint64 array of shape
(limbs, N): row i holds the residues mod the prime of table row ``rows[i]``.
Secrets and errors are sampled as small signed integers; :func:`to_ntt`
reduces them mod each prime and applies the forward NTT, :func:`from_ntt`
goes back to coefficient form.
"""

from __future__ import annotations

import numpy as np

from ckks.ring.modarith import reduce_signed
from ckks.scheme.parameters import Parameters


def to_ntt(values: np.ndarray, params: Parameters, rows: np.ndarray) -> np.ndarray:
    """Signed integer coefficients (N,) -> NTT form over the primes of ``rows``."""
    out = np.empty((len(rows), params.poly_degree), dtype=np.uint64)
    reduce_signed(np.asarray(values, dtype=np.int64), params.moduli_array[rows], out)
    return params.tables.forward(out, rows)


def from_ntt(data: np.ndarray, params: Parameters, rows: np.ndarray) -> np.ndarray:
    """NTT form -> coefficient form (a new array; residues in [0, q))."""
    return params.tables.inverse(data.copy(), rows)


def uniform_ntt(prng, params: Parameters, rows: np.ndarray) -> np.ndarray:
    """A uniformly random polynomial over the primes of ``rows``.

    Uniform residues are uniform in either form, so they are drawn directly
    as NTT values (as SEAL does).
    """
    moduli = params.all_moduli
    return np.stack([prng.uniform_mod(moduli[r], params.poly_degree) for r in rows])
