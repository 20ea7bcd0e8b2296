"""Polynomial evaluation (power and Chebyshev bases), powers, and Chebyshev fitting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial import chebyshev as npcheb
from numpy.polynomial import polynomial as nppoly

import ckks
from ckks.circuits import chebyshev
from ckks.circuits.polynomial import chebyshev_levels, levels_for_degree, plan_polynomial
from ckks.errors import InputError, InputTypeError, LevelError


@pytest.fixture(scope="module")
def ctx() -> ckks.Context:
    """N = 16384 with five 40-bit levels (degree up to 31)."""
    return ckks.Context(16384, [60, 40, 40, 40, 40, 40, 60], 40)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.linspace(-1, 1, 200)


@pytest.fixture(scope="module")
def vec(ctx, x):
    return ctx.encrypt(x)


def err(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


@pytest.mark.parametrize("basis", ["power", "chebyshev"])
def test_plan_depth_is_optimal_for_every_degree(basis):
    for degree in range(0, 70):
        plan = plan_polynomial(np.linspace(0.5, 1.5, degree + 1), basis)
        assert plan.depth == levels_for_degree(degree) == (math.ceil(math.log2(degree + 1)) if degree else 0)
        assert plan.products <= 2 * math.isqrt(2 * degree + 1) + math.ceil(math.log2(degree + 1)) + 4


def test_plan_counts_for_the_benchmark_degrees():
    assert plan_polynomial(np.ones(8)).products == 5
    assert plan_polynomial(np.ones(16)).products == 8
    assert plan_polynomial([1.0, 0, 0, 0, 0, 0, 0, 0]).degree == 0  # zero leading coefficients dropped


@pytest.mark.parametrize("degree", [0, 1, 2, 3, 4, 7, 8, 15, 16, 31])
def test_polyval_levels_and_values(vec, x, degree):
    c = np.random.default_rng(degree).uniform(-1, 1, degree + 1)
    out = vec.polyval(c)
    assert vec.level - out.level == levels_for_degree(degree)
    assert out.scale == vec.scale
    assert err(out.decrypt(), nppoly.polyval(x, c)) < 1e-5


def test_polyval_monic_and_sparse(vec, x):
    out = vec.polyval([0, 0, 0, 0, 0, 0, 0, 1])  # x^7
    assert vec.level - out.level == 3
    assert err(out.decrypt(), x**7) < 1e-6
    out = vec.polyval([0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2.0])
    assert vec.level - out.level == 4
    assert err(out.decrypt(), 0.5 - 2 * x**15) < 1e-5


def test_polyval_complex_coefficients(ctx, x):
    v = ctx.encrypt(x[:16])
    c = [1 + 1j, 0.5, -0.25j]
    out = v.polyval(c)
    assert out.is_complex
    assert err(out.decrypt(), nppoly.polyval(x[:16], c)) < 1e-6


def test_polyval_keeps_short_vectors_clean(ctx, x):
    """p(0) lands in the unused slots; it is removed, so sum() sees only the vector's values."""
    short = ctx.encrypt(x[:10])
    out = short.polyval([3.0, 1.0, 2.0])
    assert out.zero_tail and out.size == 10
    assert err(ctx.decrypt(ckks.CKKSVector(ctx, out.ciphertext, 20))[10:], 0) < 1e-6


@pytest.mark.parametrize(
    ("degree", "interval"), [(7, (-1, 1)), (15, (-8, 8)), (15, (0, 1)), (8, (-3, 3)), (5, (2, 4)), (31, (-1, 1))]
)
def test_chebval_levels_and_values(ctx, degree, interval):
    a, b = interval
    xs = np.linspace(a, b, 300)
    v = ctx.encrypt(xs)
    c = np.random.default_rng(degree).uniform(-1, 1, degree + 1)
    out = v.chebval(c, interval)
    expected_levels = math.ceil(math.log2(degree + 1)) + (1 if b - a > 2 else 0)
    assert chebyshev_levels(degree, interval) == expected_levels == v.level - out.level
    y = (2 * xs - a - b) / (b - a)
    # the rescale errors (about 6e-9 at 2^40, the largest of 300 slots) amplified by the Chebyshev sum, up to
    # sum_k k |c_k| (about 250 for degree 31): 150 encryptions of the degree-31 case measured 1.3e-6 to 1.2e-5,
    # and one CI run 2.3e-5, so that case gets 6e-5
    assert err(out.decrypt(), npcheb.chebval(y, c)) < (6e-5 if degree > 16 else 2e-5)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 13, 32])
def test_pow_levels(vec, x, k):
    out = vec.pow(k)
    assert vec.level - out.level == math.ceil(math.log2(k))
    assert err(out.decrypt(), x**k) < 1e-6
    assert err((vec**k).decrypt(), x**k) < 1e-6


def test_square_uses_one_level(vec, x):
    out = vec.square()
    assert vec.level - out.level == 1 and err(out.decrypt(), x**2) < 1e-6


def test_level_errors_say_how_many_levels(ctx, x):
    v = ctx.encrypt(x) * 1.0 * 1.0  # 3 levels left
    with pytest.raises(LevelError, match=r"degree-15 polynomial needs 4 levels .* at level 3 \(1 more needed\)"):
        v.polyval(np.ones(16))
    with pytest.raises(LevelError, match="moduli_bits=\\[60, 40, 40, 40, 40, 40, 40, 60\\]"):
        v.pow(16)
    with pytest.raises(LevelError, match="Chebyshev"):
        v.chebval(np.ones(8), (-4, 4))
    assert v.polyval(np.ones(8)).level == 0  # exactly enough


def test_bad_coefficients(vec):
    with pytest.raises(InputError, match="NaN"):
        vec.polyval([1.0, np.nan])
    with pytest.raises(InputTypeError):
        vec.polyval(["a", "b"])
    with pytest.raises(InputError):
        vec.polyval([])
    with pytest.raises(InputError, match="a < b"):
        vec.chebval([1.0, 2.0], (1, -1))
    with pytest.raises(InputError):
        vec.pow(-1)  # v ** 0 is a fresh encryption of ones, as in TenSEAL
    with pytest.raises(InputTypeError):
        vec.pow(2.5)


# -- fitting ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "interval", "degree", "bound"),
    [
        ("sigmoid", (-8, 8), 15, 2e-3),
        ("relu", (-1, 1), 15, 4e-2),
        ("exp", (-2, 2), 7, 1e-4),
        ("inverse", (1, 8), 15, 1e-4),
    ],
)
def test_fit_reports_its_error_and_evaluates_encrypted(ctx, name, interval, degree, bound):
    fit = chebyshev.fit(name, interval, degree)
    assert fit.degree == degree and fit.max_error < bound
    grid = np.linspace(*interval, 2001)
    assert np.max(np.abs(fit(grid) - chebyshev.FUNCTIONS[name](grid))) <= fit.max_error * (1 + 1e-9)
    v = ctx.encrypt(grid[::10])
    out = fit.evaluate(v)
    assert v.level - out.level == fit.levels
    assert err(out.decrypt(), chebyshev.FUNCTIONS[name](grid[::10])) < fit.max_error + 1e-4
    assert err(nppoly.polyval(grid, fit.power_coefficients()), fit(grid)) < 1e-6


def test_fit_errors_and_fit_to_error():
    assert chebyshev.fit_to_error("exp", (-1, 1), 1e-6).degree <= 10
    with pytest.raises(InputError, match="unknown function"):
        chebyshev.fit("softplus", (-1, 1), 3)
    with pytest.raises(InputError, match="not finite"):
        chebyshev.fit("inverse", (-1, 1), 4)
    with pytest.raises(InputError, match="no Chebyshev fit"):
        chebyshev.fit_to_error("relu", (-1, 1), 1e-9, max_degree=8)
    assert chebyshev.fit(np.sin, (0, 3), 9).name == "sin"
