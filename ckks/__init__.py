"""ckks: the CKKS homomorphic-encryption scheme from scratch, in Python and numba.

High level (TenSEAL-like)::

    import ckks
    ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
    v = ctx.encrypt([1.0, 2.0, 3.0])
    w = v * v + 3.0 * v - [1.0, 2.0, 3.0]
    print(w.decrypt(), w.level, w.scale)

Low level (SEAL-shaped): Parameters, KeyGenerator, Encoder, Encryptor,
Decryptor, Evaluator, Plaintext, Ciphertext.
"""

from . import chebyshev, errors, flooding, linalg, polyeval, rotation, serialize
from .ciphertext import Ciphertext, Plaintext
from .encoder import Encoder
from .encryption import Decryptor, Encryptor
from .evaluator import Evaluator
from .keys import KeyGenerator, PublicKey, RelinKey, SecretKey
from .matrix import CKKSMatrix
from .params import Parameters
from .rotation import GaloisKeys, Rotator, create_galois_keys
from .vector import CKKSVector, Context

__version__ = "0.1.0"

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
    "chebyshev",
    "create_galois_keys",
    "errors",
    "flooding",
    "linalg",
    "polyeval",
    "rotation",
    "serialize",
]
