"""OpenFHE side of benchmarks/compare.py: a worker process that times OpenFHE's CKKS operations on request.

The PyPI wheel ``openfhe`` ships a CPython 3.10 extension only, so compare.py
starts this file under an interpreter that has it, the one
`ckks.interop.openfhe_python` finds (``CKKS_OPENFHE_PYTHON``, else the
calling interpreter if it imports openfhe, else ``.venv-openfhe`` at the
repository root, which ``.ci/run`` creates), one worker per setting and thread
count (``OMP_NUM_THREADS``), and talks to it in JSON lines on stdin/stdout:

    {"cmd": "setup", "setting": "a", "poly_degree": N, "moduli_bits": [60, 40, 40, 60], "scale_bits": 40,
     "steps": [1], "hoisted": [2, 4], "sum": false, "values": [...], "other": [...], "poly": [...]}
                                  -> {"ok": true, "ring_dim": N, "security": ..., "relin_key_bytes": ...}
    {"cmd": "time", "op": "multiply", "repeat": 3, "clock": "cpu", "warmup": true}  -> {"samples": [s, ...]}
    {"cmd": "sizes"}                                                  -> {"sizes": {...}}
    {"cmd": "quit"}

Common to every setting: the first prime of ``moduli_bits[0]`` bits,
``len(moduli_bits) - 2`` scaling primes of ``scale_bits`` bits (multiplicative
depth), hybrid key switching, OpenFHE's default secret (uniform ternary),
manual rescaling (FIXEDMANUAL, so "multiply" is EvalMult + Rescale like ours),
a batch of N/2 slots. The settings (``SETTINGS``):

* ``"a"``, like for like: ring degree N and one prime per key-switching digit
  (``SetNumLargeDigits(data primes)``, dnum as SEAL and this library), no
  security check (HEStd_NotSet: the parameters are ours, checked by us).
* ``"b"``, OpenFHE's own setting at our ring: its default number of digits
  (``SetNumLargeDigits`` not called: 2 at depth 1, 3 from depth 3 on, by
  the sizes of its keys) and ``HEStd_128_classic`` when OpenFHE accepts
  ring degree N with them; where its 128-bit check refuses N (its default
  digits need a larger special modulus P, so log2(QP) passes the bound),
  ``HEStd_NotSet`` and the reply says so (``"security"``).
* ``"b128"``, OpenFHE's own choice at 128 bits: default digits,
  ``HEStd_128_classic``, the ring degree left to OpenFHE (the reply's
  ``ring_dim``; twice ours where "b" fell back to HEStd_NotSet).
"""

import os
import sys

#: The settings this worker knows (see the module docstring).
SETTINGS = ("a", "b", "b128")


def context(fhe, n: int, bits: list, scale_bits: int, setting: str):
    """OpenFHE's crypto context at one setting, and the security level it was made with."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    data_primes = len(bits) - 1
    params = fhe.CCParamsCKKSRNS()
    params.SetSecretKeyDist(fhe.SecretKeyDist.UNIFORM_TERNARY)
    params.SetBatchSize(n // 2)
    params.SetMultiplicativeDepth(data_primes - 1)
    params.SetScalingModSize(scale_bits)
    params.SetFirstModSize(bits[0])
    params.SetScalingTechnique(fhe.ScalingTechnique.FIXEDMANUAL)
    params.SetKeySwitchTechnique(fhe.KeySwitchTechnique.HYBRID)
    if setting == "a":
        params.SetNumLargeDigits(data_primes)
        params.SetSecurityLevel(fhe.SecurityLevel.HEStd_NotSet)
        params.SetRingDim(n)
        return fhe.GenCryptoContext(params), "none (our parameters, checked by us)"
    params.SetSecurityLevel(fhe.SecurityLevel.HEStd_128_classic)
    if setting == "b128":
        return fhe.GenCryptoContext(params), "HEStd_128_classic (OpenFHE chose the ring)"
    params.SetRingDim(n)
    try:
        return fhe.GenCryptoContext(params), "HEStd_128_classic"
    except Exception:  # noqa: BLE001 - OpenFHE's 128-bit check refuses N with its default digits
        params.SetSecurityLevel(fhe.SecurityLevel.HEStd_NotSet)
        return fhe.GenCryptoContext(params), f"none (OpenFHE's 128-bit check refuses N = {n} with its default digits)"


class Bench:
    def __init__(self, request):
        import openfhe as fhe

        self.fhe = fhe
        n = int(request["poly_degree"])
        cc, self.security = context(fhe, n, list(request["moduli_bits"]), int(request["scale_bits"]),
                                    request.get("setting", "a"))
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
        self.other = [float(v) for v in request["other"]]
        self.y = cc.Encrypt(self.keys.publicKey, cc.MakeCKKSPackedPlaintext(self.other))
        self.slots = n // 2
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
        if name == "plain multiply":  # encodes the vector, as ours and TenSEAL do inside `x * vector`
            return cc.Rescale(cc.EvalMult(x, cc.MakeCKKSPackedPlaintext(self.other)))
        if name == "multiply":
            return cc.Rescale(cc.EvalMult(x, y))
        if name == "rotate":
            return cc.EvalRotate(x, 1)
        if name == "hoisted":
            precomputed = cc.EvalFastRotationPrecompute(x)
            m = 2 * cc.GetRingDimension()
            return [cc.EvalFastRotation(x, k, m, precomputed) for k in self.hoisted_steps]
        if name == "sum":
            return cc.EvalSum(x, self.slots)
        if name == "polyval":
            return cc.EvalPoly(x, self.poly)
        raise ValueError(f"unknown operation {name!r}")


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from worker_protocol import serve, time_call

    state = {}

    def handle(request):
        if request["cmd"] == "setup":
            bench = state["bench"] = Bench(request)
            return {"ok": True, "ring_dim": bench.cc.GetRingDimension(), "security": bench.security,
                    "relin_key_bytes": bench.sizes()["relinearization key"]}
        if request["cmd"] == "time":
            return time_call(lambda: state["bench"].op(request["op"]), request)
        if request["cmd"] == "sizes":
            return {"sizes": state["bench"].sizes()}
        return None

    serve(handle)


if __name__ == "__main__":
    main()
