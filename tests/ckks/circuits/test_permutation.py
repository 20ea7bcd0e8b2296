"""Block permutations as masked hoisted rotations, moved-mask products, block sums (`ckks.circuits.permutation`).

Every encrypted result is checked against a numpy reference written from the definition
y[g G n + b n + l] = w_g[l] x[g G n + b n + src_g[l]], not from the masks.
"""

from __future__ import annotations

import numpy as np
import pytest

from ckks.circuits import permutation as pm
from ckks.circuits.matrix_product import phi_sigma_sources, psi_tau_sources, transpose_sources
from ckks.errors import InputError, InputTypeError, LevelError
from ckks.scheme.counting import OperationCounter

N = 128  # S = 64 slots
D = 4  # 4 groups of one 16-slot block (d^3 = 64 = S): Jiang's product of 4 x 4 matrices
TOL = 1e-4  # scale 2^30 at N = 128: errors of a few 1e-6 per operation


def reference(groups, x: np.ndarray) -> np.ndarray:
    """The permutation from its definition (the input read in its own block)."""
    m, n = len(groups), len(groups[0][0])
    runs = x.size // (m * n)  # blocks per group
    y = np.zeros_like(x)
    for g, (src, w) in enumerate(groups):
        for b in range(runs):
            start = (g * runs + b) * n
            y[start: start + n] = (np.ones(n) if w is None else w) * x[start + np.asarray(src)]
    return y


def random_groups(rng, m: int, n: int, zero_some: bool = True):
    groups = []
    for _ in range(m):
        w = rng.uniform(-2, 2, n)
        if zero_some:
            w[rng.integers(0, n)] = 0.0
        groups.append((rng.permutation(n), w))
    return groups


@pytest.fixture(scope="module")
def pctx(toy):
    context = toy(N, (50, 30, 30, 30, 50), 30, seed=11)
    steps = set(range(-15, 16)) | set(pm.sum_steps(16, 4)) - {0}
    context.generate_galois_keys(steps=sorted(steps), progress=False)
    return context


def encrypt(ctx, values):
    return ctx.encrypt(values).ciphertext


def decrypt(ctx, ct):
    import ckks

    return ctx.decrypt(ckks.CKKSVector(ctx, ct, ctx.slots)).real


# -- plaintext -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("m, n", [(1, 64), (2, 16), (4, 8), (4, 16)])
def test_masks_reproduce_the_definition(m, n):
    rng = np.random.default_rng(m * n)
    groups = random_groups(rng, m, n)
    perm = pm.Permutation(groups, 64)
    x = rng.uniform(-1, 1, 64)
    np.testing.assert_allclose(perm.apply_plain(x), reference(groups, x), atol=1e-12)
    # disjoint supports: every slot is covered by at most one mask
    assert np.all(sum((mask != 0).astype(int) for mask in perm.masks.values()) <= 1)
    assert perm.steps == sorted(r for r in perm.masks if r)
    # the same map as a LinearTransform (which merges offsets equal modulo S: one group of one block)
    transform = perm.as_linear_transform()
    y = sum(diag * np.roll(x, -k) for k, diag in transform.diagonals.items())
    np.testing.assert_allclose(y.real, reference(groups, x), atol=1e-12)


def test_a_periodic_input_may_read_the_neighbouring_copy_with_fewer_offsets():
    d = 8
    sources = psi_tau_sources(d)  # offsets d (-d, d): 15 of them, 8 modulo d^2
    x = np.tile(np.random.default_rng(0).uniform(-1, 1, d * d), 2)
    plain, periodic = pm.Permutation.from_sources(sources, 128), pm.Permutation.from_sources(sources, 128, True)
    assert len(plain.masks) == 2 * d - 1 and len(periodic.masks) == d
    assert all(-d * d // 2 < r <= d * d // 2 for r in periodic.masks)
    np.testing.assert_allclose(periodic.apply_plain(x), reference([(sources, None)], x))
    np.testing.assert_allclose(plain.apply_plain(x), periodic.apply_plain(x))
    np.testing.assert_array_equal(pm.block_offsets(sources, d * d, True) % (d * d),
                                  pm.block_offsets(sources, d * d) % (d * d))


def test_sum_steps_add_the_runs():
    x = np.random.default_rng(1).uniform(-1, 1, 64)
    y = x.copy()
    for step in pm.sum_steps(8, 4):
        y = y + np.roll(y, -step)
    expected = sum(np.roll(x, -8 * u) for u in range(4))
    np.testing.assert_allclose(y, expected)
    assert pm.sum_steps(16, 1) == [] and pm.sum_steps(3, 8) == [3, 6, 12]


def test_the_product_sources_are_jiangs_permutations():
    d = 4
    a = np.arange(d * d).reshape(d, d)
    for k in range(d):
        i, j = np.indices((d, d))
        np.testing.assert_array_equal(a.reshape(-1)[phi_sigma_sources(d, k)].reshape(d, d), a[i, (i + j + k) % d])
        np.testing.assert_array_equal(a.reshape(-1)[psi_tau_sources(d, k)].reshape(d, d), a[(i + j + k) % d, j])
    np.testing.assert_array_equal(a.reshape(-1)[transpose_sources(d)].reshape(d, d), a.T)


# -- encrypted -----------------------------------------------------------------------------------------------


def test_apply_keeps_the_scale_and_matches_numpy(pctx):
    rng = np.random.default_rng(2)
    groups = random_groups(rng, 4, 16)
    perm = pm.Permutation(groups, pctx.slots)
    x = rng.uniform(-1, 1, pctx.slots)
    ct = encrypt(pctx, x)
    with OperationCounter() as counts:
        out = perm.apply(ct, pctx.evaluator, pctx.encoder, pctx.rotator)
    assert out.level == ct.level - 1 and out.scale == ct.scale
    np.testing.assert_allclose(decrypt(pctx, out), reference(groups, x), atol=TOL)
    assert counts.rotations == len(perm.steps) and counts.hoisted_decompositions == 1
    assert counts.pt_multiplications == len(perm.masks) and counts.rescales == 1
    doubled = perm.apply(ct, pctx.evaluator, pctx.encoder, pctx.rotator, mask_scale=2.0)
    assert doubled.scale == 2 * ct.scale
    np.testing.assert_allclose(decrypt(pctx, doubled), reference(groups, x), atol=TOL)


def test_shared_rotations_serve_several_permutations(pctx):
    rng = np.random.default_rng(3)
    perms = [pm.Permutation(random_groups(rng, 4, 16, zero_some=False), pctx.slots) for _ in range(2)]
    x = rng.uniform(-1, 1, pctx.slots)
    ct = encrypt(pctx, x)
    with OperationCounter() as counts:
        rotated = pm.hoisted_rotations(ct, perms, pctx.rotator)
        outs = [p.apply(ct, pctx.evaluator, pctx.encoder, pctx.rotator, rotated=rotated) for p in perms]
    assert counts.hoisted_decompositions == 1
    assert counts.rotations == len(set(perms[0].steps) | set(perms[1].steps))
    for p, out in zip(perms, outs):
        np.testing.assert_allclose(decrypt(pctx, out), p.apply_plain(x), atol=TOL)


def test_moved_product_is_jiangs_matrix_product(pctx):
    # group k of the left operand: phi^k(sigma(A)); group k of the right: psi^k(tau(B)); their product summed over
    # the 4 groups is A B.  The left permutation's masks ride on the right operand (moved_product).
    rng = np.random.default_rng(4)
    a, b = rng.uniform(-1, 1, (D, D)), rng.uniform(-1, 1, (D, D))
    slots = pctx.slots
    left = pm.Permutation([(phi_sigma_sources(D, k), None) for k in range(D)], slots)
    right = pm.Permutation([(psi_tau_sources(D, k), None) for k in range(D)], slots, periodic=True)
    ca, cb = encrypt(pctx, np.tile(a.reshape(-1), D)), encrypt(pctx, np.tile(b.reshape(-1), D))
    ev, enc, rot = pctx.evaluator, pctx.encoder, pctx.rotator
    b_right = right.apply(cb, ev, enc, rot)
    for rescale in (True, False):
        copies = left.masked_copies(b_right, ev, enc, rescale=rescale)
        assert set(copies) == set(left.masks) and all(c.level == b_right.level - rescale for c in copies.values())
        with OperationCounter() as counts:
            out = pm.moved_product(pm.hoisted_rotations(ca, [left], rot), copies, ev, rot,
                                   pm.sum_steps(slots // D, D), rescales=1 if rescale else 2)
        assert counts.ct_ct_multiplications == len(left.masks) and counts.relinearizations == 1
        assert counts.rotations == len(left.steps) + 2  # the hoisted set, then log2(4) group sums
        assert out.level == b_right.level - 2  # one level on b (the masks) and one for the product, either way
        np.testing.assert_allclose(decrypt(pctx, out), np.tile((a @ b).reshape(-1), D), atol=TOL)


def test_rotate_and_sum_adds_the_groups(pctx):
    x = np.random.default_rng(5).uniform(-1, 1, pctx.slots)
    out = pm.rotate_and_sum(encrypt(pctx, x), pm.sum_steps(16, 4), pctx.evaluator, pctx.rotator)
    np.testing.assert_allclose(decrypt(pctx, out), sum(np.roll(x, -16 * u) for u in range(4)), atol=TOL)


# -- bad input -----------------------------------------------------------------------------------------------


def test_bad_permutations_are_refused_with_what_to_do():
    ok = np.arange(16)
    with pytest.raises(InputError, match=r"\[0, 16\)"):
        pm.Permutation([(np.r_[ok[:-1], 16], None)], 64)
    with pytest.raises(InputTypeError, match="integer slot indices"):
        pm.Permutation([(ok.astype(float), None)], 64)
    with pytest.raises(InputError, match="expected \\(16,\\)"):
        pm.Permutation([(ok, np.ones(15))], 64)
    with pytest.raises(InputError, match="NaN"):
        pm.Permutation([(ok, np.r_[np.ones(15), np.nan])], 64)
    with pytest.raises(InputError, match="multiple of 48"):
        pm.Permutation([(ok, None)] * 3, 64)
    with pytest.raises(InputError, match="zero map"):
        pm.Permutation([(ok, np.zeros(16))], 64)
    with pytest.raises(InputError, match="non-empty list"):
        pm.Permutation([], 64)
    with pytest.raises(InputError, match="pair"):
        pm.Permutation([(ok, None, None)], 64)
    with pytest.raises(InputError, match="blocks have 16 slots"):
        pm.Permutation([(ok, None), (np.arange(8), None)], 64)
    with pytest.raises(InputTypeError, match="periodic"):
        pm.Permutation([(ok, None)], 64, periodic="yes")
    with pytest.raises(InputError, match="power of two"):
        pm.sum_steps(16, 3)
    with pytest.raises(InputError, match="blocks have 16 slots"):
        pm.block_offsets(np.arange(8), 16)
    sources = np.r_[ok[:-1], 16]
    before = sources.copy()
    with pytest.raises(InputError):
        pm.Permutation.from_sources(sources, 64)
    np.testing.assert_array_equal(sources, before)  # inputs are left unchanged


def test_bad_encrypted_calls_are_refused(pctx):
    ev, enc, rot = pctx.evaluator, pctx.encoder, pctx.rotator
    perm = pm.Permutation.from_sources(transpose_sources(4), pctx.slots)
    ct = encrypt(pctx, np.ones(pctx.slots))
    with pytest.raises(InputError, match="hoisted_rotations"):
        perm.apply(ct, ev, enc, rot, rotated={0: ct})
    with pytest.raises(InputError, match="Permutation.plaintexts"):
        perm.apply(ct, ev, enc, rot, plaintexts={})
    with pytest.raises(InputError, match="mask_scale"):
        perm.apply(ct, ev, enc, rot, mask_scale=-1.0)
    low = ev.mod_switch_to(ct, 0)
    with pytest.raises(LevelError, match="1 levels"):
        perm.apply(low, ev, enc, rot)
    with pytest.raises(InputError, match="slots=ctx.slots"):
        pm.Permutation.from_sources(transpose_sources(4), 32).plaintexts(enc, ct.level)
    with pytest.raises(InputTypeError, match="Permutation"):
        pm.hoisted_rotations(ct, [perm.masks], rot)
    copies = perm.masked_copies(ct, ev, enc)
    rotated = pm.hoisted_rotations(ct, [perm], rot)
    with pytest.raises(InputError, match="copies is empty"):
        pm.moved_product(rotated, {}, ev, rot)
    with pytest.raises(InputError, match="lacks the rotations"):
        pm.moved_product({0: ct}, copies, ev, rot)
    with pytest.raises(InputError, match="0, 1 or 2"):
        pm.moved_product(rotated, copies, ev, rot, rescales=3)
    low_copies = {r: ev.mod_switch_to(c, 0) for r, c in copies.items()}
    with pytest.raises(LevelError, match="moved product"):
        pm.moved_product(rotated, low_copies, ev, rot)
