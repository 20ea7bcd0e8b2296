"""Key-switching keys made for the lower levels only (level-truncated Galois keys).

A key for the levels up to m keeps the digits that hold a prime of q_0 .. q_m and the limbs q_0 .. q_m and P
(`Parameters.key_digits`, `KeySwitchKey.level`).  Checked here: the sizes, that such a key rotates correctly at
every level <= m and refuses higher ones, its serialization (alone and in a context), merging, the defaults of
a bootstrapping context, and that every bootstrapping key is exactly as tall as the highest level it is used at.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks import container
from ckks.container import open_blob, seal
from ckks.errors import InputError, InputTypeError, InsecureWarning, LevelError, SerializationError
from ckks.ring.sampling import PRNG
from ckks.scheme.automorphism import conjugation_element, galois_element
from ckks.scheme.keys import GaloisKeys, KeySwitchKey
from ckks.scheme.keyswitch import KeySwitcher

#: 6 data primes in 3 digits of 2, one special prime.
BITS = (30, 25, 25, 25, 25, 25, 60)


def _context(**kwargs) -> ckks.Context:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return ckks.Context(64, list(BITS), 25, security=None, dnum=3, seed=b"truncated", **kwargs)


@pytest.fixture(scope="module")
def ctx() -> ckks.Context:
    return _context()


def test_sizes_follow_the_digits_and_limbs(ctx):
    p = ctx.params
    assert p.max_level == 5 and p.digits == [[0, 1], [2, 3], [4, 5]]
    assert [p.key_digits(m) for m in range(6)] == [1, 1, 2, 2, 3, 3]
    for m in range(6):
        shape = (p.key_digits(m), 2, m + 1 + 1, p.poly_degree)
        assert p.key_level(shape) == m
        assert p.key_switch_key_bytes(m) == int(np.prod(shape)) * 8
    assert p.key_switch_key_bytes() == p.key_switch_key_bytes(5) == 3 * 2 * 7 * 64 * 8
    assert p.key_level((2, 2, 3, 64)) is None  # level 1 has one digit, not two
    assert p.key_level((1, 2, 3, 32)) is None
    with pytest.raises(LevelError):
        p.key_switch_key_bytes(6)


@pytest.mark.parametrize("top", [0, 1, 2, 3])
def test_truncated_key_rotates_at_every_level_up_to_its_own(ctx, top):
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key, prng=PRNG(b"rotate"))
    keys = keygen.create_galois_keys([1, 3], conjugation=True, max_level=top)
    assert {key.level for key in keys.keys.values()} == {top}
    assert all(key.data.shape[2] == top + 1 + 1 for key in keys.keys.values())
    rotator = ckks.Rotator(ctx.params, keys)
    x = np.linspace(-1, 1, ctx.slots)
    for level in range(top + 1):
        ct = ctx.evaluator.mod_switch_to(ctx.encrypt(x).ciphertext, level)
        for step in (1, 3, 4):  # 4 composes from 1 and 3
            got = ctx.decrypt(ckks.CKKSVector(ctx, rotator.rotate(ct, step), ctx.slots)).real
            assert np.max(np.abs(got - np.roll(x, -step))) < 1e-3
        conj = ctx.decrypt(ckks.CKKSVector(ctx, rotator.conjugate(ct), ctx.slots)).real
        assert np.max(np.abs(conj - x)) < 1e-3
    above = ctx.evaluator.mod_switch_to(ctx.encrypt(x).ciphertext, top + 1)
    before = above.data.copy()
    with pytest.raises(LevelError, match=f"made for levels up to {top} only.*at level {top + 1}"):
        rotator.rotate(above, 1)
    assert np.array_equal(above.data, before)


def test_key_switch_refuses_a_key_below_the_level(ctx):
    switcher = KeySwitcher(ctx.params)
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key, prng=PRNG(b"switch"))
    data = keygen.create_switch_key(ctx.secret_key.ntt[: ctx.params.max_level + 1], level=2)
    assert data.shape == (2, 2, 4, 64)
    d = ctx.encrypt([0.5]).ciphertext.data[1]
    with pytest.raises(LevelError, match="made for levels up to 2"):
        switcher.switch(np.ascontiguousarray(d), data)
    with pytest.raises(InputError, match="made for the levels up to some m"):
        switcher.switch(np.ascontiguousarray(d), data[:, :, :3])


def test_truncated_keys_serialize_alone_and_in_a_context(ctx):
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key, prng=PRNG(b"blob"))
    keys = keygen.create_galois_keys([1, 2], max_level=1).merge(keygen.create_galois_keys([5], max_level=4))
    assert keys.levels() == {galois_element(1, 64): 1, galois_element(2, 64): 1, galois_element(5, 64): 4}
    blob = keys.serialize()
    header = container.read_header(blob)
    assert header["levels"] == list(keys.levels().values())
    loaded = GaloisKeys.load(blob, ctx.params)
    assert loaded.levels() == keys.levels()
    assert all(np.array_equal(loaded.keys[g].data, keys.keys[g].data) for g in keys.elements)
    # a full set has no "levels" field (blobs stay as they were)
    assert "levels" not in container.read_header(keygen.create_galois_keys([1]).serialize())
    # the levels are checked: wrong count, out of range, or not the arrays' shapes
    header, payload = open_blob(blob)
    for levels, message in (([1, 1], "lists 2 levels"), ([1, 1, 9], r"levels\[2\]"), ([1, 1, 3], "shape")):
        with pytest.raises(SerializationError, match=message):
            GaloisKeys.load(seal(dict(header, levels=levels), bytes(payload)), ctx.params)
    # in a context
    owner = _context()
    owner.generate_galois_keys([1, 2], max_level=2)
    back = ckks.Context.load(owner.serialize(secret_key=True))
    assert back.galois_keys.levels() == owner.galois_keys.levels() == dict.fromkeys(owner.galois_keys.elements, 2)
    v = back.evaluator.mod_switch_to(back.encrypt([1.0, 2.0, 3.0]).ciphertext, 2)
    assert np.allclose(back.decrypt(ckks.CKKSVector(back, back.rotator.rotate(v, 1), 3)).real, [2, 3, 0], atol=1e-3)


def test_merge_keeps_the_taller_key(ctx):
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key, prng=PRNG(b"merge"))
    low = keygen.create_galois_keys([1], max_level=1)
    high = keygen.create_galois_keys([1], max_level=3)
    g = galois_element(1, 64)
    assert low.merge(high).keys[g].level == 3
    assert high.merge(low).keys[g].level == 3
    assert high.merge(low).keys[g] is high.keys[g]
    assert low.merge(high).memory() == high.memory() == ctx.params.key_switch_key_bytes(3)


def test_create_galois_keys_at_levels_checks_its_arguments(ctx):
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key, prng=PRNG(b"args"))
    with pytest.raises(InputTypeError, match="levels must be a dict"):
        keygen.create_galois_keys_at_levels([5])
    with pytest.raises(InputError, match="not a Galois element"):
        keygen.create_galois_keys_at_levels({7: 1})
    with pytest.raises(LevelError):
        keygen.create_galois_keys_at_levels({galois_element(1, 64): 6})
    with pytest.raises(LevelError):
        keygen.create_galois_keys([1], max_level=-1)
    made = keygen.create_galois_keys_at_levels({galois_element(1, 64): 0, conjugation_element(64): 5})
    assert made.levels() == {galois_element(1, 64): 0, conjugation_element(64): 5}
    with pytest.raises(InputError, match="shape"):
        KeySwitchKey(ctx.params, np.zeros((2, 2, 3, 64), dtype=np.uint64), ctx.key_id)


def test_context_keys_default_to_the_fresh_level_and_grow_on_request():
    owner = _context()
    owner.generate_galois_keys([1])
    assert set(owner.galois_keys.levels().values()) == {owner.params.max_level}  # a plain context: every level
    owner.generate_galois_keys([2], max_level=1)
    assert owner.galois_keys.levels()[galois_element(2, 64)] == 1
    owner.generate_galois_keys([2])  # asked again for every level: made again, taller
    assert owner.galois_keys.levels()[galois_element(2, 64)] == owner.params.max_level


def test_bootstrapping_keys_are_exactly_as_tall_as_their_highest_use(monkeypatch):
    """Record the level of every key switch of one bootstrap: each key's top level is the highest one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        boot = ckks.Context.for_bootstrapping("teaching", poly_degree=1024, slots=64, cts_levels=2, stc_levels=2)
    boot.generate_bootstrapping_keys(progress=False)
    b = boot.bootstrapper
    levels = b.key_levels()
    assert b.galois_keys.levels() == levels
    assert b.key_memory() == b.key_memory_estimate() < len(levels) * boot.params.key_switch_key_bytes()
    assert max(levels.values()) == boot.params.max_level
    assert min(levels.values()) <= b.config.compute_levels + b.config.stc_levels
    # the user's keys in a bootstrapping context are made for the compute levels only; a step the
    # bootstrapping keys already have shares their (taller) key: the same arrays, no memory
    own = next(k for k in range(1, 512) if galois_element(k, 1024) not in levels)
    shared = next(k for k in range(1, 512) if galois_element(k, 1024) in levels)
    boot.generate_galois_keys([own, shared])
    g_own, g_shared = galois_element(own, 1024), galois_element(shared, 1024)
    assert boot.galois_keys.levels() == {g_own: b.config.compute_levels, g_shared: levels[g_shared]}
    assert boot.galois_keys.keys[g_shared] is b.galois_keys.keys[g_shared]
    v = boot.encrypt(np.linspace(-1, 1, 512))
    for step in (own, shared):
        assert np.allclose(v.rotate(step).decrypt().real, np.roll(np.linspace(-1, 1, 512), -step), atol=1e-3)
    with pytest.raises(LevelError):
        boot.generate_galois_keys([own], max_level="top")

    by_data = {id(key.data): g for g, key in b.galois_keys.keys.items()}
    used: dict[int, int] = {}
    check = KeySwitcher._check_key

    def recording(self, key_data, level):
        g = by_data.get(id(key_data))
        if g is not None:
            used[g] = max(used.get(g, -1), level)
        return check(self, key_data, level)

    monkeypatch.setattr(KeySwitcher, "_check_key", recording)
    x = np.random.default_rng(3).uniform(-1, 1, 64)
    v = boot.encrypt(x)
    v = ckks.CKKSVector(boot, boot.evaluator.mod_switch_to(v.ciphertext, 0), 64, zero_tail=True)
    out = v.bootstrap()
    assert np.max(np.abs(out.decrypt()[:64].real - x)) < 1e-3
    assert used == levels
