"""The key-switching and automorphism kernels against the plain-Python references, and their memory layout.

The layout tests guard the rotation/multiplication time ratio without timing
anything: every array a hot-path kernel receives is C-contiguous (a strided
or permuted view made the key inner product five times slower), the
automorphism is applied as an index map inside the kernels, and a rotation
makes one decomposition, one inner product and one mod-down, like a
relinearization.
"""

from __future__ import annotations

import numpy as np
import pytest

import ckks
from ckks.ring import reference
from ckks.scheme import automorphism, keyswitch, rotation
from ckks.scheme.automorphism import galois_element, ntt_permutation, permuted_add

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")


@pytest.fixture(scope="module")
def ctx():
    """Two-prime digits (the general basis conversion); precision is not the point here."""
    with pytest.warns(ckks.errors.PrecisionWarning):
        context = ckks.Context(64, [40, 30, 30, 40], 30, security=None, dnum=2)
    context.generate_galois_keys(steps=[1, 3], progress=False)
    return context


@pytest.fixture(scope="module")
def ctx1():
    """One prime per digit (SEAL's layout, the default)."""
    context = ckks.Context(64, [40, 30, 30, 40], 30, security=None)
    context.generate_galois_keys(steps=[1], progress=False)
    return context


def _ciphertext(ctx):
    return ctx.encrypt(np.random.default_rng(0).uniform(-1, 1, 32)).ciphertext


def test_mod_up_matches_reference(ctx):
    params = ctx.params
    ct = _ciphertext(ctx)
    switcher = keyswitch.KeySwitcher(params)
    extended = switcher.decompose(ct.data[1])
    ring = params.at_level(ct.level, special=True)
    coefficients = params.at_level(ct.level).to_coefficients(ct.data[1])
    moduli = [int(q) for q in ring.moduli]
    psis = [int(params.tables.psi[r]) for r in ring.rows]
    digits = [[i for i in digit if i <= ct.level] for digit in params.digits]
    assert extended.shape[0] == len(digits) == 2
    for j, digit in enumerate(digits):
        assert (extended[j] == reference.mod_up(coefficients, digit, moduli, psis)).all()


@pytest.mark.parametrize("permuted", [False, True])
def test_key_inner_product_matches_reference(ctx, permuted):
    params = ctx.params
    ct = _ciphertext(ctx)
    switcher = keyswitch.KeySwitcher(params)
    extended = switcher.decompose(ct.data[1])
    key = ctx.relin_key.data
    perm = ntt_permutation(galois_element(3, params.poly_degree), params.poly_degree) if permuted else None
    ring = params.at_level(ct.level, special=True)
    got = switcher.inner_product(extended, key, perm)
    want = reference.key_inner_product(extended, key, list(ring.rows), list(ring.moduli), perm)
    assert (got == want).all()
    if permuted:  # the index map is the permuted copy, without making it
        assert (got == switcher.inner_product(np.ascontiguousarray(extended[:, :, perm]), key)).all()


def test_permuted_add_matches_reference(ctx):
    params = ctx.params
    ring = params.at_level(params.max_level)
    rng = np.random.default_rng(3)
    a = np.stack([rng.integers(0, int(q), params.poly_degree, dtype=np.uint64) for q in ring.moduli])
    b = np.stack([rng.integers(0, int(q), params.poly_degree, dtype=np.uint64) for q in ring.moduli])
    perm = ntt_permutation(galois_element(1, params.poly_degree), params.poly_degree)
    got = permuted_add(a, perm, b, ring.moduli, np.empty_like(a))
    assert (got == reference.permuted_add(a, perm, b, list(ring.moduli))).all()


def _spy(monkeypatch, module, name, calls):
    kernel = getattr(module, name)

    def spy(*args):
        calls.append((name, [a for a in args if isinstance(a, np.ndarray)]))
        return kernel(*args)

    monkeypatch.setattr(module, name, spy)


def test_rotation_hands_only_contiguous_arrays_to_its_kernels(ctx1, monkeypatch):
    ctx = ctx1
    calls: list = []
    _spy(monkeypatch, keyswitch, "mod_up", calls)
    _spy(monkeypatch, keyswitch, "key_inner_product", calls)
    _spy(monkeypatch, rotation, "permuted_add", calls)
    vector = ctx.encrypt(np.arange(32) / 32)
    rotated = vector.rotate(1)
    assert np.allclose(rotated.decrypt(), np.roll(np.arange(32) / 32, -1), atol=1e-3)
    names = [name for name, _ in calls]
    assert names.count("mod_up") == 1 and names.count("key_inner_product") == 1
    assert names.count("permuted_add") == 1
    for name, arrays in calls:
        for array in arrays:
            assert array.flags["C_CONTIGUOUS"], f"{name} received a strided array of shape {array.shape}"


def test_rotation_costs_what_a_relinearization_costs(ctx1, monkeypatch):
    """Operation counts: one rotation = one key switch (same kernels, same sizes) as one relinearization."""
    ctx = ctx1
    calls: list = []
    _spy(monkeypatch, keyswitch, "mod_up", calls)
    _spy(monkeypatch, keyswitch, "key_inner_product", calls)
    x = ctx.encrypt(np.ones(32))
    x.rotate(1)
    polys = [[a.shape for a in arrays if a.ndim >= 2] for _, arrays in calls]  # not the index map
    calls.clear()
    ctx.evaluator.relinearize(ctx.evaluator.multiply(x.ciphertext, x.ciphertext))
    assert [[a.shape for a in arrays if a.ndim >= 2] for _, arrays in calls] == polys


def test_apply_automorphism_output_is_contiguous(ctx):
    data = np.arange(3 * 64, dtype=np.uint64).reshape(3, 64)
    out = automorphism.apply_automorphism(data, galois_element(1, 64))
    assert out.flags["C_CONTIGUOUS"]
