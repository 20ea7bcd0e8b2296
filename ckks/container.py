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
parameters fingerprint (`WrongContextError` when the
object was made for another context), the array shapes implied by the
parameters, and finally that every residue lies in [0, q) of its prime.
Every failure is a `SerializationError` whose message
names the field and what was expected.  A header that repeats a key (where
JSON parsers silently keep the last value) is refused.

Integrity, not authenticity.  The checksum and the checks above catch
corruption and malformed data, but anybody can write a well-formed blob: a
file from an untrusted party may hold keys or ciphertexts of their choosing.
For data that crosses a trust boundary, seal it with a secret key shared by
writer and reader: [`sign`][ckks.container.sign] appends an HMAC-SHA256
tag and [`verify`][ckks.container.verify] (or ``loads(blob, ..., mac_key=key)``)
checks it in constant time before anything is parsed::

    offset   bytes  field
    0        8      magic b"CKKSMAC1"
    8        B      the blob (a container as above)
    8+B      32     HMAC-SHA256(key, b"CKKSMAC1" || blob)

Fresh symmetric ciphertexts carry the seed their uniform c_1 was drawn from;
they are stored as c_0 and the 32-byte seed, about half the size, and c_1 is
regenerated on load (SEAL does the same).

This module knows the layout and nothing about CKKS: each type (Parameters,
keys, Plaintext, Ciphertext, CKKSVector, Context) writes its own header and
arrays with [`pack`][ckks.container.pack] next to its definition, registers a
loader with [`register_loader`][ckks.container.register_loader], and reads its
fields back with [`Fields`][ckks.container.Fields] and
[`read_arrays`][ckks.container.read_arrays];
[`loads`][ckks.container.loads] dispatches on the header's "type".  The two
checks every loader makes against the context it loads into,
[`check_fingerprint`][ckks.container.check_fingerprint] and
[`check_key_id`][ckks.container.check_key_id], are here too (they take the
parameters duck-typed: anything with ``fingerprint()``).

May import: numpy, the standard library, `ckks.errors`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ckks.errors import InputTypeError, SerializationError, WrongContextError
from ckks.validation import is_integer, is_real

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
    """Serialize a header and arrays: the header gains the list of arrays, the payload is their bytes.

    uint64 arrays of residues are bit-packed (`pack_residues`): each limb
    (axis -2) is stored at the bit width of its largest value, which for
    uniform residues is the width of its prime (40 bits for a 40-bit prime
    instead of 64); the widths are listed in the array's header entry as
    ``"bits"``.  Arrays that gain nothing are written as plain words.

    Args:
        header: a JSON-serializable dict (at least "type"); finite numbers only.
        arrays: ``(name, array)`` pairs, written in order, C order, little-endian
            (int8 arrays as int8, everything else as uint64, bit-packed where it pays).

    Returns:
        The sealed bytes (prefix, header, payload, SHA-256).
    """
    entries, parts = [], []
    for name, array in arrays:
        entry = {"name": name, "dtype": dtype_of(array), "shape": list(array.shape)}
        array = np.ascontiguousarray(array, dtype=np.dtype(dtype_of(array)))
        widths = residue_widths(array) if entry["dtype"] == _U64 else None
        if widths is not None:
            entry["bits"] = widths
            parts.append(pack_residues(array, widths))
        else:
            parts.append(array.tobytes())
        entries.append(entry)
    return seal(dict(header, arrays=entries), b"".join(parts))


def residue_widths(array: np.ndarray) -> list[int] | None:
    """Bit width of each limb (axis -2) of a uint64 array: that of its largest value, or None if packing gains nothing.

    Args:
        array: uint64 array of shape (..., limbs, N), N a multiple of 8.

    Returns:
        One width in [1, 64] per limb, or None (fewer than 2 axes, N not a multiple of 8, empty, or all 64).
    """
    if array.ndim < 2 or array.size == 0 or array.shape[-1] % 8:
        return None
    largest = array.reshape(-1, array.shape[-2], array.shape[-1]).max(axis=(0, 2))
    widths = [max(1, int(v).bit_length()) for v in largest]
    return None if all(w == 64 for w in widths) else widths


def packed_size(shape: tuple[int, ...], widths: list[int]) -> int:
    """Bytes of a bit-packed array: each of its rows of N values takes N * width / 8 bytes.

    Args:
        shape: the array's shape (..., limbs, N).
        widths: the bit width of each limb.

    Returns:
        The payload size in bytes.
    """
    rows = math.prod(shape[:-2])
    return rows * sum(shape[-1] * w // 8 for w in widths)


def pack_residues(array: np.ndarray, widths: list[int]) -> bytes:
    """Bit-pack a uint64 array (..., limbs, N): limb k at ``widths[k]`` bits per value.

    Layout: for each limb k in order, the rows ``array[..., k, :]`` in C order,
    each as its N values' low ``widths[k]`` bits, least significant bit first,
    concatenated (N * width / 8 bytes per row).

    Args:
        array: C-contiguous uint64 array whose limb k holds values below 2^widths[k].
        widths: the bit width of each limb.

    Returns:
        The packed bytes (`packed_size` of them).
    """
    n = array.shape[-1]
    grid = array.reshape(-1, array.shape[-2], n)
    parts = []
    for k, w in enumerate(widths):
        for start in range(0, grid.shape[0], 16):  # bounded temporaries: 16 rows at a time
            rows = np.ascontiguousarray(grid[start:start + 16, k], dtype="<u8")
            bits = np.unpackbits(rows.view(np.uint8).reshape(-1, n, 8), axis=2, bitorder="little")
            parts.append(np.packbits(bits[:, :, :w].reshape(-1), bitorder="little").tobytes())
    return b"".join(parts)


def unpack_residues(data: memoryview | bytes, shape: tuple[int, ...], widths: list[int]) -> np.ndarray:
    """Inverse of `pack_residues`: the uint64 array of ``shape`` from its packed bytes.

    Args:
        data: exactly `packed_size` (shape, widths) bytes.
        shape: the array's shape (..., limbs, N).
        widths: the bit width of each limb.

    Returns:
        A new native uint64 array.
    """
    n = shape[-1]
    limbs = shape[-2]
    rows = math.prod(shape[:-2])
    out = np.empty((rows, limbs, n), dtype=np.uint64)
    raw = np.frombuffer(data, dtype=np.uint8)
    offset = 0
    for k, w in enumerate(widths):
        row_bytes = n * w // 8
        for start in range(0, rows, 16):
            count = min(16, rows - start)
            chunk = raw[offset:offset + count * row_bytes]
            offset += count * row_bytes
            bits = np.unpackbits(chunk, bitorder="little").reshape(count, n, w)
            full = np.zeros((count, n, 64), dtype=np.uint8)
            full[:, :, :w] = bits
            words = np.packbits(full, axis=2, bitorder="little").reshape(count, n * 8).view("<u8")
            out[start:start + count, k] = words
    return out.reshape(shape)


def seal(header: dict | bytes, payload: bytes, version: int = FORMAT_VERSION) -> bytes:
    """Prefix + header + payload + checksum (a header given as bytes is written as is, for tests).

    Args:
        header: the header dict, or its bytes.
        payload: the arrays' bytes.
        version: the format version written in the prefix.

    Returns:
        The bytes.
    """
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    body = _PREFIX.pack(MAGIC, version, len(text), len(payload)) + text + payload
    return body + hashlib.sha256(body).digest()


def dtype_of(array: np.ndarray) -> str:
    """The stored dtype of an array: int8 for secret-key coefficients, little-endian uint64 otherwise.

    Args:
        array: the array to write.

    Returns:
        ``"|i1"`` or ``"<u8"``.
    """
    return _I8 if array.dtype == np.int8 else _U64


def read_header(blob: bytes | bytearray | memoryview) -> dict:
    """The JSON header of serialized data (after the prefix and checksum checks), without loading it.

    Args:
        blob: the bytes.

    Returns:
        The header as a dict.

    Raises:
        InputTypeError: ``blob`` is not bytes-like.
        SerializationError: truncated, trailing bytes, wrong magic or version, bad checksum or header.
    """
    return open_blob(blob)[0]


def open_blob(blob) -> tuple[dict, memoryview]:
    """Check the prefix, the lengths and the checksum; parse the JSON header.

    Args:
        blob: the bytes.

    Returns:
        ``(header, payload)``: the header dict and a view of the payload bytes.

    Raises:
        InputTypeError: ``blob`` is not bytes-like.
        SerializationError: truncated, trailing bytes, wrong magic or version, a header longer than
            ``MAX_HEADER_BYTES``, a checksum mismatch, or a header that is not UTF-8 JSON.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise InputTypeError(f"serialized data must be bytes, got {type(blob).__name__}")
    data = _byte_view(blob)
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
        header = json.loads(text.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise SerializationError(f"the header is not valid UTF-8 JSON: {exc}") from None
    return header, data[_PREFIX.size + header_len : body_end]


def _byte_view(blob: bytes | bytearray | memoryview) -> memoryview:
    """A flat byte view of ``blob`` (a strided or multi-dimensional memoryview is copied first)."""
    view = memoryview(blob)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return view.cast("B")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"the key(s) {', '.join(map(repr, repeated[:5]))} appear more than once in one object")
    return dict(pairs)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed in a header")


class Fields:
    """Typed, bounded access to one JSON object of the header; every failure names the field.

    Every accessor marks its key as seen; `done` then refuses unknown fields.

    Args:
        obj: the JSON object (a dict).
        path: where it sits ("header", "header.params"), for messages.

    Raises:
        SerializationError: ``obj`` is not a JSON object.
    """

    def __init__(self, obj: object, path: str):
        if not isinstance(obj, dict):
            raise SerializationError(f"{path} must be a JSON object, got {json_kind(obj)}")
        self.obj = obj
        self.path = path
        self.seen: set[str] = set()

    def name(self, key: str) -> str:
        """How messages name a field.

        Args:
            key: the field.

        Returns:
            ``"<path> field '<key>'"``.
        """
        return f"{self.path} field '{key}'"

    def get(self, key: str) -> object:
        """The raw value of a field (marked as seen).

        Args:
            key: the field.

        Returns:
            Its JSON value.

        Raises:
            SerializationError: the field is missing.
        """
        self.seen.add(key)
        if key not in self.obj:
            raise SerializationError(f"{self.name(key)} is missing")
        return self.obj[key]

    def integer(self, key: str, low: int, high: int, optional: bool = False) -> int | None:
        """An integer field in [low, high] (or null when ``optional``).

        Args:
            key: the field.
            low: the smallest allowed value.
            high: the largest allowed value.
            optional: accept null (returned as None).

        Returns:
            The integer, or None.

        Raises:
            SerializationError: missing, not an integer (a boolean included), or out of range.
        """
        value = self.get(key)
        if value is None and optional:
            return None
        return integer(value, low, high, self.name(key))

    def number(self, key: str, low: float, high: float) -> float:
        """A finite number field in [low, high].

        Args:
            key: the field.
            low: the smallest allowed value.
            high: the largest allowed value.

        Returns:
            The number as a float.

        Raises:
            SerializationError: missing, not a number, not finite, or out of range.
        """
        value = self.get(key)
        if not is_real(value):
            raise SerializationError(f"{self.name(key)} must be a number, got {json_kind(value)}")
        try:
            value = float(value)
        except OverflowError:  # a JSON integer too large for a float
            raise SerializationError(f"{self.name(key)} is {preview(value)}, far outside [{low:g}, {high:g}]") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise SerializationError(f"{self.name(key)} is {value!r}, expected a finite number in [{low:g}, {high:g}]")
        return value

    def boolean(self, key: str) -> bool:
        """A true/false field.

        Args:
            key: the field.

        Returns:
            The flag.

        Raises:
            SerializationError: missing or not a boolean.
        """
        value = self.get(key)
        if not isinstance(value, bool):
            raise SerializationError(f"{self.name(key)} must be true or false, got {json_kind(value)}")
        return value

    def hex(self, key: str, low: int, high: int, optional: bool = False) -> str | None:
        """A string of ``low`` .. ``high`` lowercase hex digits (or null when ``optional``).

        Args:
            key: the field.
            low: the fewest digits.
            high: the most digits.
            optional: accept null (returned as None).

        Returns:
            The string, or None.

        Raises:
            SerializationError: missing, not a string, of the wrong length, or not lowercase hex.
        """
        value = self.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not low <= len(value) <= high or not _HEX.fullmatch(value):
            raise SerializationError(
                f"{self.name(key)} must be a string of {low}..{high} lowercase hex digits, got {preview(value)}"
            )
        return value

    def choice(self, key: str, options: object) -> object:
        """A field that must be one of ``options`` (strings, integers or null).

        Args:
            key: the field.
            options: the allowed values (a collection).

        Returns:
            The value.

        Raises:
            SerializationError: missing or not one of the options.
        """
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, (str, int, type(None))) or value not in options:
            raise SerializationError(
                f"{self.name(key)} is {preview(value)}, expected one of {', '.join(map(repr, options))}"
            )
        return value

    def array(self, key: str, max_len: int) -> list:
        """A list field of at most ``max_len`` entries (entries unchecked).

        Args:
            key: the field.
            max_len: the most entries allowed.

        Returns:
            The list.

        Raises:
            SerializationError: missing, not a list, or too long.
        """
        value = self.get(key)
        if not isinstance(value, list):
            raise SerializationError(f"{self.name(key)} must be a list, got {json_kind(value)}")
        if len(value) > max_len:
            raise SerializationError(f"{self.name(key)} has {len(value)} entries, at most {max_len} allowed")
        return value

    def int_list(self, key: str, max_len: int, low: int, high: int) -> list[int]:
        """A list of at most ``max_len`` integers, each in [low, high].

        Args:
            key: the field.
            max_len: the most entries allowed.
            low: the smallest allowed entry.
            high: the largest allowed entry.

        Returns:
            The integers.

        Raises:
            SerializationError: missing, not a list, too long, or an entry not an integer in range.
        """
        values = self.array(key, max_len)
        return [integer(v, low, high, f"{self.path} field '{key}[{i}]'") for i, v in enumerate(values)]

    def sub(self, key: str) -> Fields:
        """The typed view of a nested object field.

        Args:
            key: the field.

        Returns:
            Its `Fields`, with path ``<path>.<key>``.

        Raises:
            SerializationError: missing or not an object.
        """
        return Fields(self.get(key), f"{self.path}.{key}")

    def done(self) -> None:
        """Refuse any field no accessor has read.

        Raises:
            SerializationError: the object has unexpected fields.
        """
        extra = sorted(set(self.obj) - self.seen)
        if extra:
            raise SerializationError(f"{self.path} has unexpected field(s) {', '.join(map(repr, extra[:5]))}")


def integer(value: object, low: int, high: int, name: str) -> int:
    """``value`` if it is a JSON integer in [low, high].

    Args:
        value: the JSON value.
        low: the smallest allowed value.
        high: the largest allowed value.
        name: how messages name it.

    Returns:
        The integer.

    Raises:
        SerializationError: not an integer (a boolean included), or out of range.
    """
    if not is_integer(value):
        raise SerializationError(f"{name} must be an integer, got {json_kind(value)}")
    if not low <= value <= high:
        raise SerializationError(f"{name} is {preview(value)}, expected an integer in [{low}, {high}]")
    return value


def json_kind(value: object) -> str:
    """What kind of JSON value this is, with a preview, for messages.

    Args:
        value: the JSON value.

    Returns:
        e.g. ``"a list ([1, 2])"``.
    """
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    if type(value) in names:
        return f"{names[type(value)]} ({preview(value)})"
    return f"{type(value).__name__} {preview(value)}"


def preview(value: object) -> str:
    """A short ``repr`` for messages (huge integers by their bit count).

    Args:
        value: anything.

    Returns:
        At most 60 characters.
    """
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
        """The number of payload bytes the array takes."""
        return math.prod(self.shape) * np.dtype(self.dtype).itemsize


def read_arrays(fields: Fields, payload: memoryview, specs: list[ArraySpec]) -> dict[str, np.ndarray]:
    """Match header["arrays"] with the expected specs, then cut the payload into checked arrays.

    Args:
        fields: the header (its "arrays" list is read).
        payload: the payload bytes.
        specs: the arrays expected, in order.

    Returns:
        ``{name: array}``, native-endian copies (the payload is not kept).

    Raises:
        SerializationError: the list differs from the specs (count, name, dtype, shape), the payload
            has the wrong length, or a value is out of range (`check_range`).
    """
    listed = fields.array("arrays", len(specs))
    if len(listed) != len(specs):
        raise SerializationError(
            f"header field 'arrays' lists {len(listed)} arrays, expected {len(specs)}: "
            + ", ".join(s.name for s in specs)
        )
    widths: list[list[int] | None] = []
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
        bits = None
        if isinstance(item, dict) and "bits" in item:  # bit-packed residues (see pack)
            if spec.dtype != _U64 or len(spec.shape) < 2 or spec.shape[-1] % 8:
                raise SerializationError(f"{entry.name('bits')} is not allowed for array {spec.name!r}")
            bits = entry.int_list("bits", spec.shape[-2], 1, 64)
            if len(bits) != spec.shape[-2]:
                raise SerializationError(
                    f"{entry.name('bits')} lists {len(bits)} widths, expected one per limb ({spec.shape[-2]})"
                )
        widths.append(bits)
        entry.done()
    sizes = [s.nbytes if w is None else packed_size(s.shape, w) for s, w in zip(specs, widths)]
    need = sum(sizes)
    if need != len(payload):
        raise SerializationError(f"the payload holds {len(payload)} bytes but the arrays need {need}")
    out, offset = {}, 0
    for spec, bits, size in zip(specs, widths, sizes):
        if bits is None:
            array = np.frombuffer(payload, dtype=spec.dtype, count=math.prod(spec.shape), offset=offset)
            array = array.reshape(spec.shape).astype(np.dtype(spec.dtype).newbyteorder("="), copy=True)
        else:
            array = unpack_residues(payload[offset:offset + size], spec.shape, bits)
        offset += size
        check_range(array, spec)
        out[spec.name] = array
    return out


def check_range(array: np.ndarray, spec: ArraySpec) -> None:
    """Refuse residues not below their prime (or, with no primes, coefficients outside {-1, 0, 1}).

    Args:
        array: the array, shape ``(..., limbs, N)``.
        spec: its spec; ``spec.moduli[k]`` is the prime of limb k.

    Raises:
        SerializationError: a value is out of range (the message gives its index and prime).
    """
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


# -- checks against the context an object is loaded into ----------------------------------------------
def check_fingerprint(fields: Fields, params: object, what: str) -> None:
    """Refuse an object made for other parameters than those it is loaded into.

    Args:
        fields: the header (its "fingerprint" field is read).
        params: the parameters loaded into (anything with ``fingerprint()``).
        what: what is loaded, for the message.

    Raises:
        SerializationError: the field is missing or not 32 hex digits.
        WrongContextError: the fingerprint is not that of ``params``.
    """
    found = fields.hex("fingerprint", 32, 32)
    if found != params.fingerprint():
        raise WrongContextError(
            f"the {what} was made for other parameters (fingerprint {found}) than the context it is loaded "
            f"into ({params.fingerprint()}, {params!r}); load it into the context it was made with"
        )


def check_key_id(found: str, key_id: str | None, what: str) -> None:
    """Refuse an object made under another secret key than the context's.

    Args:
        found: the key id stored with the object.
        key_id: the context's key id, or None (bare parameters: nothing to check).
        what: what is loaded, for the message.

    Raises:
        WrongContextError: both ids are known and differ.
    """
    if key_id is not None and found != key_id:
        raise WrongContextError(
            f"the {what} belongs to secret key {found}, but the context holds key {key_id}; "
            "load it into the context whose keys made it (or a public_copy() of it)"
        )


# -- loading any type: each serializable type registers its loader where it is defined -----------------
#: type name in the header -> loader(fields, payload, context) -> object
_LOADERS: dict[str, Callable[[Fields, memoryview, object], object]] = {}


def register_loader(type_name: str, loader: Callable[[Fields, memoryview, object], object]) -> None:
    """Make `loads` able to read objects whose header says ``"type": type_name``.

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


MAC_MAGIC = b"CKKSMAC1"
_MAC_BYTES = 32
#: The shortest MAC key accepted (bytes).
MIN_MAC_KEY_BYTES = 16


def _check_mac_key(key: object) -> bytes:
    if not isinstance(key, (bytes, bytearray)):
        raise InputTypeError(f"mac_key must be bytes, got {type(key).__name__}")
    if len(key) < MIN_MAC_KEY_BYTES:
        raise InputTypeError(
            f"mac_key must hold at least {MIN_MAC_KEY_BYTES} bytes (e.g. secrets.token_bytes(32)), got {len(key)}"
        )
    return bytes(key)


def sign(blob: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """Authenticate serialized data with HMAC-SHA256 under a secret key (for data crossing a trust boundary).

    Args:
        blob: the serialized data (any ``serialize()`` output).
        key: the MAC key, at least 16 bytes, shared by writer and reader only.

    Returns:
        ``b"CKKSMAC1" + blob + tag``; [`verify`][ckks.container.verify] gives the blob back.

    Raises:
        InputTypeError: ``blob`` is not bytes-like, or ``key`` is not bytes of at least 16 bytes.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise InputTypeError(f"serialized data must be bytes, got {type(blob).__name__}")
    key = _check_mac_key(key)
    body = MAC_MAGIC + _byte_view(blob).tobytes()
    return body + hmac.new(key, body, hashlib.sha256).digest()


def verify(signed: bytes | bytearray | memoryview, key: bytes) -> bytes:
    """Check the HMAC-SHA256 tag of [`sign`][ckks.container.sign] output, in constant time.

    Args:
        signed: the signed data.
        key: the MAC key.

    Returns:
        The inner blob, to pass to `loads`.

    Raises:
        InputTypeError: ``signed`` is not bytes-like, or ``key`` is not bytes of at least 16 bytes.
        SerializationError: not signed data, or the tag does not match (wrong key, or the data was changed).
    """
    if not isinstance(signed, (bytes, bytearray, memoryview)):
        raise InputTypeError(f"serialized data must be bytes, got {type(signed).__name__}")
    key = _check_mac_key(key)
    data = _byte_view(signed).tobytes()
    if len(data) < len(MAC_MAGIC) + _MAC_BYTES or not data.startswith(MAC_MAGIC):
        raise SerializationError(
            "not authenticated data: it does not start with b'CKKSMAC1' (sign it with ckks.container.sign)"
        )
    body, tag = data[:-_MAC_BYTES], data[-_MAC_BYTES:]
    if not hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), tag):
        raise SerializationError(
            "authentication failed: the HMAC tag does not match (a wrong key, or the data was changed)"
        )
    return body[len(MAC_MAGIC):]


def loads(
    blob: bytes | bytearray | memoryview, context: object = None, *, kind: str | None = None,
    mac_key: bytes | None = None,
) -> object:
    """Load any object written by a type's ``serialize()``, dispatching on the header's "type".

    Args:
        blob: the bytes.
        context: the Context (or bare Parameters) the object belongs to;
            needed for everything but Parameters and Context, which carry
            their own parameters.
        kind: the expected type name; anything else in the data raises.
        mac_key: the key of data authenticated with [`sign`][ckks.container.sign]; the tag is
            checked before anything is parsed (None: plain, unauthenticated data).

    Returns:
        The loaded object.

    Raises:
        InputTypeError: ``blob`` is not bytes-like, or ``mac_key`` is not bytes of at least 16 bytes.
        SerializationError: anything wrong with the bytes, a failed authentication, or a type whose
            module has not been imported (import `ckks` first).
        WrongContextError: the object was made for other parameters or keys.
    """
    if mac_key is not None:
        blob = verify(blob, mac_key)
    header, payload = open_blob(blob)
    fields = Fields(header, "header")
    found = fields.choice("type", sorted(_LOADERS))
    if kind is not None and found != kind:
        raise SerializationError(f"expected a serialized {kind}, but the data holds a {found}")
    return _LOADERS[found](fields, payload, context)
