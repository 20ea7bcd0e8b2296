"""Encrypted matrix x encrypted matrix products and transposes on packed ciphertexts.

**Encrypted matrix products** (Jiang, Kim, Lauter and Song, "Secure
outsourced matrix computation and application to neural networks", CCS 2018).
A d x d matrix is packed row-major in n = d^2 slots (slot d i + j holds
A[i, j]) and repeated S / n times, so that rotations of the S slots act as
rotations modulo n.  With sigma(A)[i, j] = A[i, i + j],
tau(A)[i, j] = A[i + j, j], phi(A)[i, j] = A[i, j + 1] and
psi(A)[i, j] = A[i + 1, j] (indices mod d),

    A B = sum_(k < d) phi^k(sigma(A)) * psi^k(tau(B)).

sigma (2d - 1 diagonals) and tau (d diagonals, multiples of d) are
baby-step giant-step transforms; phi^k is two masked rotations (by k and
k - d) and psi^k one rotation by d k, all hoisted.  Depth 3: one level for
sigma/tau, one for the masks of phi^k, one for the products (the paper's
"1 Mult + 2 CMult").  The transpose A^T[i, j] = A[j, i] is a transform with
2d - 1 diagonals at multiples of d - 1; depth 1.

Caching.  `sigma_transform`, `tau_transform` and
`transpose_transform` build plain descriptions (no parameters in
them).  `matrix_product` and `matrix_transpose` keep the ones they
use per encoder, that is per context (a weak reference: the cache goes with
the context), each with its diagonals encoded at the last level and scale
used; nothing encoded for one parameter set is ever handed to another.
"""

from __future__ import annotations

import weakref

import numpy as np

from ckks.circuits.linear_transform import LinearTransform, check_matrix, require_levels
from ckks.errors import InputError
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.rotation import Rotator
from ckks.validation import is_integer


def check_dimension(d: int, slots: int) -> int:
    """``d`` as an int if a d x d matrix packs into the slots (d^2 divides S).

    Args:
        d: the matrix dimension.
        slots: S = N/2.

    Returns:
        ``int(d)``.

    Raises:
        InputError: ``d`` is not a positive integer, or d^2 does not divide S.
    """
    if not is_integer(d) or d < 1:
        raise InputError(f"the matrix dimension d must be a positive integer, got {d!r}")
    d = int(d)
    if slots % (d * d):
        raise InputError(
            f"a {d}x{d} matrix needs d^2 = {d * d} slots dividing the slot count {slots}; "
            "use a power-of-two d with d^2 <= N/2 (or a larger poly_degree)"
        )
    return d


def block_indices(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every slot of a d x d matrix packed row-major: slot l = d i + j.

    Args:
        d: the matrix dimension.

    Returns:
        ``(i, j)``: two int arrays of length d^2.
    """
    l = np.arange(d * d)
    return l // d, l % d


def phi_sigma_sources(d: int, k: int = 0) -> np.ndarray:
    """Source slots of phi^k(sigma(A)): output [i, j] reads A[i, (i + j + k) mod d].

    The left operand of term k of Jiang et al.'s product (k = 0: sigma(A)).  The offsets
    source - slot lie in (-d, d): a row-local permutation.

    Args:
        d: the matrix dimension.
        k: the term of the product, 0 <= k < d.

    Returns:
        For every output slot of a d^2-slot block, the input slot it reads.
    """
    i, j = block_indices(d)
    return d * i + (i + j + k) % d


def psi_tau_sources(d: int, k: int = 0) -> np.ndarray:
    """Source slots of psi^k(tau(B)), the right operand of term k (k = 0: tau(B)): [i, j] reads B[(i + j + k) mod d, j].

    Column-local: the offsets source - slot are multiples of d in d (-d, d).

    Args:
        d: B's dimension.
        k: which term, 0 <= k < d.

    Returns:
        The input slot read by each of the d^2 slots of a block.
    """
    i, j = block_indices(d)
    return d * ((i + j + k) % d) + j


def transpose_sources(d: int) -> np.ndarray:
    """Source slots of the transpose: output [i, j] reads A[j, i] (offsets (d - 1)(j - i)).

    Args:
        d: the matrix dimension.

    Returns:
        For every output slot of a d^2-slot block, the input slot it reads.
    """
    i, j = block_indices(d)
    return d * j + i


def sigma_transform(d: int, slots: int) -> LinearTransform:
    """sigma(A)[i, j] = A[i, i + j]: diagonals k = i (j < d - i) and k = i - d (j >= d - i).

    Args:
        d: the matrix dimension (d^2 divides ``slots``).
        slots: S = N/2.

    Returns:
        A new transform with 2d - 1 diagonals, period d^2 (not cached).
    """
    return _permutation_transform(phi_sigma_sources(d) - np.arange(d * d), d, slots)


def tau_transform(d: int, slots: int) -> LinearTransform:
    """tau(A)[i, j] = A[i + j, j]: diagonals k = d j (modulo d^2).

    Args:
        d: the matrix dimension (d^2 divides ``slots``).
        slots: S = N/2.

    Returns:
        A new transform with d diagonals, period d^2 (not cached).
    """
    n = d * d
    return _permutation_transform((psi_tau_sources(d) - np.arange(n)) % n, d, slots)  # d j, in [0, d^2)


def transpose_transform(d: int, slots: int) -> LinearTransform:
    """A^T[i, j] = A[j, i]: diagonals k = (d - 1)(j - i).

    Args:
        d: the matrix dimension (d^2 divides ``slots``).
        slots: S = N/2.

    Returns:
        A new transform with 2d - 1 diagonals, period d^2 (not cached).
    """
    return _permutation_transform(transpose_sources(d) - np.arange(d * d), d, slots)


def _permutation_transform(shift: np.ndarray, d: int, slots: int) -> LinearTransform:
    """The transform y[l] = x[l + shift[l]] (indices mod d^2)."""
    diagonals = {}
    for k in np.unique(shift):
        diagonals[int(k)] = (shift == k).astype(np.float64)
    return LinearTransform(diagonals, slots, period=d * d)


_BUILDERS = {"sigma": sigma_transform, "tau": tau_transform, "transpose": transpose_transform}
#: encoder (one per context) -> {(kind, d): transform with its encoded diagonals}; dies with the encoder
_PER_ENCODER: weakref.WeakKeyDictionary[Encoder, dict[tuple[str, int], LinearTransform]] = weakref.WeakKeyDictionary()


def _transform(kind: str, d: int, encoder: Encoder) -> LinearTransform:
    """The sigma, tau or transpose transform of this encoder's context, built once per context."""
    mine = _PER_ENCODER.setdefault(encoder, {})
    transform = mine.get((kind, d))
    if transform is None:
        transform = mine[(kind, d)] = _BUILDERS[kind](d, encoder.params.slots)
    return transform


def _phi_masks(d: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """phi^k(A)[i, j] = A[i, j + k]: rotation by k where j < d - k, by k - d elsewhere."""
    _, j = block_indices(d)
    first = (j < d - k).astype(np.float64)
    return first, 1.0 - first


def _psi_step(d: int, k: int) -> int:
    """psi^k is a rotation by d k modulo d^2 (represented in (-d^2/2, d^2/2])."""
    n = d * d
    step = d * k % n
    return step - n if step > n // 2 else step


def matrix_product_steps(d: int, slots: int) -> list[int]:
    """Rotation steps whose keys make every rotation of `matrix_product` direct.

    Args:
        d: the matrix dimension.
        slots: S = N/2.

    Returns:
        The sorted steps (those of sigma and tau, k and k - d, and the psi steps).

    Raises:
        InputError: ``d`` is not a positive integer whose square divides S.
    """
    d = check_dimension(d, slots)
    steps = set(sigma_transform(d, slots).rotation_steps) | set(tau_transform(d, slots).rotation_steps)
    for k in range(1, d):
        steps |= {k, k - d, _psi_step(d, k)}
    return sorted(steps)


def transpose_steps(d: int, slots: int) -> list[int]:
    """Rotation steps whose keys make every rotation of `matrix_transpose` direct.

    Args:
        d: the matrix dimension.
        slots: S = N/2.

    Returns:
        The sorted steps of the transpose transform.

    Raises:
        InputError: ``d`` is not a positive integer whose square divides S.
    """
    return transpose_transform(check_dimension(d, slots), slots).rotation_steps


def matrix_product(
    a: Ciphertext, b: Ciphertext, d: int, evaluator: Evaluator, encoder: Encoder, rotator: Rotator
) -> Ciphertext:
    """A B for d x d matrices packed row-major (and repeated) in ``a`` and ``b``.

    Level min(l_a, l_b) -> min(l_a, l_b) - 3; rotations: those of sigma and tau
    (baby-step giant-step) plus 2(d - 1) for phi^k and d - 1 for psi^k, all
    hoisted; multiplications: d ciphertext products, one relinearization.
    The scale after is that of a product of two rescaled ciphertexts.

    Args:
        a: A, packed row-major and repeated over the slots.
        b: B, packed the same way, same parameters and keys.
        d: the matrix dimension.
        evaluator: products, relinearization, rescales.
        encoder: encodes the diagonals and masks (cached per context).
        rotator: the rotations (Galois keys of
            [`matrix_product_steps`][ckks.circuits.matrix_product.matrix_product_steps], or composable ones).

    Returns:
        A B packed the same way, at level min(l_a, l_b) - 3.

    Raises:
        InputError: ``d`` is not a positive integer whose square divides S.
        LevelError: fewer than 3 levels are left.
        KeyMissingError: a rotation has no Galois key to make or compose it from.
        ContextMismatchError: ``a`` and ``b`` come from different parameters or keys.
    """
    params = evaluator.params
    d = check_dimension(d, params.slots)
    a, b = evaluator.align_levels(a, b)
    require_levels(a.level, 3, f"a {d}x{d} encrypted matrix product", params)
    a0 = _transform("sigma", d, encoder).apply(a, evaluator, encoder, rotator)
    b0 = _transform("tau", d, encoder).apply(b, evaluator, encoder, rotator)
    # phi^k(A0) = mask1_k * rot_k(A0) + mask2_k * rot_(k-d)(A0), one level (k = 0: mask of ones).
    shifted_a = rotator.rotate_many(a0, [s for k in range(1, d) for s in (k, k - d)])
    shifted_b = rotator.rotate_many(b0, [_psi_step(d, k) for k in range(1, d)])
    level, scale = a0.level, a0.scale
    repeat = params.slots // (d * d)
    tensor_sum = None
    for k in range(d):
        first, second = _phi_masks(d, k)
        source = a0 if k == 0 else shifted_a[k]
        term = evaluator.multiply_plain(source, encoder.encode(np.tile(first, repeat), scale, level))
        if k:
            mask = encoder.encode(np.tile(second, repeat), scale, level)
            other = evaluator.multiply_plain(shifted_a[k - d], mask)
            term = evaluator.add(term, other)
        a_k = evaluator.rescale(term)
        b_k = b0 if k == 0 else shifted_b[_psi_step(d, k)]
        product = evaluator.multiply(a_k, evaluator.mod_switch_to(b_k, a_k.level))
        tensor_sum = product if tensor_sum is None else evaluator.add(tensor_sum, product)
    return evaluator.relinearize_rescale(tensor_sum)


def matrix_transpose(a: Ciphertext, d: int, evaluator: Evaluator, encoder: Encoder, rotator: Rotator) -> Ciphertext:
    """A^T for a d x d matrix packed row-major (and repeated).  One level: l -> l - 1, scale s^2 / q_l.

    Args:
        a: A, packed row-major and repeated over the slots.
        d: the matrix dimension.
        evaluator: products and the rescale.
        encoder: encodes the diagonals (cached per context).
        rotator: the rotations (keys of [`transpose_steps`][ckks.circuits.matrix_product.transpose_steps]).

    Returns:
        A^T packed the same way.

    Raises:
        InputError: ``d`` is not a positive integer whose square divides S.
        LevelError: ``a`` is at level 0.
        KeyMissingError: a rotation has no Galois key to make or compose it from.
    """
    d = check_dimension(d, evaluator.params.slots)
    return _transform("transpose", d, encoder).apply(a, evaluator, encoder, rotator)


def pack_matrix(matrix, slots: int) -> np.ndarray:
    """The slot vector of a d x d matrix: row-major, repeated to fill the S slots.

    Args:
        matrix: a square d x d array of numbers.
        slots: S = N/2.

    Returns:
        The S slot values (A[i, j] in slot d i + j, modulo d^2).

    Raises:
        InputTypeError: ``matrix`` is not an array of numbers.
        InputError: ``matrix`` is not square, not finite, or d^2 does not divide S.
    """
    array = check_matrix(matrix)
    if array.shape[0] != array.shape[1]:
        raise InputError(f"matrix must be square (d x d) for packed products, got shape {array.shape}")
    d = check_dimension(array.shape[0], slots)
    return np.tile(array.reshape(-1), slots // (d * d))


