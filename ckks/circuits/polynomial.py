"""Polynomial evaluation on ciphertexts: power basis and Chebyshev basis, depth-optimal.

Cost model.  A ciphertext-ciphertext product and a multiplication by a
non-integer constant each consume one level (one rescale); additions,
integer multiples and plaintext additions consume none.  Computing x^k by
x^k = x^m x^(k-m) (m the largest power of two below k) reaches depth
ceil(log2 k); the best possible depth for a degree-d polynomial with
arbitrary coefficients is ceil(log2(d + 1)).

Scheme.  p is split recursively at powers of two, p = q * B_n + r, with
B_n = x^n (power basis) or T_n (Chebyshev basis, where
T_{m+n} = 2 T_m T_n - T_{|m-n|} makes the division exact, computed with
``numpy.polynomial.chebyshev.chebdiv``), n the largest power of two
<= deg p; q gets one level less than p, r the same.  The recursion stops at a
"baby-step" polynomial sum_b c_b B_b of degree below g = 2^j, evaluated with
one constant multiplication per term, when its depth max_b ceil(log2 b) + 1
fits the levels left; otherwise it splits once more.  This is the
baby-step giant-step form of Paterson and Stockmeyer ("On the number of
nonscalar multiplications necessary to evaluate polynomials", SIAM J.
Comput. 1973), made depth-optimal as in Bossuat, Mouchet, Troncoso-Pastoriza
and Hubaux (Eurocrypt 2021, sec. 5): the recursion keeps deg < 2^budget at
every node, so a degree-d polynomial always uses exactly

    levels(d) = ceil(log2(d + 1))        (0 for a constant),

leading coefficient included (e.g. degree 7: 3 levels, degree 8: 4).  The
baby-step size g is chosen per polynomial to minimise the number of
ciphertext-ciphertext products (reported by `plan_polynomial`).

A free leading term (``keep_scale=False``, what ``CKKSVector.polyval`` uses).
An integer multiple of a ciphertext costs no level (each residue times k), so
when the degree is a power of two d = 2^K and c_d is an integer (1 and -1
included), c_d x^d is x^(2^K) times c_d, at depth K, and the rest, of degree
below 2^K, fits in K levels too.  The depth of the power basis is then

    levels(p) = ceil(log2(d + 1)) - [d = 2^K and c_d is an integer]
              = floor(log2 d) + [d is not a power of two, or c_d is not an integer]   (d >= 1).

The price: x^(2^K) cannot be brought to another scale without a
multiplication, so the result has the scale of x^(2^K) (the scale ``v ** d``
has) instead of the input's.  TenSEAL evaluates each term c_i x^i separately
(x^i from the squares x^(2^j), c_i by a plaintext multiplication that costs
a level unless c_i = 1), which takes
max over c_i != 0 of floor(log2 i) + [i is not a power of two, or c_i != 1]
levels: never fewer than the formula above (e.g. degree 4 with c_4 = 1: 2
levels in both; c_4 = 3: 2 here, 3 in TenSEAL; degree 5: 3 in both).

Scale management (as in Lattigo): every node is evaluated to an exact target
level and scale.  A term c_b B_b is produced by switching B_b down to
level l + 1 and multiplying by c_b encoded at scale s_t q_{l+1} / s_b, then
rescaling, which lands on (l, s_t) exactly; a product q * B_n asks q for
scale s_t q_{l+1} / s_n.  Terms are therefore added without any scale
mismatch, and the output has the input ciphertext's scale.  Powers whose
scale drifts below half the input scale are brought back by an integer
multiple (free).

Chebyshev series on [a, b] are evaluated at y = alpha x + beta,
alpha = 2 / (b - a), beta = -(a + b) / (b - a).  For b - a <= 2 (alpha >= 1)
the map is free: the ciphertext of x at scale s is read as a ciphertext of
alpha x at scale s / alpha, and beta is a plaintext addition.  For wider
intervals the multiplication by alpha < 1 costs one level (reading it into
the scale would make the scales of T_(2^j) grow like alpha^(-2^j)):

    levels = ceil(log2(d + 1)) + (1 if b - a > 2 else 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.polynomial import chebyshev as npcheb

from ckks.circuits.linear_transform import require_levels
from ckks.errors import InputError, InputTypeError
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator, scales_agree
from ckks.validation import check_bool, check_int

POWER = "power"
CHEBYSHEV = "chebyshev"


def levels_for_degree(degree: int) -> int:
    """Levels the depth-optimal scheme uses for a degree-d polynomial: ceil(log2(d + 1)).

    Args:
        degree: d (0 or negative: a constant).

    Returns:
        ceil(log2(d + 1)), 0 for a constant.
    """
    return 0 if degree <= 0 else math.ceil(math.log2(degree + 1))


def power_depth(k: int) -> int:
    """Depth of B_k (x^k or T_k) computed by products of powers of two: ceil(log2 k).

    Args:
        k: the index of the basis element.

    Returns:
        ceil(log2 k), 0 for k <= 1.
    """
    return 0 if k <= 1 else (k - 1).bit_length()


# -- the plan --------------------------------------------------------------------------------


@dataclass
class _Leaf:
    coefficients: np.ndarray  # c_0 .. c_e with e < g


@dataclass
class _Split:
    n: int  # B_n, a power of two
    high: object  # a node, or a scalar constant
    low: object  # a node, a scalar constant, or 0


@dataclass
class PolyPlan:
    """How a polynomial will be evaluated, and what it costs.

    Attributes:
        basis: "power" or "chebyshev".
        degree: degree after dropping zero leading coefficients.
        depth: levels consumed: ceil(log2(degree + 1)), one less with a free leading term.
        baby_step: g, the degree bound of the baby-step polynomials.
        powers: indices k of the basis elements B_k that are computed.
        products: ciphertext-ciphertext products (relinearizations), powers included.
        scalar_multiplications: multiplications by non-integer constants.
    """

    basis: str
    degree: int
    depth: int
    baby_step: int
    powers: list[int]
    products: int
    scalar_multiplications: int
    root: object = field(repr=False, default=None)
    #: The leading term c_d x^d (d = 2^K, c_d an integer) is an integer multiple of x^d: no level, and
    #: the result has the scale of x^d (see the module docstring).
    free_leading: bool = False


@dataclass
class _Integer:
    """An integer coefficient, multiplied in for free (no level) at the root of a free-leading plan."""

    value: int


def _trim(coefficients: np.ndarray) -> np.ndarray:
    nonzero = np.flatnonzero(coefficients != 0)
    return coefficients[: nonzero[-1] + 1] if nonzero.size else coefficients[:1] * 0


def _divide(coefficients: np.ndarray, n: int, basis: str) -> tuple[np.ndarray, np.ndarray]:
    """q, r with p = q * B_n + r and deg r < n."""
    if basis == POWER:
        return coefficients[n:].copy(), coefficients[:n].copy()
    t_n = np.zeros(n + 1)
    t_n[n] = 1.0
    q, r = npcheb.chebdiv(coefficients, t_n)
    return np.asarray(q, dtype=coefficients.dtype), np.asarray(r, dtype=coefficients.dtype)


def _dependencies(k: int, basis: str) -> list[int]:
    m = 1 << ((k - 1).bit_length() - 1)  # largest power of two below k
    deps = [m, k - m]
    if basis == CHEBYSHEV and 2 * m - k > 0:
        deps.append(2 * m - k)
    return deps


def _leaf_depth(coefficients: np.ndarray) -> int:
    return max((power_depth(b) + 1 for b in range(1, len(coefficients)) if coefficients[b] != 0), default=0)


def _build(coefficients: np.ndarray, budget: int, baby: int, basis: str):
    c = _trim(coefficients)
    degree = len(c) - 1
    if degree <= 0:
        return c[0]
    if degree < baby and _leaf_depth(c) <= budget:
        return _Leaf(c)
    n = 1 << (degree.bit_length() - 1)
    q, r = _divide(c, n, basis)
    return _Split(n, _build(q, budget - 1, baby, basis), _build(r, budget, baby, basis))


def _walk(node, powers: set[int], counts: list[int]) -> None:
    """Collect the basis elements a plan needs; counts = [products, scalar multiplications]."""
    if isinstance(node, _Leaf):
        for b in range(1, len(node.coefficients)):
            if node.coefficients[b] != 0:
                powers.add(b)
                counts[1] += 1
    elif isinstance(node, _Split):
        powers.add(node.n)
        if isinstance(node.high, (_Leaf, _Split)):
            counts[0] += 1
            _walk(node.high, powers, counts)
        elif not isinstance(node.high, _Integer):
            counts[1] += 1
        _walk(node.low, powers, counts)


def _closure(powers: set[int], basis: str) -> list[int]:
    todo = list(powers)
    seen = set(powers)
    while todo:
        k = todo.pop()
        if k >= 2:
            for dep in _dependencies(k, basis):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
    return sorted(seen)


def _as_coefficients(coefficients) -> np.ndarray:
    try:
        c = np.asarray(coefficients)
    except Exception as exc:
        raise InputTypeError(f"coefficients must be a 1-D sequence of numbers: {exc}") from exc
    if c.dtype == object or not np.issubdtype(c.dtype, np.number) or c.dtype == bool:
        raise InputTypeError(f"coefficients must be numbers, got dtype {c.dtype}")
    if c.ndim != 1 or c.size == 0:
        raise InputError(f"coefficients must be a non-empty 1-D sequence, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise InputError("coefficients contain NaN or infinity")
    return c.astype(np.complex128 if np.iscomplexobj(c) else np.float64)


def free_leading_coefficient(coefficients) -> int | None:
    """The integer c_d when the leading term c_d x^d of a power series is free (d = 2^K >= 1), else None.

    Args:
        coefficients: c_0 .. c_d (zero leading coefficients dropped).

    Returns:
        int(c_d) when d is a power of two and c_d is a real integer of magnitude below 2^53, else None.

    Raises:
        InputError: the coefficients are empty, not 1-D, or not finite.
        InputTypeError: the coefficients are not numbers.
    """
    c = _trim(_as_coefficients(coefficients))
    degree = len(c) - 1
    if degree < 1 or degree & (degree - 1):
        return None
    lead = complex(c[-1])
    if lead.imag != 0 or not float(lead.real).is_integer() or abs(lead.real) >= 2.0**53:
        return None
    return int(lead.real)


def plan_polynomial(coefficients, basis: str = POWER, keep_scale: bool = True) -> PolyPlan:
    """The evaluation plan of sum_k c_k B_k (coefficients in increasing degree).

    Tries every baby-step size g = 2^j up to 2^depth and keeps the one with the
    fewest ciphertext products (then the fewest constant multiplications).

    Args:
        coefficients: c_0 .. c_d, real or complex; zero leading coefficients are dropped.
        basis: "power" (B_k = x^k) or "chebyshev" (B_k = T_k).
        keep_scale: True: the result has the input's scale, ceil(log2(d + 1)) levels.  False (power
            basis only): a free leading term (d = 2^K, c_d an integer) saves a level, and the result
            then has the scale of x^d (see the module docstring).

    Returns:
        The plan: degree, depth, baby step, powers, cost counts, and whether the leading term is free.

    Raises:
        InputError: ``basis`` is unknown, the coefficients are empty, not 1-D, or not finite, or
            ``keep_scale=False`` is asked of the Chebyshev basis.
        InputTypeError: the coefficients are not numbers, or ``keep_scale`` is not a bool.
    """
    if basis not in (POWER, CHEBYSHEV):
        raise InputError(f"basis must be 'power' or 'chebyshev', got {basis!r}")
    keep_scale = check_bool("keep_scale", keep_scale)
    if not keep_scale and basis != POWER:
        raise InputError("keep_scale=False (a free leading term) is for the power basis only")
    c = _trim(_as_coefficients(coefficients))
    degree = len(c) - 1
    lead = None if keep_scale else free_leading_coefficient(c)
    depth = levels_for_degree(degree) - (lead is not None)
    best = None
    for j in range(1, max(depth, 1) + 1):
        if lead is None:
            root = _build(c, depth, 1 << j, basis)
        else:
            root = _Split(degree, _Integer(lead), _build(c[:degree], depth, 1 << j, basis))
        powers: set[int] = set()
        counts = [0, 0]
        _walk(root, powers, counts)
        needed = _closure(powers, basis)
        products = counts[0] + sum(1 for k in needed if k >= 2)
        plan = PolyPlan(basis, degree, depth, 1 << j, needed, products, counts[1], root, lead is not None)
        if best is None or (plan.products, plan.scalar_multiplications) < (best.products, best.scalar_multiplications):
            best = plan
    return best


# -- evaluation --------------------------------------------------------------------------------


class _Executor:
    """Evaluates a plan on one ciphertext, with exact level and scale targets."""

    def __init__(self, evaluator: Evaluator, encoder: Encoder, x: Ciphertext, basis: str, reference_scale: float):
        self.ev = evaluator
        self.encoder = encoder
        self.params = evaluator.params
        self.basis = basis
        self.reference_scale = reference_scale
        self.memo: dict[int, Ciphertext] = {1: x}

    def _product(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        ev = self.ev
        a, b = ev.align_levels(a, b)
        return ev.relinearize_rescale(ev.multiply(a, b))

    def _normalize(self, ct: Ciphertext) -> Ciphertext:
        """Bring a drifted-down scale back near the reference with a free integer multiple."""
        factor = int(self.reference_scale // ct.scale)
        if factor >= 2:
            ct = _with_scale(self.ev.multiply_integer(ct, factor), ct.scale * factor)
        return ct

    def power(self, k: int) -> Ciphertext:
        """B_k at level (input level - ceil(log2 k))."""
        if k in self.memo:
            return self.memo[k]
        deps = _dependencies(k, self.basis)
        product = self._product(self.power(deps[0]), self.power(deps[1]))
        if self.basis == CHEBYSHEV:
            product = self.ev.multiply_integer(product, 2)
            if len(deps) == 2:
                one = self.encoder.encode_constant(1.0, product.scale, product.level)
                product = self.ev.sub_plain(product, one)
            else:
                lower = self.constant_times(self.power(deps[2]), 1.0, product.level, product.scale)
                product = self.ev.sub(product, lower)
        product = self._normalize(product)
        self.memo[k] = product
        return product

    def constant_times(self, ct: Ciphertext, c: complex, level: int, scale: float) -> Ciphertext:
        """c * ct at exactly (level, scale); ct must be at level >= level + 1."""
        out = self.ev.rescale(self.constant_product(ct, c, level, scale))
        return _with_scale(out, _snap(out.scale, scale))

    def constant_product(self, ct: Ciphertext, c: complex, level: int, scale: float) -> Ciphertext:
        """c * ct at level + 1 and scale ``scale * q_(level+1)``, not rescaled: products of several powers by
        constants are summed first and rescaled once (one rescale per baby-step sum instead of one per term)."""
        ct = self.ev.mod_switch_to(ct, level + 1)
        target = scale * self.params.data_moduli[level + 1]
        if np.iscomplexobj(c) and np.imag(c) != 0:
            out = self.ev.multiply_plain(ct, self.encoder.encode_constant(c, target / ct.scale, level + 1))
            return _with_scale(out, _snap(out.scale, target))
        # a real constant at plaintext scale s_p is the integer round(c s_p): residue-wise, no encoding, no NTT
        out = self.ev.multiply_integer(ct, int(np.rint(float(np.real(c)) * (target / ct.scale))))
        return _with_scale(out, target)

    def add_constant(self, ct: Ciphertext, c: complex) -> Ciphertext:
        if c == 0:
            return ct
        return self.ev.add_plain(ct, self.encoder.encode_constant(c, ct.scale, ct.level))

    def run(self, node, level: int, scale: float) -> Ciphertext:
        ev = self.ev
        if isinstance(node, _Leaf):
            c = node.coefficients
            acc = None
            for b in range(1, len(c)):
                if c[b] != 0:
                    term = self.constant_product(self.power(b), c[b], level, scale)
                    acc = term if acc is None else ev.add(acc, term)
            if acc is not None:  # one rescale for the whole baby-step sum
                acc = ev.rescale(acc)
                acc = _with_scale(acc, _snap(acc.scale, scale))
            return self.add_constant(acc, c[0])
        g = self.power(node.n)
        if isinstance(node.high, _Integer):  # a free leading term: g is at (level, scale) already
            acc = ev.multiply_integer(ev.mod_switch_to(g, level), node.high.value)
        elif isinstance(node.high, (_Leaf, _Split)):
            q = self.params.data_moduli[level + 1]
            high = self.run(node.high, level + 1, scale * q / g.scale)
            acc = self._product(high, ev.mod_switch_to(g, level + 1))
            acc = _with_scale(acc, _snap(acc.scale, scale))
        else:
            acc = self.constant_times(g, node.high, level, scale)
        if isinstance(node.low, (_Leaf, _Split)):
            return ev.add(acc, self.run(node.low, level, scale))
        return self.add_constant(acc, node.low)


def _with_scale(ct: Ciphertext, scale: float) -> Ciphertext:
    """The same polynomials read at another scale (a new Ciphertext: scales are set once, at construction)."""
    return Ciphertext(ct.params, ct.data, scale, ct.key_id)


def _snap(actual: float, target: float) -> float:
    if not scales_agree(actual, target):
        raise AssertionError(f"scale bookkeeping drifted: {actual} vs {target}")  # pragma: no cover
    return target


def _evaluate(ct: Ciphertext, plan: PolyPlan, evaluator: Evaluator, encoder: Encoder, scale: float) -> Ciphertext:
    require_levels(ct.level, plan.depth, f"a degree-{plan.degree} polynomial", evaluator.params)
    root = plan.root
    if not isinstance(root, (_Leaf, _Split)):  # a constant
        zero = _with_scale(evaluator.multiply_integer(ct, 0), scale)
        return _Executor(evaluator, encoder, ct, plan.basis, scale).add_constant(zero, root)
    executor = _Executor(evaluator, encoder, ct, plan.basis, scale)
    if plan.free_leading:  # the result is read at the scale of x^d (no multiplication could change it)
        scale = executor.power(plan.degree).scale
    return executor.run(root, ct.level - plan.depth, scale)


def polyval(
    ct: Ciphertext, coefficients, evaluator: Evaluator, encoder: Encoder, keep_scale: bool = True
) -> Ciphertext:
    """sum_k c_k x^k (coefficients in increasing degree), slot-wise.

    Level l -> l - ceil(log2(d + 1)) for degree d (leading coefficient included)
    and the scale of ``ct``; with ``keep_scale=False`` one level less when
    d = 2^K and c_d is an integer, the result then at the scale of x^d (see the
    module docstring; TenSEAL's depth or better for every degree).

    Args:
        ct: x (NTT form, level l, scale s).
        coefficients: c_0 .. c_d, real or complex.
        evaluator: products, relinearizations, rescales.
        encoder: encodes the constants.
        keep_scale: keep the scale s (True), or allow the free leading term (False).

    Returns:
        p(x) at level l - ``plan_polynomial(coefficients, keep_scale=keep_scale).depth``.

    Raises:
        InputError: the coefficients are empty, not 1-D, or not finite.
        InputTypeError: the coefficients are not numbers, or ``keep_scale`` is not a bool.
        LevelError: too few levels are left.
        KeyMissingError: the evaluator has no relinearization key (degree >= 2).
    """
    plan = plan_polynomial(coefficients, POWER, keep_scale=keep_scale)
    return _evaluate(ct, plan, evaluator, encoder, ct.scale)


def chebyshev_affine(interval: tuple[float, float]) -> tuple[float, float]:
    """alpha, beta with alpha x + beta mapping [a, b] onto [-1, 1].

    Args:
        interval: (a, b), finite, a < b.

    Returns:
        (alpha, beta) = (2 / (b - a), -(a + b) / (b - a)).

    Raises:
        InputTypeError: ``interval`` is not a pair of numbers.
        InputError: a or b is not finite, or a >= b.
    """
    try:
        a, b = (float(v) for v in interval)
    except Exception as exc:
        raise InputTypeError(f"interval must be a pair of numbers (a, b), got {interval!r}") from exc
    if not (np.isfinite(a) and np.isfinite(b)) or not a < b:
        raise InputError(f"interval must be (a, b) with a < b, both finite, got {interval!r}")
    return 2.0 / (b - a), -(a + b) / (b - a)


def chebyshev_levels(degree: int, interval: tuple[float, float] = (-1.0, 1.0)) -> int:
    """Levels `chebval` uses: ceil(log2(d + 1)), plus 1 when b - a > 2.

    Args:
        degree: d.
        interval: (a, b).

    Returns:
        The levels consumed.

    Raises:
        InputTypeError: ``interval`` is not a pair of numbers.
        InputError: a or b is not finite, or a >= b.
    """
    alpha, _ = chebyshev_affine(interval)
    return levels_for_degree(degree) + (1 if alpha < 1 and degree > 0 else 0)


def chebval(ct: Ciphertext, coefficients, interval, evaluator: Evaluator, encoder: Encoder) -> Ciphertext:
    """sum_k c_k T_k(alpha x + beta), the Chebyshev series of [a, b], slot-wise.

    Level l -> l - `chebyshev_levels`; the result has the scale of ``ct``.

    Args:
        ct: x (NTT form, level l, scale s).
        coefficients: c_0 .. c_d of the series in T_k.
        interval: (a, b), mapped onto [-1, 1].
        evaluator: products, relinearizations, rescales.
        encoder: encodes the constants.

    Returns:
        p(x) at level l - chebyshev_levels(d, interval) and scale s.

    Raises:
        InputError: bad coefficients or interval.
        InputTypeError: the coefficients or the interval are not numbers.
        LevelError: too few levels are left.
        KeyMissingError: the evaluator has no relinearization key (degree >= 2).
    """
    alpha, beta = chebyshev_affine(interval)
    plan = plan_polynomial(coefficients, CHEBYSHEV)
    scale = ct.scale
    if plan.depth == 0:
        return _evaluate(ct, plan, evaluator, encoder, scale)
    require_levels(ct.level, chebyshev_levels(plan.degree, interval), f"a degree-{plan.degree} Chebyshev series",
                   evaluator.params)
    executor = _Executor(evaluator, encoder, ct, CHEBYSHEV, scale)
    if alpha >= 1:
        y = Ciphertext(ct.params, ct.data, ct.scale / alpha, ct.key_id)
        y = executor._normalize(y)
    else:
        y = executor.constant_times(ct, alpha, ct.level - 1, scale)
    y = executor.add_constant(y, beta)
    return _evaluate(y, plan, evaluator, encoder, scale)


def power(ct: Ciphertext, k: int, evaluator: Evaluator) -> Ciphertext:
    """x^k for an integer k >= 1 by products of powers of two.  Level l -> l - ceil(log2 k).

    The scale is s^k / (the primes divided out), kept near s by free integer multiples.

    Args:
        ct: x (NTT form, level l, scale s).
        k: the exponent.
        evaluator: products, relinearizations, rescales.

    Returns:
        x^k at level l - ceil(log2 k) (a copy of ``ct`` for k = 1).

    Raises:
        InputTypeError: ``k`` is not an integer.
        InputError: ``k`` is below 1.
        LevelError: fewer than ceil(log2 k) levels are left.
        KeyMissingError: the evaluator has no relinearization key (k >= 2).
    """
    k = check_int("the exponent", k)
    if k < 1:
        raise InputError(f"the exponent must be at least 1, got {k}")
    require_levels(ct.level, power_depth(k), f"x^{k}", evaluator.params)
    executor = _Executor(evaluator, None, ct, POWER, ct.scale)
    result = executor.power(k)
    return result.copy() if result is ct else result
