"""The homomorphic special DFT shared by CoeffsToSlots and SlotsToCoeffs.

**The matrix.**  For n slots (n = N/2 with full packing, fewer with sparse
packing) let xi_j = exp(2 pi i 5^j / (4n)), j = 0 .. n-1.  A real polynomial
u of degree < 2n in Y = X^(N/(2n)) has the slot values

    z_j = u(xi_j) = sum_(k<n) (u_k + i u_(k+n)) xi_j^k = (V w)_j,
    V[j, k] = xi_j^k,   w = u_lo + i u_hi,

because xi_j^n = i^(5^j) = i.  This is the decoding map of the encoder
restricted to the subring Z[Y] (for n = N/2 it is the encoder itself).

**The factorisation.**  Splitting w into even and odd coefficients gives the
radix-2 recursion z_j = E_j + xi_j O_j and z_(j+n/2) = E_j - xi_j O_j
(xi_(j+n/2) = -xi_j since 5^(n/2) = 2n + 1 mod 4n), where E and O are the same
transform of size n/2.  Unrolled,

    V = S_(log n) ... S_2 S_1 P,

with P the bit-reversal permutation and S_s the butterfly stage of block
length 2^s: for a block offset b and r < h = 2^(s-1),
x[b+r] <- x[b+r] + w_r x[b+r+h] and x[b+r+h] <- x[b+r] - w_r x[b+r+h],
w_r = exp(2 pi i (5^r mod 2^(s+2)) / 2^(s+2)).  As a map of the slots
each stage has three generalised diagonals, offsets 0, +h and -h
(`butterfly_stage`, `inverse_butterfly_stage`).  The
permutation P is never evaluated: CoeffsToSlots computes F^-1 z = P w (the
coefficients in bit-reversed order), EvalMod works slot by slot and does not
care about the order, and SlotsToCoeffs applies F = V P^-1 to P w, which
gives V w.

**Levels.**  Each homomorphic matrix-vector product costs one level, so the
log2(n) stages are merged into a few groups (`split_stages`); a group
of s consecutive stages is one sparse matrix with at most 2^(s+1) - 1
diagonals (all sums of +-h), evaluated by baby-step giant-step with about
2 sqrt(diagonals) rotations (Chen, Chillotti and Song, "Improved
bootstrapping for approximate homomorphic encryption", Eurocrypt 2019; Han
and Ki, CT-RSA 2020).  More levels mean fewer rotations.

**Slot layout.**  The ciphertext has S = N/2 slots.  Matrices are stored as
`SlotMatrix`: {offset k: d_k}, d_k of length S, y = sum_k d_k * rot_k(x)
with rot_k(x)[j] = x[j + k mod S].  With sparse packing the inputs are
periodic (period n or 2n), so offsets are reduced modulo that period, which
merges +n/2 and -n/2.

**Scales.**  `apply_matrix` encodes the diagonals of the product that
ends at level l - 1 with scale ``target`` at the plaintext scale
target * q_l / s (s the input scale), so that the rescale by q_l lands on
``target`` exactly: level l -> l - 1, scale s -> target.

May import: numpy, `ckks.scheme`, `ckks.errors`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ckks.errors import InputError, KeyMissingError, LevelError
from ckks.scheme.automorphism import galois_element, ntt_permutation
from ckks.scheme.ciphertext import Ciphertext, Plaintext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.rotation import Rotator

__all__ = [
    "max_coefficient",
    "SlotMatrix",
    "share_rotations",
    "special_dft_matrix",
    "butterfly_stage",
    "inverse_butterfly_stage",
    "split_stages",
    "apply_matrix",
    "bit_reverse",
]


#: Cost of a giant-step rotation in units of a hoisted baby-step rotation (measured at N = 2^12:
#: a full key switch is about 4 times an inner product plus mod-down after a shared decomposition).
GIANT_COST = 3


def bit_reverse(n: int) -> np.ndarray:
    """The bit-reversal permutation of 0 .. n-1 (n a power of two)."""
    bits = n.bit_length() - 1
    index = np.arange(n)
    out = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        out |= ((index >> b) & 1) << (bits - 1 - b)
    return out


def special_dft_matrix(n: int) -> np.ndarray:
    """The dense n x n matrix V[j, k] = xi_j^k, xi_j = exp(2 pi i 5^j / 4n) (for checks; O(n^2) memory)."""
    g = np.array([pow(5, j, 4 * n) for j in range(n)], dtype=np.float64)
    k = np.arange(n)
    return np.exp(2j * np.pi * np.outer(g, k) / (4 * n))


def _twiddles(h: int) -> np.ndarray:
    """w_r = exp(2 pi i (5^r mod 8h) / 8h), r = 0 .. h-1 (block length 2h)."""
    m = 8 * h
    return np.exp(2j * np.pi * np.array([pow(5, r, m) for r in range(h)], dtype=np.float64) / m)


@dataclass
class SlotMatrix:
    """A linear map of the S slots as generalised diagonals: y = sum_k d_k * rot_k(x).

    Attributes:
        slots: S.
        period: the input's period p (a divisor of S): offsets are reduced mod p
            into (-p/2, p/2], which is exact only for p-periodic inputs.
        diagonals: {offset: d_k}, each a complex array of length S.
    """

    slots: int
    period: int
    diagonals: dict[int, np.ndarray] = field(default_factory=dict)
    #: the BSGS plan `apply_matrix` follows, when one was chosen for this matrix (`share_rotations`);
    #: None: `bsgs_plan` computes the cheapest on its own
    plan: dict[int, list[tuple[int, int]]] | None = field(default=None, repr=False, compare=False)

    def add(self, offset: int, diagonal: np.ndarray) -> None:
        """Add ``diagonal`` to the diagonal of ``offset`` (reduced mod the period).

        Args:
            offset: the rotation k of the input this diagonal multiplies.
            diagonal: length-S complex values.
        """
        p = self.period
        k = int(offset) % p
        if k > p // 2:
            k -= p
        if k in self.diagonals:
            self.diagonals[k] = self.diagonals[k] + diagonal
        else:
            self.diagonals[k] = np.asarray(diagonal, dtype=np.complex128).copy()

    def __matmul__(self, other: SlotMatrix) -> SlotMatrix:
        """The composition self o other (apply ``other`` first), with other's input period.

        (D_a R_a)(D_b R_b) = D_a rot_a(D_b) R_(a+b), rot_a(d)[j] = d[j + a].
        """
        out = SlotMatrix(self.slots, other.period)
        for a, da in self.diagonals.items():
            for b, db in other.diagonals.items():
                out.add(a + b, da * np.roll(db, -a))
        out.prune()
        return out

    def scaled_rows(self, factor: np.ndarray) -> SlotMatrix:
        """diag(factor) o self: multiply output slot j by factor[j] (a mask or constant).

        Args:
            factor: length-S values.

        Returns:
            A new matrix.
        """
        out = SlotMatrix(self.slots, self.period)
        for k, d in self.diagonals.items():
            out.diagonals[k] = d * factor
        out.prune()
        return out

    def prune(self, tolerance: float = 1e-14) -> None:
        """Drop diagonals that are zero up to float rounding."""
        self.diagonals = {k: d for k, d in sorted(self.diagonals.items()) if np.max(np.abs(d)) > tolerance}

    def dense(self) -> np.ndarray:
        """The S x S matrix (for checks on small rings)."""
        s = self.slots
        out = np.zeros((s, s), dtype=np.complex128)
        j = np.arange(s)
        for k, d in self.diagonals.items():
            out[j, (j + k) % s] += d
        return out

    def apply_plain(self, x: np.ndarray) -> np.ndarray:
        """y = sum_k d_k * rot_k(x) on a plaintext slot vector (numpy)."""
        y = np.zeros(self.slots, dtype=np.complex128)
        for k, d in self.diagonals.items():
            y += d * np.roll(x, -k)
        return y

    def bsgs_plan(self) -> dict[int, list[tuple[int, int]]]:
        """{giant step G: [(baby step b, offset k = G + b)]}: the chosen `plan`, or the cheapest on its own.

        Without a chosen plan: minimising #babies + GIANT_COST * #giants.
        Offsets are multiples of their gcd (the stride); in stride units
        k = g floor(k / g) + b with 0 <= b < g, for the best g.  Baby rotations
        share one decomposition (hoisting), a giant rotation needs its own,
        hence the weight `GIANT_COST`.  `share_rotations` chooses plans for several
        matrices together so that they share rotation keys.
        """
        if self.plan is not None:
            return self.plan
        ks = list(self.diagonals)
        nonzero = [k for k in ks if k]
        stride = math.gcd(*nonzero) if nonzero else 1
        units = [k // stride for k in ks]
        span = max(units) - min(units) + 1 if units else 1
        best = None
        for g in range(1, span + 1):
            giants = {u // g * g for u in units}
            babies = {u - u // g * g for u in units}
            cost = GIANT_COST * len(giants - {0}) + len(babies - {0})
            if best is None or cost < best[0]:
                best = (cost, g)
        g = best[1] if best else 1
        plan: dict[int, list[tuple[int, int]]] = {}
        for k, u in zip(ks, units):
            giant = u // g * g * stride
            plan.setdefault(giant, []).append((k - giant, k))
        return plan

    def bsgs_options(self) -> list[tuple[int, int, dict[int, list[tuple[int, int]]]]]:
        """Every baby-step giant-step split of the offsets: [(giant g, window start c, plan)].

        In stride units (the gcd of the offsets) offset u = G + b with the baby b in the window
        [c, c + g) and G a multiple of g, for g = 1 .. span and c = -(g - 1) .. 0 (c = 0 is
        `bsgs_plan`'s form; a window reaching below 0 moves some babies to negative steps, which
        another matrix may already have keys for).  Giant steps are taken mod S into (-S/2, S/2]
        (rotations by G and G - S are the same), so each rotation is one group.

        Returns:
            The options, each with its plan {G: [(b, k)]} in slot steps.
        """
        ks = list(self.diagonals)
        nonzero = [k for k in ks if k]
        stride = math.gcd(*nonzero) if nonzero else 1
        units = np.array([k // stride for k in ks], dtype=np.int64)
        span = int(units.max() - units.min() + 1) if len(ks) else 1
        out = []
        for g in range(1, span + 1):
            for c in range(1 - g, 1):
                babies = (units - c) % g + c
                giants = (units - babies) * stride % self.slots  # one group per rotation: G and G - S are one
                giants = np.where(giants > self.slots // 2, giants - self.slots, giants)
                plan: dict[int, list[tuple[int, int]]] = {}
                for k, giant, baby in zip(ks, giants.tolist(), babies.tolist()):
                    plan.setdefault(giant, []).append((baby * stride, k))
                out.append((g, c, plan))
        return out

    def rotation_steps(self) -> list[int]:
        """The rotation steps (baby and giant) `apply_matrix` performs."""
        plan = self.bsgs_plan()
        steps = {b for pairs in plan.values() for b, _ in pairs} | set(plan)
        return sorted(s for s in steps if s % self.slots)


#: How much one rotation of a BSGS plan weighs against one rotation key when `share_rotations` chooses plans:
#: a hoisted baby rotation at level l costs (about) the work of reading a key of level l once, a giant one
#: `GIANT_COST` times that; this weight trades that work for key memory (0.5: one more key of a level is worth
#: two more hoisted rotations at that level).
ROTATION_WEIGHT = 0.5


def share_rotations(
    uses: list[tuple[SlotMatrix, int]], key_bytes: Callable[[int], float], held: dict[int, int] | None = None
) -> dict[int, int]:
    """Choose the BSGS plans of several matrices together, so that they share rotation keys.

    Each DFT level has its own offsets (strides 1, 16, 256, ... of the butterfly groups), so each
    matrix alone would pick its own baby and giant steps.  A key for step k made for the levels up
    to m serves every use of k at a level <= m (`ckks.scheme.parameters.Parameters.key_digits`), so
    the matrices are planned from the highest level down, and each takes the split
    (`SlotMatrix.bsgs_options`) that minimises

        (bytes of the keys it adds) + ROTATION_WEIGHT * (babies + GIANT_COST * giants) * key_bytes(level):

    steps that a matrix higher up (or ``held``) already has keys for are free, which draws the plans
    of matrices with matching strides (a CoeffsToSlots and a SlotsToCoeffs group over the same
    butterfly stages) onto the same steps, and moves babies into negative windows when those keys
    exist.  The plans are stored on the matrices (`SlotMatrix.plan`), where `apply_matrix` and
    `SlotMatrix.rotation_steps` read them.

    Args:
        uses: (matrix, level it is applied at) pairs; every matrix works on the same S slots.
        key_bytes: level -> bytes of one rotation key made for the levels up to it.
        held: {step mod S: level} of keys made anyway (e.g. the trace's); not changed.

    Returns:
        {step mod S: highest level it is used at}, ``held`` included.
    """
    have = dict(held or {})
    for matrix, level in sorted(uses, key=lambda use: -use[1]):
        slots = matrix.slots
        cost = key_bytes(level)
        best = None
        for _, _, plan in matrix.bsgs_options():
            giants = {g % slots for g in plan} - {0}
            babies = {b % slots for pairs in plan.values() for b, _ in pairs} - {0}
            added = sum(cost - (key_bytes(have[s]) if s in have else 0)
                        for s in giants | babies if have.get(s, -1) < level)
            score = added + ROTATION_WEIGHT * (len(babies) + GIANT_COST * len(giants)) * cost
            if best is None or score < best[0]:
                best = (score, plan, giants | babies)
        matrix.plan = best[1]
        for step in best[2]:
            have[step] = max(have.get(step, -1), level)
    return have


def butterfly_stage(n: int, stage: int) -> dict[int, np.ndarray]:
    """S_stage of V = S_(log n) ... S_1 P as n-length diagonals {0, +h, -h}, h = 2^(stage-1).

    Args:
        n: the number of slots of the transform.
        stage: 1 .. log2(n).

    Returns:
        {offset: diagonal of length n}.
    """
    h = 1 << (stage - 1)
    w = _twiddles(h)
    r = np.arange(n) % (2 * h)
    low = r < h
    d0 = np.where(low, 1.0 + 0j, -w[np.where(low, 0, r - h)])
    dp = np.where(low, w[np.where(low, r, 0)], 0)
    dm = np.where(low, 0, 1.0 + 0j)
    return {0: d0, h: dp, -h: dm}


def inverse_butterfly_stage(n: int, stage: int) -> dict[int, np.ndarray]:
    """S_stage^-1: x[b+r] = (y[b+r] + y[b+r+h]) / 2, x[b+r+h] = (y[b+r] - y[b+r+h]) / (2 w_r).

    Args:
        n: the number of slots of the transform.
        stage: 1 .. log2(n).

    Returns:
        {offset: diagonal of length n}.
    """
    h = 1 << (stage - 1)
    w = _twiddles(h)
    r = np.arange(n) % (2 * h)
    low = r < h
    inv = 1.0 / (2.0 * w[np.where(low, 0, r - h)])
    d0 = np.where(low, 0.5 + 0j, -inv)
    dp = np.where(low, 0.5 + 0j, 0)
    dm = np.where(low, 0, inv)
    return {0: d0, h: dp, -h: dm}


def stage_matrix(stage: dict[int, np.ndarray], n: int, slots: int) -> SlotMatrix:
    """An n-slot stage as a `SlotMatrix` on S slots (diagonals tiled, input period n)."""
    out = SlotMatrix(slots, n)
    for k, d in stage.items():
        out.add(k, np.tile(d, slots // n))
    out.prune()
    return out


def split_stages(stages: int, levels: int, split: tuple[int, ...] | list[int] | None = None) -> list[int]:
    """How many butterfly stages each of ``levels`` groups merges: ``split``, or as even as possible, larger first.

    Args:
        stages: log2 of the slot count.
        levels: the number of groups.
        split: explicit group sizes in the order the groups are applied, or None.

    Returns:
        The group sizes.

    Raises:
        InputError: ``levels`` is not between 1 and ``stages``, or ``split`` is not ``levels`` positive
            integers summing to ``stages``.
    """
    if not 1 <= levels <= max(stages, 1):
        raise InputError(f"the DFT of {stages} stages can use 1 .. {stages} levels, got {levels}")
    if split is not None:
        sizes = list(split)
        if len(sizes) != levels or not all(isinstance(k, int) and k >= 1 for k in sizes) or sum(sizes) != stages:
            raise InputError(
                f"a DFT split must give {levels} positive stage counts summing to the {stages} stages, got {split!r}"
            )
        return sizes
    base, extra = divmod(stages, levels)
    return [base + (1 if i < extra else 0) for i in range(levels)]


def apply_matrix(
    ct: Ciphertext,
    matrix: SlotMatrix,
    target_scale: float,
    evaluator: Evaluator,
    encoder: Encoder,
    rotator: Rotator,
    cache: dict | None = None,
) -> Ciphertext:
    """y = M x by baby-step giant-step with double hoisting: one level, exact output scale.

    y = sum_G rot_G( sum_b rot_-G(d_(G+b)) * rot_b(x) ).  The baby rotations share
    one decomposition of c_1 (hoisting) and stay in the key-switching basis Q_l P
    without their mod-down (Bossuat et al., Eurocrypt 2021, "double hoisting"):
    rot_b(x) over Q_l P is (P sigma_b(c_0) + <digits, ksk_b>_0, <digits, ksk_b>_1),
    x itself is (P c_0, P c_1); the diagonals are encoded over Q_l P, the products
    summed there, and each giant-step group is divided by P once.  The rotated
    diagonals are encoded at the scale target * q_l / s, so after the rescale
    by q_l the result has level l - 1 and scale ``target_scale`` exactly.

    Args:
        ct: x at level l >= 1, scale s.
        matrix: M.
        target_scale: the scale of the result.
        evaluator: multiplies, adds, rescales.
        encoder: encodes the diagonals.
        rotator: rotates (needs the keys of ``matrix.rotation_steps()``).
        cache: a dict where encoded diagonals are kept between calls (per matrix and level, the encodings at
            the last `CACHED_SCALES` plaintext scales: bounded however the input scale varies).

    Returns:
        M x at level l - 1, scale ``target_scale``.

    Raises:
        LevelError: ``ct`` is at level 0.
        KeyMissingError: a rotation key is missing.
    """
    if ct.level < 1:
        raise LevelError("a homomorphic DFT level needs a ciphertext above level 0")
    params = evaluator.params
    level = ct.level
    q = params.data_moduli[level]
    plain_scale = target_scale * q / ct.scale
    plan = _encoded_plan(matrix, encoder, level, plain_scale, cache)
    ring = params.at_level(level)
    ring_qp = params.at_level(level, special=True)
    switcher = rotator.key_switcher
    n = params.poly_degree
    limbs = level + 1
    # Baby steps in Q_l P (double hoisting): one decomposition of c_1, no mod-down per baby step.
    p_mod_q = np.array([_product_mod(params.special_moduli, int(qi)) for qi in ring.moduli], dtype=np.uint64)
    lifted = np.zeros((2, ring_qp.limbs, n), dtype=np.uint64)  # (P c_0, P c_1): zero modulo the special primes
    p_poly = np.ascontiguousarray(np.broadcast_to(p_mod_q[:, None], (limbs, n)))  # P in NTT form (a constant)
    for k in range(2):
        ring.mul(np.ascontiguousarray(ct.data[k]), p_poly, lifted[k, :limbs])
    babies = {0: lifted}
    needed = sorted({b for _, pairs in plan for b, _ in pairs if b})
    if needed:
        extended = switcher.decompose(np.ascontiguousarray(ct.data[1]))
        for b in needed:
            element = galois_element(b, n)
            key = rotator.galois_keys.keys.get(element) if rotator.galois_keys is not None else None
            if key is None:
                raise KeyMissingError(f"no rotation key for step {b} of a homomorphic DFT level")
            perm = ntt_permutation(element, n)
            # the automorphism is an index map read inside the inner-product kernel: no permuted copy of the digits
            rotated = switcher.inner_product(extended, key.data, perm)
            ring_qp.add(rotated[0], np.take(lifted[0], perm, axis=1), out=rotated[0])
            babies[b] = rotated
    total = None
    for giant, pairs in plan:
        acc = np.zeros((2, ring_qp.limbs, n), dtype=np.uint64)
        term = ring_qp.empty()
        for b, plain in pairs:
            for k in range(2):
                ring_qp.mul(babies[b][k], plain, out=term)
                ring_qp.add(acc[k], term, out=acc[k])
        inner = Ciphertext(params, switcher.mod_down(acc), ct.scale * plain_scale, ct.key_id)
        if giant:
            inner = rotator.rotate(inner, giant)
        total = inner if total is None else evaluator.add(total, inner)
    return evaluator.rescale(total).with_scale(target_scale)  # equal up to float rounding of plain_scale


#: Largest |round(plain scale * coefficient)| a diagonal's encoding may reach (`encode_precise` refuses 2^62; one
#: bit of margin for the float64 estimate of `max_coefficient`).
MAX_DIAGONAL_INTEGER = 2.0**61


def max_coefficient(matrix: SlotMatrix, encoder: Encoder) -> float:
    """max |m_j| over the coefficients of the polynomials m that encode the matrix's diagonals (unscaled).

    A rotated diagonal (the giant-step shift of `apply_matrix`) has the same coefficients up to order and
    sign (an automorphism), so this bounds every plaintext the matrix encodes: at plaintext scale s the
    integers reach s times it.  Float64 inverse embedding (`Encoder.embed_inverse`), one FFT per diagonal.

    Args:
        matrix: the matrix.
        encoder: an encoder of the parameters.

    Returns:
        The largest coefficient magnitude (0.0 for a matrix without diagonals).
    """
    return max((float(np.max(np.abs(encoder.embed_inverse(d)))) for d in matrix.diagonals.values()), default=0.0)


def _product_mod(primes, q: int) -> int:
    out = 1
    for p in primes:
        out = out * int(p) % q
    return out


#: pi in extended precision (numpy parses the string with strtold).
_PI = np.longdouble("3.14159265358979323846264338327950288")


@functools.lru_cache(maxsize=4)
def _extended_tables(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Per ring degree n, computed once: the slot positions of values and conjugates, the bit reversal,
    the twiddles of every radix-2 stage and the untwist exp(-pi i j / n) / n, in long double."""
    powers = np.array([pow(5, j, 2 * n) for j in range(n // 2)], dtype=np.int64)
    twiddles = []
    m = 2
    while m <= n:
        angle = -2 * _PI * np.arange(m // 2, dtype=np.longdouble) / m
        twiddles.append(np.cos(angle) + 1j * np.sin(angle))
        m *= 2
    angle = -_PI * np.arange(n, dtype=np.longdouble) / n
    untwist = (np.cos(angle) + 1j * np.sin(angle)) / n
    return (powers - 1) // 2, (2 * n - powers - 1) // 2, bit_reverse(n), twiddles, untwist


def _fft_extended(x: np.ndarray) -> np.ndarray:
    """sum_j x_j exp(-2 pi i j k / n) along the last axis, in long double (64-bit mantissa on x86), radix 2."""
    n = x.shape[-1]
    _, _, reverse, twiddles, _ = _extended_tables(n)
    rows = x.shape[:-1]
    x = x[..., reverse].astype(np.clongdouble)
    m = 2
    for w in twiddles:
        blocks = x.reshape(*rows, -1, m)
        u, v = blocks[..., : m // 2], blocks[..., m // 2 :] * w
        x = np.concatenate([u + v, u - v], axis=-1).reshape(*rows, n)
        m *= 2
    return x


def encode_precise(encoder: Encoder, values: np.ndarray, scale: float, level: int) -> Plaintext:
    """Encode N/2 slot values like ``encoder.encode``, with the inverse embedding in long double.

    The float64 FFT of the encoder errs by about 2^-50 ||values|| per coefficient;
    the first CoeffsToSlots level multiplies slots of size K sqrt(N), so that error
    would cost several bits of bootstrapping precision.  Here the FFT runs in
    extended precision and the rounded coefficients (|c| < 2^62) go to RNS exactly.

    Args:
        encoder: the scheme encoder (its parameters and RNS conversion).
        values: N/2 complex slot values.
        scale: the plaintext scale.
        level: the plaintext level.

    Returns:
        round(scale * m) in NTT form over q_0 .. q_level.

    Raises:
        InputError: the coefficients do not fit (scale too large).
    """
    coefficients = _precise_coefficients(encoder, values, scale)
    return Plaintext(encoder.params, encoder.integers_to_rns(coefficients, level), scale)


def _precise_coefficients(encoder: Encoder, values: np.ndarray, scale: float) -> np.ndarray:
    """round(scale * m) as int64, m the real coefficients with slot values ``values`` (long-double FFT).

    ``values`` may hold several vectors (shape (..., N/2)), transformed along the last axis; the tables
    come from `_extended_tables`, computed once per N (at N = 2^16 they were 3/4 of the time of an encoding).
    """
    n = encoder.params.poly_degree
    slots, conjugates, _, _, untwist = _extended_tables(n)
    values = np.asarray(values)
    w = np.zeros(values.shape[:-1] + (n,), dtype=np.clongdouble)
    w[..., slots] = values
    w[..., conjugates] = np.conj(values)
    coefficients = (_fft_extended(w) * untwist).real * np.longdouble(scale)
    rounded = np.rint(coefficients)
    if rounded.size and np.max(np.abs(rounded)) >= np.longdouble(2.0**62):
        raise InputError("a DFT diagonal is too large for its plaintext scale")
    return rounded.astype(np.int64)


#: Encodings of one matrix at one level kept by `apply_matrix`'s cache (one per plaintext scale, the newest).
CACHED_SCALES = 2


def _encoded_plan(
    matrix: SlotMatrix, encoder: Encoder, level: int, plain_scale: float, cache: dict | None
) -> list[tuple[int, list[tuple[int, Plaintext]]]]:
    key = (id(matrix), level)
    kept = cache.get(key, []) if cache is not None else []
    for scale, plan in kept:
        if scale == plain_scale:
            return plan
    out = []
    ring_qp = encoder.params.at_level(level, special=True)
    for giant, pairs in sorted(matrix.bsgs_plan().items()):
        plains = [
            (b, ring_qp.from_signed(_precise_coefficients(encoder, np.roll(matrix.diagonals[k], giant), plain_scale)))
            for b, k in pairs
        ]
        out.append((giant, plains))
    if cache is not None:  # the last CACHED_SCALES scales of each matrix and level: the memory stays bounded when
        # the input scale varies from call to call (a bootstrap with output_scale folds output / input scale into
        # EvalMod, so SlotsToCoeffs meets the scale of each input)
        cache[key] = (kept + [(plain_scale, out)])[-CACHED_SCALES:]
    return out
