"""ModRaise: lift a level-0 ciphertext to the top of the modulus chain, and the sparse-packing trace.

**ModRaise.**  A ciphertext (c_0, c_1) at level 0 decrypts to
m = c_0 + c_1 s mod q_0.  Read the residues of c_0 and c_1 as integers in
(-q_0/2, q_0/2] and reduce them modulo every prime of Q_L: the same pair is
now a ciphertext at level L with

    c_0 + c_1 s = m + q_0 I   (mod Q_L),

where I is an integer polynomial with |I_i| <= (||s||_1 + 1) / 2: each
coefficient of c_1 s is a sum of h terms of size at most q_0/2 (h the Hamming
weight of s), and in practice I_i is a sum of h + 1 nearly uniform values in
[-1/2, 1/2], so |I_i| stays within 6 standard deviations, 6 sqrt((h + 1)/12).
That is why bootstrapping wants a sparse secret: a small h keeps the range
[-K, K] of the EvalMod input y = t / q_0 small, and the polynomial that
removes q_0 I cheap.  Costs no level and no key; the scale is unchanged
(the caller relabels it, see `ckks.circuits.bootstrapping.bootstrapper`).

**Trace (sparse packing).**  With n < N/2 slots the message lives in the
subring Z[Y], Y = X^(N/(2n)), but q_0 I does not.  The sum of the
automorphisms X -> X^g over the subgroup H = {g = 1 mod 4n} of (Z/2NZ)^*,
which are the rotations by multiples of n,

    Tr(t) = sum_(k < N/2n) rot_(k n)(t),   computed as t <- t + rot_(n 2^i)(t), i < log2(N/2n),

keeps the monomials X^i with (N/2n) | i (times N/2n) and kills all others.
The slots become n-periodic: slot j holds the sum of the slots j, j + n,
j + 2n, ... of the input.  Costs log2(N/2n) rotations, no level; the factor
N/2n is absorbed into the scale.

**Sparse-secret encapsulation** (Bossuat, Troncoso-Pastoriza and Hubaux, "Bootstrapping for
approximate homomorphic encryption with negligible failure-probability by using sparse-secret
encapsulation", ACNS 2022, ePrint 2022/024; what Lattigo and OpenFHE do).  The bound on I above
grows with the Hamming weight h of the secret, and a sparse *main* secret (h = 192) falls under
a smaller security bound than a uniform ternary one.  Encapsulation keeps the main secret s dense
(uniform ternary: the HE standard's bound, log2(QP) <= 1761 at N = 2^16) and uses an ephemeral
sparse secret s' of weight h' (32) only around ModRaise:

1. at level 0, key-switch (c_0, c_1) from s to s' with a key over q_0 * p, p one prime of the special
   primes' size (``to_sparse``: (b, a) with b = -a s' + e + p s mod q_0 p, one digit, in the ring of
   `encapsulation_parameters`): c_0' + c_1' s' = m + e_ks (mod q_0);
2. ModRaise under s': c_0' + c_1' s' = m + e_ks + q_0 I' (mod Q_L) with |I'_i| <= (h' + 1) / 2, I'_i the
   rounded sum of h' + 1 nearly uniform values in [-1/2, 1/2] (Irwin-Hall): for h' = 32,
   P(|I'_i| >= 16) = 2^-121.7 exactly, so K = 16 fails with probability below 2^-105 per bootstrap
   at N = 2^16 (against K = 28 for h = 192);
3. at level L, key-switch back from s' to s with a key over Q_L * P
   (``from_sparse``: b_j = -a_j s + e_j + P [gadget_j] s' mod Q_L P): c_0'' + c_1'' s = m + q_0 I' + e.

Both key switches add only key-switching noise (e_ks / Delta_in relative, far below the
bootstrap's error).  The ``to_sparse`` key is an RLWE sample under the sparse s', so it lives over the
smallest modulus that switches a level-0 ciphertext: q_0 * p (log2 = 115 bits at the "128" preset, N = 2^16),
as Lattigo makes it (over q_0 * p_0).  A key under s' over all of q_0 * P (481 bits) would leave s' and
so s to a guess of which coordinates are zero followed by lattice reduction in a smaller dimension, whose
cost we have not estimated; at 115 bits the ring is far inside the HE standard's bound even for
N = 2^12 (109 bits is the 128-bit bound at N = 4096, 218 at 8192).  ``from_sparse`` is a sample
under the dense s like any rotation key.  Together they cost two key switches and about 126 MiB at the
"128" preset, 4 % of its keys.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ckks.errors import ContextMismatchError, InputError, InputTypeError, InsecureWarning, ParameterError
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.keys import KeyGenerator, KeySwitchKey, SecretKey
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.parameters import Parameters
from ckks.scheme.rotation import Rotator

__all__ = [
    "EncapsulationKeys", "encapsulation_parameters", "mod_raise", "switch_secret", "trace_steps", "sparse_trace",
    "multiply_by_i",
]


def encapsulation_parameters(params: Parameters) -> Parameters:
    """The ring of the ``to_sparse`` key: the same N and q_0, and one special prime p of the special primes' size.

    A level-0 ciphertext lives mod q_0 only, so its key switch needs a key over q_0 * p with p >= q_0
    (one digit, D = q_0 <= p): the smallest modulus an RLWE sample under the sparse secret s' is exposed at.
    The primes and their NTT tables are those of ``params`` (SEAL's prime order: the first prime of a size).

    Args:
        params: the bootstrapping parameters.

    Returns:
        Parameters over q_0 * p (``security=None``: the HE standard's tables are for uniform secrets; at
        log2(q_0 p) ~ 115 bits and N >= 2^12 the ring is inside the 128-bit bound of every N from 2^12 on).

    Raises:
        ParameterError: the first prime of q_0's size is not ``params``' q_0 (a chain with a larger prime of
            the same size first), or q_0 is larger than the largest special prime.
    """
    q0_bits, p_bits = params.moduli_bits[0], max(params.moduli_bits[len(params.data_moduli):])
    if p_bits < q0_bits:
        raise ParameterError(f"q_0 has {q0_bits} bits, more than the special primes' {p_bits}: no one-prime key")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        aux = Parameters(params.poly_degree, [q0_bits, p_bits], security=None, special_count=1)
    if aux.data_moduli[0] != params.data_moduli[0]:
        raise ParameterError("the encapsulation ring's q_0 differs from the parameters' (an unusual prime order)")
    return aux


@dataclass(frozen=True)
class EncapsulationKeys:
    """The two key-switching keys of sparse-secret encapsulation (see the module docstring).

    Attributes:
        to_sparse: from the main secret s to the ephemeral sparse s', for level 0, in the ring of
            `encapsulation_parameters` (shape (1, 2, 2, N): over q_0 * p).
        from_sparse: from s' back to s, made for the top level L (over Q_L * P).
    """

    to_sparse: KeySwitchKey
    from_sparse: KeySwitchKey

    @cached_property
    def to_sparse_switcher(self) -> KeySwitcher:
        """The key switcher of the ``to_sparse`` key's ring (q_0 * p)."""
        return KeySwitcher(self.to_sparse.params)

    @classmethod
    def generate(cls, keygen: KeyGenerator, hamming_weight: int) -> EncapsulationKeys:
        """Sample an ephemeral sparse secret s' of ``hamming_weight`` and make both keys; s' is then dropped.

        Args:
            keygen: the key generator of the main secret s (its PRNG samples s' and the keys).
            hamming_weight: h', the number of non-zero coefficients of s'.

        Returns:
            The keys (both labelled with s's key id).

        Raises:
            InputTypeError: ``keygen`` is not a KeyGenerator.
            InputError: ``hamming_weight`` is not an integer in 1 .. N.
        """
        if not isinstance(keygen, KeyGenerator):
            raise InputTypeError(f"keygen must be a ckks.KeyGenerator, got {type(keygen).__name__}")
        params = keygen.params
        n, top = params.poly_degree, params.max_level
        if isinstance(hamming_weight, bool) or not isinstance(hamming_weight, int) or not 1 <= hamming_weight <= n:
            raise InputError(f"hamming_weight must be an integer in 1 .. N = {n}, got {hamming_weight!r}")
        main = keygen.secret_key
        sparse = keygen.prng.sparse_ternary(n, hamming_weight)
        ephemeral = SecretKey(params, sparse, main.key_id)
        aux = encapsulation_parameters(params)
        aux_gen = KeyGenerator(aux, secret_key=SecretKey(aux, sparse, main.key_id), prng=keygen.prng)
        main_aux = SecretKey(aux, main.coefficients, main.key_id).ntt[:1]  # s mod q_0, NTT form
        to_sparse = aux_gen.create_switch_key(np.ascontiguousarray(main_aux), level=0)
        from_sparse = keygen.create_switch_key(np.ascontiguousarray(ephemeral.ntt[: top + 1]), level=top)
        return cls(KeySwitchKey(aux, to_sparse, main.key_id), KeySwitchKey(params, from_sparse, main.key_id))

    def memory(self) -> int:
        """Bytes held by both keys."""
        return self.to_sparse.data.nbytes + self.from_sparse.data.nbytes

    @staticmethod
    def memory_estimate(params: Parameters) -> int:
        """Bytes both keys take for ``params``, before they are made (one key at level 0, one at L)."""
        return encapsulation_parameters(params).key_switch_key_bytes(0) + params.key_switch_key_bytes(params.max_level)


def switch_secret(ct: Ciphertext, key: KeySwitchKey, switcher: KeySwitcher) -> Ciphertext:
    """The same message under another secret: (c_0 + d_0, d_1) with d_0 + d_1 s = c_1 s' + e_ks.

    Level and scale unchanged; exact up to the key-switching noise e_ks (`ckks.scheme.keyswitch`).

    Args:
        ct: a size-2 ciphertext under s' at a level the key covers.
        key: the key-switching key from s' to s.
        switcher: the key switcher of the parameters.

    Returns:
        The ciphertext under s (it keeps ``ct``'s key id: the caller knows which secret it is under).

    Raises:
        ContextMismatchError: the key or the switcher belongs to parameters whose primes q_0 .. q_l differ from
            the ciphertext's (a key over a smaller ring with the same first primes, as ``to_sparse``, is fine).
        LevelError: the key was made for levels below ``ct``'s.
    """
    level = ct.level
    if key.params != switcher.params or key.params.data_moduli[: level + 1] != ct.params.data_moduli[: level + 1]:
        raise ContextMismatchError("the key-switching key was made for other parameters than the ciphertext's")
    ring = ct.params.at_level(ct.level)
    switched = switcher.switch(np.ascontiguousarray(ct.data[1]), key.data)
    out = np.empty_like(ct.data)
    ring.add(np.ascontiguousarray(ct.data[0]), switched[0], out=out[0])
    out[1] = switched[1]
    return Ciphertext(ct.params, out, ct.scale, ct.key_id)


def mod_raise(
    ct: Ciphertext, params: Parameters, evaluator: Evaluator, encapsulation: EncapsulationKeys | None = None
) -> Ciphertext:
    """The ciphertext of t = m + q_0 I at the top level L (NTT form), same scale.

    With ``encapsulation`` the ModRaise happens under the ephemeral sparse secret (switch to it at
    level 0, raise, switch back at L; see the module docstring), so I is bounded by its weight.

    Args:
        ct: a size-2 ciphertext at any level (it is first switched down to level 0).
        params: the parameters (the target level is ``params.max_level``).
        evaluator: to switch ``ct`` down to level 0 (and its key switcher for the encapsulation).
        encapsulation: the sparse-secret encapsulation keys, or None (ModRaise under the main secret).

    Returns:
        A ciphertext at level L whose decryption is m + q_0 I (mod Q_L).

    Raises:
        InputError: ``ct`` is not of size 2 (relinearize it first).
    """
    if ct.size != 2:
        raise InputError(f"bootstrapping takes a ciphertext of size 2 (relinearize first), got size {ct.size}")
    if ct.level > 0:
        ct = evaluator.mod_switch_to(ct, 0)
    if encapsulation is not None:
        ct = switch_secret(ct, encapsulation.to_sparse, encapsulation.to_sparse_switcher)
    q0 = params.data_moduli[0]
    bottom = params.at_level(0)
    top = params.at_level(params.max_level)
    out = np.empty((2, params.max_level + 1, params.poly_degree), dtype=np.uint64)
    for k in range(2):
        values = bottom.to_coefficients(np.ascontiguousarray(ct.data[k]))[0].astype(np.int64)
        values = np.where(values > q0 // 2, values - q0, values)
        out[k] = top.from_signed(values)
    raised = Ciphertext(params, out, ct.scale, ct.key_id)
    if encapsulation is not None:
        raised = switch_secret(raised, encapsulation.from_sparse, evaluator.key_switcher)
    return raised


def trace_steps(slots: int, sparse_slots: int) -> list[int]:
    """Rotation steps of the sparse trace: n 2^i for n 2^i < N/2.

    Args:
        slots: N/2.
        sparse_slots: n, a power of two dividing N/2.

    Returns:
        The steps, smallest first (empty for full packing).
    """
    steps = []
    step = sparse_slots
    while step < slots:
        steps.append(step)
        step *= 2
    return steps


def sparse_trace(ct: Ciphertext, sparse_slots: int, evaluator: Evaluator, rotator: Rotator) -> Ciphertext:
    """Tr(t) = sum_(k < N/2n) rot_(k n)(t) by log2(N/2n) rotate-and-add steps.

    Level and scale unchanged; the values are multiplied by N/2n on the
    sparse coefficients (n-periodic slots, see the module docstring).

    Args:
        ct: the ciphertext after ModRaise.
        sparse_slots: n.
        evaluator: adds.
        rotator: rotates (keys for `trace_steps`).

    Returns:
        The traced ciphertext.

    Raises:
        KeyMissingError: a trace rotation key is missing.
    """
    for step in trace_steps(ct.params.slots, sparse_slots):
        ct = evaluator.add(ct, rotator.rotate(ct, step))
    return ct


def multiply_by_i(ct: Ciphertext, sign: int = 1) -> Ciphertext:
    """sign * i * (every slot): multiplication by the monomial sign * X^(N/2). Exact; no level, same scale.

    Slot j is m(zeta^(5^j)) and (zeta^(5^j))^(N/2) = i^(5^j) = i, so the
    monomial X^(N/2) multiplies every slot by i.  In NTT form this is a
    pointwise product with the NTT of sign * X^(N/2).

    Args:
        ct: any ciphertext.
        sign: +1 (times i) or -1 (times -i).

    Returns:
        A new ciphertext.
    """
    params = ct.params
    ring = params.at_level(ct.level)
    monomial = np.zeros(params.poly_degree, dtype=np.int64)
    monomial[params.poly_degree // 2] = 1 if sign > 0 else -1
    factor = ring.from_signed(monomial)
    out = np.empty_like(ct.data)
    for k in range(ct.size):
        ring.mul(np.ascontiguousarray(ct.data[k]), factor, out[k])
    return Ciphertext(params, out, ct.scale, ct.key_id)
