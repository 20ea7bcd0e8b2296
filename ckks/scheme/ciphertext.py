"""The two data objects of the scheme: plaintexts and ciphertexts.

Both hold RNS polynomials in NTT form over the data primes q_0 .. q_level,
as uint64 arrays.  A [`Plaintext`][ckks.scheme.ciphertext.Plaintext] is one
polynomial m with its scale Delta (it encodes the values z ~ m / Delta).  A
[`Ciphertext`][ckks.scheme.ciphertext.Ciphertext] is a tuple
(c_0, c_1, ..., c_k) (k = 1 normally, 2 after a multiplication before
relinearization) with c_0 + c_1 s + ... + c_k s^k = m + e (mod Q_level).

Both serialize themselves in the container format (`ckks.container`), with
header types "plaintext" and "ciphertext".  A fresh symmetric ciphertext
carries the seed its uniform c_1 was drawn from; it is stored as c_0 and the
32-byte seed, about half the size, and c_1 is regenerated on load (SEAL does
the same).

Both constructors check what they are given (parameters, a C-contiguous
uint64 array of the right shape for N and a level in [0, L], a positive
finite scale) before any numba kernel can see it.

Magnitude tracking (overflow and noise).  Each object may carry ``bound``,
an upper bound on the magnitude of its slot values (|z_j| <= bound, so that
the coefficients of m are at most bound * scale), and a ciphertext
``noise``, a high-probability bound on the coefficients of its error e (in
integer units, at its scale).  They are known at encoding and encryption and
propagated by the evaluator (`ckks.scheme.evaluator`); None means unknown.
``bound_exact`` says that the bound is attained (a fresh encryption, or what
scalar products and squares make of it).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ckks.container import Fields, check_fingerprint, check_key_id, loads, pack, read_arrays, register_loader
from ckks.errors import ContextMismatchError, InputError, InputTypeError, LevelError, SerializationError
from ckks.ring.sampling import PRNG, SEED_BYTES
from ckks.scheme.parameters import Parameters, poly_spec, resolve_context

#: Smallest and largest scale a serialized plaintext or ciphertext may carry.
_MIN_SCALE, _MAX_SCALE = 2.0**-1000, 2.0**1000
#: Most polynomials a ciphertext may hold (2 normally, 3 before relinearization).
MAX_CIPHERTEXT_SIZE = 3


def _check_data(params: object, data: object, what: str, ndim: int) -> np.ndarray:
    """The residue array of a plaintext (ndim 2) or ciphertext (ndim 3), checked before any kernel sees it."""
    if not isinstance(params, Parameters):
        raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
    if not isinstance(data, np.ndarray):
        raise InputTypeError(f"the {what}'s data must be a numpy uint64 array, got {type(data).__name__}")
    n, top = params.poly_degree, params.max_level
    expected = "(size, level + 1, N)" if ndim == 3 else "(level + 1, N)"
    if data.dtype != np.uint64 or data.ndim != ndim or data.shape[-1] != n:
        raise InputError(
            f"the {what}'s data must be a uint64 array of shape {expected} with N = {n}, "
            f"got a {data.dtype} array of shape {data.shape}"
        )
    if not 1 <= data.shape[-2] <= top + 1:
        raise LevelError(
            f"the {what}'s data has {data.shape[-2]} limbs, i.e. level {data.shape[-2] - 1}; these parameters "
            f"have levels 0 .. {top} (1 .. {top + 1} limbs)"
        )
    if ndim == 3 and not 2 <= data.shape[0] <= MAX_CIPHERTEXT_SIZE:
        raise InputError(f"a ciphertext has 2 or {MAX_CIPHERTEXT_SIZE} polynomials, got {data.shape[0]}")
    return np.ascontiguousarray(data)


def _check_object_scale(scale: object) -> float:
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"scale must be a positive number, got {type(scale).__name__}")
    value = float(scale)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"scale must be a positive finite number, got {scale!r}")
    return value


def _check_bound(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{name} must be a non-negative number or None, got {type(value).__name__}")
    value = float(value)
    if not value >= 0:  # NaN included
        raise InputError(f"{name} must be a non-negative number or None, got {value!r}")
    return value


class Plaintext:
    """An encoded polynomial m in NTT form mod Q_level, shape (level + 1, N), at scale ``scale``.

    Args:
        params: the parameters.
        data: the residues, uint64 of shape (level + 1, N), NTT form.
        scale: Delta: the plaintext encodes the values m / Delta.
        bound: an upper bound on the magnitude of the encoded slot values, or None (unknown).
        constant: every slot holds the same value (an encoded scalar).

    Raises:
        InputTypeError: ``params`` is not a Parameters, ``data`` not an array, or ``scale``/``bound`` not a number.
        InputError: ``data`` is not uint64 of shape (level + 1, N), or ``scale`` is not positive and finite.
        LevelError: the level implied by ``data`` is not in [0, L].
    """

    def __init__(
        self, params: Parameters, data: np.ndarray, scale: float, bound: float | None = None, constant: bool = False
    ):
        self.data = _check_data(params, data, "plaintext", 2)
        self.params = params
        self.scale = _check_object_scale(scale)
        self.bound = _check_bound("bound", bound)
        self.constant = bool(constant)

    @property
    def level(self) -> int:
        """Number of rescales left: the count of data primes minus one."""
        return self.data.shape[0] - 1

    def copy(self) -> Plaintext:
        """A deep copy (the residues are copied).

        Returns:
            A new Plaintext with the same parameters, level and scale.
        """
        return Plaintext(self.params, self.data.copy(), self.scale, self.bound, self.constant)

    def __repr__(self) -> str:
        return f"Plaintext(level={self.level}, scale=2^{np.log2(self.scale):.2f})"

    def serialize(self) -> bytes:
        """This plaintext as bytes (container type "plaintext": fingerprint, level, scale, the residues).

        Returns:
            The bytes; `Plaintext.load` reads them back.
        """
        fingerprint = self.params.fingerprint()
        header = {"type": "plaintext", "fingerprint": fingerprint, "level": self.level, "scale": self.scale}
        return pack(header, [("data", self.data)])

    @staticmethod
    def load(blob: bytes | bytearray | memoryview, context: object) -> Plaintext:
        """A plaintext written by `Plaintext.serialize`.

        Args:
            blob: the bytes.
            context: the Context or Parameters it belongs to.

        Returns:
            The plaintext.

        Raises:
            InputTypeError: ``blob`` is not bytes-like, or ``context`` is neither a Context nor Parameters.
            SerializationError: the bytes are damaged, hold another type, or a field or residue is out of range.
            WrongContextError: the plaintext was made for other parameters.
        """
        return loads(blob, context, kind="plaintext")


class Ciphertext:
    """Polynomials (c_0, ..., c_k) in NTT form mod Q_level, shape (k + 1, level + 1, N).

    ``key_id`` names the secret key the ciphertext is encrypted under, so that
    mixing ciphertexts of different keys is detected.  ``seed`` is set for a
    fresh symmetric encryption whose c_1 was drawn from that seed (it can then
    be serialized as the seed alone).

    Args:
        params: the parameters.
        data: the residues, uint64 of shape (k + 1, level + 1, N), NTT form.
        scale: Delta of the encrypted values.
        key_id: the id of the secret key.
        seed: the seed of c_1 for a fresh symmetric encryption, else None.
        bound: an upper bound on the magnitude of the encrypted slot values, or None (unknown).
        noise: a high-probability bound on the coefficients of the error (integer units), or None.
        bound_exact: the bound is attained by some slot (so exceeding the modulus is certain, not possible).

    Raises:
        InputTypeError: an argument has the wrong type.
        InputError: ``data`` is not uint64 of shape (2 or 3, level + 1, N), ``scale`` is not positive and
            finite, a bound is negative, or ``seed`` is not 32 bytes.
        LevelError: the level implied by ``data`` is not in [0, L].
    """

    def __init__(
        self,
        params: Parameters,
        data: np.ndarray,
        scale: float,
        key_id: str,
        seed: bytes | None = None,
        bound: float | None = None,
        noise: float | None = None,
        bound_exact: bool = False,
    ):
        self.data = _check_data(params, data, "ciphertext", 3)
        self.params = params
        self._scale = _check_object_scale(scale)  # set once: see `with_scale`
        if not isinstance(key_id, str):
            raise InputTypeError(f"key_id must be a string, got {type(key_id).__name__}")
        self.key_id = key_id
        if seed is not None and (not isinstance(seed, bytes) or len(seed) != SEED_BYTES):
            raise InputError(f"seed must be None or {SEED_BYTES} bytes")
        self.seed = seed
        self.bound = _check_bound("bound", bound)
        self.noise = _check_bound("noise", noise)
        self.bound_exact = bool(bound_exact) and self.bound is not None

    @property
    def level(self) -> int:
        """Number of rescales left: the count of data primes minus one."""
        return self.data.shape[1] - 1

    @property
    def scale(self) -> float:
        """The scale Delta the slot values are multiplied by (set at construction; `with_scale` makes a new one)."""
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        """Deprecated since 0.2.0 (removed in 0.3.0): ``ct.scale = s`` reads these residues at scale s, in place.

        The behaviour of 0.1.0, where ``scale`` was a plain attribute: the values become
        ``values * old_scale / s``; the magnitude bound follows, as in `with_scale`, which is the
        replacement (``ct = ct.with_scale(s)``: a new ciphertext, this one unchanged).

        Raises:
            InputTypeError: ``value`` is not a real number.
            InputError: ``value`` is not a positive finite number.
        """
        warnings.warn(
            "setting Ciphertext.scale is deprecated since 0.2.0 and will be removed in 0.3.0; use "
            "ct = ct.with_scale(scale) (a new ciphertext with the same residues)",
            DeprecationWarning,
            stacklevel=2,
        )
        replaced = self.with_scale(value)
        self._scale, self.bound = replaced.scale, replaced.bound

    @property
    def size(self) -> int:
        """Number of polynomials: 2 normally, 3 after an unrelinearized multiplication."""
        return self.data.shape[0]

    def copy(self) -> Ciphertext:
        """A deep copy (the residues are copied; parameters, scale, key id and seed are kept).

        Returns:
            A new Ciphertext.
        """
        return Ciphertext(
            self.params, self.data.copy(), self.scale, self.key_id, self.seed, self.bound, self.noise, self.bound_exact
        )

    def with_scale(self, scale: float) -> Ciphertext:
        """The same residues read at another scale: a new Ciphertext (this one is unchanged).

        Decryption divides by the scale, so the values become ``values * self.scale / scale``;
        this is for snapping a scale that equals ``scale`` up to float rounding (after a rescale
        by a prime that is not exactly the scale ratio), not for changing values.  The
        magnitude bound is scaled by the same ratio; the noise (in integer units) is kept.

        Args:
            scale: the new scale (a positive finite number).

        Returns:
            A new Ciphertext sharing this one's data.

        Raises:
            InputTypeError: ``scale`` is not a real number.
            InputError: ``scale`` is not a positive finite number.
        """
        new_scale = _check_object_scale(scale)
        bound = None if self.bound is None else self.bound * self.scale / new_scale
        return Ciphertext(
            self.params, self.data, new_scale, self.key_id, self.seed, bound, self.noise, self.bound_exact
        )

    def __repr__(self) -> str:
        return f"Ciphertext(size={self.size}, level={self.level}, scale=2^{np.log2(self.scale):.2f})"

    # -- serialization ---------------------------------------------------------------------------
    def header_and_arrays(self, compact: bool = True) -> tuple[dict, list[tuple[str, np.ndarray]]]:
        """The header fields and arrays that describe this ciphertext in a container.

        The header has type "ciphertext", the parameters' fingerprint, the key
        id, level, size, scale and seed.  With ``compact`` a fresh symmetric
        ciphertext (size 2, a seed, c_1 still the seed's polynomial) is stored
        as c_0 ("c0") and the seed; otherwise all polynomials ("data").
        `CKKSVector` adds its own fields to the same header.

        Args:
            compact: store a fresh symmetric ciphertext as c_0 and its seed.

        Returns:
            ``(header, [(name, array), ...])`` for `ckks.container.pack`.
        """
        header = {
            "type": "ciphertext",
            "fingerprint": self.params.fingerprint(),
            "key_id": self.key_id,
            "level": self.level,
            "size": self.size,
            "scale": self.scale,
            "seed": None,
        }
        if self.bound is not None:
            header["bound"] = self.bound
        if compact and self.seed is not None and self.size == 2:
            # Only if c_1 really is the seed's polynomial (it is, unless someone edited the data).
            if np.array_equal(uniform_from_seed(self.params, self.seed, self.level), self.data[1]):
                header["seed"] = self.seed.hex()
                return header, [("c0", self.data[0])]
        return header, [("data", self.data)]

    def serialize(self, compact: bool = True) -> bytes:
        """This ciphertext as bytes (container type "ciphertext", see `header_and_arrays`).

        Args:
            compact: store a fresh symmetric ciphertext as c_0 and its 32-byte seed (about half the size).

        Returns:
            The bytes; `Ciphertext.load` reads them back.
        """
        return pack(*self.header_and_arrays(compact))

    @staticmethod
    def load(blob: bytes | bytearray | memoryview, context: object) -> Ciphertext:
        """A ciphertext written by `Ciphertext.serialize`.

        Args:
            blob: the bytes.
            context: the Context (parameters and key checked) or Parameters (parameters checked) it belongs to.

        Returns:
            The ciphertext.

        Raises:
            InputTypeError: ``blob`` is not bytes-like, or ``context`` is neither a Context nor Parameters.
            SerializationError: the bytes are damaged, hold another type, or a field or residue is out of range.
            WrongContextError: the ciphertext was made for other parameters or under another secret key.
        """
        return loads(blob, context, kind="ciphertext")

    @classmethod
    def from_fields(
        cls, fields: Fields, payload: memoryview, params: Parameters, key_id: str | None, what: str
    ) -> Ciphertext:
        """Read the ciphertext part of a container (the fields `header_and_arrays` writes).

        Checks the fingerprint, the key id, then level, size, scale, seed and
        the optional value bound ("bound"),
        then the arrays' names, shapes and residues; c_1 is regenerated from a
        stored seed.  The caller reads its own extra fields and calls
        ``fields.done()``.

        Args:
            fields: the header.
            payload: the arrays' bytes.
            params: the parameters to load into.
            key_id: the context's key id (None: not checked).
            what: what is loaded ("ciphertext", "vector"), for messages.

        Returns:
            The ciphertext.

        Raises:
            SerializationError: a field is missing or out of range, or an array has the wrong name,
                shape or a residue not below its prime.
            WrongContextError: other parameters (fingerprint) or another secret key (key id).
        """
        check_fingerprint(fields, params, what)
        found_key = fields.hex("key_id", 1, 64)
        check_key_id(found_key, key_id, what)
        level = fields.integer("level", 0, params.max_level)
        size = fields.integer("size", 2, 3)
        scale = fields.number("scale", _MIN_SCALE, _MAX_SCALE)
        seed = fields.hex("seed", 2 * SEED_BYTES, 2 * SEED_BYTES, optional=True)
        bound = fields.number("bound", 0.0, _MAX_SCALE) if "bound" in fields.obj else None
        if seed is not None:
            if size != 2:
                raise SerializationError(
                    f"header field 'seed' is set for a ciphertext of size {size}; only size 2 has one"
                )
            spec = poly_spec("c0", params, (), level + 1, f"c_0 at level {level}, N = {params.poly_degree}")
            c0 = read_arrays(fields, payload, [spec])["c0"]
            seed_bytes = bytes.fromhex(seed)
            data = np.stack([c0, uniform_from_seed(params, seed_bytes, level)])
        else:
            meaning = f"{size} polynomials at level {level}, N = {params.poly_degree}"
            data = read_arrays(fields, payload, [poly_spec("data", params, (size,), level + 1, meaning)])["data"]
            seed_bytes = None
        # The noise estimate is not read from the data: flooding must not trust a bound an attacker wrote.
        return cls(params, data, scale, found_key, seed=seed_bytes, bound=bound)


def uniform_from_seed(params: Parameters, seed: bytes, level: int) -> np.ndarray:
    """The uniform c_1 of a fresh symmetric encryption at ``level``, regenerated from its seed.

    c_1 is drawn as in ``Encryptor.encrypt_symmetric``: uniform residues mod
    each q_0 .. q_level from a SHAKE-256 stream seeded with ``seed``, taken as
    NTT form.

    Args:
        params: the parameters.
        seed: the seed stored with the ciphertext.
        level: the ciphertext's level.

    Returns:
        uint64 array of shape (level + 1, N).

    Raises:
        LevelError: ``level`` is not in [0, max_level].
    """
    return params.at_level(level).uniform(PRNG.derived(seed))


def check_same_context(*objects: object, params: Parameters | None = None, key_id: str | None = None) -> None:
    """Raise unless all objects share parameters and, where they carry one, the secret key.

    Args:
        *objects: ciphertexts, plaintexts, keys: anything with ``params`` (and
            optionally ``key_id``).
        params: parameters every object must have (e.g. an evaluator's).
        key_id: a secret key id every object that carries one must have (e.g. a decryptor's).

    Raises:
        ContextMismatchError: two parameter sets differ, or two key ids differ.
    """
    reference = params if params is not None else (objects[0].params if objects else None)
    for other in objects:
        if other.params is not reference and other.params != reference:
            raise ContextMismatchError(
                f"objects come from different parameters ({reference!r} vs {other.params!r}); "
                "create them with the same context"
            )
    key_ids = {o.key_id for o in objects if getattr(o, "key_id", None) is not None}
    if key_id is not None:
        key_ids.add(key_id)
    if len(key_ids) > 1:
        raise ContextMismatchError(
            "ciphertexts are encrypted under different secret keys and cannot be combined; "
            "encrypt both with the same context (or its public_copy())"
        )


def _load_ciphertext(fields: Fields, payload: memoryview, context: object) -> Ciphertext:
    params, key_id = resolve_context(context, "ciphertext")
    ct = Ciphertext.from_fields(fields, payload, params, key_id, "ciphertext")
    fields.done()
    return ct


def _load_plaintext(fields: Fields, payload: memoryview, context: object) -> Plaintext:
    params, _ = resolve_context(context, "plaintext")
    check_fingerprint(fields, params, "plaintext")
    level = fields.integer("level", 0, params.max_level)
    scale = fields.number("scale", _MIN_SCALE, _MAX_SCALE)
    meaning = f"one polynomial at level {level}, N = {params.poly_degree}"
    data = read_arrays(fields, payload, [poly_spec("data", params, (), level + 1, meaning)])["data"]
    fields.done()
    return Plaintext(params, data, scale)


register_loader("ciphertext", _load_ciphertext)
register_loader("plaintext", _load_plaintext)
