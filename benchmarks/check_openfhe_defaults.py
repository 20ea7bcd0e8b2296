"""Independent check of the published ratios ours / OpenFHE at OpenFHE's default key switching.

    python benchmarks/check_openfhe_defaults.py                   # N = 2^14, 8 data primes, 3 rounds (< 1 min)
    python benchmarks/check_openfhe_defaults.py --rounds 5 --ring 32768

Shares no code with compare.py and its workers: every round starts one fresh process for this
library (``NUMBA_NUM_THREADS=1``) and one for OpenFHE (``OMP_NUM_THREADS=1``, under the Python that
can import the ``openfhe`` wheel), in alternating order, each running the short program below; each
times multiply + relinearize + rescale and rotate(1) ``--repeat`` times (CPU seconds of its own
process, after a warm-up) and prints its medians. OpenFHE is configured at its defaults for the same
ring and depth: ``SetNumLargeDigits`` not called (its default number of digits), uniform ternary
secret, scaling primes of 40 bits and a first prime of 60, manual rescaling, and no security check
(at this ring and depth its 128-bit check refuses its default digits; see docs/benchmarks.md).

It then compares the per-round ratios with the ones published in ``docs/benchmarks/data.json``
(setting (b), one thread): they agree when the range measured here and the published range
(min-max over rounds) overlap. Exit status 1 when a ratio disagrees, 2 when OpenFHE is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "docs" / "benchmarks" / "data.json"

OURS = r"""
import json, statistics, sys, time
import numpy as np
import ckks
n, bits, repeat = {n}, {bits}, {repeat}
rng = np.random.default_rng(n)
ctx = ckks.Context(n, bits, 40)
ctx.generate_galois_keys(steps=[1], progress=False)
x, y = ctx.encrypt(rng.uniform(-1, 1, n // 2)), ctx.encrypt(rng.uniform(-1, 1, n // 2))
out = {{}}
for name, call in (("multiply", lambda: x * y), ("rotate", lambda: x.rotate(1))):
    call()
    samples = []
    for _ in range(repeat):
        start = time.process_time(); call(); samples.append(time.process_time() - start)
    out[name] = statistics.median(samples) * 1e3
print(json.dumps(out))
"""

OPENFHE = r"""
import json, statistics, time, random
import openfhe as fhe
n, bits, repeat = {n}, {bits}, {repeat}
p = fhe.CCParamsCKKSRNS()
p.SetRingDim(n)
p.SetSecurityLevel(fhe.SecurityLevel.HEStd_NotSet)
p.SetBatchSize(n // 2)
p.SetMultiplicativeDepth(len(bits) - 2)
p.SetScalingModSize(40)
p.SetFirstModSize(60)
p.SetScalingTechnique(fhe.ScalingTechnique.FIXEDMANUAL)
cc = fhe.GenCryptoContext(p)
for f in (fhe.PKESchemeFeature.PKE, fhe.PKESchemeFeature.KEYSWITCH, fhe.PKESchemeFeature.LEVELEDSHE):
    cc.Enable(f)
keys = cc.KeyGen()
cc.EvalMultKeyGen(keys.secretKey)
cc.EvalRotateKeyGen(keys.secretKey, [1])
rng = random.Random(n)
enc = lambda: cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext([rng.uniform(-1, 1) for _ in range(n // 2)]))
x, y = enc(), enc()
out = {{}}
for name, call in (("multiply", lambda: cc.Rescale(cc.EvalMult(x, y))), ("rotate", lambda: cc.EvalRotate(x, 1))):
    call()
    samples = []
    for _ in range(repeat):
        start = time.process_time(); call(); samples.append(time.process_time() - start)
    out[name] = statistics.median(samples) * 1e3
out["relin_key_bytes"] = len(fhe.SerializeEvalMultKeyString(fhe.BINARY, ""))
print(json.dumps(out))
"""


def run(python: str, program: str, env: dict) -> dict:
    done = subprocess.run([python, "-c", program], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode:
        raise SystemExit(f"{python} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def published(ring: int) -> dict:
    """The published ours / OpenFHE (b) ratios at one thread: {operation: ratio spread}."""
    compare = json.loads(DATA.read_text(encoding="utf-8")).get("compare", {})
    if "meta" not in compare:  # not written by this version of compare.py
        return {}
    out = {}
    for row in compare["core"]["rows"]:
        if row["N"] == ring and row["threads"] == 1 and "openfhe_b" in row.get("ratios", {}):
            out[row["operation"]] = row["ratios"]["openfhe_b"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ring", type=int, default=16384, choices=[8192, 16384, 32768])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--openfhe-python", default=None, help="default: .venv-openfhe/bin/python")
    args = parser.parse_args(argv)
    bits = {8192: [60, 40, 40, 60], 16384: [60] + [40] * 7 + [60], 32768: [60] + [40] * 11 + [60]}[args.ring]
    openfhe = args.openfhe_python or str(REPO / ".venv-openfhe" / "bin" / "python")
    if not Path(openfhe).exists():
        print(f"no OpenFHE interpreter at {openfhe} (.ci/run creates .venv-openfhe)", file=sys.stderr)
        return 2
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
               PYTHONPATH=str(REPO))
    load_start = os.getloadavg()[0]
    ratios: dict[str, list[float]] = {"multiply": [], "rotate": []}
    key_bytes = None
    for r in range(args.rounds):
        programs = [("ours", sys.executable, OURS), ("openfhe", openfhe, OPENFHE)]
        results = {}
        for name, python, template in (programs if r % 2 == 0 else programs[::-1]):
            results[name] = run(python, template.format(n=args.ring, bits=bits, repeat=args.repeat), env)
        key_bytes = results["openfhe"]["relin_key_bytes"]
        for op in ratios:
            ratios[op].append(results["ours"][op] / results["openfhe"][op])
        print(f"round {r + 1}: " + ", ".join(f"{op} ours {results['ours'][op]:.2f} ms, OpenFHE "
                                              f"{results['openfhe'][op]:.2f} ms" for op in ratios), flush=True)
    limbs = key_bytes / (2 * args.ring * 8)
    print(f"OpenFHE's relinearization key: {key_bytes / 2**20:.1f} MiB = {limbs:.0f} polynomials of N words "
          f"(digits x (data + special primes); {len(bits) - 1} x {len(bits)} = {(len(bits) - 1) * len(bits)} would "
          "be one prime per digit)")
    claims = published(args.ring)
    failed = 0
    for op, values in ratios.items():
        lo, hi, mid = min(values), max(values), statistics.median(values)
        claim = claims.get(op)
        if claim is None:
            print(f"{op}: measured {mid:.2f} ({lo:.2f}-{hi:.2f}); nothing published for N = {args.ring}")
            continue
        agree = lo <= claim["max"] and claim["min"] <= hi
        failed += not agree
        print(f"{op}: ours / OpenFHE measured {mid:.2f} ({lo:.2f}-{hi:.2f}), published {claim['median']:.2f} "
              f"({claim['min']:.2f}-{claim['max']:.2f}): {'agree' if agree else 'DISAGREE'}")
    print(f"load average (1 min) {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, "
          f"{os.cpu_count()} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
