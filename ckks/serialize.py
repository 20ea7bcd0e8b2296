"""A versioned binary format for parameters, keys, plaintexts, ciphertexts and contexts.

Nothing here uses pickle or evaluates anything from the file: a serialized
object is a small JSON header and raw little-endian arrays, and the loader
checks every field against what the parameters allow *before* it builds any
array.  Layout (integers little-endian)::

    offset   bytes  field
    0        6      magic b"CKKSPY"
    6        2      format version (u16), currently 1
    8        4      header length H (u32), at most MAX_HEADER_BYTES
    12       8      payload length B (u64)
    20       H      header: a UTF-8 JSON object (type, fingerprint, level, scale, array shapes...)
    20+H     B      payload: the arrays listed in header["arrays"], in order, C order
    20+H+B   32     SHA-256 of everything before it

The loader checks, in this order: the length of the input against the
lengths announced in the prefix (so a truncated file or trailing bytes are
named as such, and no length field can cause an allocation: every array is
a view of bytes already in memory), the checksum (accidental corruption; it
is not a signature: anybody can recompute it, which is why every check below
still runs), the header fields one by one (type, range, length), the
parameters fingerprint (:class:`~ckks.errors.WrongContextError` when the
object was made for another context), the array shapes implied by the
parameters, and finally that every residue lies in [0, q) of its prime.
Every failure is a :class:`~ckks.errors.SerializationError` whose message
names the field and what was expected.

Fresh symmetric ciphertexts carry the seed their uniform c_1 was drawn from;
they are stored as c_0 and the 32-byte seed, about half the size, and c_1 is
regenerated on load (SEAL does the same).

Entry points: :func:`dumps` and :func:`loads`; ``Context.serialize`` /
``Context.load`` and ``CKKSVector.serialize`` / ``CKKSVector.load`` call them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass

import numpy as np

from ckks.context import Context
from ckks.errors import CKKSError, InputTypeError, KeyMissingError, SerializationError, WrongContextError
from ckks.ring.sampling import PRNG, SEED_BYTES, TAIL_CUT_SIGMAS
from ckks.scheme.ciphertext import Ciphertext, Plaintext
from ckks.scheme.keys import KeySwitchKey, PublicKey, RelinKey, SecretKey, public_key_error
from ckks.scheme.parameters import MAX_POLY_DEGREE, Parameters
from ckks.scheme.poly import uniform_ntt
from ckks.scheme.rotation import GaloisKeys
from ckks.vector import CKKSVector

MAGIC = b"CKKSPY"
FORMAT_VERSION = 1
#: The JSON header is small (under a kilobyte for real parameters); this cap bounds parsing work.
MAX_HEADER_BYTES = 1 << 20
#: Most primes a parameter set may list (SEAL's largest chains have about 30).
MAX_MODULI = 64
#: Most Galois keys a file may hold (one per Galois element; there are N/2 * 2 of them at most).
MAX_GALOIS_KEYS = MAX_POLY_DEGREE

_PREFIX = struct.Struct("<6sHIQ")
_DIGEST = 32
_U64 = "<u8"
_I8 = "|i1"
_HEX = re.compile(r"[0-9a-f]+")
_DECIMAL = re.compile(r"[1-9][0-9]{0,19}")


# -- writing -------------------------------------------------------------------------------
def dumps(obj, *, secret_key: bool = False, compact: bool = True) -> bytes:
    """Serialize a Parameters, key, Plaintext, Ciphertext, CKKSVector or Context to bytes.

    Args:
        obj: the object.
        secret_key: for a Context, include the secret key (default False: the
            bytes then give a public context that can encrypt and evaluate
            but not decrypt).  A SecretKey passed directly is always written.
        compact: store a fresh symmetric ciphertext as c_0 and its seed.
    """
    if isinstance(obj, Parameters):
        return _pack({"type": "parameters", "params": _params_header(obj)}, [])
    if isinstance(obj, Context):
        return _dump_context(obj, secret_key)
    if isinstance(obj, CKKSVector):
        header, arrays = _ciphertext_parts(obj.ciphertext, compact)
        header.update(type="vector", length=obj.size, complex=obj.is_complex, zero_tail=obj.zero_tail)
        return _pack(header, arrays)
    if isinstance(obj, Ciphertext):
        header, arrays = _ciphertext_parts(obj, compact)
        return _pack(header, arrays)
    if isinstance(obj, Plaintext):
        header = {"type": "plaintext", "fingerprint": obj.params.fingerprint(), "level": obj.level, "scale": obj.scale}
        return _pack(header, [("data", obj.data)])
    if isinstance(obj, SecretKey):
        return _pack(_key_header("secret_key", obj), [("secret_key", obj.coefficients)])
    if isinstance(obj, PublicKey):
        return _pack(_key_header("public_key", obj), [("data", obj.data)])
    if isinstance(obj, RelinKey):
        return _pack(_key_header("relin_key", obj), [("data", obj.data)])
    galois = _galois_items(obj)
    if galois is not None:
        header = _key_header("galois_keys", obj)
        header["elements"] = sorted(galois)
        return _pack(header, [(f"galois_{g}", galois[g]) for g in sorted(galois)])
    raise InputTypeError(
        f"cannot serialize a {type(obj).__name__}; dumps takes Parameters, SecretKey, PublicKey, RelinKey, "
        "GaloisKeys, Plaintext, Ciphertext, CKKSVector or Context"
    )


def _pack(header: dict, arrays: list[tuple[str, np.ndarray]]) -> bytes:
    header = dict(header, arrays=[{"name": n, "dtype": _dtype_of(a), "shape": list(a.shape)} for n, a in arrays])
    payload = b"".join(np.ascontiguousarray(a, dtype=np.dtype(_dtype_of(a))).tobytes() for _, a in arrays)
    return _seal(header, payload)


def _seal(header: dict | bytes, payload: bytes, version: int = FORMAT_VERSION) -> bytes:
    """Prefix + header + payload + checksum (a header given as bytes is written as is, for tests)."""
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    body = _PREFIX.pack(MAGIC, version, len(text), len(payload)) + text + payload
    return body + hashlib.sha256(body).digest()


def _dtype_of(array: np.ndarray) -> str:
    return _I8 if array.dtype == np.int8 else _U64


def _params_header(params: Parameters) -> dict:
    return {
        "poly_degree": params.poly_degree,
        "moduli_bits": list(params.moduli_bits),
        "scale_bits": params.scale_bits,
        "security": params.security,
        "dnum": params.dnum,
        "special_count": params.special_count,
        "hamming_weight": params.hamming_weight,
        "sigma": params.sigma,
        "primes": [str(q) for q in params.all_moduli],
    }


def _key_header(kind: str, key) -> dict:
    return {"type": kind, "fingerprint": key.params.fingerprint(), "key_id": key.key_id}


def _ciphertext_parts(ct: Ciphertext, compact: bool) -> tuple[dict, list]:
    header = {
        "type": "ciphertext",
        "fingerprint": ct.params.fingerprint(),
        "key_id": ct.key_id,
        "level": ct.level,
        "size": ct.size,
        "scale": ct.scale,
        "seed": None,
    }
    if compact and ct.seed is not None and ct.size == 2:
        # Only if c_1 really is the seed's polynomial (it is, unless someone edited the data).
        if np.array_equal(_uniform_from_seed(ct.params, ct.seed, ct.level), ct.data[1]):
            header["seed"] = ct.seed.hex()
            return header, [("c0", ct.data[0])]
    return header, [("data", ct.data)]


def _uniform_from_seed(params: Parameters, seed: bytes, level: int) -> np.ndarray:
    """The c_1 of a fresh symmetric encryption at ``level`` (see Encryptor.encrypt_symmetric)."""
    return uniform_ntt(PRNG(seed), params, params.level_rows(level))


def _dump_context(ctx: Context, secret_key: bool) -> bytes:
    params = ctx.params
    header = {
        "type": "context",
        "fingerprint": params.fingerprint(),
        "params": _params_header(params),
        "key_id": ctx.key_id,
        "secret_key": bool(secret_key),
        "relin_key": ctx.relin_key is not None,
        "galois_elements": [],
    }
    arrays = [("public_key", ctx.public_key.data)]
    if ctx.relin_key is not None:
        arrays.append(("relin_key", ctx.relin_key.data))
    galois = _galois_items(getattr(ctx, "galois_keys", None)) or {}
    header["galois_elements"] = sorted(galois)
    arrays += [(f"galois_{g}", galois[g]) for g in sorted(galois)]
    if secret_key:
        if ctx.secret_key is None:
            raise KeyMissingError(
                "this context has no secret key (a public copy, or one loaded without it), so "
                "serialize(secret_key=True) cannot include one; call serialize() without it"
            )
        arrays.append(("secret_key", ctx.secret_key.coefficients))
    return _pack(header, arrays)


# -- Galois keys: {Galois element g: KeySwitchKey} ---------------------------------------------
def _galois_items(obj) -> dict[int, np.ndarray] | None:
    """{Galois element: key data (digits, 2, L+1+alpha, N)} of a GaloisKeys container, else None."""
    if not isinstance(obj, GaloisKeys):
        return None
    return {int(g): key.data for g, key in obj.keys.items()}


def _make_galois(params: Parameters, key_id: str, items: dict[int, np.ndarray]) -> GaloisKeys:
    return GaloisKeys(params, {g: KeySwitchKey(params, data, key_id) for g, data in items.items()}, key_id)


# -- reading -------------------------------------------------------------------------------
def loads(
    blob: bytes | bytearray | memoryview, context: Context | Parameters | None = None, *, kind: str | None = None
):
    """Load an object written by :func:`dumps`.

    Args:
        blob: the bytes.
        context: the Context (or bare Parameters) the object belongs to.
            Needed for everything except Parameters and Context, which carry
            their own parameters.  Objects made for other parameters raise
            :class:`~ckks.errors.WrongContextError`; with a Context, so do
            ciphertexts and keys made under another secret key.
        kind: the expected object type ("ciphertext", "vector", "context"...);
            anything else in the file raises SerializationError.

    Raises:
        SerializationError: for anything wrong with the bytes (the message
            names the field and what was expected).
    """
    header, payload = _open(blob)
    fields = _Fields(header, "header")
    found = fields.choice("type", _LOADERS)
    if kind is not None and found != kind:
        raise SerializationError(f"expected a serialized {kind}, but the data holds a {found}")
    return _LOADERS[found](fields, payload, context)


def read_header(blob: bytes | bytearray | memoryview) -> dict:
    """The JSON header of serialized data (after the prefix and checksum checks), without loading it."""
    return _open(blob)[0]


def _open(blob) -> tuple[dict, memoryview]:
    """Check the prefix, the lengths and the checksum; parse the JSON header."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise InputTypeError(f"serialized data must be bytes, got {type(blob).__name__}")
    data = memoryview(blob).cast("B")
    smallest = _PREFIX.size + _DIGEST
    if len(data) < smallest:
        raise SerializationError(
            f"truncated: {len(data)} bytes, but every serialized object has at least {smallest} "
            "(prefix and checksum)"
        )
    magic, version, header_len, payload_len = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise SerializationError(
            f"not ckks serialized data: the file starts with {bytes(magic)!r}, expected {MAGIC!r} "
            "(files of TenSEAL, SEAL or pickle cannot be read here)"
        )
    if version != FORMAT_VERSION:
        raise SerializationError(
            f"format version {version} is not supported: this library reads version {FORMAT_VERSION}; "
            "write the data again with this version of ckks"
        )
    if header_len > MAX_HEADER_BYTES:
        raise SerializationError(
            f"prefix field 'header length' is {header_len} bytes, at most {MAX_HEADER_BYTES} allowed"
        )
    expected = _PREFIX.size + header_len + payload_len + _DIGEST
    if len(data) < expected:
        raise SerializationError(
            f"truncated: the prefix announces {expected} bytes (header {header_len}, payload {payload_len}) "
            f"but only {len(data)} are present"
        )
    if len(data) > expected:
        raise SerializationError(f"{len(data) - expected} unexpected trailing bytes after the checksum")
    body_end = expected - _DIGEST
    if hashlib.sha256(data[:body_end]).digest() != bytes(data[body_end:]):
        raise SerializationError(
            "checksum mismatch: the data was changed after it was written (a flipped bit, a bad transfer "
            "or an edit); ask for a fresh copy"
        )
    text = bytes(data[_PREFIX.size : _PREFIX.size + header_len])
    try:
        header = json.loads(text.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise SerializationError(f"the header is not valid UTF-8 JSON: {exc}") from None
    return header, data[_PREFIX.size + header_len : body_end]


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in a header")


class _Fields:
    """Typed, bounded access to one JSON object of the header; every failure names the field."""

    def __init__(self, obj, path: str):
        if not isinstance(obj, dict):
            raise SerializationError(f"{path} must be a JSON object, got {_json_kind(obj)}")
        self.obj = obj
        self.path = path
        self.seen: set[str] = set()

    def name(self, key: str) -> str:
        return f"{self.path} field '{key}'"

    def get(self, key: str):
        self.seen.add(key)
        if key not in self.obj:
            raise SerializationError(f"{self.name(key)} is missing")
        return self.obj[key]

    def integer(self, key: str, low: int, high: int, optional: bool = False) -> int | None:
        value = self.get(key)
        if value is None and optional:
            return None
        return _integer(value, low, high, self.name(key))

    def number(self, key: str, low: float, high: float) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SerializationError(f"{self.name(key)} must be a number, got {_json_kind(value)}")
        value = float(value)
        if not (math.isfinite(value) and low <= value <= high):
            raise SerializationError(f"{self.name(key)} is {value!r}, expected a finite number in [{low:g}, {high:g}]")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise SerializationError(f"{self.name(key)} must be true or false, got {_json_kind(value)}")
        return value

    def hex(self, key: str, low: int, high: int, optional: bool = False) -> str | None:
        value = self.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not low <= len(value) <= high or not _HEX.fullmatch(value):
            raise SerializationError(
                f"{self.name(key)} must be a string of {low}..{high} lowercase hex digits, got {_preview(value)}"
            )
        return value

    def choice(self, key: str, options):
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int, type(None))) or value not in options:
            raise SerializationError(
                f"{self.name(key)} is {_preview(value)}, expected one of {', '.join(map(repr, options))}"
            )
        return value

    def array(self, key: str, max_len: int) -> list:
        value = self.get(key)
        if not isinstance(value, list):
            raise SerializationError(f"{self.name(key)} must be a list, got {_json_kind(value)}")
        if len(value) > max_len:
            raise SerializationError(f"{self.name(key)} has {len(value)} entries, at most {max_len} allowed")
        return value

    def int_list(self, key: str, max_len: int, low: int, high: int) -> list[int]:
        values = self.array(key, max_len)
        return [_integer(v, low, high, f"{self.path} field '{key}[{i}]'") for i, v in enumerate(values)]

    def sub(self, key: str) -> _Fields:
        return _Fields(self.get(key), f"{self.path}.{key}")

    def done(self) -> None:
        extra = sorted(set(self.obj) - self.seen)
        if extra:
            raise SerializationError(f"{self.path} has unexpected field(s) {', '.join(map(repr, extra[:5]))}")


def _integer(value, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SerializationError(f"{name} must be an integer, got {_json_kind(value)}")
    if not low <= value <= high:
        raise SerializationError(f"{name} is {_preview(value)}, expected an integer in [{low}, {high}]")
    return value


def _json_kind(value) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    if type(value) in names:
        return f"{names[type(value)]} ({_preview(value)})"
    return f"{type(value).__name__} {_preview(value)}"


def _preview(value) -> str:
    big = isinstance(value, int) and value.bit_length() > 100
    text = f"an integer of {value.bit_length()} bits" if big else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- arrays -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    """What one array must look like: name, dtype, shape, and the prime of each limb (or None)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    moduli: tuple[int, ...] | None
    meaning: str

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


def _read_arrays(fields: _Fields, payload: memoryview, specs: list[_Spec]) -> dict[str, np.ndarray]:
    """Match header["arrays"] with the expected specs, then cut the payload into checked arrays."""
    listed = fields.array("arrays", len(specs))
    if len(listed) != len(specs):
        raise SerializationError(
            f"header field 'arrays' lists {len(listed)} arrays, expected {len(specs)}: "
            + ", ".join(s.name for s in specs)
        )
    for i, (item, spec) in enumerate(zip(listed, specs)):
        entry = _Fields(item, f"header.arrays[{i}]")
        name = entry.get("name")
        if name != spec.name:
            raise SerializationError(f"{entry.name('name')} is {_preview(name)}, expected {spec.name!r}")
        dtype = entry.get("dtype")
        if dtype != spec.dtype:
            raise SerializationError(f"{entry.name('dtype')} is {_preview(dtype)}, expected {spec.dtype!r}")
        shape = entry.int_list("shape", 8, 0, 1 << 40)
        if tuple(shape) != spec.shape:
            raise SerializationError(
                f"{entry.name('shape')} is {shape}, expected {list(spec.shape)} ({spec.meaning})"
            )
        entry.done()
    need = sum(s.nbytes for s in specs)
    if need != len(payload):
        raise SerializationError(f"the payload holds {len(payload)} bytes but the arrays need {need}")
    out, offset = {}, 0
    for spec in specs:
        array = np.frombuffer(payload, dtype=spec.dtype, count=math.prod(spec.shape), offset=offset)
        array = array.reshape(spec.shape).astype(np.dtype(spec.dtype).newbyteorder("="), copy=True)
        offset += spec.nbytes
        _check_range(array, spec)
        out[spec.name] = array
    return out


def _check_range(array: np.ndarray, spec: _Spec) -> None:
    if spec.moduli is None:  # secret key coefficients: ternary
        if array.size and (array.min() < -1 or array.max() > 1):
            raise SerializationError(f"array {spec.name!r} must hold coefficients in {{-1, 0, 1}}")
        return
    moduli = np.array(spec.moduli, dtype=np.uint64).reshape(-1, 1)
    bad = array >= moduli
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        limb = index[-2]
        raise SerializationError(
            f"array {spec.name!r} holds {int(array[index])} at index {list(index)}, which is not below its "
            f"prime q = {spec.moduli[limb]} (limb {limb}); residues must lie in [0, q)"
        )


def _poly_spec(name: str, params: Parameters, lead: tuple[int, ...], limbs: int, meaning: str) -> _Spec:
    moduli = params.all_moduli[:limbs] if limbs <= len(params.data_moduli) else params.all_moduli
    return _Spec(name, _U64, (*lead, limbs, params.poly_degree), tuple(moduli), meaning)


def _key_spec(name: str, params: Parameters, kind: str) -> _Spec:
    k, n = len(params.all_moduli), params.poly_degree
    if kind == "public_key":
        return _Spec(name, _U64, (2, k, n), params.all_moduli, f"(b, a) over {k} primes, N = {n}")
    digits = len(params.digits)
    return _Spec(name, _U64, (digits, 2, k, n), params.all_moduli, f"{digits} digits of (b, a) over {k} primes")


def _secret_spec(params: Parameters) -> _Spec:
    n = params.poly_degree
    return _Spec("secret_key", _I8, (n,), None, f"N = {n} ternary coefficients")


# -- context checks ---------------------------------------------------------------------------
def _resolve(context, what: str) -> tuple[Parameters, str | None]:
    if isinstance(context, Context):
        return context.params, context.key_id
    if isinstance(context, Parameters):
        return context, None
    if context is None:
        raise InputTypeError(
            f"loading a {what} needs the context it belongs to: loads(blob, context) "
            "(or ckks.CKKSVector.load(context, blob))"
        )
    raise InputTypeError(f"context must be a ckks.Context or ckks.Parameters, got {type(context).__name__}")


def _check_fingerprint(fields: _Fields, params: Parameters, what: str) -> None:
    found = fields.hex("fingerprint", 32, 32)
    if found != params.fingerprint():
        raise WrongContextError(
            f"the {what} was made for other parameters (fingerprint {found}) than the context it is loaded "
            f"into ({params.fingerprint()}, {params!r}); load it into the context it was made with"
        )


def _check_key_id(found: str, key_id: str | None, what: str) -> None:
    if key_id is not None and found != key_id:
        raise WrongContextError(
            f"the {what} belongs to secret key {found}, but the context holds key {key_id}; "
            "load it into the context whose keys made it (or a public_copy() of it)"
        )


# -- loaders ------------------------------------------------------------------------------------
def _load_parameters_fields(fields: _Fields) -> Parameters:
    p = fields.sub("params")
    poly_degree = p.integer("poly_degree", 1, MAX_POLY_DEGREE)
    moduli_bits = p.int_list("moduli_bits", MAX_MODULI, 2, 64)
    scale_bits = p.number("scale_bits", 0.0, 64.0 * MAX_MODULI)
    security = p.choice("security", (None, 128, 192, 256))
    dnum = p.integer("dnum", 1, MAX_MODULI, optional=True)
    special_count = p.integer("special_count", 1, MAX_MODULI)
    hamming_weight = p.integer("hamming_weight", 1, poly_degree, optional=True)
    sigma = p.number("sigma", 0.0, 2.0**16)
    primes = p.array("primes", MAX_MODULI)
    p.done()
    try:
        params = Parameters(
            poly_degree, moduli_bits, scale_bits, security=security, dnum=dnum,
            special_count=special_count, hamming_weight=hamming_weight, sigma=sigma,
        )
    except CKKSError as exc:
        raise SerializationError(f"header field 'params' describes invalid parameters: {exc}") from None
    if primes != [str(q) for q in params.all_moduli]:
        raise SerializationError(
            f"header field 'params.primes' is {_preview(primes)}, but these parameters generate "
            f"{[str(q) for q in params.all_moduli]}; the data was written by an incompatible library"
        )
    return params


def _load_parameters(fields: _Fields, payload: memoryview, context) -> Parameters:
    params = _load_parameters_fields(fields)
    _read_arrays(fields, payload, [])
    fields.done()
    return params


def _load_ciphertext_fields(fields: _Fields, payload: memoryview, params: Parameters, key_id: str | None, what: str):
    _check_fingerprint(fields, params, what)
    found_key = fields.hex("key_id", 1, 64)
    _check_key_id(found_key, key_id, what)
    level = fields.integer("level", 0, params.max_level)
    size = fields.integer("size", 2, 3)
    scale = fields.number("scale", 2.0**-1000, 2.0**1000)
    seed = fields.hex("seed", 2 * SEED_BYTES, 2 * SEED_BYTES, optional=True)
    if seed is not None:
        if size != 2:
            raise SerializationError(f"header field 'seed' is set for a ciphertext of size {size}; only size 2 has one")
        spec = _poly_spec("c0", params, (), level + 1, f"c_0 at level {level}, N = {params.poly_degree}")
        c0 = _read_arrays(fields, payload, [spec])["c0"]
        seed_bytes = bytes.fromhex(seed)
        data = np.stack([c0, _uniform_from_seed(params, seed_bytes, level)])
    else:
        meaning = f"{size} polynomials at level {level}, N = {params.poly_degree}"
        data = _read_arrays(fields, payload, [_poly_spec("data", params, (size,), level + 1, meaning)])["data"]
        seed_bytes = None
    return Ciphertext(params, data, scale, found_key, seed=seed_bytes)


def _load_ciphertext(fields: _Fields, payload: memoryview, context) -> Ciphertext:
    params, key_id = _resolve(context, "ciphertext")
    ct = _load_ciphertext_fields(fields, payload, params, key_id, "ciphertext")
    fields.done()
    return ct


def _load_vector(fields: _Fields, payload: memoryview, context) -> CKKSVector:
    if not isinstance(context, Context):
        _resolve(context, "vector")  # raises for None / wrong types
        raise InputTypeError("loading a vector needs a ckks.Context, not bare Parameters")
    ct = _load_ciphertext_fields(fields, payload, context.params, context.key_id, "vector")
    length = fields.integer("length", 0, context.slots)
    is_complex = fields.boolean("complex")
    zero_tail = fields.boolean("zero_tail")  # slots past `length` hold zeros: sum() needs no mask
    fields.done()
    vector = CKKSVector(context, ct, length, is_complex)
    vector.zero_tail = zero_tail
    return vector


def _load_plaintext(fields: _Fields, payload: memoryview, context) -> Plaintext:
    params, _ = _resolve(context, "plaintext")
    _check_fingerprint(fields, params, "plaintext")
    level = fields.integer("level", 0, params.max_level)
    scale = fields.number("scale", 2.0**-1000, 2.0**1000)
    meaning = f"one polynomial at level {level}, N = {params.poly_degree}"
    data = _read_arrays(fields, payload, [_poly_spec("data", params, (), level + 1, meaning)])["data"]
    fields.done()
    return Plaintext(params, data, scale)


def _load_key(fields: _Fields, payload: memoryview, context):
    kind = fields.obj["type"]
    params, key_id = _resolve(context, kind.replace("_", " "))
    _check_fingerprint(fields, params, kind.replace("_", " "))
    found_key = fields.hex("key_id", 1, 64)
    _check_key_id(found_key, key_id, kind.replace("_", " "))
    if kind == "secret_key":
        coefficients = _read_arrays(fields, payload, [_secret_spec(params)])["secret_key"]
        fields.done()
        return _secret_key(params, coefficients, found_key)
    if kind == "galois_keys":
        elements = _galois_elements(fields, params)
        specs = [_key_spec(f"galois_{g}", params, kind) for g in elements]
        arrays = _read_arrays(fields, payload, specs)
        fields.done()
        return _make_galois(params, found_key, {g: arrays[f"galois_{g}"] for g in elements})
    data = _read_arrays(fields, payload, [_key_spec("data", params, kind)])["data"]
    fields.done()
    return (PublicKey if kind == "public_key" else RelinKey)(params, data, found_key)


def _galois_elements(fields: _Fields, params: Parameters, key: str = "elements") -> list[int]:
    two_n = 2 * params.poly_degree
    elements = fields.int_list(key, MAX_GALOIS_KEYS, 3, two_n - 1)
    if any(g % 2 == 0 for g in elements) or elements != sorted(set(elements)):
        raise SerializationError(
            f"{fields.name(key)} must list distinct odd Galois elements in increasing order, got {_preview(elements)}"
        )
    return elements


def _secret_key(params: Parameters, coefficients: np.ndarray, key_id: str) -> SecretKey:
    weight = int(np.count_nonzero(coefficients))
    if params.hamming_weight is not None and weight != params.hamming_weight:
        raise SerializationError(
            f"array 'secret_key' has {weight} non-zero coefficients, but the parameters ask for a sparse "
            f"secret of Hamming weight {params.hamming_weight}"
        )
    return SecretKey(params, coefficients, key_id)


def _load_context(fields: _Fields, payload: memoryview, context) -> Context:
    params = _load_parameters_fields(fields)
    found = fields.hex("fingerprint", 32, 32)
    if found != params.fingerprint():
        raise SerializationError(
            f"header field 'fingerprint' is {found}, but the parameters in the header have fingerprint "
            f"{params.fingerprint()}; the data is inconsistent"
        )
    key_id = fields.hex("key_id", 1, 64)
    has_secret = fields.boolean("secret_key")
    has_relin = fields.boolean("relin_key")
    elements = _galois_elements(fields, params, "galois_elements")
    specs = [_key_spec("public_key", params, "public_key")]
    if has_relin:
        specs.append(_key_spec("relin_key", params, "relin_key"))
    specs += [_key_spec(f"galois_{g}", params, "galois_keys") for g in elements]
    if has_secret:
        specs.append(_secret_spec(params))
    arrays = _read_arrays(fields, payload, specs)
    fields.done()
    public_key = PublicKey(params, arrays["public_key"], key_id)
    relin_key = RelinKey(params, arrays["relin_key"], key_id) if has_relin else None
    galois = _make_galois(params, key_id, {g: arrays[f"galois_{g}"] for g in elements}) if elements else None
    secret = _secret_key(params, arrays["secret_key"], key_id) if has_secret else None
    if secret is not None:
        bound = math.floor(TAIL_CUT_SIGMAS * params.sigma)
        error = public_key_error(public_key, secret)
        if error > bound:
            raise SerializationError(
                f"the secret key does not belong to the public key: b + a s has a coefficient of size {error}, "
                f"while a matching pair gives at most {bound}"
            )
    return Context._from_keys(params, secret, public_key, relin_key, galois)


_LOADERS = {
    "parameters": _load_parameters,
    "context": _load_context,
    "secret_key": _load_key,
    "public_key": _load_key,
    "relin_key": _load_key,
    "galois_keys": _load_key,
    "plaintext": _load_plaintext,
    "ciphertext": _load_ciphertext,
    "vector": _load_vector,
}
