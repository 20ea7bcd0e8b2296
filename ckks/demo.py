"""The README demo: encrypt two vectors, compute x*y + x, decrypt, compare with numpy.

Run it with ``python -m ckks.demo`` (or the ``ckks-demo`` script).
"""

from __future__ import annotations

import numpy as np

import ckks
from ckks.precision import precision_bits


def main() -> None:
    """Encrypt two random vectors of 8 values, compute x*y + x, and print it next to numpy's result."""
    ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
    rng = np.random.default_rng()
    x = rng.uniform(-1, 1, 8)
    y = rng.uniform(-1, 1, 8)
    enc_x, enc_y = ctx.encrypt(x), ctx.encrypt(y)
    result = enc_x * enc_y + enc_x
    decrypted = result.decrypt()
    expected = x * y + x
    print(f"parameters: {ctx.params}")
    print(f"result at level {result.level}, scale 2^{np.log2(result.scale):.2f}")
    print(f"{'encrypted x*y + x':>20}  {'numpy x*y + x':>16}  {'error':>9}")
    for got, want in zip(decrypted, expected):
        print(f"{got:>20.10f}  {want:>16.10f}  {abs(got - want):9.2e}")
    print(f"bits of precision: {precision_bits(decrypted, expected):.1f}")


if __name__ == "__main__":
    main()
