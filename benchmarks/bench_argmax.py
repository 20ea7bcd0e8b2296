"""Encrypted arg-max and soft-argmax (issue 20): agreement, error, levels and time, in one run.

    python benchmarks/bench_argmax.py                    # everything, 128-bit, all test images
    python benchmarks/bench_argmax.py --only argmax      # one part: argmax, single, binary, compare, ece
    python benchmarks/bench_argmax.py --images 50 --security none --poly-degree 4096   # a quick look
    python benchmarks/bench_argmax.py --plot docs/nn/argmax_vs_softargmax.png          # the docs plot

Parts:

* ``argmax``: the shipped digits MLP + ``nn.Argmax()``, the 450 test images in the batch layout
  (slot = sample): how often the decrypted one-hot's argmax equals the plaintext argmax, how often
  every output is within 0.1 of the one-hot vector, accuracy against the plain model's, time per
  image amortised over the batch.
* ``single``: one image alone, compiled for ``batch_size=1`` (all 90 differences in one ciphertext,
  one sign evaluation): the single-image latency.  The sample layout would need 32 Galois keys of
  about 200 MB each at N = 2^15, too much for a shared 24 GiB machine.
* ``binary``: breast cancer, ``Linear(30, 8) -> x^2 -> Linear(8, 2) -> SoftArgmax(1.0)`` trained 40
  epochs (beta |z_1 - z_0| up to 118, the reviewer's case), every test sample in the batch layout:
  max |encrypted - plaintext probability| (target <= 1e-2; it was 0.11).
* ``compare``: soft-argmax (beta = 0.1, the largest the default precision accepts for this model) against
  argmax on the same MLP and images: levels, time, agreement of the rounded soft-argmax index.
* ``ece``: expected calibration error before and after learning beta (``nn.train.calibrate_beta``) on
  digits (shipped MLP; beta learned on one half of the test set, ECE on the other half, and the
  other way round) and breast cancer (beta learned jointly by ``fit`` and then calibrated on a
  held-out quarter of the training set).

Accuracy "relative to the plain model" is encrypted accuracy / plaintext accuracy (Florencio et al.
report up to 82.5% for their encrypted soft-argmax).  The keys are made with ``flooding=False``
unless ``--flooding`` is given (flooding makes ``keygen`` measure the output noise with two extra
runs of a full batch, which triples the time of this script; it changes no result here).
"""

from __future__ import annotations

import argparse
import re
import time
import warnings

import numpy as np

import nn
from nn import encrypted
from nn.datasets import Dataset, load_breast_cancer, load_digits
from nn.encrypted import pretrained
from nn.metrics import expected_calibration_error
from nn.optim import Adam
from nn.train import calibrate_beta, fit


def _options(args) -> dict:
    security = None if args.security == "none" else int(args.security)
    out = {"security": security, "flooding": args.flooding}
    if args.poly_degree:
        out["poly_degree"] = args.poly_degree
    return out


def _timed_run(em, x) -> dict:
    """keygen, encrypt, run, decrypt: wall seconds, and the process CPU seconds of run (``run_cpu``)."""
    t0 = time.perf_counter()
    ctx = em.keygen()
    t1 = time.perf_counter()
    enc = em.encrypt(ctx, x)
    t2 = time.perf_counter()
    c2 = time.process_time()
    out = em.run(ctx.public_copy(), enc)
    c3 = time.process_time()
    t3 = time.perf_counter()
    got = em.decrypt(ctx, out)
    t4 = time.perf_counter()
    extra = em.decrypt_soft_argmax(ctx, out) if em.has_softargmax else None
    return {"out": got, "index": extra, "keygen": t1 - t0, "encrypt": t2 - t1, "run": t3 - t2, "decrypt": t4 - t3,
            "run_cpu": c3 - c2}


def _header(em) -> str:
    p = em.params
    return f"N={p.poly_degree}, log2 QP={p.total_bits}, depth {em.depth}, layout {em.layout}"


def part_argmax(args, digits, mlp) -> dict:
    model = nn.Sequential([*mlp.layers, nn.Argmax()])
    x = digits.x_test[: args.images]
    plain = mlp.forward(x).argmax(1)
    t0 = time.perf_counter()
    em = encrypted.compile(model, (1, 8, 8), len(x), layout="batch", calibration=digits.x_train, **_options(args))
    compile_s = time.perf_counter() - t0
    print(em.summary())
    r = _timed_run(em, x)
    out = r["out"]
    onehot = np.eye(10)[plain]
    agree = float(np.mean(out.argmax(1) == plain))
    within = float(np.mean(np.all(np.abs(out - onehot) <= 0.1, axis=1)))
    acc_plain = float(np.mean(plain == digits.y_test[: len(x)]))
    acc_enc = float(np.mean(out.argmax(1) == digits.y_test[: len(x)]))
    print(f"\n## argmax, batch layout ({_header(em)}), {len(x)} images")
    print(f"compile {compile_s:.1f} s, keygen {r['keygen']:.1f} s, encrypt {r['encrypt']:.1f} s, run {r['run']:.1f} s "
          f"(CPU {r['run_cpu']:.1f} s), decrypt {r['decrypt']:.1f} s")
    print(f"argmax of the decrypted one-hot = plaintext argmax: {100 * agree:.2f}% (target >= 99%)")
    print(f"every output within 0.1 of the one-hot: {100 * within:.2f}% (target >= 99%)")
    print(f"accuracy: plain {100 * acc_plain:.2f}%, encrypted {100 * acc_enc:.2f}% "
          f"(relative {100 * acc_enc / acc_plain:.1f}%; Florencio et al.: up to 82.5%)")
    bad = np.flatnonzero(~np.all(np.abs(out - onehot) <= 0.1, axis=1))
    z = mlp.forward(x)
    top = np.sort(z, axis=1)
    gaps = top[:, -1] - top[:, -2]
    print(f"margin in logits {em.stages[-1].margin_logits:.3g}; samples off by > 0.1: {bad.tolist()[:10]} with top-2 "
          f"gaps {np.round(gaps[bad][:10], 3).tolist()}")
    per_image = r["run"] / len(x)
    print(f"time per image amortised (run / {len(x)}): {per_image:.3f} s wall, {r['run_cpu'] / len(x):.3f} s CPU; "
          f"whole batch encrypt+run+decrypt {r['encrypt'] + r['run'] + r['decrypt']:.1f} s")
    return {"agree": agree, "within": within, "amortised": per_image, "run": r["run"], "levels": em.depth,
            "run_cpu": r["run_cpu"], "acc_plain": acc_plain, "acc_enc": acc_enc}


def part_single(args, digits, mlp) -> None:
    model = nn.Sequential([*mlp.layers, nn.Argmax()])
    x = digits.x_test[:1]
    em = encrypted.compile(model, (1, 8, 8), 1, layout="batch", calibration=digits.x_train, **_options(args))
    r = _timed_run(em, x)
    single = r["encrypt"] + r["run"] + r["decrypt"]
    print(f"\n## argmax, one image, compiled for batch_size=1 ({_header(em)})")
    print(f"encrypt+run+decrypt {single:.1f} s (run {r['run']:.1f} s, CPU {r['run_cpu']:.1f} s), argmax "
          f"{int(r['out'].argmax())} vs plain {int(mlp.forward(x).argmax())}")


def _breast_cancer_model(ds, trainable: bool = False) -> nn.Sequential:
    model = nn.Sequential([nn.Linear(30, 8, init="xavier", rng=0), nn.Square(), nn.Linear(8, 2, init="xavier", rng=1),
                           nn.SoftArgmax(1.0, trainable=trainable)])
    fit(model, ds.x_train, ds.y_train, epochs=40, batch_size=16, loss=nn.CrossEntropy(from_logits=False),
        optimizer=Adam(model.parameters(), lr=3e-3), verbose=False)
    return model


def part_binary(args, ds) -> dict:
    model = _breast_cancer_model(ds)
    logits = nn.Sequential(model.layers[:-1]).forward(ds.x_train)
    x = ds.x_test
    try:
        em = encrypted.compile(model, (30,), len(x), layout="batch", calibration=ds.x_train, **_options(args))
    except nn.ConfigError as exc:  # the default precision is refused: compile with the bits the message names
        print(f"at the default precision_bits=16: ConfigError: {exc}")
        bits = int(re.search(r"at least (\d+)", str(exc)).group(1))
        em = encrypted.compile(model, (30,), len(x), layout="batch", calibration=ds.x_train, precision_bits=bits,
                               **_options(args))
    print(em.summary())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", encrypted.InputRangeWarning)
        r = _timed_run(em, x)
    want = model.forward(x)
    err = float(np.max(np.abs(r["out"] - want)))
    acc_plain = float(np.mean(want.argmax(1) == ds.y_test))
    acc_enc = float(np.mean(r["out"].argmax(1) == ds.y_test))
    print(f"\n## two classes, breast cancer, SoftArgmax(1.0) ({_header(em)}, precision_bits "
          f"{em.info['precision_bits']}), {len(x)} test samples")
    print(f"beta |z_1 - z_0| up to {np.max(np.abs(logits[:, 1] - logits[:, 0])):.1f} on the training data")
    print(f"max |encrypted - plaintext probability| over every test sample: {err:.2e} (target <= 1e-2; was 0.11)")
    print(f"accuracy: plain {100 * acc_plain:.2f}%, encrypted {100 * acc_enc:.2f}% "
          f"(relative {100 * acc_enc / acc_plain:.1f}%); run {r['run']:.1f} s (CPU {r['run_cpu']:.1f} s), "
          f"{r['run'] / len(x):.4f} s per sample")
    return {"err": err, "run": r["run"], "levels": em.depth}


def part_compare(args, digits, mlp, beta: float = 0.1) -> dict:
    x = digits.x_test[: args.images]
    plain = mlp.forward(x).argmax(1)
    model = nn.Sequential([*mlp.layers, nn.SoftArgmax(beta)])
    em = encrypted.compile(model, (1, 8, 8), len(x), layout="batch", calibration=digits.x_train, **_options(args))
    r = _timed_run(em, x)
    index = np.rint(r["index"]).astype(int)
    probs_agree = float(np.mean(r["out"].argmax(1) == plain))
    print(f"\n## soft-argmax beta={beta} ({_header(em)}), {len(x)} images")
    print(f"rounded soft-argmax index = plaintext argmax: {100 * np.mean(index == plain):.2f}%; argmax of the "
          f"decrypted probabilities = plaintext argmax: {100 * probs_agree:.2f}%; max probability "
          f"{np.mean(r['out'].max(1)):.3f} on average; run {r['run']:.1f} s (CPU {r['run_cpu']:.1f} s)")
    return {"index_agree": float(np.mean(index == plain)), "prob_agree": probs_agree, "run": r["run"],
            "run_cpu": r["run_cpu"],
            "levels": em.depth, "stage_levels": em.stages[-1].levels_for("batch")}


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))


def _with_trainable_beta(model: nn.Sequential, beta: float = 1.0) -> nn.Sequential:
    return nn.Sequential([*model.layers[:-1], nn.SoftArgmax(beta, trainable=True)])


def part_ece(digits, mlp, bc) -> None:
    print("\n## expected calibration error (15 bins) and NLL, before -> after learning beta")
    half = len(digits.x_test) // 2
    folds = [(slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))]
    for name, (fit_part, eval_part) in zip(("A->B", "B->A"), folds):
        model = nn.Sequential([*mlp.layers, nn.SoftArgmax(1.0, trainable=True)])
        xe, ye = digits.x_test[eval_part], digits.y_test[eval_part]
        before = model.forward(xe)
        rep = calibrate_beta(model, digits.x_test[fit_part], digits.y_test[fit_part])
        after = model.forward(xe)
        print(f"digits MLP, beta learned on test half {name[0]}, measured on half {name[-1]}: beta 1 -> "
              f"{rep.beta_after:.3f}, ECE {expected_calibration_error(before, ye):.4f} -> "
              f"{expected_calibration_error(after, ye):.4f}, NLL {_nll(before, ye):.4f} -> {_nll(after, ye):.4f}")
    quarter = len(bc.x_train) // 4
    held = (bc.x_train[:quarter], bc.y_train[:quarter])
    train = Dataset(bc.name, bc.x_train[quarter:], bc.y_train[quarter:], bc.x_test, bc.y_test, bc.class_names)
    for label, trainable in (("beta fixed at 1 in training", False), ("beta learned by fit", True)):
        model = _breast_cancer_model(train, trainable=trainable)
        before = model.forward(bc.x_test)
        beta_fit = model.layers[-1].beta
        model = _with_trainable_beta(model, beta_fit)
        rep = calibrate_beta(model, *held)
        after = model.forward(bc.x_test)
        print(f"breast cancer ({label}: beta {beta_fit:.3f}), then beta calibrated on a held-out quarter of the "
              f"training set: {rep.beta_after:.3f}; test ECE {expected_calibration_error(before, bc.y_test):.4f} -> "
              f"{expected_calibration_error(after, bc.y_test):.4f}, NLL {_nll(before, bc.y_test):.4f} -> "
              f"{_nll(after, bc.y_test):.4f}")


def plot(path: str, digits, mlp) -> None:
    """Winning output against the top-two logit gap, arg-max circuit and soft-argmax(0.1), all 1797 digits.

    The float64 plans (`EncryptedModel.plan_forward`: exactly the polynomials the ciphertexts
    evaluate, without the noise, which the runs above measure) of the two compiled models.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.concatenate([digits.x_train, digits.x_test])
    z = mlp.forward(x)
    top = np.sort(z, axis=1)
    gap = top[:, -1] - top[:, -2]
    win = z.argmax(1)
    rows = np.arange(len(x))
    options = {"layout": "batch", "calibration": digits.x_train, "security": None, "poly_degree": 4096,
               "flooding": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arg = encrypted.compile(nn.Sequential([*mlp.layers, nn.Argmax()]), (1, 8, 8), 1, **options)
        soft = encrypted.compile(nn.Sequential([*mlp.layers, nn.SoftArgmax(0.1)]), (1, 8, 8), 1, **options)
    a = arg.plan_forward(x)
    p = soft.plan_forward(x)[:, :10]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(gap, p[rows, win], s=6, alpha=0.5, label="SoftArgmax(0.1): probability of the plaintext winner")
    ax.scatter(gap, a[rows, win], s=6, alpha=0.5, label="Argmax circuit: output of the plaintext winner")
    margin = arg.stages[-1].margin_logits
    ax.axvline(margin, color="k", lw=0.8, ls="--")
    ax.text(margin * 1.1, 0.05, f"margin {margin:.2f} logits", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("gap between the two largest logits (shipped digits MLP, 1797 images)")
    ax.set_ylabel("output of the winning class")
    ax.set_ylim(-0.05, 1.32)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


PARTS = ("argmax", "single", "binary", "compare", "ece")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=PARTS, action="append")
    parser.add_argument("--images", type=int, default=450)
    parser.add_argument("--security", default="128", choices=("128", "192", "256", "none"))
    parser.add_argument("--poly-degree", type=int, default=None)
    parser.add_argument("--flooding", action="store_true")
    parser.add_argument("--plot", metavar="PNG", help="only draw the winner-output-vs-gap plot (float plans) to PNG")
    args = parser.parse_args()
    parts = args.only or list(PARTS)
    if args.security == "none":
        warnings.simplefilter("ignore")
    digits, mlp, bc = load_digits(), pretrained.load("digits_mlp"), load_breast_cancer()
    if args.plot:
        plot(args.plot, digits, mlp)
        return
    results = {}
    if "argmax" in parts:
        results["argmax"] = part_argmax(args, digits, mlp)
    if "single" in parts:
        part_single(args, digits, mlp)
    if "binary" in parts:
        results["binary"] = part_binary(args, bc)
    if "compare" in parts:
        results["compare"] = part_compare(args, digits, mlp)
    if "ece" in parts:
        part_ece(digits, mlp, bc)
    if "argmax" in results and "compare" in results:
        a, s = results["argmax"], results["compare"]
        print("\n| output layer | levels (output layer / whole model) | run, whole batch: wall (CPU) s | "
              "agreement with plaintext argmax |")
        print("|---|---|---|---|")
        cost = f"{s['stage_levels']} / {s['levels']} | {s['run']:.1f} ({s['run_cpu']:.1f})"
        print(f"| SoftArgmax(0.1), rounded index | {cost} | {100 * s['index_agree']:.1f}% |")
        print(f"| SoftArgmax(0.1), argmax of the probabilities | {cost} | {100 * s['prob_agree']:.1f}% |")
        print(f"| Argmax (one-hot) | {a['levels'] - 3} / {a['levels']} | {a['run']:.1f} ({a['run_cpu']:.1f}) | "
              f"{100 * a['agree']:.1f}% |")


if __name__ == "__main__":
    main()
