"""OpenFHE side of benchmarks/compare.py: a worker process that times OpenFHE's CKKS operations on request.

The PyPI wheel ``openfhe`` ships a CPython 3.10 extension only, so compare.py
starts this file under an interpreter that has it, the one
`ckks.interop.openfhe_python` finds (``CKKS_OPENFHE_PYTHON``, else the
calling interpreter if it imports openfhe, else ``.venv-openfhe`` at the
repository root, which ``.ci/run`` creates), one worker per thread count
(``OMP_NUM_THREADS``), and talks to it in JSON lines on stdin/stdout:

    {"cmd": "setup", "poly_degree": N, "moduli_bits": [60, 40, 40, 60], "scale_bits": 40,
     "steps": [1], "hoisted": [2, 4], "sum": false, "values": [...], "poly": [...]}
                                                            -> {"ok": true, "ring_dim": N, "sizes": {...}}
    {"cmd": "time", "op": "multiply", "clock": "cpu"}       -> {"seconds": ...}   (one run; "cpu" or "wall")
    {"cmd": "quit"}

The parameters mirror ours: ring degree N, the first prime of ``moduli_bits[0]``
bits, ``len(moduli_bits) - 2`` scaling primes of ``scale_bits`` bits
(multiplicative depth), hybrid key switching with one prime per digit
(dnum = number of data primes, as SEAL and this library), uniform ternary
secret, manual rescaling (FIXEDMANUAL, so "multiply" is EvalMult + Rescale
like ours), no security check (HEStd_NotSet: the parameters are chosen by
the caller, the same for every library).
"""

import json
import sys
import time


class Bench:
    def __init__(self, request):
        import openfhe as fhe

        self.fhe = fhe
        n = int(request["poly_degree"])
        bits = list(request["moduli_bits"])
        scale_bits = int(request["scale_bits"])
        data_primes = len(bits) - 1
        params = fhe.CCParamsCKKSRNS()
        params.SetSecretKeyDist(fhe.SecretKeyDist.UNIFORM_TERNARY)
        params.SetSecurityLevel(fhe.SecurityLevel.HEStd_NotSet)
        params.SetRingDim(n)
        params.SetBatchSize(n // 2)
        params.SetMultiplicativeDepth(data_primes - 1)
        params.SetScalingModSize(scale_bits)
        params.SetFirstModSize(bits[0])
        params.SetScalingTechnique(fhe.ScalingTechnique.FIXEDMANUAL)
        params.SetKeySwitchTechnique(fhe.KeySwitchTechnique.HYBRID)
        params.SetNumLargeDigits(data_primes)
        cc = fhe.GenCryptoContext(params)
        for feature in (fhe.PKESchemeFeature.PKE, fhe.PKESchemeFeature.KEYSWITCH, fhe.PKESchemeFeature.LEVELEDSHE,
                        fhe.PKESchemeFeature.ADVANCEDSHE):
            cc.Enable(feature)
        self.cc = cc
        self.keys = cc.KeyGen()
        cc.EvalMultKeyGen(self.keys.secretKey)
        self.steps = [int(k) for k in request.get("steps", [1])]
        if self.steps:
            cc.EvalRotateKeyGen(self.keys.secretKey, self.steps)
        if request.get("sum"):
            cc.EvalSumKeyGen(self.keys.secretKey)
        self.values = [float(v) for v in request["values"]]
        self.plain = cc.MakeCKKSPackedPlaintext(self.values)
        self.x = cc.Encrypt(self.keys.publicKey, self.plain)
        self.y = cc.Encrypt(self.keys.publicKey, self.plain)
        self.hoisted_steps = [int(k) for k in request.get("hoisted", [])] or self.steps
        self.poly = [float(c) for c in request.get("poly", [])]

    def sizes(self):
        fhe = self.fhe
        out = {}
        for name, fn in (
            ("ciphertext (public-key encryption)", lambda: fhe.Serialize(self.x, fhe.BINARY)),
            ("public key", lambda: fhe.Serialize(self.keys.publicKey, fhe.BINARY)),
            ("relinearization key", lambda: fhe.SerializeEvalMultKeyString(fhe.BINARY, "")),
        ):
            try:
                out[name] = len(fn())
            except Exception:  # noqa: BLE001 - sizes are informative; older wheels lack some of these
                out[name] = None
        return out

    def op(self, name):
        cc, x, y = self.cc, self.x, self.y
        if name == "encrypt":
            return cc.Encrypt(self.keys.publicKey, cc.MakeCKKSPackedPlaintext(self.values))
        if name == "decrypt":
            return cc.Decrypt(x, self.keys.secretKey)
        if name == "add":
            return cc.EvalAdd(x, y)
        if name == "plain multiply":
            return cc.Rescale(cc.EvalMult(x, self.plain))
        if name == "multiply":
            return cc.Rescale(cc.EvalMult(x, y))
        if name == "rotate":
            return cc.EvalRotate(x, 1)
        if name == "hoisted":
            precomputed = cc.EvalFastRotationPrecompute(x)
            m = 2 * cc.GetRingDimension()
            return [cc.EvalFastRotation(x, k, m, precomputed) for k in self.hoisted_steps]
        if name == "sum":
            return cc.EvalSum(x, cc.GetRingDimension() // 2)
        if name == "polyval":
            return cc.EvalPoly(x, self.poly)
        raise ValueError(f"unknown operation {name!r}")


def main():
    bench = None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["cmd"] == "setup":
                bench = Bench(request)
                reply = {"ok": True, "ring_dim": bench.cc.GetRingDimension(), "sizes": bench.sizes()}
            elif request["cmd"] == "time":
                clock = time.process_time if request.get("clock") == "cpu" else time.perf_counter
                start = clock()
                bench.op(request["op"])
                reply = {"seconds": clock() - start}
            else:
                break
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which shows "-"
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
