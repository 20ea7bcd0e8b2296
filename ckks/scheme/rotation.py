"""Slot rotations and conjugation of ciphertexts with Galois keys (the rotator).

The automorphism sigma_g: a(X) -> a(X^g) and its Galois elements are in
`ckks.scheme.automorphism`: g = 5^k mod 2N rotates the slots LEFT by k (slot
i of the result holds slot i + k of the input; negative k rotates right) and
g = 2N - 1 conjugates every slot.

Applied to a ciphertext (c_0, c_1) under s, sigma_g gives
(sigma_g c_0, sigma_g c_1), a ciphertext of sigma_g m under sigma_g(s); a key
switch from s(X^g) back to s finishes the job.  The Galois key of g
([`GaloisKeys`][ckks.scheme.keys.GaloisKeys], made by
[`KeyGenerator.create_galois_keys`][ckks.scheme.keys.KeyGenerator.create_galois_keys])
is the hybrid key-switching key from s(X^g) to s (`ckks.scheme.keyswitch`,
the same mechanism as relinearization).  Level and scale are unchanged; the
key-switching error is added once per automorphism.  The tracked bounds of
`ckks.scheme.ciphertext` follow: the slot bound A is unchanged (the slots are
permuted, or conjugated), the error bound grows by
`ckks.security.noise.keyswitch_noise` per key switch (sigma_g only moves the
error's coefficients, up to sign).

Hoisting (Halevi and Shoup, "Faster homomorphic linear transformations in
HElib", CRYPTO 2018): the digit decomposition and mod-up of c_1, the
expensive part of key switching, commutes with sigma_g (sigma_g permutes the
coefficients, up to sign, and fast basis conversion is coefficient-wise), so
many rotations of one ciphertext share one decomposition; each rotation then
costs one permutation, one inner product with its key and one mod-down.

A rotation without its own key is composed from the keys present: the
shortest sequence of available steps that adds up to k modulo N/2 (breadth
first search over Z_{N/2}); with the default keys +-2^i this is the
non-adjacent form of k (e.g. 7 = 8 - 1).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ckks.errors import ContextMismatchError, InputError, InputTypeError, KeyMissingError
from ckks.scheme.automorphism import check_steps, conjugation_element, galois_element, ntt_permutation, permuted_add
from ckks.scheme.ciphertext import Ciphertext, check_same_context
from ckks.scheme.counting import ACTIVE, record
from ckks.scheme.evaluator import check_operand_data
from ckks.scheme.keys import GaloisKeys, KeySwitchKey
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.parameters import Parameters
from ckks.security.noise import keyswitch_noise
from ckks.validation import check_int

__all__ = ["Rotator", "missing_key_message"]


def missing_key_message(step: int) -> str:
    """The KeyMissingError message for a rotation the present keys cannot make.

    Args:
        step: the rotation step.

    Returns:
        A message naming the step and the call that makes its key.
    """
    return (
        f"rotation by {step} needs a Galois key for step {step} (or keys it can be composed from); "
        f"create it with ctx.generate_galois_keys(steps=[{step}])"
    )


# -- rotations -----------------------------------------------------------------------------------


class Rotator:
    """Rotates and conjugates ciphertexts with Galois keys (level and scale unchanged).

    Args:
        params: the encryption parameters.
        galois_keys: the keys (may be None: every rotation then raises KeyMissingError).
        key_switcher: share the evaluator's (its per-level precomputation is cached).

    Raises:
        InputTypeError: an argument has the wrong type.
        ContextMismatchError: the keys or the key switcher belong to other parameters.
    """

    def __init__(self, params: Parameters, galois_keys: GaloisKeys | None, key_switcher: KeySwitcher | None = None):
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        if galois_keys is not None:
            if not isinstance(galois_keys, GaloisKeys):
                raise InputTypeError(
                    f"galois_keys must be ckks.GaloisKeys or None, got {type(galois_keys).__name__}"
                )
            if galois_keys.params != params:
                raise ContextMismatchError("the Galois keys were made for other parameters than the Rotator's")
        if key_switcher is not None:
            if not isinstance(key_switcher, KeySwitcher):
                raise InputTypeError(f"key_switcher must be a KeySwitcher or None, got {type(key_switcher).__name__}")
            if key_switcher.params != params:
                raise ContextMismatchError("the key switcher was made for other parameters than the Rotator's")
        self.params = params
        self.galois_keys = galois_keys
        self.key_switcher = key_switcher if key_switcher is not None else KeySwitcher(params)
        self._paths: dict[int, tuple[int, int] | None] | None = None

    @property
    def slots(self) -> int:
        """N/2, the number of slots a rotation moves cyclically."""
        return self.params.slots

    # -- composition ------------------------------------------------------------------------
    def _search(self) -> dict[int, tuple[int, int] | None]:
        """Breadth-first search over Z_{N/2}: for each reachable step, (previous step, key step)."""
        if self._paths is None:
            slots = self.slots
            generators = []
            if self.galois_keys is not None:
                for k in self.galois_keys.steps():
                    generators.append(k if k <= slots // 2 else k - slots)  # small |k| first
            generators.sort(key=lambda k: (abs(k), -k))
            parent: dict[int, tuple[int, int] | None] = {0: None}
            queue = deque([0])
            while queue:
                node = queue.popleft()
                for k in generators:
                    nxt = (node + k) % slots
                    if nxt not in parent:
                        parent[nxt] = (node, k)
                        queue.append(nxt)
            self._paths = parent
        return self._paths

    def composition(self, step: int) -> list[int]:
        """The key steps whose rotations compose the rotation by ``step``: a shortest path in Z_{N/2}.

        Args:
            step: the rotation step (any sign).

        Returns:
            The steps of the keys to apply in order (empty for 0 mod N/2).

        Raises:
            InputTypeError: ``step`` is not an integer.
            KeyMissingError: the available keys cannot make this rotation.
        """
        step = check_int("step", step)
        slots = self.slots
        target = step % slots
        parents = self._search()
        if target not in parents:
            raise KeyMissingError(missing_key_message(step))
        path = []
        node = target
        while parents[node] is not None:
            node, k = parents[node]
            path.append(k)
        return path[::-1]

    def _key(self, element: int, what: str) -> KeySwitchKey:
        if self.galois_keys is None or element not in self.galois_keys:
            raise KeyMissingError(what)
        return self.galois_keys.keys[element]

    def _check(self, ct: Ciphertext) -> None:
        if not isinstance(ct, Ciphertext):
            raise InputTypeError(f"expected a Ciphertext, got {type(ct).__name__}")
        check_same_context(ct, params=self.params, key_id=getattr(self.galois_keys, "key_id", None))
        check_operand_data(ct, self.params)
        if ct.size != 2:
            raise InputError(f"rotations take ciphertexts of size 2 (relinearize first), got size {ct.size}")

    # -- the automorphism with key switching ------------------------------------------------
    def _hoisted(self, ct: Ciphertext, elements: list[int]) -> dict[int, Ciphertext]:
        """Decompose c_1 once, then permute, inner-product and mod-down per element."""
        params = self.params
        switcher = self.key_switcher
        ring = params.at_level(ct.level)
        keys = {g: self._key(g, f"no Galois key for element {g}") for g in elements}
        # ct passed _check (shape, dtype, range): the switcher's unchecked paths skip re-validating it
        extended = switcher._decompose(np.ascontiguousarray(ct.data[1]), ct.level)
        c0 = np.ascontiguousarray(ct.data[0])
        # sigma_g permutes the slots (conjugation: conjugates them), so the magnitude bound and whether it is
        # attained are unchanged; it moves the error's coefficients (up to sign), and the key switch adds its own
        noise = None if ct.noise is None else ct.noise + keyswitch_noise(params)
        out = {}
        for g in elements:
            # sigma_g is an index map applied inside the kernels: no permuted (strided) array is made
            perm = ntt_permutation(g, params.poly_degree)
            switcher._check_key(keys[g].data, ct.level)  # shape, dtype and level: the kernel trusts them
            key = np.ascontiguousarray(keys[g].data)
            data = switcher._mod_down(switcher._inner_product(extended, key, perm))
            permuted_add(c0, perm, data[0], ring.moduli, data[0])
            out[g] = Ciphertext(
                params, data, ct.scale, ct.key_id, bound=ct.bound, noise=noise, bound_exact=ct.bound_exact
            )
        if ACTIVE:  # ckks.scheme.counting: one key switch per automorphism
            record("rotations", len(elements))
        return out

    # -- public operations --------------------------------------------------------------------
    def rotate(self, ct: Ciphertext, step: int) -> Ciphertext:
        """Rotate the slots left by ``step`` (right if negative): result slot i = input slot i + step.

        Applies sigma_g, g = 5^step mod 2N, then switches the key back to s;
        uses the key of ``step`` if present, else the shortest composition of
        available keys (one key switch each).  Level and scale unchanged; so
        is the slot bound, and the noise bound grows by
        `ckks.security.noise.keyswitch_noise` per key switch.

        Args:
            ct: a size-2 ciphertext of these parameters.
            step: the rotation step (any sign; taken modulo N/2).

        Returns:
            The rotated ciphertext (a new object; a copy for step 0 mod N/2).

        Raises:
            InputTypeError: ``ct`` is not a Ciphertext, or ``step`` is not an integer.
            InputError: ``ct`` has size 3 (relinearize first) or malformed data.
            ContextMismatchError: ``ct`` belongs to other parameters or another secret key than the keys.
            KeyMissingError: no key, or composition of keys, makes this rotation.
            LevelError: a key it needs was made for lower levels than the ciphertext's (a level-truncated
                key, `KeyGenerator.create_galois_keys(max_level=...)`).
        """
        return self._rotate_many(ct, [step], hoisted=False)[step]

    def rotate_many(self, ct: Ciphertext, steps: list[int]) -> dict[int, Ciphertext]:
        """Rotations of one ciphertext by several steps, hoisted.

        Steps with their own key share one decomposition of c_1; the others
        are composed from those results along shortest key paths.  Level and
        scale unchanged.

        Args:
            ct: a size-2 ciphertext of these parameters.
            steps: the rotation steps (a list of integers, or one integer).

        Returns:
            {step: rotated ciphertext} for every step given.

        Raises:
            InputTypeError: ``ct`` is not a Ciphertext, or ``steps`` is not a list of integers.
            InputError: ``ct`` has size 3 (relinearize first) or malformed data.
            ContextMismatchError: ``ct`` belongs to other parameters or another secret key than the keys.
            KeyMissingError: some step cannot be made with the present keys.
            LevelError: a key it needs was made for lower levels than the ciphertext's (a level-truncated
                key, `KeyGenerator.create_galois_keys(max_level=...)`).
        """
        return self._rotate_many(ct, steps, hoisted=True)

    def _rotate_many(self, ct: Ciphertext, steps: list[int], hoisted: bool) -> dict[int, Ciphertext]:
        """`rotate_many`; ``hoisted`` counts its shared decomposition (`ckks.scheme.counting`), `rotate` does not."""
        self._check(ct)
        steps = check_steps(steps)
        slots, n = self.slots, self.params.poly_degree
        done: dict[int, Ciphertext] = {0: ct}
        direct = {}
        for k in steps:
            r = k % slots
            g = pow(5, r, 2 * n)  # galois_element(r, n), without re-validating r
            if r and self.galois_keys is not None and g in self.galois_keys:
                direct[g] = r
        if direct:
            for g, value in self._hoisted(ct, list(direct)).items():
                done[direct[g]] = value
            if hoisted and ACTIVE:
                record("hoisted_decompositions")
        out = {}
        for k in steps:
            out[k] = done[k % slots] if k % slots in done else self._composed(k, done)
            if out[k] is ct:
                out[k] = ct.copy()
        return out

    def _composed(self, step: int, done: dict[int, Ciphertext]) -> Ciphertext:
        slots = self.slots
        node = 0
        for k in self.composition(step):
            nxt = (node + k) % slots
            if nxt not in done:
                g = galois_element(k, self.params.poly_degree)
                done[nxt] = self._hoisted(done[node], [g])[g]
            node = nxt
        return done[int(step) % slots]

    def conjugate(self, ct: Ciphertext) -> Ciphertext:
        """Complex-conjugate every slot: sigma_g with g = 2N - 1 (X -> X^-1), then a key switch.

        Level and scale unchanged.

        Args:
            ct: a size-2 ciphertext of these parameters.

        Returns:
            The conjugated ciphertext.

        Raises:
            InputTypeError: ``ct`` is not a Ciphertext.
            InputError: ``ct`` has size 3 (relinearize first) or malformed data.
            ContextMismatchError: ``ct`` belongs to other parameters or another secret key than the keys.
            KeyMissingError: the conjugation key is absent.
            LevelError: a key it needs was made for lower levels than the ciphertext's (a level-truncated
                key, `KeyGenerator.create_galois_keys(max_level=...)`).
        """
        self._check(ct)
        element = conjugation_element(self.params.poly_degree)
        self._key(
            element,
            "conjugation needs the Galois key for conjugation; create it with ctx.generate_galois_keys() "
            "(the default keys include it)",
        )
        return self._hoisted(ct, [element])[element]

    def rotations_needed(self, steps: list[int]) -> int:
        """How many key switches ``rotate_many(ct, steps)`` costs with the present keys.

        Args:
            steps: the rotation steps.

        Returns:
            The number of distinct intermediate rotations (one key switch each).

        Raises:
            InputTypeError: ``steps`` is not a list of integers.
            KeyMissingError: some step cannot be made with the present keys.
        """
        slots = self.slots
        nodes: set[int] = set()
        for k in check_steps(steps):
            node = 0
            for s in self.composition(k):
                node = (node + s) % slots
                nodes.add(node)
        return len(nodes)
