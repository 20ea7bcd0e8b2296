"""Galois automorphisms, Galois keys, rotations, conjugation, hoisting, sum and dot."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import ckks
from ckks.errors import InputError, KeyMissingError, LevelError
from ckks.ring import reference
from ckks.ring.level import RingAtLevel
from ckks.scheme.automorphism import (
    apply_automorphism,
    conjugation_element,
    default_steps,
    galois_element,
    ntt_permutation,
)
from ckks.scheme.rotation import Rotator

SLOTS = 4096


@pytest.fixture(scope="module")
def ctx(galois_ctx8192) -> ckks.Context:
    """N = 8192, [60, 40, 40, 60] with the default Galois keys (+-2^i and conjugation)."""
    return galois_ctx8192


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return np.random.default_rng(7).uniform(-1, 1, SLOTS)


@pytest.fixture(scope="module")
def vec(ctx, values):
    return ctx.encrypt(values)


def close(a, b, tol=1e-5) -> None:
    assert np.max(np.abs(np.asarray(a) - np.asarray(b))) < tol


# -- automorphisms on polynomials --------------------------------------------------------------


@pytest.mark.parametrize("element_of", [lambda n: galois_element(1, n), lambda n: galois_element(3, n),
                                        lambda n: galois_element(-1, n), conjugation_element])
def test_ntt_automorphism_matches_coefficient_reference(toy, element_of):
    params = toy(16, (40, 30, 40), 20).params
    n, rng = params.poly_degree, np.random.default_rng(1)
    g = element_of(n)
    for row, q in enumerate(params.all_moduli):
        a = rng.integers(0, q, n, dtype=np.uint64)
        expected = reference.automorphism(list(a), g, q)
        ring = RingAtLevel(params.tables, np.array([row]), params.ratios)
        ntt = ring.forward(a.copy()[None, :])
        back = ring.inverse(apply_automorphism(ntt, g))[0]
        assert [int(x) for x in back] == expected


def test_permutation_is_a_permutation_and_composes():
    n = 64
    p1, p5 = ntt_permutation(galois_element(1, n), n), ntt_permutation(galois_element(5, n), n)
    assert sorted(p1.tolist()) == list(range(n))
    # sigma_g sigma_h = sigma_gh: rotating by 1 five times is rotating by 5
    data = np.arange(n)
    composed = data
    for _ in range(5):
        composed = composed[p1]
    assert np.array_equal(composed, data[p5])
    with pytest.raises(InputError):
        ntt_permutation(4, n)


def test_default_steps_are_signed_powers_of_two():
    steps = default_steps(8192)
    assert 1 in steps and -1 in steps and 2048 in steps and -2048 not in steps
    assert len(steps) == 23 and len({k % SLOTS for k in steps}) == 23


# -- rotations on ciphertexts --------------------------------------------------------------------------


@pytest.mark.parametrize("step", [0, 1, -1, 2, 3, 5, 7, 100, -100, 1000, 2047, 2048, -4095, 4095, 4096, 12345])
def test_rotate_matches_numpy_roll(vec, values, step):
    rotated = vec.rotate(step)
    close(rotated.decrypt(), np.roll(values, -step))
    assert rotated.level == vec.level and rotated.scale == vec.scale


def test_rotation_composition_uses_naf_of_default_keys(ctx):
    rotator = ctx.rotator
    assert rotator.composition(1) == [1]
    assert sorted(rotator.composition(7)) == [-1, 8]
    assert len(rotator.composition(100)) == 3  # 100 = 64 + 32 + 4
    assert rotator.composition(SLOTS) == []


def test_conjugate(ctx):
    z = np.random.default_rng(3).normal(size=SLOTS) + 1j * np.random.default_rng(4).normal(size=SLOTS)
    v = ctx.encrypt(z)
    out = v.conjugate()
    assert out.is_complex and out.level == v.level
    close(out.decrypt(), np.conj(z))


def test_hoisted_rotations_match_single_rotations(ctx, vec, values):
    steps = [1, 2, 3, 4, -1, -8, 16, 100]  # 3 and 100 have no key: composed on top of the hoisted ones
    many = vec.rotate_many(steps)
    assert set(many) == set(steps)
    for k in steps:
        close(many[k].decrypt(), np.roll(values, -k))
    assert ctx.rotator.rotations_needed([1, 2, 4]) == 3


def test_rotation_keys_for_chosen_steps_and_progress(ctx, values):
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key)
    stream = io.StringIO()
    keys = keygen.create_galois_keys([3, 5, -7, 3 + SLOTS, 0], progress=True, stream=stream)
    assert len(keys) == 3 and keys.steps() == sorted([3, 5, SLOTS - 7])
    assert "Galois keys" not in stream.getvalue()  # three keys: no bar
    keys = keygen.create_galois_keys([9, 10, 11, 12], progress=True, stream=stream)
    assert "4/4" in stream.getvalue()
    rotator = Rotator(ctx.params, keys)
    ct = ctx.encrypt(values).ciphertext
    out = ctx.encoder.decode(ctx.decryptor.decrypt(rotator.rotate(ct, 21)))  # 21 = 9 + 12
    close(out.real, np.roll(values, -21))
    assert len(rotator.composition(21)) == 2


def test_context_progress_bar_goes_to_stderr_only_when_it_is_a_terminal(toy, capsys, monkeypatch):
    """The bar (tqdm) is for people: captured or logged stderr (not a terminal) gets nothing, a terminal gets it."""
    context = toy(64)
    context.generate_galois_keys(progress=True)
    assert capsys.readouterr().err == ""  # captured: not a terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    context = toy(64)
    context.generate_galois_keys(progress=True)
    monkeypatch.undo()
    err = terminal.getvalue()
    assert "Galois keys" in err and f"{len(context.galois_keys)}/{len(context.galois_keys)}" in err
    # asking again makes nothing new
    before = len(context.galois_keys)
    context.generate_galois_keys(steps=[1, 2], progress=True)
    assert len(context.galois_keys) == before


def test_missing_key_names_step_and_call(toy):
    context = toy(64)
    v = context.encrypt(np.arange(8.0))
    with pytest.raises(KeyMissingError, match=r"step 5 .*generate_galois_keys\(steps=\[5\]\)"):
        v.rotate(5)
    context.generate_galois_keys(steps=[2], progress=False)  # even steps only: 1 cannot be composed
    close(v.rotate(4).decrypt()[:4], [4, 5, 6, 7])
    with pytest.raises(KeyMissingError, match=r"rotation by 1 needs a Galois key for step 1"):
        v.rotate(1)
    with pytest.raises(KeyMissingError, match="conjugation"):
        v.conjugate()


def test_public_copy_rotates_but_cannot_make_keys(ctx, values):
    public = ctx.public_copy()
    v = public.encrypt(values)
    moved = v.rotate(3)
    assert np.allclose(ctx.decrypt(ckks.CKKSVector(ctx, moved.ciphertext, moved.size)), np.roll(values, -3), atol=1e-5)
    with pytest.raises(KeyMissingError, match="secret key"):
        public.generate_galois_keys(steps=[3])


def test_rotation_rejects_unrelinearized_ciphertexts(ctx, vec):
    tensor = ctx.evaluator.multiply(vec.ciphertext, vec.ciphertext)
    with pytest.raises(InputError, match="size 2"):
        ctx.rotator.rotate(tensor, 1)


# -- sum and dot -------------------------------------------------------------------------------------------


def test_sum_of_full_vector_in_every_slot_uses_no_level(ctx, vec, values):
    total = vec.sum()
    assert total.size == 1 and total.level == vec.level
    close(total.decrypt(), [values.sum()], 1e-4)
    close(ckks.CKKSVector(ctx, total.ciphertext, SLOTS).decrypt(), np.full(SLOTS, values.sum()), 1e-4)


def test_sum_of_short_vector_counts_only_its_values(ctx, values):
    short = ctx.encrypt(values[:10])
    assert short.sum().level == short.level  # known-zero tail: no mask
    close(short.sum().decrypt(), [values[:10].sum()])
    # a vector whose other slots hold garbage: one level for the mask, same total
    dirty = ckks.CKKSVector(ctx, ctx.encrypt(values).ciphertext, 10)
    total = dirty.sum()
    assert total.level == dirty.level - 1
    close(total.decrypt(), [values[:10].sum()])
    # a rotated vector is dirty too
    moved = short.rotate(2)
    assert not moved.zero_tail
    close(moved.sum().decrypt(), [values[2:10].sum()])  # values[:2] wrapped to the last slots


def test_dot_with_plain_and_cipher(ctx, values):
    x, y = values[:100], values[100:200]
    u, w = ctx.encrypt(x), ctx.encrypt(y)
    plain = u.dot(y)
    cipher = u.dot(w)
    assert plain.size == cipher.size == 1
    assert plain.level == u.level - 1 and cipher.level == u.level - 1
    close(plain.decrypt(), [x @ y])
    close(cipher.decrypt(), [x @ y])
    close(u.dot(u).decrypt(), [x @ x])


def test_dot_size_mismatch_names_argument(ctx, values):
    u = ctx.encrypt(values[:5])
    with pytest.raises(InputError, match="argument 'other' has 4"):
        u.dot(values[:4])
    with pytest.raises(InputError, match="argument 'other'"):
        u.dot(ctx.encrypt(values[:6]))


def test_dot_out_of_levels(ctx, values):
    u = ctx.encrypt(values[:5])
    low = u * 1.0 * 1.0
    assert low.level == 0
    with pytest.raises(LevelError, match="level 0"):
        low.dot(values[:5])
