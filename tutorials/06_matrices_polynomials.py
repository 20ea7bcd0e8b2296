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
# # 6. Matrix-vector products and polynomial evaluation
#
# Two building blocks of encrypted machine learning. A linear layer is a matrix-vector product:
# with the *diagonal method* it costs one level and a rotation per diagonal, and the
# *baby-step giant-step* (BSGS) arrangement brings the rotations down to about $2\sqrt n$. An
# activation function is a polynomial: evaluated well, degree $d$ costs $\lceil\log_2(d+1)\rceil$ levels,
# and Chebyshev interpolation gives the polynomial for sigmoid or ReLU with a known error.
# (Concepts: [matrices and polynomials](../concepts/linear-algebra-polynomials.md).)

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np

import ckks
from ckks.circuits import chebyshev
from ckks.circuits.linear_transform import vector_matrix_transform
from ckks.circuits.polynomial import plan_polynomial
from ckks.precision import precision_bits
from tutorials.figures import show

ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
ctx.generate_galois_keys(progress=False)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The diagonal method by hand
#
# For an $n \times n$ matrix $M$ and $x$ in $n$ slots, repeated so that rotations wrap around at $n$,
# with the generalised diagonals $d_k[i] = M[i, (i+k) \bmod n]$:
#
# $$ M x = \sum_{k=0}^{n-1} d_k \odot \mathrm{rot}(x, k). $$

# %%
n = 8
M = rng.uniform(-1, 1, (n, n))
x = rng.uniform(-1, 1, n)
replicated = ctx.encrypt(np.tile(x, ctx.slots // n))
result = None
for k in range(n):
    diagonal = np.array([M[i, (i + k) % n] for i in range(n)])
    rotated = replicated.rotate(k) if k else replicated
    term = rotated * np.tile(diagonal, ctx.slots // n)
    result = term if result is None else result + term
got = result.decrypt()[:n]
print("encrypted M x:", np.round(got, 6))
print("numpy     M x:", np.round(M @ x, 6))
print(f"{precision_bits(got, M @ x):.1f} bits, level {result.level} (one level used), {n - 1} rotations")
assert precision_bits(got, M @ x) > 18 and result.level == replicated.level - 1

# %% [markdown]
# ## The library: `v.matmul(M)`, diagonal and BSGS
#
# `v.matmul(M)` computes the vector-matrix product $v M$ (TenSEAL's convention), which is
# $M^\top v$. With `method="diagonal"` every diagonal is one rotation (all hoisted: one
# decomposition); with BSGS, $k = g n_1 + b$ splits the rotations into $n_1 - 1$ baby steps of $v$
# and about $n / n_1$ giant steps of partial sums. We compare the rotation counts and times for a
# $64 \times 64$ matrix.

# %%
n = 64
M = rng.uniform(-1, 1, (n, n))
x = rng.uniform(-1, 1, n)
v = ctx.encrypt(x)
for method in ("diagonal", "bsgs"):
    plan = vector_matrix_transform(M, ctx.slots, method)
    v.matmul(M, method=method)  # warm up (encodes the diagonals)
    start = time.perf_counter()
    out = v.matmul(M, method=method)
    elapsed = (time.perf_counter() - start) * 1e3
    bits = precision_bits(out.decrypt(), x @ M)
    print(f"{method:>8}: {plan.rotations:3d} rotations, {plan.plaintext_multiplications} plaintext products, "
          f"{elapsed:6.1f} ms, {bits:.1f} bits, level {v.level} -> {out.level}")
    assert bits > 15 and out.level == v.level - 1
bsgs = vector_matrix_transform(M, ctx.slots, "bsgs")
assert bsgs.rotations < vector_matrix_transform(M, ctx.slots, "diagonal").rotations
print("BSGS baby steps:", bsgs.baby_steps, " giant steps:", bsgs.giant_steps)

# %% [markdown]
# ## Polynomials: levels used
#
# `v.polyval(c)` evaluates $\sum_k c_k x^k$ (coefficients in increasing degree, as TenSEAL). The
# powers come from a product tree and each coefficient is multiplied into a low power, so degree
# $d$ costs $\lceil \log_2(d+1) \rceil$ levels, not $d$ as Horner's rule would. A chain with four
# rescaling primes at $N = 16384$ lets us go to degree 15.

# %%
deep = ckks.Context(poly_degree=16384, moduli_bits=[60, 40, 40, 40, 40, 40, 60], scale_bits=40)
xs = np.linspace(-1, 1, 256)
vx = deep.encrypt(xs)
print(" degree  levels  ceil(log2(d+1))  ct-ct products  bits")
for degree in (1, 2, 3, 4, 7, 8, 15):
    coefficients = np.random.default_rng(degree).uniform(-1, 1, degree + 1)
    out = vx.polyval(coefficients)
    used = vx.level - out.level
    bits = precision_bits(out.decrypt(), np.polynomial.polynomial.polyval(xs, coefficients))
    products = plan_polynomial(coefficients).products
    print(f"{degree:7d}  {used:6d}  {math.ceil(math.log2(degree + 1)):15d}  {products:14d}  {bits:4.1f}")
    assert used == math.ceil(math.log2(degree + 1)) and bits > 15

# %% [markdown]
# ## Chebyshev approximations of sigmoid and ReLU
#
# CKKS evaluates polynomials only, so a sigmoid or a ReLU is replaced on an interval $[a, b]$ by its
# Chebyshev interpolant. `ckks.circuits.chebyshev.fit` measures the maximum error on a dense grid, so the
# cost of the approximation is known before anything is encrypted. The sigmoid is smooth and its
# error falls geometrically with the degree; the ReLU has a kink at 0, and its error falls only like
# $1/d$.

# %%
degrees = [3, 7, 15, 31, 63]
interval = (-8.0, 8.0)
errors = {name: [chebyshev.fit(name, interval, d).max_error for d in degrees] for name in ("sigmoid", "relu")}
for name, errs in errors.items():
    print(f"{name:>8}: " + "  ".join(f"d={d}: {e:.1e}" for d, e in zip(degrees, errs)))
assert errors["sigmoid"][-1] < 1e-6 < errors["relu"][-1], "smooth functions approximate far better"
assert all(a > b for a, b in zip(errors["sigmoid"], errors["sigmoid"][1:]))

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].semilogy(degrees, errors["sigmoid"], "o-", label="sigmoid")
axes[0].semilogy(degrees, errors["relu"], "s-", label="ReLU")
axes[0].set_xlabel("degree")
axes[0].set_ylabel("max error on [-8, 8]")
axes[0].set_title("Chebyshev interpolation error")
axes[0].legend()
grid = np.linspace(-8, 8, 400)
for name, func in (("sigmoid", chebyshev.sigmoid), ("relu", chebyshev.relu)):
    axes[1].plot(grid, func(grid), "k", linewidth=0.8)
    axes[1].plot(grid, chebyshev.fit(name, interval, 7)(grid), "--", label=f"{name}, degree 7")
axes[1].set_title("Degree-7 approximations")
axes[1].legend()
fig.tight_layout()
show(fig, "06_matrices_polynomials_matrices_polynomials.png")

# %% [markdown]
# ## Encrypted sigmoid and ReLU
#
# The degree-15 fits on $[-8, 8]$: four levels for the degree, plus one because the interval is
# wider than $[-1, 1]$ (mapping it onto $[-1, 1]$ multiplies by $2/16$, a non-integer constant).
# The encrypted result matches the plaintext polynomial to the CKKS precision; its distance to the
# true function is the approximation error measured above.

# %%
inputs = np.linspace(-8, 8, 512)
enc = deep.encrypt(inputs)
for name, func in (("sigmoid", chebyshev.sigmoid), ("relu", chebyshev.relu)):
    fit = chebyshev.fit(name, interval, 15)
    out = fit.evaluate(enc)
    decrypted = out.decrypt()
    ckks_bits = precision_bits(decrypted, fit(inputs))
    total_error = np.max(np.abs(decrypted - func(inputs)))
    print(f"{name}: levels {enc.level - out.level} (plan {fit.levels}), encrypted vs polynomial {ckks_bits:.1f} bits, "
          f"vs the true {name} {total_error:.2e} (approximation error {fit.max_error:.2e})")
    assert enc.level - out.level == fit.levels == 5
    assert ckks_bits > 12 and total_error < fit.max_error + 1e-3

# %% [markdown]
# Depth is the budget: a degree-15 activation costs five of the six levels here. HE-friendly
# networks therefore use low-degree activations (the neural-network chapters train with quadratics).
# Next: [security](07_security.md).
