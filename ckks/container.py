"""The container format: one versioned, checksummed byte layout that every serializable type writes.

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

This module knows the layout and nothing about CKKS: each type (Parameters,
keys, Plaintext, Ciphertext, CKKSVector, Context) writes its own header and
arrays with :func:`pack` next to its definition, and reads them back with
:func:`open_blob`, :class:`Fields` and :func:`read_arrays`.

May import: numpy, the standard library, :mod:`ckks.errors`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ckks.errors import InputTypeError, SerializationError

MAGIC = b"CKKSPY"
FORMAT_VERSION = 1
#: The JSON header is small (under a kilobyte for real parameters); this cap bounds parsing work.
MAX_HEADER_BYTES = 1 << 20

_PREFIX = struct.Struct("<6sHIQ")
_DIGEST = 32
_U64 = "<u8"
_I8 = "|i1"
_HEX = re.compile(r"[0-9a-f]+")
_DECIMAL = re.compile(r"[1-9][0-9]{0,19}")




def pack(header: dict, arrays: list[tuple[str, np.ndarray]]) -> bytes:
    header = dict(header, arrays=[{"name": n, "dtype": dtype_of(a), "shape": list(a.shape)} for n, a in arrays])
    payload = b"".join(np.ascontiguousarray(a, dtype=np.dtype(dtype_of(a))).tobytes() for _, a in arrays)
    return seal(header, payload)


def seal(header: dict | bytes, payload: bytes, version: int = FORMAT_VERSION) -> bytes:
    """Prefix + header + payload + checksum (a header given as bytes is written as is, for tests)."""
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    body = _PREFIX.pack(MAGIC, version, len(text), len(payload)) + text + payload
    return body + hashlib.sha256(body).digest()


def dtype_of(array: np.ndarray) -> str:
    """The stored dtype of an array: int8 for secret-key coefficients, little-endian uint64 otherwise."""
    return _I8 if array.dtype == np.int8 else _U64




def read_header(blob: bytes | bytearray | memoryview) -> dict:
    """The JSON header of serialized data (after the prefix and checksum checks), without loading it."""
    return open_blob(blob)[0]


def open_blob(blob) -> tuple[dict, memoryview]:
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


class Fields:
    """Typed, bounded access to one JSON object of the header; every failure names the field."""

    def __init__(self, obj, path: str):
        if not isinstance(obj, dict):
            raise SerializationError(f"{path} must be a JSON object, got {json_kind(obj)}")
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
        return integer(value, low, high, self.name(key))

    def number(self, key: str, low: float, high: float) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SerializationError(f"{self.name(key)} must be a number, got {json_kind(value)}")
        value = float(value)
        if not (math.isfinite(value) and low <= value <= high):
            raise SerializationError(f"{self.name(key)} is {value!r}, expected a finite number in [{low:g}, {high:g}]")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise SerializationError(f"{self.name(key)} must be true or false, got {json_kind(value)}")
        return value

    def hex(self, key: str, low: int, high: int, optional: bool = False) -> str | None:
        value = self.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not low <= len(value) <= high or not _HEX.fullmatch(value):
            raise SerializationError(
                f"{self.name(key)} must be a string of {low}..{high} lowercase hex digits, got {preview(value)}"
            )
        return value

    def choice(self, key: str, options):
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int, type(None))) or value not in options:
            raise SerializationError(
                f"{self.name(key)} is {preview(value)}, expected one of {', '.join(map(repr, options))}"
            )
        return value

    def array(self, key: str, max_len: int) -> list:
        value = self.get(key)
        if not isinstance(value, list):
            raise SerializationError(f"{self.name(key)} must be a list, got {json_kind(value)}")
        if len(value) > max_len:
            raise SerializationError(f"{self.name(key)} has {len(value)} entries, at most {max_len} allowed")
        return value

    def int_list(self, key: str, max_len: int, low: int, high: int) -> list[int]:
        values = self.array(key, max_len)
        return [integer(v, low, high, f"{self.path} field '{key}[{i}]'") for i, v in enumerate(values)]

    def sub(self, key: str) -> Fields:
        return Fields(self.get(key), f"{self.path}.{key}")

    def done(self) -> None:
        extra = sorted(set(self.obj) - self.seen)
        if extra:
            raise SerializationError(f"{self.path} has unexpected field(s) {', '.join(map(repr, extra[:5]))}")


def integer(value, low: int, high: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SerializationError(f"{name} must be an integer, got {json_kind(value)}")
    if not low <= value <= high:
        raise SerializationError(f"{name} is {preview(value)}, expected an integer in [{low}, {high}]")
    return value


def json_kind(value) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    if type(value) in names:
        return f"{names[type(value)]} ({preview(value)})"
    return f"{type(value).__name__} {preview(value)}"


def preview(value) -> str:
    big = isinstance(value, int) and value.bit_length() > 100
    text = f"an integer of {value.bit_length()} bits" if big else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class ArraySpec:
    """What one array must look like: name, dtype, shape, and the prime of each limb (or None)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    moduli: tuple[int, ...] | None
    meaning: str

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


def read_arrays(fields: Fields, payload: memoryview, specs: list[ArraySpec]) -> dict[str, np.ndarray]:
    """Match header["arrays"] with the expected specs, then cut the payload into checked arrays."""
    listed = fields.array("arrays", len(specs))
    if len(listed) != len(specs):
        raise SerializationError(
            f"header field 'arrays' lists {len(listed)} arrays, expected {len(specs)}: "
            + ", ".join(s.name for s in specs)
        )
    for i, (item, spec) in enumerate(zip(listed, specs)):
        entry = Fields(item, f"header.arrays[{i}]")
        name = entry.get("name")
        if name != spec.name:
            raise SerializationError(f"{entry.name('name')} is {preview(name)}, expected {spec.name!r}")
        dtype = entry.get("dtype")
        if dtype != spec.dtype:
            raise SerializationError(f"{entry.name('dtype')} is {preview(dtype)}, expected {spec.dtype!r}")
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
        check_range(array, spec)
        out[spec.name] = array
    return out


def check_range(array: np.ndarray, spec: ArraySpec) -> None:
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




# -- loading any type: each serializable type registers its loader where it is defined -----------------
#: type name in the header -> loader(fields, payload, context) -> object
_LOADERS: dict[str, Callable[[Fields, memoryview, object], object]] = {}


def register_loader(type_name: str, loader: Callable[[Fields, memoryview, object], object]) -> None:
    """Make :func:`loads` able to read objects whose header says ``"type": type_name``.

    Each serializable type calls this once, next to its definition, so that
    this module never imports the types it reads.

    Args:
        type_name: the header's "type" value ("ciphertext", "public_key", ...).
        loader: ``loader(fields, payload, context)``: builds the object from the
            checked header fields and the payload, for ``context`` (a
            Context, Parameters, or None).

    Raises:
        ValueError: ``type_name`` is already registered to another loader.
    """
    known = _LOADERS.get(type_name)
    if known is not None and known is not loader:
        raise ValueError(f"a loader for {type_name!r} is already registered")
    _LOADERS[type_name] = loader


def loads(blob: bytes | bytearray | memoryview, context: object = None, *, kind: str | None = None) -> object:
    """Load any object written by a type's ``serialize()``, dispatching on the header's "type".

    Args:
        blob: the bytes.
        context: the Context (or bare Parameters) the object belongs to;
            needed for everything but Parameters and Context, which carry
            their own parameters.
        kind: the expected type name; anything else in the data raises.

    Returns:
        The loaded object.

    Raises:
        InputTypeError: ``blob`` is not bytes-like.
        SerializationError: anything wrong with the bytes, or a type whose
            module has not been imported (import :mod:`ckks` first).
        WrongContextError: the object was made for other parameters or keys.
    """
    header, payload = open_blob(blob)
    fields = Fields(header, "header")
    found = fields.choice("type", sorted(_LOADERS))
    if kind is not None and found != kind:
        raise SerializationError(f"expected a serialized {kind}, but the data holds a {found}")
    return _LOADERS[found](fields, payload, context)
