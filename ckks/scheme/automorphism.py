"""Galois automorphisms of R = Z[X]/(X^N + 1): the group math behind rotations and conjugation.

For an odd g, the map sigma_g: a(X) -> a(X^g) is an automorphism of
R = Z[X]/(X^N + 1) (the Galois group of the 2N-th cyclotomic field is
(Z/2NZ)^*).  In coefficient form it moves a_i to X^(i g mod 2N), with a sign
flip when i g mod 2N >= N (because X^N = -1).  In NTT form it is a plain
permutation of the N evaluations, the same for every prime:

    NTT(sigma_g a)[k] = a(psi^((2 brv(k) + 1) g)) = NTT(a)[perm_g[k]],
    perm_g[k] = brv(((2 brv(k) + 1) g mod 2N - 1) / 2),

so rotating a ciphertext never leaves NTT form ([`ntt_permutation`][ckks.scheme.automorphism.ntt_permutation];
the coefficient-form definition is `ckks.ring.reference.automorphism`).

Slot j of a plaintext holds m(zeta^(5^j)) (`ckks.scheme.encoder`), hence
sigma_g with g = 5^k mod 2N puts m(zeta^(5^(j+k))) in slot j: the slots
rotate LEFT by k (SEAL's ``rotate_vector`` convention: slot i of the result
holds slot i + k of the input; negative k rotates right).  g = 2N - 1 maps
zeta^(5^j) to its complex conjugate: every slot is conjugated.

Everything here depends on N alone (no primes, no keys), so the tables are
cached per N.  The keys that undo the automorphism on the secret are
[`GaloisKeys`][ckks.scheme.keys.GaloisKeys]; the rotator that applies them is
`ckks.scheme.rotation`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit, prange

from ckks.errors import InputError, InputTypeError
from ckks.ring.modarith import BLOCK, CHEAP_THRESHOLD, serial_when_small
from ckks.ring.ntt import bit_reverse_permutation
from ckks.validation import check_int, is_integer, preview

__all__ = [
    "apply_automorphism",
    "check_steps",
    "conjugation_element",
    "default_steps",
    "galois_element",
    "ntt_permutation",
    "permuted_add",
    "step_table",
]


def _check_degree(poly_degree: object) -> int:
    n = check_int("poly_degree", poly_degree, 2)
    if n & (n - 1):
        raise InputError(f"poly_degree must be a power of two, got {n}")
    return n


def galois_element(step: int, poly_degree: int) -> int:
    """The Galois element g = 5^step mod 2N that rotates the slots left by ``step``.

    Steps are taken modulo N/2 (the slot count), so any sign works: -1 rotates
    right by one.

    Args:
        step: the rotation step (any integer).
        poly_degree: N, a power of two.

    Returns:
        g = 5^(step mod N/2) mod 2N, an odd element of (Z/2NZ)^*.

    Raises:
        InputTypeError: ``step`` or ``poly_degree`` is not an integer.
        InputError: ``poly_degree`` is not a power of two >= 2.
    """
    step = check_int("step", step)
    n = _check_degree(poly_degree)
    slots = max(n // 2, 1)
    return pow(5, step % slots, 2 * n)


def conjugation_element(poly_degree: int) -> int:
    """The Galois element g = 2N - 1 (X -> X^-1), which complex-conjugates every slot.

    Args:
        poly_degree: N, a power of two.

    Returns:
        2N - 1.

    Raises:
        InputTypeError: ``poly_degree`` is not an integer.
        InputError: ``poly_degree`` is not a power of two >= 2.
    """
    return 2 * _check_degree(poly_degree) - 1


def ntt_permutation(element: int, poly_degree: int) -> np.ndarray:
    """The permutation perm with NTT(sigma_g a) = NTT(a)[perm], for the NTT order of `ckks.ring.ntt`.

    The same table serves every prime; it is computed once per (g, N) and
    returned read-only.

    Args:
        element: the Galois element g, odd and in (0, 2N).
        poly_degree: N, a power of two.

    Returns:
        An int64 array of length N (read-only).

    Raises:
        InputTypeError: ``element`` or ``poly_degree`` is not an integer.
        InputError: ``element`` is even or outside (0, 2N), or N is not a power of two.
    """
    n = _check_degree(poly_degree)
    g = check_int("element", element)
    if g % 2 == 0 or not 0 < g < 2 * n:
        raise InputError(f"a Galois element must be odd and in (0, 2N), got {g}")
    return _permutation(g, n)


@cache
def _permutation(element: int, n: int) -> np.ndarray:
    brv = bit_reverse_permutation(n)
    exponents = ((2 * brv + 1) * element) % (2 * n)
    perm = brv[(exponents - 1) // 2]
    perm.setflags(write=False)
    return perm


def apply_automorphism(data: np.ndarray, element: int) -> np.ndarray:
    """sigma_g of polynomials in NTT form: a permutation of the last axis (into a new array).

    The form (NTT) and every modulus are unchanged; only the evaluation
    points move.

    Args:
        data: uint64 array in NTT form, any leading shape (limbs, or
            polynomials x limbs), last axis N.
        element: the Galois element g, odd and in (0, 2N).

    Returns:
        A new array of the same shape holding NTT(sigma_g a).

    Raises:
        InputTypeError: ``data`` is not a numpy array, or ``element`` is not an integer.
        InputError: ``data`` has no axis, its last axis is not a power of two, or ``element`` is invalid.
    """
    if not isinstance(data, np.ndarray):
        raise InputTypeError(f"data must be a numpy array of NTT-form polynomials, got {type(data).__name__}")
    if data.ndim == 0:
        raise InputError("data must have at least one axis (the N evaluations)")
    return np.take(data, ntt_permutation(element, data.shape[-1]), axis=-1)


def default_steps(poly_degree: int) -> list[int]:
    """Rotation steps of the default Galois keys: +-2^i for 2^i < N/2, deduplicated modulo N/2.

    With these keys every rotation is a composition of at most about log2(N)/2
    key switches (the non-adjacent form of the step).

    Args:
        poly_degree: N, a power of two.

    Returns:
        The steps 1, -1, 2, -2, ... (without repeats modulo N/2).

    Raises:
        InputTypeError: ``poly_degree`` is not an integer.
        InputError: ``poly_degree`` is not a power of two >= 2.
    """
    slots = _check_degree(poly_degree) // 2
    steps: list[int] = []
    seen: set[int] = set()
    power = 1
    while power < slots:
        for step in (power, -power):
            if step % slots not in seen:
                seen.add(step % slots)
                steps.append(step)
        power *= 2
    return steps


def step_table(poly_degree: int) -> dict[int, int]:
    """The inverse of [`galois_element`][ckks.scheme.automorphism.galois_element]: 5^k mod 2N -> k.

    Args:
        poly_degree: N, a power of two.

    Returns:
        A dict from each Galois element 5^k mod 2N to its step k in 0 .. N/2 - 1
        (shared per N: do not modify it).

    Raises:
        InputTypeError: ``poly_degree`` is not an integer.
        InputError: ``poly_degree`` is not a power of two >= 2.
    """
    return _step_table(_check_degree(poly_degree))


@cache
def _step_table(poly_degree: int) -> dict[int, int]:
    two_n = 2 * poly_degree
    table = {}
    x = 1
    for k in range(poly_degree // 2):
        table[x] = k
        x = x * 5 % two_n
    return table


def check_steps(steps: object) -> list[int]:
    """Rotation steps as a list of Python ints (one int counts as a list of one).

    Args:
        steps: an integer or an iterable of integers (numpy integers included, bool refused).

    Returns:
        The steps, in the given order.

    Raises:
        InputTypeError: ``steps`` is not iterable, or one of them is not an integer.
    """
    if is_integer(steps):
        steps = [steps]
    if isinstance(steps, (str, bytes)):
        raise InputTypeError(f"steps must be a list of integers, got {preview(steps)}")
    try:
        values = list(steps)
    except TypeError as exc:
        raise InputTypeError(f"steps must be a list of integers, got {preview(steps)}") from exc
    for k in values:
        if not is_integer(k):
            raise InputTypeError(f"rotation steps must be integers, got {preview(k)}")
    return [int(k) for k in values]


@serial_when_small(default=CHEAP_THRESHOLD)
@njit(parallel=True, cache=True)
def permuted_add(a, perm, b, moduli, out):
    """out[i, j] = a[i, perm[j]] + b[i, j] mod q_i: sigma_g(a) + b in NTT form, in one pass.

    The automorphism is applied as an index map inside the kernel (gathered
    loads from contiguous rows), so no permuted copy or strided view of ``a``
    is made; the rotator uses it to add sigma_g(c_0) to the key-switched c_0.

    Args:
        a: uint64 array (limbs, N), NTT form, residues in [0, q_i), C-contiguous.
        perm: int64 array (N,), the index map ([`ntt_permutation`][ckks.scheme.automorphism.ntt_permutation]).
        b: uint64 array (limbs, N), residues in [0, q_i).
        moduli: uint64 array, the prime of each limb.
        out: the result array (may be ``b``, not ``a``).

    Returns:
        ``out``.
    """
    n = a.shape[1]
    for i in prange(a.shape[0]):
        q = moduli[i]
        row = a[i]
        block = np.empty(BLOCK, dtype=np.uint64)  # out may alias b: compute in a private buffer, then copy
        for start in range(0, n, BLOCK):
            width = min(BLOCK, n - start)
            pr = perm[start:start + width]
            br = b[i, start:start + width]
            for j in range(width):
                s = row[pr[j]] + br[j]
                block[j] = s - q if s >= q else s
            orow = out[i, start:start + width]
            for j in range(width):
                orow[j] = block[j]
    return out
