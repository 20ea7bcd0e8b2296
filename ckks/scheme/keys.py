"""Keys and key generation.

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
* relinearization key: the key-switching key from s^2 to s.

Galois keys (from s(X^g) to s) use the same :class:`KeySwitchKey` and live in
:mod:`ckks.scheme.rotation`.
"""

from __future__ import annotations

import numpy as np

from ckks.errors import ContextMismatchError, InputTypeError, KeyMissingError, SerializationError
from ckks.ring.modarith import poly_add, poly_mul, poly_mul_scalar, poly_neg, shoup_per_limb
from ckks.ring.sampling import PRNG
from ckks.scheme.parameters import Parameters
from ckks.scheme.poly import to_ntt, uniform_ntt


class SecretKey:
    """The secret s: its small coefficients and its NTT form over every prime."""

    def __init__(self, params: Parameters, coefficients: np.ndarray, key_id: str):
        self.params = params
        self.coefficients = np.asarray(coefficients, dtype=np.int8)
        self.key_id = key_id
        self.ntt = to_ntt(self.coefficients, params, np.arange(len(params.all_moduli)))

    def __reduce__(self):
        raise SerializationError(
            "a SecretKey cannot be pickled (pickle runs code when loading and would leak the key "
            "into any pickled object); use ckks.serialize.dumps(...) or ctx.serialize(secret_key=True)"
        )


class PublicKey:
    """(b, a) = (-a s + e, a) in NTT form over every prime, shape (2, L+1+alpha, N)."""

    def __init__(self, params: Parameters, data: np.ndarray, key_id: str):
        self.params = params
        self.data = data
        self.key_id = key_id


class KeySwitchKey:
    """Hybrid key-switching key: shape (digits, 2, L+1+alpha, N), NTT form."""

    def __init__(self, params: Parameters, data: np.ndarray, key_id: str):
        self.params = params
        self.data = data
        self.key_id = key_id


class RelinKey(KeySwitchKey):
    """The key-switching key from s^2 to s."""


class KeyGenerator:
    """Generates a secret key (or takes one) and the keys derived from it.

    Args:
        params: the encryption parameters.
        secret_key: reuse this secret instead of sampling a new one.
        prng: the randomness source (default: seeded from the OS).
    """

    def __init__(self, params: Parameters, secret_key: SecretKey | None = None, prng: PRNG | None = None):
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
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
        return self._secret_key

    def _sample_secret(self) -> SecretKey:
        n = self.params.poly_degree
        if self.params.hamming_weight is None:
            coefficients = self.prng.ternary(n)
        else:
            coefficients = self.prng.sparse_ternary(n, self.params.hamming_weight)
        key_id = self.prng.random_bytes(8).hex()
        return SecretKey(self.params, coefficients, key_id)

    @property
    def _all_rows(self) -> np.ndarray:
        return np.arange(len(self.params.all_moduli))

    def _rlwe_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """(b, a) = (-a s + e, a) over every prime, NTT form."""
        params, rows = self.params, self._all_rows
        moduli, ratios = params.moduli_array, params.ratios
        a = uniform_ntt(self.prng, params, rows)
        e = to_ntt(self.prng.gaussian(params.poly_degree, params.sigma), params, rows)
        b = poly_mul(a, self.secret_key.ntt, moduli, ratios, np.empty_like(a))
        poly_neg(b, moduli, b)
        poly_add(b, e, moduli, b)
        return b, a

    def create_public_key(self) -> PublicKey:
        """A fresh public key (b, a) = (-a s + e, a)."""
        b, a = self._rlwe_sample()
        return PublicKey(self.params, np.stack([b, a]), self.secret_key.key_id)

    def create_switch_key(self, target: np.ndarray) -> np.ndarray:
        """Key-switching key data from s' to s, for s' given in NTT form over the data primes."""
        params = self.params
        digits = params.digits
        k = len(params.all_moduli)
        data = np.empty((len(digits), 2, k, params.poly_degree), dtype=np.uint64)
        data_moduli = params.moduli_array[: len(params.data_moduli)]
        p_mod = np.array([_product_mod(params.special_moduli, q) for q in params.data_moduli], dtype=np.uint64)
        gadget = poly_mul_scalar(target, p_mod, shoup_per_limb(p_mod, data_moduli), data_moduli, np.empty_like(target))
        for j, digit in enumerate(digits):
            b, a = self._rlwe_sample()
            rows = slice(digit[0], digit[-1] + 1)  # digits are runs of consecutive primes
            poly_add(b[rows], gadget[rows], data_moduli[rows], b[rows])
            data[j, 0] = b
            data[j, 1] = a
        return data

    def create_relin_keys(self) -> RelinKey:
        """The relinearization key: switches s^2 to s."""
        params = self.params
        rows = params.level_rows(params.max_level)
        s = self.secret_key.ntt[rows]
        s_squared = poly_mul(s, s, params.moduli_array[rows], params.ratios[rows], np.empty_like(s))
        return RelinKey(params, self.create_switch_key(s_squared), self.secret_key.key_id)


def _product_mod(primes, q: int) -> int:
    out = 1
    for p in primes:
        out = out * p % q
    return out


def public_key_error(public_key: PublicKey, secret_key: SecretKey) -> int:
    """The largest |e_i| of the public key's error e = b + a s, centred mod q_0.

    For a matching pair this is at most the Gaussian tail cut (6 sigma); for a
    wrong secret it is a uniform residue, about q_0 / 4.  Used to check that a
    loaded secret key belongs to its public key, and by :mod:`ckks.attacks` to
    confirm a recovered key.
    """
    params = public_key.params
    q = params.data_moduli[0]
    rows = params.level_rows(0)
    moduli, ratios = params.moduli_array[rows], params.ratios[rows]
    e = np.empty((1, params.poly_degree), dtype=np.uint64)
    poly_mul(public_key.data[1, :1], secret_key.ntt[:1], moduli, ratios, e)
    poly_add(e, public_key.data[0, :1], moduli, e)
    values = params.tables.inverse(e, rows)[0].astype(np.int64)
    centred = np.where(values > q // 2, values - q, values)
    return int(np.max(np.abs(centred)))


def require_key(key, name: str, how: str):
    """Return ``key`` or raise KeyMissingError naming the key and the call that makes it."""
    if key is None:
        raise KeyMissingError(f"this operation needs the {name}, which is not available; {how}")
    return key
