"""Galois automorphisms, Galois keys, slot rotations and conjugation.

For an odd g, the map sigma_g: a(X) -> a(X^g) is an automorphism of
R = Z[X]/(X^N + 1) (the Galois group of the 2N-th cyclotomic field is
(Z/2NZ)^*).  In coefficient form it moves a_i to X^(i g mod 2N), with a sign
flip when i g mod 2N >= N (because X^N = -1).  In NTT form it is a plain
permutation of the N evaluations, the same for every prime:

    NTT(sigma_g a)[k] = a(psi^((2 brv(k) + 1) g)) = NTT(a)[perm_g[k]],
    perm_g[k] = brv(((2 brv(k) + 1) g mod 2N - 1) / 2),

so rotating a ciphertext never leaves NTT form (:func:`ntt_permutation`; the
coefficient-form definition is :func:`ckks.ring.reference.automorphism`).

Slot j of a plaintext holds m(zeta^(5^j)) (:mod:`ckks.scheme.encoder`), hence
sigma_g with g = 5^k mod 2N puts m(zeta^(5^(j+k))) in slot j: the slots
rotate LEFT by k (SEAL's ``rotate_vector`` convention: slot i of the result
holds slot i + k of the input; negative k rotates right).  g = 2N - 1 maps
zeta^(5^j) to its complex conjugate: every slot is conjugated.

Applied to a ciphertext (c_0, c_1) under s, sigma_g gives
(sigma_g c_0, sigma_g c_1), a ciphertext of sigma_g m under sigma_g(s); a key
switch from s(X^g) back to s finishes the job.  The Galois key of g is the
hybrid key-switching key from s(X^g) to s (:mod:`ckks.scheme.keyswitch`, the same
mechanism as relinearization).  Level and scale are unchanged; the
key-switching error is added once per automorphism.

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

import sys
from collections import deque
from functools import cache
from typing import TextIO

import numpy as np

from ckks.errors import InputError, InputTypeError, KeyMissingError
from ckks.ring.modarith import poly_add
from ckks.ring.ntt import bit_reverse_permutation
from ckks.scheme.ciphertext import Ciphertext, check_same_context
from ckks.scheme.keys import KeyGenerator, KeySwitchKey
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.parameters import Parameters

#: Generating more keys than this at once prints a progress bar (when asked to).
PROGRESS_MIN_KEYS = 4


# -- Galois elements and the automorphism --------------------------------------------


def galois_element(step: int, poly_degree: int) -> int:
    """The Galois element 5^step mod 2N that rotates the slots left by ``step`` (any sign)."""
    slots = poly_degree // 2
    return pow(5, int(step) % slots, 2 * poly_degree)


def conjugation_element(poly_degree: int) -> int:
    """The Galois element 2N - 1 (X -> X^-1) that conjugates every slot."""
    return 2 * poly_degree - 1


@cache
def ntt_permutation(element: int, poly_degree: int) -> np.ndarray:
    """perm with NTT(sigma_g a) = NTT(a)[perm] for the NTT order of :mod:`ckks.ring.ntt`.

    Cached per (g, N); the same table serves every prime.
    """
    n = poly_degree
    if element % 2 == 0 or not 0 < element < 2 * n:
        raise InputError(f"a Galois element must be odd and in (0, 2N), got {element}")
    brv = bit_reverse_permutation(n)
    exponents = ((2 * brv + 1) * element) % (2 * n)
    perm = brv[(exponents - 1) // 2]
    perm.setflags(write=False)
    return perm


def apply_automorphism(data: np.ndarray, element: int) -> np.ndarray:
    """sigma_g of NTT-form polynomials: permutes the last axis (a new array).

    ``data`` may have any leading shape (limbs, or polynomials x limbs).
    """
    return np.take(data, ntt_permutation(element, data.shape[-1]), axis=-1)


def default_steps(poly_degree: int) -> list[int]:
    """Rotation steps of the default Galois keys: +-2^i for 2^i < N/2 (deduplicated mod N/2)."""
    slots = poly_degree // 2
    steps: list[int] = []
    seen: set[int] = set()
    power = 1
    while power < slots:
        for step in (power, -power):
            if step % slots not in seen:
                seen.add(step % slots)
                steps.append(step)
        power *= 2
    return steps


# -- keys ------------------------------------------------------------------------------------


class GaloisKeys:
    """Key-switching keys from s(X^g) to s, indexed by Galois element g.

    ``keys[g]`` is a :class:`ckks.scheme.keys.KeySwitchKey` of shape
    (digits, 2, L+1+alpha, N) in NTT form, as a relinearization key.
    """

    def __init__(self, params: Parameters, keys: dict[int, KeySwitchKey], key_id: str):
        self.params = params
        self.keys = dict(keys)
        self.key_id = key_id

    def __contains__(self, element: int) -> bool:
        return element in self.keys

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"GaloisKeys({len(self.keys)} keys, steps={self.steps()}, conjugation={self.has_conjugation})"

    @property
    def elements(self) -> list[int]:
        return sorted(self.keys)

    @property
    def has_conjugation(self) -> bool:
        return conjugation_element(self.params.poly_degree) in self.keys

    def has_step(self, step: int) -> bool:
        """True when there is a key for this rotation step itself (not composed)."""
        return galois_element(step, self.params.poly_degree) in self.keys

    def steps(self) -> list[int]:
        """The rotation steps (in 0 .. N/2 - 1) that have their own key."""
        n = self.params.poly_degree
        step_of = _step_table(n)
        return sorted(step_of[g] for g in self.keys if g != conjugation_element(n))

    def merge(self, other: GaloisKeys) -> GaloisKeys:
        """A container with the keys of both (same secret key and parameters)."""
        check_same_context(self, other)
        return GaloisKeys(self.params, {**self.keys, **other.keys}, self.key_id)


@cache
def _step_table(poly_degree: int) -> dict[int, int]:
    """Galois element 5^k mod 2N -> k, for k in 0 .. N/2 - 1."""
    two_n = 2 * poly_degree
    table = {}
    x = 1
    for k in range(poly_degree // 2):
        table[x] = k
        x = x * 5 % two_n
    return table


def create_galois_keys(
    keygen: KeyGenerator,
    steps: list[int] | None = None,
    conjugation: bool | None = None,
    progress: bool = False,
    stream: TextIO | None = None,
) -> GaloisKeys:
    """Galois keys for rotation ``steps`` (default: +-2^i) and, optionally, conjugation.

    Args:
        keygen: the key generator holding the secret key.
        steps: rotation steps (any sign; duplicates mod N/2 and 0 are dropped).
        conjugation: also make the conjugation key (default: only with the default steps).
        progress: print a progress bar to ``stream`` (stderr) when making several keys.
    """
    params = keygen.params
    n = params.poly_degree
    if steps is None:
        steps = default_steps(n)
        conjugation = True if conjugation is None else conjugation
    steps = _check_steps(steps)
    elements = list(dict.fromkeys(galois_element(k, n) for k in steps if k % (n // 2)))
    if conjugation:
        elements.append(conjugation_element(n))
    stream = sys.stderr if stream is None else stream
    show = progress and len(elements) >= PROGRESS_MIN_KEYS
    rows = params.level_rows(params.max_level)
    secret = keygen.secret_key.ntt[rows]
    keys = {}
    for count, element in enumerate(elements, 1):
        target = np.ascontiguousarray(apply_automorphism(secret, element))
        keys[element] = KeySwitchKey(params, keygen.create_switch_key(target), keygen.secret_key.key_id)
        if show:
            done = 30 * count // len(elements)
            stream.write(f"\rGalois keys [{'#' * done}{'.' * (30 - done)}] {count}/{len(elements)}")
            stream.flush()
    if show:
        stream.write("\n")
    return GaloisKeys(params, keys, keygen.secret_key.key_id)


def _check_steps(steps) -> list[int]:
    if isinstance(steps, (int, np.integer)):
        steps = [steps]
    try:
        values = list(steps)
    except TypeError as exc:
        raise InputTypeError(f"steps must be a list of integers, got {steps!r}") from exc
    for k in values:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise InputTypeError(f"rotation steps must be integers, got {k!r}")
    return [int(k) for k in values]


def missing_key_message(step: int) -> str:
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
    """

    def __init__(self, params: Parameters, galois_keys: GaloisKeys | None, key_switcher: KeySwitcher | None = None):
        self.params = params
        self.galois_keys = galois_keys
        self.key_switcher = key_switcher if key_switcher is not None else KeySwitcher(params)
        self._paths: dict[int, tuple[int, int] | None] | None = None

    @property
    def slots(self) -> int:
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
        """The key steps whose rotations compose rotation by ``step`` (empty for 0 mod N/2).

        Raises KeyMissingError when the available keys cannot make it.
        """
        slots = self.slots
        target = int(step) % slots
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
        if ct.size != 2:
            raise InputError(f"rotations take ciphertexts of size 2 (relinearize first), got size {ct.size}")
        if self.galois_keys is not None:
            check_same_context(ct, self.galois_keys)

    # -- the automorphism with key switching ------------------------------------------------
    def apply_galois(self, ct: Ciphertext, element: int) -> Ciphertext:
        """sigma_g(ct) switched back to s, for a Galois element g that has a key."""
        self._check(ct)
        return self._hoisted(ct, [element])[element]

    def _hoisted(self, ct: Ciphertext, elements: list[int]) -> dict[int, Ciphertext]:
        """Decompose c_1 once, then permute, inner-product and mod-down per element."""
        params = self.params
        switcher = self.key_switcher
        moduli = params.moduli_array[: ct.level + 1]
        keys = {g: self._key(g, f"no Galois key for element {g}") for g in elements}
        extended = switcher.decompose(ct.data[1])
        out = {}
        for g in elements:
            perm = ntt_permutation(g, params.poly_degree)
            switched = switcher.mod_down(switcher.inner_product(extended[:, :, perm], keys[g].data))
            c0 = ct.data[0][:, perm]
            poly_add(c0, switched[0], moduli, c0)
            out[g] = Ciphertext(params, np.stack([c0, switched[1]]), ct.scale, ct.key_id)
        return out

    # -- public operations --------------------------------------------------------------------
    def rotate(self, ct: Ciphertext, step: int) -> Ciphertext:
        """Rotate the slots left by ``step`` (right if negative): result slot i = input slot i + step.

        Uses the key of ``step`` if present, else the shortest composition of
        available keys (one key switch each).  Level and scale unchanged.
        """
        return self.rotate_many(ct, [step])[step]

    def rotate_many(self, ct: Ciphertext, steps: list[int]) -> dict[int, Ciphertext]:
        """Rotations of one ciphertext by several steps, hoisted: {step: rotated ciphertext}.

        Steps with their own key share one decomposition of c_1; the others
        are composed from those results along shortest key paths.
        """
        self._check(ct)
        steps = _check_steps(steps)
        slots, n = self.slots, self.params.poly_degree
        done: dict[int, Ciphertext] = {0: ct}
        direct = {}
        for k in steps:
            r = k % slots
            if r and self.galois_keys is not None and galois_element(r, n) in self.galois_keys:
                direct[galois_element(r, n)] = r
        if direct:
            for g, value in self._hoisted(ct, list(direct)).items():
                done[direct[g]] = value
        out = {}
        for k in steps:
            out[k] = self._composed(k, done)
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
        """Complex-conjugate every slot (the automorphism X -> X^-1).  Level and scale unchanged."""
        self._check(ct)
        element = conjugation_element(self.params.poly_degree)
        self._key(
            element,
            "conjugation needs the Galois key for conjugation; create it with ctx.generate_galois_keys() "
            "(the default keys include it)",
        )
        return self._hoisted(ct, [element])[element]

    def rotations_needed(self, steps: list[int]) -> int:
        """How many key switches rotate_many(ct, steps) costs with the present keys."""
        slots = self.slots
        nodes: set[int] = set()
        for k in _check_steps(steps):
            node = 0
            for s in self.composition(k):
                node = (node + s) % slots
                nodes.add(node)
        return len(nodes)
