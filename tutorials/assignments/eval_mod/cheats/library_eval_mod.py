"""Cheat: the library's own EvalMod (ckks.circuits.bootstrapping.eval_mod), as the bootstrapper calls it.

Blocked: ckks.circuits is forbidden in this assignment (and ckks.scheme, which the call needs).
must fail: all
"""

from ckks.circuits.bootstrapping.eval_mod import EvalModConfig
from ckks.circuits.bootstrapping.eval_mod import eval_mod as library_eval_mod


def eval_mod(v, k_range, degree, steps):
    config = EvalModConfig(k_range, degree, steps)
    ctx = v.context
    return library_eval_mod(v.ciphertext, config, 1.0, ctx.evaluator, ctx.encoder)
