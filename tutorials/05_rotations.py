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
# # 5. Rotations, Galois keys, sums and hoisting
#
# Slot-wise operations never move data between slots. Rotations do: the automorphism
# $X \mapsto X^{5^k}$ rotates the slots by $k$ (tutorial 1 showed why), and a *Galois key* switches the
# rotated ciphertext back to the secret key. With rotations we build sums and dot products, and
# we see what *hoisting* saves when one ciphertext is rotated many times.
# (Concepts: [rotations](../concepts/rotations.md).)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import ckks
from ckks.errors import KeyMissingError
from ckks.precision import precision_bits
from ckks.scheme.automorphism import conjugation_element, galois_element
from tutorials.figures import show

ctx = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
keys = ctx.generate_galois_keys(progress=False)
print(keys)
print("Galois elements for steps 1, 2, 4:", [galois_element(k, 8192) for k in (1, 2, 4)], "(5^k mod 2N)")
print("conjugation element:", conjugation_element(8192), "(2N - 1)")
assert galois_element(1, 8192) == 5 and galois_element(2, 8192) == 25

# %% [markdown]
# ## Rotating
#
# `v.rotate(k)`: slot $i$ of the result holds slot $i + k$ of `v` (left for $k > 0$, as SEAL's
# `rotate_vector`), modulo the $N/2 = 4096$ slots. It uses no level. The default keys cover $\pm 2^i$;
# other steps are composed from them (3 = 1 + 2: two key switches). The vector keeps its length
# (8 here); the slots beyond it hold zeros, which rotate in.

# %%
x = np.arange(1.0, 9.0)
v = ctx.encrypt(x)
for k in (1, -1, 3):
    got = v.rotate(k).decrypt()
    print(f"rotate({k:+d}): {np.round(got, 4)}")
left = v.rotate(1).decrypt()
assert np.allclose(left[:7], x[1:], atol=1e-5) and abs(left[7]) < 1e-5, "slot i <- slot i+1; zeros come in"
assert np.allclose(v.rotate(-1).decrypt()[1:], x[:7], atol=1e-5)
full = ctx.encrypt(np.arange(ctx.slots, dtype=float))
assert abs(full.rotate(1).decrypt()[-1] - 0.0) < 1e-4, "over all N/2 slots the rotation wraps around"
assert abs(full.rotate(-1).decrypt()[0] - (ctx.slots - 1)) < 1e-4
assert v.rotate(3).level == v.level, "rotations use no level"
print("rotation by 3 uses", ctx.rotator.composition(3), "-> key switches:", len(ctx.rotator.composition(3)))

# %% [markdown]
# Conjugation, $X \mapsto X^{-1}$, conjugates every slot (it needs its own key, made by default):

# %%
z = ctx.encrypt(np.array([1 + 2j, -0.5j, 3.0]))
print(np.round(z.conjugate().decrypt(), 5))
assert np.allclose(z.conjugate().decrypt(), [1 - 2j, 0.5j, 3.0], atol=1e-5)

# %% [markdown]
# A context without the key for a step cannot rotate by it, and says how to make it:

# %%
bare = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
try:
    bare.encrypt(x).rotate(1)
except KeyMissingError as error:
    print("KeyMissingError:", error)
else:
    raise AssertionError("rotation without Galois keys must fail")

# %% [markdown]
# ## Sums with $\log_2 n$ rotations
#
# Rotate-and-add doubles the window each time: after $v \leftarrow v + \mathrm{rot}(v, 2^i)$ for
# $i = 0, \dots, k-1$, slot $j$ holds $v_j + \dots + v_{j+2^k-1}$. Eight values need three rotations.
# `v.sum()` does this over all slots, so every slot holds the total.

# %%
values = np.random.default_rng(0).uniform(-1, 1, 8)
acc = ctx.encrypt(values)
for step in (1, 2, 4):
    acc = acc + acc.rotate(step)
by_hand = acc.decrypt()[0]
library = ctx.encrypt(values).sum().decrypt()
print(f"rotate-and-add: {by_hand:.8f}   v.sum(): {library[0]:.8f}   numpy: {values.sum():.8f}")
assert abs(by_hand - values.sum()) < 1e-5 and abs(library[0] - values.sum()) < 1e-5

# %% [markdown]
# ## Dot products
#
# A dot product is a slot-wise product (one level) followed by a sum. `v.dot(w)` works with a
# plaintext or an encrypted vector.

# %%
rng = np.random.default_rng(1)
a, b = rng.uniform(-1, 1, 256), rng.uniform(-1, 1, 256)
enc_a, enc_b = ctx.encrypt(a), ctx.encrypt(b)
dot_cc = enc_a.dot(enc_b)
dot_cp = enc_a.dot(b)
print(f"encrypted . encrypted = {dot_cc.decrypt()[0]:.7f} (level {dot_cc.level})")
print(f"encrypted . plain     = {dot_cp.decrypt()[0]:.7f} (level {dot_cp.level})")
print(f"numpy                 = {a @ b:.7f}")
assert precision_bits(dot_cc.decrypt()[0], a @ b) > 15 and precision_bits(dot_cp.decrypt()[0], a @ b) > 15

# %% [markdown]
# ## What hoisting saves
#
# Key switching starts by decomposing $c_1$ into digits and extending them to $QP$ (mod-up): the
# costly part. The automorphism commutes with that decomposition, so rotating one ciphertext by
# several steps can decompose *once* and reuse it: `rotate_many` ("hoisting", Halevi-Shoup 2018).
# We time $k$ separate rotations against one hoisted call (timings vary by machine; the results
# must agree exactly in value).

# %%
big = ctx.encrypt(np.random.default_rng(2).uniform(-1, 1, ctx.slots))
counts = [1, 2, 4, 8]
separate_ms, hoisted_ms = [], []
big.rotate_many([1, 2])  # warm up
for count in counts:
    steps = [2**i for i in range(count)]
    start = time.perf_counter()
    separate = {k: big.rotate(k) for k in steps}
    separate_ms.append((time.perf_counter() - start) * 1e3)
    start = time.perf_counter()
    hoisted = big.rotate_many(steps)
    hoisted_ms.append((time.perf_counter() - start) * 1e3)
    for k in steps:
        assert np.allclose(separate[k].decrypt(), hoisted[k].decrypt(), atol=1e-5)
    print(f"{count} rotations: separate {separate_ms[-1]:7.1f} ms, hoisted {hoisted_ms[-1]:7.1f} ms")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(counts, separate_ms, "o-", label="separate rotate() calls")
ax.plot(counts, hoisted_ms, "s-", label="rotate_many (hoisted)")
ax.set_xlabel("rotations of one ciphertext")
ax.set_ylabel("milliseconds")
ax.set_title("Hoisting: decompose once, rotate many, N = 8192")
ax.legend()
fig.tight_layout()
show(fig, "05_rotations_rotations.png")

# %% [markdown]
# The saving grows with the number of rotations of the same ciphertext, which is exactly the
# situation of the matrix-vector product: [tutorial 6](06_matrices_polynomials.md).
