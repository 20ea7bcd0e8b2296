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
# # 9. Bootstrapping
#
# Every multiplication eats a level; at level 0 a ciphertext can only be decrypted. *Bootstrapping*
# gives the levels back without the secret key: it evaluates the decryption circuit homomorphically.
# This tutorial takes the four steps apart on a ring small enough to print, then runs the real thing,
# compares its precision with OpenFHE's and shows how the precision depends on the EvalMod polynomial.
# (Concepts: [bootstrapping](../concepts/bootstrapping.md).)

# %%
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ckks
from ckks.circuits.bootstrapping import EvalModConfig, max_error_bits, preset
from ckks.circuits.bootstrapping.dft import apply_matrix, bit_reverse
from ckks.circuits.bootstrapping.eval_mod import approximation_error, eval_mod, eval_mod_plain
from ckks.circuits.bootstrapping.mod_raise import mod_raise
from ckks.errors import InsecureWarning
from ckks.scheme.ciphertext import Ciphertext

warnings.simplefilter("ignore", InsecureWarning)
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path("tutorials").resolve()
np.set_printoptions(precision=4, suppress=True, linewidth=110)
rng = np.random.default_rng(0)


def lowest(ctx, values):
    """Encrypt and drop to level 0: the state in which a ciphertext must be bootstrapped."""
    v = ctx.encrypt(values)
    return ckks.CKKSVector(ctx, ctx.evaluator.mod_switch_to(v.ciphertext, 0), v.size, v.is_complex, zero_tail=True)


# %% [markdown]
# ## Why it works: the reduction modulo $q_0$ is (almost) a sine
#
# At level 0 a ciphertext decrypts to $m = c_0 + c_1 s \bmod q_0$. *ModRaise* reads $c_0, c_1$ as
# integers and reduces them modulo the big modulus $Q_L$ instead: the same pair now decrypts to
# $t = m + q_0 I$ for a small integer polynomial $I$ (small because the secret is sparse). Removing
# $q_0 I$ is a reduction modulo $q_0$, which no polynomial computes exactly, but near the integers
#
# $$ y \bmod 1 \approx \frac{\sin(2\pi y)}{2\pi}, \qquad y = t_i / q_0 = I_i + m_i / q_0 ,$$
#
# as long as $|m_i| \ll q_0$. The sine of a wide argument is approximated by a Chebyshev series of the
# *scaled cosine* $\cos(2\pi(y - 1/4)/2^r)$ followed by $r$ double-angle steps $c \leftarrow 2c^2-1$.

# %%
config = EvalModConfig(k_range=8, degree=31, double_angles=3)
y = np.linspace(-3.5, 3.5, 4001)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(y, y - np.round(y), label="y mod 1 (centred)")
axes[0].plot(y, np.sin(2 * np.pi * y) / (2 * np.pi), label="sin(2 pi y) / 2 pi")
axes[0].plot(y, eval_mod_plain(y, config) / (2 * np.pi), "--", label="Chebyshev + 3 double angles")
axes[0].legend(fontsize=7)
axes[0].set_xlabel("y = t / q0")
near = np.concatenate([k + np.linspace(-2**-10, 2**-10, 201) for k in range(-7, 8)])
axes[1].semilogy(near, np.abs(eval_mod_plain(near, config) / (2 * np.pi) - (near - np.round(near))) + 1e-20, ".",
                 ms=2)
axes[1].set_xlabel("y near the integers")
axes[1].set_ylabel("|error|")
plt.tight_layout()
plt.savefig(HERE / "09_bootstrapping_sine.png", dpi=80)
print("levels of EvalMod:", config.levels)

# %% [markdown]
# ## Each step on a ring of 32 slots
#
# A toy teaching context: $N = 64$, full packing (32 slots), two levels for each DFT. We decrypt after
# every step (we hold the secret key) to see what the slots contain.

# %%
tiny = ckks.Context.for_bootstrapping("teaching", poly_degree=64, cts_levels=2, stc_levels=2, seed=1)
tiny.generate_bootstrapping_keys(progress=False)
boot = tiny.bootstrapper
params, ev, enc = tiny.params, tiny.evaluator, tiny.encoder
q0 = params.data_moduli[0]
z = np.round(rng.uniform(-1, 1, 32), 2)
v = lowest(tiny, z)
print(f"input level {v.level}, scale 2^{np.log2(v.scale):.1f}, q0 = 2^{np.log2(q0):.1f}")
print(boot.summary())


def show(ct, scale=None):
    """Decrypt a raw ciphertext, optionally read at another scale."""
    if scale is not None:
        ct = Ciphertext(params, ct.data, scale, ct.key_id)
    return enc.decode(tiny.decryptor.decrypt(ct))


# %% [markdown]
# **ModRaise.** Read at scale $q_0$ the raised ciphertext holds the slots of $t/q_0 = m/q_0 + I$; its
# coefficients are what CoeffsToSlots will put into the slots.

# %%
raised = mod_raise(v.ciphertext, params, ev)
print("level after ModRaise:", raised.level)
t_over_q0 = enc.embed_inverse(show(raised, q0))  # the coefficients t_i / q0
print("t / q0 =", t_over_q0[:12], "...")
print("I = round(t / q0) =", np.round(t_over_q0).astype(int))
assert np.all(np.abs(np.round(t_over_q0)) < boot.config.eval_mod.k_range)

# %% [markdown]
# **CoeffsToSlots** (a homomorphic inverse DFT, factorised into two sparse levels) moves the
# coefficients into the slots, in bit-reversed order; a conjugation separates real and imaginary parts.

# %%
t = Ciphertext(params, raised.data, q0, raised.key_id)
for i, matrix in enumerate(boot.cts):
    nxt = params.data_moduli[t.level - 1]
    target = nxt / boot.config.eval_mod.k_range if i == len(boot.cts) - 1 else float(nxt)
    print(f"CtS level {i}: {len(matrix.diagonals)} diagonals, rotations {matrix.rotation_steps()}")
    t = apply_matrix(t, matrix, target, ev, enc, boot.rotator)
conj = boot.rotator.conjugate(t)
real_part = ev.add(t, conj)
slots = show(real_part).real
print("slots after CoeffsToSlots:", slots[:12], "...")
print("largest difference to t/q0 (bit-reversed):", np.max(np.abs(slots - t_over_q0[:32][bit_reverse(32)])))

# %% [markdown]
# **EvalMod** keeps only the fractional parts: $m_i / \Delta$ (here the real half of the coefficients).

# %%
x = Ciphertext(params, real_part.data, real_part.scale * boot.config.eval_mod.k_range, real_part.key_id)
reduced = eval_mod(x, boot.config.eval_mod, q0 / params.scale, ev, enc)
message_coefficients = enc.embed_inverse(z) * (v.scale / params.scale)
print("after EvalMod :", show(reduced).real[:8])
print("m / Delta     :", message_coefficients[:32][bit_reverse(32)][:8])
print("levels:", real_part.level, "->", reduced.level)

# %% [markdown]
# **SlotsToCoeffs** (the forward DFT) puts the coefficients back; `v.bootstrap()` runs all of it.

# %%
out = v.bootstrap()
print("input :", z[:8])
print("output:", out.decrypt()[:8])
print(f"level {v.level} -> {out.level}, precision {max_error_bits(z, out.decrypt()):.1f} bits")
assert out.level == boot.config.compute_levels and max_error_bits(z, out.decrypt()) > 20

# %% [markdown]
# ## The teaching preset: N = 4096, 2048 slots
#
# `Context.for_bootstrapping("teaching")` is insecure on purpose (small ring, secret of Hamming weight
# 16) so that a bootstrap takes seconds. After it, three levels are left for computation.

# %%
ctx = ckks.Context.for_bootstrapping("teaching")
start = time.perf_counter()
summary = ctx.generate_bootstrapping_keys(progress=False)
print(f"keys in {time.perf_counter() - start:.1f} s:", summary)
values = rng.uniform(-1, 1, ctx.slots)
low = lowest(ctx, values)
low.bootstrap()  # warm-up: compiles kernels and encodes the DFT diagonals
start = time.perf_counter()
fresh = low.bootstrap()
seconds = time.perf_counter() - start
bits = max_error_bits(values, fresh.decrypt())
print(f"bootstrap: {seconds:.2f} s, level {low.level} -> {fresh.level}, precision {bits:.1f} bits")
assert fresh.level == 3 and bits >= ctx.bootstrapper.config.precision_bits
squared = fresh * fresh
print(f"one multiplication later: level {squared.level}, precision {max_error_bits(values**2, squared.decrypt()):.1f}")
assert max_error_bits(values**2, squared.decrypt()) > 20

# %% [markdown]
# **Sparse packing.** With only $n$ slots the DFTs have $\log_2 n$ stages instead of $\log_2(N/2)$:
# fewer diagonals, fewer keys, and one EvalMod instead of two (real and imaginary parts share a
# ciphertext). The values sit in the first $n$ slots, zeros after (a trace sums the slots modulo $n$).

# %%
sparse = ckks.Context.for_bootstrapping("teaching", slots=128, cts_levels=2, stc_levels=2)
sparse_summary = sparse.generate_bootstrapping_keys(progress=False)
few = rng.uniform(-1, 1, 128)
low_sparse = lowest(sparse, few)
low_sparse.bootstrap()
start = time.perf_counter()
fresh_sparse = low_sparse.bootstrap()
sparse_seconds = time.perf_counter() - start
sparse_bits = max_error_bits(few, fresh_sparse.decrypt())
print(f"128 slots: {sparse_seconds:.2f} s, {sparse_summary['rotation_keys']} keys "
      f"({sparse_summary['key_memory_mb']:.0f} MiB), precision {sparse_bits:.1f} bits")
print(f"2048 slots: {seconds:.2f} s, {summary['rotation_keys']} keys ({summary['key_memory_mb']:.0f} MiB)")
assert sparse_bits >= sparse.bootstrapper.config.precision_bits

# %% [markdown]
# ## Precision against the EvalMod polynomial
#
# The error near the integers, multiplied by the message ratio $q_0/\Delta = 2^{13}$, bounds the
# precision (the lines: the EvalMod chain in floating point, for the worst input, one coefficient of
# size $\Delta$, where the sine's own error caps it at about 23 bits). A degree that is too low for the
# range $K = 8$ fails; more double angles allow a lower degree (each costs a level). The stars are
# measured encrypted bootstraps at N = 1024 of random inputs, whose coefficients are small (better
# than the cap) but whose EvalMod errors add up coherently in SlotsToCoeffs (worse when the
# polynomial is poor).

# %%
ratio = 2.0**preset("teaching").message_ratio_bits
degrees = [7, 11, 15, 23, 31, 47, 63]
fig, ax = plt.subplots(figsize=(6, 3.5))
for r in (1, 2, 3, 4):
    predicted = [-np.log2(approximation_error(EvalModConfig(8, d, r), ratio) * ratio) for d in degrees]
    ax.plot(degrees, predicted, marker="o", label=f"r = {r}: float model, worst case |z| = 1")
measured = []
for d, r in ((15, 3), (31, 3), (31, 2)):
    small = ckks.Context.for_bootstrapping("teaching", poly_degree=1024, eval_mod=EvalModConfig(8, d, r))
    small.generate_bootstrapping_keys(progress=False)
    data = rng.uniform(-1, 1, small.slots)
    measured.append((d, r, max_error_bits(data, lowest(small, data).bootstrap().decrypt())))
    ax.plot([d], [measured[-1][2]], "k*", ms=10, label="measured, N = 1024, random inputs" if d == 15 else None)
print("measured (degree, double angles, bits):", [(d, r, round(b, 1)) for d, r, b in measured])
ax.set_xlabel("Chebyshev degree of the scaled cosine")
ax.set_ylabel("bits of precision")
ax.legend(fontsize=7)
plt.tight_layout()
plt.savefig(HERE / "09_bootstrapping_precision.png", dpi=80)
assert measured[1][2] > measured[0][2]

# %% [markdown]
# ## Against OpenFHE, and the 128-bit preset
#
# `tests/ckks/circuits/bootstrapping/test_openfhe_reference.py` runs OpenFHE's `EvalBootstrap` on the
# same ring, slots, level budget and inputs and checks that our precision is at least OpenFHE's minus
# one bit; `benchmarks/bench_bootstrap.py` times both. At N = 1024 OpenFHE reaches about 23 bits, this
# library about 27.
#
# The `"128"` preset uses N = 2^16 with a dense (uniform ternary) secret, so the HE standard's 128-bit
# bound for N = 2^16, $\log_2(QP) \le 1761$, applies, and *sparse-secret encapsulation* (Bossuat,
# Troncoso-Pastoriza and Hubaux, ACNS 2022, as Lattigo and OpenFHE): around ModRaise only, the
# ciphertext is switched to an ephemeral secret of Hamming weight 32 and back, so K = 16 suffices.
# EvalMod ends with the arcsine's Taylor polynomial, which removes the sine's error and lets the message
# ratio drop to 2^8. It is too large to run in a tutorial: its 39 rotation keys and 2 encapsulation keys
# take 3.01 GiB (each made only for the levels it is used at, digits filled up to P, rotations shared
# between the DFT levels), key generation about 20 s (the first bootstrap spends about 20 s more
# encoding its DFT diagonals). Measured on the 2-core machine (the
# [concept page](../concepts/bootstrapping.md) has the table and the commands): one bootstrap of 2^15
# slots takes about 20 s on one thread against 41 s for OpenFHE's own 128-bit setup, leaves 6 levels,
# and is precise to about 21 bits (OpenFHE: 17.4). Here is its modulus chain.

# %%
big = preset("128")
print("moduli bits:", big.moduli_bits())
print(f"log2(QP) = {big.total_bits}, levels: L = {big.max_level}, bootstrap depth {big.depth}, "
      f"{big.compute_levels} left for computation, EvalMod {big.eval_mod}")
assert big.total_bits <= 1761 and big.hamming_weight is None and big.ephemeral_hamming_weight == 32
