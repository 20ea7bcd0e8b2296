"""The bootstrapper: ModRaise -> (trace) -> CoeffsToSlots -> EvalMod -> SlotsToCoeffs.

Level and scale bookkeeping of one bootstrap (L = ``params.max_level``,
n slots, S = N/2, Delta_in the input's scale, Delta the default scale):

===========================  ====================  ==========================================
step                         level                 scale (values)
===========================  ====================  ==========================================
input                        any (switched to 0)   Delta_in (z)
ModRaise                     0 -> L                relabelled q_0 (S/n): slots V w / q_0,
                                                   w = t_lo + i t_hi, t = m + q_0 I
trace (sparse only)          L                     unchanged (values times S/n, absorbed)
CoeffsToSlots                L -> L - c            ... -> q_(L-c) / K  (a P w / q_0)
conjugate, add (split)       L - c                 q_(L-c) / K, read as x = y / K at q_(L-c)
EvalMod (twice if full)      -> L - c - e          s_m (m_i / Delta, with Delta_in / Delta)
SlotsToCoeffs                -> L - c - e - d      Delta, relabelled Delta_in (z)
===========================  ====================  ==========================================

The output is at level ``config.compute_levels`` with the input's scale.
Precision: the sine approximation's relative error (2 pi |z| Delta_in / q_0)^2 / 6,
the EvalMod polynomial's error times q_0 / Delta_in, and the rounding noise
of every rescale; `BootstrapConfig.precision_bits` states what the
tests check for |z| <= 1.

Keys: exactly the rotation steps of the BSGS plans of every DFT level,
the trace steps (sparse packing) and conjugation
(`Bootstrapper.rotation_steps`), each made only for the levels up to the
highest one it is used at (`Bootstrapper.key_levels`): the trace and
CoeffsToSlots keys over (nearly) all of Q_L * P, the conjugation key at
L - c, the SlotsToCoeffs keys at compute_levels + d at most, over a few limbs
and digits (`Parameters.key_digits`).  Lattigo and OpenFHE do the same for
their SlotsToCoeffs keys.  The BSGS plans of all DFT levels are chosen together,
from the top level down (`ckks.circuits.bootstrapping.dft.share_rotations`), so
that a level reuses the rotations whose keys a level above already has (at the
"128" preset, with digits filled up to P, ``digit_split="bits"``, and matching
stage splits: 39 keys, 3.47 GiB, against 62 keys and 6.49 GiB planned level by
level with equal digits; 3.01 GiB since the preset's dense secret allows a larger P).

Sparse-secret encapsulation (``config.ephemeral_hamming_weight``; Bossuat, Troncoso-Pastoriza and
Hubaux, ACNS 2022): two more key-switching keys, from the main secret to an ephemeral sparse one at
level 0 and back at L, around ModRaise (`ckks.circuits.bootstrapping.mod_raise.EncapsulationKeys`);
`generate_keys` makes them, `key_memory` and `key_memory_estimate` count them.
"""

from __future__ import annotations

import math
import time
import weakref
from typing import TextIO

import numpy as np

from ckks.circuits.bootstrapping.coeffs_to_slots import coeffs_to_slots_matrices
from ckks.circuits.bootstrapping.dft import (
    MAX_DIAGONAL_INTEGER,
    SlotMatrix,
    apply_matrix,
    max_coefficient,
    share_rotations,
)
from ckks.circuits.bootstrapping.eval_mod import approximation_error, eval_mod
from ckks.circuits.bootstrapping.mod_raise import (
    EncapsulationKeys,
    mod_raise,
    multiply_by_i,
    sparse_trace,
    trace_steps,
)
from ckks.circuits.bootstrapping.presets import BootstrapConfig
from ckks.errors import ContextMismatchError, InputError, InputTypeError, KeyMissingError, ParameterError
from ckks.scheme.automorphism import conjugation_element, galois_element
from ckks.scheme.ciphertext import Ciphertext
from ckks.scheme.encoder import Encoder
from ckks.scheme.evaluator import Evaluator, scales_agree
from ckks.scheme.keys import GaloisKeys, KeyGenerator, check_key_memory
from ckks.scheme.parameters import KEY_MEMORY_LIMIT, Parameters
from ckks.scheme.rotation import Rotator

__all__ = ["Bootstrapper", "MIN_MESSAGE_RATIO_BITS", "register_bootstrapper", "find_bootstrapper"]

#: Bootstrapping refuses inputs whose scale leaves q_0 / Delta_in below 2^this (the sine approximation would
#: have no precision left).  7, not 8: the "128" preset's ratio is 2^8 nominally (q_0 of 54 bits, Delta = 2^46,
#: the arcsine correcting the sine, `ckks.circuits.bootstrapping.eval_mod`), and its q_0, a prime just below
#: 2^54, makes it 2^7.99999999.
MIN_MESSAGE_RATIO_BITS = 7

#: The call that makes the keys, named by KeyMissingError.
KEYS_CALL = "ctx.generate_bootstrapping_keys()"


class Bootstrapper:
    """Refreshes level-0 ciphertexts: same values, ``config.compute_levels`` levels.

    Args:
        params: parameters built from ``config`` (``config.moduli_bits()``, ``config.hamming_weight``).
        config: the circuit shape.
        evaluator: an evaluator with the relinearization key.
        galois_keys: the bootstrapping rotation keys (`generate_keys`), or None
            (then `bootstrap` raises KeyMissingError).

    Raises:
        ParameterError: ``params`` do not match ``config``.
        InputTypeError: an argument has the wrong type.
    """

    def __init__(
        self, params: Parameters, config: BootstrapConfig, evaluator: Evaluator, galois_keys: GaloisKeys | None = None
    ):
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        if not isinstance(config, BootstrapConfig):
            raise InputTypeError(f"config must be a BootstrapConfig, got {type(config).__name__}")
        if params.poly_degree != config.poly_degree or params.max_level != config.max_level:
            raise ParameterError(
                f"the parameters (N={params.poly_degree}, L={params.max_level}) do not match the bootstrapping "
                f"configuration (N={config.poly_degree}, L={config.max_level}); build them with "
                "ckks.Context.for_bootstrapping()"
            )
        self.params = params
        self.config = config
        self.evaluator = evaluator
        self.encoder = Encoder(params)
        self.cts = coeffs_to_slots_matrices(config.slots, params.slots, config.cts_levels, config.cts_split)
        self.stc = _stc(config, params.slots)
        # BSGS plans chosen together, top level first, so that the DFT levels share rotation keys
        share_rotations(
            self._matrix_levels(), params.key_switch_key_bytes,
            {step % params.slots: params.max_level for step in trace_steps(params.slots, config.slots)},
        )
        self._cache: dict = {}
        self._cts_coefficients: list[float] | None = None  # `max_coefficient` of each CoeffsToSlots matrix, lazily
        self.galois_keys = galois_keys
        #: the sparse-secret encapsulation keys (``config.ephemeral_hamming_weight`` set), made by `generate_keys`
        self.encapsulation_keys: EncapsulationKeys | None = None
        self.keygen_seconds = 0.0

    # -- keys -------------------------------------------------------------------------------------
    def rotation_steps(self) -> list[int]:
        """The rotation steps whose Galois keys a bootstrap uses (trace + every DFT level), in 1 .. S-1."""
        slots = self.params.slots
        steps = set(trace_steps(slots, self.config.slots))
        for matrix in self.cts + self.stc:
            steps |= {k % slots for k in matrix.rotation_steps()}
        return sorted(s for s in steps if s)

    def key_levels(self) -> dict[int, int]:
        """The highest level each bootstrapping key is used at, by Galois element (conjugation included).

        The trace rotations run at L (right after ModRaise); CoeffsToSlots matrix i (each matrix costs one
        rescale) rotates at level L - i; the conjugation that splits real and imaginary parts at L - c; the
        SlotsToCoeffs matrices run last and end at ``config.compute_levels``, so matrix j of d rotates at
        compute_levels + d - j (the conjugation of ``bootstrap(real=True)`` at compute_levels).  A key is
        made over Q_m * P for m its highest level (`KeyGenerator.create_galois_keys_at_levels`).

        Returns:
            {Galois element: level}, in increasing element order.
        """
        params, config = self.params, self.config
        slots, n, top = params.slots, params.poly_degree, params.max_level
        levels: dict[int, int] = {}

        def use(steps, level: int) -> None:
            for step in steps:
                if step % slots:
                    element = galois_element(step, n)
                    levels[element] = max(levels.get(element, 0), level)

        use(trace_steps(slots, config.slots), top)
        for matrix, level in self._matrix_levels():
            use(matrix.rotation_steps(), level)
        levels[conjugation_element(n)] = top - len(self.cts)
        return dict(sorted(levels.items()))

    def _matrix_levels(self) -> list[tuple[SlotMatrix, int]]:
        """Each DFT matrix with the level it rotates at: CoeffsToSlots i at L - i, SlotsToCoeffs j at
        compute_levels + d - j."""
        top, stc_top = self.params.max_level, self.config.compute_levels + len(self.stc)
        return [(m, top - i) for i, m in enumerate(self.cts)] + [(m, stc_top - j) for j, m in enumerate(self.stc)]

    def generate_keys(
        self, keygen: KeyGenerator, progress: bool = True, stream: TextIO | None = None,
        memory_limit: float | None = KEY_MEMORY_LIMIT,
    ) -> GaloisKeys:
        """Make the rotation keys of `rotation_steps` and the conjugation key, and keep them.

        With ``config.ephemeral_hamming_weight`` set, also the two sparse-secret encapsulation keys
        (`ckks.circuits.bootstrapping.mod_raise.EncapsulationKeys`, kept in ``self.encapsulation_keys``):
        from s to a fresh ephemeral sparse secret at level 0, and back at level L.

        Each key is a key-switching key made for the levels up to the highest one it is used at
        (`key_levels`): ``2 * key_digits(m)`` polynomials over Q_m P in NTT form
        (`Parameters.key_switch_key_bytes(m)` each), so the SlotsToCoeffs keys, used low in the chain,
        are a fraction of the CoeffsToSlots keys.  `key_memory_estimate` gives the total before any key
        is made.

        Args:
            keygen: a key generator holding the secret key.
            progress: show a progress bar over the keys (tqdm, `ckks.progress`).
            stream: where the bar goes; default: stderr, and only when it is a terminal.
            memory_limit: refuse before generating anything if the keys would take more bytes than this
                (default `KEY_MEMORY_LIMIT`, 8 GiB; None: no limit).

        Returns:
            The new Galois keys (also stored in ``self.galois_keys``).

        Raises:
            ContextMismatchError: ``keygen`` belongs to other parameters.
            ParameterError: the keys would take more than ``memory_limit`` bytes.
            InputTypeError: ``memory_limit`` is not a number or None.
            InputError: ``memory_limit`` is negative or not finite.
        """
        if keygen.params != self.params:
            raise ContextMismatchError("the key generator was made for other parameters than the bootstrapper's")
        levels = self.key_levels()
        weight = self.config.ephemeral_hamming_weight
        extra = [] if weight is None else [0, self.params.max_level]
        check_key_memory(self.params, list(levels.values()) + extra, memory_limit,
                         f"{len(levels) + len(extra)} bootstrapping keys")
        start = time.perf_counter()
        self.galois_keys = keygen.create_galois_keys_at_levels(levels, progress=progress, stream=stream,
                                                               memory_limit=memory_limit)
        self.encapsulation_keys = None if weight is None else EncapsulationKeys.generate(keygen, weight)
        self.keygen_seconds = time.perf_counter() - start
        return self.galois_keys

    def key_memory(self) -> int:
        """Bytes held by the bootstrapping Galois keys and the encapsulation keys (0 without keys)."""
        galois = 0 if self.galois_keys is None else self.galois_keys.memory()
        return galois + (0 if self.encapsulation_keys is None else self.encapsulation_keys.memory())

    def key_memory_estimate(self) -> int:
        """Bytes the bootstrapping Galois keys (`key_levels`) and encapsulation keys will take, before any is made."""
        galois = sum(self.params.key_switch_key_bytes(level) for level in self.key_levels().values())
        encapsulation = 0 if self.config.ephemeral_hamming_weight is None else EncapsulationKeys.memory_estimate(
            self.params)
        return galois + encapsulation

    @property
    def rotator(self) -> Rotator:
        """A rotator over the bootstrapping keys.

        Raises:
            KeyMissingError: no bootstrapping keys yet.
        """
        if self.galois_keys is None:
            raise KeyMissingError(
                f"bootstrapping needs its rotation keys, which were not generated; call {KEYS_CALL} first"
            )
        cached = self.__dict__.get("_rotator")
        if cached is None or cached.galois_keys is not self.galois_keys:
            cached = Rotator(self.params, self.galois_keys, self.evaluator.key_switcher)
            self.__dict__["_rotator"] = cached
        return cached

    # -- the circuit --------------------------------------------------------------------------------
    def bootstrap(self, ct: Ciphertext, real: bool = False, output_scale: float | None = None) -> Ciphertext:
        """A ciphertext of the same values at level ``config.compute_levels``, with the input's scale.

        Slots beyond ``config.slots`` (sparse packing) are summed into the first
        ``config.slots`` (the trace) and come back as zeros: give a vector whose
        other slots are zero.

        **Real outputs** (``real=True``, for real data: `CKKSVector.bootstrap` of a real vector and the
        compiled networks of `nn.encrypted` use it).  The bootstrap's error lives in the coefficients
        (EvalMod, the rescales, with sparse packing the trace's sum of N/2n noisy copies), and a real
        polynomial error is complex in the slots: the output's imaginary parts carry an error as large
        as the real one (about 5e-5 for |z| <= 1 at the "128" preset with 64 sparse slots, 2e-6 at
        N = 2^13).  Polynomials amplify imaginary errors where they are steep: a composite sign
        p_3(p_2(p_1(x))) (`ckks.circuits.comparison`, slopes of 60 to 300 per stage) maps a real input
        into [-1, 1] whatever its real error, but an imaginary error of 5e-5 before each stage grows to
        0.1 and leaves the real part outside [-1, 1], and the next stage diverges (an approximated ReLU
        network at the "128" preset decrypted garbage).  With ``real=True`` the output is
        Re(z) = (w + conj(w)) / 2, the 1/2 folded into the EvalMod constant (free) and one conjugation
        at level ``config.compute_levels`` (the conjugation key is a bootstrapping key): the imaginary
        parts are exactly zero up to that key switch's noise.  Two real ciphertexts are refreshed by
        one circuit with `bootstrap_pair`.

        Args:
            ct: a size-2 ciphertext (any level; it is switched down to 0) with values
                |z| <= 1 for the promised precision; values beyond
                q_0 / (4 Delta_in) wrap around (the result is garbage: CKKS cannot see them).
            real: return the real parts of the values only (see above).
            output_scale: the scale of the result (default: the input's).  The same values at another scale
                cost no level: the factor output_scale / Delta_in is folded into EvalMod's constant, as the 1/2
                of ``real`` is.  A computation whose output scale drifts from step to step (a scale s' comes
                back as a power of s' over the primes) restarts from its nominal scale at each bootstrap.

        Returns:
            The refreshed ciphertext.

        Raises:
            KeyMissingError: no bootstrapping keys (`generate_keys`).
            InputError: ``ct`` is of size 3, or its scale leaves q_0 / Delta_in below
                2^MIN_MESSAGE_RATIO_BITS (the values would not fit the EvalMod range).
            ContextMismatchError: ``ct`` belongs to other parameters.
            InputTypeError: ``ct`` is not a Ciphertext, or ``real`` is not a bool.
            InputError: ``output_scale`` is not a positive finite number below q_0 / 2^MIN_MESSAGE_RATIO_BITS.
        """
        self._check_input(ct, "bootstrap")
        if not isinstance(real, (bool, np.bool_)):
            raise InputTypeError(f"real must be True or False, got {type(real).__name__}")
        self._check_output_scale(output_scale)
        if ct.params != self.params:
            raise ContextMismatchError("the ciphertext was made for other parameters than the bootstrapper's")
        rotator = self.rotator
        v = self._circuit(ct, halve=bool(real), output_scale=output_scale)
        if real:
            v = self.evaluator.add(v, rotator.conjugate(v))
        return v

    def bootstrap_pair(self, a: Ciphertext, b: Ciphertext,
                       output_scale: float | None = None) -> tuple[Ciphertext, Ciphertext]:
        """Two real ciphertexts refreshed by one bootstrap: ``(a', b')``, as ``bootstrap(a, real=True)`` and
        ``bootstrap(b, real=True)`` would give them, at half the cost.

        A real vector uses half of what a CKKS slot holds.  Pack two into one complex vector
        z = a + i b (``multiply_by_i``: the free monomial product by X^(N/2), then an addition; both are
        first switched down to the lower of their levels), bootstrap z once with the 1/2 of
        ``real=True`` folded into EvalMod's constant (the circuit returns w = z / 2), and unpack with the
        single conjugation c = conj(w) that ``real=True`` spends anyway:

            a' = w + c = Re(z),        b' = -i (w - c) = Im(z).

        Lattigo (v5, ``bootstrapping.Evaluator.EvaluateConjugateInvariant``) refreshes two real
        ciphertexts the same way: the right one times i added to the left, one bootstrap, the real and
        imaginary parts read back.  Both
        outputs are at level ``config.compute_levels`` with the input scale (``b'`` relabelled to
        ``b.scale``, equal to ``a.scale`` within the evaluator's tolerance); their imaginary parts are zero
        up to the conjugation's key-switching noise, exactly as with ``real=True``.

        Precision: the coefficients of z are sums of those of a and of (rotated) b, so the EvalMod input is
        up to twice as large and the sine approximation's relative error up to four times (at most about one
        bit lost, the tests compare); the rounding noise of the circuit is shared by both outputs.  With
        real inputs that carry imaginary errors (noise), Re(z) = Re(a) - Im(b) and Im(z) = Im(a) + Re(b):
        each input's imaginary error becomes a real error of the other output, of the size of its real
        error (``real=True`` discards it instead).  Sparse packing as in `bootstrap`: the slots beyond
        ``config.slots`` of both inputs must be zero.

        Output scale: as `bootstrap`'s ``output_scale``, the factor output_scale / Delta_in folded into EvalMod's
        constant (with the 1/2): both outputs hold the same values at ``output_scale``, no level spent.  A
        computation whose weights' scale drifts from step to step restarts both from the nominal scale.

        Args:
            a: a size-2 ciphertext of real values |a| <= 1 (any level).
            b: another of the same parameters, key and scale (any level).
            output_scale: the scale of both results (default: the inputs' scales, ``a.scale`` and ``b.scale``).

        Returns:
            ``(a', b')``: new ciphertexts at ``config.compute_levels``; ``a`` and ``b`` are unchanged.

        Raises:
            InputTypeError: ``a`` or ``b`` is not a Ciphertext.
            InputError: a ciphertext of size 3 (relinearize first); scales that differ; or a scale that leaves
                q_0 / Delta_in below 2^MIN_MESSAGE_RATIO_BITS (as `bootstrap`); or ``output_scale`` is not a
                number in [1, q_0 / 2^MIN_MESSAGE_RATIO_BITS].
            ContextMismatchError: ``a`` or ``b`` belongs to other parameters, or they belong to different keys.
            KeyMissingError: no bootstrapping keys (`generate_keys`).
        """
        for ct in (a, b):
            self._check_input(ct, "bootstrap_pair")
        self._check_output_scale(output_scale)
        for name, ct in (("a", a), ("b", b)):
            if ct.params != self.params:
                raise ContextMismatchError(f"ciphertext {name} was made for other parameters than the bootstrapper's")
            if ct.size != 2:
                raise InputError(f"bootstrap_pair takes ciphertexts of size 2 (relinearize first); {name} has size "
                                 f"{ct.size}")
        if a.key_id != b.key_id:
            raise ContextMismatchError("bootstrap_pair: the two ciphertexts were encrypted under different keys")
        if not scales_agree(a.scale, b.scale):
            raise InputError(f"bootstrap_pair needs equal scales, got 2^{math.log2(a.scale):.4f} and "
                             f"2^{math.log2(b.scale):.4f}; rescale the one with the larger scale, or bootstrap them "
                             "one at a time (bootstrap(ct, real=True))")
        rotator = self.rotator
        ev = self.evaluator
        w = self._circuit(ev.add(a, multiply_by_i(b, 1)), halve=True, output_scale=output_scale)  # (a + i b) / 2
        c = rotator.conjugate(w)
        return ev.add(w, c), multiply_by_i(ev.sub(w, c), -1).with_scale(b.scale if output_scale is None else w.scale)

    @staticmethod
    def _check_input(ct: object, call: str) -> None:
        if not isinstance(ct, Ciphertext):
            raise InputTypeError(f"{call} takes a Ciphertext, got {type(ct).__name__}")

    def _check_output_scale(self, output_scale: object) -> None:
        """Refuse an ``output_scale`` that is not None or a finite number in [1, q_0 / 2^MIN_MESSAGE_RATIO_BITS].

        Raises:
            InputError: it is not.
        """
        if output_scale is None:
            return
        q0 = self.params.data_moduli[0]
        if not (isinstance(output_scale, (int, float, np.floating, np.integer)) and not isinstance(output_scale, bool)
                and math.isfinite(output_scale) and 1.0 <= output_scale <= q0 / 2.0**MIN_MESSAGE_RATIO_BITS):
            raise InputError(f"output_scale must be a number in [1, q_0 / 2^{MIN_MESSAGE_RATIO_BITS}], got "
                             f"{output_scale!r}")

    def _circuit(self, ct: Ciphertext, halve: bool, output_scale: float | None = None) -> Ciphertext:
        """ModRaise, (trace,) CoeffsToSlots, EvalMod, SlotsToCoeffs on a checked ciphertext: its values (halved
        with ``halve``, folded into EvalMod's constant) at ``config.compute_levels`` with its scale, or at
        ``output_scale`` (the factor output_scale / scale folded into EvalMod's constant too).

        Raises:
            InputError: size 3, or a scale too close to q_0 (`bootstrap`).
            KeyMissingError: a key is missing.
        """
        rotator = self.rotator
        config, params, ev, enc = self.config, self.params, self.evaluator, self.encoder
        if config.ephemeral_hamming_weight is not None and self.encapsulation_keys is None:
            raise KeyMissingError(
                "bootstrapping with sparse-secret encapsulation needs its two key-switching keys, which were not "
                f"generated; call {KEYS_CALL} first"
            )
        q0 = params.data_moduli[0]
        delta_in = ct.scale
        ratio_bits = math.log2(q0 / delta_in)
        if ratio_bits < MIN_MESSAGE_RATIO_BITS:
            raise InputError(
                f"the ciphertext's scale 2^{math.log2(delta_in):.1f} is too close to q_0 = 2^{math.log2(q0):.1f}: "
                f"bootstrapping needs q_0 / scale >= 2^{MIN_MESSAGE_RATIO_BITS} (the EvalMod range); rescale first"
            )
        slots = params.slots
        t = mod_raise(ct, params, ev, self.encapsulation_keys if config.ephemeral_hamming_weight else None)
        if not config.full_packing:
            t = sparse_trace(t, config.slots, ev, rotator)
        t = Ciphertext(params, t.data, q0 * (slots // config.slots), t.key_id)
        # CoeffsToSlots: the last level lands on q_(level after) / K, read later as y / K; the others on the next
        # prime, or lower where the diagonals' plaintext scale q_l q_(l-1) / scale would not fit the encoding
        # (a small q_0 makes the first levels' scales large; the later levels have room for the difference).
        if self._cts_coefficients is None:
            self._cts_coefficients = [max_coefficient(matrix, enc) for matrix in self.cts]
        for i, matrix in enumerate(self.cts):
            next_prime = params.data_moduli[t.level - 1]
            if i == len(self.cts) - 1:
                target = next_prime / config.eval_mod.k_range
            else:
                largest = self._cts_coefficients[i] * params.data_moduli[t.level] / t.scale
                target = float(next_prime) if largest == 0 else min(float(next_prime), MAX_DIAGONAL_INTEGER / largest)
            t = apply_matrix(t, matrix, target, ev, enc, rotator, self._cache)
        conj = rotator.conjugate(t)
        parts = [ev.add(t, conj)]
        if config.full_packing:
            parts.append(multiply_by_i(ev.sub(t, conj), -1))
        reduced = []
        for part in parts:
            x = Ciphertext(params, part.data, part.scale * config.eval_mod.k_range, part.key_id)
            # halve (real outputs, pairs): the values halved here, folded into EvalMod's constant
            factor = (1.0 if output_scale is None else float(output_scale) / delta_in) / (2 if halve else 1)
            reduced.append(eval_mod(x, config.eval_mod, q0 / params.scale * factor, ev, enc))
        v = reduced[0]
        if config.full_packing:
            v = ev.add(v, multiply_by_i(reduced[1], 1))
        for matrix in self.stc:
            v = apply_matrix(v, matrix, params.scale, ev, enc, rotator, self._cache)
        return Ciphertext(params, v.data, delta_in if output_scale is None else float(output_scale), v.key_id)

    # -- reporting -----------------------------------------------------------------------------------
    def expected_precision_bits(self, max_value: float = 1.0) -> float:
        """-log2 of the EvalMod approximation error on values |z| <= max_value (noise not included).

        Args:
            max_value: the largest |z|.

        Returns:
            Bits of precision the polynomial and the sine allow.
        """
        ratio = self.params.data_moduli[0] / self.params.scale / max_value
        error = approximation_error(self.config.eval_mod, ratio) * ratio
        return float(-math.log2(max(error, 2.0**-60)))

    def summary(self) -> dict:
        """Levels, rotations and key memory of this bootstrapper, for reports."""
        return {
            "poly_degree": self.params.poly_degree,
            "slots": self.config.slots,
            "max_level": self.params.max_level,
            "levels_after": self.config.compute_levels,
            "depth": self.config.depth,
            "cts_diagonals": [len(m.diagonals) for m in self.cts],
            "stc_diagonals": [len(m.diagonals) for m in self.stc],
            "rotation_keys": len(self.rotation_steps()) + 1,
            "encapsulation_keys": 0 if self.config.ephemeral_hamming_weight is None else 2,
            "key_memory_mb": self.key_memory() / 2**20,
            "eval_mod": self.config.eval_mod,
        }


def _stc(config: BootstrapConfig, slots: int) -> list[SlotMatrix]:
    from ckks.circuits.bootstrapping.slots_to_coeffs import slots_to_coeffs_matrices

    return slots_to_coeffs_matrices(config.slots, slots, config.stc_levels, config.stc_split)


def max_error_bits(expected: np.ndarray, actual: np.ndarray) -> float:
    """-log2 max |expected - actual|: the precision in bits (60 for an exact match)."""
    error = float(np.max(np.abs(np.asarray(expected) - np.asarray(actual))))
    return 60.0 if error == 0 else -math.log2(error)


#: Bootstrappers by (parameters fingerprint, key id), so that a public copy of a
#: context (same parameters and keys) finds the bootstrapper of its owner.
_REGISTRY: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def register_bootstrapper(bootstrapper: Bootstrapper, key_id: str) -> None:
    """Make ``bootstrapper`` findable by every context with its parameters and ``key_id`` (weakly held).

    Args:
        bootstrapper: the bootstrapper.
        key_id: the id of the secret key its Galois keys belong to.
    """
    _REGISTRY[(bootstrapper.params.fingerprint(), key_id)] = bootstrapper


def find_bootstrapper(params: Parameters, key_id: str) -> Bootstrapper | None:
    """The registered bootstrapper for these parameters and key id, or None.

    Args:
        params: the parameters.
        key_id: the secret key's id.

    Returns:
        The bootstrapper or None.
    """
    return _REGISTRY.get((params.fingerprint(), key_id))
