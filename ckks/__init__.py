"""ckks: the CKKS homomorphic-encryption scheme from scratch, in Python and numba.

High level (TenSEAL-like)::

    import ckks
    ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
    v = ctx.encrypt([1.0, 2.0, 3.0])
    w = v * v + 3.0 * v - [1.0, 2.0, 3.0]
    print(w.decrypt(), w.level, w.scale)

Low level (SEAL-shaped): Parameters, KeyGenerator, Encoder, Encryptor,
Decryptor, Evaluator, Plaintext, Ciphertext.

The package is layered; each layer imports only the layers before it::

    errors, validation, container      exceptions, argument checks, the byte format
    ring/       arithmetic mod word-sized primes: primes, modarith, NTT, RNS, sampling
    security/   the HE-standard table, noise flooding
    scheme/     CKKS: parameters, encoder, keys, key switching, encryption, evaluator, rotations
    circuits/   linear transforms, matrix products, polynomials, Chebyshev fits
    vector, matrix, context            the high-level API
    attacks, demo, interop             programs built on the API
    deprecated                         shims for the 0.1.0 names that moved (DeprecationWarning)

``docs/architecture.md`` draws the diagram and says where a new feature goes.
"""

from ckks import circuits, errors, ring, scheme, security
from ckks import deprecated as _deprecated
from ckks.context import Context
from ckks.matrix import CKKSMatrix
from ckks.scheme.ciphertext import Ciphertext, Plaintext
from ckks.scheme.encoder import Encoder
from ckks.scheme.encryption import Decryptor, Encryptor
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.keys import GaloisKeys, KeyGenerator, PublicKey, RelinKey, SecretKey
from ckks.scheme.parameters import Parameters
from ckks.scheme.rotation import Rotator
from ckks.vector import CKKSVector, ckks_vector, enc_matmul_encoding, im2col_encoding

#: The release (semantic versioning, CHANGELOG.md); pyproject.toml and nn.__version__ say the same
#: (tests/test_version.py checks it).
__version__ = "0.2.0"

_deprecated.install()


def __getattr__(name: str):
    """The names removed in 0.2.0 (``ckks.linalg``, ``ckks.create_galois_keys``, ...), with a DeprecationWarning.

    Args:
        name: the attribute.

    Returns:
        The shim (`ckks.deprecated`).

    Raises:
        AttributeError: ``name`` is not an attribute of ckks, old or new.
    """
    return _deprecated.package_attribute(name)

__all__ = [
    "CKKSMatrix",
    "CKKSVector",
    "Ciphertext",
    "Context",
    "Decryptor",
    "Encoder",
    "Encryptor",
    "Evaluator",
    "GaloisKeys",
    "KeyGenerator",
    "Parameters",
    "Plaintext",
    "PublicKey",
    "RelinKey",
    "Rotator",
    "SecretKey",
    "circuits",
    "ckks_vector",
    "enc_matmul_encoding",
    "errors",
    "im2col_encoding",
    "ring",
    "scheme",
    "security",
]
