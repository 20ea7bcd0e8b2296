"""OpenFHE's CKKS bootstrapping as an independent reference (run as a script, under an interpreter with openfhe).

The PyPI wheel ``openfhe`` (1.6.1.0.22.4) ships a CPython 3.10 extension only, so
the tests and the benchmark run this file in a subprocess with a Python 3.10
that has it installed (``CKKS_OPENFHE_PYTHON``, default ``/work/.venv-openfhe/bin/python``)
and exchange JSON on stdin/stdout:

    in:  {"poly_degree": N, "slots": n, "levels_after": 3, "level_budget": [3, 3],
          "scale_bits": 40, "first_mod_bits": 55, "values": [...], "repeat": 1,
          "key_memory": "serialized"}
    out: {"precision_bits": ..., "bootstrap_seconds": ..., "keygen_seconds": ...,
          "key_memory_mb": ..., "key_memory_method": ..., "peak_rss_mb": ...,
          "levels_after": ..., "values": [...]}

Optional fields (benchmarks/compare.py uses them for OpenFHE's own 128-bit setup): ``"secret"``
(``SecretKeyDist`` name, default ``"SPARSE_TERNARY"``), ``"security"`` (``"128"``:
``HEStd_128_classic``; default: ``HEStd_NotSet``), ``"dnum"`` (default 4; ``null``: OpenFHE's default
number of digits), ``"poly_degree": null`` (OpenFHE chooses the ring), ``"clock": "cpu"`` (time the
bootstraps in CPU seconds of the process instead of wall seconds), ``"fit_levels": true`` (when the
ring's security check refuses the depth, try one level after fewer, down to 1: OpenFHE's own setup on a
fixed ring). The reply also has
``bootstrap_samples`` (every timed bootstrap, seconds) and ``levels_remaining`` (depth - ``GetLevel()``
- (``GetNoiseScaleDeg()`` - 1), as OpenFHE's examples count them).

``key_memory`` chooses how ``key_memory_mb`` is measured: ``"serialized"`` (the
default) is the size of the rotation keys serialized in OpenFHE's binary format,
which holds a second copy of them in memory while it runs (about 9 GiB more at
N = 2^16); ``"rss"`` is the growth of this process's resident memory (from
``/proc/self/statm``) over ``KeyGen``, ``EvalMultKeyGen`` and
``EvalBootstrapKeyGen``, without serializing (what the benchmark uses at
N >= 2^16). ``peak_rss_mb`` is the process's peak resident memory
(``resource.getrusage``).

OpenFHE is configured like our teaching preset: sparse ternary secret, no
security (HEStd_NotSet), the given ring degree, slot count and level budget
(CoeffsToSlots and SlotsToCoeffs levels), FLEXIBLEAUTO scaling.
"""

import json
import os
import resource
import sys
import time

KEY_MEMORY_METHODS = ("serialized", "rss")


def resident_bytes() -> int:
    """This process's resident memory now, in bytes (``/proc/self/statm``, Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(request: dict) -> dict:
    import openfhe as fhe

    n_ring = request.get("poly_degree")
    slots = int(request["slots"])
    budget = list(request.get("level_budget", [3, 3]))
    values = [float(v) for v in request["values"]]
    method = request.get("key_memory", "serialized")
    if method not in KEY_MEMORY_METHODS:
        raise ValueError(f"key_memory must be one of {KEY_MEMORY_METHODS}, got {method!r}")
    params = fhe.CCParamsCKKSRNS()
    secret = getattr(fhe.SecretKeyDist, request.get("secret", "SPARSE_TERNARY"))
    params.SetSecretKeyDist(secret)
    security = "HEStd_128_classic" if str(request.get("security")) == "128" else "HEStd_NotSet"
    params.SetSecurityLevel(getattr(fhe.SecurityLevel, security))
    if n_ring is not None:
        params.SetRingDim(int(n_ring))
    params.SetScalingModSize(int(request.get("scale_bits", 40)) + 19)
    params.SetFirstModSize(int(request.get("first_mod_bits", 60)))
    params.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTO)
    dnum = request.get("dnum", 4)
    if dnum is not None:
        params.SetNumLargeDigits(int(dnum))
    params.SetKeySwitchTechnique(fhe.KeySwitchTechnique.HYBRID)
    after = int(request.get("levels_after", 3))
    while True:  # "fit_levels": the most levels after, up to the requested, that the ring's security admits
        depth = after + fhe.CryptoContext.GetBootstrapDepth(budget, secret)
        params.SetMultiplicativeDepth(depth)
        try:
            cc = fhe.GenCryptoContext(params)
            break
        except Exception:
            if not request.get("fit_levels") or after <= 1:
                raise
            after -= 1
    for feature in (fhe.PKESchemeFeature.PKE, fhe.PKESchemeFeature.KEYSWITCH, fhe.PKESchemeFeature.LEVELEDSHE,
                    fhe.PKESchemeFeature.ADVANCEDSHE, fhe.PKESchemeFeature.FHE):
        cc.Enable(feature)
    start = time.perf_counter()
    cc.EvalBootstrapSetup(budget, [0, 0], slots)
    before = resident_bytes()
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    cc.EvalBootstrapKeyGen(keys.secretKey, slots)
    keygen = time.perf_counter() - start
    if method == "rss":  # growth of the resident memory: keys, relinearization key and rotation keys
        key_bytes = resident_bytes() - before
    else:
        try:  # size of the rotation (automorphism) keys, serialized in OpenFHE's binary format
            key_bytes = len(fhe.SerializeEvalAutomorphismKeyString(fhe.BINARY, ""))
        except Exception:  # noqa: BLE001 - the size is informative only
            key_bytes = None
    plain = cc.MakeCKKSPackedPlaintext(values, 1, depth - 1, None, slots)
    plain.SetLength(slots)
    ct = cc.Encrypt(keys.publicKey, plain)
    repeat = int(request.get("repeat", 1))
    times = []
    out = None
    clock = time.process_time if request.get("clock") == "cpu" else time.perf_counter  # "cpu": one thread, busy host
    for _ in range(repeat):
        start = clock()
        out = cc.EvalBootstrap(ct)
        times.append(clock() - start)
    result = cc.Decrypt(out, keys.secretKey)
    result.SetLength(slots)
    got = [c.real for c in result.GetCKKSPackedValue()]
    error = max(abs(a - b) for a, b in zip(got, values))
    import math

    return {
        "precision_bits": -math.log2(error) if error else 60.0,
        "bootstrap_seconds": min(times),
        "bootstrap_samples": times,
        "keygen_seconds": keygen,
        "key_memory_mb": None if key_bytes is None else key_bytes / 2**20,
        "key_memory_method": method,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # ru_maxrss: KiB on Linux
        "levels_after": out.GetLevel() if hasattr(out, "GetLevel") else None,
        "depth": depth,
        # as OpenFHE's own examples count them: depth - level - (noise scale degree - 1)
        "levels_remaining": depth - out.GetLevel() - (out.GetNoiseScaleDeg() - 1),
        "security": security,
        "ring_dim": cc.GetRingDimension(),
        "values": got,
    }


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
