"""Reference solution: the CKKS encoder with numpy's FFT, O(N log N).

With zeta = exp(i pi / N) and k = 2t + 1,

    m(zeta^(2t+1)) = sum_i (m_i zeta^i) exp(2 pi i t i / N) = N * ifft(m_i zeta^i)[t],

so decoding twists the coefficients by zeta^i and takes one inverse FFT; encoding
places z_j at t = (5^j - 1) / 2 and conj(z_j) at t = (-5^j - 1) / 2 mod N, takes one FFT
and untwists.
"""

from __future__ import annotations

import numpy as np


def _slot_positions(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index t (root zeta^(2t+1)) of slot j and of its conjugate."""
    powers = np.array([pow(5, j, 2 * n) for j in range(n // 2)], dtype=np.int64)
    return (powers - 1) // 2, (2 * n - powers - 1) // 2


def encode(values, n: int, scale: float) -> np.ndarray:
    """The N integer coefficients round(scale * sigma^-1(z, conj(z))) as an int64 array."""
    z = np.zeros(n // 2, dtype=np.complex128)
    given = np.asarray(values, dtype=np.complex128).reshape(-1)
    z[: given.size] = given
    index, conj_index = _slot_positions(n)
    w = np.zeros(n, dtype=np.complex128)
    w[index] = z
    w[conj_index] = np.conj(z)
    twist = np.exp(1j * np.pi * np.arange(n) / n)
    coefficients = (np.fft.fft(w) / n * np.conj(twist)).real
    return np.rint(coefficients * scale).astype(np.int64)


def decode(coefficients, n: int, scale: float) -> np.ndarray:
    """The n/2 complex slots m(zeta^(5^j mod 2n)) / scale."""
    m = np.asarray(coefficients, dtype=np.float64)
    twist = np.exp(1j * np.pi * np.arange(n) / n)
    values = np.fft.ifft(m * twist) * n
    return values[_slot_positions(n)[0]] / scale
