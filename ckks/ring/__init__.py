"""The ring layer: arithmetic in R_q = Z_q[X]/(X^N + 1) for word-sized primes q.

What lives here: prime generation as SEAL does it (`ckks.ring.primes`),
64x64 -> 128-bit modular arithmetic with Barrett and Shoup reductions in numba
(`ckks.ring.modarith`), the negacyclic NTT (`ckks.ring.ntt`), the
residue number system: CRT, fast basis conversion, exact division and
rounding (`ckks.ring.rns`), SHAKE-256 sampling of uniform, ternary and
Gaussian polynomials (`ckks.ring.sampling`), a level-bound view of the
ring (`ckks.ring.level`), plain-Python references of every kernel
that the tests check the kernels against (`ckks.ring.reference`), and the
measured size from which each parallel kernel runs on several threads
(`ckks.ring.thresholds`).

Nothing here knows about CKKS: there are no keys, scales or slots.

May import: numpy, numba, sympy, the standard library, `ckks.errors`
and `ckks.validation`.  Nothing above it.
"""

# Threading layer: TBB where installed (fast to start, fork-safe), else numba's workqueue; never GNU
# OpenMP, which kills a child forked after a parallel kernel ran.  `ckks.ring.threads` says why and
# measures it; an explicit NUMBA_THREADING_LAYER wins.
from ckks.ring.threads import choose_threading_layer as _choose_threading_layer

_choose_threading_layer()

# A cold numba cache means 10-25 s of silent compiling on first use: say so, once (`ckks.ring.jit`).
from ckks.ring.jit import note_cold_cache as _note_cold_cache  # noqa: E402

_note_cold_cache()
