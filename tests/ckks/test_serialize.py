"""Serialization: round trips of every type, compact ciphertexts, contexts, and precise errors on bad bytes.

Each type writes itself (``obj.serialize()``) and reads itself back (``Type.load(...)``);
``ckks.container.loads(blob, ctx)`` is the generic loader that dispatches on the header's type.
The contexts ``ctx``, ``other_keys``, ``other_params`` and ``gctx`` come from tests/ckks/conftest.py.
"""

from __future__ import annotations

import json
import pickle
import runpy
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

import ckks
from ckks import container
from ckks.container import loads, open_blob, seal
from ckks.errors import (
    ContextMismatchError,
    InputTypeError,
    InsecureWarning,
    KeyMissingError,
    SerializationError,
    WrongContextError,
)
from ckks.scheme.keys import GaloisKeys

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")


def split(blob: bytes) -> tuple[dict, bytes]:
    header, payload = open_blob(blob)
    return header, bytes(payload)


def edited(blob: bytes, **changes) -> bytes:
    """The blob with header fields replaced (and a valid checksum): a hand-crafted file."""
    header, payload = split(blob)
    header.update(changes)
    return seal(header, payload)


# -- round trips ------------------------------------------------------------------------------
def test_parameters_round_trip():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        params = ckks.Parameters(
            64, [40, 30, 30, 40, 50, 50], 30, security=None, dnum=2, special_count=2, hamming_weight=16, sigma=3.0
        )
        loaded = ckks.Parameters.load(params.serialize())
    assert loaded == params and loaded.fingerprint() == params.fingerprint()
    for name in ("poly_degree", "moduli_bits", "scale_bits", "security", "dnum", "special_count", "hamming_weight",
                 "sigma", "all_moduli"):
        assert getattr(loaded, name) == getattr(params, name), name


def test_secure_parameters_round_trip_without_warning():
    params = ckks.Parameters(8192, [60, 40, 40, 60], 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ckks.Parameters.load(params.serialize()) == params


@pytest.mark.parametrize("name", ["public_key", "relin_key", "secret_key"])
def test_key_round_trip(ctx, name):
    key = getattr(ctx, name)
    blob = key.serialize()
    loaded = type(key).load(blob, ctx)
    assert type(loaded) is type(key) and loaded.key_id == key.key_id and loaded.params == ctx.params
    if name == "secret_key":
        np.testing.assert_array_equal(loaded.coefficients, key.coefficients)
        np.testing.assert_array_equal(loaded.ntt, key.ntt)
    else:
        np.testing.assert_array_equal(loaded.data, key.data)
    assert loaded.serialize() == blob


def test_galois_keys_round_trip(ctx):
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key)
    galois = keygen.create_galois_keys(steps=[1, 3], conjugation=True)
    blob = galois.serialize()
    loaded = GaloisKeys.load(blob, ctx)
    assert isinstance(loaded, GaloisKeys) and loaded.elements == galois.elements and loaded.key_id == ctx.key_id
    for g in galois.elements:
        np.testing.assert_array_equal(loaded.keys[g].data, galois.keys[g].data)
    assert loaded.serialize() == blob


def test_plaintext_round_trip(ctx):
    plain = ctx.encoder.encode([1.5, -2.0], level=1)
    loaded = ckks.Plaintext.load(plain.serialize(), ctx.params)
    assert loaded.level == 1 and loaded.scale == plain.scale
    np.testing.assert_array_equal(loaded.data, plain.data)


def test_ciphertext_round_trip(ctx):
    ct = ctx.encrypt([1.0, 2.0, 3.0]).ciphertext
    loaded = ckks.Ciphertext.load(ct.serialize(), ctx)
    np.testing.assert_array_equal(loaded.data, ct.data)
    assert (loaded.scale, loaded.key_id, loaded.level, loaded.seed) == (ct.scale, ct.key_id, ct.level, None)


def test_size_three_and_lower_level_ciphertexts(ctx):
    v = ctx.encrypt([1.0, 2.0])
    ev = ctx.evaluator
    for ct in (ev.multiply(v.ciphertext, v.ciphertext), ev.rescale(ev.relinearize(ev.square(v.ciphertext)))):
        loaded = ckks.Ciphertext.load(ct.serialize(), ctx)
        np.testing.assert_array_equal(loaded.data, ct.data)
        assert loaded.size == ct.size and loaded.level == ct.level and loaded.scale == ct.scale


def test_vector_round_trip_keeps_length_and_complexity(ctx):
    values = np.array([1 + 2j, -0.5j, 3.0])
    v = ctx.encrypt(values)
    loaded = ckks.CKKSVector.load(ctx, v.serialize())
    assert loaded.size == 3 and loaded.is_complex and loaded.context is ctx
    np.testing.assert_allclose(loaded.decrypt(), values, atol=1e-4)
    np.testing.assert_array_equal(loaded.ciphertext.data, v.ciphertext.data)


def test_loaded_vector_remembers_that_its_unused_slots_are_zero(gctx):
    """A fresh short vector sums without a masking level, before and after a round trip."""
    ctx = gctx
    v = ctx.encrypt([1.0, 2.0, 3.0])
    loaded = ckks.CKKSVector.load(ctx, v.serialize())
    assert loaded.zero_tail
    total = loaded.sum()
    assert total.level == v.level  # no level spent on a mask
    np.testing.assert_allclose(total.decrypt(), [6.0], atol=1e-3)
    rotated = ckks.CKKSVector.load(ctx, v.rotate(1).serialize())
    assert not rotated.zero_tail  # rotation brings another slot's content in: the flag is off


def test_compact_symmetric_ciphertext_is_half_the_size(ctx):
    values = np.linspace(-1, 1, 16)
    v = ctx.encrypt(values, symmetric=True)
    compact, full = v.serialize(), v.serialize(compact=False)
    header, payload = split(compact)
    assert 2 * len(payload) == len(split(full)[1])  # c_0 only; c_1 is the 32-byte seed in the header
    assert header["seed"] == v.ciphertext.seed.hex()
    loaded = ckks.CKKSVector.load(ctx, compact)
    np.testing.assert_array_equal(loaded.ciphertext.data, v.ciphertext.data)  # c_1 regenerated exactly
    np.testing.assert_allclose(loaded.decrypt(), values, atol=1e-4)
    assert loaded.serialize() == compact  # the seed survives the round trip
    assert len((v + 1.0).serialize()) == len(full)  # an evaluated ciphertext has no seed


def test_edited_seeded_ciphertext_is_stored_in_full(ctx):
    ct = ctx.encrypt([1.0], symmetric=True).ciphertext.copy()
    ct.data[1, 0, 0] ^= 1  # c_1 no longer matches the seed: storing the seed would lose data
    loaded = ckks.Ciphertext.load(ct.serialize(), ctx)
    np.testing.assert_array_equal(loaded.data, ct.data)


def test_loaded_arrays_do_not_alias_the_input(ctx):
    blob = bytearray(ctx.encrypt([1.0]).ciphertext.serialize())
    before = bytes(blob)
    loaded = ckks.Ciphertext.load(blob, ctx)
    loaded.data[:] = 0
    assert bytes(blob) == before


# -- contexts ---------------------------------------------------------------------------------
def test_public_context_round_trip(ctx):
    pub = ckks.Context.load(ctx.serialize())
    assert not pub.is_private and pub.key_id == ctx.key_id and pub.params == ctx.params
    np.testing.assert_array_equal(pub.public_key.data, ctx.public_key.data)
    np.testing.assert_array_equal(pub.relin_key.data, ctx.relin_key.data)
    v = pub.encrypt([0.5, 2.0])
    with pytest.raises(KeyMissingError, match="no secret key"):
        v.decrypt()
    w = ckks.CKKSVector.load(ctx, (v * v).serialize())  # the owner decrypts what the public side computed
    np.testing.assert_allclose(w.decrypt(), [0.25, 4.0], atol=1e-3)


def test_private_context_round_trip(ctx):
    private = ckks.Context.load(ctx.serialize(secret_key=True))
    assert private.is_private
    np.testing.assert_array_equal(private.secret_key.coefficients, ctx.secret_key.coefficients)
    np.testing.assert_allclose(private.decrypt(ctx.encrypt([7.0])), [7.0], atol=1e-4)


def test_default_context_serialization_leaves_the_secret_out(ctx):
    header = container.read_header(ctx.serialize())
    assert header["secret_key"] is False
    assert [a["name"] for a in header["arrays"]] == ["public_key", "relin_key"]


def test_public_copy_cannot_export_a_secret_key(ctx):
    with pytest.raises(KeyMissingError, match="no secret key"):
        ctx.public_copy().serialize(secret_key=True)


def test_context_with_galois_keys_round_trip(gctx):
    blob = gctx.serialize()
    assert container.read_header(blob)["galois_elements"] == gctx.galois_keys.elements
    server = ckks.Context.load(blob)
    for g in gctx.galois_keys.elements:
        np.testing.assert_array_equal(server.galois_keys.keys[g].data, gctx.galois_keys.keys[g].data)
    values = np.arange(16.0)
    rotated = server.encrypt(values).rotate(1)  # the server rotates with the loaded keys
    result = ckks.CKKSVector.load(gctx, rotated.serialize()).decrypt()
    np.testing.assert_allclose(result, np.roll(values, -1), atol=1e-3)


def full_form_context_blob(context: ckks.Context, secret_key: bool = False) -> bytes:
    """A context blob as written before keys were stored seeded: every key in full, no seed fields."""
    galois = context.galois_keys.items() if context.galois_keys is not None else {}
    header = {
        "type": "context",
        "fingerprint": context.params.fingerprint(),
        "params": context.params.to_header(),
        "key_id": context.key_id,
        "secret_key": secret_key,
        "relin_key": True,
        "galois_elements": sorted(galois),
    }
    arrays = [("public_key", context.public_key.data), ("relin_key", context.relin_key.data)]
    arrays += [(f"galois_{g}", galois[g]) for g in sorted(galois)]
    if secret_key:
        arrays.append(("secret_key", context.secret_key.coefficients))
    return container.pack(header, arrays)


def assert_same_keys(loaded: ckks.Context, context: ckks.Context) -> None:
    assert loaded.key_id == context.key_id and loaded.params == context.params
    np.testing.assert_array_equal(loaded.public_key.data, context.public_key.data)
    np.testing.assert_array_equal(loaded.relin_key.data, context.relin_key.data)
    assert loaded.galois_keys.elements == context.galois_keys.elements
    for g in context.galois_keys.elements:
        np.testing.assert_array_equal(loaded.galois_keys.keys[g].data, context.galois_keys.keys[g].data)


@pytest.mark.parametrize("secret_key", [False, True])
def test_context_keys_are_stored_seeded_and_round_trip(gctx, secret_key):
    blob = gctx.serialize(secret_key=secret_key)
    header = container.read_header(blob)
    n, limbs, digits = gctx.params.poly_degree, len(gctx.params.all_moduli), len(gctx.params.digits)
    assert header["public_key_seed"] == gctx.public_key.seed.hex()
    assert header["relin_key_seed"] == gctx.relin_key.seed.hex()
    assert header["galois_seeds"] == [gctx.galois_keys.keys[g].seed.hex() for g in gctx.galois_keys.elements]
    shapes = {a["name"]: a["shape"] for a in header["arrays"]}
    assert shapes["public_key"] == [limbs, n]  # b only: a comes from the seed
    assert shapes["relin_key"] == [digits, limbs, n]
    assert all(a["bits"] for a in header["arrays"] if a["name"] != "secret_key")  # bit-packed residues
    loaded = ckks.Context.load(blob)
    assert loaded.is_private == secret_key
    assert_same_keys(loaded, gctx)
    assert loaded.serialize(secret_key=secret_key) == blob  # the seeds survive the round trip
    rotated = ckks.CKKSVector.load(gctx, loaded.encrypt(np.arange(16.0)).rotate(1).serialize())
    np.testing.assert_allclose(rotated.decrypt(), np.roll(np.arange(16.0), -1), atol=1e-3)
    if secret_key:
        np.testing.assert_allclose(loaded.decrypt(gctx.encrypt([3.0])), [3.0], atol=1e-4)


@pytest.mark.parametrize("secret_key", [False, True])
def test_full_form_context_blob_still_loads(gctx, secret_key):
    old = full_form_context_blob(gctx, secret_key)
    assert len(old) > 1.8 * len(gctx.serialize(secret_key=secret_key))
    loaded = ckks.Context.load(old)
    assert loaded.is_private == secret_key
    assert_same_keys(loaded, gctx)
    np.testing.assert_allclose(
        ckks.CKKSVector.load(gctx, loaded.encrypt([0.5, 2.0]).serialize()).decrypt(), [0.5, 2.0], atol=1e-3
    )


def test_seeded_context_keeps_the_loader_checks(gctx, other_keys):
    header, payload = split(gctx.serialize())
    with pytest.raises(SerializationError, match="the key id must be the digest of the public key"):
        ckks.Context.load(seal(dict(header, public_key_seed=other_keys.public_key.seed.hex()), payload))
    with pytest.raises(SerializationError, match="'public_key_seed' must be a string of 64..64 lowercase hex"):
        ckks.Context.load(seal(dict(header, public_key_seed="AB" * 32), payload))
    with pytest.raises(SerializationError, match="'galois_seeds' lists 1 seeds, expected one per Galois key"):
        ckks.Context.load(seal(dict(header, galois_seeds=header["galois_seeds"][:1]), payload))
    with pytest.raises(SerializationError, match=r"header.galois_seeds\[0\] field 'seed' must be a string"):
        ckks.Context.load(seal(dict(header, galois_seeds=[7] + header["galois_seeds"][1:]), payload))
    with pytest.raises(SerializationError, match="'relin_key_seed' is missing"):
        ckks.Context.load(seal({k: v for k, v in header.items() if k != "relin_key_seed"}, payload))
    without = {k: v for k, v in header.items() if k != "public_key_seed"}  # all seed fields or none
    with pytest.raises(SerializationError, match="'public_key_seed' is missing"):
        ckks.Context.load(seal(without, payload))
    full = dict(header, public_key_seed=None)  # a seed dropped: the array must then be the whole key
    with pytest.raises(SerializationError, match="'shape' is .* expected"):
        ckks.Context.load(seal(full, payload))
    # degenerate b under a valid seed: refused before anything is built
    b = container.unpack_residues(payload, tuple(header["arrays"][0]["shape"]), header["arrays"][0]["bits"])
    offset = container.packed_size(b.shape, header["arrays"][0]["bits"])
    zero = container.pack_residues(np.zeros_like(b), header["arrays"][0]["bits"])
    with pytest.raises(SerializationError, match="degenerate public key"):
        ckks.Context.load(seal(header, zero + payload[offset:]))


def test_public_context_is_about_half_of_tenseals(galois_ctx8192):
    """Sizes are deterministic: b and a 32-byte seed per key, residues at their prime's width (bench_sizes.py)."""
    pytest.importorskip("tenseal")
    from ckks.interop import tenseal_context

    ours = len(galois_ctx8192.serialize())
    twin = tenseal_context(galois_ctx8192.params, galois=True)
    theirs = len(twin.serialize(save_public_key=True, save_secret_key=False, save_galois_keys=True,
                                save_relin_keys=True))
    assert ours / theirs <= 0.6, (ours, theirs)


# -- wrong context ------------------------------------------------------------------------------
def test_other_parameters_raise_context_mismatch(ctx, other_params):
    blob = ctx.encrypt([1.0]).serialize()
    with pytest.raises(WrongContextError, match="other parameters") as info:
        ckks.CKKSVector.load(other_params, blob)
    assert isinstance(info.value, ContextMismatchError) and isinstance(info.value, SerializationError)
    with pytest.raises(ContextMismatchError, match="load it into the context it was made with"):
        ckks.RelinKey.load(ctx.relin_key.serialize(), other_params)


def test_other_keys_raise_context_mismatch(ctx, other_keys):
    blob = ctx.encrypt([1.0]).serialize()
    with pytest.raises(WrongContextError, match="belongs to secret key"):
        ckks.CKKSVector.load(other_keys, blob)
    with pytest.raises(WrongContextError, match="belongs to secret key"):
        ckks.RelinKey.load(ctx.relin_key.serialize(), other_keys)
    assert ckks.CKKSVector.load(ctx.public_copy(), blob).size == 1  # a public copy holds the same keys


def test_loading_needs_a_context(ctx):
    with pytest.raises(InputTypeError, match="needs the context"):
        loads(ctx.encrypt([1.0]).ciphertext.serialize())
    with pytest.raises(InputTypeError, match="bytes"):
        loads("not bytes", ctx)


def test_wrong_object_type_is_named(ctx):
    with pytest.raises(SerializationError, match="expected a serialized vector, but the data holds a context"):
        ckks.CKKSVector.load(ctx, ctx.serialize())
    with pytest.raises(SerializationError, match="expected a serialized context, but the data holds a public_key"):
        ckks.Context.load(ctx.public_key.serialize())


# -- bad bytes: every message names the field and what was expected ---------------------------------
def test_truncation_is_named(ctx):
    blob = ctx.encrypt([1.0]).serialize()
    with pytest.raises(SerializationError, match="truncated: 10 bytes"):
        loads(blob[:10], ctx)
    with pytest.raises(SerializationError, match=f"announces {len(blob)} bytes .* only {len(blob) - 1}"):
        loads(blob[:-1], ctx)
    with pytest.raises(SerializationError, match="1 unexpected trailing bytes"):
        loads(blob + b"\0", ctx)


def test_foreign_files_are_refused(ctx):
    with pytest.raises(SerializationError, match="not ckks serialized data"):
        loads(pickle.dumps(list(range(100))), ctx)
    blob = ctx.encrypt([1.0]).serialize()
    with pytest.raises(SerializationError, match="format version 2 is not supported"):
        loads(blob[:6] + struct.pack("<H", 2) + blob[8:], ctx)


def test_header_length_is_capped(ctx):
    blob = bytearray(ctx.params.serialize())
    struct.pack_into("<I", blob, 8, container.MAX_HEADER_BYTES + 1)
    with pytest.raises(SerializationError, match="'header length' is 1048577 bytes, at most 1048576"):
        loads(bytes(blob))


def test_huge_payload_length_allocates_nothing(ctx):
    blob = bytearray(ctx.params.serialize())
    struct.pack_into("<Q", blob, 12, 1 << 62)  # a length field promising 4 EiB
    with pytest.raises(SerializationError, match="truncated"):
        loads(bytes(blob))


def test_bit_flip_is_detected(ctx):
    blob = bytearray(ctx.encrypt([1.0]).serialize())
    blob[-100] ^= 0x10
    with pytest.raises(SerializationError, match="checksum mismatch"):
        loads(bytes(blob), ctx)


@pytest.mark.parametrize(
    "text, match",
    [
        (b"{not json", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b'{"type": "parameters", "x": NaN}', "NaN is not allowed"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid UTF-8 JSON"),
        (b'{"type": ' + b"9" * 5000 + b"}", "not valid UTF-8 JSON"),
        (b"[1, 2]", "header must be a JSON object, got a list"),
        (b'{"type": "pickle"}', "field 'type' is 'pickle', expected one of"),
        (b'{"type": "parameters"}', "field 'params' is missing"),
    ],
)
def test_malformed_headers(text, match):
    with pytest.raises(SerializationError, match=match):
        loads(seal(text, b""))


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"level": 99}, r"field 'level' is 99, expected an integer in \[0, 2\]"),
        ({"level": "2"}, "field 'level' must be an integer, got a string"),
        ({"level": True}, "field 'level' must be an integer, got a boolean"),
        ({"size": -1}, r"field 'size' is -1, expected an integer in \[2, 3\]"),
        ({"scale": 0}, "field 'scale' is 0.0, expected a finite number"),
        ({"scale": [1.0]}, "field 'scale' must be a number, got a list"),
        ({"key_id": "<script>"}, "field 'key_id' must be a string of 1..64 lowercase hex digits"),
        ({"fingerprint": "abc"}, "field 'fingerprint' must be a string of 32..32 lowercase hex digits"),
        ({"seed": "00" * 16}, "field 'seed' must be a string of 64..64 lowercase hex digits"),
        ({"arrays": []}, "'arrays' lists 0 arrays, expected 1: data"),
        ({"arrays": [{"name": "data", "dtype": "<u8", "shape": [2, 3, 1 << 40]}]},
         r"arrays\[0\] field 'shape' is \[2, 3, 1099511627776\], expected \[2, 3, 32\]"),
        ({"arrays": [{"name": "data", "dtype": "<f8", "shape": [2, 3, 32]}]},
         r"field 'dtype' is '<f8', expected '<u8'"),
        ({"arrays": [{"name": "data", "dtype": "<u8", "shape": [-2, 3, 32]}]}, r"field 'shape\[0\]' is -2"),
        ({"arrays": [{"name": "x", "dtype": "<u8", "shape": [2, 3, 32]}]}, "field 'name' is 'x', expected 'data'"),
        ({"arrays": [{"name": "data", "dtype": "<u8", "shape": [2, 3, 32], "code": "import os"}]},
         "unexpected field"),
        ({"extra": 1}, "header has unexpected field.*'extra'"),
    ],
)
def test_hand_crafted_ciphertext_headers(ctx, changes, match):
    blob = edited(ctx.encrypt([1.0]).ciphertext.serialize(), **changes)
    with pytest.raises(SerializationError, match=match):
        loads(blob, ctx)


def test_infinite_scale_is_refused(ctx):
    header, payload = split(ctx.encrypt([1.0]).ciphertext.serialize())
    text = json.dumps(dict(header, scale=1.0)).replace('"scale": 1.0', '"scale": 1e999').encode()
    with pytest.raises(SerializationError, match="field 'scale' is inf, expected a finite number"):
        loads(seal(text, payload), ctx)


def test_missing_field_is_named(ctx):
    header, payload = split(ctx.encrypt([1.0]).ciphertext.serialize())
    del header["scale"]
    with pytest.raises(SerializationError, match="header field 'scale' is missing"):
        loads(seal(header, payload), ctx)


def test_seed_on_a_size_three_ciphertext_is_refused(ctx):
    v = ctx.encrypt([1.0])
    blob = edited(ctx.evaluator.square(v.ciphertext).serialize(), seed="ab" * 32)
    with pytest.raises(SerializationError, match="'seed' is set for a ciphertext of size 3"):
        loads(blob, ctx)


def test_payload_size_must_match_the_shapes(ctx):
    header, payload = split(ctx.encrypt([1.0]).ciphertext.serialize())
    with pytest.raises(SerializationError, match=f"payload holds {len(payload) + 8} bytes but the arrays need"):
        loads(seal(header, payload + bytes(8)), ctx)


def test_residues_outside_the_prime_are_refused(ctx):
    header, payload = split(ctx.encrypt([1.0]).ciphertext.serialize())
    entry = header["arrays"][0]  # residues are bit-packed at their limb's width (container.pack_residues)
    data = container.unpack_residues(payload, tuple(entry["shape"]), entry["bits"])
    q1 = ctx.params.data_moduli[1]
    data[0, 1, 5] = q1  # limb 1, coefficient 5 of c_0: exactly q is already out of range
    with pytest.raises(SerializationError, match=rf"holds {q1} at index \[0, 1, 5\], which is not below its prime"):
        loads(seal(header, container.pack_residues(data, entry["bits"])), ctx)


def test_secret_key_must_be_ternary_and_match_the_public_key(ctx, other_keys):
    header, payload = split(ctx.serialize(secret_key=True))
    raw = bytearray(payload)
    raw[-1] = 7
    with pytest.raises(SerializationError, match=r"coefficients in \{-1, 0, 1\}"):
        ckks.Context.load(seal(header, bytes(raw)))
    swapped = payload[: -ctx.params.poly_degree] + other_keys.secret_key.coefficients.tobytes()
    with pytest.raises(SerializationError, match="does not belong to the public key"):
        ckks.Context.load(seal(header, swapped))


def test_context_parameters_are_checked(ctx):
    blob = ctx.serialize()
    header, payload = split(blob)
    wrong_primes = dict(header["params"], primes=[str(q + 2) for q in ctx.params.all_moduli])
    with pytest.raises(SerializationError, match="'params.primes' .* incompatible library"):
        ckks.Context.load(seal(dict(header, params=wrong_primes), payload))
    bad_degree = dict(header["params"], poly_degree=48)
    with pytest.raises(SerializationError, match="invalid parameters: poly_degree must be a power of two"):
        ckks.Context.load(seal(dict(header, params=bad_degree), payload))
    insecure = dict(header["params"], security=128)
    with pytest.raises(SerializationError, match="invalid parameters: poly_degree=32 gives no security"):
        ckks.Context.load(seal(dict(header, params=insecure), payload))
    with pytest.raises(SerializationError, match="'fingerprint' is 0+, but the parameters"):
        ckks.Context.load(seal(dict(header, fingerprint="0" * 32), payload))
    with pytest.raises(SerializationError, match=r"neither a rotation element 5\^k mod 2N nor the conjugation element"):
        ckks.Context.load(seal(dict(header, galois_elements=[4]), payload))
    with pytest.raises(SerializationError, match=r"moduli_bits' has 1000 entries, at most 64"):
        ckks.Context.load(seal(dict(header, params=dict(header["params"], moduli_bits=[60] * 1000)), payload))


def test_a_file_cannot_smuggle_code(ctx):
    header, payload = split(ctx.params.serialize())
    header["type"] = "__import__('os').system('true')"
    with pytest.raises(SerializationError, match="field 'type'"):
        loads(seal(header, payload))
    assert "pickle" not in json.dumps(header)


def test_client_server_example(capsys):
    runpy.run_path(str(Path(__file__).parents[2] / "examples" / "client_server.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "server: cannot decrypt (this context has no secret key" in out
    error = float(out.rsplit("error ", 1)[1])
    assert error < 1e-4
