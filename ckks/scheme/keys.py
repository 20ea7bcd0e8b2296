"""Keys, key generation and the keys' serialization.

With s the secret (ternary, or sparse ternary with a fixed Hamming weight),
all keys are RLWE samples over R_{QP}, in NTT form over every prime (data
primes, then special primes):

* public key:        (b, a) = (-a s + e, a),  a uniform, e ~ D_{Z,sigma};
* key-switching key from s' to s, hybrid form with digits D_0 .. D_{dnum-1}
  (Han-Ki 2020; SEAL's layout):
  ksk_j = (-a_j s + e_j + P * Qhat_j * [Qhat_j^-1]_{D_j} * s',  a_j),
  where Qhat_j = Q / D_j and P is the special modulus.  In RNS the gadget
  factor is simply P mod q_i on the limbs of digit j and 0 everywhere else,
  which is how it is added below;
* relinearization key: the key-switching key from s^2 to s;
* Galois keys: one key-switching key from s(X^g) to s per Galois element g
  (`ckks.scheme.automorphism`), used by the rotator (`ckks.scheme.rotation`).

Key ids.  The public key is a deterministic function of the secret (its
uniform a and its error e are drawn from SHAKE-256 of the secret and the
parameters' fingerprint), and the key id every key, ciphertext and vector
carries is a digest of the public key, [`public_key_id`][ckks.scheme.keys.public_key_id]:
SHA-256 of the fingerprint and the key material, 32 hex digits.  Loading
checks it, so a public key cannot be swapped under a known id, and refuses
degenerate keys (a zero or constant polynomial, which would encrypt in the
clear) and key-switching keys whose material is the public key (a public key
relabelled as a relinearization key).  Galois elements are restricted to
5^k mod 2N and 2N - 1.

Memory.  A key-switching key takes ``Parameters.key_switch_key_bytes()``.
A Galois key can be made for the levels up to some m < L only
(``create_galois_keys(max_level=m)``, `KeyGenerator.create_galois_keys_at_levels`):
it keeps the digits that hold a prime of q_0 .. q_m and the limbs q_0 .. q_m
and P, shape (``key_digits(m)``, 2, m + 1 + alpha, N), and switches keys at
every level <= m exactly as the full key does (the gadget factor is P or 0
limb by limb).  Bootstrapping keys and the keys of a bootstrapping context's
compute levels are made that way.  Generation refuses to allocate more than
[`KEY_MEMORY_LIMIT`][ckks.scheme.parameters.KEY_MEMORY_LIMIT] (8 GiB) unless
asked with ``memory_limit=None`` (or a larger limit).

Every key type writes itself with ``serialize()`` and reads itself back with
``load(blob, context)`` in the container format (`ckks.container`), with the
header types "secret_key", "public_key", "relin_key" and "galois_keys"; the
loaders are registered with `ckks.container.loads` when this module is
imported.  [`key_spec`][ckks.scheme.keys.key_spec],
[`secret_spec`][ckks.scheme.keys.secret_spec],
[`galois_elements`][ckks.scheme.keys.galois_elements],
[`secret_key_from_array`][ckks.scheme.keys.secret_key_from_array] and
[`check_key_pair`][ckks.scheme.keys.check_key_pair] are the pieces a context
blob (which embeds every key) reuses.
"""

from __future__ import annotations

import hashlib
import math
from typing import TextIO

import numpy as np

from ckks import container
from ckks.container import ArraySpec, Fields
from ckks.errors import (
    ContextMismatchError,
    InputError,
    InputTypeError,
    KeyMissingError,
    LevelError,
    ParameterError,
    SerializationError,
)
from ckks.progress import progress_bar
from ckks.ring.modarith import poly_add, poly_mul_scalar, shoup_per_limb
from ckks.ring.sampling import PRNG, TAIL_CUT_SIGMAS
from ckks.scheme.automorphism import (
    apply_automorphism,
    check_steps,
    conjugation_element,
    default_steps,
    galois_element,
    step_table,
)
from ckks.scheme.ciphertext import check_same_context
from ckks.scheme.parameters import KEY_MEMORY_LIMIT, MAX_POLY_DEGREE, Parameters, poly_spec, resolve_context
from ckks.validation import check_bool, check_int, check_real

#: Generating at least this many Galois keys at once shows a progress bar (when asked to; `ckks.progress`).
PROGRESS_MIN_KEYS = 4
#: Most Galois keys a serialized object may hold (one per Galois element).
MAX_GALOIS_KEYS = MAX_POLY_DEGREE

_I8 = "|i1"


#: Bytes of the seed of a key-switching key's uniform halves.
KEY_SEED_BYTES = 32


def _check_params(params: object) -> Parameters:
    if not isinstance(params, Parameters):
        raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
    return params


def _check_key_data(data: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    if not isinstance(data, np.ndarray):
        raise InputTypeError(f"{what} data must be a numpy uint64 array, got {type(data).__name__}")
    if data.dtype != np.uint64 or data.shape != shape:
        raise InputError(f"{what} data must be a uint64 array of shape {shape}, got {data.dtype} {data.shape}")
    return data


def _check_switch_key_data(params: Parameters, data: object, what: str) -> np.ndarray:
    """Key-switching key data of any top level m (`Parameters.key_level`), else InputError."""
    if not isinstance(data, np.ndarray):
        raise InputTypeError(f"{what} data must be a numpy uint64 array, got {type(data).__name__}")
    if data.dtype != np.uint64 or params.key_level(data.shape) is None:
        full = key_spec("data", params, "relin_key").shape
        raise InputError(
            f"{what} data must be a uint64 array of shape {full} (every level), or (key_digits(m), 2, "
            f"m + 1 + {params.special_count}, {params.poly_degree}) for a key made for levels up to m; "
            f"got {data.dtype} {data.shape}"
        )
    return data


def _check_key_id(key_id: object) -> str:
    if not isinstance(key_id, str):
        raise InputTypeError(f"key_id must be a string, got {type(key_id).__name__}")
    return key_id


def public_key_id(params: Parameters, data: np.ndarray) -> str:
    """The key id: SHA-256 of the parameters' fingerprint and the public key material, 32 hex digits.

    Args:
        params: the parameters.
        data: the public key (b, a), uint64 (2, L+1+alpha, N), NTT form.

    Returns:
        32 lowercase hex digits.
    """
    digest = hashlib.sha256(b"ckks-public-key\0" + params.fingerprint().encode())
    digest.update(np.ascontiguousarray(data, dtype="<u8").tobytes())
    return digest.hexdigest()[:32]


def degenerate_key_part(data: np.ndarray) -> str | None:
    """Where an RLWE key (public or key-switching) is degenerate: a zero or constant limb of b or a.

    A uniform a (and b = -a s + e) has essentially N distinct residues per limb;
    a constant limb (zero included) makes encryptions or key switches leak.

    Args:
        data: key data, uint64 (..., 2, limbs, N).

    Returns:
        None for a sound key, else a description of the first degenerate part.
    """
    constant = np.all(data == data[..., :1], axis=-1)  # (..., 2, limbs)
    if not constant.any():
        return None
    index = tuple(int(i) for i in np.argwhere(constant)[0])
    part = "b" if index[-2] == 0 else "a"
    return f"limb {index[-1]} of {part}{' in digit ' + str(index[0]) if len(index) > 2 else ''} is constant"


class SecretKey:
    """The secret s: its small coefficients and its NTT form over every prime (Q_L * P).

    Args:
        params: the encryption parameters.
        coefficients: the N coefficients of s, each in {-1, 0, 1}.
        key_id: a hex string naming this secret (ciphertexts and keys carry it).

    Attributes:
        coefficients: int8 array (N,).
        ntt: uint64 array (L + 1 + alpha, N), s in NTT form over every prime.

    Raises:
        InputTypeError: ``params`` is not a Parameters or ``key_id`` not a string.
        InputError: ``coefficients`` is not N values in {-1, 0, 1}.
    """

    def __init__(self, params: Parameters, coefficients: np.ndarray, key_id: str):
        self.params = _check_params(params)
        values = np.asarray(coefficients)
        if values.shape != (params.poly_degree,) or (values.size and (values.min() < -1 or values.max() > 1)):
            raise InputError(f"a secret key has {params.poly_degree} coefficients in {{-1, 0, 1}}")
        self.coefficients = values.astype(np.int8)
        self.key_id = _check_key_id(key_id)
        self.ntt = params.at_level(params.max_level, special=True).from_signed(self.coefficients)

    def __reduce__(self):
        raise SerializationError(
            "a SecretKey cannot be pickled (pickle runs code when loading and would leak the key "
            "into any pickled object); use secret_key.serialize() or ctx.serialize(secret_key=True)"
        )

    def serialize(self) -> bytes:
        """The key in the container format (header type "secret_key"): its N int8 coefficients.

        Returns:
            The bytes; keep them secret, they decrypt everything encrypted under this key.
        """
        return container.pack(_key_header("secret_key", self), [("secret_key", self.coefficients)])

    @classmethod
    def load(cls, blob: bytes | bytearray | memoryview, context: object) -> SecretKey:
        """Read a secret key written by [`serialize`][ckks.scheme.keys.SecretKey.serialize].

        Args:
            blob: the bytes.
            context: the Context or Parameters it belongs to (a Context's key id must match).

        Returns:
            The secret key.

        Raises:
            InputTypeError: ``blob`` is not bytes, or ``context`` is not a Context or Parameters.
            SerializationError: the bytes are damaged, hold another type, or the secret breaks the parameters.
            WrongContextError: the key was made for other parameters or another key.
        """
        return container.loads(blob, context, kind="secret_key")


class PublicKey:
    """(b, a) = (-a s + e, a) in NTT form over every prime, shape (2, L+1+alpha, N).

    Args:
        params: the encryption parameters.
        data: uint64 array (2, L+1+alpha, N).
        key_id: the id of the secret key it was made from.

    Raises:
        InputTypeError: ``params``, ``data`` or ``key_id`` has the wrong type.
        InputError: ``data`` has the wrong dtype or shape, or is degenerate (a zero or constant limb,
            under which encryptions would be in the clear).
    """

    def __init__(self, params: Parameters, data: np.ndarray, key_id: str, seed: bytes | None = None):
        self.params = _check_params(params)
        self.data = _check_key_data(data, key_spec("data", params, "public_key").shape, "public key")
        self.key_id = _check_key_id(key_id)
        bad = degenerate_key_part(self.data)
        if bad is not None:
            raise InputError(f"refusing a degenerate public key ({bad}): encryptions under it would not be secret")
        if seed is not None and (not isinstance(seed, bytes) or len(seed) != KEY_SEED_BYTES):
            raise InputError(f"seed must be None or {KEY_SEED_BYTES} bytes")
        self.seed = seed

    def serialize(self) -> bytes:
        """The key in the container format (header type "public_key"): b and the seed of a when it has one.

        Returns:
            The bytes.
        """
        seed = self.compact_seed()
        if seed is None:
            return container.pack(_key_header("public_key", self), [("data", self.data)])
        header = dict(_key_header("public_key", self), seed=seed.hex())
        return container.pack(header, [("b", np.ascontiguousarray(self.data[0]))])

    def compact_seed(self) -> bytes | None:
        """The seed, if the key's a really is the seed's polynomial (else None: store it in full).

        Returns:
            The 32-byte seed or None.
        """
        if self.seed is None or not np.array_equal(public_key_uniform(self.params, self.seed), self.data[1]):
            return None
        return self.seed

    @classmethod
    def load(cls, blob: bytes | bytearray | memoryview, context: object) -> PublicKey:
        """Read a public key written by [`serialize`][ckks.scheme.keys.PublicKey.serialize].

        Args:
            blob: the bytes.
            context: the Context or Parameters it belongs to (a Context's key id must match).

        Returns:
            The public key.

        Raises:
            InputTypeError: ``blob`` is not bytes, or ``context`` is not a Context or Parameters.
            SerializationError: the bytes are damaged or hold another type.
            WrongContextError: the key was made for other parameters or another key.
        """
        return container.loads(blob, context, kind="public_key")


class KeySwitchKey:
    """Hybrid key-switching key: shape (digits, 2, L+1+alpha, N), NTT form over every prime.

    A key made for the levels up to m < L only (its `level`) has shape
    (``params.key_digits(m)``, 2, m+1+alpha, N): limbs q_0 .. q_m, then the special primes.

    When the uniform halves a_j were drawn from a recorded seed
    ([`switch_key_uniform`][ckks.scheme.keys.switch_key_uniform]), ``seed``
    keeps it and serialization stores the b_j and the seed only, about half
    the size (SEAL does the same).

    Args:
        params: the encryption parameters.
        data: uint64 array (digits, 2, L+1+alpha, N), or (key_digits(m), 2, m+1+alpha, N) for a key
            made for the levels up to m.
        key_id: the id of the secret key s it switches to.
        seed: the 32-byte seed of the a_j, or None.

    Raises:
        InputTypeError: ``params``, ``data`` or ``key_id`` has the wrong type.
        InputError: ``data`` has the wrong dtype or shape, or ``seed`` is not None or 32 bytes.
    """

    def __init__(self, params: Parameters, data: np.ndarray, key_id: str, seed: bytes | None = None):
        self.params = _check_params(params)
        self.data = _check_switch_key_data(self.params, data, "key-switching key")
        self.key_id = _check_key_id(key_id)
        if seed is not None and (not isinstance(seed, bytes) or len(seed) != KEY_SEED_BYTES):
            raise InputError(f"seed must be None or {KEY_SEED_BYTES} bytes")
        self.seed = seed

    @property
    def level(self) -> int:
        """The top level m this key switches at (L for a full key): it works for ciphertexts at levels <= m."""
        return self.data.shape[2] - 1 - self.params.special_count

    def compact_seed(self) -> bytes | None:
        """The seed, if the key's a_j really are the seed's polynomials (else None: store them in full).

        Returns:
            The 32-byte seed or None.
        """
        if self.seed is None or not np.array_equal(
            switch_key_uniform(self.params, self.seed, self.level), self.data[:, 1]
        ):
            return None
        return self.seed


class RelinKey(KeySwitchKey):
    """The key-switching key from s^2 to s.

    Same shape and arguments as [`KeySwitchKey`][ckks.scheme.keys.KeySwitchKey].

    Raises:
        InputTypeError: ``params``, ``data`` or ``key_id`` has the wrong type.
        InputError: ``data`` has the wrong dtype or shape.
    """

    def serialize(self) -> bytes:
        """The key in the container format (header type "relin_key").

        Returns:
            The bytes.
        """
        seed = self.compact_seed()
        if seed is None:
            return container.pack(_key_header("relin_key", self), [("data", self.data)])
        header = dict(_key_header("relin_key", self), seed=seed.hex())
        return container.pack(header, [("b", np.ascontiguousarray(self.data[:, 0]))])

    @classmethod
    def load(cls, blob: bytes | bytearray | memoryview, context: object) -> RelinKey:
        """Read a relinearization key written by [`serialize`][ckks.scheme.keys.RelinKey.serialize].

        Args:
            blob: the bytes.
            context: the Context or Parameters it belongs to (a Context's key id must match).

        Returns:
            The relinearization key.

        Raises:
            InputTypeError: ``blob`` is not bytes, or ``context`` is not a Context or Parameters.
            SerializationError: the bytes are damaged or hold another type.
            WrongContextError: the key was made for other parameters or another key.
        """
        return container.loads(blob, context, kind="relin_key")


class GaloisKeys:
    """Key-switching keys from s(X^g) to s, indexed by Galois element g.

    ``keys[g]`` is a [`KeySwitchKey`][ckks.scheme.keys.KeySwitchKey] of shape
    (digits, 2, L+1+alpha, N) in NTT form, as a relinearization key.

    Args:
        params: the encryption parameters.
        keys: {Galois element: key}.
        key_id: the id of the secret key.

    Raises:
        InputTypeError: ``params`` is not a Parameters, or a key is not a KeySwitchKey.
        ContextMismatchError: a key was made for other parameters or another secret key.
    """

    def __init__(self, params: Parameters, keys: dict[int, KeySwitchKey], key_id: str):
        self.params = _check_params(params)
        self.key_id = _check_key_id(key_id)
        self.keys = dict(keys)
        for key in self.keys.values():
            if not isinstance(key, KeySwitchKey):
                raise InputTypeError(f"Galois keys must be KeySwitchKey objects, got {type(key).__name__}")
            check_same_context(key, params=params, key_id=key_id)

    def __contains__(self, element: int) -> bool:
        return element in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"GaloisKeys({len(self.keys)} keys, steps={self.steps()}, conjugation={self.has_conjugation})"

    @property
    def elements(self) -> list[int]:
        """The Galois elements that have a key, in increasing order."""
        return sorted(self.keys)

    @property
    def has_conjugation(self) -> bool:
        """True when the conjugation key (g = 2N - 1) is present."""
        return conjugation_element(self.params.poly_degree) in self.keys

    def has_step(self, step: int) -> bool:
        """Whether there is a key for this rotation step itself (not composed).

        Args:
            step: the rotation step (any sign, taken modulo N/2).

        Returns:
            True when the key of 5^step mod 2N is present.

        Raises:
            InputTypeError: ``step`` is not an integer.
        """
        return galois_element(step, self.params.poly_degree) in self.keys

    def steps(self) -> list[int]:
        """The rotation steps (in 0 .. N/2 - 1) that have their own key.

        Returns:
            The steps in increasing order (conjugation is not a step).
        """
        n = self.params.poly_degree
        step_of = step_table(n)
        return sorted(step_of[g] for g in self.keys if g != conjugation_element(n))

    def merge(self, other: GaloisKeys) -> GaloisKeys:
        """A container with the keys of both.

        For an element in both, the key with the higher `KeySwitchKey.level` is kept (it switches
        at every level the other does); at equal levels ``other``'s.

        Args:
            other: Galois keys of the same parameters and secret key.

        Returns:
            New Galois keys.

        Raises:
            InputTypeError: ``other`` is not a GaloisKeys.
            ContextMismatchError: ``other`` belongs to other parameters or another secret key.
        """
        if not isinstance(other, GaloisKeys):
            raise InputTypeError(f"can only merge GaloisKeys, got {type(other).__name__}")
        check_same_context(other, params=self.params, key_id=self.key_id)
        keys = dict(self.keys)
        for g, key in other.keys.items():
            if g not in keys or key.level >= keys[g].level:
                keys[g] = key
        return GaloisKeys(self.params, keys, self.key_id)

    def levels(self) -> dict[int, int]:
        """The top level of every key, by Galois element (L for keys usable at every level).

        Returns:
            {g: level}, in increasing g.
        """
        return {int(g): self.keys[g].level for g in sorted(self.keys)}

    def memory(self) -> int:
        """Bytes held by the key data.

        Returns:
            The sum of the keys' ``nbytes``.
        """
        return int(sum(key.data.nbytes for key in self.keys.values()))

    def items(self) -> dict[int, np.ndarray]:
        """The key data by Galois element, for embedding in a container.

        Returns:
            {g: uint64 array (digits, 2, L+1+alpha, N)}, in increasing g (the arrays are not copied;
            truncated keys have their own shapes, `levels`).
        """
        return {int(g): self.keys[g].data for g in sorted(self.keys)}

    @classmethod
    def from_arrays(cls, params: Parameters, key_id: str, items: dict[int, np.ndarray]) -> GaloisKeys:
        """Galois keys from key data by element (the inverse of [`items`][ckks.scheme.keys.GaloisKeys.items]).

        Args:
            params: the encryption parameters.
            key_id: the id of the secret key.
            items: {g: uint64 array (digits, 2, L+1+alpha, N)}, or the shape of a key truncated to
                level m (`KeySwitchKey`).

        Returns:
            The Galois keys.

        Raises:
            InputTypeError: an argument has the wrong type.
            InputError: an array has the wrong dtype or shape.
        """
        return cls(params, {int(g): KeySwitchKey(params, data, key_id) for g, data in items.items()}, key_id)

    def serialize(self) -> bytes:
        """The keys in the container format (header type "galois_keys", one array per element).

        Returns:
            The bytes.
        """
        galois = self.items()
        header = _key_header("galois_keys", self)
        header["elements"] = sorted(galois)
        levels = self.levels()
        if any(level != self.params.max_level for level in levels.values()):  # truncated keys: their levels
            header["levels"] = list(levels.values())
        seeds = {g: self.keys[g].compact_seed() for g in sorted(galois)}
        if any(seed is not None for seed in seeds.values()):  # a_j of seeded keys stored as their seed
            header["seeds"] = [None if seed is None else seed.hex() for seed in seeds.values()]
        arrays = [
            (f"galois_{g}", galois[g]) if seeds[g] is None else (f"galois_{g}", np.ascontiguousarray(galois[g][:, 0]))
            for g in sorted(galois)
        ]
        return container.pack(header, arrays)

    @classmethod
    def load(cls, blob: bytes | bytearray | memoryview, context: object) -> GaloisKeys:
        """Read Galois keys written by [`serialize`][ckks.scheme.keys.GaloisKeys.serialize].

        Args:
            blob: the bytes.
            context: the Context or Parameters they belong to; with a Context,
                the key id must be the context's.

        Returns:
            The Galois keys.

        Raises:
            InputTypeError: ``blob`` is not bytes, or ``context`` is not a Context or Parameters.
            SerializationError: the bytes are damaged or hold another type.
            WrongContextError: the keys were made for other parameters or another key.
        """
        return container.loads(blob, context, kind="galois_keys")


class KeyGenerator:
    """Generates a secret key (or takes one) and the keys derived from it.

    Args:
        params: the encryption parameters.
        secret_key: reuse this secret instead of sampling a new one.
        prng: the randomness source (default: seeded from the OS).

    Raises:
        InputTypeError: an argument has the wrong type.
        ContextMismatchError: ``secret_key`` was made for other parameters.
    """

    def __init__(self, params: Parameters, secret_key: SecretKey | None = None, prng: PRNG | None = None):
        _check_params(params)
        if secret_key is not None and not isinstance(secret_key, SecretKey):
            raise InputTypeError(f"secret_key must be a ckks.SecretKey or None, got {type(secret_key).__name__}")
        if secret_key is not None and secret_key.params != params:
            raise ContextMismatchError("secret_key was made for other parameters than the KeyGenerator's")
        if prng is not None and not isinstance(prng, PRNG):
            raise InputTypeError(f"prng must be a ckks.ring.sampling.PRNG or None, got {type(prng).__name__}")
        self.params = params
        self.prng = prng if prng is not None else PRNG()
        if secret_key is None:
            secret_key = self._sample_secret()
        self._secret_key = secret_key

    @property
    def secret_key(self) -> SecretKey:
        """The secret key s all keys of this generator are made for."""
        return self._secret_key

    def _sample_secret(self) -> SecretKey:
        n = self.params.poly_degree
        if self.params.hamming_weight is None:
            coefficients = self.prng.ternary(n)
        else:
            coefficients = self.prng.sparse_ternary(n, self.params.hamming_weight)
        provisional = SecretKey(self.params, coefficients, "0")
        data, _ = _public_key_data(self.params, provisional)
        return SecretKey(self.params, coefficients, public_key_id(self.params, data))

    def _rlwe_sample(self, prng: PRNG | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(b, a) = (-a s + e, a) over every prime, NTT form."""
        return _rlwe_sample(self.params, self.secret_key, self.prng if prng is None else prng)

    def create_public_key(self) -> PublicKey:
        """The public key (b, a) = (-a s + e, a) over Q_L * P, NTT form, derived from the secret.

        a and e are drawn from SHAKE-256 of the secret and the parameters, so a
        secret has exactly one public key, whose digest is the key id
        ([`public_key_id`][ckks.scheme.keys.public_key_id]).

        Returns:
            The public key (shape (2, L+1+alpha, N)).

        Raises:
            ContextMismatchError: the secret key's id is not the digest of its public key (a key made
                before key ids were digests, or edited).
        """
        data, seed = _public_key_data(self.params, self.secret_key)
        if public_key_id(self.params, data) == self.secret_key.key_id:
            return PublicKey(self.params, data, self.secret_key.key_id, seed=seed)
        data = _legacy_public_key_data(self.params, self.secret_key)  # a secret made before seeded public keys
        if public_key_id(self.params, data) != self.secret_key.key_id:
            raise ContextMismatchError(
                "the secret key's key_id is not the digest of its public key; it was made by an older version "
                "or edited: generate new keys"
            )
        return PublicKey(self.params, data, self.secret_key.key_id)

    def _check_memory(self, count: int, memory_limit: float | None, what: str) -> None:
        check_key_memory(self.params, [self.params.max_level] * count, memory_limit, what)

    def create_switch_key(self, target: np.ndarray, level: int | None = None) -> np.ndarray:
        """Key-switching key data from s' to s, one RLWE sample per digit plus the gadget P * s'.

        Over Q_m * P for a key made for the levels up to m = ``level``: the digits that hold a prime of
        q_0 .. q_m (`Parameters.key_digits`), each (b_j, a_j) with b_j = -a_j s + e_j + P [j-th gadget] s'
        on the limbs q_0 .. q_m and the special primes.  Mod q_i the gadget factor P Qhat_j [Qhat_j^-1]_{D_j}
        is P for q_i in D_j and 0 otherwise, so the truncated key is the full key without its upper limbs.

        Args:
            target: s' in NTT form over the data primes q_0 .. q_L (level L),
                uint64 array (L + 1, N).
            level: the key's top level m (None: L).

        Returns:
            uint64 array (key_digits(m), 2, m+1+alpha, N) in NTT form: the data of a
            [`KeySwitchKey`][ckks.scheme.keys.KeySwitchKey].

        Raises:
            InputError: ``target`` is not a C-contiguous uint64 array of shape (L + 1, N).
            LevelError: ``level`` is not an integer in [0, L].
        """
        return self._seeded_switch_key(target, level)[0]

    def _seeded_switch_key(self, target: np.ndarray, level: int | None = None) -> tuple[np.ndarray, bytes]:
        """`create_switch_key` with the a_j drawn from a fresh recorded seed: (data, seed)."""
        params = self.params
        params.at_level(params.max_level).check(target, "target")
        level = params.max_level if level is None else check_int("level", level, 0, params.max_level,
                                                                  error=LevelError)
        digits = params.digits[: params.key_digits(level)]
        data_ring = params.at_level(level)
        limbs = level + 1
        data = np.empty((len(digits), 2, limbs + params.special_count, params.poly_degree), dtype=np.uint64)
        moduli = data_ring.moduli
        p_mod = np.array([_product_mod(params.special_moduli, int(q)) for q in moduli], dtype=np.uint64)
        gadget = poly_mul_scalar(target[:limbs], p_mod, shoup_per_limb(p_mod, moduli), moduli,
                                 np.empty((limbs, params.poly_degree), dtype=np.uint64))
        seed = self.prng.random_bytes(KEY_SEED_BYTES)
        uniform = switch_key_uniform(params, seed, level)
        ring = params.at_level(level, special=True)
        secret = np.ascontiguousarray(self.secret_key.ntt[ring.rows])
        for j, digit in enumerate(digits):
            a = uniform[j]
            e = ring.from_signed(self.prng.gaussian(params.poly_degree, params.sigma))
            b = ring.mul(a, secret)
            ring.neg(b, out=b)
            ring.add(b, e, out=b)
            rows = slice(digit[0], min(digit[-1], level) + 1)  # digits are runs of consecutive primes
            poly_add(b[rows], gadget[rows], moduli[rows], b[rows])
            data[j, 0] = b
            data[j, 1] = a
        return data, seed

    def create_relin_keys(self, memory_limit: float | None = KEY_MEMORY_LIMIT) -> RelinKey:
        """The relinearization key: the key-switching key from s^2 to s.

        Args:
            memory_limit: refuse if the key would take more bytes than this (None: no limit).

        Returns:
            The relinearization key.

        Raises:
            ParameterError: the key would exceed ``memory_limit``.
            InputTypeError: ``memory_limit`` is not a number or None.
            InputError: ``memory_limit`` is negative or not finite.
        """
        self._check_memory(1, memory_limit, "the relinearization key")
        params = self.params
        ring = params.at_level(params.max_level)
        s = self.secret_key.ntt[: ring.limbs]
        data, seed = self._seeded_switch_key(ring.mul(s, s))
        return RelinKey(params, data, self.secret_key.key_id, seed=seed)

    def create_galois_keys(
        self,
        steps: list[int] | None = None,
        conjugation: bool | None = None,
        progress: bool = False,
        stream: TextIO | None = None,
        memory_limit: float | None = KEY_MEMORY_LIMIT,
        max_level: int | None = None,
    ) -> GaloisKeys:
        """Galois keys for rotation ``steps`` (default: +-2^i) and, optionally, conjugation.

        The key of element g = 5^k mod 2N is the key-switching key from
        s(X^g) to s; conjugation uses g = 2N - 1.  With ``max_level`` = m the keys are
        made over Q_m * P only (`create_switch_key`): they rotate ciphertexts at levels <= m,
        and take ``key_switch_key_bytes(m)`` each instead of ``key_switch_key_bytes()``.

        Args:
            steps: rotation steps (any sign; duplicates mod N/2 and 0 are
                dropped); None for the default steps
                [`default_steps`][ckks.scheme.automorphism.default_steps].
            conjugation: also make the conjugation key (default: only with the default steps).
            progress: show a progress bar (tqdm, `ckks.progress`) when making at least
                `PROGRESS_MIN_KEYS` keys.
            stream: where the bar goes; default: stderr, and only when it is a terminal
                (no bar in logs or captured output).
            memory_limit: refuse before generating anything if the keys would take more bytes than
                this (default `KEY_MEMORY_LIMIT`, 8 GiB; None: no limit).
            max_level: the top level m the keys are made for (None: L, every level).

        Returns:
            The new Galois keys.

        Raises:
            InputTypeError: ``steps`` is not a list of integers, ``conjugation``/``progress`` is not a bool,
                or ``memory_limit`` is not a number or None.
            InputError: ``memory_limit`` is negative or not finite.
            LevelError: ``max_level`` is not an integer in [0, L].
            ParameterError: the keys would exceed ``memory_limit``.
        """
        params = self.params
        n = params.poly_degree
        if steps is None:
            steps = default_steps(n)
            conjugation = True if conjugation is None else conjugation
        steps = check_steps(steps)
        conjugation = False if conjugation is None else check_bool("conjugation", conjugation)
        progress = check_bool("progress", progress)
        elements = list(dict.fromkeys(galois_element(k, n) for k in steps if k % (n // 2)))
        if conjugation:
            elements.append(conjugation_element(n))
        level = params.max_level if max_level is None else check_int("max_level", max_level, 0, params.max_level,
                                                                      error=LevelError)
        return self.create_galois_keys_at_levels(dict.fromkeys(elements, level), progress, stream, memory_limit)

    def create_galois_keys_at_levels(
        self,
        levels: dict[int, int],
        progress: bool = False,
        stream: TextIO | None = None,
        memory_limit: float | None = KEY_MEMORY_LIMIT,
    ) -> GaloisKeys:
        """Galois keys by Galois element, each made for the levels up to its own top level.

        ``levels[g] = m`` makes the key of element g over Q_m * P (`create_switch_key`): it switches
        ciphertexts at levels <= m.  Bootstrapping uses it to make every rotation key only as tall
        as the highest level it is used at (`ckks.circuits.bootstrapping.Bootstrapper.key_levels`).

        Args:
            levels: {Galois element g (5^k mod 2N or 2N - 1): top level m in [0, L]}.
            progress: show a progress bar when making at least `PROGRESS_MIN_KEYS` keys.
            stream: where the bar goes; default: stderr, and only when it is a terminal.
            memory_limit: refuse before generating anything if the keys would take more bytes than
                this (default `KEY_MEMORY_LIMIT`, 8 GiB; None: no limit).

        Returns:
            The new Galois keys.

        Raises:
            InputTypeError: ``levels`` is not a dict, or ``progress`` is not a bool, or ``memory_limit`` is
                not a number or None.
            InputError: an element is not a Galois element of these parameters, or ``memory_limit`` is
                negative or not finite.
            LevelError: a level is not an integer in [0, L].
            ParameterError: the keys would exceed ``memory_limit``.
        """
        params = self.params
        if not isinstance(levels, dict):
            raise InputTypeError(f"levels must be a dict {{Galois element: level}}, got {type(levels).__name__}")
        progress = check_bool("progress", progress)
        n = params.poly_degree
        rotations = step_table(n)
        checked = {}
        for element, level in levels.items():
            if not isinstance(element, (int, np.integer)) or (element not in rotations
                                                              and element != conjugation_element(n)):
                raise InputError(f"{element!r} is not a Galois element 5^k mod 2N (k != 0) or 2N - 1 for N = {n}")
            checked[int(element)] = check_int("level", level, 0, params.max_level, error=LevelError)
        check_key_memory(params, list(checked.values()), memory_limit, f"{len(checked)} Galois keys")
        show = progress and len(checked) >= PROGRESS_MIN_KEYS
        secret = self.secret_key.ntt[: params.max_level + 1]
        key_id = self.secret_key.key_id
        keys = {}
        with progress_bar(len(checked), "Galois keys", enabled=show, stream=stream, unit="key") as bar:
            for element, level in checked.items():
                target = np.ascontiguousarray(apply_automorphism(secret, element))
                data, seed = self._seeded_switch_key(target, level)
                keys[element] = KeySwitchKey(params, data, key_id, seed=seed)
                bar.update()
        return GaloisKeys(params, keys, key_id)


def check_key_memory(params: Parameters, levels: list[int], memory_limit: float | None, what: str) -> int:
    """Refuse key-switching keys that would take more than ``memory_limit`` bytes, before any is made.

    Args:
        params: the parameters.
        levels: the top level of every key to make (`Parameters.key_switch_key_bytes` each).
        memory_limit: the limit in bytes (None: no limit).
        what: how the message names the keys.

    Returns:
        The bytes the keys would take.

    Raises:
        ParameterError: they would take more than ``memory_limit``.
        InputTypeError: ``memory_limit`` is not a number or None.
        InputError: ``memory_limit`` is negative or not finite.
    """
    need = sum(params.key_switch_key_bytes(level) for level in levels)
    if memory_limit is None:
        return need
    limit = check_real("memory_limit", memory_limit, low=0, type_error=InputTypeError, error=InputError)
    if need > limit:
        full = params.key_switch_key_bytes()
        sizes = (f"of {full / 2**20:.1f} MiB" if need == len(levels) * full else
                 f"of {min(map(params.key_switch_key_bytes, levels)) / 2**20:.1f}-{full / 2**20:.1f} MiB by level")
        raise ParameterError(
            f"{what} would take {need / 2**30:.2f} GiB ({len(levels)} key(s) {sizes}), above the limit of "
            f"{limit / 2**30:.2f} GiB; ask for fewer rotation steps, use smaller parameters, or pass "
            "memory_limit=None (or a larger limit in bytes) if the machine has the memory"
        )
    return need


def _rlwe_sample(params: Parameters, secret_key: SecretKey, prng: PRNG) -> tuple[np.ndarray, np.ndarray]:
    ring = params.at_level(params.max_level, special=True)
    a = ring.uniform(prng)
    e = ring.from_signed(prng.gaussian(params.poly_degree, params.sigma))
    b = ring.mul(a, secret_key.ntt)
    ring.neg(b, out=b)
    ring.add(b, e, out=b)
    return b, a


def _public_key_data(params: Parameters, secret_key: SecretKey) -> tuple[np.ndarray, bytes]:
    """(b, a) and the seed of a: a from its own seed (publishable: a one-way digest of the secret,
    stored instead of a), e from SHAKE-256 of the secret: one public key per secret."""
    coins = hashlib.sha256(
        b"ckks-public-key-coins\0" + params.fingerprint().encode() + secret_key.coefficients.tobytes()
    ).digest()
    seed = hashlib.sha256(b"ckks-public-key-a\0" + coins).digest()
    ring = params.at_level(params.max_level, special=True)
    a = public_key_uniform(params, seed)
    e = ring.from_signed(PRNG.derived(coins).gaussian(params.poly_degree, params.sigma))
    b = ring.mul(a, secret_key.ntt)
    ring.neg(b, out=b)
    ring.add(b, e, out=b)
    return np.stack([b, a]), seed


def public_key_uniform(params: Parameters, seed: bytes) -> np.ndarray:
    """The uniform half a of a seeded public key, regenerated from its seed.

    Args:
        params: the parameters.
        seed: the key's 32-byte seed.

    Returns:
        uint64 array (L+1+alpha, N), uniform over every prime, NTT form.
    """
    return params.at_level(params.max_level, special=True).uniform(PRNG.derived(seed))


def _legacy_public_key_data(params: Parameters, secret_key: SecretKey) -> np.ndarray:
    """(b, a) with a and e drawn from one SHAKE-256 stream of the secret (keys made before seeded public keys)."""
    seed = hashlib.sha256(
        b"ckks-public-key-coins\0" + params.fingerprint().encode() + secret_key.coefficients.tobytes()
    ).digest()
    b, a = _rlwe_sample(params, secret_key, PRNG.derived(seed))
    return np.stack([b, a])


def _product_mod(primes, q: int) -> int:
    out = 1
    for p in primes:
        out = out * p % q
    return out


def public_key_error(public_key: PublicKey, secret_key: SecretKey) -> int:
    """The largest |e_i| of the public key's error e = b + a s, centred mod q_0.

    For a matching pair this is at most the Gaussian tail cut (6 sigma); for a
    wrong secret it is a uniform residue, about q_0 / 4.  Used to check that a
    loaded secret key belongs to its public key, and by `ckks.attacks` to
    confirm a recovered key.

    Args:
        public_key: the public key (b, a).
        secret_key: the candidate secret s.

    Returns:
        max |(b + a s mod q_0)| with residues centred in (-q_0/2, q_0/2].

    Raises:
        InputTypeError: the keys have the wrong types.
        ContextMismatchError: the keys belong to different parameters.
    """
    if not isinstance(public_key, PublicKey) or not isinstance(secret_key, SecretKey):
        raise InputTypeError(
            f"expected a PublicKey and a SecretKey, got {type(public_key).__name__} and {type(secret_key).__name__}"
        )
    params = public_key.params
    check_same_context(secret_key, params=params)
    q = params.data_moduli[0]
    ring = params.at_level(0)
    e = ring.mul(public_key.data[1, :1], secret_key.ntt[:1])
    ring.add(e, public_key.data[0, :1], out=e)
    values = ring.inverse(e)[0].astype(np.int64)
    centred = np.where(values > q // 2, values - q, values)
    return int(np.max(np.abs(centred)))


def check_key_pair(public_key: PublicKey, secret_key: SecretKey) -> None:
    """Check, when loading, that a secret key belongs to its public key (b + a s is small).

    Args:
        public_key: the public key (b, a).
        secret_key: the secret s read alongside it.

    Raises:
        SerializationError: b + a s has a coefficient beyond the Gaussian tail cut floor(6 sigma).
        InputTypeError: the keys have the wrong types.
        ContextMismatchError: the keys belong to different parameters.
    """
    bound = math.floor(TAIL_CUT_SIGMAS * public_key.params.sigma)
    error = public_key_error(public_key, secret_key)
    if error > bound:
        raise SerializationError(
            f"the secret key does not belong to the public key: b + a s has a coefficient of size {error}, "
            f"while a matching pair gives at most {bound}"
        )


def require_key(key, name: str, how: str):
    """Return ``key``, or raise naming the key and the call that makes it.

    Args:
        key: the key, or None when absent.
        name: what the key is called in the message ("relinearization key").
        how: how to make it, for the message.

    Returns:
        ``key``.

    Raises:
        KeyMissingError: ``key`` is None.
    """
    if key is None:
        raise KeyMissingError(f"this operation needs the {name}, which is not available; {how}")
    return key


# -- serialization ---------------------------------------------------------------------------------------


def key_spec(name: str, params: Parameters, kind: str, level: int | None = None) -> ArraySpec:
    """The expected array of a serialized public key (``kind`` "public_key") or key-switching key.

    Args:
        name: the array's name in the header ("data", "public_key", "galois_5"...).
        params: the parameters it must fit.
        kind: "public_key" for shape (2, L+1+alpha, N); anything else
            ("relin_key", "galois_keys") for (digits, 2, L+1+alpha, N).
        level: a key-switching key's top level m (None: L): shape (key_digits(m), 2, m+1+alpha, N).

    Returns:
        The spec (uint64, residues below the prime of each limb).
    """
    k, n = len(params.all_moduli), params.poly_degree
    if kind == "public_key":
        return poly_spec(name, params, (2,), k, f"(b, a) over {k} primes, N = {n}")
    return _switch_key_spec(name, params, level, (2,), "(b, a)")


def seeded_key_spec(name: str, params: Parameters, level: int | None = None) -> ArraySpec:
    """The expected array of a seeded key-switching key: its b_j only, (digits, L+1+alpha, N).

    Args:
        name: the array's name in the header.
        params: the parameters it must fit.
        level: the key's top level m (None: L): shape (key_digits(m), m+1+alpha, N).

    Returns:
        The spec (uint64, residues below the prime of each limb).
    """
    return _switch_key_spec(name, params, level, (), "b (a from the seed)")


def _switch_key_spec(name: str, params: Parameters, level: int | None, inner: tuple[int, ...], what: str) -> ArraySpec:
    """Shape (key_digits(m), *inner, m+1+alpha, N) over q_0 .. q_m and the special primes."""
    level = params.max_level if level is None else level
    digits = params.key_digits(level)
    moduli = params.data_moduli[: level + 1] + params.special_moduli
    top = "" if level == params.max_level else f" (a key for levels <= {level})"
    return ArraySpec(name, "<u8", (digits, *inner, len(moduli), params.poly_degree), tuple(moduli),
                     f"{digits} digits of {what} over {len(moduli)} primes{top}")


def switch_key_uniform(params: Parameters, seed: bytes, level: int | None = None) -> np.ndarray:
    """The uniform halves a_j of a seeded key-switching key, regenerated from its seed.

    a_0, a_1, ... are drawn in digit order from one SHAKE-256 stream seeded
    with ``seed``, each uniform over the key's primes (q_0 .. q_m, then the
    special primes), taken as NTT form.

    Args:
        params: the parameters.
        seed: the key's 32-byte seed.
        level: the key's top level m (None: L).

    Returns:
        uint64 array (key_digits(m), m+1+alpha, N).
    """
    level = params.max_level if level is None else level
    ring = params.at_level(level, special=True)
    prng = PRNG.derived(seed)
    return np.stack([ring.uniform(prng) for _ in range(params.key_digits(level))])


def read_key_levels(fields: Fields, params: Parameters, key: str, count: int) -> list[int]:
    """Read the optional header list of the Galois keys' top levels (absent: every key at L).

    Args:
        fields: the header fields.
        params: the parameters (for L).
        key: the field's name ("levels" in a Galois-keys blob, "galois_levels" in a context).
        count: how many keys there are.

    Returns:
        One level per key, in the order of the elements.

    Raises:
        SerializationError: the list has another length or a level outside [0, L].
    """
    if key not in fields.obj:
        return [params.max_level] * count
    levels = fields.int_list(key, count, 0, params.max_level)
    if len(levels) != count:
        raise SerializationError(
            f"{fields.name(key)} lists {len(levels)} levels, expected one per Galois key ({count})"
        )
    return levels


def galois_key_specs(
    params: Parameters, elements: list[int], seeds: list[bytes | None], levels: list[int]
) -> list[ArraySpec]:
    """The expected arrays "galois_<g>" of stored Galois keys: the full key, or its b_j when seeded.

    Args:
        params: the parameters.
        elements: the Galois elements.
        seeds: each key's seed or None.
        levels: each key's top level.

    Returns:
        One spec per key.
    """
    return [
        key_spec(f"galois_{g}", params, "galois_keys", level) if seed is None
        else seeded_key_spec(f"galois_{g}", params, level)
        for g, seed, level in zip(elements, seeds, levels)
    ]


def _read_seeds(fields: Fields, count: int) -> list[bytes | None]:
    if "seeds" not in fields.obj:
        return [None] * count
    listed = fields.array("seeds", count)
    if len(listed) != count:
        raise SerializationError(f"{fields.name('seeds')} lists {len(listed)} seeds, expected {count}")
    seeds = []
    for i, value in enumerate(listed):
        if value is not None and (not isinstance(value, str) or len(value) != 2 * KEY_SEED_BYTES
                                  or any(c not in "0123456789abcdef" for c in value)):
            raise SerializationError(
                f"{fields.name('seeds')}[{i}] must be null or {2 * KEY_SEED_BYTES} lowercase hex digits"
            )
        seeds.append(None if value is None else bytes.fromhex(value))
    return seeds


def switch_key_from_seed(params: Parameters, b: np.ndarray, seed: bytes) -> np.ndarray:
    """A key-switching key's data (digits, 2, m+1+alpha, N) from its b_j and the seed of its a_j.

    Args:
        params: the parameters.
        b: uint64 array (key_digits(m), m+1+alpha, N), the b_j of a key for levels up to m (m = L: every level).
        seed: the 32-byte seed the a_j were drawn from ([`switch_key_uniform`][ckks.scheme.keys.switch_key_uniform]).

    Returns:
        The full key data, C-contiguous.
    """
    level = b.shape[1] - 1 - params.special_count
    return np.ascontiguousarray(np.stack([b, switch_key_uniform(params, seed, level)], axis=1))


def secret_spec(params: Parameters) -> ArraySpec:
    """The expected array of a serialized secret key: N int8 coefficients in {-1, 0, 1}.

    Args:
        params: the parameters it must fit.

    Returns:
        The spec (named "secret_key").
    """
    n = params.poly_degree
    return ArraySpec("secret_key", _I8, (n,), None, f"N = {n} ternary coefficients")


def galois_elements(fields: Fields, params: Parameters, key: str = "elements") -> list[int]:
    """Read a header list of Galois elements: distinct, increasing, each 5^k mod 2N (k != 0) or 2N - 1.

    Args:
        fields: the header fields.
        params: the parameters (for N).
        key: the field's name ("elements" in a Galois-keys blob, "galois_elements" in a context).

    Returns:
        The elements.

    Raises:
        SerializationError: the field is missing, too long, or breaks the rules above.
    """
    two_n = 2 * params.poly_degree
    elements = fields.int_list(key, MAX_GALOIS_KEYS, 3, two_n - 1)
    if elements != sorted(set(elements)):
        raise SerializationError(
            f"{fields.name(key)} must list distinct Galois elements in increasing order, got "
            f"{container.preview(elements)}"
        )
    rotations = step_table(params.poly_degree)
    for g in elements:
        if g not in rotations and g != conjugation_element(params.poly_degree):
            raise SerializationError(
                f"{fields.name(key)} holds {g}, which is neither a rotation element 5^k mod 2N nor the "
                f"conjugation element 2N - 1 = {two_n - 1} (N = {params.poly_degree})"
            )
    return elements


def secret_key_from_array(params: Parameters, coefficients: np.ndarray, key_id: str) -> SecretKey:
    """A secret key from loaded coefficients, checking the Hamming weight of a sparse secret.

    Args:
        params: the parameters.
        coefficients: N values in {-1, 0, 1} (already range-checked by `ckks.container.read_arrays`).
        key_id: the key's id.

    Returns:
        The secret key.

    Raises:
        SerializationError: the parameters ask for a sparse secret of another Hamming weight.
    """
    weight = int(np.count_nonzero(coefficients))
    if params.hamming_weight is not None and weight != params.hamming_weight:
        raise SerializationError(
            f"array 'secret_key' has {weight} non-zero coefficients, but the parameters ask for a sparse "
            f"secret of Hamming weight {params.hamming_weight}"
        )
    return SecretKey(params, coefficients, key_id)


def check_public_key(params: Parameters, data: np.ndarray, key_id: str, where: str) -> None:
    """Refuse loaded public-key material that is degenerate or whose digest is not its key id.

    Args:
        params: the parameters.
        data: the public key, uint64 (2, L+1+alpha, N) (shape already checked).
        key_id: the key id stored with it.
        where: how messages name the array.

    Raises:
        SerializationError: a zero or constant limb, or ``key_id`` is not the digest
            [`public_key_id`][ckks.scheme.keys.public_key_id] of ``data``.
    """
    bad = degenerate_key_part(data)
    if bad is not None:
        raise SerializationError(
            f"{where} is a degenerate public key ({bad}): encryptions under it would be in the clear"
        )
    digest = public_key_id(params, data)
    if digest != key_id:
        raise SerializationError(
            f"header field 'key_id' is {key_id}, but the public key's digest is {digest}: the key id must be "
            "the digest of the public key (the key was replaced or the id forged)"
        )


def check_switch_key(params: Parameters, data: np.ndarray, key_id: str, where: str) -> None:
    """Refuse loaded key-switching material that is degenerate or is the public key relabelled.

    Args:
        params: the parameters.
        data: the key, uint64 (digits, 2, L+1+alpha, N) (shape already checked).
        key_id: the key id stored with it (the digest of the public key).
        where: how messages name the array.

    Raises:
        SerializationError: a zero or constant limb, or a digit that is the public key itself.
    """
    bad = degenerate_key_part(data)
    if bad is not None:
        raise SerializationError(f"{where} is a degenerate key-switching key ({bad})")
    for j in range(data.shape[0]):
        if public_key_id(params, data[j]) == key_id:
            raise SerializationError(
                f"{where} digit {j} is the public key, not a key-switching key: a public key relabelled "
                "as a relinearization or Galois key is refused"
            )


def _key_header(kind: str, key) -> dict:
    return {"type": kind, "fingerprint": key.params.fingerprint(), "key_id": key.key_id}


def _load_key(fields: Fields, payload: memoryview, context: object):
    kind = fields.obj["type"]
    what = kind.replace("_", " ")
    params, key_id = resolve_context(context, what)
    container.check_fingerprint(fields, params, what)
    found_key = fields.hex("key_id", 1, 64)
    container.check_key_id(found_key, key_id, what)
    if kind == "secret_key":
        coefficients = container.read_arrays(fields, payload, [secret_spec(params)])["secret_key"]
        fields.done()
        return secret_key_from_array(params, coefficients, found_key)
    if kind == "galois_keys":
        elements = galois_elements(fields, params)
        seeds = _read_seeds(fields, len(elements))
        levels = read_key_levels(fields, params, "levels", len(elements))
        specs = galois_key_specs(params, elements, seeds, levels)
        arrays = container.read_arrays(fields, payload, specs)
        fields.done()
        keys = {}
        for g, seed in zip(elements, seeds):
            data = arrays[f"galois_{g}"] if seed is None else switch_key_from_seed(params, arrays[f"galois_{g}"], seed)
            check_switch_key(params, data, found_key, f"array 'galois_{g}'")
            keys[g] = KeySwitchKey(params, data, found_key, seed=seed)
        return GaloisKeys(params, keys, found_key)
    if kind == "public_key" and "seed" in fields.obj:
        seed = bytes.fromhex(fields.hex("seed", 2 * KEY_SEED_BYTES, 2 * KEY_SEED_BYTES))
        k = len(params.all_moduli)
        spec = poly_spec("b", params, (), k, f"b over {k} primes (a from the seed)")
        b = container.read_arrays(fields, payload, [spec])["b"]
        fields.done()
        data = np.stack([b, public_key_uniform(params, seed)])
        check_public_key(params, data, found_key, "array 'b'")
        return PublicKey(params, data, found_key, seed=seed)
    if kind == "relin_key" and "seed" in fields.obj:
        seed = bytes.fromhex(fields.hex("seed", 2 * KEY_SEED_BYTES, 2 * KEY_SEED_BYTES))
        b = container.read_arrays(fields, payload, [seeded_key_spec("b", params)])["b"]
        fields.done()
        data = switch_key_from_seed(params, b, seed)
        check_switch_key(params, data, found_key, "array 'b'")
        return RelinKey(params, data, found_key, seed=seed)
    data = container.read_arrays(fields, payload, [key_spec("data", params, kind)])["data"]
    fields.done()
    if kind == "public_key":
        check_public_key(params, data, found_key, "array 'data'")
        return PublicKey(params, data, found_key)
    check_switch_key(params, data, found_key, "array 'data'")
    return RelinKey(params, data, found_key)


for _kind in ("secret_key", "public_key", "relin_key", "galois_keys"):
    container.register_loader(_kind, _load_key)
del _kind

__all__ = [
    "MAX_GALOIS_KEYS",
    "PROGRESS_MIN_KEYS",
    "GaloisKeys",
    "KeyGenerator",
    "KeySwitchKey",
    "PublicKey",
    "RelinKey",
    "SecretKey",
    "check_key_pair",
    "check_public_key",
    "check_key_memory",
    "check_switch_key",
    "galois_key_specs",
    "degenerate_key_part",
    "galois_elements",
    "key_spec",
    "read_key_levels",
    "public_key_error",
    "public_key_id",
    "require_key",
    "secret_key_from_array",
    "secret_spec",
]
