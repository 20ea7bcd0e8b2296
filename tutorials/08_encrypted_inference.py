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
# # 8. Encrypted inference: a trained network on ciphertexts
#
# The previous tutorials built every piece: encoding, rescaling, rotations, linear transforms,
# polynomials, parameters against the HE standard. Here they come together. A digits classifier
# trained in plain numpy with `nn` is *compiled* into an encrypted inference plan; a client
# encrypts images, a server that holds no secret key classifies them, and only the client can read
# the answer. (Docs: [encrypted inference](../nn/encrypted_inference.md).)

# %%
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import nn
from ckks.errors import InsecureWarning, KeyMissingError
from nn import encrypted
from nn.datasets import load_digits
from nn.encrypted import pretrained
from nn.errors import NotHEFriendlyError

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # rendered cell by cell
    HERE = Path("tutorials")
data = load_digits()
model = pretrained.load("digits_mlp")
print(model.summary())

# %% [markdown]
# ## Compile: stages, folding, parameters
#
# `compile` rewrites the model as *stages*. Consecutive linear layers (here `Flatten` and `Linear`)
# become one matrix; the activation $x^2$ costs one ciphertext product; the calibration data (the
# training set) records the range of every intermediate value. From the depth and the range it
# picks the smallest ring degree that is 128-bit secure under the HE standard. Decryptions are
# noise-flooded by default (so that the predictions can be shared without revealing the key, see
# tutorial 7), and the scale pays for it: 39 more bits, hence N = 16384 instead of 8192
# (`flooding=False` would give N = 8192 and re-open the key-recovery attack).

# %%
em = encrypted.compile(model, input_shape=(1, 8, 8), batch_size=1, calibration=data.x_train)
print(em.summary())
assert em.depth == 3 and em.params.poly_degree == 16384 and em.params.security == 128
assert em.params.flooding_bits == 39 and "noise-flooded" in em.summary()

# %% [markdown]
# ## Client and server
#
# `keygen` makes a private context with exactly the Galois keys of the plan's rotations. The
# server gets `public_copy()`: it can evaluate, not decrypt.

# %%
ctx = em.keygen()
server = ctx.public_copy()
x = data.x_test[:1]
enc = em.encrypt(ctx, x)
out = em.run(server, enc)
try:
    em.decrypt(server, out)
    raise AssertionError("the server must not be able to decrypt")
except KeyMissingError as exc:
    print("server:", exc)
logits = em.decrypt(ctx, out)
print("encrypted logits:", np.round(logits[0], 3))
print("plaintext logits:", np.round(model.forward(x)[0], 3))
assert np.max(np.abs(logits - model.forward(x))) <= em.tolerance
assert logits.argmax() == model.forward(x).argmax()

# %% [markdown]
# ## Error per layer
#
# `trace` runs the plan stage by stage and decrypts after each one. The error stays at the level
# the scale promises ($2^{-16}$ relative, times the size of the values). The digits CNN with *two*
# convolutions runs too: the second convolution is a linear transform on the slots (TenSEAL cannot
# do that one).

# %%
cnn = pretrained.load("digits_cnn")
em_cnn = encrypted.compile(cnn, (1, 8, 8), 1, calibration=data.x_train)
print(em_cnn.summary())
traces = {"digits MLP": em.trace(ctx, x), "digits CNN (2 convs)": em_cnn.trace(em_cnn.keygen(), x)}
for name, rows in traces.items():
    for r in rows:
        print(f"{name:>20} stage {r['stage']} {r['layers']:<28} level {r['level']} max error {r['max_error']:.2e}")
        assert r["max_error"] <= 1e-2 * max(1.0, r["max_value"])

fig, ax = plt.subplots(figsize=(7, 3.5))
for name, rows in traces.items():
    ax.semilogy([r["stage"] for r in rows], [r["max_error"] for r in rows], "o-", label=name)
ax.set_xlabel("stage")
ax.set_ylabel("max |encrypted - plaintext|")
ax.set_title("Encrypted-vs-plaintext error after each stage")
ax.legend()
fig.tight_layout()
fig.savefig(HERE / "08_encrypted_inference_error.png", dpi=100)

# %% [markdown]
# ## Throughput: one image per slot
#
# The *batch* layout (CryptoNets) puts image $b$ in slot $b$ and one feature per ciphertext: linear
# layers need no rotation at all, and one run classifies up to $N/2 = 4096$ images in the time of
# one. Time per image falls like $1/B$.

# %%
sizes = [1, 16, 128, 450]
per_image = []
for b in sizes:
    emb = encrypted.compile(model, (1, 8, 8), b, layout="batch", calibration=data.x_train)
    cb = emb.keygen()
    start = time.perf_counter()
    got = emb.decrypt(cb, emb.run(cb.public_copy(), emb.encrypt(cb, data.x_test[:b])))
    per_image.append((time.perf_counter() - start) / b)
    agreement = np.mean(got.argmax(1) == model.predict(data.x_test[:b]).argmax(1))
    print(f"batch {b:>3}: {per_image[-1] * 1e3:8.2f} ms per image, agreement {agreement:.2%}")
    assert agreement >= 0.995
assert per_image[-1] < per_image[0] / 20

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(sizes, per_image, "o-", label="batch layout")
ax.set_xlabel("images per run")
ax.set_ylabel("seconds per image")
ax.set_title("Time per image against batch size")
ax.legend()
fig.tight_layout()
fig.savefig(HERE / "08_encrypted_inference_time.png", dpi=100)

# %% [markdown]
# ## An encrypted soft-argmax
#
# Ending the model with `SoftArgmax(beta)` (Florencio et al.) makes the server return
# probabilities and the soft-argmax value $\sum_i i\,\mathrm{softmax}(\beta z)_i$: exp by a
# Chebyshev series over the recorded logit range, the normalisation by a polynomial inverse with
# Newton steps (the denominator's range is stated in the summary). It is deep, so this cell uses an
# insecure small ring for speed. The wider beta times the logit spread, the wider the range of the
# denominator, the deeper its inverse and the more precision it needs: for this model beta = 0.1
# needs 15 levels; beta = 0.2 needs 23 levels and `precision_bits=23`, and where the noise at the
# chosen precision would swamp the smallest denominator the compiler refuses with a ConfigError
# that names beta, the range and the fixes (at the default precision, above about beta = 0.11).

# %%
soft = nn.Sequential(list(model.layers) + [nn.SoftArgmax(0.1)])
with warnings.catch_warnings():
    warnings.simplefilter("ignore", InsecureWarning)
    em_soft = encrypted.compile(soft, (1, 8, 8), 64, layout="batch", calibration=data.x_train,
                                security=None, poly_degree=4096)
    cs = em_soft.keygen()
    res = em_soft.run(cs.public_copy(), em_soft.encrypt(cs, data.x_test[:64]))
    probs, index = em_soft.decrypt(cs, res), em_soft.decrypt_soft_argmax(cs, res)
print(next(line for line in em_soft.summary().splitlines() if line.startswith("soft-argmax")))
want = soft.forward(data.x_test[:64])
print(f"max |encrypted - plaintext softmax| = {np.max(np.abs(probs - want)):.1e}; "
      f"argmax of encrypted probabilities agrees {np.mean(probs.argmax(1) == want.argmax(1)):.0%}; "
      f"rounded soft-argmax equals the argmax for {np.mean(np.rint(index) == want.argmax(1)):.0%} "
      "(it is a soft average: near one-hot outputs need a larger beta)")
assert np.max(np.abs(probs - want)) < 5e-3

# %% [markdown]
# ## What cannot be compiled
#
# ReLU and max-pooling are not polynomials: compile refuses them and points to `nn.convert`.

# %%
teacher = nn.Sequential([nn.Flatten(), nn.Linear(64, 16, rng=0), nn.ReLU(), nn.Linear(16, 10, rng=0)])
try:
    encrypted.compile(teacher, (1, 8, 8))
    raise AssertionError("ReLU must be refused")
except NotHEFriendlyError as exc:
    print(exc)
