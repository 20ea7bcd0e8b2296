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
# # 4. Multiplication, relinearization and rescaling
#
# Multiplying two ciphertexts takes three steps: the *tensor product* (three polynomials, decrypting
# under $1, s, s^2$), *relinearization* (key switching back to two polynomials) and *rescaling*
# (dividing by the last prime so the scale goes from $\Delta^2$ back to about $\Delta$). Each rescale
# spends one prime of the chain, one **level**. We follow a multiplication step by step, plot
# precision against depth, meet the `LevelError` at the end of the chain, and choose a longer one.
# (Concepts: [levels and rescaling](../concepts/levels-rescaling.md).)

# %%

import matplotlib.pyplot as plt
import numpy as np

import ckks
from ckks.errors import LevelError, SecurityError
from ckks.precision import precision_bits
from tutorials.figures import show

params = ckks.Parameters(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
keygen = ckks.KeyGenerator(params)
encoder = ckks.Encoder(params)
encryptor = ckks.Encryptor(params, public_key=keygen.create_public_key())
decryptor = ckks.Decryptor(params, keygen.secret_key)
evaluator = ckks.Evaluator(params, keygen.create_relin_keys())

rng = np.random.default_rng(0)
x, y = rng.uniform(-1, 1, params.slots), rng.uniform(-1, 1, params.slots)
ct_x = encryptor.encrypt(encoder.encode(x))
ct_y = encryptor.encrypt(encoder.encode(y))


def decrypt(ct: ckks.Ciphertext) -> np.ndarray:
    return encoder.decode(decryptor.decrypt(ct)).real


# %% [markdown]
# ## Step 1: the tensor product
#
# $(c_0 + c_1 s)(c_0' + c_1' s) = d_0 + d_1 s + d_2 s^2$ with $d_0 = c_0c_0'$, $d_1 = c_0c_1' + c_1c_0'$,
# $d_2 = c_1c_1'$. The result has three polynomials and scale $\Delta^2 = 2^{80}$; the decryptor
# knows to use $s^2$ for the third.

# %%
tensor = evaluator.multiply(ct_x, ct_y)
print(tensor)
assert tensor.size == 3 and np.isclose(np.log2(tensor.scale), 80)
print(f"decrypts to x*y with {precision_bits(decrypt(tensor), x * y):.1f} bits")

# %% [markdown]
# ## Step 2: relinearization
#
# The relinearization key encrypts $P s^2$ under $s$; key switching turns $d_2$ into $(k_0, k_1)$ with
# $k_0 + k_1 s \approx d_2 s^2$, adds them to $(d_0, d_1)$, and the ciphertext has two polynomials
# again. Level and scale do not change.

# %%
relinearized = evaluator.relinearize(tensor)
print(relinearized)
assert relinearized.size == 2
print(f"decrypts to x*y with {precision_bits(decrypt(relinearized), x * y):.1f} bits")

# %% [markdown]
# ## Step 3: rescaling
#
# The scale is now $2^{80}$: one more multiplication would need $2^{120}$, more than the 140 bits of
# $Q$ can hold. Rescaling divides by the last prime $q_2 \approx 2^{40}$ with rounding and drops it:
# level $2 \to 1$, scale $2^{80} \to 2^{80}/q_2$. The library keeps this exact scale instead of
# pretending it is $2^{40}$.

# %%
rescaled = evaluator.rescale(relinearized)
q2 = params.data_moduli[2]
print(rescaled)
print(f"scale = 2^80 / q_2 = {rescaled.scale!r}  (2^{np.log2(rescaled.scale):.9f})")
assert rescaled.level == 1 and rescaled.scale == 2.0**80 / q2
bits_one = precision_bits(decrypt(rescaled), x * y)
print(f"decrypts to x*y with {bits_one:.1f} bits")
assert bits_one > 20

# %% [markdown]
# The high-level `CKKSVector` does the three steps for you at every `*`:

# %%
ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
vx, vy = ctx.encrypt(x), ctx.encrypt(y)
product = vx * vy
print(product, f"-> {precision_bits(product.decrypt(), x * y):.1f} bits")
assert product.level == 1 and precision_bits(product.decrypt(), x * y) > 20

# %% [markdown]
# ## Precision against depth
#
# A longer chain: $N = 16384$ with seven 40-bit rescaling primes ($\log_2 QP = 400 \le 438$, the
# 128-bit bound). We multiply a running product by a fresh encrypted vector seven times and measure
# the error after each multiplication, for this library and, if it is installed, for TenSEAL on the
# same inputs and parameters.

# %%
bits_chain = [60] + [40] * 7 + [60]
deep = ckks.Context(poly_degree=16384, moduli_bits=bits_chain, scale_bits=40)
depth = deep.params.max_level
factors = [rng.uniform(-1, 1, deep.slots) for _ in range(depth + 1)]
want = factors[0].copy()
running = deep.encrypt(factors[0])
ours = []
for k in range(1, depth + 1):
    running = running * deep.encrypt(factors[k])
    want = want * factors[k]
    ours.append(precision_bits(running.decrypt(), want))
    print(f"depth {k}: level {running.level}, scale 2^{np.log2(running.scale):.4f}, {ours[-1]:.1f} bits")
assert running.level == 0
assert min(ours) > 18, "about 20+ bits survive seven multiplications at scale 2^40"

try:
    import tenseal as ts
except ImportError:  # TenSEAL is a dev dependency: the comparison is optional
    ts = None
theirs = []
if ts is not None:
    tctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=16384, coeff_mod_bit_sizes=bits_chain)
    tctx.global_scale = 2.0**40
    t_running = ts.ckks_vector(tctx, factors[0])
    want = factors[0].copy()
    for k in range(1, depth + 1):
        t_running = t_running * ts.ckks_vector(tctx, factors[k])
        want = want * factors[k]
        theirs.append(precision_bits(np.array(t_running.decrypt()), want))
    print("TenSEAL:", " ".join(f"{b:.1f}" for b in theirs))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(range(1, depth + 1), ours, "o-", label="ckks (this library)")
if theirs:
    ax.plot(range(1, depth + 1), theirs, "s--", label="TenSEAL")
ax.set_xlabel("multiplicative depth")
ax.set_ylabel("bits of precision")
ax.set_title("Precision of a product chain, N = 16384, scale 2^40")
ax.legend()
fig.tight_layout()
show(fig, "04_multiplication_rescaling_levels.png")

# %% [markdown]
# ## When the chain runs out: `LevelError`
#
# With `moduli_bits=[60, 40, 40, 60]` there are two rescaling primes: depth 2. A third
# multiplication has nothing left to divide by, and the error says what to do about it.

# %%
v = ctx.encrypt(x)
v2 = v * v
v4 = v2 * v2
print(v4)
try:
    v8 = v4 * v4
except LevelError as error:
    print("LevelError:", error)
else:
    raise AssertionError("a depth-3 circuit cannot run on a depth-2 chain")

# %% [markdown]
# ## Choosing a longer chain
#
# One more level is one more prime. At $N = 8192$ a third 40-bit prime brings $\log_2 QP$ to 240
# bits, above the 218-bit bound for 128-bit security, and the library refuses:

# %%
try:
    ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 40, 60], scale_bits=40)
except SecurityError as error:
    print("SecurityError:", error)
else:
    raise AssertionError("240 bits at N = 8192 must be refused")

# %% [markdown]
# Two ways out: smaller primes at the same $N$ (less precision: the scale must fit the primes), or
# a larger $N$ (more room, slower, twice the slots).

# %%
options = {
    "N=8192, [50, 30, 30, 30, 50], scale 2^30": ckks.Context(8192, [50, 30, 30, 30, 50], 30),
    "N=16384, [60, 40, 40, 40, 60], scale 2^40": ckks.Context(16384, [60, 40, 40, 40, 60], 40),
}
for name, option in options.items():
    xs = x[:16]
    v = option.encrypt(xs)
    v2 = v * v
    v4 = v2 * v2
    v8 = v4 * v4
    bits = precision_bits(v8.decrypt(), xs**8)
    print(f"{name}: x^8 at level {v8.level}, {bits:.1f} bits")
    assert v8.level == 0 and bits > 10

# %% [markdown]
# Rule of thumb: $q_0$ = scale + the bits of the largest value you expect, one prime of the scale's
# size per multiplication, and a special prime at least as large as the largest other prime; then
# the smallest $N$ whose bound covers the sum. Next: moving data between slots,
# [rotations](05_rotations.md).
