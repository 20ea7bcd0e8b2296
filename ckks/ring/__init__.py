"""The ring layer: arithmetic in R_q = Z_q[X]/(X^N + 1) for word-sized primes q.

What lives here: prime generation as SEAL does it (:mod:`~ckks.ring.primes`),
64x64 -> 128-bit modular arithmetic with Barrett and Shoup reductions in numba
(:mod:`~ckks.ring.modarith`), the negacyclic NTT (:mod:`~ckks.ring.ntt`), the
residue number system: CRT, fast basis conversion, exact division and
rounding (:mod:`~ckks.ring.rns`), SHAKE-256 sampling of uniform, ternary and
Gaussian polynomials (:mod:`~ckks.ring.sampling`), a level-bound view of the
ring (:mod:`~ckks.ring.level`), and plain-Python references of every kernel
that the tests check the kernels against (:mod:`~ckks.ring.reference`).

Nothing here knows about CKKS: there are no keys, scales or slots.

May import: numpy, numba, sympy, the standard library, :mod:`ckks.errors`
and :mod:`ckks.validation`.  Nothing above it.
"""
