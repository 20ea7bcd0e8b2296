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
# # 2. The ring, RNS and the NTT
#
# Ciphertexts are polynomials in $R_Q = \mathbb{Z}_Q[X]/(X^N + 1)$ with $Q$ of hundreds of bits and
# $N$ in the thousands. Two ideas make arithmetic there fast:
#
# * **RNS**: store a number modulo $Q = q_0 q_1 \cdots q_\ell$ as its residues modulo each prime
#   (Chinese remainder theorem), so everything happens in 64-bit words.
# * **NTT**: evaluate polynomials at the $N$ roots of $X^N + 1$ modulo each prime, where the ring
#   product becomes a coefficient-wise product: $O(N \log N)$ instead of $O(N^2)$.
#
# We check both on examples small enough to follow by hand, then look at the library's numba
# kernel next to its plain-Python reference. (Concepts: [the ring, RNS and the NTT](../concepts/ring-rns-ntt.md).)

# %%
import inspect
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np

import ckks
from ckks.errors import InsecureWarning
from ckks.ring import reference
from ckks.ring.ntt import NTTTables, bit_reverse_permutation
from ckks.ring.primes import primitive_root_of_unity
from tutorials.figures import show

warnings.simplefilter("ignore", InsecureWarning)

# %% [markdown]
# ## Negacyclic multiplication by hand
#
# In $\mathbb{Z}_q[X]/(X^N+1)$ we have $X^N = -1$: a product term $X^{i+j}$ with $i + j \ge N$ comes
# back as $-X^{i+j-N}$. Take $N = 4$, $q = 17$, $a = 1 + 2X + 3X^2 + 4X^3$ and $b = X$: multiplying
# by $X$ shifts the coefficients up and the top one wraps around negated.

# %%
q, N = 17, 4
a = [1, 2, 3, 4]
b = [0, 1, 0, 0]
product = reference.negacyclic_product(a, b, q)
print("a * X =", product, "  (that is -4 + 1X + 2X^2 + 3X^3, and -4 = 13 mod 17)")
assert product == [13, 1, 2, 3]

# %% [markdown]
# ## The NTT by hand
#
# The primes of the library satisfy $q \equiv 1 \pmod{2N}$, so $\mathbb{Z}_q$ has an element $\psi$ of
# order exactly $2N$. Its odd powers are the roots of $X^N + 1$ modulo $q$. For $q = 17$, $N = 4$ we
# need $\psi^8 = 1$ and $\psi^4 = -1$:

# %%
psi = primitive_root_of_unity(2 * N, q)
powers = [pow(psi, k, q) for k in range(2 * N)]
print(f"psi = {psi}, powers of psi mod 17: {powers}")
assert pow(psi, N, q) == q - 1 and pow(psi, 2 * N, q) == 1
odd_roots = [pow(psi, k, q) for k in (1, 3, 5, 7)]
assert all((r**N + 1) % q == 0 for r in odd_roots), "psi^k for odd k are the roots of X^4 + 1 mod 17"

# %% [markdown]
# The NTT evaluates a polynomial at these roots, in the bit-reversed order the fast algorithm
# produces: $\mathrm{NTT}(a)_k = a(\psi^{2\,\mathrm{brv}(k)+1})$. Evaluating at a root of $X^N+1$
# ignores the reduction, so the NTT of a product is the product of the NTTs, point by point.


# %%
def evaluate(poly: list[int], x: int, modulus: int) -> int:
    return sum(c * pow(x, i, modulus) for i, c in enumerate(poly)) % modulus


brv = bit_reverse_permutation(N)
ntt_a = [evaluate(a, pow(psi, 2 * int(brv[k]) + 1, q), q) for k in range(N)]
ntt_b = [evaluate(b, pow(psi, 2 * int(brv[k]) + 1, q), q) for k in range(N)]
ntt_product = [evaluate(product, pow(psi, 2 * int(brv[k]) + 1, q), q) for k in range(N)]
print("NTT(a)     =", ntt_a)
print("NTT(b)     =", ntt_b)
print("NTT(a * b) =", ntt_product, "= NTT(a) . NTT(b) mod 17 =", [x * y % q for x, y in zip(ntt_a, ntt_b)])
assert ntt_product == [x * y % q for x, y in zip(ntt_a, ntt_b)]
assert reference.ntt(a, q, psi) == ntt_a, "the library's reference NTT is this definition"
assert reference.intt(ntt_a, q, psi) == a, "and its inverse gives the coefficients back"

# %% [markdown]
# ## The numba kernel next to the reference
#
# The reference evaluates the definition in $O(N^2)$. The kernel computes the same values in
# $O(N \log N)$ with $\log_2 N$ stages of Cooley-Tukey butterflies $(x, y) \mapsto (x + wy, x - wy)$,
# the twiddles $w$ being powers of $\psi$ in bit-reversed order. Its products use Shoup's trick:
# with $w' = \lfloor w \cdot 2^{64} / q \rfloor$ precomputed, $w y \bmod q$ needs one high product
# and one correction, no division; values stay lazily in $[0, 4q)$ between stages (Harvey).

# %%
print(inspect.getsource(reference.ntt))
print(inspect.getsource(ckks.ring.ntt.forward_one))

# %% [markdown]
# The kernel works on a numpy `uint64` array in place, one row per prime. It agrees with the
# reference on our example, and on a random polynomial with a real 60-bit prime:

# %%
tables = NTTTables(N, (q,))
data = np.array([a], dtype=np.uint64)
tables.forward(data)
print("kernel NTT(a) =", data[0].tolist())
assert data[0].tolist() == ntt_a
tables.inverse(data)
assert data[0].tolist() == a

params = ckks.Parameters(poly_degree=64, moduli_bits=[60, 60], security=None)
q60 = params.data_moduli[0]
big_tables = NTTTables(64, (q60,))
poly = np.random.default_rng(0).integers(0, q60, 64, dtype=np.uint64)
fast = poly[None, :].copy()
big_tables.forward(fast)
slow = reference.ntt([int(c) for c in poly], q60, int(big_tables.psi[0]))
print(f"q = {q60} ({q60.bit_length()} bits): kernel == reference: {fast[0].tolist() == slow}")
assert fast[0].tolist() == slow

# %% [markdown]
# ## RNS: a big modulus as several small ones
#
# Take three primes and $Q = q_0 q_1 q_2$. A number $x < Q$ is stored as $(x \bmod q_i)_i$;
# additions and multiplications act on each residue separately, and the Chinese remainder theorem
# gives $x$ back:
#
# $$x = \sum_i \Big[x_i \big(\tfrac{Q}{q_i}\big)^{-1}\Big]_{q_i} \frac{Q}{q_i} \bmod Q.$$

# %%
rns = ckks.Parameters(poly_degree=16, moduli_bits=[30, 30, 30, 30], scale_bits=20, security=None)
primes = list(rns.data_moduli)
Q = primes[0] * primes[1] * primes[2]
x, y = 123456789012345678, 987654321098765
residues_x = [x % p for p in primes]
residues_y = [y % p for p in primes]
residues_xy = [rx * ry % p for rx, ry, p in zip(residues_x, residues_y, primes)]
print(f"primes {primes}, Q has {Q.bit_length()} bits")
print("x mod q_i:", residues_x)
back = reference.crt_reconstruct(np.array([[r] for r in residues_xy], dtype=np.uint64), primes)[0]
print(f"CRT of the residue-wise product: {back}")
print(f"x * y mod Q                     : {x * y % Q}")
assert back == x * y % Q

# %% [markdown]
# ## What the NTT buys
#
# In NTT form a ring product is $N$ modular products per prime. We time the single-limb kernel
# `ckks.ring.ntt.forward_one` (the batched `NTTTables.forward` runs it on every prime in parallel)
# against the $O(N^2)$ schoolbook negacyclic product at a few sizes (the schoolbook one only at
# small $N$: it is quadratic *and* in pure Python). The timings are whatever this machine gives; no
# assertion depends on them.

# %%
rows = []
for log_n in range(6, 15):
    n = 2**log_n
    p = ckks.Parameters(poly_degree=n, moduli_bits=[60, 60], security=None)
    t = NTTTables(n, (p.data_moduli[0],))
    values = np.random.default_rng(log_n).integers(0, p.data_moduli[0], (1, n), dtype=np.uint64)
    limb, twiddles, shoup = values[0], t.psi_rev[0], t.psi_rev_shoup[0]
    ckks.ring.ntt.forward_one(limb.copy(), twiddles, shoup, t.moduli[0])  # compile / warm up
    start = time.perf_counter()
    for _ in range(20):
        ckks.ring.ntt.forward_one(limb, twiddles, shoup, t.moduli[0])
    ntt_ms = (time.perf_counter() - start) / 20 * 1e3
    school_ms = float("nan")
    if n <= 256:
        poly_list = [int(v) for v in values[0]]
        start = time.perf_counter()
        reference.negacyclic_product(poly_list, poly_list, p.data_moduli[0])
        school_ms = (time.perf_counter() - start) * 1e3
    rows.append((n, ntt_ms, school_ms))
    school = f"{school_ms:9.2f} ms" if n <= 256 else "(skipped)"
    print(f"N = {n:6d}: NTT {ntt_ms:8.3f} ms   schoolbook product {school}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ns = [r[0] for r in rows]
ax.loglog(ns, [r[1] for r in rows], "o-", label="numba NTT (one 60-bit prime)")
small = [r for r in rows if r[2] == r[2]]
ax.loglog([r[0] for r in small], [r[2] for r in small], "s-", label="schoolbook product (pure Python)")
ax.set_xlabel("N")
ax.set_ylabel("milliseconds")
ax.set_title("NTT O(N log N) against schoolbook O(N^2)")
ax.legend()
fig.tight_layout()
show(fig, "02_ring_rns_ntt_ntt_timing.png")

# %% [markdown]
# A ring product in NTT form is two forward NTTs, $N$ products and one inverse NTT, per prime; the
# library skips most of these by keeping ciphertexts in NTT form between operations. Next:
# [encryption and noise](03_encryption_noise.md).
