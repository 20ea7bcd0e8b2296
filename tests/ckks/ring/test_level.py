"""RingAtLevel, the level-bound view of the RNS ring, against numpy and the plain-Python references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ckks.errors import InputError, InsecureWarning, LevelError, PrecisionWarning
from ckks.ring import primes, reference
from ckks.ring.level import RingAtLevel
from ckks.ring.ntt import ntt_tables
from ckks.ring.rns import ratios_of
from ckks.ring.sampling import PRNG

N = 16
CHAIN = (40, 50, 55, 61)


@pytest.fixture(scope="module")
def table():
    moduli = tuple(primes.coeff_modulus(N, list(CHAIN)))
    return ntt_tables(N, moduli), ratios_of(moduli), moduli


@pytest.fixture(params=[[0], [0, 1, 2], [0, 1, 3], [3, 1]], ids=lambda r: f"rows{r}")
def ring(request, table):
    tables, ratios, _ = table
    return RingAtLevel(tables, np.array(request.param), ratios)


def residues(ring: RingAtLevel, rng: np.random.Generator) -> np.ndarray:
    return np.stack([rng.integers(0, int(q), N, dtype=np.uint64) for q in ring.moduli])


def as_ints(a: np.ndarray) -> list[list[int]]:
    return [[int(x) for x in row] for row in a]


def test_attributes_are_the_rows_of_the_table(ring, table):
    _, ratios, moduli = table
    assert ring.limbs == len(ring.rows) and ring.poly_degree == N and ring.shape == (ring.limbs, N)
    assert [int(q) for q in ring.moduli] == [moduli[r] for r in ring.rows]
    assert np.array_equal(ring.ratios, ratios[ring.rows])
    assert ring.moduli.dtype == np.uint64 and ring.ratios.flags.c_contiguous
    assert ring.zeros().shape == ring.empty().shape == ring.shape and not ring.zeros().any()


def test_from_signed_and_to_coefficients_round_trip(ring):
    rng = np.random.default_rng(1)
    values = rng.integers(-(2**30), 2**30, N)
    ntt = ring.from_signed(values)
    coefficients = ring.to_coefficients(ntt)
    want = [[int(v) % int(q) for v in values] for q in ring.moduli]
    assert as_ints(coefficients) == want
    # to_coefficients leaves its input alone; forward/inverse work in place
    assert np.array_equal(ring.forward(coefficients.copy()), ntt)
    again = ntt.copy()
    assert ring.inverse(again) is again and as_ints(again) == want


def test_from_signed_matches_the_reference_ntt(ring, table):
    tables = table[0]
    values = np.arange(N) - N // 2
    got = ring.from_signed(values)
    for limb, row in enumerate(ring.rows):
        q = int(ring.moduli[limb])
        want = reference.ntt([int(v) % q for v in values], q, int(tables.psi[row]))
        assert [int(x) for x in got[limb]] == want


def test_add_sub_neg_agree_with_modular_arithmetic(ring):
    rng = np.random.default_rng(2)
    a, b = residues(ring, rng), residues(ring, rng)
    q = [int(x) for x in ring.moduli]
    ia, ib = as_ints(a), as_ints(b)
    assert as_ints(ring.add(a, b)) == [[(x + y) % m for x, y in zip(ra, rb)] for ra, rb, m in zip(ia, ib, q)]
    assert as_ints(ring.sub(a, b)) == [[(x - y) % m for x, y in zip(ra, rb)] for ra, rb, m in zip(ia, ib, q)]
    assert as_ints(ring.neg(a)) == [[-x % m for x in ra] for ra, m in zip(ia, q)]
    out = a.copy()
    assert ring.add(out, b, out=out) is out and np.array_equal(out, ring.add(a, b))


def test_mul_in_ntt_form_is_the_negacyclic_product(ring):
    rng = np.random.default_rng(3)
    a, b = residues(ring, rng), residues(ring, rng)
    product = ring.to_coefficients(ring.mul(ring.forward(a.copy()), ring.forward(b.copy())))
    for limb, q in enumerate(ring.moduli):
        want = reference.negacyclic_product(as_ints(a)[limb], as_ints(b)[limb], int(q))
        assert [int(x) for x in product[limb]] == want
    # pointwise: the Barrett product agrees with Python integers
    pointwise = ring.mul(a, b)
    for limb, q in enumerate(ring.moduli):
        assert [int(x) for x in pointwise[limb]] == [reference.mul_mod(x, y, int(q)) for x, y in zip(a[limb], b[limb])]


def test_uniform_draws_each_limb_below_its_prime(ring):
    got = ring.uniform(PRNG(b"seed"))
    assert got.shape == ring.shape and (got < ring.moduli[:, None]).all()
    prng = PRNG(b"seed")
    assert np.array_equal(got, np.stack([prng.uniform_mod(int(q), N) for q in ring.moduli]))


def test_sub_ring_keeps_the_leading_limbs(table):
    tables, ratios, _ = table
    ring = RingAtLevel(tables, np.array([0, 1, 3]), ratios)
    sub = ring.sub_ring(2)
    assert sub.limbs == 2 and sub.rows.tolist() == [0, 1] and np.array_equal(sub.moduli, ring.moduli[:2])
    values = np.arange(N) - 3
    assert np.array_equal(sub.from_signed(values), ring.from_signed(values)[:2])
    for bad in (0, 4, 1.5, None):
        with pytest.raises(InputError, match="sub-ring needs between 1 and 3 limbs"):
            ring.sub_ring(bad)


def test_check_refuses_wrong_arrays(table):
    tables, ratios, _ = table
    ring = RingAtLevel(tables, np.array([0, 1]), ratios)
    ring.check(ring.zeros())
    for bad in (np.zeros((2, N), dtype=np.int64), np.zeros((3, N), dtype=np.uint64), [[0] * N] * 2):
        with pytest.raises(InputError, match=r"uint64 array of shape \(2, 16\)"):
            ring.check(bad, "c0")
    with pytest.raises(InputError, match="C-contiguous"):
        ring.check(np.zeros((N, 2), dtype=np.uint64).T)


# -- the views a parameter set hands out ---------------------------------------------------------------
@pytest.fixture(scope="module")
def params():
    from ckks.scheme.parameters import Parameters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        warnings.simplefilter("ignore", PrecisionWarning)
        return Parameters(N, [50, 30, 30, 30, 50, 45], 30, security=None, special_count=2)


def test_level_views_of_parameters(params):
    for level in range(params.max_level + 1):
        ring = params.at_level(level)
        assert ring.rows.tolist() == list(range(level + 1))
        assert [int(q) for q in ring.moduli] == list(params.data_moduli[: level + 1])
        assert params.at_level(level) is ring  # cached on the parameters


def test_special_view_appends_the_special_rows(params):
    ring = params.at_level(1, special=True)
    assert ring.rows.tolist() == [0, 1, 4, 5]
    assert [int(q) for q in ring.moduli] == [*params.data_moduli[:2], *params.special_moduli]
    assert ring.rows[ring.limbs - params.special_count :].tolist() == params.special_rows().tolist()
    assert np.array_equal(ring.ratios, ratios_of(ring.moduli))


@pytest.mark.parametrize("level", [-1, 4, True, 1.0, "1", None])
def test_level_outside_the_chain_raises(params, level):
    with pytest.raises(LevelError, match=r"level must be an integer in \[0, 3\]"):
        params.at_level(level)
