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
# # 7. Security: parameters, the client/server split, and IND-CPA-D
#
# Three questions a deployment has to answer. Are the parameters secure? (The HE standard bounds
# $\log_2 QP$ for each $N$.) Who holds which key? (The client keeps the secret key; the server gets
# a public context and serialized ciphertexts.) And what may the client do with decrypted results?
# (Not share them naively: CKKS decryption leaks the error, and with it the key; noise flooding
# fixes that at a precision cost.) (Concepts: [security](../concepts/security.md).)

# %%
import numpy as np

import ckks
from ckks.attacks import decryption_oracle, is_secret_key, recover_secret, recover_secret_from_real, run_real_attack
from ckks.errors import KeyMissingError, SecurityError
from ckks.precision import precision_bits
from ckks.security.flooding import Flooding
from ckks.security.standard import MAX_MODULUS_BITS

# %% [markdown]
# ## Choosing parameters against the HE standard
#
# The HomomorphicEncryption.org standard gives, for each ring degree $N$, the largest $\log_2(QP)$
# that keeps 128, 192 or 256 bits of security (ternary secret, error $\sigma = 3.2$). The library
# checks every parameter set against it.

# %%
print("    N   128-bit  192-bit  256-bit   (max log2 QP)")
for n in sorted(MAX_MODULUS_BITS[128]):
    row = "  ".join(f"{MAX_MODULUS_BITS[level].get(n, '-'):>7}" for level in (128, 192, 256))
    print(f"{n:6d}  {row}")
assert MAX_MODULUS_BITS[128][8192] == 218 and MAX_MODULUS_BITS[128][16384] == 438

# %% [markdown]
# A circuit of depth $L$ at scale $2^{40}$, with 20 bits for the integer part, needs
# $60 + 40L + 60$ bits. This picks the smallest secure $N$, which is also the fastest:


# %%
def smallest_secure(depth: int, scale_bits: int = 40, integer_bits: int = 20, security: int = 128):
    first = scale_bits + integer_bits
    bits = [first] + [scale_bits] * depth + [max(first, scale_bits)]
    for n in sorted(MAX_MODULUS_BITS[security]):
        if sum(bits) <= MAX_MODULUS_BITS[security][n]:
            return n, bits
    raise ValueError(f"no N in the standard holds {sum(bits)} bits")


for depth in (1, 2, 4, 8, 16):
    n, bits = smallest_secure(depth)
    params = ckks.Parameters(n, bits, 40)  # raises SecurityError if the choice were wrong
    print(f"depth {depth:2d}: N = {n:5d}, log2 QP = {params.total_bits} bits, moduli_bits = {bits}")
    assert params.max_level == depth

try:
    ckks.Parameters(8192, [60, 40, 40, 40, 60], 40)
except SecurityError as error:
    print("\nSecurityError:", error)
else:
    raise AssertionError("240 bits at N = 8192 is over the bound")
assert ckks.Parameters(16384, [60, 40, 40, 60], 40, security=192).security == 192

# %% [markdown]
# ## The client/server split
#
# The client creates the keys and sends the server a *public* context: parameters, public key,
# relinearization and Galois keys, no secret key. Ciphertexts travel as bytes in a versioned binary
# format (never pickle); loading checks a fingerprint of the parameters and keys.

# %%
client = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)
client.generate_galois_keys(progress=False)  # the default keys: every power-of-two rotation
public_blob = client.serialize()  # no secret key unless serialize(secret_key=True)
print(f"public context: {len(public_blob) / 2**20:.1f} MiB")

server = ckks.Context.load(public_blob)
assert not server.is_private

salaries = np.array([52.0, 61.5, 48.25, 70.0]) / 100  # the client's private data, scaled to about 1
request = client.encrypt(salaries).serialize()
print(f"one ciphertext: {len(request) / 2**10:.0f} KiB")

# --- on the server: compute on what it cannot read
enc = ckks.CKKSVector.load(server, request)
try:
    enc.decrypt()
except KeyMissingError as error:
    print("server cannot decrypt:", error)
else:
    raise AssertionError("a public context must not decrypt")
sum_of_squares = (enc * enc).sum()
reply = sum_of_squares.serialize()

# --- back on the client
answer = ckks.CKKSVector.load(client, reply).decrypt()[0] / len(salaries)
print(f"mean of squares: {answer:.8f} (numpy {np.mean(salaries**2):.8f})")
assert abs(answer - np.mean(salaries**2)) < 1e-6

# %% [markdown]
# A seeded symmetric encryption stores its uniform half as a 32-byte seed: half the upload.

# %%
compact = client.encrypt(salaries, symmetric=True).serialize()
print(f"public-key ciphertext {len(request) / 2**10:.0f} KiB, symmetric (seeded) {len(compact) / 2**10:.0f} KiB")
assert len(compact) < 0.6 * len(request)

# %% [markdown]
# ## IND-CPA-D: one shared decryption gives the key away
#
# CKKS decryption returns $m' = c_0 + c_1 s = m + e$, error included. Suppose the client shares the
# decoded result (all $N/2$ complex slots), and an eavesdropper also saw the ciphertext. Re-encoding
# the values gives the exact integer polynomial $m'$, and then $c_1 s = m' - c_0 \pmod{q_0}$ is a
# diagonal system in NTT form (Li and Micciancio, Eurocrypt 2021):

# %%
victim = ckks.Context(poly_degree=8192, moduli_bits=[60, 40, 40, 60], scale_bits=40)  # 128-bit secure
ct = victim.encrypt(np.random.default_rng(0).uniform(-1, 1, victim.slots)).ciphertext
shared = decryption_oracle(victim, ct)  # what the client publishes

candidate = recover_secret(ct, shared)  # the attacker: ciphertext + shared values only
secret = victim.secret_key.coefficients.astype(np.int64)
print("secret   :", secret[:16])
print("recovered:", candidate[:16])
print("wrong coefficients:", int(np.count_nonzero(candidate != secret)), "of", secret.size)
print("the attacker confirms with the public key:", is_secret_key(victim.public_key, candidate))
assert np.array_equal(candidate, secret) and is_secret_key(victim.public_key, candidate)

# %% [markdown]
# ### Real outputs are no protection
#
# `ctx.decrypt` of a real vector returns only the real parts of the slots. They are the slots of
# $(m' + \bar m')/2$, where the bar is $X \mapsto X^{-1}$, so re-encoding gives $w = m' + \bar m'$
# exactly and $w - c_0 - \bar c_0 = c_1 s + \bar c_1 \bar s \pmod{q_0}$. In the NTT domain the bar
# only swaps pairs of evaluation points, so each pair gives one equation in two unknowns, and a
# *second* ciphertext makes it a $2 \times 2$ system per pair: two ordinary `ctx.decrypt` results
# give the exact key.

# %%
vectors = [victim.encrypt(np.random.default_rng(seed).uniform(-1, 1, victim.slots)) for seed in (2, 3)]
outputs = [victim.decrypt(v) for v in vectors]  # real numbers, exactly what the public API returns
candidate = recover_secret_from_real([v.ciphertext for v in vectors], outputs)
print("two real decryptions -> wrong coefficients:", int(np.count_nonzero(candidate != secret)))
assert np.array_equal(candidate, secret)

# %% [markdown]
# ## The mitigation: noise flooding
#
# Decrypting with a fresh Gaussian $e_f$ of standard deviation
# $\sigma_f = \sqrt{12\tau}\, 2^{\lambda/2} B$ (here $\tau = 1$ query, $\lambda = 30$ bits of statistical
# security, and $B$ the error bound of this very ciphertext, which the evaluator tracks through
# every operation) drowns the error. The same attack now produces garbage, and the attacker's check
# says so.

# %%
flooding = Flooding()
shared_flooded = decryption_oracle(victim, ct, flooding)
candidate = recover_secret(ct, shared_flooded)
print("wrong coefficients:", int(np.count_nonzero(candidate != secret)), "of", secret.size)
print("passes the public-key check:", is_secret_key(victim.public_key, candidate))
assert not np.array_equal(candidate, secret) and not is_secret_key(victim.public_key, candidate)

# %% [markdown]
# A context can flood *every* decryption (`ctx.decrypt`, `vector.decrypt()`, `matrix.decrypt()`):
# the two-ciphertext attack on its real outputs recovers nothing.

# %%
result = run_real_attack(flooding=True, poly_degree=8192, moduli_bits=(60, 40, 40, 60), security=128)
print("flooding context -> wrong coefficients:", result.wrong_coefficients, "of", result.secret.size)
assert not result.success and not result.confirmed

# %% [markdown]
# The price is precision: about $\log_2 \sigma_f + \frac12 \log_2 N$ bits. At scale $2^{40}$ little is
# left; results that will be shared should be computed at a larger scale.

# %%
x = np.random.default_rng(1).uniform(-1, 1, 1024)
for scale_bits, bits in ((40, [60, 40, 60]), (50, [60, 50, 60])):
    c = ckks.Context(poly_degree=8192, moduli_bits=bits, scale_bits=scale_bits)
    v = c.encrypt(x)
    plain_bits = precision_bits(v.decrypt(), x)
    flooded_bits = precision_bits(v.decrypt(flooding=True), x)
    print(f"scale 2^{scale_bits}: {plain_bits:.1f} bits plain, {flooded_bits:.1f} bits with flooding "
          f"(predicted loss ~{flooding.lost_bits(c.params):.0f} bits)")
    assert flooded_bits < plain_bits - 10
    assert flooded_bits > scale_bits - flooding.lost_bits(c.params) - 6

# %% [markdown]
# ## When is flooding needed, and who does it
#
# Flooding is needed for every decrypted value that **leaves the key owner**: published, sent back
# to a server, returned by a prediction service. The core `ckks.Context` keeps plain decryption
# by default (values that stay with you); `flooding="auto"` floods every decryption with noise
# sized from each ciphertext's tracked error bound, and warns when the scale is too small for it.

# %%
auto = ckks.Context(poly_degree=8192, moduli_bits=[60, 50, 60], scale_bits=50, flooding="auto")
result = run_real_attack(flooding="auto", poly_degree=8192, moduli_bits=(60, 40, 40, 60), security=128)
print("flooding='auto' context:", auto.flooding, "-> attack recovers the key:", result.success)
assert auto.flooding is not None and not result.success

# %% [markdown]
# The neural-network layer floods **by default**: `nn.encrypted.compile` budgets the flooding bits
# in the scale (so that `precision_bits` holds after flooding), the context `em.keygen()` returns
# floods every decryption with a noise bound measured on the model's own outputs, and
# `em.summary()` says so. `flooding=False` opts out, and re-opens the attack: here the same
# two-decryption attack through the model's keygen context, on a toy ring.

# %%
import warnings  # noqa: E402

import nn  # noqa: E402
from nn import encrypted  # noqa: E402

net = nn.Sequential([nn.Linear(16, 4, rng=0), nn.Square(), nn.Linear(4, 3, rng=1)])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # toy parameters (N = 2048) warn that they are insecure
    for flood in (True, False):
        em = encrypted.compile(net, (16,), 2, security=None, poly_degree=2048, flooding=flood)
        client = em.keygen()
        vs = [client.encrypt(np.random.default_rng(k).uniform(-1, 1, client.slots)) for k in range(2)]
        guess = recover_secret_from_real([v.ciphertext for v in vs], [client.decrypt(v) for v in vs])
        found = bool(np.array_equal(guess, client.secret_key.coefficients))
        print(f"compile(flooding={flood}): scale 2^{em.params.scale_bits}, {em.params.flooding_bits} bits for "
              f"flooding -> attack recovers the key: {found}")
        assert found is not flood
print(em.summary().splitlines()[-1])

# %% [markdown]
# Summary: pick parameters from the standard (the library refuses others), give servers only a
# public context, and never publish raw decryptions: decrypt with flooding, at a scale that leaves
# the precision you need. The neural-network chapters build on all of this (and flood by default).
