"""Encryption and decryption.

Public-key encryption of m at level l (as in SEAL): sample u ternary and
e_0, e_1 Gaussian, and compute over the full basis Q*P

    (c_0, c_1) = (u b + e_0, u a + e_1),

then divide by P with rounding (mod-down), which shrinks the encryption
noise u e + e_0 + e_1 s by the factor P and leaves only a rounding error of
size about ||s||; finally drop primes down to level l and add m to c_0.

Secret-key encryption: (c_0, c_1) = (-a s + e + m, a) with a uniform.  The
uniform a is drawn from a fresh seed that the ciphertext keeps, so a fresh
symmetric ciphertext can be stored as (c_0, seed), half its size.

Decryption: m + e = c_0 + c_1 s + c_2 s^2 + ... (mod Q_l), optionally plus
flooding noise so that the result does not leak s (:mod:`ckks.security.flooding`).
"""

from __future__ import annotations

import numpy as np

from ckks.errors import ContextMismatchError, InputTypeError, KeyMissingError
from ckks.ring.modarith import poly_add, poly_mul, poly_mul_add, poly_neg
from ckks.ring.sampling import PRNG
from ckks.scheme.ciphertext import Ciphertext, Plaintext, check_same_context
from ckks.scheme.keys import PublicKey, SecretKey
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.parameters import Parameters
from ckks.scheme.poly import to_ntt, uniform_ntt
from ckks.security.flooding import Flooding


class Encryptor:
    """Encrypts plaintexts with a public key, or with a secret key (symmetric)."""

    def __init__(
        self,
        params: Parameters,
        public_key: PublicKey | None = None,
        secret_key: SecretKey | None = None,
        prng: PRNG | None = None,
    ):
        if public_key is None and secret_key is None:
            raise KeyMissingError(
                "an Encryptor needs a public key or a secret key; make one with "
                "ckks.KeyGenerator(params).create_public_key()"
            )
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        for key, name, cls in ((public_key, "public_key", PublicKey), (secret_key, "secret_key", SecretKey)):
            if key is not None and not isinstance(key, cls):
                raise InputTypeError(f"{name} must be a ckks.{cls.__name__} or None, got {type(key).__name__}")
        for key in (public_key, secret_key):
            if key is not None and key.params != params:
                raise ContextMismatchError("the key was made for other parameters than the Encryptor's")
        self.params = params
        self.public_key = public_key
        self.secret_key = secret_key
        self.prng = prng if prng is not None else PRNG()
        self.key_id = (public_key or secret_key).key_id

    def encrypt(self, plaintext: Plaintext) -> Ciphertext:
        """Encrypt with the public key if there is one, else with the secret key."""
        if self.public_key is None:
            return self.encrypt_symmetric(plaintext)
        _check_plaintext(plaintext, self.params)
        params = self.params
        rows = np.arange(len(params.all_moduli))
        moduli, ratios = params.moduli_array, params.ratios
        u = to_ntt(self.prng.ternary(params.poly_degree), params, rows)
        c = np.empty((2, len(rows), params.poly_degree), dtype=np.uint64)
        for i in range(2):
            e = to_ntt(self.prng.gaussian(params.poly_degree, params.sigma), params, rows)
            poly_mul_add(u, self.public_key.data[i], e, moduli, ratios, c[i])
        fresh = KeySwitcher(params).mod_down(c)
        data = np.ascontiguousarray(fresh[:, : plaintext.level + 1])
        level_moduli = moduli[: plaintext.level + 1]
        poly_add(data[0], plaintext.data, level_moduli, data[0])
        return Ciphertext(params, data, plaintext.scale, self.key_id)

    def encrypt_symmetric(self, plaintext: Plaintext) -> Ciphertext:
        """Encrypt with the secret key: (-a s + e + m, a), a drawn from a stored seed."""
        if self.secret_key is None:
            raise KeyMissingError(
                "symmetric encryption needs the secret key; this Encryptor only has the public key"
            )
        _check_plaintext(plaintext, self.params)
        params = self.params
        rows = params.level_rows(plaintext.level)
        moduli, ratios = params.moduli_array[rows], params.ratios[rows]
        seed_prng = PRNG(self.prng.random_bytes(32))
        a = uniform_ntt(seed_prng, params, rows)
        e = to_ntt(self.prng.gaussian(params.poly_degree, params.sigma), params, rows)
        c0 = poly_mul(a, self.secret_key.ntt[rows], moduli, ratios, np.empty_like(a))
        poly_neg(c0, moduli, c0)
        poly_add(c0, e, moduli, c0)
        poly_add(c0, plaintext.data, moduli, c0)
        return Ciphertext(params, np.stack([c0, a]), plaintext.scale, self.key_id, seed=seed_prng.seed)


class Decryptor:
    """Decrypts ciphertexts with the secret key.

    Args:
        params: the encryption parameters.
        secret_key: the secret key.
        flooding: a :class:`ckks.security.flooding.Flooding` to add flooding noise to
            every decryption (IND-CPA-D security at a precision cost; see
            :mod:`ckks.security.flooding`), or None for plain decryption.
        prng: the randomness of the flooding noise (default: seeded from the OS).
    """

    def __init__(
        self,
        params: Parameters,
        secret_key: SecretKey,
        flooding: Flooding | None = None,
        prng: PRNG | None = None,
    ):
        if not isinstance(secret_key, SecretKey):
            raise KeyMissingError(
                "decryption needs the secret key; a public context cannot decrypt: send the "
                "ciphertext back to the owner of the secret key"
            )
        if secret_key.params != params:
            raise ContextMismatchError("the secret key was made for other parameters than the Decryptor's")
        if flooding is not None and not isinstance(flooding, Flooding):
            raise InputTypeError(
                f"flooding must be a ckks.security.flooding.Flooding or None, got {type(flooding).__name__}"
            )
        self.params = params
        self.secret_key = secret_key
        self.flooding = flooding
        self.prng = prng if prng is not None else PRNG()

    def decrypt(self, ciphertext: Ciphertext) -> Plaintext:
        """m + e = c_0 + c_1 s + ... + c_k s^k (mod Q_level), by Horner's rule in s."""
        if not isinstance(ciphertext, Ciphertext):
            raise InputTypeError(f"expected a Ciphertext, got {type(ciphertext).__name__}")
        check_same_context(ciphertext, _KeyTag(self.params, self.secret_key.key_id))
        params = self.params
        rows = params.level_rows(ciphertext.level)
        moduli, ratios = params.moduli_array[rows], params.ratios[rows]
        s = self.secret_key.ntt[rows]
        acc = ciphertext.data[-1].copy()
        for k in range(ciphertext.size - 2, -1, -1):
            poly_mul_add(acc, s, ciphertext.data[k], moduli, ratios, acc)
        if self.flooding is not None:
            self.flooding.apply(acc, params, self.prng)
        return Plaintext(params, acc, ciphertext.scale)


class _KeyTag:
    """Stands for a key in context checks (parameters and key id)."""

    def __init__(self, params: Parameters, key_id: str):
        self.params = params
        self.key_id = key_id


def _check_plaintext(plaintext: Plaintext, params: Parameters) -> None:
    if not isinstance(plaintext, Plaintext):
        raise InputTypeError(f"expected a Plaintext, got {type(plaintext).__name__}")
    if plaintext.params != params:
        raise ContextMismatchError("the plaintext was encoded for other parameters than the Encryptor's")
