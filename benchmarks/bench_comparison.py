"""Comparison circuits: depth and error of sign/compare at 8, 12, 16 bits, against OpenFHE and Cheon et al.

    python benchmarks/bench_comparison.py                         # the table of docs/concepts/comparison.md
    python benchmarks/bench_comparison.py --bits 8 --no-openfhe --security none   # a quick look (N = 2^13)
    python benchmarks/bench_comparison.py --plot docs/concepts/comparison_sign.png            # the docs figure

For each precision (margin 2^-bits: Lee et al.'s alpha-bit comparison, inputs that differ by
at least 2^-bits) one markdown table row with:

- this library (`ckks.circuits.comparison`): the composite minimax plan's depth, stage degrees,
  ciphertext products, its error in double precision (the numpy model), and ``compare(a, b)``
  run encrypted on every slot (half the pairs within four margins of a tie): the error of
  2 compare - 1 against sign(a - b) over the pairs at least the margin apart, and the CPU time on
  one thread.  128-bit security at the smallest N <= ``--max-ring`` (2^16) that holds
  [60, 40 x depth, 60] (8 and 12 bits: N = 2^15; 16 bits: 960 bits, N = 2^16; peak memory 1.4 GB);
  plans too deep for it run at toy security, N = 2^13;
- Cheon, Kim and Kim (ASIACRYPT 2020), a numpy model of their f_3^df o g_3^dg: the fewest
  compositions (depth 3 each) reaching the same error beyond the same margin;
- OpenFHE (its Python package has no CKKS sign polynomial; it compares by scheme switching,
  ``EvalCompareSchemeSwitching``: CKKS -> FHEW, a functional bootstrap per slot, FHEW -> CKKS):
  the CKKS levels it consumes, its error on integers of ``bits`` bits (one unit, the margin after
  scaling, apart for half of them) and the CPU seconds per compared slot (one thread).  By default
  with the toy parameters of OpenFHE's own example; ``--openfhe-security 128`` (CKKS 128-bit,
  FHEW STD128) needs about 8.5 GB.  OpenFHE runs in the interpreter `ckks.interop.openfhe_python`
  finds (CPython 3.10 wheel).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


# -- OpenFHE side: run as `python bench_comparison.py --openfhe-worker '{"bits": [...], "slots": n}'` -------
def openfhe_worker(request: dict) -> dict:
    """EvalCompareSchemeSwitching at 128-bit on ``slots`` random pairs of integers of each bit width."""
    import openfhe as fhe

    slots = int(request["slots"])
    clock = time.process_time  # CPU seconds (one OpenMP thread: the parent sets OMP_NUM_THREADS=1)
    secure = request.get("security", 128) == 128
    level = fhe.SecurityLevel.HEStd_128_classic if secure else fhe.SecurityLevel.HEStd_NotSet
    params = fhe.CCParamsCKKSRNS()
    # the switch back to CKKS takes 12 levels; one more for the input, and one prime per key-switching digit,
    # keeps log QP under the 128-bit bound of N = 2^15 (OpenFHE's example: depth 17, 3 digits, N = 2^16, ~8 GB)
    params.SetMultiplicativeDepth(int(request.get("depth", 13)))
    params.SetScalingModSize(50)
    params.SetFirstModSize(60)
    params.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTOEXT)
    params.SetSecurityLevel(level)
    if not secure:
        params.SetRingDim(8192)
    params.SetBatchSize(slots)
    params.SetSecretKeyDist(fhe.SecretKeyDist.UNIFORM_TERNARY)
    params.SetKeySwitchTechnique(fhe.KeySwitchTechnique.HYBRID)
    params.SetNumLargeDigits(int(request.get("depth", 13)) + 2)  # FLEXIBLEAUTOEXT adds a tower
    cc = fhe.GenCryptoContext(params)
    for feature in (fhe.PKESchemeFeature.PKE, fhe.PKESchemeFeature.KEYSWITCH, fhe.PKESchemeFeature.LEVELEDSHE,
                    fhe.PKESchemeFeature.ADVANCEDSHE, fhe.PKESchemeFeature.SCHEMESWITCH):
        cc.Enable(feature)
    keys = cc.KeyGen()
    switch = fhe.SchSwchParams()
    switch.SetSecurityLevelCKKS(level)
    switch.SetSecurityLevelFHEW(fhe.BINFHE_PARAMSET.STD128 if secure else fhe.BINFHE_PARAMSET.TOY)
    switch.SetCtxtModSizeFHEWLargePrec(25)
    switch.SetNumSlotsCKKS(slots)
    switch.SetNumValues(slots)
    start = clock()
    lwe_key = cc.EvalSchemeSwitchingSetup(switch)
    lwe = cc.GetBinCCForSchemeSwitch()
    cc.EvalSchemeSwitchingKeyGen(keys, lwe_key)
    p_lwe = int((1 << 25) / (2 * lwe.GetBeta()))
    cc.EvalCompareSwitchPrecompute(p_lwe, 1.0)
    setup = clock() - start
    rng = np.random.default_rng(0)
    rows = []
    for bits in request["bits"]:
        half = 2 ** (int(bits) - 1)
        a = rng.integers(-half, half, slots).astype(float)
        b = a + rng.choice([-1.0, 1.0], slots)  # the hardest pairs: one unit (the margin) apart
        b[slots // 2 :] = rng.integers(-half, half, slots - slots // 2)
        c1 = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(list(a), 1, 0, None, slots))
        c2 = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(list(b), 1, 0, None, slots))
        start = clock()
        out = cc.EvalCompareSchemeSwitching(c1, c2, slots, slots)
        seconds = clock() - start
        plain = cc.Decrypt(keys.secretKey, out)
        plain.SetLength(slots)
        got = np.array(plain.GetRealPackedValue())
        truth = (a < b).astype(float)  # OpenFHE returns the sign bit of a - b: 1 where a < b
        tie = a == b
        error = float(np.max(np.abs(got - truth)[~tie])) if np.any(~tie) else 0.0
        rows.append({"bits": int(bits), "levels": int(out.GetLevel() - c1.GetLevel()), "error": error,
                     "seconds_per_slot": seconds / slots})
    return {"ring": cc.GetRingDimension(), "p_lwe": p_lwe, "setup_seconds": setup, "rows": rows}


# -- Cheon, Kim and Kim's f_3 and g_3 (ASIACRYPT 2020, sec. 3.3 and 4), as a numpy model ---------------------
F3 = np.array([0, 35, 0, -35, 0, 21, 0, -5]) / 2**4
G3 = np.array([0, 4589, 0, -16577, 0, 25614, 0, -12860]) / 2**10


def cheon_depth(bits: int, margin: float, max_total: int = 40) -> tuple[int, int, float]:
    """The fewest f_3^df o g_3^dg (3 levels each) with max |p - sign| <= 2^-bits on [margin, 1]: (dg, df, error)."""
    x = np.unique(np.concatenate([np.geomspace(margin, 1, 20001), np.linspace(margin, 1, 20001)]))
    best = None
    for total in range(1, max_total + 1):
        for dg in range(total + 1):
            y = x
            for _ in range(dg):
                y = np.polynomial.polynomial.polyval(y, G3)
            for _ in range(total - dg):
                y = np.polynomial.polynomial.polyval(y, F3)
            error = float(np.max(np.abs(y - 1)))
            if error <= 2.0**-bits and (best is None or error < best[2]):
                best = (dg, total - dg, error)
        if best is not None:
            return best
    return (-1, -1, float("nan"))


# -- this library ------------------------------------------------------------------------------------------
def ring_for(depth: int, max_ring: int, security: int | None) -> tuple[int, list[int], int | None]:
    """The smallest N <= max_ring holding [60, 40 x depth, 60] at ``security``, else toy security at N = 2^13.

    The scale stays 2^40: at 2^36 the CKKS noise, amplified by the steep stages, costs the 16-bit plan a bit.
    """
    from ckks.security.standard import max_modulus_bits

    bits = [60] + [40] * depth + [60]
    if security is not None:
        for n in (8192, 16384, 32768, 65536):
            if n <= max_ring and sum(bits) <= max_modulus_bits(n, security):
                return n, bits, security
    return 8192, bits, None


def encrypted_compare(plan, max_ring: int, security: int | None) -> dict:
    """compare(a, b) on every slot: the error of 2 compare - 1 against sign(a - b) beyond the margin, CPU time."""
    import warnings

    import ckks
    from ckks.circuits import comparison

    n, bits, security = ring_for(plan.depth, max_ring, security)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = ckks.Context(n, bits, 40, security=security)
    slots = ctx.params.slots
    rng = np.random.default_rng(plan.bits)
    a = rng.uniform(-0.5, 0.5, slots)
    gap = rng.uniform(plan.margin, 4 * plan.margin, slots) * rng.choice([-1.0, 1.0], slots)
    b = np.where(np.arange(slots) < slots // 2, np.clip(a + gap, -0.5, 0.5), rng.uniform(-0.5, 0.5, slots))
    ca, cb = ctx.encrypt(a).ciphertext, ctx.encrypt(b).ciphertext
    start = time.process_time()
    out = comparison.compare(ca, cb, ctx.evaluator, ctx.encoder, plan=plan)
    seconds = time.process_time() - start
    got = np.real(ctx.encoder.decode(ctx.decryptor.decrypt(out)))
    beyond = np.abs(a - b) >= plan.margin
    sign_error = 2 * float(np.max(np.abs(got - (a > b))[beyond]))  # compare = (1 + sign) / 2
    where = f"N=2^{n.bit_length() - 1}, " + ("toy" if security is None else f"{security}-bit")
    return {"where": where, "sign_error": sign_error, "seconds": seconds, "slots": slots}


def plot(path: Path, bits: int = 8) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ckks.circuits import comparison

    plan = comparison.sign_plan(bits)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    tail = np.geomspace(1e-5, 1, 20001)
    x = np.sort(np.concatenate([np.linspace(-1, 1, 20001), tail, -tail]))
    y = x
    for i, c in enumerate(plan.coefficients):
        y = np.polynomial.chebyshev.chebval(y, c)
        label = f"after stage {i + 1} (degree {plan.degrees[i]})"
        axes[0].plot(x, y, lw=1.2 if i == len(plan.coefficients) - 1 else 0.8, label=label)
    axes[0].axvspan(-plan.margin, plan.margin, color="0.85", label=f"|x| < margin 2^-{bits}")
    axes[0].set_xscale("symlog", linthresh=plan.margin / 4)
    ticks = [-1, -0.1, -0.01, 0, 0.01, 0.1, 1]
    axes[0].set_xticks(ticks, [f"{t:g}" for t in ticks])
    axes[0].set_title(f"composite minimax sign, {bits} bits: depth {plan.depth}")
    axes[0].legend(fontsize=7, loc="upper left")
    axes[0].set_xlabel("x (linear within margin / 4 of 0, logarithmic beyond)")
    xs = np.geomspace(plan.margin / 8, 1, 4000)
    error = np.abs(plan(xs) - 1)
    axes[1].loglog(xs, np.maximum(error, 1e-18), lw=1)
    axes[1].axhline(2.0**-bits, color="C3", ls="--", label=f"2^-{bits}")
    axes[1].axvline(plan.margin, color="0.5", ls=":", label="margin")
    axes[1].set_title("|p(x) - sign(x)| for x > 0 (p is odd)")
    axes[1].set_xlabel("x")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})
    print(f"wrote {path}")


def run_openfhe(bits: list[int], slots: int, security: int | None) -> dict | None:
    from ckks.interop import openfhe_python

    python = openfhe_python()
    if python is None:
        print("OpenFHE: no interpreter imports openfhe (see README: .venv-openfhe); its columns stay empty",
              file=sys.stderr)
        return None
    request = json.dumps({"bits": bits, "slots": slots, "security": security})
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([python, __file__, "--openfhe-worker", request], capture_output=True, text=True,
                          timeout=3600, env=env)
    if done.returncode:
        print(f"OpenFHE worker failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 12, 16])
    parser.add_argument("--max-ring", type=int, default=65536,
                        help="largest N for the 128-bit runs (default 2^16); deeper plans run at toy security, N=2^13")
    parser.add_argument("--security", default="128", choices=["128", "none"])
    parser.add_argument("--openfhe-security", default="none", choices=["128", "none"],
                        help="OpenFHE's parameters: its example's toy ones (default), or 128-bit (about 8.5 GB)")
    parser.add_argument("--openfhe-slots", type=int, default=4, help="slots OpenFHE compares")
    parser.add_argument("--no-openfhe", action="store_true")
    parser.add_argument("--no-encrypted", action="store_true", help="plans and numpy models only")
    parser.add_argument("--plot", type=Path, help="write the figure of the 8-bit composite here and stop")
    parser.add_argument("--openfhe-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.openfhe_worker:
        print(json.dumps(openfhe_worker(json.loads(args.openfhe_worker))))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.plot:
        plot(args.plot)
        return
    from common import markdown_table

    from ckks.circuits import comparison
    from ckks.ring.modarith import set_threads

    set_threads(1)
    security = None if args.security == "none" else int(args.security)
    openfhe_security = None if args.openfhe_security == "none" else int(args.openfhe_security)
    openfhe = None if args.no_openfhe else run_openfhe(args.bits, args.openfhe_slots, openfhe_security)
    theirs = {row["bits"]: row for row in openfhe["rows"]} if openfhe else {}
    rows = []
    for bits in args.bits:
        start = time.perf_counter()
        plan = comparison.sign_plan(bits)
        planning = time.perf_counter() - start
        dg, df, cheon_error = cheon_depth(bits, plan.margin)
        enc = None if args.no_encrypted else encrypted_compare(plan, args.max_ring, security)
        other = theirs.get(bits)
        rows.append([
            str(bits), f"2^-{bits}", str(plan.depth), str(list(plan.degrees)), str(plan.products),
            f"2^{np.log2(plan.error):.2f}",
            "-" if enc is None else f"2^{np.log2(enc['sign_error']):.2f}",
            "-" if enc is None else f"{enc['seconds']:.1f} ({enc['where']}, {enc['slots']} slots)",
            f"{planning:.1f}",
            f"{3 * (dg + df)} (g^{dg} f^{df})", f"2^{np.log2(cheon_error):.2f}",
            "-" if other is None else str(other["levels"]),
            "-" if other is None else f"{other['error']:.1e}",
            "-" if other is None else f"{other['seconds_per_slot']:.1f}",
        ])
    print(markdown_table(
        ["bits", "margin", "depth", "degrees", "products", "error (numpy)", "error (encrypted)", "CPU s",
         "plan (s)", "Cheon f3/g3 depth", "Cheon error", "OpenFHE levels", "OpenFHE error", "OpenFHE s/slot"],
        rows,
    ))
    print("\nEncrypted: compare(a, b) on all N/2 slots, moduli [60, 40 x depth, 60], scale 2^40, one thread, "
          "CPU seconds; the error is that of sign = 2 compare - 1 over the pairs at least the margin apart.")
    if openfhe:
        where = "toy (OpenFHE's example)" if openfhe_security is None else f"{openfhe_security}-bit"
        print(f"OpenFHE: EvalCompareSchemeSwitching, {where}, ring {openfhe['ring']}, pLWE {openfhe['p_lwe']}, "
              f"{args.openfhe_slots} slots of integers of `bits` bits (half of them 1 apart), setup "
              f"{openfhe['setup_seconds']:.0f} CPU s, one thread; levels = CKKS levels consumed.")


if __name__ == "__main__":
    main()
