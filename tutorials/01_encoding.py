# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Encoding: the canonical embedding
#
# CKKS computes on polynomials; we want to compute on vectors of real or complex numbers. The
# encoder maps a vector $z \in \mathbb{C}^{N/2}$ to a polynomial $m \in \mathbb{Z}[X]/(X^N+1)$ so
# that adding and multiplying polynomials adds and multiplies the vectors slot by slot.
#
# In this tutorial we build the encoder by hand with numpy for a tiny ring ($N = 8$), check the
# library's encoder against it, see why the slots sit where they sit, and measure how the scale
# $\Delta$ sets the precision. (See also the [concept page](../concepts/encoding.md).)

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np

import ckks
from ckks.errors import InsecureWarning
from ckks.precision import precision_bits
from tutorials.figures import show

warnings.simplefilter("ignore", InsecureWarning)  # the tiny teaching rings below are insecure on purpose
np.set_printoptions(precision=4, suppress=True, linewidth=100)

# %% [markdown]
# ## The roots of $X^N + 1$
#
# With $\zeta = e^{i\pi/N}$, a primitive $2N$-th root of unity, the $N$ roots of $X^N + 1$ are the odd
# powers $\zeta^k$, $k = 1, 3, \dots, 2N - 1$. Evaluating a polynomial at all of them is the
# *canonical embedding* $\sigma$, and it is a matrix: the Vandermonde matrix of the roots.

# %%
N = 8
zeta = np.exp(1j * np.pi / N)
odd = np.arange(1, 2 * N, 2)
roots = zeta**odd
assert np.allclose(roots**N, -1), "every odd power of zeta is a root of X^N + 1"
V = roots[:, None] ** np.arange(N)[None, :]  # V[r, i] = root_r ** i
print("roots of X^8 + 1:", roots)

# %% [markdown]
# ## Products of polynomials are products of values
#
# Reducing modulo $X^N + 1$ does not change a polynomial's value at a root of $X^N + 1$, so
# $\sigma(a \cdot b) = \sigma(a) \odot \sigma(b)$ for the *negacyclic* product ($X^N = -1$).


# %%
def negacyclic_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b in R[X]/(X^N + 1): the full product, with X^(N+k) folded back as -X^k."""
    full = np.convolve(a, b)
    n = len(a)
    out = full[:n].copy()
    out[: len(full) - n] -= full[n:]
    return out


rng = np.random.default_rng(1)
a = rng.integers(-5, 6, N).astype(float)
b = rng.integers(-5, 6, N).astype(float)
assert np.allclose(V @ negacyclic_mul(a, b), (V @ a) * (V @ b))
print("sigma(a*b) == sigma(a) * sigma(b): True")

# %% [markdown]
# ## Only $N/2$ values are free
#
# A *real* polynomial takes conjugate values at conjugate roots: $m(\bar\zeta^k) = \overline{m(\zeta^k)}$.
# So the encoder keeps one root of each conjugate pair, $N/2$ **slots**, and fills the other half with
# the conjugates. Which root of each pair? Slot $j$ sits at $\zeta^{5^j \bmod 2N}$:

# %%
slot_exponents = np.array([pow(5, j, 2 * N) for j in range(N // 2)])
conjugate_exponents = (2 * N - slot_exponents) % (2 * N)
print("slot j at zeta^(5^j):   ", slot_exponents)
print("its conjugate at zeta^-5^j:", conjugate_exponents)
assert sorted(np.concatenate([slot_exponents, conjugate_exponents])) == list(odd), "the 5^j and -5^j cover all odd k"

# %% [markdown]
# ## Encoding by hand
#
# To encode $z$: put $z_j$ at $\zeta^{5^j}$ and $\bar z_j$ at $\zeta^{-5^j}$, solve $V m = w$ for the
# (real) coefficients $m$, multiply by the scale $\Delta$ and round to integers. Decoding evaluates
# at the slot roots and divides by $\Delta$.

# %%
position = {k: r for r, k in enumerate(odd)}  # row of V for the root zeta^k


def encode_by_hand(z: np.ndarray, scale: float) -> np.ndarray:
    w = np.zeros(N, dtype=complex)
    for j in range(N // 2):
        w[position[slot_exponents[j]]] = z[j]
        w[position[conjugate_exponents[j]]] = np.conj(z[j])
    m = np.linalg.solve(V, w)
    assert np.allclose(m.imag, 0), "conjugate symmetry makes the coefficients real"
    return np.rint(scale * m.real)


def decode_by_hand(m: np.ndarray, scale: float) -> np.ndarray:
    values = V @ m / scale
    return np.array([values[position[k]] for k in slot_exponents])


z = np.array([1 + 2j, 3.0, -1.0, 0.5j])
scale = 2.0**20
m = encode_by_hand(z, scale)
print("integer coefficients:", m)
print("decoded:", decode_by_hand(m, scale))
assert np.max(np.abs(decode_by_hand(m, scale) - z)) < N / scale

# %% [markdown]
# ## The same with the library
#
# `ckks.Encoder.embed_inverse` computes the real coefficients $\sigma^{-1}(z, \bar z)$ with one FFT
# instead of a linear solve ($O(N \log N)$ instead of $O(N^3)$), and `encode` scales, rounds, and
# stores the result in RNS and NTT form. We use a toy ring, so `security=None`.

# %%
params = ckks.Parameters(poly_degree=N, moduli_bits=[40, 30, 40], scale_bits=20, security=None)
encoder = ckks.Encoder(params)
library_coefficients = encoder.embed_inverse(z)
assert np.allclose(library_coefficients * scale, np.linalg.solve(V, V @ (m / scale)) * scale, atol=1.0)
assert np.allclose(np.rint(library_coefficients * scale), m), "library and hand-made encoder agree"
plaintext = encoder.encode(z)
print(plaintext)
print("library decode:", encoder.decode(plaintext))
assert np.allclose(encoder.decode(plaintext), z, atol=1e-5)

# %% [markdown]
# ## Why the powers of 5: rotations
#
# The map $X \mapsto X^5$ sends the value at $\zeta^{5^j}$ to the value at $\zeta^{5^{j+1}}$, so it
# rotates the slots left by one. This is the reason for the order, and the basis of
# [rotations](../concepts/rotations.md) (tutorial 5).


# %%
def automorphism(m: np.ndarray, g: int) -> np.ndarray:
    """m(X) -> m(X^g) in R[X]/(X^N + 1): X^i goes to +-X^(i*g mod N), minus when i*g mod 2N >= N."""
    out = np.zeros_like(m)
    for i, c in enumerate(m):
        k = i * g % (2 * N)
        out[k % N] += c if k < N else -c
    return out


rotated = decode_by_hand(automorphism(m, 5), scale)
print("slots of m(X^5):", rotated)
assert np.allclose(rotated, np.roll(z, -1), atol=1e-5), "X -> X^5 rotates the slots left by one"
conjugated = decode_by_hand(automorphism(m, 2 * N - 1), scale)
assert np.allclose(conjugated, np.conj(z), atol=1e-5), "X -> X^(2N-1) conjugates every slot"

# %% [markdown]
# ## The scale sets the precision
#
# Rounding changes each coefficient by at most $1/2$. A slot value is a sum of $N$ coefficients
# times roots of unity, so its error is at most $N / (2\Delta)$ and, since the rounding errors are
# independent and uniform, typically a few times $\sqrt{N/12}/\Delta$. At a real size,
# $N = 8192$, we encode 4096 random values at several scales and measure the error in bits,
# $-\log_2 \max_j |\tilde z_j - z_j|$.

# %%
big = ckks.Parameters(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
big_encoder = ckks.Encoder(big)
values = np.random.default_rng(0).uniform(-1, 1, big.slots)
scale_bits = list(range(10, 51, 5))
bits = []
for sb in scale_bits:
    decoded = big_encoder.decode(big_encoder.encode(values, scale=2.0**sb)).real
    bits.append(precision_bits(decoded, values))
for sb, b in zip(scale_bits, bits):
    print(f"scale 2^{sb}: {b:5.1f} bits of precision")
assert all(b >= sb - 8 for sb, b in zip(scale_bits, bits)), "precision grows with the scale"

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(scale_bits, bits, "o-", label="measured (encode + decode)")
typical = [sb - np.log2(4 * np.sqrt(8192 / 12)) for sb in scale_bits]
ax.plot(scale_bits, typical, "--", label=r"$\log_2(\Delta / 4\sqrt{N/12})$")
ax.set_xlabel(r"scale bits $\log_2 \Delta$")
ax.set_ylabel("bits of precision")
ax.set_title("Encoding precision, N = 8192")
ax.legend()
fig.tight_layout()
show(fig, "01_encoding_encoding_precision.png")

# %% [markdown]
# Every bit of scale buys one bit of precision, until float64 (53 bits) runs out. Encryption adds
# noise on top of this rounding: that is [tutorial 3](03_encryption_noise.md).
