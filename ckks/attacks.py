"""The Li-Micciancio passive key-recovery attack on CKKS, for teaching.

Li and Micciancio, "On the Security of Homomorphic Encryption on Approximate
Numbers", Eurocrypt 2021.  CKKS decryption returns m' = c_0 + c_1 s (mod Q)
*including* its error, so a decryption result is not a harmless output: with
the ciphertext it came from, it gives the secret key by linear algebra.

The setting: a client encrypts, a server computes on the ciphertext, the
client decrypts and shares the decoded values (a prediction service that
returns its answers, say).  The adversary, passive, only sees the ciphertext
ct = (c_0, c_1) and the decoded slot values z'.

1. **Re-encode.**  Decoding maps the centred integer polynomial m' to
   z' = embed(m') / Delta and encoding is the inverse map, so
   round(Delta * embed^-1(z')) = m' exactly, as long as the float64 error of
   the two FFTs stays below 1/2 (true while |m'| is well below 2^52).
2. **Solve.**  c_1 s = m' - c_0 (mod q_0) is a linear system in s; in NTT form
   the ring product is coordinate-wise, so the system is diagonal:
   NTT(s) = NTT(m' - c_0) / NTT(c_1), coordinate by coordinate mod q_0.  One
   inverse NTT and centring give s (its coefficients are in {-1, 0, 1}).
3. **Confirm.**  With the public key (b, a), b + a s must be the small key
   error; a wrong guess gives residues of size q_0.

With noise flooding (:mod:`ckks.security.flooding`) the decryption is m' + e_f for a
fresh wide Gaussian e_f, step 2 yields s + e_f / c_1, which is uniformly
spread mod q_0, and the attack fails.

The oracle below returns all N/2 complex slots, as SEAL's decoder does.  A
result that exposes fewer numbers (only some real parts) gives fewer
equations per ciphertext; the attack then needs more ciphertexts, or lattice
reduction, which is beyond this teaching module.

Run ``python -m ckks.attacks`` for the demonstration.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ckks.context import Context
from ckks.errors import InputError, InputTypeError, InsecureWarning
from ckks.ring.sampling import TAIL_CUT_SIGMAS
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encoder import Encoder
from ckks.scheme.encryption import Decryptor
from ckks.scheme.keys import PublicKey, SecretKey, public_key_error
from ckks.scheme.poly import to_ntt
from ckks.security.flooding import Flooding


def decryption_oracle(context: Context, ciphertext: Ciphertext, flooding: Flooding | None = None) -> np.ndarray:
    """What the key owner reveals: the N/2 decoded complex slots of ``ciphertext``."""
    decryptor = Decryptor(context.params, context.secret_key, flooding=flooding)
    return context.encoder.decode(decryptor.decrypt(ciphertext))


def recover_secret(ciphertext: Ciphertext, values: np.ndarray) -> np.ndarray:
    """Solve c_1 s = m' - c_0 for s, m' re-encoded from the decoded ``values`` (all N/2 slots).

    Returns the candidate secret as centred integers (int64); it is the true
    ternary secret when ``values`` came from plain decryption.
    """
    if not isinstance(ciphertext, Ciphertext) or ciphertext.size != 2:
        raise InputTypeError("recover_secret needs a Ciphertext of size 2 (c_0, c_1)")
    params = ciphertext.params
    values = np.asarray(values, dtype=np.complex128)
    if values.shape != (params.slots,):
        raise InputError(f"values must hold all {params.slots} decoded slots, got shape {values.shape}")
    # Step 1: the integer polynomial m' behind the decoded values.
    m = np.rint(Encoder(params).embed_inverse(values) * ciphertext.scale)
    if not np.all(np.abs(m) < 2.0**62):
        raise InputError("the decoded values are too large to re-encode exactly in 64-bit integers")
    m = m.astype(np.int64)
    # Step 2: a prime q_j where every NTT coordinate of c_1 is invertible (almost always j = 0).
    for j in range(ciphertext.level + 1):
        c1 = ciphertext.data[1, j]
        if np.all(c1 != 0):
            break
    else:
        raise InputError("c_1 is not invertible modulo any prime of the ciphertext")
    q = params.data_moduli[j]
    rows = np.array([j])
    m_hat = to_ntt(m, params, rows)[0]
    rhs = (m_hat.astype(object) - ciphertext.data[0, j].astype(object)) % q
    s_hat = np.array([int(r) * pow(int(c), -1, q) % q for r, c in zip(rhs, c1)], dtype=np.uint64)
    s = params.tables.inverse(s_hat.reshape(1, -1), rows)[0].astype(np.int64)
    return np.where(s > q // 2, s - q, s)


def is_secret_key(public_key: PublicKey, candidate: np.ndarray) -> bool:
    """True when ``candidate`` is ternary and b + a * candidate is the small error of the public key."""
    candidate = np.asarray(candidate)
    if candidate.shape != (public_key.params.poly_degree,) or np.any(np.abs(candidate) > 1):
        return False
    guess = SecretKey(public_key.params, candidate.astype(np.int8), "candidate")
    return public_key_error(public_key, guess) <= TAIL_CUT_SIGMAS * public_key.params.sigma


@dataclass
class AttackResult:
    """The outcome of :func:`run_attack`."""

    secret: np.ndarray
    recovered: np.ndarray
    confirmed: bool
    flooding: Flooding | None

    @property
    def success(self) -> bool:
        """True when the recovered key equals the secret key."""
        return bool(np.array_equal(self.secret, self.recovered))

    @property
    def wrong_coefficients(self) -> int:
        return int(np.count_nonzero(self.secret != self.recovered))


def run_attack(
    flooding: Flooding | None = None,
    poly_degree: int = 32,
    moduli_bits: tuple[int, ...] = (60, 40, 60),
    scale_bits: int = 40,
    security: int | None = None,
    rng: np.random.Generator | None = None,
) -> AttackResult:
    """Encrypt random values, decrypt them (with or without flooding), attack, report.

    Teaching parameters by default (N = 32, insecure, warnings silenced); the
    attack works the same at any N as long as step 1 is exact.
    """
    rng = rng if rng is not None else np.random.default_rng()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ctx = Context(poly_degree, list(moduli_bits), scale_bits, security=security)
    vector = ctx.encrypt(rng.uniform(-1, 1, ctx.slots))
    values = decryption_oracle(ctx, vector.ciphertext, flooding)  # all the adversary gets, with the ciphertext
    recovered = recover_secret(vector.ciphertext, values)
    secret = ctx.secret_key.coefficients.astype(np.int64)
    return AttackResult(secret, recovered, is_secret_key(ctx.public_key, recovered), flooding)


def main() -> None:
    """Run the attack without and with flooding and print what happened."""
    for flooding in (None, Flooding()):
        result = run_attack(flooding)
        label = "with flooding   " if flooding else "without flooding"
        verdict = "secret key RECOVERED" if result.success else "attack failed"
        print(
            f"{label}: {verdict}; {result.wrong_coefficients} of {result.secret.size} coefficients wrong, "
            f"candidate passes the public-key check: {result.confirmed}"
        )
        print(f"  secret   : {result.secret[:12]} ...")
        print(f"  recovered: {result.recovered[:12]} ...")


if __name__ == "__main__":
    main()
