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
# # 3. Encryption and noise
#
# A CKKS ciphertext is a pair of polynomials $(c_0, c_1)$ with $c_0 + c_1 s = m + e \pmod Q$: the
# plaintext plus a small error. In this tutorial we generate keys with the low-level, SEAL-shaped
# API, encrypt, decrypt by hand, and pull the error $e$ out of a ciphertext to measure it in bits.
# (Concepts: [encryption and noise](../concepts/encryption-noise.md).)

# %%

import matplotlib.pyplot as plt
import numpy as np

import ckks
from ckks.precision import precision_bits
from ckks.ring.modarith import poly_mul_add, poly_sub
from tutorials.figures import show

params = ckks.Parameters(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
print(params)
print("data primes:", params.data_moduli, " special prime:", params.special_moduli)

# %% [markdown]
# ## Keys
#
# The secret key $s$ has coefficients in $\{-1, 0, 1\}$. The public key is
# $(b, a) = (-a s + e, a)$ with $a$ uniform and $e$ a discrete Gaussian of standard deviation 3.2:
# without $s$, $(b, a)$ looks uniformly random (the RLWE assumption); with $s$, $b + a s = e$ is small.

# %%
keygen = ckks.KeyGenerator(params)
secret_key = keygen.secret_key
public_key = keygen.create_public_key()
values, counts = np.unique(secret_key.coefficients, return_counts=True)
print("secret key coefficients:", dict(zip(values.tolist(), counts.tolist())))
assert set(values.tolist()) <= {-1, 0, 1}


def centred_coefficients(ntt_rows: np.ndarray, level: int) -> np.ndarray:
    """The polynomial given in NTT form over q_0..q_level, as centred integers (floats) in (-Q/2, Q/2]."""
    coefficient_form = params.at_level(level).to_coefficients(ntt_rows)
    return params.crt_decoder(level).to_float(coefficient_form)


level = params.max_level
rows = params.level_rows(level)
moduli, ratios = params.moduli_array[rows], params.ratios[rows]
b, a = public_key.data[0][rows], public_key.data[1][rows]
e_pk = centred_coefficients(poly_mul_add(a, secret_key.ntt[rows], b, moduli, ratios, np.empty_like(a)), level)
print(f"b + a*s: largest |coefficient| = {np.max(np.abs(e_pk)):.0f}, std = {np.std(e_pk):.2f}  (sigma = 3.2)")
assert np.max(np.abs(e_pk)) <= 6 * 3.2 + 1

# %% [markdown]
# ## Encrypt, and decrypt by hand
#
# Encryption encodes the values at scale $\Delta = 2^{40}$ and masks them with the public key:
# $(c_0, c_1) = (u b + e_0 + m, u a + e_1)$. Decryption computes $c_0 + c_1 s$; we do it by hand with
# the library's kernels (in NTT form the products are coefficient-wise) and compare with the
# `Decryptor`.

# %%
encoder = ckks.Encoder(params)
encryptor = ckks.Encryptor(params, public_key=public_key)
decryptor = ckks.Decryptor(params, secret_key)

x = np.random.default_rng(0).uniform(-1, 1, params.slots)
plaintext = encoder.encode(x)
ciphertext = encryptor.encrypt(plaintext)
print(ciphertext)

c0, c1 = ciphertext.data
by_hand = poly_mul_add(c1, secret_key.ntt[rows], c0, moduli, ratios, np.empty_like(c0))
assert np.array_equal(by_hand, decryptor.decrypt(ciphertext).data), "decryption is c0 + c1*s"
decrypted = encoder.decode(decryptor.decrypt(ciphertext)).real
print(f"first values: {x[:3]} -> {decrypted[:3]}")
print(f"fresh public-key encryption: {precision_bits(decrypted, x):.1f} bits of precision")
assert precision_bits(decrypted, x) > 20

# %% [markdown]
# ## The error, coefficient by coefficient
#
# $c_0 + c_1 s - m$ is the error polynomial $e = u e_{pk} + e_0 + e_1 s$ (divided by $P$: the library
# encrypts over $QP$ and divides by $P$ at the end, as SEAL does, which leaves mostly a rounding
# error of size about $\|s\|$). Secret-key encryption $(-a s + e + m, a)$ has just one Gaussian.

# %%
error_pk = centred_coefficients(poly_sub(by_hand, plaintext.data, moduli, np.empty_like(c0)), level)

symmetric = ckks.Encryptor(params, secret_key=secret_key).encrypt_symmetric(plaintext)
sym_decrypted = decryptor.decrypt(symmetric)
error_sk = centred_coefficients(poly_sub(sym_decrypted.data, plaintext.data, moduli, np.empty_like(c0)), level)

for name, err in (("public key", error_pk), ("secret key", error_sk)):
    print(
        f"{name} encryption: max |e_i| = {np.max(np.abs(err)):5.0f} (2^{np.log2(np.max(np.abs(err))):.1f}), "
        f"std {np.std(err):5.2f}"
    )
assert np.max(np.abs(error_sk)) <= 6 * 3.2 + 1, "symmetric error is one Gaussian, cut at 6 sigma"
assert np.max(np.abs(error_pk)) < 2**10, "public-key error is small too"

fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.arange(-40.5, 41.5)
ax.hist(error_pk, bins=bins, alpha=0.6, label="public-key encryption")
ax.hist(error_sk, bins=bins, alpha=0.6, label="secret-key encryption")
ax.set_xlabel("error coefficient $e_i$")
ax.set_ylabel("count (of N = 8192)")
ax.set_title("The error of a fresh ciphertext")
ax.legend()
fig.tight_layout()
show(fig, "03_encryption_noise_noise.png")

# %% [markdown]
# ## From coefficient error to slot error
#
# Decoding divides by $\Delta$ and evaluates at roots of unity, so a slot's error is a sum of $N$
# error coefficients divided by $\Delta$: about $\sigma_e \sqrt{N} / \Delta$ in size, a few times more at
# the worst of the 4096 slots. The bits of precision are $-\log_2$ of the worst slot error.

# %%
predicted = np.std(error_pk) * np.sqrt(params.poly_degree) / params.scale
measured = np.max(np.abs(decrypted - x))
print(f"typical slot error sigma_e*sqrt(N)/Delta = 2^{np.log2(predicted):.1f}")
print(f"worst slot error measured               = 2^{np.log2(measured):.1f}")
assert predicted / 4 < measured < predicted * 8

# %% [markdown]
# ## The same with the high-level API
#
# `ckks.Context` makes the keys and the machinery in one go; `CKKSVector` hides the encoding.

# %%
ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
enc = ctx.encrypt(x)
print(enc)
bits = precision_bits(enc.decrypt(), x)
print(f"{bits:.1f} bits of precision")
assert bits > 20

# %% [markdown]
# The scale is the lever: the error is a fixed size in the coefficients, so every extra bit of
# $\Delta$ is one more bit of precision, until $\Delta$ reaches $q_0$. Next, what multiplication does
# to scale and noise: [tutorial 4](04_multiplication_rescaling.md).
