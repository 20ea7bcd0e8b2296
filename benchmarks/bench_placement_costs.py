"""The timings behind the placement's cost model (`nn.encrypted.placement`), in one short run.

    python benchmarks/bench_placement_costs.py

Prints the seconds per limb of a ciphertext product (with relinearisation and rescale), a rotation and a
plaintext product at N = 4096, level 8 (9 limbs; best of 5 after a warm-up), and the seconds of one
teaching bootstrap with full (2048 slots) and sparse (64 slots) packing, next to the constants the module
states (MUL_SECONDS, ROT_SECONDS, PT_SECONDS, BOOTSTRAP_SECONDS, SPARSE_FACTOR).  Insecure teaching
parameters (security=None); a few seconds of CPU, under 1 GiB.
"""

from __future__ import annotations

import time
import warnings

import numpy as np


def _best(f, repeat: int = 5) -> float:
    f()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    warnings.simplefilter("ignore")
    from ckks.context import Context
    from nn.encrypted import placement

    ctx = Context(4096, [60] + [40] * 8 + [60], 40, security=None, seed=1)
    ctx.generate_galois_keys(steps=[1], progress=False)
    ev, ct = ctx.evaluator, ctx.encrypt(np.ones(8)).ciphertext
    limbs = ct.level + 1
    pt = ctx.encoder.encode(np.ones(8), ct.scale, ct.level)
    rows = [
        ("product + relinearize + rescale", lambda: ev.rescale(ev.relinearize(ev.multiply(ct, ct))),
         placement.MUL_SECONDS),
        ("rotation", lambda: ctx.rotator.rotate(ct, 1), placement.ROT_SECONDS),
        ("plaintext product", lambda: ev.multiply_plain(ct, pt), placement.PT_SECONDS),
    ]
    print(f"N = 4096, level {ct.level} ({limbs} limbs): seconds per limb, measured vs the module's constant")
    for name, f, constant in rows:
        print(f"  {name:<34} {_best(f) / limbs:.3g}   (module: {constant:.3g})")
    boots = {}
    for slots in (2048, 64):
        bctx = Context.for_bootstrapping("teaching", security=None, seed=1, slots=slots)
        bctx.generate_bootstrapping_keys(progress=False)
        v = bctx.encrypt(np.linspace(-1, 1, 64))
        boots[slots] = _best(lambda v=v: v.bootstrap(), repeat=2)
        print(f"teaching bootstrap, {slots} slots: {boots[slots]:.3g} s")
    print(f"module: {placement.BOOTSTRAP_SECONDS['teaching'][2]} s full; sparse/full measured "
          f"{boots[64] / boots[2048]:.2f} (module: {placement.SPARSE_FACTOR})")


if __name__ == "__main__":
    main()
