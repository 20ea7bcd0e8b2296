"""The circuits layer: algorithms built from scheme operations.

What lives here: plaintext linear transforms of the slots by the diagonal
method and baby-step giant-step (:mod:`~ckks.circuits.linear_transform`),
encrypted matrix products and transposes of Jiang et al.
(:mod:`~ckks.circuits.matrix_product`), polynomial evaluation in the power
and Chebyshev bases with the fewest levels (:mod:`~ckks.circuits.polynomial`),
and Chebyshev fits of common functions (:mod:`~ckks.circuits.chebyshev`).
Bootstrapping goes here too.

Every function takes scheme objects (Evaluator, Encoder, Rotator,
Ciphertext) and states the levels it consumes.

May import: :mod:`ckks.scheme`, :mod:`ckks.security`, :mod:`ckks.ring`,
:mod:`ckks.errors`, :mod:`ckks.validation`.  Nothing from the high-level API
(:mod:`ckks.context`, :mod:`ckks.vector`, :mod:`ckks.matrix`).
"""
