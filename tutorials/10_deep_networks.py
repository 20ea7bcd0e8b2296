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
# # 10. Deep networks: approximating ReLU, placing bootstraps
#
# Tutorial 8 ran networks built for encryption: $x^2$ activations, average pooling, three to five
# levels. A network trained the ordinary way has ReLU and max-pooling, which no polynomial computes
# exactly. There are two ways to take it under encryption:
#
# 1. **retrain it** into an HE-friendly student (Baruch et al.: quadratics fitted to ReLU,
#    distillation; `nn.convert`, the [HE-friendly training](he_friendly_training.md) tutorial);
# 2. **keep it** and approximate ReLU and max-pool by polynomials precise enough that the network
#    does not notice (Lee et al.): tens of levels per activation, so the ciphertexts must be
#    *bootstrapped* (tutorial 9) inside the network, and a compiler must decide where.
#
# This tutorial takes the second route on the insecure teaching preset, so that it runs in seconds.
# (Docs: [deep networks](../nn/deep_networks.md), with the 128-bit benchmark.)

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np

from ckks.circuits.comparison import sign_plan
from ckks.errors import InsecureWarning
from nn import encrypted
from nn.datasets import load_digits
from nn.encrypted import pretrained
from nn.encrypted.placement import level_profile
from nn.errors import NotHEFriendlyError
from tutorials.figures import level_path, show

warnings.simplefilter("ignore", InsecureWarning)
data = load_digits()
teacher, student = pretrained.load("digits_cnn_relu"), pretrained.load("digits_cnn")
deep = pretrained.load("digits_mlp_relu4")
for name, model in (("ReLU teacher", teacher), ("x^2 student", student), ("4-ReLU MLP", deep)):
    accuracy = np.mean(model.predict(data.x_test).argmax(1) == data.y_test)
    print(f"{name:<13} plaintext accuracy on the 450 test digits: {accuracy:.2%}")
try:
    encrypted.compile(deep, (1, 8, 8), 1, calibration=data.x_train)
except NotHEFriendlyError as exc:
    print("without approximate=True:", str(exc)[:110], "...")

# %% [markdown]
# ## ReLU from a composite sign polynomial
#
# $\mathrm{ReLU}(x) = x\,(1 + \mathrm{sign}(x))/2$, and the sign has a good polynomial
# approximation away from 0: the composite minimax polynomial $p = p_k \circ \dots \circ p_1$ of
# [comparisons](../concepts/comparison.md) (Lee, Lee, Kim and No). The compiler normalises each
# ReLU's input by the range $R$ recorded on the calibration data, $t = x / R \in [-1, 1]$, evaluates
# $t\,(1 + p(t))/2$ and multiplies by $R$ again; both scalings are folded into the neighbouring
# linear layers, so the ReLU costs the sign's depth plus one product. With `approx_bits` $= b$
# the sign is within $2^{-b}$ beyond the margin $2^{-b}$, so the ReLU is within about $R\,2^{-b}$
# everywhere.

# %%
t = np.linspace(-1, 1, 20001)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for bits in (8, 12):
    plan = sign_plan(bits)
    relu = t * (1 + plan(t)) / 2
    print(f"{bits} bits: stage degrees {list(plan.degrees)}, sign depth {plan.depth}, ReLU {plan.depth + 1} levels, "
          f"max |ReLU error| {np.max(np.abs(relu - np.maximum(t, 0))):.1e}")
    assert np.max(np.abs(relu - np.maximum(t, 0))) <= 2.0 ** -bits
    axes[0].plot(t, plan(t), label=f"{bits} bits: degrees {list(plan.degrees)}")
    axes[1].semilogy(t, np.abs(relu - np.maximum(t, 0)) + 1e-17, lw=0.6, label=f"{bits} bits")
axes[0].set_xlim(-0.02, 0.02)
axes[0].set_title("p(t) near 0 (zoomed)")
axes[0].legend(fontsize=7)
axes[1].set_ylim(1e-9, 1e-1)
axes[1].set_title("|t (1 + p(t)) / 2 - max(t, 0)| on [-1, 1]")
axes[1].legend(fontsize=7)
plt.tight_layout()
show(fig, "10_deep_networks_relu.png")

# %% [markdown]
# ## Compiling with `approximate=True`
#
# The MLP has four hidden ReLU layers. At 8 bits each ReLU is a degree-31 stage (5 levels), a
# degree-49 stage (6 levels) and the product $t\,(1 + p)/2$ (1 level); with the linear layers the network is 53 levels
# deep (73 at 12 bits). A 128-bit parameter set without bootstrapping holds 58 levels at most
# (N = 2^16), and every operation would pay for all of its primes; `bootstrap="auto"` weighs the two
# with its cost model. On the insecure teaching ring every depth fits, so `bootstrap="always"` asks
# for the bootstrapped plan. `summary()` lists each approximation with its range and error bound,
# and each bootstrap.

# %%
start = time.perf_counter()
em = encrypted.compile(deep, (1, 8, 8), 1, calibration=data.x_train, approximate=True, approx_bits=8,
                       security=None, bootstrap="always", flooding=False, layout="sample")
print(f"compiled in {time.perf_counter() - start:.1f} s")
print(em.summary())

# %% [markdown]
# ## Placing the bootstraps
#
# The compiler cuts the network into *segments*: a linear stage is one, a ReLU one per sign stage
# plus one for the final product (a bootstrap may go between two stages of the composite polynomial:
# the partial sign is in $[-1, 1]$, where a bootstrap is precise, and is refreshed together with $t$,
# so a cut inside a ReLU refreshes two ciphertexts, a cut between stages one). A bootstrap returns
# the ciphertexts to level $L_c$; a segment run at a lower level is cheaper (fewer RNS limbs). The
# placement pass (`nn.encrypted.placement`, as Orion does) solves a dynamic programme over
# (segment, level): before each segment, bootstrap or not and at which level to run it, minimising
# modelled seconds (measured costs per operation and limb, and per bootstrap). The naive policy,
# "bootstrap when the next segment does not fit", is shown next to it.
#
# The plot is the level of the ciphertexts along the network: without bootstrapping a single chain
# must hold all of it; after placement the level saw-tooths between $L_c$ and 0.

# %%
profile = level_profile(em)
placed = em.bootstrap.placement
print(f"bootstrap points: {len(placed.bootstraps)} (naive policy: {placed.naive_bootstraps}), "
      f"{em.bootstrap.count} ciphertext bootstraps per image; modelled {placed.cost:.1f} s per image "
      f"(naive: {placed.naive_cost:.1f} s)")
assert len(placed.bootstraps) <= placed.naive_bootstraps and placed.cost <= placed.naive_cost + 1e-9
fig, ax = plt.subplots(figsize=(10, 3.6))
ax.plot(*level_path(profile["before"]), color="C7", label="before placement: one chain holds the whole depth")
xs, ys = level_path(profile["after"])
ax.plot(xs, ys, color="C0", label="after placement")
marks = [i for i, (name, _) in enumerate(profile["after"]) if name.startswith("bootstrap")]
ax.plot([xs[i] for i in marks], [ys[i] for i in marks], "r^", label="bootstrap")
ax.set_xlabel("segment (a linear stage, or one sign stage of a ReLU)")
ax.set_ylabel("level after it")
ax.legend(fontsize=8)
plt.tight_layout()
show(fig, "10_deep_networks_levels.png")

# %% [markdown]
# ## Running it
#
# `keygen` makes the bootstrapping keys with the others (the teaching ring: a few hundred MiB). The
# server runs the network on one encrypted digit with public keys only; we compare the logits with
# the plaintext ReLU network.

# %%
ctx = em.keygen()
x = data.x_test[:1]
start = time.perf_counter()
out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
seconds = time.perf_counter() - start
logits, plain = em.decrypt(ctx, out), deep.forward(x)
relative = np.max(np.abs(logits - plain)) / np.max(np.abs(plain))
print(f"encrypted argmax {logits.argmax(1)}, plaintext argmax {plain.argmax(1)}, label {data.y_test[:1]}")
print(f"relative logit error {relative:.1e}; {seconds:.1f} s with {em.bootstrap.count} bootstraps")
assert np.array_equal(logits.argmax(1), plain.argmax(1)) and relative < 1e-2

# %% [markdown]
# ## Many images for the price of one
#
# One digit fills only the first 64 of the ring's slots, yet every bootstrap refreshes all of them.
# `interleave=B` puts B images in one ciphertext, *interleaved*: feature $i$ of image $j$ sits in
# slot $iB + j$ (`ckks.circuits.interleave`). A rotation by $kB$ then rotates every image by $k$,
# cyclically within its own $N/2B$ slots, and a plaintext vector repeated $B$ times multiplies every
# image: the linear map $M$ becomes $M \otimes I_B$, and the ReLU polynomials and the bootstraps act
# slot by slot anyway. So the very same circuit, with the same bootstraps, classifies B images.
# `em.max_interleave` says how many fit (N/2 over one image's slots, rounded up to a power of two).

# %%
copies = min(8, em.max_interleave)
many = encrypted.compile(deep, (1, 8, 8), copies, calibration=data.x_train, approximate=True, approx_bits=8,
                         security=None, bootstrap="always", flooding=False, layout="sample", interleave=copies)
ctx_many = many.keygen()
xs = data.x_test[:copies]
start = time.perf_counter()
batch = many.encrypt(ctx_many, xs)
out = many.run(ctx_many.public_copy(), batch)
seconds_many = time.perf_counter() - start
logits_many = many.decrypt(ctx_many, out)
agree = np.mean(logits_many.argmax(1) == deep.forward(xs).argmax(1))
print(f"{copies} images in {len(batch.vectors)} ciphertext: {seconds_many:.1f} s ({seconds_many / copies:.2f} s per "
      f"image, against {seconds:.1f} s for one alone); argmax as the plaintext network on {agree:.0%} of them")
assert len(batch.vectors) == 1 and agree == 1.0

# %% [markdown]
# ## The student and the teacher, side by side
#
# The same digits CNN both ways: the HE-friendly student runs in 5 levels without a bootstrap; the
# ReLU teacher keeps its accuracy and needs no retraining, but every ReLU and max-pool costs tens of
# levels and several bootstraps. `benchmarks/bench_deep.py` measures both at 128-bit security;
# the table is on the [deep networks](../nn/deep_networks.md) page.
