"""CKKS bootstrapping: refresh a ciphertext's levels homomorphically.

One module per step, each with its math and its level/scale bookkeeping:

* `ckks.circuits.bootstrapping.mod_raise`: ModRaise (and the sparse-packing trace);
* `ckks.circuits.bootstrapping.dft`: the special DFT factorised into sparse BSGS levels;
* `ckks.circuits.bootstrapping.coeffs_to_slots`, `ckks.circuits.bootstrapping.slots_to_coeffs`;
* `ckks.circuits.bootstrapping.eval_mod`: scaled cosine + double angles;
* `ckks.circuits.bootstrapping.presets`: the modulus chains ("teaching", "128");
* `ckks.circuits.bootstrapping.bootstrapper`: the whole circuit and its keys.

May import: `ckks.scheme`, `ckks.ring`, `ckks.security`, the rest of
`ckks.circuits`; never the high-level API.
"""

from ckks.circuits.bootstrapping.bootstrapper import (
    Bootstrapper,
    find_bootstrapper,
    max_error_bits,
    register_bootstrapper,
)
from ckks.circuits.bootstrapping.eval_mod import EvalModConfig
from ckks.circuits.bootstrapping.presets import PRESETS, BootstrapConfig, bootstrapping_parameters, preset

__all__ = [
    "Bootstrapper",
    "BootstrapConfig",
    "EvalModConfig",
    "PRESETS",
    "preset",
    "bootstrapping_parameters",
    "max_error_bits",
    "register_bootstrapper",
    "find_bootstrapper",
]
