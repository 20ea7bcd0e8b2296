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

from . import errors
from .ciphertext import Ciphertext, Plaintext
from .encoder import Encoder
from .encryption import Decryptor, Encryptor
from .evaluator import Evaluator
from .keys import KeyGenerator, PublicKey, RelinKey, SecretKey
from .params import Parameters
from .vector import CKKSVector, Context

__version__ = "0.1.0"

__all__ = [
    "CKKSVector",
    "Ciphertext",
    "Context",
    "Decryptor",
    "Encoder",
    "Encryptor",
    "Evaluator",
    "KeyGenerator",
    "Parameters",
    "Plaintext",
    "PublicKey",
    "RelinKey",
    "SecretKey",
    "errors",
]
