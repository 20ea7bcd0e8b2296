"""Serialized sizes: ours (each type's serialize(), the ckks.container format) against TenSEAL's serialize().

Same parameters and objects on both sides.

N = 8192, moduli_bits = [60, 40, 40, 60], scale 2^40 (TenSEAL's tutorial
parameters).  TenSEAL (SEAL underneath) compresses with zstd, which gains on
residues of primes narrower than 64 bits, and stores the uniform half of its
keys as a seed; ours bit-packs every residue to its prime's width
(`ckks.container.pack_residues`) and stores the uniform half of keys and of
fresh symmetric ciphertexts as a 32-byte seed.
TenSEAL serializes keys only inside a context, so a key's size is the
difference between two context serializations (with and without it).

Run: python benchmarks/bench_sizes.py
"""

from __future__ import annotations

import numpy as np
import tenseal as ts

import ckks

try:
    from common import markdown_table
except ImportError:  # run from the repository root as a module
    from benchmarks.common import markdown_table

N, BITS, SCALE_BITS = 8192, [60, 40, 40, 60], 40


def tenseal_sizes(values: np.ndarray) -> dict[str, int]:
    ctx = ts.context(ts.SCHEME_TYPE.CKKS, N, coeff_mod_bit_sizes=BITS)
    ctx.global_scale = 2.0**SCALE_BITS
    ctx.generate_galois_keys()

    def context_bytes(**flags) -> int:
        options = dict(save_public_key=False, save_secret_key=False, save_galois_keys=False, save_relin_keys=False)
        options.update(flags)
        return len(ctx.serialize(**options))

    empty = context_bytes()
    public = context_bytes(save_public_key=True)
    with_relin = context_bytes(save_public_key=True, save_relin_keys=True)
    everything = context_bytes(save_public_key=True, save_relin_keys=True, save_galois_keys=True)
    symmetric = ts.context(
        ts.SCHEME_TYPE.CKKS, N, coeff_mod_bit_sizes=BITS, encryption_type=ts.ENCRYPTION_TYPE.SYMMETRIC
    )
    symmetric.global_scale = 2.0**SCALE_BITS
    return {
        "ciphertext (public-key encryption)": len(ts.ckks_vector(ctx, values).serialize()),
        "ciphertext (fresh, symmetric)": len(ts.ckks_vector(symmetric, values).serialize()),
        "public key": public - empty,
        "relinearization key": with_relin - public,
        "Galois keys (default set)": everything - with_relin,
        "secret key": context_bytes(save_secret_key=True) - empty,
        "public context (pk + relin + Galois)": everything,
    }


def our_sizes(values: np.ndarray) -> tuple[dict[str, int], int]:
    ctx = ckks.Context(N, BITS, SCALE_BITS)
    galois = ctx.generate_galois_keys(progress=False)
    return {
        "ciphertext (public-key encryption)": len(ctx.encrypt(values).serialize()),
        "ciphertext (fresh, symmetric)": len(ctx.encrypt(values, symmetric=True).serialize()),
        "public key": len(ctx.public_key.serialize()),
        "relinearization key": len(ctx.relin_key.serialize()),
        "Galois keys (default set)": len(galois.serialize()),
        "secret key": len(ctx.secret_key.serialize()),
        "public context (pk + relin + Galois)": len(ctx.serialize()),
    }, len(galois)


def main() -> None:
    values = np.random.default_rng(0).uniform(-1, 1, N // 2)
    theirs = tenseal_sizes(values)
    ours, galois_count = our_sizes(values)
    rows = [
        [name, f"{ours[name]:,}", f"{theirs[name]:,}", f"{ours[name] / theirs[name]:.2f}"]
        for name in ours
    ]
    print(f"N = {N}, moduli_bits = {BITS}, scale 2^{SCALE_BITS}; {galois_count} Galois keys on both sides\n")
    print(markdown_table(["object", "ours (bytes)", "TenSEAL (bytes)", "ours / TenSEAL"], rows))


if __name__ == "__main__":
    main()
