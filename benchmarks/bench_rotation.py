"""Rotations, hoisting, sums, plaintext matmul, polynomials and encrypted matrix products vs TenSEAL.

    python benchmarks/bench_rotation.py                # numba on one thread, like SEAL
    python benchmarks/bench_rotation.py --threads 2 --repeat 9

Prints one markdown table: median times of this library and of TenSEAL
(SEAL's own rotate_vector / complex_conjugate through tenseal.sealapi where
TenSEAL's CKKSVector has no such method), timed alternately in one run, and
the ratio ours / TenSEAL.  Where TenSEAL has no such operation (hoisted
rotations, encrypted matrix x matrix, transpose) the time is absolute, with
the count of rotations and multiplications.  Both libraries use the same
parameters, the same inputs and the default power-of-two Galois keys unless
the row says "dedicated keys".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import tenseal as ts
import tenseal.sealapi as sealapi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import context_pair, interleaved_ms, markdown_table, median_ms  # noqa: E402

import ckks  # noqa: E402
from ckks.circuits import linear_transform, matrix_product  # noqa: E402
from ckks.circuits.polynomial import plan_polynomial  # noqa: E402
from ckks.matrix import CKKSMatrix  # noqa: E402
from ckks.ring.modarith import set_threads  # noqa: E402


def pair(poly_degree: int, bits: list[int], galois: bool = True):
    return context_pair(poly_degree, bits, galois)


def fmt(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    set_threads(args.threads)
    rep = args.repeat
    rows: list[list[str]] = []

    def row(name, ours_ms, theirs_ms=None, notes=""):
        ratio = f"{ours_ms / theirs_ms:.2f}" if theirs_ms else "-"
        rows.append([name, fmt(ours_ms), fmt(theirs_ms) if theirs_ms else "-", ratio, notes])

    # -- N = 8192, [60, 40, 40, 60] ---------------------------------------------------------------------
    n = 8192
    ours, theirs = pair(n, [60, 40, 40, 60])
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, n // 2)
    y = rng.uniform(-1, 1, n // 2)
    v, w = ours.encrypt(x), ours.encrypt(y)
    tv, tw = ts.ckks_vector(theirs, x), ts.ckks_vector(theirs, y)
    seal_ev = sealapi.Evaluator(theirs.seal_context().data)
    seal_gk = theirs.galois_keys().data
    seal_ct = tv.ciphertext()[0]

    def seal_rotate(step):
        out = sealapi.Ciphertext()
        seal_ev.rotate_vector(seal_ct, step, seal_gk, out)
        return out

    def seal_conjugate():
        out = sealapi.Ciphertext()
        seal_ev.complex_conjugate(seal_ct, seal_gk, out)
        return out

    row("rotate(1), N=8192", *interleaved_ms(lambda: v.rotate(1), lambda: seal_rotate(1), rep),
        "1 key switch; SEAL rotate_vector")
    row("rotate(7), N=8192", *interleaved_ms(lambda: v.rotate(7), lambda: seal_rotate(7), rep),
        "composed 8 - 1: 2 key switches (SEAL: NAF too)")
    row("conjugate, N=8192", *interleaved_ms(v.conjugate, seal_conjugate, rep), "1 key switch")
    steps = [1, 2, 4, 8, 16, 32, 64, 128, -1, -2, -4, -8, -16, -32, -64, -128]
    hoisted = median_ms(lambda: v.rotate_many(steps), rep) / len(steps)
    single = median_ms(lambda: [v.rotate(k) for k in steps], rep) / len(steps)
    seal_single = median_ms(lambda: [seal_rotate(k) for k in steps], rep) / len(steps)
    row("hoisted rotation (per rotation, 16 steps)", hoisted, seal_single,
        f"one decomposition for 16 rotations; unhoisted ours {fmt(single)} ms each; SEAL has no hoisting")
    row("sum (4096 slots), N=8192", *interleaved_ms(v.sum, tv.sum, rep), "12 rotations, 0 levels")
    yl = y.tolist()
    row("dot plain (4096), N=8192", *interleaved_ms(lambda: v.dot(y), lambda: tv.dot(yl), rep),
        "1 plain mult + 12 rotations")
    row("dot cipher (4096), N=8192", *interleaved_ms(lambda: v.dot(w), lambda: tv.dot(tw), rep),
        "1 mult + relin + 12 rotations")
    row("square, N=8192", *interleaved_ms(v.square, tv.square, rep), "1 mult")
    row("pow(3), N=8192", *interleaved_ms(lambda: v.pow(3), lambda: tv.pow(3), rep), "2 mults, 2 levels")

    for size, matmul_rep in ((64, rep), (256, 3)):
        m = rng.uniform(-1, 1, (size, size))
        ml = m.tolist()
        xv, txv = ours.encrypt(x[:size]), ts.ckks_vector(theirs, x[:size])
        transform = linear_transform.vector_matrix_transform(m, n // 2)
        composed = ours.rotator.rotations_needed(transform.baby_steps) + sum(
            len(ours.rotator.composition(g)) for g in transform.giant_steps)
        t_ours, t_theirs = interleaved_ms(lambda xv=xv, m=m: xv.matmul(m), lambda txv=txv, ml=ml: txv.matmul(ml),
                                          matmul_rep)
        row(f"matmul plain {size}x{size}, N=8192", t_ours, t_theirs,
            f"BSGS: {transform.plaintext_multiplications} diagonals, {composed} key switches with default keys "
            "(diagonals encoded per call)")
        dedicated = ckks.Context(n, [60, 40, 40, 60], 40)
        dedicated.generate_galois_keys(transform.rotation_steps, progress=False)
        dv = dedicated.encrypt(x[:size])
        row(f"matmul plain {size}x{size}, dedicated keys", median_ms(lambda dv=dv, m=m: dv.matmul(m), matmul_rep),
            t_theirs, f"{transform.rotations} rotations ({len(transform.baby_steps)} hoisted baby steps)")
        ct = dv.ciphertext
        transform.encoded(dedicated.encoder, ct.level, ct.scale)
        tools = (dedicated.evaluator, dedicated.encoder, dedicated.rotator)
        pre = median_ms(lambda ct=ct, t=transform, tools=tools: t.apply(ct, *tools), matmul_rep)
        row(f"matmul plain {size}x{size}, dedicated keys, pre-encoded", pre, t_theirs,
            "LinearTransform with its diagonals encoded once")

    # -- polyval, N = 16384, [60, 40 x 4, 60] ----------------------------------------------------------------
    ours16, theirs16 = pair(16384, [60, 40, 40, 40, 40, 60], galois=False)
    x16 = rng.uniform(-1, 1, 8192)
    v16, tv16 = ours16.encrypt(x16), ts.ckks_vector(theirs16, x16)
    for degree in (7, 15):
        c = rng.uniform(-1, 1, degree + 1).tolist()
        plan = plan_polynomial(c)
        row(f"polyval degree {degree}, N=16384", *interleaved_ms(lambda c=c: v16.polyval(c),
                                                                 lambda c=c: tv16.polyval(c), rep),
            f"{plan.products} ct-ct mults, {plan.scalar_multiplications} scalar mults, {plan.depth} levels")

    # -- Jiang et al. 64 x 64 encrypted matrices, N = 8192, [50, 35, 35, 35, 50] ---------------------------------
    d = 64
    mctx = ckks.Context(n, [50, 35, 35, 35, 50], 35)
    mctx.generate_galois_keys(CKKSMatrix.rotation_steps(mctx, d), progress=False)
    a = CKKSMatrix.encrypt(mctx, rng.uniform(-1, 1, (d, d)))
    b = CKKSMatrix.encrypt(mctx, rng.uniform(-1, 1, (d, d)))
    sigma, tau = matrix_product.sigma_transform(d, n // 2), matrix_product.tau_transform(d, n // 2)
    rotations = sigma.rotations + tau.rotations + 3 * (d - 1)
    plain_mults = sigma.plaintext_multiplications + tau.plaintext_multiplications + 2 * (d - 1) + 1
    row("encrypted matmul 64x64 (Jiang et al.), N=8192", median_ms(lambda: a @ b, 3), None,
        f"{rotations} rotations ({3 * (d - 1)} hoisted), {d} ct-ct mults + 1 relin, {plain_mults} plain mults, "
        "3 levels; no TenSEAL equivalent")
    transpose = matrix_product.transpose_transform(d, n // 2)
    row("encrypted transpose 64x64, N=8192", median_ms(lambda: a.T, rep), None,
        f"{transpose.rotations} rotations, {transpose.plaintext_multiplications} plain mults, 1 level; "
        "no TenSEAL equivalent")

    print(f"numba threads: {args.threads}, median of {rep} runs (3 for the large matmuls), times in ms\n")
    print(markdown_table(["operation", "ours ms", "TenSEAL ms", "ours/TenSEAL", "notes"], rows))


if __name__ == "__main__":
    main()
