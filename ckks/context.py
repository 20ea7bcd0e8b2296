"""The Context: parameters, keys, and the machinery to encrypt, evaluate and decrypt CKKSVectors.

The top of the high-level API (``ring <- scheme <- circuits <- vector <- context``).
See :mod:`ckks.vector` for what the operators of a vector do to levels and scales.
"""

from __future__ import annotations

import numpy as np

from ckks.errors import InputTypeError, KeyMissingError
from ckks.ring.sampling import make_prng
from ckks.scheme.encoder import Encoder
from ckks.scheme.encryption import Decryptor, Encryptor
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.keys import KeyGenerator, PublicKey, RelinKey, SecretKey
from ckks.scheme.parameters import Parameters
from ckks.scheme.rotation import GaloisKeys, Rotator, create_galois_keys
from ckks.security.flooding import Flooding
from ckks.vector import CKKSVector, _fresh, _input_size


class Context:
    """Parameters, keys and the machinery to encrypt, evaluate and decrypt.

    Args:
        poly_degree: ring degree N (a power of two).
        moduli_bits: bit sizes of the primes; the last is the special prime.
        scale_bits: log2 of the default scale.
        security: 128 (default), 192, 256, or None for toy parameters.
        dnum: number of key-switching digits (default: one per data prime).
        hamming_weight: sparse ternary secret with this many non-zeros.
        seed: a fixed seed for reproducible teaching runs (INSECURE, warns).

    The secret key, the public key and the relinearization key are generated
    here; Galois keys on request.
    """

    #: Galois keys for rotations and conjugation (:meth:`generate_galois_keys`).
    galois_keys: GaloisKeys | None = None

    def __init__(
        self,
        poly_degree: int = 8192,
        moduli_bits: list[int] | tuple[int, ...] = (60, 40, 40, 60),
        scale_bits: float | None = None,
        security: int | None = 128,
        dnum: int | None = None,
        hamming_weight: int | None = None,
        seed: int | bytes | None = None,
        *,
        _keys: tuple | None = None,
    ):
        self.params = Parameters(
            poly_degree, moduli_bits, scale_bits, security=security, dnum=dnum, hamming_weight=hamming_weight
        )
        self.prng = make_prng(seed)
        self.encoder = Encoder(self.params)
        if _keys is None:
            keygen = KeyGenerator(self.params, prng=self.prng)
            secret_key: SecretKey | None = keygen.secret_key
            public_key = keygen.create_public_key()
            relin_key: RelinKey | None = keygen.create_relin_keys()
        else:
            secret_key, public_key, relin_key = _keys
        self._init_keys(secret_key, public_key, relin_key)

    def _init_keys(self, secret_key: SecretKey | None, public_key: PublicKey, relin_key: RelinKey | None) -> None:
        self.secret_key = secret_key
        self.public_key = public_key
        self.relin_key = relin_key
        self.key_id = public_key.key_id
        self.encryptor = Encryptor(self.params, public_key=public_key, prng=self.prng)
        self.decryptor = Decryptor(self.params, secret_key) if secret_key is not None else None
        self.evaluator = Evaluator(self.params, relin_key)

    # -- convenience ----------------------------------------------------------
    @property
    def slots(self) -> int:
        return self.params.slots

    @property
    def scale(self) -> float:
        return self.params.scale

    @property
    def is_private(self) -> bool:
        """True when this context holds the secret key (can decrypt)."""
        return self.secret_key is not None

    def generate_galois_keys(self, steps: list[int] | None = None, progress: bool = True) -> GaloisKeys:
        """Make Galois keys and add them to this context (see :mod:`ckks.scheme.rotation`).

        With ``steps=None``: keys for rotations by +-2^i (any rotation composes
        from them) and for conjugation; otherwise keys for exactly these steps.
        Keys already present are not made again.  ``progress`` prints a bar to
        stderr when several keys are made.
        """
        if self.secret_key is None:
            raise KeyMissingError(
                "Galois keys are made with the secret key, which this public context does not have; "
                "call generate_galois_keys() on the owner's context before making its public_copy()"
            )
        keygen = KeyGenerator(self.params, secret_key=self.secret_key, prng=self.prng)
        have = self.galois_keys
        conjugation = steps is None and (have is None or not have.has_conjugation)
        if steps is None:
            from ckks.scheme.rotation import default_steps

            steps = default_steps(self.params.poly_degree)
        if have is not None:
            steps = [k for k in steps if not have.has_step(k)]
        new = create_galois_keys(keygen, steps, conjugation=conjugation, progress=progress)
        self.galois_keys = new if have is None else have.merge(new)
        return self.galois_keys

    @property
    def rotator(self) -> Rotator:
        """Rotations with this context's Galois keys (shares the evaluator's key switcher)."""
        cached = self.__dict__.get("_rotator")
        if cached is None or cached.galois_keys is not self.galois_keys:
            cached = Rotator(self.params, self.galois_keys, self.evaluator.key_switcher)
            self.__dict__["_rotator"] = cached
        return cached

    def public_copy(self) -> Context:
        """A context with the same parameters and public keys but no secret key."""
        copy = object.__new__(Context)
        copy.params = self.params
        copy.prng = make_prng(None)
        copy.encoder = self.encoder
        copy._init_keys(None, self.public_key, self.relin_key)
        copy.galois_keys = self.galois_keys
        return copy

    @classmethod
    def _from_keys(cls, params: Parameters, secret_key, public_key, relin_key, galois_keys=None) -> Context:
        """A context around existing parameters and keys (used by :mod:`ckks.serialize`)."""
        ctx = object.__new__(cls)
        ctx.params = params
        ctx.prng = make_prng(None)
        ctx.encoder = Encoder(params)
        ctx._init_keys(secret_key, public_key, relin_key)
        ctx.galois_keys = galois_keys
        return ctx

    def serialize(self, secret_key: bool = False) -> bytes:
        """These parameters and keys as bytes (:mod:`ckks.serialize`); the secret key only on request.

        ``Context.load(ctx.serialize())`` is a public context (encrypt and
        evaluate, no decryption), the safe thing to send to a server.
        """
        from ckks.serialize import dumps

        return dumps(self, secret_key=secret_key)

    @staticmethod
    def load(blob: bytes) -> Context:
        """A context from :meth:`serialize` output; raises SerializationError for bad bytes."""
        from ckks.serialize import loads

        return loads(blob, kind="context")

    def encrypt(self, values, scale: float | None = None, symmetric: bool = False) -> CKKSVector:
        """Encrypt up to N/2 real or complex values.

        Public-key encryption by default; ``symmetric=True`` encrypts with the
        secret key, and the result serializes to about half the size (its
        uniform half is stored as a seed) until it is first operated on.
        """
        slots = self.encoder.slot_vector(values)
        size = _input_size(values, self.slots)
        plaintext = self.encoder.encode(slots, scale)
        is_complex = bool(np.iscomplexobj(np.asarray(values)) and np.any(np.imag(values) != 0))
        if symmetric:
            if self.secret_key is None:
                raise KeyMissingError(
                    "symmetric=True encrypts with the secret key, which this public context does not have; "
                    "use the default public-key encryption"
                )
            encryptor = Encryptor(self.params, secret_key=self.secret_key, prng=self.prng)
            return _fresh(CKKSVector(self, encryptor.encrypt_symmetric(plaintext), size, is_complex))
        return _fresh(CKKSVector(self, self.encryptor.encrypt(plaintext), size, is_complex))

    def decrypt(self, vector: CKKSVector, flooding: bool | Flooding = False) -> np.ndarray:
        """Decrypt a CKKSVector to a numpy array of its length (real unless complex values went in).

        ``flooding=True`` (or a :class:`ckks.security.flooding.Flooding`) adds noise
        flooding, so that the result can be shared without leaking the secret
        key (Li-Micciancio attack), at a cost in precision (see
        :mod:`ckks.security.flooding`).
        """
        if not isinstance(vector, CKKSVector):
            raise InputTypeError(f"decrypt takes a CKKSVector, got {type(vector).__name__}")
        if self.decryptor is None:
            raise KeyMissingError(
                "this context has no secret key (a public copy, or one loaded without it) and cannot decrypt; "
                "send the ciphertext to the owner of the secret key"
            )
        if not isinstance(flooding, (bool, Flooding)):
            raise InputTypeError(f"flooding must be True, False or a ckks.security.flooding.Flooding, got {flooding!r}")
        decryptor = self.decryptor
        if flooding is not False:
            policy = Flooding() if flooding is True else flooding
            decryptor = Decryptor(self.params, self.secret_key, flooding=policy, prng=self.prng)
        values = self.encoder.decode(decryptor.decrypt(vector.ciphertext))[: vector.size]
        return values if vector.is_complex else values.real
