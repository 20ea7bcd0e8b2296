"""The Context: parameters, keys, and the machinery to encrypt, evaluate and decrypt CKKSVectors.

The top of the high-level API (``ring <- scheme <- circuits <- vector <- context``).
See `ckks.vector` for what the operators of a vector do to levels and scales.

A context serializes itself (container type "context": the parameters, the
public key, the relinearization key, the Galois keys and, only on request,
the secret key) with [`Context.serialize`][ckks.context.Context.serialize]
and [`Context.load`][ckks.context.Context.load].  Keys whose uniform half a
was drawn from a recorded seed are stored as b and the 32-byte seed (header
fields "public_key_seed", "relin_key_seed", "galois_seeds"), every residue
bit-packed to its prime's width, about half of TenSEAL's context; blobs
written before seeds (no such fields, every key in full) still load.  A
bootstrapping context also stores its configuration (field "bootstrapping")
and its bootstrapping keys among the Galois keys, so that a loaded context
bootstraps.  TenSEAL's manual-mode flags (`Context.auto_relin`, ``auto_rescale``,
``auto_mod_switch``) are stored in field "auto_flags" when one of them is off.
"""

from __future__ import annotations

import numpy as np

from ckks.container import Fields, loads, pack, preview, read_arrays, register_loader
from ckks.errors import (
    CKKSError,
    InputError,
    InputTypeError,
    KeyMissingError,
    LevelError,
    ParameterError,
    SerializationError,
)
from ckks.ring.sampling import PRNG, make_prng
from ckks.scheme.automorphism import check_steps, conjugation_element, default_steps, galois_element
from ckks.scheme.encoder import Encoder
from ckks.scheme.encryption import Decryptor, Encryptor
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.keys import (
    KEY_SEED_BYTES,
    GaloisKeys,
    KeyGenerator,
    KeySwitchKey,
    PublicKey,
    RelinKey,
    SecretKey,
    check_key_pair,
    check_public_key,
    check_switch_key,
    galois_elements,
    galois_key_specs,
    key_spec,
    public_key_uniform,
    read_key_levels,
    secret_key_from_array,
    secret_spec,
    seeded_key_spec,
    switch_key_from_seed,
)
from ckks.scheme.layout import fast_key_switching
from ckks.scheme.parameters import KEY_MEMORY_LIMIT, Parameters, poly_spec
from ckks.scheme.rotation import Rotator
from ckks.security.flooding import Flooding, check_auto
from ckks.validation import check_bool, check_int
from ckks.vector import CKKSVector, _input_size

#: The key-switching layouts a `Context` can be asked for (its ``key_switching`` argument).
KEY_SWITCHING = ("seal", "fast")


def _parameters(
    poly_degree, moduli_bits, scale_bits, security, dnum, hamming_weight, key_switching: str
) -> Parameters:
    """The context's `Parameters`: ``moduli_bits`` as given ("seal"), or its data primes with the fast layout."""
    if key_switching not in KEY_SWITCHING:
        raise InputError(f"key_switching must be one of {', '.join(map(repr, KEY_SWITCHING))}, got {key_switching!r}")
    if key_switching == "seal":
        return Parameters(
            poly_degree, moduli_bits, scale_bits, security=security, dnum=dnum, hamming_weight=hamming_weight
        )
    if dnum is not None:
        raise InputError('key_switching="fast" chooses the digits itself: leave dnum out')
    if isinstance(moduli_bits, (list, tuple)) and len(moduli_bits) < 2:
        raise ParameterError(f"moduli_bits needs a data prime and a special prime, got {moduli_bits!r}")
    layout = fast_key_switching(poly_degree, list(moduli_bits)[:-1], security)
    return Parameters(
        poly_degree, scale_bits=scale_bits, security=security, hamming_weight=hamming_weight,
        **layout.parameters_kwargs(),
    )


class Context:
    """Parameters, keys and the machinery to encrypt, evaluate and decrypt.

    The secret key, the public key and the relinearization key are generated
    here; Galois keys on request ([`generate_galois_keys`][ckks.context.Context.generate_galois_keys]).

    Args:
        poly_degree: ring degree N (a power of two).
        moduli_bits: bit sizes of the primes; the last is the special prime.
        scale_bits: log2 of the default scale.
        security: 128 (default), 192, 256, or None for toy parameters.
        dnum: number of key-switching digits (default: one per data prime).
        hamming_weight: sparse ternary secret with this many non-zeros.
        seed: a fixed seed for reproducible teaching runs (INSECURE, warns).
        flooding: True (the default [`Flooding`][ckks.security.flooding.Flooding] policy) or a
            policy to flood *every* decryption of this context (`decrypt`, ``vector.decrypt()``,
            ``matrix.decrypt()``, ``ctx.decryptor``): IND-CPA-D security, at a cost in precision;
            False (default) for plain decryption unless a call asks for flooding; "auto" sizes it from each
            ciphertext's tracked noise bound and warns when the scale is too small for it
            ([`check_auto`][ckks.security.flooding.check_auto]).  Flooding is needed whenever a decrypted
            value leaves the key owner: without it, a decryption and its ciphertext give the secret key
            (Li-Micciancio, `ckks.attacks`).
        auto_relin: relinearize every ciphertext product automatically (TenSEAL's flag, default True);
            False leaves ``v * w`` a size-3 ciphertext until ``relinearize()``.
        auto_rescale: rescale after every product automatically (default True); False keeps the level
            (the scales multiply) until ``rescale()``.
        auto_mod_switch: bring the higher of two operands down automatically (default True); False
            makes operands at different levels raise LevelMismatchError (``mod_switch_to()`` first).
            All three are properties, settable later (``ctx.auto_relin = False``), kept by
            `public_copy` and `serialize`; `ckks.vector` says what each changes.
        key_switching: "seal" (default): ``moduli_bits`` as given, one special prime, ``dnum`` digits (one
            data prime each unless ``dnum`` says otherwise), as SEAL and TenSEAL; "fast": the same data primes
            (``moduli_bits`` without its last entry), with the special primes and digits of
            [`fast_key_switching`][ckks.scheme.layout.fast_key_switching], the cheapest layout within the
            security bound (at N = 2^15 with 12 data primes: 5 special primes and 2 digits instead of 12;
            multiply and rotate about 1.7-2x faster).  Not interoperable with TenSEAL (SEAL has one special
            prime).

    Raises:
        ParameterError: the parameters are invalid (the message says which and how to fix it).
        SecurityError: the parameters are below the requested security level.
        InputTypeError: an argument has the wrong type.
        InputError: ``seed`` is a negative integer, or ``key_switching`` is neither "seal" nor "fast", or
            "fast" with ``dnum``.
    """

    def __init__(
        self,
        poly_degree: int = 8192,
        moduli_bits: list[int] | tuple[int, ...] = (60, 40, 40, 60),
        scale_bits: float | None = None,
        security: int | None = 128,
        dnum: int | None = None,
        hamming_weight: int | None = None,
        seed: int | bytes | None = None,
        flooding: bool | str | Flooding = False,
        auto_relin: bool = True,
        auto_rescale: bool = True,
        auto_mod_switch: bool = True,
        key_switching: str = "seal",
    ):
        policy = _flooding_policy(flooding)
        flags = _auto_flags(auto_relin, auto_rescale, auto_mod_switch)
        params = _parameters(poly_degree, moduli_bits, scale_bits, security, dnum, hamming_weight, key_switching)
        prng = make_prng(seed)
        keygen = KeyGenerator(params, prng=prng)
        self._assemble(
            params, prng, Encoder(params), keygen.secret_key, keygen.create_public_key(), keygen.create_relin_keys()
        )
        self.set_flooding(check_auto(params) if isinstance(flooding, str) else policy)
        self._auto_relin, self._auto_rescale, self._auto_mod_switch = flags

    def _assemble(
        self,
        params: Parameters,
        prng: PRNG,
        encoder: Encoder,
        secret_key: SecretKey | None,
        public_key: PublicKey,
        relin_key: RelinKey | None,
        galois_keys: GaloisKeys | None = None,
    ) -> None:
        """Set every attribute from the parts (the one place that does: __init__ and _from_parts share it)."""
        self.params = params
        self.prng = prng
        self.encoder = encoder
        self.secret_key = secret_key
        self.public_key = public_key
        self.relin_key = relin_key
        self.key_id = public_key.key_id
        self.encryptor = Encryptor(params, public_key=public_key, prng=prng)
        #: The flooding policy every decryption of this context uses (None: plain), see `set_flooding`.
        self.flooding = None
        self.decryptor = Decryptor(params, secret_key) if secret_key is not None else None
        self.evaluator = Evaluator(params, relin_key)
        #: Galois keys for rotations and conjugation (`generate_galois_keys`).
        self.galois_keys = galois_keys
        self._auto_relin = self._auto_rescale = self._auto_mod_switch = True  # TenSEAL's manual-mode flags

    @classmethod
    def _from_parts(
        cls,
        params: Parameters,
        secret_key: SecretKey | None,
        public_key: PublicKey,
        relin_key: RelinKey | None,
        galois_keys: GaloisKeys | None = None,
        encoder: Encoder | None = None,
    ) -> Context:
        """A context around existing parameters and keys (loading, public copies), with a fresh OS-seeded PRNG."""
        ctx = cls.__new__(cls)
        ctx._assemble(
            params, make_prng(None), encoder or Encoder(params), secret_key, public_key, relin_key, galois_keys
        )
        return ctx

    def set_flooding(self, flooding: bool | Flooding | None) -> None:
        """Flood every decryption of this context from now on (or stop, with False / None).

        Every decrypt path uses it: `decrypt`, ``CKKSVector.decrypt``,
        ``CKKSMatrix.decrypt`` and ``ctx.decryptor``.  A loaded context starts
        without flooding (the policy is the owner's choice, not part of the data).

        Args:
            flooding: True or "auto" (the default policy), a Flooding policy, or False / None for plain decryption.

        Raises:
            InputTypeError: ``flooding`` is not a bool, None, "auto" or a Flooding.
        """
        policy = _flooding_policy(flooding)
        self.flooding = policy
        if self.secret_key is not None:
            self.decryptor = Decryptor(self.params, self.secret_key, flooding=policy, prng=self.prng)

    def estimate_noise(self, circuit, *samples) -> float:
        """A noise bound for flooding the results of ``circuit``: run it on encryptions of ``samples``.

        The OpenFHE procedure (EXEC_NOISE_ESTIMATION): the key owner runs the same
        computation once on representative inputs of the same magnitude and
        uses the error bound of the result, tracked operation by operation
        (`ckks.security.noise`), as ``Flooding(noise_bound=...)`` for the
        results that come back from the server.

        Args:
            circuit: a function of CKKSVectors returning a CKKSVector (the server's computation).
            *samples: one array of values per argument of ``circuit``, as large as the real inputs can be.

        Returns:
            The noise bound B (integer units, at the result's scale).

        Raises:
            InputTypeError: ``circuit`` is not callable or does not return a CKKSVector.
            InputError: the result carries no tracked bound (the circuit made a ciphertext outside the
                evaluator, e.g. a rotation); pass a measured ``noise_bound`` instead.
        """
        if not callable(circuit):
            raise InputTypeError(f"circuit must be a function of CKKSVectors, got {type(circuit).__name__}")
        result = circuit(*(self.encrypt(sample) for sample in samples))
        if not isinstance(result, CKKSVector):
            raise InputTypeError(f"circuit must return a CKKSVector, got {type(result).__name__}")
        noise = result.ciphertext.noise
        if noise is None:
            raise InputError(
                "the circuit's result carries no tracked noise bound (an operation outside the evaluator, such "
                "as a rotation, made it); measure the error on sample data and pass Flooding(noise_bound=...)"
            )
        return float(noise)

    # -- convenience ----------------------------------------------------------
    @property
    def slots(self) -> int:
        """N/2, the number of values a ciphertext holds."""
        return self.params.slots

    @property
    def scale(self) -> float:
        """The default scale Delta = 2^scale_bits of encryptions."""
        return self.params.scale

    @property
    def is_private(self) -> bool:
        """True when this context holds the secret key (can decrypt)."""
        return self.secret_key is not None

    # -- TenSEAL's manual mode: what the vector operators do on their own (ckks.vector) -----------
    @property
    def auto_relin(self) -> bool:
        """Relinearize ciphertext products automatically (True, default); settable: ``ctx.auto_relin = False``.

        Off, ``v * w`` stays a size-3 ciphertext until ``relinearize()``.  Setting a non-bool
        raises InputTypeError.
        """
        return self._auto_relin

    @auto_relin.setter
    def auto_relin(self, value: bool) -> None:
        self._auto_relin = check_bool("auto_relin", value)

    @property
    def auto_rescale(self) -> bool:
        """Rescale after products automatically (True, default); settable: ``ctx.auto_rescale = False``.

        Off, products keep their level and the scales multiply until ``rescale()``.  Setting a
        non-bool raises InputTypeError.
        """
        return self._auto_rescale

    @auto_rescale.setter
    def auto_rescale(self, value: bool) -> None:
        self._auto_rescale = check_bool("auto_rescale", value)

    @property
    def auto_mod_switch(self) -> bool:
        """Align the levels of two operands automatically (True, default); settable.

        Off, operands at different levels raise LevelMismatchError until one is brought down
        with ``mod_switch_to()``.  Setting a non-bool raises InputTypeError.
        """
        return self._auto_mod_switch

    @auto_mod_switch.setter
    def auto_mod_switch(self, value: bool) -> None:
        self._auto_mod_switch = check_bool("auto_mod_switch", value)

    def _copy_auto_flags(self, other: Context) -> Context:
        """Give ``other`` this context's manual-mode flags; returns it."""
        other._auto_relin, other._auto_rescale, other._auto_mod_switch = self._flags_tuple()
        return other

    def _flags_tuple(self) -> tuple[bool, bool, bool]:
        return self._auto_relin, self._auto_rescale, self._auto_mod_switch

    def generate_galois_keys(
        self,
        steps: list[int] | None = None,
        progress: bool = True,
        memory_limit: float | None = KEY_MEMORY_LIMIT,
        max_level: int | None = None,
    ) -> GaloisKeys:
        """Make Galois keys and add them to this context (`KeyGenerator.create_galois_keys`).

        With ``steps=None``: keys for rotations by +-2^i (any rotation composes
        from them) and for conjugation; otherwise keys for exactly these steps.
        Keys already present (for levels at least as high) are not made again.

        The keys are made for the levels a fresh ciphertext can be at and below: L, or in a
        bootstrapping context ([`for_bootstrapping`][ckks.context.Context.for_bootstrapping]) the
        level a bootstrap returns to, ``config.compute_levels``: over Q_m * P only, a fraction of a
        full key's memory (`Parameters.key_switch_key_bytes`).  ``max_level`` overrides it.  A step
        whose key the bootstrapping keys already hold (made first, `generate_bootstrapping_keys`) gets
        that key, shared, not a second one.

        Args:
            steps: rotation steps (any sign), or None for the default set.
            progress: show a progress bar on stderr when several keys are made (tqdm; only when
                stderr is a terminal, so logs and captured output get none).
            memory_limit: refuse before generating if the new keys would take more bytes than this
                (default 8 GiB, `ckks.scheme.parameters.KEY_MEMORY_LIMIT`; None: no limit).
            max_level: the top level of the new keys (None: the fresh level, see above).

        Returns:
            All the Galois keys of this context now (old and new, merged).

        Raises:
            KeyMissingError: this is a public context (no secret key to make keys with).
            InputTypeError: ``steps`` is not a list of integers, ``progress`` is not a bool, or
                ``memory_limit`` is not a number or None.
            InputError: ``memory_limit`` is negative.
            LevelError: ``max_level`` is not an integer in [0, L].
            ParameterError: the keys would take more than ``memory_limit`` bytes.
        """
        if self.secret_key is None:
            raise KeyMissingError(
                "Galois keys are made with the secret key, which this public context does not have; "
                "call generate_galois_keys() on the owner's context before making its public_copy()"
            )
        progress = check_bool("progress", progress)
        keygen = KeyGenerator(self.params, secret_key=self.secret_key, prng=self.prng)
        params, n = self.params, self.params.poly_degree
        level = self._fresh_level() if max_level is None else check_int("max_level", max_level, 0, params.max_level,
                                                                          error=LevelError)
        have = self.galois_keys if self.galois_keys is not None else GaloisKeys(params, {}, self.key_id)
        levels = have.levels()

        def missing(element: int) -> bool:
            return levels.get(element, -1) < level

        conjugation = steps is None and missing(conjugation_element(n))
        steps = default_steps(n) if steps is None else check_steps(steps)
        # a bootstrapping key of the same element is at least as tall: share it (the same arrays, no memory)
        boot = self._bootstrapper()
        taller = boot.galois_keys.keys if boot is not None and boot.galois_keys is not None else {}
        wanted = {galois_element(k, n) for k in steps if k % (n // 2)} | (
            {conjugation_element(n)} if conjugation else set())
        shared = {g: taller[g] for g in wanted if missing(g) and g in taller and taller[g].level >= level}
        steps = [k for k in steps if missing(galois_element(k, n)) and galois_element(k, n) not in shared]
        conjugation = conjugation and conjugation_element(n) not in shared
        new = keygen.create_galois_keys(steps, conjugation=conjugation, progress=progress, memory_limit=memory_limit,
                                        max_level=level)
        self.galois_keys = have.merge(GaloisKeys(params, shared, self.key_id)).merge(new)
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
        """A context with the same parameters and public keys but no secret key.

        Returns:
            The public context (encrypt and evaluate, no decryption), with its own PRNG.
        """
        public = Context._from_parts(
            self.params, None, self.public_key, self.relin_key, self.galois_keys, encoder=self.encoder
        )
        return self._copy_auto_flags(public)

    # -- serialization -----------------------------------------------------------
    def serialize(self, secret_key: bool = False) -> bytes:
        """These parameters and keys as bytes (container type "context"); the secret key only on request.

        ``Context.load(ctx.serialize())`` is a public context (encrypt and
        evaluate, no decryption), the safe thing to send to a server.

        Args:
            secret_key: include the secret key (for a backup of the owner's context).

        A key whose uniform half a comes from a recorded seed is stored as b
        and the seed (its a is regenerated on load), every residue bit-packed
        to its prime's width.  A bootstrapping context
        ([`for_bootstrapping`][ckks.context.Context.for_bootstrapping]) also
        stores its `BootstrapConfig` and its bootstrapping keys (with the Galois
        keys), so that the loaded context bootstraps.

        Returns:
            The bytes: the parameters and fingerprint in the header; the public
            key, relinearization key, Galois keys and (on request) the secret key as arrays.

        Raises:
            KeyMissingError: ``secret_key=True`` on a context without a secret key.
            InputTypeError: ``secret_key`` is not a bool.
        """
        secret_key = check_bool("secret_key", secret_key)
        params = self.params
        bootstrapper = self._bootstrapper()
        keys = self.galois_keys
        if bootstrapper is not None and bootstrapper.galois_keys is not None:
            keys = bootstrapper.galois_keys if keys is None else keys.merge(bootstrapper.galois_keys)
        elements = keys.elements if keys is not None else []
        public_seed = self.public_key.compact_seed()
        relin_seed = self.relin_key.compact_seed() if self.relin_key is not None else None
        galois_seeds = [keys.keys[g].compact_seed() for g in elements]
        header = {
            "type": "context",
            "fingerprint": params.fingerprint(),
            "params": params.to_header(),
            "key_id": self.key_id,
            "secret_key": secret_key,
            "relin_key": self.relin_key is not None,
            "galois_elements": elements,
            "public_key_seed": _hex(public_seed),
            "relin_key_seed": _hex(relin_seed),
            "galois_seeds": [_hex(seed) for seed in galois_seeds],
        }
        levels = list(keys.levels().values()) if keys is not None else []
        if any(level != params.max_level for level in levels):  # keys made for the lower levels only
            header["galois_levels"] = levels
        if self._flags_tuple() != (True, True, True):  # manual mode (TenSEAL keeps its flags in the context too)
            header["auto_flags"] = dict(zip(_AUTO_FLAG_FIELDS, self._flags_tuple()))
        encapsulation = bootstrapper.encapsulation_keys if bootstrapper is not None else None
        if bootstrapper is not None:
            header["bootstrapping"] = {
                "config": bootstrapper.config.to_header(),
                "keys": bootstrapper.galois_keys is not None and (
                    bootstrapper.config.ephemeral_hamming_weight is None or encapsulation is not None),
            }
        data = self.public_key.data
        arrays = [("public_key", data if public_seed is None else np.ascontiguousarray(data[0]))]
        if self.relin_key is not None:
            data = self.relin_key.data
            arrays.append(("relin_key", data if relin_seed is None else np.ascontiguousarray(data[:, 0])))
        for g, seed in zip(elements, galois_seeds):
            data = keys.keys[g].data
            arrays.append((f"galois_{g}", data if seed is None else np.ascontiguousarray(data[:, 0])))
        if encapsulation is not None and header["bootstrapping"]["keys"]:  # sparse-secret encapsulation keys
            arrays += [(name, getattr(encapsulation, part).data) for name, part in _ENCAPSULATION_ARRAYS]
        if secret_key:
            if self.secret_key is None:
                raise KeyMissingError(
                    "this context has no secret key (a public copy, or one loaded without it), so "
                    "serialize(secret_key=True) cannot include one; call serialize() without it"
                )
            arrays.append(("secret_key", self.secret_key.coefficients))
        return pack(header, arrays)

    @staticmethod
    def load(blob: bytes | bytearray | memoryview) -> Context:
        """A context from [`serialize`][ckks.context.Context.serialize] output.

        Args:
            blob: the bytes.

        Returns:
            The context: public unless the secret key was included.

        Raises:
            InputTypeError: ``blob`` is not bytes-like.
            SerializationError: the bytes are damaged, hold another type,
                describe invalid parameters, hold a key whose digest is not the key id
                or that is degenerate, hold a secret key that does not belong to the
                public key, or a bootstrapping configuration that does not match the
                parameters or lacks its keys (the message names the field).
        """
        return loads(blob, None, kind="context")

    def _bootstrapper(self):
        """This context's bootstrapper (its own, or its owner's for a public copy), or None."""
        from ckks.circuits.bootstrapping import find_bootstrapper

        return getattr(self, "bootstrapper", None) or find_bootstrapper(self.params, self.key_id)

    # -- encryption and decryption -----------------------------------------------
    def encrypt(self, values, scale: float | None = None, symmetric: bool = False) -> CKKSVector:
        """Encrypt real or complex values: up to N/2 in one ciphertext, more split over several (as TenSEAL).

        Public-key encryption by default; ``symmetric=True`` encrypts with the
        secret key, and the result serializes to about half the size (its
        uniform half is stored as a seed) until it is first operated on.

        Args:
            values: a number or a 1-D sequence of numbers (zero padded; more than N/2 of them are
                encrypted in chunks of N/2, see `ckks.vector`).
            scale: the scale Delta (default: the context's 2^scale_bits).
            symmetric: encrypt with the secret key.

        Returns:
            A fresh vector at the top level, its slots beyond ``len(values)`` zero.  In a bootstrapping
            context ([`for_bootstrapping`][ckks.context.Context.for_bootstrapping]) "top" is the level a
            bootstrap returns to (``ctx.bootstrapper.config.compute_levels``), as in Lattigo: the primes
            above it are the bootstrapping circuit's, and products of fresh values there would use them.

        Raises:
            InputTypeError: ``values`` are not numbers, ``scale`` is not a number, or ``symmetric`` not a bool.
            InputError: ``values`` are not 1-D, empty, not finite, or too large for the scale.
            KeyMissingError: ``symmetric=True`` on a context without a secret key.
        """
        symmetric = check_bool("symmetric", symmetric)
        if _is_long_1d(values, self.slots):  # TenSEAL's chunked vectors
            array = np.asarray(values)
            step = self.slots
            parts = [self.encrypt(array[i : i + step], scale, symmetric) for i in range(0, array.size, step)]
            is_complex = any(part.is_complex for part in parts)
            return CKKSVector(self, [part.ciphertext for part in parts], array.size, is_complex, zero_tail=True)
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
            ciphertext = encryptor.encrypt_symmetric(plaintext)
        else:
            ciphertext = self.encryptor.encrypt(plaintext)
        fresh_level = self._fresh_level()
        if ciphertext.level > fresh_level:
            ciphertext = self.evaluator.mod_switch_to(ciphertext, fresh_level)
        return CKKSVector(self, ciphertext, size, is_complex, zero_tail=True)

    def _fresh_level(self) -> int:
        """The level of a fresh encryption: the top, or the level a bootstrap returns to."""
        from ckks.circuits.bootstrapping import find_bootstrapper

        bootstrapper = getattr(self, "bootstrapper", None) or find_bootstrapper(self.params, self.key_id)
        if bootstrapper is None:
            return self.params.max_level
        return min(self.params.max_level, bootstrapper.config.compute_levels)

    def decrypt(self, vector: CKKSVector, flooding: bool | Flooding | None = None) -> np.ndarray:
        """Decrypt a CKKSVector to a numpy array of its length (real unless complex values went in).

        ``flooding=True`` (or a [`Flooding`][ckks.security.flooding.Flooding])
        adds noise flooding, so that the result can be shared without leaking
        the secret key (Li-Micciancio attack), at a cost in precision (see
        `ckks.security.flooding`).  A context made with ``flooding=`` (or
        `set_flooding`) floods every decryption: False / None then keep its
        policy; they cannot turn it off.  Flooding sizes its noise from the
        ciphertext's tracked noise bound, or the policy's ``noise_bound``.

        Args:
            vector: a vector encrypted under this context's key.
            flooding: None / False (the context's policy), True (the default policy) or a Flooding policy.

        Returns:
            The ``vector.size`` values, float64 (complex128 when the vector is complex).

        Raises:
            InputTypeError: ``vector`` is not a CKKSVector, or ``flooding`` is not a bool or a Flooding.
            KeyMissingError: this context has no secret key.
            ContextMismatchError: the vector was encrypted under other parameters or another key.
            ParameterError: flooding without a noise estimate (a loaded vector and no ``noise_bound``), or
                flooding noise that does not fit the modulus.
        """
        if not isinstance(vector, CKKSVector):
            raise InputTypeError(f"decrypt takes a CKKSVector, got {type(vector).__name__}")
        if self.decryptor is None:
            raise KeyMissingError(
                "this context has no secret key (a public copy, or one loaded without it) and cannot decrypt; "
                "send the ciphertext to the owner of the secret key"
            )
        policy = _flooding_policy(flooding)
        decryptor = self.decryptor
        if policy is not None and policy is not self.flooding:
            if flooding is True and self.flooding is not None:
                policy = self.flooding
            decryptor = Decryptor(self.params, self.secret_key, flooding=policy, prng=self.prng)
        parts = [self.encoder.decode(decryptor.decrypt(ct)) for ct in vector.ciphertexts]  # chunks of N/2
        values = np.concatenate(parts)[: vector.size]
        return values if vector.is_complex else values.real

    # -- bootstrapping (ckks.circuits.bootstrapping) -------------------------------
    @classmethod
    def for_bootstrapping(
        cls, preset: str = "teaching", *, security: int | None | str = "preset", seed: int | bytes | None = None,
        **options,
    ) -> Context:
        """A context whose modulus chain and secret support [`bootstrap`][ckks.vector.CKKSVector.bootstrap].

        Presets (`ckks.circuits.bootstrapping.presets`): "teaching" (N = 2^12, insecure,
        seconds per bootstrap) and "128" (N = 2^16, 128-bit secure).  Fresh ciphertexts
        start at the top level L; a bootstrap returns ``config.compute_levels`` levels.
        Call [`generate_bootstrapping_keys`][ckks.context.Context.generate_bootstrapping_keys] next.

        Args:
            preset: "teaching" or "128".
            security: "preset" (the preset's level), 128, or None.
            seed: a fixed seed for reproducible teaching runs (INSECURE, warns).
            **options: fields of `BootstrapConfig` to change (e.g. ``poly_degree=1024``, ``slots=64``).

        Returns:
            The context, with ``ctx.bootstrapper`` (no keys yet).

        Raises:
            ParameterError: unknown preset or invalid options.
            SecurityError: ``security=128`` asked of an insecure preset.
            InputError: an unknown option name.
        """
        from ckks.circuits.bootstrapping import Bootstrapper, bootstrapping_parameters, register_bootstrapper
        from ckks.circuits.bootstrapping import preset as bootstrap_preset

        config = bootstrap_preset(preset, **options)
        params = bootstrapping_parameters(config, security)
        prng = make_prng(seed)
        keygen = KeyGenerator(params, prng=prng)
        ctx = cls.__new__(cls)
        ctx._assemble(
            params, prng, Encoder(params), keygen.secret_key, keygen.create_public_key(), keygen.create_relin_keys()
        )
        ctx.bootstrapper = Bootstrapper(params, config, ctx.evaluator)
        register_bootstrapper(ctx.bootstrapper, ctx.key_id)
        return ctx

    def generate_bootstrapping_keys(
        self, progress: bool = True, memory_limit: float | None = KEY_MEMORY_LIMIT
    ) -> dict:
        """Make exactly the rotation keys (and the conjugation key) that bootstrapping needs.

        Args:
            progress: show a progress bar on stderr (tqdm; only when stderr is a terminal).
            memory_limit: refuse before generating when the keys would take more bytes than this
                (default 8 GiB, `ckks.scheme.parameters.KEY_MEMORY_LIMIT`; the "128" preset's 39 rotation keys,
                each made only for the levels it is used at, `Bootstrapper.key_levels`, and its 2 sparse-secret
                encapsulation keys take 3.01 GiB).

        Returns:
            The bootstrapper's summary: levels, rotations, key memory in MiB.

        Raises:
            ParameterError: this context was not made by [`for_bootstrapping`][ckks.context.Context.for_bootstrapping].
            KeyMissingError: this context has no secret key.
            InputTypeError: ``progress`` is not a bool, or ``memory_limit`` not a number or None.
            InputError: ``memory_limit`` is negative or not finite.
            ParameterError: the keys would take more than ``memory_limit`` bytes.
        """
        from ckks.circuits.bootstrapping import find_bootstrapper
        from ckks.errors import ParameterError

        bootstrapper = getattr(self, "bootstrapper", None) or find_bootstrapper(self.params, self.key_id)
        if bootstrapper is None:
            raise ParameterError(
                "this context has no bootstrapping modulus chain; create it with ckks.Context.for_bootstrapping()"
            )
        if self.secret_key is None:
            raise KeyMissingError(
                "bootstrapping keys are made with the secret key, which this public context does not have; "
                "call generate_bootstrapping_keys() on the owner's context"
            )
        progress = check_bool("progress", progress)
        keygen = KeyGenerator(self.params, secret_key=self.secret_key, prng=self.prng)
        bootstrapper.generate_keys(keygen, progress=progress, memory_limit=memory_limit)
        return bootstrapper.summary()


def _load_context(fields: Fields, payload: memoryview, context: object) -> Context:
    """The loader of container type "context" (registered below); ``context`` is not used."""
    params = Parameters.from_fields(fields)
    found = fields.hex("fingerprint", 32, 32)
    if found != params.fingerprint():
        raise SerializationError(
            f"header field 'fingerprint' is {found}, but the parameters in the header have fingerprint "
            f"{params.fingerprint()}; the data is inconsistent"
        )
    key_id = fields.hex("key_id", 1, 64)
    has_secret = fields.boolean("secret_key")
    has_relin = fields.boolean("relin_key")
    elements = galois_elements(fields, params, "galois_elements")
    if any(key in fields.obj for key in _SEED_FIELDS):  # seeded keys; blobs written before have no seed fields
        public_seed = _read_seed(fields, "public_key_seed")
        relin_seed = _read_seed(fields, "relin_key_seed")
        if relin_seed is not None and not has_relin:
            raise SerializationError(
                "header field 'relin_key_seed' must be null: the context has no relinearization key"
            )
        galois_seeds = _read_seed_list(fields, "galois_seeds", len(elements))
    else:
        public_seed, relin_seed, galois_seeds = None, None, [None] * len(elements)
    config, boot_keys = _read_bootstrapping(fields, params)
    flags = _read_auto_flags(fields)
    k = len(params.all_moduli)
    specs = [
        key_spec("public_key", params, "public_key") if public_seed is None
        else poly_spec("public_key", params, (), k, f"b over {k} primes (a from the seed)")
    ]
    if has_relin:
        specs.append(
            key_spec("relin_key", params, "relin_key") if relin_seed is None else seeded_key_spec("relin_key", params)
        )
    specs += galois_key_specs(params, elements, galois_seeds,
                              read_key_levels(fields, params, "galois_levels", len(elements)))
    encapsulated = config is not None and boot_keys and config.ephemeral_hamming_weight is not None
    if encapsulated:  # the two keys of sparse-secret encapsulation: at level 0 over q_0 p, and at L
        from ckks.circuits.bootstrapping.mod_raise import encapsulation_parameters

        key_params = {"to_sparse": encapsulation_parameters(params), "from_sparse": params}
        specs += [key_spec(name, key_params[part], "switch_key", 0 if part == "to_sparse" else params.max_level)
                  for name, part in _ENCAPSULATION_ARRAYS]
    if has_secret:
        specs.append(secret_spec(params))
    arrays = read_arrays(fields, payload, specs)
    fields.done()
    if public_seed is not None:
        arrays["public_key"] = np.stack([arrays["public_key"], public_key_uniform(params, public_seed)])
    if relin_seed is not None:
        arrays["relin_key"] = switch_key_from_seed(params, arrays["relin_key"], relin_seed)
    for g, seed in zip(elements, galois_seeds):
        if seed is not None:
            arrays[f"galois_{g}"] = switch_key_from_seed(params, arrays[f"galois_{g}"], seed)
    check_public_key(params, arrays["public_key"], key_id, "array 'public_key'")
    if has_relin:
        check_switch_key(params, arrays["relin_key"], key_id, "array 'relin_key'")
    for g in elements:
        check_switch_key(params, arrays[f"galois_{g}"], key_id, f"array 'galois_{g}'")
    encapsulation = None
    if encapsulated:
        from ckks.circuits.bootstrapping.mod_raise import EncapsulationKeys

        for name, part in _ENCAPSULATION_ARRAYS:
            check_switch_key(key_params[part], arrays[name], key_id, f"array '{name}'")
        encapsulation = EncapsulationKeys(
            **{part: KeySwitchKey(key_params[part], arrays[name], key_id) for name, part in _ENCAPSULATION_ARRAYS})
    public_key = PublicKey(params, arrays["public_key"], key_id, seed=public_seed)
    relin_key = RelinKey(params, arrays["relin_key"], key_id, seed=relin_seed) if has_relin else None
    galois = None
    if elements:
        switch_keys = {
            g: KeySwitchKey(params, arrays[f"galois_{g}"], key_id, seed=seed) for g, seed in zip(elements, galois_seeds)
        }
        galois = GaloisKeys(params, switch_keys, key_id)
    secret = secret_key_from_array(params, arrays["secret_key"], key_id) if has_secret else None
    if secret is not None:
        check_key_pair(public_key, secret)
    ctx = Context._from_parts(params, secret, public_key, relin_key, galois)
    ctx._auto_relin, ctx._auto_rescale, ctx._auto_mod_switch = flags
    if config is not None:
        _attach_bootstrapper(ctx, config, boot_keys, encapsulation)
    return ctx


#: The arrays of the sparse-secret encapsulation keys (`ckks.circuits.bootstrapping.mod_raise.EncapsulationKeys`)
#: in a bootstrapping context with keys: (array name, key).
_ENCAPSULATION_ARRAYS = (("bootstrapping_to_sparse", "to_sparse"), ("bootstrapping_from_sparse", "from_sparse"))


#: The header fields of a context's key seeds: all present (blobs since seeded keys) or none (older blobs).
_SEED_FIELDS = ("public_key_seed", "relin_key_seed", "galois_seeds")


def _hex(seed: bytes | None) -> str | None:
    return None if seed is None else seed.hex()


def _read_seed(fields: Fields, key: str) -> bytes | None:
    value = fields.hex(key, 2 * KEY_SEED_BYTES, 2 * KEY_SEED_BYTES, optional=True)
    return None if value is None else bytes.fromhex(value)


def _read_seed_list(fields: Fields, key: str, count: int) -> list[bytes | None]:
    listed = fields.array(key, count)
    if len(listed) != count:
        raise SerializationError(f"{fields.name(key)} lists {len(listed)} seeds, expected one per Galois key ({count})")
    return [_read_seed(Fields({"seed": value}, f"{fields.path}.{key}[{i}]"), "seed") for i, value in enumerate(listed)]


#: The fields of the optional header object "auto_flags" (written only when a flag is off).
_AUTO_FLAG_FIELDS = ("relin", "rescale", "mod_switch")


def _auto_flags(auto_relin: object, auto_rescale: object, auto_mod_switch: object) -> tuple[bool, bool, bool]:
    """The three manual-mode flags, checked to be bools."""
    return (
        check_bool("auto_relin", auto_relin),
        check_bool("auto_rescale", auto_rescale),
        check_bool("auto_mod_switch", auto_mod_switch),
    )


def _read_auto_flags(fields: Fields) -> tuple[bool, bool, bool]:
    """The optional "auto_flags" field: (relin, rescale, mod_switch), all True when absent."""
    if "auto_flags" not in fields.obj:
        return True, True, True
    sub = fields.sub("auto_flags")
    flags = tuple(sub.boolean(key) for key in _AUTO_FLAG_FIELDS)
    sub.done()
    return flags


def _read_bootstrapping(fields: Fields, params: Parameters):
    """The optional "bootstrapping" field: (BootstrapConfig, keys included) or (None, False)."""
    if "bootstrapping" not in fields.obj:
        return None, False
    from ckks.circuits.bootstrapping import BootstrapConfig

    boot = fields.sub("bootstrapping")
    config = BootstrapConfig.from_fields(boot.sub("config"), params)
    keys = boot.boolean("keys")
    boot.done()
    return config, keys


def _attach_bootstrapper(ctx: Context, config, has_keys: bool, encapsulation=None) -> None:
    """Rebuild a loaded context's bootstrapper; its keys are the loaded Galois keys of its rotations (and the
    loaded sparse-secret encapsulation keys, ``encapsulation``)."""
    from ckks.circuits.bootstrapping import Bootstrapper, find_bootstrapper, register_bootstrapper
    from ckks.scheme.automorphism import conjugation_element, galois_element

    try:
        bootstrapper = Bootstrapper(ctx.params, config, ctx.evaluator)
    except CKKSError as exc:
        raise SerializationError(f"header field 'bootstrapping' cannot be used: {exc}") from None
    if has_keys:
        n = ctx.params.poly_degree
        needed = sorted({galois_element(step, n) for step in bootstrapper.rotation_steps()} | {conjugation_element(n)})
        have = ctx.galois_keys.keys if ctx.galois_keys is not None else {}
        missing = [g for g in needed if g not in have]
        if missing:
            raise SerializationError(
                f"header field 'bootstrapping.keys' is true, but the Galois keys of elements "
                f"{preview(missing)} that bootstrapping needs are not in 'galois_elements'"
            )
        bootstrapper.galois_keys = GaloisKeys(ctx.params, {g: have[g] for g in needed}, ctx.key_id)
        bootstrapper.encapsulation_keys = encapsulation
    ctx.bootstrapper = bootstrapper
    found = find_bootstrapper(ctx.params, ctx.key_id)
    if found is None or found.galois_keys is None:
        register_bootstrapper(bootstrapper, ctx.key_id)


register_loader("context", _load_context)


def _is_long_1d(values: object, slots: int) -> bool:
    """True for a 1-D sequence longer than the slot count (ragged input is left to slot_vector to refuse)."""
    try:
        return np.ndim(values) == 1 and np.size(values) > slots
    except ValueError:  # ragged nested lists
        return False


def _flooding_policy(flooding: object) -> Flooding | None:
    """None for no flooding (False / None), the default policy for True and "auto", or the given Flooding."""
    if flooding is None or flooding is False:
        return None
    if flooding is True or (isinstance(flooding, str) and flooding == "auto"):
        return Flooding()
    if isinstance(flooding, Flooding):
        return flooding
    raise InputTypeError(
        f"flooding must be True, False, None, 'auto' or a ckks.security.flooding.Flooding, got {flooding!r}"
    )
