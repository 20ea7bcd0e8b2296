"""Fuzzing the loader: mutated, truncated and hand-crafted bytes give SerializationError or a correct load.

Three generators, a few thousand cases in all on tiny parameters (N = 16):

* raw mutations of valid files: truncation at any position, bit flips,
  insertions, deletions, overwrites (the prefix and checksum catch them);
* hand-crafted headers: a field replaced by any JSON value (huge or
  negative numbers, wrong types, nested junk), removed, added, or nudged by
  one, then re-sealed with a valid checksum so that every field check runs;
* hand-crafted payloads: bits flipped, bytes cut or added, re-sealed.

Whatever the input, the only exception allowed is SerializationError, and a
successful load must give an object consistent with its parameters.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ckks
from ckks.errors import InsecureWarning, PrecisionWarning, SerializationError
from ckks.scheme.rotation import GaloisKeys
from ckks.serialize import _open, _seal, dumps, loads

pytestmark = [
    pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning"),
    pytest.mark.filterwarnings("ignore::ckks.errors.PrecisionWarning"),
]

FUZZ = settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def _corpus() -> tuple[ckks.Context, dict[str, bytes]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        warnings.simplefilter("ignore", PrecisionWarning)
        ctx = ckks.Context(16, [50, 30, 30, 50], 30, security=None)
    ctx.generate_galois_keys(steps=[1], progress=False)
    v = ctx.encrypt([1.0, -2.0])
    blobs = {
        "parameters": dumps(ctx.params),
        "public_key": dumps(ctx.public_key),
        "relin_key": dumps(ctx.relin_key),
        "secret_key": dumps(ctx.secret_key),
        "galois_keys": dumps(ctx.galois_keys),
        "plaintext": dumps(ctx.encoder.encode([0.5], level=1)),
        "ciphertext": dumps(ctx.evaluator.square(v.ciphertext)),
        "vector": ctx.encrypt([1j, 2.0]).serialize(),
        "compact_vector": ctx.encrypt([3.0], symmetric=True).serialize(),
        "public_context": ctx.serialize(),
        "private_context": ctx.serialize(secret_key=True),
    }
    return ctx, blobs


CTX, BLOBS = _corpus()
NAMES = sorted(BLOBS)


def _residues_ok(data: np.ndarray, moduli) -> bool:
    return bool(np.all(data < np.array(moduli, dtype=np.uint64).reshape(-1, 1)))


def check_loaded(obj, params: ckks.Parameters) -> None:
    """A loaded object must be internally consistent: shapes, ranges and parameters."""
    n = params.poly_degree
    if isinstance(obj, ckks.Parameters):
        return
    if isinstance(obj, ckks.Context):
        check_loaded(obj.public_key, obj.params)
        if obj.secret_key is not None:
            check_loaded(obj.secret_key, obj.params)
        return
    if isinstance(obj, ckks.CKKSVector):
        assert 0 <= obj.size <= params.slots
        obj = obj.ciphertext
    assert obj.params == params
    if isinstance(obj, ckks.SecretKey):
        assert obj.coefficients.shape == (n,) and np.all(np.abs(obj.coefficients) <= 1)
    elif isinstance(obj, GaloisKeys):
        for key in obj.keys.values():
            assert _residues_ok(key.data, params.all_moduli)
    elif isinstance(obj, (ckks.PublicKey, ckks.RelinKey)):
        assert obj.data.shape[-2:] == (len(params.all_moduli), n) and _residues_ok(obj.data, params.all_moduli)
    else:  # Plaintext or Ciphertext
        assert obj.data.shape[-1] == n and 0 <= obj.level <= params.max_level
        assert _residues_ok(obj.data, params.data_moduli[: obj.level + 1])
        assert np.isfinite(obj.scale) and obj.scale > 0


def load_or_refuse(blob: bytes) -> None:
    """The property: SerializationError, or an object that passes :func:`check_loaded`."""
    try:
        obj = loads(blob, CTX)
    except SerializationError as exc:
        event("refused: " + " ".join(str(exc).split()[:4]))  # see --hypothesis-show-statistics
        return
    event(f"loaded a {type(obj).__name__}")
    check_any(obj)


def check_any(obj) -> None:
    if not isinstance(obj, ckks.Parameters):
        check_loaded(obj, obj.params if isinstance(obj, ckks.Context) else CTX.params)


def test_the_corpus_loads():
    for blob in BLOBS.values():
        check_any(loads(blob, CTX))


@pytest.mark.parametrize("name", NAMES)
def test_every_truncation_is_refused(name):
    blob = BLOBS[name]
    for end in range(0, len(blob), max(1, len(blob) // 300)):
        with pytest.raises(SerializationError):
            loads(blob[:end], CTX)


@FUZZ
@given(st.data())
def test_raw_mutations(data):
    blob = bytearray(BLOBS[data.draw(st.sampled_from(NAMES), label="object")])
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        where = data.draw(st.integers(0, len(blob)), label="position")
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "overwrite", "truncate"]), label="kind")
        if kind == "flip" and where < len(blob):
            blob[where] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "insert":
            blob[where:where] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        elif kind == "delete":
            del blob[where : where + data.draw(st.integers(1, 64), label="length")]
        elif kind == "overwrite":
            chunk = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
            blob[where : where + len(chunk)] = chunk
        else:
            del blob[where:]
    load_or_refuse(bytes(blob))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, 2, 3, 16, 31, 33, 60, 61, 128, 2**31, 2**40, 2**63, 2**64, -1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["<u8", "|i1", "<f8", "data", "c0", "public_key", "ab" * 32, "0" * 32]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    """Every (path to a JSON value) in a header, for picking one to edit."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _edit(header, path, action, new):
    parent = header
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    old = parent[key]
    if action == "replace":
        parent[key] = new
    elif action == "nudge" and isinstance(old, (int, float)) and not isinstance(old, bool):
        parent[key] = old + new
    elif action == "delete":
        del parent[key]
    elif action == "add" and isinstance(parent, dict):
        parent["extra_field"] = new


@FUZZ
@given(st.data())
def test_hand_crafted_headers(data):
    header, payload = _open(BLOBS[data.draw(st.sampled_from(NAMES), label="object")])
    paths = [p for p in _paths(header) if p]
    for _ in range(data.draw(st.integers(1, 2), label="edits")):
        path = data.draw(st.sampled_from(paths), label="field")
        action = data.draw(st.sampled_from(["replace", "nudge", "delete", "add"]), label="action")
        new = data.draw(st.integers(-2, 2) if action == "nudge" else JSON_VALUES, label="value")
        try:
            _edit(header, path, action, new)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier edit removed or retyped the path
        paths = [p for p in _paths(header) if p]
        if not paths:
            break
    load_or_refuse(_seal(json.dumps(header).encode(), bytes(payload)))


@FUZZ
@given(st.data())
def test_hand_crafted_payloads(data):
    header, payload = _open(BLOBS[data.draw(st.sampled_from(NAMES), label="object")])
    raw = bytearray(payload)
    kind = data.draw(st.sampled_from(["flip", "cut", "extend", "fill"]), label="kind")
    if kind == "flip" and raw:
        where = data.draw(st.integers(0, len(raw) - 1), label="position")
        raw[where] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    elif kind == "cut":
        del raw[data.draw(st.integers(0, len(raw)), label="position") :]
    elif kind == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=64), label="bytes")
    elif raw:
        start = data.draw(st.integers(0, len(raw) - 1), label="position")
        raw[start : start + 8] = b"\xff" * 8
    load_or_refuse(_seal(header, bytes(raw)))
