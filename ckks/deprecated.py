"""Shims for the public names that moved or were removed in 0.2.0, each emitting DeprecationWarning.

The deprecation policy (``CHANGELOG.md``, ``docs/changelog.md``): a public name that is
renamed, moved or removed keeps working for one minor version after the release that
changed it, through a shim that emits `DeprecationWarning` naming the replacement;
the next minor version removes the shim (``REMOVED_IN``; a test fails once the package
version reaches it, so that the release does).

What 0.2.0 moved (the architecture split into ``ring``, ``security``, ``scheme`` and
``circuits``, and the container format of each type):

* the modules ``ckks.linalg`` (now `ckks.circuits.linear_transform` and
  `ckks.circuits.matrix_product`), ``ckks.polyeval`` (`ckks.circuits.polynomial`),
  ``ckks.chebyshev`` (`ckks.circuits.chebyshev`), ``ckks.flooding``
  (`ckks.security.flooding`), ``ckks.rotation`` (`ckks.scheme.rotation`,
  `ckks.scheme.automorphism`, `ckks.scheme.keys`), ``ckks.serialize`` (`ckks.container`
  and each type's ``serialize()``), ``ckks.params``, ``ckks.keys``, ``ckks.ciphertext``,
  ``ckks.encoder``, ``ckks.encryption``, ``ckks.evaluator``, ``ckks.keyswitch``
  (`ckks.scheme`), ``ckks.inspect`` (`ckks.precision`), ``ckks.poly`` and ``ckks.primes``,
  ``ckks.modarith``, ``ckks.ntt``, ``ckks.rns``, ``ckks.sampling``, ``ckks.reference``
  (`ckks.ring`): ``import ckks.linalg`` and ``from ckks.linalg import X`` still work, and so
  does ``ckks.linalg`` as an attribute of the package;
* the functions ``ckks.create_galois_keys(keygen, ...)``
  (`KeyGenerator.create_galois_keys`) and ``ckks.serialize.dumps(obj)`` (``obj.serialize()``);
* ``ckks.vector.Context`` (`ckks.context.Context`, also ``ckks.Context``);
* assigning ``Ciphertext.scale`` (`Ciphertext.with_scale`; the setter lives on the class).

This module sits at the top layer (it imports the layers it forwards to); the shim modules
are made on import by a finder on ``sys.meta_path``, so no stub file per old module is needed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Callable
from typing import TextIO

import numpy as np

#: The version whose release deprecated the names below, and the one that removes their shims.
DEPRECATED_IN = "0.2.0"
REMOVED_IN = "0.3.0"

#: Old module -> the modules its names live in now (searched in order).
MOVED_MODULES: dict[str, tuple[str, ...]] = {
    "ckks.linalg": ("ckks.circuits.linear_transform", "ckks.circuits.matrix_product"),
    "ckks.polyeval": ("ckks.circuits.polynomial",),
    "ckks.chebyshev": ("ckks.circuits.chebyshev",),
    "ckks.flooding": ("ckks.security.flooding",),
    "ckks.rotation": ("ckks.scheme.rotation", "ckks.scheme.automorphism", "ckks.scheme.keys"),
    "ckks.serialize": ("ckks.container", "ckks.scheme.parameters", "ckks.scheme.keys"),
    "ckks.params": ("ckks.scheme.parameters", "ckks.security.standard"),
    "ckks.keys": ("ckks.scheme.keys",),
    "ckks.ciphertext": ("ckks.scheme.ciphertext",),
    "ckks.encoder": ("ckks.scheme.encoder",),
    "ckks.encryption": ("ckks.scheme.encryption",),
    "ckks.evaluator": ("ckks.scheme.evaluator",),
    "ckks.keyswitch": ("ckks.scheme.keyswitch", "ckks.scheme.parameters"),
    "ckks.inspect": ("ckks.precision",),
    "ckks.poly": ("ckks.ring.ntt",),
    "ckks.primes": ("ckks.ring.primes",),
    "ckks.modarith": ("ckks.ring.modarith",),
    "ckks.ntt": ("ckks.ring.ntt",),
    "ckks.rns": ("ckks.ring.rns",),
    "ckks.sampling": ("ckks.ring.sampling",),
    "ckks.reference": ("ckks.ring.reference",),
}

#: Old package attributes that were modules (``ckks.linalg`` without importing it first).
PACKAGE_MODULES = ("chebyshev", "flooding", "linalg", "polyeval", "rotation", "serialize")


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside the import machinery and this shim code."""
    frame = sys._getframe(1)  # warn()'s frame: stacklevel 1
    level = 1
    mine = {__file__, __file__.replace("deprecated.py", "__init__.py")}

    def internal(filename: str) -> bool:
        return filename in mine or filename.startswith("<frozen") or "importlib" in filename

    while frame is not None and internal(frame.f_code.co_filename):
        frame = frame.f_back
        name = frame.f_code.co_filename if frame is not None else ""
        level += not ("importlib" in name and "_bootstrap" in name)  # frames warnings.warn skips itself
    return level


def warn(old: str, new: str) -> None:
    """Emit the DeprecationWarning of ``old``, naming its replacement ``new`` and the removal version.

    Args:
        old: the deprecated name, as the user wrote it.
        new: what to use instead.
    """
    warnings.warn(
        f"{old} is deprecated since {DEPRECATED_IN} and will be removed in {REMOVED_IN}; use {new}",
        DeprecationWarning,
        stacklevel=_caller_stacklevel(),
    )


# -- the removed functions, as they were called ------------------------------------------------------------


def create_galois_keys(
    keygen, steps: list[int] | None = None, conjugation: bool | None = None, progress: bool = False,
    stream: TextIO | None = None,
):
    """Deprecated: ``keygen.create_galois_keys(steps, conjugation, progress, stream)``.

    Args:
        keygen: the KeyGenerator holding the secret key.
        steps: rotation steps, or None for the default +-2^i.
        conjugation: also make the conjugation key (default: only with the default steps).
        progress: print a progress bar.
        stream: where the bar goes (default: stderr).

    Returns:
        The GaloisKeys, as `KeyGenerator.create_galois_keys` returns them.

    Raises:
        InputTypeError: ``keygen`` is not a KeyGenerator, or an argument has the wrong type.
    """
    from ckks.errors import InputTypeError
    from ckks.scheme.keys import KeyGenerator

    warn("ckks.create_galois_keys(keygen, ...)", "keygen.create_galois_keys(...) (ckks.KeyGenerator)")
    if not isinstance(keygen, KeyGenerator):
        raise InputTypeError(f"create_galois_keys takes a ckks.KeyGenerator, got {type(keygen).__name__}")
    options = {"conjugation": conjugation, "progress": progress}
    if stream is not None:  # only when given: the progress bar's own default otherwise
        options["stream"] = stream
    return keygen.create_galois_keys(steps, **options)


def dumps(obj, *, secret_key: bool = False, compact: bool = True) -> bytes:
    """Deprecated: ``obj.serialize()`` (``ctx.serialize(secret_key=...)``, ``v.serialize(compact=...)``).

    Args:
        obj: Parameters, a key, a Plaintext, a Ciphertext, a CKKSVector or a Context.
        secret_key: for a Context, include the secret key.
        compact: for a ciphertext or vector, store a fresh symmetric one as c_0 and its seed.

    Returns:
        The bytes of ``obj.serialize(...)``.

    Raises:
        InputTypeError: ``obj`` has no ``serialize`` method.
    """
    from ckks.context import Context
    from ckks.errors import InputTypeError
    from ckks.scheme.ciphertext import Ciphertext
    from ckks.vector import CKKSVector

    warn("ckks.serialize.dumps(obj)", "obj.serialize() (ckks.serialize.loads: ckks.container.loads)")
    if isinstance(obj, Context):
        return obj.serialize(secret_key=secret_key)
    if isinstance(obj, (Ciphertext, CKKSVector)):
        return obj.serialize(compact=compact)
    if not callable(getattr(obj, "serialize", None)):
        raise InputTypeError(
            f"cannot serialize a {type(obj).__name__}; dumps takes Parameters, SecretKey, PublicKey, RelinKey, "
            "GaloisKeys, Plaintext, Ciphertext, CKKSVector or Context"
        )
    return obj.serialize()


def to_ntt(values: np.ndarray, params, rows: np.ndarray) -> np.ndarray:
    """Deprecated (was ckks.poly.to_ntt): signed coefficients (N,) -> NTT form over the primes of ``rows``.

    Args:
        values: the signed integer coefficients.
        params: the Parameters.
        rows: the indices of the primes.

    Returns:
        The residues in NTT form, shape (len(rows), N).
    """
    from ckks.ring.modarith import reduce_signed

    out = np.empty((len(rows), params.poly_degree), dtype=np.uint64)
    reduce_signed(np.asarray(values, dtype=np.int64), params.moduli_array[rows], out)
    return params.tables.forward(out, rows)


def from_ntt(data: np.ndarray, params, rows: np.ndarray) -> np.ndarray:
    """Deprecated (was ckks.poly.from_ntt): NTT form -> coefficient form (a new array).

    Args:
        data: the residues in NTT form.
        params: the Parameters.
        rows: the indices of the primes.

    Returns:
        The residues in coefficient form.
    """
    return params.tables.inverse(data.copy(), rows)


def uniform_ntt(prng, params, rows: np.ndarray) -> np.ndarray:
    """Deprecated (was ckks.poly.uniform_ntt): a uniformly random polynomial over the primes of ``rows``.

    Args:
        prng: a ckks.ring.sampling.PRNG.
        params: the Parameters.
        rows: the indices of the primes.

    Returns:
        Uniform residues, shape (len(rows), N).
    """
    moduli = params.all_moduli
    return np.stack([prng.uniform_mod(moduli[r], params.poly_degree) for r in rows])


#: Names of old modules that no module holds any more: (old module, name) -> the shim object.
_REMOVED: dict[tuple[str, str], object] = {
    ("ckks.rotation", "create_galois_keys"): create_galois_keys,
    ("ckks.serialize", "dumps"): dumps,
    ("ckks.poly", "to_ntt"): to_ntt,
    ("ckks.poly", "from_ntt"): from_ntt,
    ("ckks.poly", "uniform_ntt"): uniform_ntt,
}


# -- the old modules -----------------------------------------------------------------------------------------


def _forwarding_module(name: str) -> types.ModuleType:
    """A module whose attributes are looked up in the modules ``name`` moved to (and the removed functions)."""
    targets = [importlib.import_module(t) for t in MOVED_MODULES[name]]
    module = types.ModuleType(name, f"Deprecated alias of {', '.join(MOVED_MODULES[name])} (ckks.deprecated).")

    def __getattr__(attr: str):
        if (name, attr) in _REMOVED:
            return _REMOVED[(name, attr)]
        for target in targets:
            if hasattr(target, attr):
                return getattr(target, attr)
        raise AttributeError(f"module {name!r} (now {', '.join(MOVED_MODULES[name])}) has no attribute {attr!r}")

    def __dir__() -> list[str]:
        names = {n for t in targets for n in dir(t) if not n.startswith("_")}
        return sorted(names | {a for m, a in _REMOVED if m == name})

    module.__getattr__ = __getattr__
    module.__dir__ = __dir__
    return module


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return _forwarding_module(spec.name)

    def exec_module(self, module) -> None:
        warn(f"the module {module.__name__}", " / ".join(MOVED_MODULES[module.__name__]))


class _Finder(importlib.abc.MetaPathFinder):
    """Finds the old module names (and only those) and makes their forwarding modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED_MODULES:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def install() -> None:
    """Put the finder of the old module names on ``sys.meta_path`` (once) and ``ckks.vector.Context`` back."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
    import ckks.vector

    if "__getattr__" not in vars(ckks.vector):
        ckks.vector.__getattr__ = _vector_getattr


def _vector_getattr(attr: str):
    if attr == "Context":
        from ckks.context import Context

        warn("ckks.vector.Context", "ckks.Context (ckks.context.Context)")
        return Context
    raise AttributeError(f"module 'ckks.vector' has no attribute {attr!r}")


def package_attribute(attr: str) -> Callable | types.ModuleType:
    """``ckks.<attr>`` for a name the package no longer defines (its ``__getattr__``).

    Args:
        attr: the attribute name.

    Returns:
        The old module (a forwarding module, imported with a warning) or the shim function.

    Raises:
        AttributeError: ``attr`` was never a public name of ckks.
    """
    if attr == "create_galois_keys":
        return create_galois_keys  # warns when called
    if attr in PACKAGE_MODULES:
        return importlib.import_module(f"ckks.{attr}")
    raise AttributeError(f"module 'ckks' has no attribute {attr!r}")
