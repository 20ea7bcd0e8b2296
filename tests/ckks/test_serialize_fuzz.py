"""Fuzzing the loader: mutated, truncated and hand-crafted bytes give SerializationError or a correct load.

Three generators, a few thousand cases in all on tiny parameters (N = 16):

* raw mutations of valid files: truncation at any position, bit flips,
  insertions, deletions, overwrites (the prefix and checksum catch them);
* hand-crafted headers: a field replaced by any JSON value (huge or
  negative numbers, wrong types, nested junk), removed, added, or nudged by
  one, then re-sealed with a valid checksum so that every field check runs;
* hand-crafted payloads: bits flipped, bytes cut or added, re-sealed;
* structure-aware mutations (issue 12), re-sealed: a blob relabelled as any
  other type (shapes reshaped to fit), key ids forged (random, another key's,
  or the digest of swapped or zeroed key material), header fields at any
  depth, duplicated keys; a successful load is then *used* (decrypt, multiply,
  relinearize, encrypt under a loaded public key), and only `CKKSError`s may come out.

Whatever the input, the only exception allowed is SerializationError, and a
successful load must give an object consistent with its parameters.  Each type writes itself
(``obj.serialize()``); ``ckks.container.loads`` is the generic loader under test.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ckks
from ckks.container import loads, open_blob, seal
from ckks.errors import CKKSError, InsecureWarning, PrecisionWarning, SerializationError
from ckks.scheme.keys import GaloisKeys, public_key_id

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
        "parameters": ctx.params.serialize(),
        "public_key": ctx.public_key.serialize(),
        "relin_key": ctx.relin_key.serialize(),
        "secret_key": ctx.secret_key.serialize(),
        "galois_keys": ctx.galois_keys.serialize(),
        "plaintext": ctx.encoder.encode([0.5], level=1).serialize(),
        "ciphertext": ctx.evaluator.square(v.ciphertext).serialize(),
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
    header, payload = open_blob(BLOBS[data.draw(st.sampled_from(NAMES), label="object")])
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
    load_or_refuse(seal(json.dumps(header).encode(), bytes(payload)))


@FUZZ
@given(st.data())
def test_hand_crafted_payloads(data):
    header, payload = open_blob(BLOBS[data.draw(st.sampled_from(NAMES), label="object")])
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
    load_or_refuse(seal(header, bytes(raw)))


# -- structure-aware mutations (issue 12): type relabelling, key-id forgery, swapped key material -----------
STRUCTURED = settings(FUZZ, max_examples=300)
TYPES = sorted({open_blob(blob)[0]["type"] for blob in BLOBS.values()})


def _other_keys() -> ckks.Context:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        warnings.simplefilter("ignore", PrecisionWarning)
        return ckks.Context(16, [50, 30, 30, 50], 30, security=None)


OTHER = _other_keys()


def load_and_use(blob: bytes) -> None:
    """Refused with a ckks.errors exception, or loaded into an object whose operations run.

    Anything but a `CKKSError` from loading or from using the object fails the test.
    """
    try:
        obj = loads(blob, CTX)
    except SerializationError as exc:
        event("refused: " + " ".join(str(exc).split()[:4]))
        return
    event(f"loaded a {type(obj).__name__}")
    check_any(obj)
    try:
        use(obj)
    except CKKSError:
        pass


def use(obj) -> None:
    """Exercise a loaded object through the public API (integrity is checked, authenticity is not)."""
    if isinstance(obj, ckks.CKKSVector):
        obj = obj.ciphertext
    if isinstance(obj, ckks.Ciphertext):
        ckks.Decryptor(CTX.params, CTX.secret_key).decrypt(obj)
        CTX.evaluator.relinearize(CTX.evaluator.multiply(obj, obj) if obj.size == 2 else obj)
    elif isinstance(obj, ckks.Plaintext):
        CTX.encoder.decode(obj)
    elif isinstance(obj, ckks.PublicKey):
        ct = ckks.Encryptor(CTX.params, public_key=obj).encrypt(CTX.encoder.encode([0.5]))
        value = CTX.encoder.decode(ckks.Decryptor(CTX.params, CTX.secret_key).decrypt(ct))[0]
        assert abs(value - 0.5) < 1e-3  # a loaded public key is the context's own (its id is its digest)
    elif isinstance(obj, ckks.RelinKey):
        ct = CTX.encrypt([1.0]).ciphertext
        CTX.evaluator.relinearize(CTX.evaluator.square(ct), obj)
    elif isinstance(obj, ckks.Context):
        obj.decrypt(obj.encrypt([1.0])) if obj.is_private else obj.encrypt([1.0])


@STRUCTURED
@given(st.data())
def test_type_relabelling(data):
    """Any blob relabelled as any other type (with its shapes optionally reshaped to the new type's)."""
    header, payload = open_blob(BLOBS[data.draw(st.sampled_from(NAMES), label="object")])
    header["type"] = data.draw(st.sampled_from(TYPES), label="new type")
    if data.draw(st.booleans(), label="reshape") and header.get("arrays"):
        shape = header["arrays"][0]["shape"]
        header["arrays"][0]["shape"] = data.draw(
            st.sampled_from([[1, *shape], shape[1:] or shape, [shape[0] * 2, *shape[1:]]]), label="shape"
        )
    load_and_use(seal(header, bytes(payload)))


@STRUCTURED
@given(st.data())
def test_key_id_forgery(data):
    """A key id replaced (random, another key's, or recomputed for swapped key material) with a valid checksum."""
    name = data.draw(st.sampled_from(NAMES), label="object")
    header, payload = open_blob(BLOBS[name])
    if "key_id" not in header:
        return
    how = data.draw(st.sampled_from(["random", "other key", "swap public key", "digest of zeros"]), label="how")
    payload = bytes(payload)
    if how == "random":
        header["key_id"] = data.draw(st.text("0123456789abcdef", min_size=1, max_size=64), label="id")
    elif how == "other key":
        header["key_id"] = OTHER.key_id
    elif how == "swap public key" and name in ("public_key", "public_context"):
        other = OTHER.public_key.data.tobytes()
        payload = other + payload[len(other):]
        header["key_id"] = public_key_id(CTX.params, OTHER.public_key.data)
    elif how == "digest of zeros" and name in ("public_key", "public_context"):
        zero = np.zeros_like(CTX.public_key.data)
        payload = zero.tobytes() + payload[zero.nbytes:]
        header["key_id"] = public_key_id(CTX.params, zero)
    load_and_use(seal(header, payload))


@STRUCTURED
@given(st.data())
def test_structured_headers_at_any_depth_then_use(data):
    """The header mutations of `test_hand_crafted_headers`, and the loaded object is then used."""
    header, payload = open_blob(BLOBS[data.draw(st.sampled_from(NAMES), label="object")])
    paths = [p for p in _paths(header) if p]
    path = data.draw(st.sampled_from(paths), label="field")
    action = data.draw(st.sampled_from(["replace", "nudge", "delete", "add"]), label="action")
    new = data.draw(st.integers(-2, 2) if action == "nudge" else JSON_VALUES, label="value")
    try:
        _edit(header, path, action, new)
    except (KeyError, IndexError, TypeError):
        pass
    load_and_use(seal(json.dumps(header).encode(), bytes(payload)))


def test_duplicate_keys_at_any_depth_are_refused():
    for name in NAMES:
        header, payload = open_blob(BLOBS[name])
        text = json.dumps(header)
        for key in ("type", "fingerprint", "arrays"):
            if f'"{key}"' in text:
                doubled = text[:-1] + f', "{key}": {json.dumps(header[key])}}}'
                with pytest.raises(SerializationError, match="more than once"):
                    loads(seal(doubled.encode(), bytes(payload)), CTX)
        if "params" in header:
            inner = json.dumps(header["params"])
            doubled = text.replace(inner, inner[:-1] + ', "sigma": 3.2}', 1)
            with pytest.raises(SerializationError, match="'sigma' appear more than once"):
                loads(seal(doubled.encode(), bytes(payload)), CTX)
