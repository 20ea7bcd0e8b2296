"""The circuits layer: algorithms built from scheme operations.

What lives here: plaintext linear transforms of the slots by the diagonal
method and baby-step giant-step (`ckks.circuits.linear_transform`),
encrypted matrix products and transposes of Jiang et al.
(`ckks.circuits.matrix_product`), permutations of blocks as sums of masked
hoisted rotations and the moved-mask product (`ckks.circuits.permutation`),
polynomial evaluation in the power
and Chebyshev bases with the fewest levels (`ckks.circuits.polynomial`),
Chebyshev fits of common functions (`ckks.circuits.chebyshev`),
comparisons (sign, compare, maximum, ReLU, the maximum of a block of slots)
by composite minimax polynomials (`ckks.circuits.comparison`),
interleaved packing of B vectors in one ciphertext, with encoder and rotator
views that run any circuit of N/2B slots on all of them
(`ckks.circuits.interleave`), and bootstrapping (`ckks.circuits.bootstrapping`).

Every function takes scheme objects (Evaluator, Encoder, Rotator,
Ciphertext) and states the levels it consumes.  Nothing here keeps state
across parameter sets: a cache of encoded plaintexts is keyed by the
parameters' fingerprint or lives with one context's encoder.

May import: `ckks.scheme`, `ckks.security`, `ckks.ring`,
`ckks.errors`, `ckks.validation`, `ckks.container`, `ckks.precision`.  Nothing from the high-level API
(`ckks.context`, `ckks.vector`, `ckks.matrix`).
"""
