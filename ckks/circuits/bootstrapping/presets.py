"""Bootstrapping parameter presets: the modulus chain laid out level by level.

A bootstrappable chain, from q_0 up (level 0 .. L):

    q_0 (``q0_bits``)                     the modulus the message lives in at level 0;
    ``compute_levels`` primes of Delta    the levels left to the user after a bootstrap;
    ``stc_levels`` primes (Delta-sized)    SlotsToCoeffs, ends on scale Delta;
    EvalMod levels (``boot_bits``)         Chebyshev series + double angles;
    ``cts_levels`` primes (``boot_bits``)  CoeffsToSlots, applied first at the top;
    special primes P                      key switching only, enough to cover one digit.

The message ratio q_0 / Delta sets the precision of the sine approximation
((2 pi / ratio)^2 / 6 relative) and the admissible values (|z| <= 1 for the
promised precision).

Presets:

* ``"teaching"``: N = 2^12, full packing (2048 slots), h = 16 (K = 8), insecure
  (``security=None``): seconds per bootstrap in Python.
* ``"128"``: N = 2^16, 2^15 slots, a dense (uniform ternary) main secret and sparse-secret encapsulation
  (Bossuat, Troncoso-Pastoriza and Hubaux, ACNS 2022, ePrint 2022/024; as Lattigo and OpenFHE): an
  ephemeral secret of Hamming weight h' = 32 only around ModRaise
  (`ckks.circuits.bootstrapping.mod_raise`), so K = 16 (failure below 2^-105 per bootstrap) and
  log2(QP) = 1749 <= 1761, the HE standard's 128-bit bound for uniform ternary secrets at N = 2^16
  (`ckks.security.standard`).  EvalMod: degree 55, 2 double angles and the arcsine of degree 3
  (`ckks.circuits.bootstrapping.eval_mod`), which lets the message ratio q_0 / Delta drop from 2^13 to
  2^8 (q_0 = 54 bits, Delta = 2^46): every EvalMod error reaches the values multiplied by that ratio.
  CoeffsToSlots and EvalMod primes of 61 bits, 7 special primes (P of 427 bits), key-switching digits
  filled up to P's size (``digit_split="bits"``: 4 digits of 9, 7, 7 and 1 primes) and DFT stages grouped
  so that SlotsToCoeffs reuses CoeffsToSlots rotations (``cts_split``, ``stc_split``): 39 rotation keys
  and the 2 encapsulation keys take 3.01 GiB (`Bootstrapper.key_memory_estimate`).  Measured at one
  thread: 21.3-21.4 bits, 20.0-20.9 s a bootstrap, 6 levels after (issue 26; the sparse-secret preset before it,
  h = 192, K = 28, log2(QP) = 1513 under Lattigo's cited 1546 for ``N16QP1546H192H32``, gave 18.1 bits
  and 27 s).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

from ckks.circuits.bootstrapping.eval_mod import EvalModConfig
from ckks.container import Fields, preview
from ckks.errors import CKKSError, InputError, InsecureWarning, ParameterError, SecurityError, SerializationError
from ckks.scheme.parameters import MAX_MODULI, MAX_POLY_DEGREE, Parameters, digits_by_bits, equal_digits

__all__ = ["BootstrapConfig", "PRESETS", "preset", "bootstrapping_parameters"]

#: The key-switching digit partitions a configuration may ask for (`BootstrapConfig.digit_split`).
DIGIT_SPLITS = ("equal", "bits")

#: Marker for "the preset's own security level".
PRESET_SECURITY = "preset"


@dataclass(frozen=True)
class BootstrapConfig:
    """Ring, modulus chain and circuit shape of a bootstrappable parameter set.

    Attributes:
        name: the preset's name.
        poly_degree: N.
        slots: n, the slots refreshed (N/2 full packing, at most N/4 sparse packing).
        compute_levels: levels left for computation after a bootstrap.
        cts_levels: levels of CoeffsToSlots.
        stc_levels: levels of SlotsToCoeffs.
        eval_mod: the EvalMod polynomial.
        hamming_weight: h of the sparse ternary main secret, or None for a uniform ternary (dense) main secret
            (then ``ephemeral_hamming_weight`` should be set, or K must cover h ~ 2N/3).
        ephemeral_hamming_weight: h' of the ephemeral sparse secret of sparse-secret encapsulation (Bossuat,
            Troncoso-Pastoriza and Hubaux, ACNS 2022, ePrint 2022/024), or None (ModRaise under the main secret,
            the behaviour before encapsulation).  With h' set, the level-0 ciphertext is switched to s' (h'
            non-zero coefficients) before ModRaise, so K covers h' instead of h, and back to s at the top level
            (`ckks.circuits.bootstrapping.mod_raise.EncapsulationKeys`).
        security: 128, or None for the insecure teaching preset.
        q0_bits: size of q_0.
        scale_bits: log2 Delta (and size of the compute and SlotsToCoeffs primes).
        boot_bits: size of the CoeffsToSlots and EvalMod primes.
        special_bits: size of each special prime.
        dnum: key-switching digits of equal prime counts; they also size P (`special_count`).
        digit_split: "equal" (``dnum`` digits of equal prime counts, as SEAL) or "bits" (the same special
            primes, then digits filled up to P's size from q_0 up: `ckks.scheme.parameters.digits_by_bits`;
            fewer digits, smaller keys, the same key-switching noise bound D_j <= P).
        precision_bits: the promised precision: -log2 of the largest error on values |z| <= 1.
        cts_split: stage counts of the CoeffsToSlots groups in the order applied (largest strides first), or
            None (as even as possible, `ckks.circuits.bootstrapping.dft.split_stages`).
        stc_split: the same for SlotsToCoeffs (smallest strides first).  Groups over the same strides in
            both let SlotsToCoeffs reuse the CoeffsToSlots keys (`ckks.circuits.bootstrapping.dft.share_rotations`):
            the "128" preset splits its 15 stages (4, 3, 4, 4) and (4, 5, 6).  `with_options` drops a split
            that a change of ``slots``, ``poly_degree`` or the level counts invalidates.
    """

    name: str
    poly_degree: int
    slots: int
    compute_levels: int
    cts_levels: int
    stc_levels: int
    eval_mod: EvalModConfig = field(default_factory=lambda: EvalModConfig(8, 31, 3))
    hamming_weight: int = 16
    security: int | None = None
    q0_bits: int = 58
    scale_bits: int = 45
    boot_bits: int = 60
    special_bits: int = 60
    dnum: int = 4
    precision_bits: float = 18.0
    digit_split: str = "equal"
    cts_split: tuple[int, ...] | None = None
    stc_split: tuple[int, ...] | None = None
    ephemeral_hamming_weight: int | None = None

    def __post_init__(self):
        """Validate the ring, the slot count and the level counts.

        Raises:
            ParameterError: N is not a power of two >= 16, ``slots`` is neither N/2 nor a power of two
                up to N/4, a level count is not a positive integer, more DFT levels than stages,
                ``digit_split`` is neither "equal" nor "bits", or ``cts_split`` / ``stc_split`` is not None or
                one positive stage count per level summing to the stages, or ``hamming_weight`` /
                ``ephemeral_hamming_weight`` is not None or an integer in 1 .. N.
        """
        if self.digit_split not in DIGIT_SPLITS:
            raise ParameterError(
                f"digit_split must be one of {', '.join(map(repr, DIGIT_SPLITS))}, got {self.digit_split!r}"
            )
        n = self.poly_degree
        if isinstance(n, bool) or not isinstance(n, int) or n < 16 or n & (n - 1):
            raise ParameterError(f"poly_degree must be a power of two >= 16, got {n!r}")
        for name in ("hamming_weight", "ephemeral_hamming_weight"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= n):
                raise ParameterError(f"{name} must be None or an integer in 1 .. N = {n}, got {value!r}")
        s = self.slots
        if isinstance(s, bool) or not isinstance(s, int) or s < 2 or s & (s - 1) or s > n // 2 or (
            s != n // 2 and 2 * s > n // 2
        ):
            raise ParameterError(
                f"slots must be N/2 = {n // 2} (full packing) or a power of two in 2 .. N/4 = {n // 4} "
                f"(sparse packing), got {s!r}"
            )
        for name in ("compute_levels", "cts_levels", "stc_levels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "compute_levels" else 1):
                raise ParameterError(f"{name} must be a positive integer, got {value!r}")
        stages = s.bit_length() - 1
        if self.cts_levels > stages or self.stc_levels > stages:
            raise ParameterError(
                f"{s} slots give {stages} DFT stages: cts_levels and stc_levels must be at most {stages}"
            )
        for name, levels in (("cts_split", self.cts_levels), ("stc_split", self.stc_levels)):
            split = getattr(self, name)
            if split is None:
                continue
            sizes = tuple(split) if isinstance(split, (list, tuple)) else None
            if (sizes is None or len(sizes) != levels or sum(sizes) != stages
                    or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in sizes)):
                raise ParameterError(
                    f"{name} must be None or {levels} positive stage counts summing to the {stages} DFT stages of "
                    f"{s} slots, got {split!r}"
                )
            object.__setattr__(self, name, sizes)

    @property
    def full_packing(self) -> bool:
        """True when every one of the N/2 slots is refreshed."""
        return self.slots == self.poly_degree // 2

    @property
    def depth(self) -> int:
        """Levels one bootstrap consumes: CoeffsToSlots + EvalMod + SlotsToCoeffs."""
        return self.cts_levels + self.eval_mod.levels + self.stc_levels

    @property
    def max_level(self) -> int:
        """L, the level ModRaise lifts to."""
        return self.compute_levels + self.depth

    @property
    def message_ratio_bits(self) -> float:
        """log2(q_0 / Delta)."""
        return float(self.q0_bits - self.scale_bits)

    def data_bits(self) -> list[int]:
        """Sizes of the data primes q_0 .. q_L."""
        return (
            [self.q0_bits]
            + [self.scale_bits] * (self.compute_levels + self.stc_levels)
            + [self.boot_bits] * (self.eval_mod.levels + self.cts_levels)
        )

    @property
    def special_count(self) -> int:
        """Special primes needed so that P covers the largest key-switching digit."""
        bits = self.data_bits()
        size = math.ceil(len(bits) / self.dnum)
        digit = max(sum(bits[i : i + size]) for i in range(0, len(bits), size))
        return math.ceil((digit + 1) / (self.special_bits - 1))

    def digit_primes(self) -> list[int] | None:
        """The key-switching digit partition (primes per digit) for ``digit_split="bits"``, else None (``dnum``)."""
        if self.digit_split == "equal":
            return None
        return digits_by_bits(self.moduli_bits(), self.special_count)

    @property
    def digit_count(self) -> int:
        """How many key-switching digits the parameters get (``dnum``, or the length of `digit_primes`)."""
        sizes = self.digit_primes()
        return self.dnum if sizes is None else len(sizes)

    def moduli_bits(self) -> list[int]:
        """The SEAL-style ``moduli_bits``: data primes, then the special primes."""
        return self.data_bits() + [self.special_bits] * self.special_count

    @property
    def total_bits(self) -> int:
        """About log2(QP)."""
        return sum(self.moduli_bits())

    def with_options(self, **changes) -> BootstrapConfig:
        """A copy with some fields changed (e.g. ``slots=64`` for sparse packing, a smaller ``poly_degree``).

        Raises:
            ParameterError: the changed configuration is invalid.
            InputError: an unknown field name.
        """
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            known = sorted(self.__dataclass_fields__)
            raise InputError(f"unknown bootstrapping options {sorted(unknown)}; known: {known}")
        if "poly_degree" in changes and "slots" not in changes and self.full_packing:
            changes["slots"] = changes["poly_degree"] // 2
        for name, levels in (("cts_split", "cts_levels"), ("stc_split", "stc_levels")):
            reshaped = any(key in changes and changes[key] != getattr(self, key) for key in ("slots", levels))
            if name not in changes and reshaped:
                changes[name] = None  # the preset's split was for its own stage and level counts
        return replace(self, **changes)

    # -- serialization (the "bootstrapping" field of a context blob, `ckks.context`) -------------------
    def to_header(self) -> dict:
        """The JSON description of this configuration that a serialized context embeds.

        Returns:
            A dict of every field (``eval_mod`` as ``{k_range, degree, double_angles}``).
        """
        return {
            "name": self.name,
            "poly_degree": self.poly_degree,
            "slots": self.slots,
            "compute_levels": self.compute_levels,
            "cts_levels": self.cts_levels,
            "stc_levels": self.stc_levels,
            "eval_mod": {
                "k_range": self.eval_mod.k_range,
                "degree": self.eval_mod.degree,
                "double_angles": self.eval_mod.double_angles,
            } | ({"arcsine_degree": self.eval_mod.arcsine_degree} if self.eval_mod.arcsine_degree else {}),
            "hamming_weight": self.hamming_weight,
            "security": self.security,
            "q0_bits": self.q0_bits,
            "scale_bits": self.scale_bits,
            "boot_bits": self.boot_bits,
            "special_bits": self.special_bits,
            "dnum": self.dnum,
            "precision_bits": self.precision_bits,
        } | ({} if self.digit_split == "equal" else {"digit_split": self.digit_split}) | {
            name: list(getattr(self, name)) for name in ("cts_split", "stc_split") if getattr(self, name) is not None
        } | {name: getattr(self, name) for name in ("ephemeral_hamming_weight",) if getattr(self, name) is not None}

    @classmethod
    def from_fields(cls, fields: Fields, params: Parameters) -> BootstrapConfig:
        """Read a configuration written by [`to_header`][ckks.circuits.bootstrapping.presets.BootstrapConfig.to_header].

        Every field is checked for type and range, the configuration must be valid, and it must
        describe exactly ``params`` (ring, prime sizes, special primes, digits, secret weight, scale):
        the parameters [`bootstrapping_parameters`][ckks.circuits.bootstrapping.presets.bootstrapping_parameters]
        builds from it.

        Args:
            fields: the configuration object (all of it is read; unknown fields are refused).
            params: the parameters of the context it belongs to.

        Returns:
            The configuration.

        Raises:
            SerializationError: a field is missing, of the wrong type or out of range, unexpected, the
                configuration is invalid, or it does not match ``params``.
        """
        name = fields.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 64 or not name.isprintable():
            raise SerializationError(f"{fields.name('name')} must be a string of 1..64 characters, got {preview(name)}")
        poly_degree = fields.integer("poly_degree", 16, MAX_POLY_DEGREE)
        slots = fields.integer("slots", 2, poly_degree // 2)
        compute_levels = fields.integer("compute_levels", 0, MAX_MODULI)
        cts_levels = fields.integer("cts_levels", 1, MAX_MODULI)
        stc_levels = fields.integer("stc_levels", 1, MAX_MODULI)
        mod = fields.sub("eval_mod")
        k_range = mod.integer("k_range", 1, 1 << 16)
        degree = mod.integer("degree", 1, 1 << 12)
        double_angles = mod.integer("double_angles", 0, 16)
        arcsine_degree = mod.integer("arcsine_degree", 0, 15) if "arcsine_degree" in mod.obj else 0
        mod.done()
        hamming_weight = fields.integer("hamming_weight", 1, poly_degree, optional=True)
        security = fields.choice("security", (None, 128, 192, 256))
        bits = {key: fields.integer(key, 2, 61) for key in ("q0_bits", "scale_bits", "boot_bits", "special_bits")}
        dnum = fields.integer("dnum", 1, MAX_MODULI)
        precision_bits = fields.number("precision_bits", 0.0, 64.0)
        digit_split = fields.choice("digit_split", DIGIT_SPLITS) if "digit_split" in fields.obj else "equal"
        splits = {name: tuple(fields.int_list(name, MAX_MODULI, 1, MAX_MODULI)) if name in fields.obj else None
                  for name in ("cts_split", "stc_split")}
        ephemeral = (fields.integer("ephemeral_hamming_weight", 1, poly_degree)
                     if "ephemeral_hamming_weight" in fields.obj else None)
        fields.done()
        try:
            config = cls(
                name=name, poly_degree=poly_degree, slots=slots, compute_levels=compute_levels,
                cts_levels=cts_levels, stc_levels=stc_levels,
                eval_mod=EvalModConfig(k_range, degree, double_angles, arcsine_degree), hamming_weight=hamming_weight,
                security=security, dnum=dnum, precision_bits=precision_bits, digit_split=digit_split, **splits, **bits,
                ephemeral_hamming_weight=ephemeral,
            )
            moduli_bits = config.moduli_bits()
            special_count = config.special_count
            digit_sizes = tuple(config.digit_primes() or equal_digits(len(config.data_bits()), config.dnum))
        except CKKSError as exc:
            raise SerializationError(f"{fields.path} describes an invalid bootstrapping configuration: {exc}") from None
        expected = {
            "poly_degree": (config.poly_degree, params.poly_degree),
            "moduli_bits": (tuple(moduli_bits), tuple(params.moduli_bits)),
            "special_count": (special_count, params.special_count),
            "dnum": (config.digit_count, params.dnum),
            "digit_primes": (digit_sizes, params.digit_sizes),
            "hamming_weight": (config.hamming_weight, params.hamming_weight),
            "scale_bits": (float(config.scale_bits), params.scale_bits),
        }
        for what, (mine, theirs) in expected.items():
            if mine != theirs:
                raise SerializationError(
                    f"{fields.path} does not match the context's parameters: it gives {what} = "
                    f"{preview(mine)}, the parameters have {preview(theirs)}"
                )
        return config


#: The named presets (see the module docstring).
PRESETS: dict[str, BootstrapConfig] = {
    "teaching": BootstrapConfig(
        name="teaching", poly_degree=1 << 12, slots=1 << 11, compute_levels=3, cts_levels=3, stc_levels=3,
        eval_mod=EvalModConfig(8, 31, 3), hamming_weight=16, security=None, precision_bits=22.0,
    ),
    "128": BootstrapConfig(
        name="128", poly_degree=1 << 16, slots=1 << 15, compute_levels=6, cts_levels=4, stc_levels=3,
        eval_mod=EvalModConfig(16, 55, 2, 3), hamming_weight=None, ephemeral_hamming_weight=32, security=128,
        q0_bits=54, scale_bits=46, boot_bits=61, special_bits=61, dnum=4, precision_bits=19.0, digit_split="bits",
        cts_split=(4, 3, 4, 4), stc_split=(4, 5, 6),
    ),
}


def preset(name: str, **changes) -> BootstrapConfig:
    """The preset ``name`` ("teaching" or "128"), optionally with fields changed.

    Args:
        name: the preset name.
        **changes: fields of [`BootstrapConfig`][ckks.circuits.bootstrapping.presets.BootstrapConfig] to change.

    Returns:
        The configuration.

    Raises:
        ParameterError: unknown preset name, or an invalid change.
        InputError: an unknown field name.
    """
    if name not in PRESETS:
        raise ParameterError(f"unknown bootstrapping preset {name!r}; choose one of {sorted(PRESETS)}")
    config = PRESETS[name]
    return config.with_options(**changes) if changes else config


def bootstrapping_parameters(config: BootstrapConfig, security: int | None | str = PRESET_SECURITY) -> Parameters:
    """The [`Parameters`][ckks.scheme.parameters.Parameters] of a bootstrapping configuration.

    Args:
        config: the configuration (a preset, possibly changed).
        security: "preset" (the preset's own level), 128, or None.  An insecure
            configuration (the teaching preset, or any ``config.security=None``) needs
            ``security=None`` or "preset"; asking it for 128 bits raises.

    Returns:
        Parameters with ``config.moduli_bits()``, the special primes, ``dnum`` and the sparse secret.

    Raises:
        SecurityError: 128-bit security asked of an insecure configuration, or the chain exceeds
            the bound of the HE standard for N.
        ParameterError: invalid parameters.
    """
    if security == PRESET_SECURITY:
        security = config.security
    if security is not None and config.security is None:
        raise SecurityError(
            f"the {config.name!r} bootstrapping preset is insecure (N = {config.poly_degree}, {_secret(config)}, "
            f"log2(QP) = {config.total_bits}): it exists for teaching and tests only; "
            "pass security=None to use it, or use preset='128'"
        )
    with warnings.catch_warnings():
        if security is None:
            warnings.simplefilter("ignore", InsecureWarning)
        params = Parameters(
            config.poly_degree, config.moduli_bits(), config.scale_bits, security=security,
            dnum=config.dnum if config.digit_split == "equal" else None, digit_primes=config.digit_primes(),
            special_count=config.special_count, hamming_weight=config.hamming_weight,
        )
    if security is None:
        warnings.warn(
            f"bootstrapping preset {config.name!r} with security=None: N = {config.poly_degree} and a "
            f"{_secret(config)} are INSECURE; use them only for teaching",
            InsecureWarning, stacklevel=3,
        )
    return params


def _secret(config: BootstrapConfig) -> str:
    """The main secret of a configuration, in words (for messages)."""
    main = "dense secret" if config.hamming_weight is None else f"sparse secret h = {config.hamming_weight}"
    weight = config.ephemeral_hamming_weight
    return main if weight is None else f"{main} (ephemeral h' = {weight})"
