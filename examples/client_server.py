"""Client/server: the server computes on encrypted data it cannot read.

The client owns the secret key.  It sends the server two things, as bytes:
the *public* context (parameters, public key, relinearization and Galois
keys; no secret key) and its encrypted features.  The server loads them,
evaluates a small model (a linear score followed by a quadratic activation,
all on ciphertexts) and sends the encrypted result back; only the client can
decrypt it.  Everything crosses the wire in the binary format of
`ckks.container` (a JSON header and raw arrays, never pickle), and every load
checks the bytes and that they belong to the expected context.

Run: python examples/client_server.py
"""

from __future__ import annotations

import numpy as np

import ckks
from ckks.errors import KeyMissingError

WEIGHTS = np.array([0.5, -1.0, 0.25, 2.0, -0.75, 1.5, 0.1, -0.3])
BIAS = 0.2


class Client:
    """Holds the secret key; encrypts requests and decrypts answers."""

    def __init__(self) -> None:
        self.ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
        # Rotations by 1, 2, 4, ... are what the server's sum needs.
        self.ctx.generate_galois_keys(steps=[2**i for i in range(12)], progress=False)

    def public_context(self) -> bytes:
        return self.ctx.serialize()  # secret_key=False is the default

    def request(self, features: np.ndarray) -> bytes:
        # symmetric=True: a fresh secret-key encryption travels as c_0 and a seed, half the size.
        return self.ctx.encrypt(features, symmetric=True).serialize()

    def read(self, answer: bytes) -> float:
        return float(ckks.CKKSVector.load(self.ctx, answer).decrypt()[0])


def server(public_context: bytes, request: bytes) -> bytes:
    """score = x . w + b, then the activation score^2 + score, on ciphertexts (2 levels)."""
    ctx = ckks.Context.load(public_context)
    x = ckks.CKKSVector.load(ctx, request)
    try:
        x.decrypt()
    except KeyMissingError as error:
        print(f"server: cannot decrypt ({error})")
    score = x.dot(WEIGHTS) + BIAS
    answer = score * (score + 1.0)
    return answer.serialize()


def main() -> None:
    client = Client()
    features = np.random.default_rng(7).uniform(-1, 1, WEIGHTS.size)
    context_bytes, request_bytes = client.public_context(), client.request(features)
    print(f"client -> server: public context {len(context_bytes) / 1e6:.2f} MB, ", end="")
    print(f"request {len(request_bytes) / 1e3:.0f} kB")
    answer = server(context_bytes, request_bytes)
    print(f"server -> client: answer {len(answer) / 1e3:.0f} kB")
    got = client.read(answer)
    score = features @ WEIGHTS + BIAS
    want = score**2 + score
    print(f"decrypted {got:.6f}, plaintext model {want:.6f}, error {abs(got - want):.1e}")


if __name__ == "__main__":
    main()
