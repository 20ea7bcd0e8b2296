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

With noise flooding (`ckks.security.flooding`) the decryption is m' + e_f for a
fresh wide Gaussian e_f, step 2 yields s + e_f / c_1, which is uniformly
spread mod q_0, and the attack fails.

The oracle below returns all N/2 complex slots, as SEAL's decoder does.

**Real outputs are no protection.**  ``ctx.decrypt`` of a real vector returns
only the real parts of the slots, but two such decryptions give the key with
plain linear algebra, no lattice reduction (`recover_secret_from_real`):

1. The real parts are the slots of (m' + conj(m')) / 2, where conj is the
   automorphism X -> X^-1 (Galois element 2N - 1), so re-encoding them gives
   the integer polynomial w = m' + conj(m') exactly.
2. w - c_0 - conj(c_0) = c_1 s + conj(c_1) conj(s) (mod q_0).  In the NTT
   domain conj only permutes the evaluation points, pairing each point k
   with its inverse k', so each pair gives one equation in the two unknowns
   NTT(s)_k and NTT(s)_k'.
3. A second ciphertext gives a second equation per pair: a 2 x 2 system per
   pair, solved by Cramer's rule mod q_0; an inverse NTT gives s.

`run_real_attack` does this through the public API (``ctx.encrypt`` and
``ctx.decrypt`` of real vectors) and recovers the key at N = 8192 with 128-bit
parameters; with a flooding context (``Context(..., flooding=True)``) the
recovered candidate is garbage.

Run ``python -m ckks.attacks`` for the demonstration (``--help`` for its options);
it runs on a toy ring (N = 32, insecure parameters) unless asked for N = 8192.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ckks.context import Context
from ckks.errors import InputError, InputTypeError, InsecureWarning
from ckks.ring.level import RingAtLevel
from ckks.ring.sampling import TAIL_CUT_SIGMAS
from ckks.scheme.automorphism import conjugation_element, ntt_permutation
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encoder import Encoder
from ckks.scheme.encryption import Decryptor
from ckks.scheme.keys import PublicKey, SecretKey, public_key_error
from ckks.security.flooding import Flooding


def decryption_oracle(context: Context, ciphertext: Ciphertext, flooding: Flooding | None = None) -> np.ndarray:
    """What the key owner reveals: the N/2 decoded complex slots of ``ciphertext``.

    Args:
        context: the key owner's context (with the secret key).
        ciphertext: a ciphertext under that key.
        flooding: a noise-flooding policy for the decryption, or None (plain decryption).

    Returns:
        All N/2 decoded slots, complex128.

    Raises:
        KeyMissingError: ``context`` has no secret key.
        ContextMismatchError: ``ciphertext`` belongs to other parameters or another key.
    """
    decryptor = Decryptor(context.params, context.secret_key, flooding=flooding)
    return context.encoder.decode(decryptor.decrypt(ciphertext))


def recover_secret(ciphertext: Ciphertext, values: np.ndarray) -> np.ndarray:
    """Solve c_1 s = m' - c_0 for s, m' re-encoded from the decoded ``values`` (all N/2 slots).

    Works modulo one prime q_j of the ciphertext where every NTT coordinate
    of c_1 is invertible (almost always q_0).

    Args:
        ciphertext: the ciphertext (c_0, c_1) the values were decrypted from.
        values: all N/2 decoded complex slots.

    Returns:
        The candidate secret as centred integers (int64); it is the true
        ternary secret when ``values`` came from plain decryption.

    Raises:
        InputTypeError: ``ciphertext`` is not a Ciphertext of size 2.
        InputError: ``values`` do not hold N/2 slots, are too large to
            re-encode exactly, or c_1 is invertible modulo no prime.
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
    level = params.at_level(ciphertext.level)
    prime = RingAtLevel(level.tables, level.rows[j : j + 1], params.ratios)  # the ring mod q_j alone
    q = int(prime.moduli[0])
    m_hat = prime.from_signed(m)[0]
    rhs = (m_hat.astype(object) - ciphertext.data[0, j].astype(object)) % q
    s_hat = np.array([int(r) * pow(int(c), -1, q) % q for r, c in zip(rhs, c1)], dtype=np.uint64)
    s = prime.inverse(s_hat.reshape(1, -1))[0].astype(np.int64)
    return np.where(s > q // 2, s - q, s)


def recover_secret_from_real(ciphertexts, values) -> np.ndarray:
    """Solve for s from two ciphertexts and the *real parts* of their N/2 decoded slots (ctx.decrypt output).

    With w_i = m'_i + conj(m'_i) re-encoded from the real parts, the pairs
    (k, k') of NTT points exchanged by conj give, for each of the two
    ciphertexts, c_1,k s_k + c_1,k' s_k' = NTT(w - c_0 - conj(c_0))_k (mod q_0):
    a 2 x 2 system per pair.

    Args:
        ciphertexts: two size-2 ciphertexts (c_0, c_1) of the same parameters.
        values: the N/2 real decrypted values of each (what ``ctx.decrypt`` returns for a full real vector).

    Returns:
        The candidate secret as centred integers (int64); it is the true secret for plain decryptions.

    Raises:
        InputTypeError: not two size-2 ciphertexts.
        InputError: the values do not hold N/2 real numbers each, are too large to re-encode exactly,
            or the system is singular modulo q_0 (draw other ciphertexts).
    """
    ciphertexts, values = list(ciphertexts), list(values)
    if len(ciphertexts) != 2 or len(values) != 2 or not all(
        isinstance(ct, Ciphertext) and ct.size == 2 for ct in ciphertexts
    ):
        raise InputTypeError("recover_secret_from_real needs two Ciphertexts of size 2 and their two decryptions")
    params = ciphertexts[0].params
    n = params.poly_degree
    encoder = Encoder(params)
    perm = ntt_permutation(conjugation_element(n), n)
    level = params.at_level(min(ct.level for ct in ciphertexts))
    prime = RingAtLevel(level.tables, level.rows[:1], params.ratios)  # the ring mod q_0 alone
    q = int(prime.moduli[0])
    rows = []
    for ct, real in zip(ciphertexts, values):
        real = np.asarray(real, dtype=np.float64)
        if real.shape != (params.slots,):
            raise InputError(f"each decryption must hold all {params.slots} real values, got shape {real.shape}")
        w = np.rint(2.0 * encoder.embed_inverse(real.astype(np.complex128)) * ct.scale)
        if not np.all(np.abs(w) < 2.0**62):
            raise InputError("the decoded values are too large to re-encode exactly in 64-bit integers")
        w_hat = prime.from_signed(w.astype(np.int64))[0].astype(object)
        c0, c1 = ct.data[0, 0].astype(object), ct.data[1, 0].astype(object)
        rhs = (w_hat - c0 - c0[perm]) % q
        rows.append((c1, c1[perm], rhs))
    (a1, b1, r1), (a2, b2, r2) = rows
    det = (a1 * b2 - b1 * a2) % q
    if np.any(det == 0):
        raise InputError("the 2 x 2 systems are singular modulo q_0 for these ciphertexts; use two others")
    s_hat = np.array([int(x) * pow(int(d), -1, q) % q for x, d in zip((r1 * b2 - b1 * r2) % q, det)], dtype=np.uint64)
    s = prime.inverse(s_hat.reshape(1, -1))[0].astype(np.int64)
    return np.where(s > q // 2, s - q, s)


def is_secret_key(public_key: PublicKey, candidate: np.ndarray) -> bool:
    """True when ``candidate`` is ternary and b + a * candidate is the small error of the public key.

    Args:
        public_key: the public key (b, a).
        candidate: N integer coefficients.

    Returns:
        Whether max |b + a s mod q_0| is within the Gaussian tail cut (6 sigma).
    """
    candidate = np.asarray(candidate)
    if candidate.shape != (public_key.params.poly_degree,) or np.any(np.abs(candidate) > 1):
        return False
    guess = SecretKey(public_key.params, candidate.astype(np.int8), "candidate")
    return public_key_error(public_key, guess) <= TAIL_CUT_SIGMAS * public_key.params.sigma


@dataclass
class AttackResult:
    """The outcome of `run_attack`.

    Attributes:
        secret: the true secret key's coefficients (int64).
        recovered: the attacker's candidate (int64).
        confirmed: whether the candidate passes the public-key check (`is_secret_key`).
        flooding: the flooding policy the key owner used, or None.
    """

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
        """How many coefficients of the recovered key differ from the secret key."""
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

    Args:
        flooding: the key owner's noise-flooding policy, or None.
        poly_degree: N.
        moduli_bits: the prime sizes.
        scale_bits: log2 of the scale.
        security: the security level asked of the parameters (None: toy).
        rng: the source of the random plaintext values.

    Returns:
        The secret key, the recovered key, and whether the public key confirms it.

    Raises:
        ParameterError: the parameters are invalid.
        SecurityError: the parameters are below ``security``.
    """
    rng = rng if rng is not None else np.random.default_rng()
    ctx = _victim(poly_degree, moduli_bits, scale_bits, security)
    vector = ctx.encrypt(rng.uniform(-1, 1, ctx.slots))
    values = decryption_oracle(ctx, vector.ciphertext, flooding)  # all the adversary gets, with the ciphertext
    return _outcome(ctx, recover_secret(vector.ciphertext, values), flooding)


def run_real_attack(
    flooding: bool | Flooding = False,
    poly_degree: int = 32,
    moduli_bits: tuple[int, ...] = (60, 40, 60),
    scale_bits: int = 40,
    security: int | None = None,
    rng: np.random.Generator | None = None,
) -> AttackResult:
    """The two-ciphertext attack on the public API: ``ctx.encrypt`` two real vectors, ``ctx.decrypt`` them, solve.

    Args:
        flooding: the key owner's context policy (``Context(..., flooding=flooding)``).
        poly_degree: N.
        moduli_bits: the prime sizes.
        scale_bits: log2 of the scale.
        security: the security level asked of the parameters (None: toy).
        rng: the source of the random plaintext values.

    Returns:
        The secret key, the recovered key, and whether the public key confirms it.

    Raises:
        ParameterError: the parameters are invalid.
        SecurityError: the parameters are below ``security``.
    """
    rng = rng if rng is not None else np.random.default_rng()
    ctx = _victim(poly_degree, moduli_bits, scale_bits, security, flooding=flooding)
    vectors = [ctx.encrypt(rng.uniform(-1, 1, ctx.slots)) for _ in range(2)]
    outputs = [ctx.decrypt(v) for v in vectors]  # the real values the owner shares, as the API returns them
    return _outcome(ctx, recover_secret_from_real([v.ciphertext for v in vectors], outputs), ctx.flooding)


def _victim(poly_degree: int, moduli_bits, scale_bits: int, security: int | None, **options) -> Context:
    """The key owner's context (toy parameters warn; the attack demo silences that)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return Context(poly_degree, list(moduli_bits), scale_bits, security=security, **options)


def _outcome(ctx: Context, recovered: np.ndarray, flooding) -> AttackResult:
    """The true secret next to the recovered one, checked against the public key."""
    secret = ctx.secret_key.coefficients.astype(np.int64)
    return AttackResult(secret, recovered, is_secret_key(ctx.public_key, recovered), flooding)


def main(argv: list[str] | None = None) -> None:
    """Run the attacks without and with flooding and print what happened (``--help`` for the options).

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m ckks.attacks",
        description=(
            "Li-Micciancio key recovery from CKKS decryption results, without and with noise flooding: "
            "from all complex slots of one decryption, and from the real outputs of two ctx.decrypt calls. "
            "Runs on a toy ring (N = 32, insecure) by default."
        ),
    )
    parser.add_argument("--standard", action="store_true",
                        help="attack N = 8192, moduli [60, 40, 40, 60], 128-bit security instead of the toy ring")
    args = parser.parse_args(argv)
    if args.standard:
        setting = dict(poly_degree=8192, moduli_bits=(60, 40, 40, 60), scale_bits=40, security=128)
        print("ring: N = 8192, moduli_bits [60, 40, 40, 60], 128-bit security (HE standard)")
    else:
        setting = {}
        print("ring: a TOY ring, N = 32, moduli_bits [60, 40, 60], security=None (insecure; --standard for N = 8192)")
    for name, attack in (("all complex slots, one decryption", run_attack),
                         ("real outputs of two ctx.decrypt calls", run_real_attack)):
        print(f"attack from {name}:")
        for flooding in (None, Flooding()):
            result = attack(flooding if attack is run_attack else (flooding or False), **setting)
            label = "with flooding   " if flooding else "without flooding"
            verdict = "secret key RECOVERED" if result.success else "attack failed"
            print(
                f"  {label}: {verdict}; {result.wrong_coefficients} of {result.secret.size} coefficients wrong, "
                f"candidate passes the public-key check: {result.confirmed}"
            )
            print(f"    secret   : {result.secret[:12]} ...")
            print(f"    recovered: {result.recovered[:12]} ...")


if __name__ == "__main__":
    main()
