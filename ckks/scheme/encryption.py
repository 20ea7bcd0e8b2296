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
flooding noise so that the result does not leak s (`ckks.security.flooding`).
"""

from __future__ import annotations

import numpy as np

from ckks.errors import ContextMismatchError, InputTypeError, KeyMissingError
from ckks.ring.modarith import poly_mul_add
from ckks.ring.sampling import PRNG
from ckks.scheme.ciphertext import Ciphertext, Plaintext, check_same_context
from ckks.scheme.evaluator import check_operand_data
from ckks.scheme.keys import PublicKey, SecretKey
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.parameters import Parameters
from ckks.security.flooding import Flooding
from ckks.security.noise import fresh_public_noise, fresh_symmetric_noise


def _check_prng(prng: object) -> None:
    if prng is not None and not isinstance(prng, PRNG):
        raise InputTypeError(f"prng must be a ckks.ring.sampling.PRNG or None, got {type(prng).__name__}")


class Encryptor:
    """Encrypts plaintexts with a public key, or with a secret key (symmetric).

    Args:
        params: the encryption parameters.
        public_key: the public key (for public-key encryption).
        secret_key: the secret key (for symmetric encryption, or when there is no public key).
        prng: the randomness source (default: seeded from the OS).

    Raises:
        KeyMissingError: neither key is given.
        InputTypeError: an argument has the wrong type.
        ContextMismatchError: a key was made for other parameters, or the two keys for different secrets.
    """

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
        keys = [key for key in (public_key, secret_key) if key is not None]
        if any(key.params != params for key in keys):
            raise ContextMismatchError("the key was made for other parameters than the Encryptor's")
        if len(keys) == 2 and public_key.key_id != secret_key.key_id:
            raise ContextMismatchError("the public key and the secret key belong to different secret keys")
        _check_prng(prng)
        self.params = params
        self.public_key = public_key
        self.secret_key = secret_key
        self.prng = prng if prng is not None else PRNG()
        self.key_id = keys[0].key_id
        self.key_switcher = KeySwitcher(params)

    def encrypt(self, plaintext: Plaintext) -> Ciphertext:
        """Encrypt m at its level and scale: with the public key if there is one, else with the secret key.

        Public-key encryption computes (u b + e_0, u a + e_1) over Q_L * P,
        divides by P (mod-down), drops primes to the plaintext's level l and
        adds m to c_0; the result is in NTT form over Q_l, at the plaintext's
        scale.

        Args:
            plaintext: the encoded message (NTT form, level l, scale Delta).

        Returns:
            A size-2 ciphertext at level l and scale Delta.

        Raises:
            InputTypeError: ``plaintext`` is not a Plaintext.
            InputError: its data has the wrong dtype or shape.
            ContextMismatchError: it was encoded for other parameters.
        """
        if self.public_key is None:
            return self.encrypt_symmetric(plaintext)
        self._check_plaintext(plaintext)
        params = self.params
        ring = params.at_level(params.max_level, special=True)
        u = ring.from_signed(self.prng.ternary(params.poly_degree))
        c = np.empty((2, ring.limbs, params.poly_degree), dtype=np.uint64)
        for i in range(2):
            e = ring.from_signed(self.prng.gaussian(params.poly_degree, params.sigma))
            poly_mul_add(u, self.public_key.data[i], e, ring.moduli, ring.ratios, c[i])
        fresh = self.key_switcher.mod_down(c)
        data = np.ascontiguousarray(fresh[:, : plaintext.level + 1])
        params.at_level(plaintext.level).add(data[0], plaintext.data, out=data[0])
        return Ciphertext(
            params, data, plaintext.scale, self.key_id, bound=plaintext.bound, noise=fresh_public_noise(params),
            bound_exact=plaintext.bound is not None,
        )

    def encrypt_symmetric(self, plaintext: Plaintext) -> Ciphertext:
        """Encrypt with the secret key: (-a s + e + m, a) over Q_l, a drawn from a fresh stored seed.

        Args:
            plaintext: the encoded message (NTT form, level l, scale Delta).

        Returns:
            A size-2 ciphertext at level l and scale Delta whose ``seed``
            regenerates a (so it can be stored at half size).

        Raises:
            KeyMissingError: this Encryptor has no secret key.
            InputTypeError: ``plaintext`` is not a Plaintext.
            InputError: its data has the wrong dtype or shape.
            ContextMismatchError: it was encoded for other parameters.
        """
        if self.secret_key is None:
            raise KeyMissingError(
                "symmetric encryption needs the secret key; this Encryptor only has the public key"
            )
        self._check_plaintext(plaintext)
        params = self.params
        ring = params.at_level(plaintext.level)
        seed_prng = PRNG.derived(self.prng.random_bytes(32))
        a = ring.uniform(seed_prng)
        e = ring.from_signed(self.prng.gaussian(params.poly_degree, params.sigma))
        c0 = ring.mul(a, self.secret_key.ntt[: ring.limbs])
        ring.neg(c0, out=c0)
        ring.add(c0, e, out=c0)
        ring.add(c0, plaintext.data, out=c0)
        return Ciphertext(
            params, np.stack([c0, a]), plaintext.scale, self.key_id, seed=seed_prng.seed, bound=plaintext.bound,
            noise=fresh_symmetric_noise(params), bound_exact=plaintext.bound is not None,
        )

    def _check_plaintext(self, plaintext: object) -> None:
        if not isinstance(plaintext, Plaintext):
            raise InputTypeError(f"expected a Plaintext, got {type(plaintext).__name__}")
        check_same_context(plaintext, params=self.params)
        check_operand_data(plaintext, self.params)


class Decryptor:
    """Decrypts ciphertexts with the secret key.

    Args:
        params: the encryption parameters.
        secret_key: the secret key.
        flooding: a [`Flooding`][ckks.security.flooding.Flooding] to add flooding noise to
            every decryption (IND-CPA-D security at a precision cost; see
            `ckks.security.flooding`), or None for plain decryption.
        prng: the randomness of the flooding noise (default: seeded from the OS).

    Raises:
        KeyMissingError: ``secret_key`` is not a SecretKey (a public context cannot decrypt).
        InputTypeError: another argument has the wrong type.
        ContextMismatchError: the secret key was made for other parameters.
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
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        if secret_key.params != params:
            raise ContextMismatchError("the secret key was made for other parameters than the Decryptor's")
        if flooding is not None and not isinstance(flooding, Flooding):
            raise InputTypeError(
                f"flooding must be a ckks.security.flooding.Flooding or None, got {type(flooding).__name__}"
            )
        _check_prng(prng)
        self.params = params
        self.secret_key = secret_key
        self.flooding = flooding
        self.prng = prng if prng is not None else PRNG()

    def decrypt(self, ciphertext: Ciphertext) -> Plaintext:
        """m + e = c_0 + c_1 s + ... + c_k s^k (mod Q_l), by Horner's rule in s (NTT form).

        With flooding, Gaussian noise of the configured width is added to the
        result, sized from the policy's ``noise_bound`` or else the ciphertext's
        tracked noise bound.  Level and scale are the ciphertext's.

        Args:
            ciphertext: a ciphertext (any size) encrypted under this secret key.

        Returns:
            The plaintext m + e at the ciphertext's level and scale.

        Raises:
            InputTypeError: ``ciphertext`` is not a Ciphertext.
            InputError: its data has the wrong dtype or shape.
            ContextMismatchError: it belongs to other parameters or another secret key.
            ParameterError: flooding is on and there is no noise estimate (a loaded ciphertext and no
                ``noise_bound``), or the flooding noise does not fit the modulus.
        """
        if not isinstance(ciphertext, Ciphertext):
            raise InputTypeError(f"expected a Ciphertext, got {type(ciphertext).__name__}")
        check_same_context(ciphertext, params=self.params, key_id=self.secret_key.key_id)
        check_operand_data(ciphertext, self.params)
        params = self.params
        ring = params.at_level(ciphertext.level)
        s = self.secret_key.ntt[: ring.limbs]
        acc = ciphertext.data[-1].copy()
        for k in range(ciphertext.size - 2, -1, -1):
            poly_mul_add(acc, s, ciphertext.data[k], ring.moduli, ring.ratios, acc)
        if self.flooding is not None:
            self.flooding.apply(acc, params, self.prng, noise=ciphertext.noise)
        return Plaintext(params, acc, ciphertext.scale)
