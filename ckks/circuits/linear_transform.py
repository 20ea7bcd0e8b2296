"""Plaintext linear maps of the slots: the diagonal method and baby-step giant-step.

**Linear transforms** (Halevi and Shoup, "Algorithms in HElib", CRYPTO 2014).
Any linear map of the S = N/2 slots is a sum of its generalized diagonals,

    y = sum_k d_k * rot_k(x),     rot_k(x)[j] = x[j + k mod S],

with d_k[j] = M[j, j + k] for y = M x.  Evaluated naively this is one
rotation per non-zero diagonal (all hoisted: one decomposition of x).  The
baby-step giant-step form writes k = g i + b and uses
d_k * rot_(g i + b)(x) = rot_(g i)(rot_(-g i)(d_k) * rot_b(x)):

    y = sum_i rot_(g i)( sum_b rot_(-g i)(d_(g i + b)) * rot_b(x) ),

with about 2 sqrt(#diagonals) rotations (the baby rotations hoisted).  The
input is multiplied by an integer B = `boost_factor` first (read at scale
s B) and the plaintext diagonals are encoded at s / B, so the result has
level l - 1 and scale s^2 / q_l, exactly as ``v * plain``, while the
key-switching noise of the rotations of the input costs B times less precision.

**Vector-matrix product** v @ M for v of length n and M of shape (n, m):
y[j] = sum_i v[i] M[i, j] has diagonals d_k[j] = M[j + k, j] for
-(m - 1) <= k < n, zero wherever j + k is outside [0, n) or j >= m.  Slots of
the input beyond n are therefore never read, and slots of the output beyond m
are zero.  One level.

Encrypted matrix products (Jiang et al.) are in `ckks.circuits.matrix_product`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np

from ckks.errors import InputError, InputTypeError, LevelError, PrecisionWarning
from ckks.scheme.ciphertext import Ciphertext, Plaintext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator, check_magnitude
from ckks.scheme.parameters import Parameters
from ckks.scheme.rotation import Rotator
from ckks.validation import check_int


def require_levels(level: int, needed: int, what: str, params: Parameters) -> None:
    """Check that a ciphertext at ``level`` has ``needed`` rescales left, and say how to get them if not.

    Args:
        level: the ciphertext's level (rescales left).
        needed: the levels the operation consumes.
        what: the operation, for the message ("a degree-7 polynomial").
        params: the parameters, to suggest a longer ``moduli_bits``.

    Raises:
        LevelError: ``needed > level``; the message names the shortfall and a
            ``moduli_bits`` with enough rescaling primes.
    """
    if needed <= level:
        return
    bits = list(params.moduli_bits)
    data = bits[: len(bits) - params.special_count]
    extra = needed - level
    middle = data[1] if len(data) > 1 else 40
    longer = data + [middle] * extra + bits[len(data):]
    raise LevelError(
        f"{what} needs {needed} levels but the ciphertext is at level {level} "
        f"({extra} more needed). Start from a fresher ciphertext or add {extra} rescaling prime(s): "
        f"moduli_bits={longer} instead of {bits} (check the security bound of poly_degree)"
    )


# -- generic linear transforms -------------------------------------------------------------------------


class LinearTransform:
    """y = sum_k diagonals[k] * rot_k(x) on the S slots, by the diagonal or the BSGS method.

    The transform itself is plaintext data (diagonals and a rotation plan) and
    belongs to no parameter set; `encoded` caches the diagonals encoded
    for one parameter set (keyed by its fingerprint), level and scale, so the
    same transform can serve several contexts without mixing their plaintexts.

    Args:
        diagonals: {k: d_k}, each d_k of length ``period`` (a divisor of S); the
            input is assumed ``period``-periodic in its slots when period < S
            (a packed matrix repeated over the slots), and then k counts modulo period.
        slots: S = N/2.
        period: the length of the diagonals (default S).
        method: "bsgs" (default) or "diagonal" (one hoisted rotation per diagonal).
        baby_step: force the baby-step size g (in units of the step stride).

    Raises:
        InputTypeError: ``slots``, ``period`` or ``baby_step`` is not an integer.
        InputError: ``period`` does not divide ``slots``, ``method`` is unknown,
            ``baby_step`` is below 1, or a diagonal does not have shape (period,).
    """

    def __init__(
        self,
        diagonals: dict[int, np.ndarray],
        slots: int,
        period: int | None = None,
        method: str = "bsgs",
        baby_step: int | None = None,
    ):
        slots = check_int("slots", slots, 1)
        period = slots if period is None else check_int("period", period)
        if period < 1 or slots % period:
            raise InputError(f"period must divide the slot count {slots}, got {period}")
        if method not in ("bsgs", "diagonal"):
            raise InputError(f"method must be 'bsgs' or 'diagonal', got {method!r}")
        if baby_step is not None:
            baby_step = check_int("baby_step", baby_step, 1)
        self.slots = slots
        self.period = period
        self.method = method
        merged: dict[int, np.ndarray] = {}
        representative: dict[int, int] = {}  # k mod period -> the step used (the caller's, if |k| < period)
        for k, diag in diagonals.items():
            diag = np.asarray(diag)
            if diag.shape != (period,):
                raise InputError(f"diagonal {k} has shape {diag.shape}, expected ({period},)")
            r = representative.setdefault(int(k) % period, int(k) if abs(int(k)) < period else int(k) % period)
            merged[r] = merged[r] + diag if r in merged else diag.astype(np.complex128)
        self.diagonals = {k: d for k, d in sorted(merged.items()) if np.any(d != 0)}
        # |y_i| <= (sum_k |d_k[i]|) max|x|: the gain that bounds the output from the input's bound
        self.gain = float(np.max(sum(np.abs(d) for d in self.diagonals.values()))) if self.diagonals else 0.0
        nonzero = [k for k in self.diagonals if k]
        self.stride = math.gcd(*nonzero) if nonzero else 1
        self._plan = self._make_plan(baby_step)
        # (parameters fingerprint, level, scale) -> the encoded plan; one entry is kept
        self._encoded: dict[tuple[str, int, float], list[tuple[int, list[tuple[int, Plaintext]]]]] = {}

    def _make_plan(self, baby_step: int | None) -> dict[int, list[tuple[int, int]]]:
        """{giant step: [(baby step, k), ...]} in slot units."""
        ks = list(self.diagonals)
        if self.method == "diagonal":
            return {0: [(k, k) for k in ks]}
        units = [k // self.stride for k in ks]
        low = min(units, default=0)
        span = max(units, default=0) - low + 1
        candidates = [baby_step] if baby_step else range(1, min(span, 4 * math.isqrt(span) + 4) + 1)
        best = None
        for g in candidates:
            giants = {low + (u - low) // g * g for u in units}
            babies = {(u - low) % g for u in units}
            cost = len(giants - {0}) + len(babies - {0})
            if best is None or cost < best[0]:
                best = (cost, g)
        g = best[1]
        plan: dict[int, list[tuple[int, int]]] = {}
        for k, u in zip(ks, units):
            giant = (low + (u - low) // g * g) * self.stride
            plan.setdefault(giant, []).append((k - giant, k))
        return plan

    @property
    def baby_steps(self) -> list[int]:
        """The non-zero baby steps b (hoisted rotations of the input), in slots."""
        return sorted({b for pairs in self._plan.values() for b, _ in pairs if b})

    @property
    def giant_steps(self) -> list[int]:
        """The non-zero giant steps g i (one rotation each, after the inner sums), in slots."""
        return sorted(g for g in self._plan if g)

    @property
    def rotation_steps(self) -> list[int]:
        """Steps whose Galois keys make every rotation direct (for generate_galois_keys)."""
        return sorted(set(self.baby_steps) | set(self.giant_steps))

    @property
    def rotations(self) -> int:
        """Rotations (key switches) with keys for every step: baby + giant."""
        return len(self.baby_steps) + len(self.giant_steps)

    @property
    def plaintext_multiplications(self) -> int:
        """Plaintext-ciphertext products: one per non-zero diagonal."""
        return len(self.diagonals)

    def _tile(self, diag: np.ndarray) -> np.ndarray:
        return np.tile(diag, self.slots // self.period)

    def encoded(self, encoder: Encoder, level: int, scale: float) -> list[tuple[int, list[tuple[int, Plaintext]]]]:
        """The rotated diagonals rot_(-g)(d_k) encoded for ``encoder``'s parameters at (level, scale).

        Cached under (parameters fingerprint, level, scale): a second
        parameter set with the same N and scale but other primes gets its own
        encodings.  One entry is kept (the usual case is a fixed level).

        Args:
            encoder: the encoder of the parameters the ciphertexts use.
            level: the level of the ciphertexts the transform is applied to.
            scale: their scale; the diagonals are encoded at the same scale.

        Returns:
            [(giant step, [(baby step, plaintext), ...]), ...] in the order
            `apply` uses them.

        Raises:
            LevelError: ``level`` is not a level of the parameters (from the encoder).
            InputError: ``scale`` is not a positive finite number (from the encoder).
        """
        key = (encoder.params.fingerprint(), level, scale)
        cached = self._encoded.get(key)
        if cached is None:
            cached = []
            for giant, pairs in sorted(self._plan.items()):
                plains = [(b, encoder.encode(np.roll(self._tile(self.diagonals[k]), giant), scale, level))
                          for b, k in pairs]
                cached.append((giant, plains))
            self._encoded = {key: cached}  # keep one encoding: the usual case is a fixed level
        return cached

    def apply(self, ct: Ciphertext, evaluator: Evaluator, encoder: Encoder, rotator: Rotator,
              rescale: bool = True) -> Ciphertext:
        """M x with one level: level l -> l - 1, scale s -> s^2 / q_l.

        The input is first multiplied by [`boost_factor`][ckks.circuits.linear_transform.boost_factor]
        (exact, no level) and the diagonals encoded at s / B, so that the rotations' key-switching
        noise costs B times less precision; the output scale is s^2 / q_l all the same.

        Args:
            ct: the input x (NTT form, level l >= 1, scale s), ``period``-periodic
                in its slots when the transform has a period below S.
            evaluator: products, sums and the rescale.
            encoder: encodes the diagonals at (l, s / B) (cached, see `encoded`).
            rotator: the baby (hoisted) and giant rotations.
            rescale: False leaves the result at level l and scale s^2 (before the rescale), for a caller that
                adds rotations of it first: their key-switching noise is then divided by q_l with the rest.

        Returns:
            M x at level l - 1 and scale s^2 / q_l.

        Raises:
            LevelError: ``ct`` is at level 0.
            KeyMissingError: a rotation has no Galois key to make or compose it from.
            ContextMismatchError: ``ct`` belongs to other parameters than the evaluator and rotator.
        """
        require_levels(ct.level, 1, "a plaintext linear transform", evaluator.params)
        boost = boost_factor(ct.scale)
        if boost > 1:
            # x * B read at scale s B: the same values, but the key-switching noise of the baby rotations
            # (added at the ciphertext's scale) is B times smaller relative to them
            boosted = evaluator.multiply_integer(ct, boost)
            ct = Ciphertext(ct.params, boosted.data, ct.scale * boost, ct.key_id, None, ct.bound, boosted.noise,
                            ct.bound_exact)
        plan = self.encoded(encoder, ct.level, ct.scale / boost**2)
        babies = rotator.rotate_many(ct, sorted({b for _, pairs in plan for b, _ in pairs if b}))
        babies[0] = ct
        total = None
        # Every partial sum of the terms is bounded by gain * max|x| (slot i of any subset of the terms is at
        # most sum_k |d_k[i]| max|x|), far tighter than the evaluator's term-by-term bound: check that once below
        # instead of warning about each term.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrecisionWarning)
            for giant, pairs in plan:
                inner = None
                for b, plain in pairs:
                    term = evaluator.multiply_plain(babies[b], plain)
                    inner = term if inner is None else evaluator.add(inner, term)
                if giant:
                    inner = rotator.rotate(inner, giant)
                total = inner if total is None else evaluator.add(total, inner)
            if total is None:  # the zero map
                zero = encoder.encode_constant(0.0, ct.scale, ct.level)
                total = evaluator.multiply_plain(ct, zero)
        if total.bound is not None and ct.bound is not None and total.bound > ct.bound * self.gain:
            total = Ciphertext(total.params, total.data, total.scale, total.key_id, None, ct.bound * self.gain,
                               total.noise, False)
        check_magnitude(total, "apply a linear transform")
        return evaluator.rescale(total) if rescale else total


def boost_factor(scale: float) -> int:
    """The integer B = 2^b by which `LinearTransform.apply` multiplies its input before the baby rotations.

    Why: a rotation adds key-switching noise of a fixed size (about sqrt(N) sigma q_max / P in each
    coefficient, with outliers in some slots for some keys) at the ciphertext's scale s, so rotating x
    before multiplying by the diagonals (as BSGS and the hoisted diagonal method must) costs precision
    that TenSEAL, which rotates the products at scale s^2, does not lose.  Multiplying x by B (exact,
    no level) and reading it at scale s B makes that noise B times smaller relative to x; the
    diagonals are then encoded at s / B, so the product still has scale s^2 and the result s^2 / q_l,
    exactly as before.  b = floor(log2 s) - 32, clamped to 0 .. 8, keeps the diagonals' scale at 2^32 or
    more (their rounding error stays below the fresh-encryption noise); scales below 2^33 get no boost.

    Args:
        scale: the input ciphertext's scale s.

    Returns:
        B (1 when no boost).
    """
    bits = int(np.floor(np.log2(scale))) - 32
    return 1 << max(0, min(8, bits))


# -- vector x plaintext matrix ----------------------------------------------------------------------------


def check_matrix(matrix, rows: int | None = None, name: str = "matrix") -> np.ndarray:
    """``matrix`` as a validated 2-D numeric array.

    Args:
        matrix: anything numpy turns into a 2-D array of numbers.
        rows: the number of rows it must have (None: any).
        name: the argument's name, for the messages.

    Returns:
        The array (not copied when ``matrix`` already is one).

    Raises:
        InputTypeError: ``matrix`` is not an array of numbers.
        InputError: it is not 2-D, empty, has the wrong number of rows, or holds NaN or infinity.
    """
    try:
        array = np.asarray(matrix)
    except Exception as exc:
        raise InputTypeError(f"{name} must be a 2-D array of numbers: {exc}") from exc
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputTypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise InputError(f"{name} must be 2-D, got shape {array.shape}")
    if 0 in array.shape:
        raise InputError(f"{name} has shape {array.shape}: it needs at least one row and one column")
    if rows is not None and array.shape[0] != rows:
        raise InputError(
            f"{name} has shape {array.shape} but the vector has {rows} values: "
            f"vector @ {name} needs {name}.shape[0] == {rows}"
        )
    if not np.all(np.isfinite(array)):
        raise InputError(f"{name} contains NaN or infinity")
    return array


def vector_matrix_transform(matrix: np.ndarray, slots: int, method: str = "bsgs") -> LinearTransform:
    """The transform x -> x @ M (x in the first n slots, result in the first m).

    Args:
        matrix: M, shape (n, m) with n, m <= slots.
        slots: S = N/2.
        method: "bsgs" or "diagonal" (see [`LinearTransform`][ckks.circuits.linear_transform.LinearTransform]).

    Returns:
        The transform, with diagonals d_k[j] = M[j + k, j] for -(m - 1) <= k < n.

    Raises:
        InputTypeError: ``matrix`` is not an array of numbers.
        InputError: ``matrix`` is not 2-D, not finite, or larger than the slots.
    """
    matrix = check_matrix(matrix)
    n, m = matrix.shape
    if n > slots or m > slots:
        raise InputError(f"matrix of shape {matrix.shape} does not fit in {slots} slots")
    diagonals = {}
    for k in range(-(m - 1), n):
        j = np.arange(max(0, -k), min(m, n - k))
        if j.size == 0:
            continue
        values = matrix[j + k, j]
        if np.any(values != 0):
            diag = np.zeros(slots, dtype=np.complex128)
            diag[j] = values
            diagonals[k] = diag
    return LinearTransform(diagonals, slots, method=method)


def vector_matrix_product(
    ct: Ciphertext, matrix, evaluator: Evaluator, encoder: Encoder, rotator: Rotator, method: str = "bsgs"
) -> Ciphertext:
    """v @ M for v in the first M.shape[0] slots of ``ct``.  One level: l -> l - 1, scale s^2 / q_l.

    Args:
        ct: v in its first n slots (level l >= 1, scale s); slots beyond n are never read.
        matrix: M, shape (n, m).
        evaluator: products, sums and the rescale.
        encoder: encodes the diagonals at (l, s).
        rotator: the rotations.
        method: "bsgs" or "diagonal".

    Returns:
        v @ M in the first m slots, zeros beyond, at level l - 1 and scale s^2 / q_l.

    Raises:
        InputTypeError: ``matrix`` is not an array of numbers.
        InputError: ``matrix`` is not 2-D, not finite, or larger than the slots.
        LevelError: ``ct`` is at level 0.
        KeyMissingError: a rotation has no Galois key to make or compose it from.
    """
    transform = vector_matrix_transform(matrix, evaluator.params.slots, method)
    return transform.apply(ct, evaluator, encoder, rotator)


def rotation_steps(transforms: Iterable[LinearTransform]) -> list[int]:
    """The union of the rotation steps of several transforms (to generate their keys at once).

    Args:
        transforms: the transforms a circuit applies.

    Returns:
        The sorted steps whose Galois keys make every rotation of every transform direct.
    """
    steps: set[int] = set()
    for t in transforms:
        steps |= set(t.rotation_steps)
    return sorted(steps)
