"""Deep and unmodified networks under encryption (issue 21): ReLU by composite polynomials, bootstraps placed.

    python benchmarks/bench_deep.py --preset teaching --images 20              # insecure teaching chain, quick
    python benchmarks/bench_deep.py --preset 128 --only students --images 450 --json students.json
    flock /tmp/bigmem.lock python benchmarks/bench_deep.py --preset 128 --only teacher --boot-images 3 --json t.json
    flock /tmp/bigmem.lock python benchmarks/bench_deep.py --preset 128 --only b --boot-images 3 --json b.json
    python benchmarks/bench_deep.py --preset 128 --plot docs/nn/deep_networks_levels.png   # compiles only

Parts:

* ``a``: the shipped digits CNN two ways, on the 450 test digits.  The ReLU teacher
  (``pretrained.load("digits_cnn_relu")``: ReLU and max-pooling) compiled with ``approximate=True``
  (ReLU as x (1 + sign x) / 2 and max-pool as pairwise maxima, composite minimax sign polynomials at
  ``approx_bits`` bits over the calibrated ranges) and ``bootstrap="auto"`` (the placement pass chooses
  where to bootstrap), against the shipped HE-friendly student (``digits_cnn``: x^2 and average
  pooling, trained from scratch with the same recipe) and, unless ``--no-convert``, Baruch et al.'s
  student made from this teacher by ``nn.convert.convert_and_distill`` (quadratics fitted to ReLU,
  smooth transition, distillation).  Per model: plaintext accuracy on all 450 images, encrypted
  accuracy and agreement (encrypted argmax = the model's own plaintext argmax) on the images checked,
  seconds per image (run only; keys and encryption apart), bootstraps per image (counted as calls of
  the bootstrapper while running) and levels.
* ``b``: the four-hidden-ReLU MLP (``digits_mlp_relu4``): on every image checked, encrypted argmax vs
  plaintext argmax, the relative logit error max_i |enc_i - plain_i| / max_i |plain_i| (worst image),
  time per image; the run is profiled (cProfile: where the time goes: bootstraps and their four steps,
  the comparison polynomials, the linear layers), and the profile is printed when the time per image
  misses the 60 s goal (or with ``--profile``).

``--images`` bounds the images of the cheap HE-friendly students, ``--boot-images`` those of the models
that bootstrap (a bootstrap at N = 2^16 takes seconds; say how many were checked when quoting).  The
models run in the sample layout (one image per ciphertext: the latency of one image), batch of
``--boot-images`` (or ``--images``) images run one after the other; ``--layout`` changes it.  Keys are made with
``flooding=False`` unless ``--flooding`` (flooding does not change these results; the 128-bit
bootstrapping chain's 2^42 scale leaves too few bits for it).  The 128-bit preset needs about 10 GiB
of bootstrapping keys: hold the shared memory lock (``flock /tmp/bigmem.lock python ...``).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table  # noqa: E402
from ckks.errors import InsecureWarning  # noqa: E402
from nn import encrypted  # noqa: E402
from nn.datasets import load_digits  # noqa: E402
from nn.encrypted import pretrained  # noqa: E402

#: The goal of part b: seconds per image on 2 cores.
GOAL_SECONDS = 60.0
#: Groups of the profile: (label, file suffix, function name); cumulative seconds of each.
PROFILE_GROUPS = (
    ("bootstrap, total", "bootstrapping/bootstrapper.py", "bootstrap"),
    ("bootstrap_pair (two ciphertexts, one circuit), total", "bootstrapping/bootstrapper.py", "bootstrap_pair"),
    ("  ModRaise", "bootstrapping/mod_raise.py", "mod_raise"),
    ("  sparse trace (sparse packing)", "", "sparse_trace"),
    ("  CoeffsToSlots + SlotsToCoeffs (DFT matrices)", "bootstrapping/dft.py", "apply_matrix"),
    ("  EvalMod", "bootstrapping/eval_mod.py", "eval_mod"),
    ("Chebyshev / polynomial evaluation (all)", "circuits/polynomial.py", "chebval"),
    ("key switching: decompose (ModUp)", "scheme/keyswitch.py", "decompose"),
    ("key switching: inner product with the key", "scheme/keyswitch.py", "inner_product"),
    ("key switching: ModDown", "scheme/keyswitch.py", "mod_down"),
    ("rescale", "scheme/evaluator.py", "rescale"),
)


def _options(args) -> dict:
    out = {"security": None if args.preset == "teaching" else 128, "flooding": args.flooding}
    if args.layout != "auto":
        out["layout"] = args.layout
    if args.memory_limit is not None:
        out["memory_limit"] = args.memory_limit * 2**30
    return out


@contextmanager
def counting_bootstraps():
    """Count the bootstrapper's ``bootstrap`` and ``bootstrap_pair`` calls (one bootstrap each: a pair is one
    circuit on a + i b) inside the block: ``with counting_bootstraps() as n``, ``n[0]``."""
    from ckks.circuits.bootstrapping.bootstrapper import Bootstrapper

    originals = {name: getattr(Bootstrapper, name) for name in ("bootstrap", "bootstrap_pair")}
    count = [0]

    def counting(original):
        def counted(self, *args, **options):
            count[0] += 1
            return original(self, *args, **options)
        return counted

    for name, original in originals.items():
        setattr(Bootstrapper, name, counting(original))
    try:
        yield count
    finally:
        for name, original in originals.items():
            setattr(Bootstrapper, name, original)


def _compile(model, calibration, images: int, args, approximate: bool):
    extra = {"approximate": True, "approx_bits": args.approx_bits} if approximate else {}
    # the approximated models bootstrap: at 128 bits because no secure chain holds their depth ("auto"); on the
    # insecure teaching preset every depth fits a (toy) chain, so "always" asks for the bootstrapping chain
    mode = "always" if approximate and args.preset == "teaching" else "auto"
    if approximate and args.first_conv is not None:
        extra["first_conv"] = args.first_conv
    t0 = time.perf_counter()
    copies = 1
    if approximate and args.interleave != 1 and images > 1:
        # as many images per ciphertext as the ring holds ("max": em.max_interleave of a one-image plan), at most
        # the batch rounded up to a power of two
        most = int(args.interleave) if args.interleave != "max" else encrypted.compile(
            model, (1, 8, 8), 1, calibration=calibration, bootstrap=mode, **extra, **_options(args)).max_interleave
        copies = min(most, 1 << (images - 1).bit_length())
    em = encrypted.compile(model, (1, 8, 8), images, calibration=calibration, bootstrap=mode, **extra,
                           **({"interleave": copies} if copies > 1 else {}), **_options(args))
    return em, time.perf_counter() - t0


def measure(name: str, model, digits, images: int, args, approximate: bool, profile: bool = False) -> dict:
    """Compile, keygen, encrypt, run (counting bootstraps, optionally profiled) and decrypt ``images`` test digits."""
    x, y = digits.x_test[:images], digits.y_test[:images]
    plain_all = model.forward(digits.x_test)
    plain = plain_all[:images]
    em, compile_s = _compile(model, digits.x_train, images, args, approximate)
    print(f"\n### {name}: {images} image(s), compiled in {compile_s:.1f} s\n{em.summary()}", flush=True)
    t0 = time.perf_counter()
    ctx = em.keygen()
    keygen_s = time.perf_counter() - t0
    enc = em.encrypt(ctx, x)
    server = ctx.public_copy()
    profiler = cProfile.Profile() if profile else None
    with warnings.catch_warnings(record=True) as caught, counting_bootstraps() as boots:
        warnings.simplefilter("always", encrypted.InputRangeWarning)
        t0, c0 = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        out = em.run(server, enc)
        if profiler is not None:
            profiler.disable()
        run_s, run_cpu = time.perf_counter() - t0, time.process_time() - c0
    got = em.decrypt(ctx, out)
    planned = em.plan_forward(x)  # the polynomials the encrypted run evaluates: em.tolerance bounds got - planned
    range_warnings = sorted({str(w.message)[:160] for w in caught if issubclass(w.category, UserWarning)})
    for message in range_warnings:
        print(f"warning during run: {message}")
    err = np.max(np.abs(got - plain), axis=1) / np.maximum(np.max(np.abs(plain), axis=1), 1e-12)
    p = em.params
    row = {
        "model": name, "images": images, "levels": em.depth, "copies": em.copies,
        "layout": em.layout if em.copies == 1 else f"{em.layout}, {em.copies} per ciphertext",
        "ciphertexts": len(enc.vectors),
        "ring": f"N=2^{p.poly_degree.bit_length() - 1}, log2 QP={p.total_bits}",
        "plain_accuracy_all": float(np.mean(plain_all.argmax(1) == digits.y_test)),
        "plain_accuracy_checked": float(np.mean(plain.argmax(1) == y)),
        "encrypted_accuracy": float(np.mean(got.argmax(1) == y)),
        "agreement": float(np.mean(got.argmax(1) == plain.argmax(1))),
        "relative_logit_error": float(err.max()),
        "max_logit_error": float(np.max(np.abs(got - plain))), "tolerance": float(em.tolerance),
        "max_plan_error": float(np.max(np.abs(got - planned))),
        "seconds_per_image": run_s / images, "cpu_seconds_per_image": run_cpu / images,
        "bootstraps_per_image": boots[0] / images, "compile_s": compile_s, "keygen_s": keygen_s,
        "planned_bootstraps_per_image": em.bootstrap.count if em.bootstrap is not None else 0,
        "range_warnings": len(range_warnings),
    }
    print(f"{name}: agreement {row['agreement']:.2%}, encrypted accuracy {row['encrypted_accuracy']:.2%} "
          f"(plaintext {row['plain_accuracy_checked']:.2%} on these images, {row['plain_accuracy_all']:.2%} on all "
          f"450), relative logit error {row['relative_logit_error']:.2e} (largest {row['max_logit_error']:.2e}; "
          f"against the plan's polynomials {row['max_plan_error']:.2e}, em.tolerance {row['tolerance']:.2e}: "
          f"{'within' if row['max_plan_error'] <= row['tolerance'] else 'ABOVE'}), "
          f"{row['seconds_per_image']:.1f} s/image "
          f"(CPU {row['cpu_seconds_per_image']:.1f} s), {row['bootstraps_per_image']:.1f} bootstraps/image, "
          f"keygen {keygen_s:.1f} s", flush=True)
    if profiler is not None:
        row["profile"] = profile_groups(profiler, run_s)
    return row


def profile_groups(profiler: cProfile.Profile, total: float) -> dict:
    """Cumulative seconds of the `PROFILE_GROUPS` and the 12 costliest functions of the repository (cumulative)."""
    stats = pstats.Stats(profiler)
    groups: dict[str, float] = {}
    for label, suffix, function in PROFILE_GROUPS:
        seconds = 0.0
        for (path, _, name), (_, _, _, cumulative, callers) in stats.stats.items():
            if name != function or not path.replace(os.sep, "/").endswith(suffix or path):
                continue
            # recursion or self-calls would count twice: keep only the calls from other functions
            seconds += cumulative - sum(v[3] for k, v in callers.items() if k[2] == function)
        groups[label] = seconds
    repo = str(Path(__file__).resolve().parents[1])
    top = sorted(((v[3], f"{Path(k[0]).relative_to(repo) if k[0].startswith(repo) else k[0]}:{k[2]}")
                  for k, v in stats.stats.items() if k[0].startswith(repo)), reverse=True)
    return {"total_s": total, "groups": groups, "top_cumulative": [(name, s) for s, name in top[:12]]}


def print_profile(profile: dict, images: int) -> None:
    total = profile["total_s"]
    print(f"\nprofile of the run ({total:.1f} s for {images} image(s); cumulative seconds, groups overlap):")
    for label, seconds in profile["groups"].items():
        print(f"  {label:<48} {seconds:8.1f} s  {100 * seconds / total:5.1f}%")
    print("  costliest functions of the repository (cumulative):")
    for name, seconds in profile["top_cumulative"]:
        print(f"    {seconds:8.1f} s  {name}")


def baruch_student(teacher, digits):
    """Baruch et al.'s HE-friendly student of ``teacher`` (nn.convert, the nn_table.py digits recipe)."""
    from nn.convert import convert_and_distill

    result = convert_and_distill(teacher, digits.x_train, digits.y_train, init="lsq", transition_epochs=5,
                                 finetune_epochs=25, lr=2e-3, batch_size=32, seed=0, verbose=False)
    return result.model


def part_a(args, digits) -> list[dict]:
    teacher = pretrained.load("digits_cnn_relu")
    rows = []
    if args.only != "students":
        rows.append(measure("ReLU teacher, approximated + bootstrapped", teacher, digits, args.boot_images, args,
                            True))
    if args.only == "teacher":
        return rows
    rows.append(measure("HE-friendly student (shipped digits_cnn, x^2)", pretrained.load("digits_cnn"), digits,
                        args.images, args, False))
    if not args.no_convert:
        rows.append(measure("Baruch student of this teacher (nn.convert)", baruch_student(teacher, digits), digits,
                            args.images, args, False))
    return rows


def part_b(args, digits) -> dict:
    model = pretrained.load("digits_mlp_relu4")
    row = measure("4-hidden-ReLU MLP (digits_mlp_relu4)", model, digits, args.boot_images, args, True, profile=True)
    row["goal_met"] = row["seconds_per_image"] < GOAL_SECONDS
    print(f"argmax equal on every image checked: {row['agreement'] == 1.0}; relative logit error "
          f"{row['relative_logit_error']:.2e} (target <= 1e-2); {row['seconds_per_image']:.1f} s per image "
          f"(goal < {GOAL_SECONDS:.0f} s: {'met' if row['goal_met'] else 'MISSED'})")
    if args.profile or not row["goal_met"]:
        print_profile(row["profile"], row["images"])
    return row


def plot_levels(args, digits, path: Path) -> None:
    """The level along the two ReLU networks before and after placement (compiled only: no keys), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nn.encrypted.placement import level_profile
    from tutorials.figures import level_path

    fig, axes = plt.subplots(2, 1, figsize=(10, 6.2))
    for ax, name in zip(axes, ("digits_mlp_relu4", "digits_cnn_relu")):
        em, _ = _compile(pretrained.load(name), digits.x_train, 1, args, True)
        profile = level_profile(em)
        for key, style in (("before", "C7"), ("after", "C0")):
            ax.plot(*level_path(profile[key]), color=style,
                    label=f"{key} placement" + (" (one chain, no bootstrap)" if key == "before" else ""))
        xs, ys = level_path(profile["after"])
        marks = [i for i, (what, _) in enumerate(profile["after"]) if what.startswith("bootstrap")]
        ax.plot([xs[i] for i in marks], [ys[i] for i in marks], "r^", ms=5,
                label=f"bootstrap ({len(marks)} points, {em.bootstrap.count} ciphertext bootstraps per image)")
        ax.set_title(f"{name}: approx_bits {args.approx_bits}, preset {args.preset}", fontsize=9)
        ax.set_ylabel("level")
        ax.legend(fontsize=7)
    axes[-1].set_xlabel("segment of the network (a linear stage, or one sign stage of a ReLU / max-pool round)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"level plot written to {path}")


def table(rows: list[dict]) -> str:
    header = ["model", "layout", "plaintext acc. (450)", "images checked", "plaintext acc. (checked)", "encrypted acc.",
              "agreement", "rel. logit err.", "s / image (CPU s)", "bootstraps / image", "levels", "ring"]
    body = [[r["model"], r["layout"], f"{100 * r['plain_accuracy_all']:.2f}%", str(r["images"]),
             f"{100 * r['plain_accuracy_checked']:.2f}%", f"{100 * r['encrypted_accuracy']:.2f}%",
             f"{100 * r['agreement']:.2f}%", f"{r['relative_logit_error']:.1e}",
             f"{r['seconds_per_image']:.3g} ({r['cpu_seconds_per_image']:.3g})", f"{r['bootstraps_per_image']:.1f}",
             str(r["levels"]), r["ring"]] for r in rows]
    return markdown_table(header, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=("teaching", "128"), default="teaching",
                        help="teaching: security=None (insecure, the teaching bootstrapping preset); 128: 128-bit")
    parser.add_argument("--images", type=int, default=450, help="test images for the HE-friendly students")
    parser.add_argument("--boot-images", type=int, default=None,
                        help="test images for the models that bootstrap (default: --images)")
    parser.add_argument("--only", choices=("a", "teacher", "students", "b"), default=None,
                        help="run one part (teacher / students: only those rows of part a)")
    parser.add_argument("--approx-bits", type=int, default=12)
    parser.add_argument("--layout", choices=("sample", "batch", "auto"), default="sample")
    parser.add_argument("--interleave", default="1",
                        help="images per ciphertext of the models that bootstrap (sample layout, compile's "
                             "interleave): a power of two, or 'max' (as many as the ring holds); default 1")
    parser.add_argument("--first-conv", choices=("im2col", "server"), default=None,
                        help="compile's first_conv for the models that bootstrap (server: 256 slots per digit "
                             "for the teacher instead of 1024, so 4x more images per ciphertext)")
    parser.add_argument("--flooding", action="store_true", help="flood decryptions (default off)")
    parser.add_argument("--no-convert", action="store_true", help="part a without the nn.convert student")
    parser.add_argument("--profile", action="store_true", help="print part b's profile even when the goal is met")
    parser.add_argument("--memory-limit", type=float, default=None,
                        help="GiB the keys may take (compile's memory_limit; default its 8 GiB)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--plot", type=Path, default=None,
                        help="only write the plot of the levels before/after placement (compiles, no keys) here")
    args = parser.parse_args(argv)
    if args.interleave != "max":
        try:
            args.interleave = int(args.interleave)
        except ValueError:
            parser.error("--interleave takes a power of two or 'max'")
    if args.boot_images is None:
        args.boot_images = args.images
    if not (1 <= args.images <= 450 and 1 <= args.boot_images <= 450):
        parser.error("--images and --boot-images must be between 1 and 450 (the test digits)")
    if args.preset == "teaching":
        warnings.simplefilter("ignore", InsecureWarning)
    digits = load_digits()
    if args.plot is not None:
        plot_levels(args, digits, args.plot)
        return 0
    start = time.perf_counter()
    print(f"bench_deep: preset {args.preset}, approx_bits {args.approx_bits}, layout {args.layout}, "
          f"{os.cpu_count()} CPU(s)", flush=True)
    results: dict = {"preset": args.preset, "approx_bits": args.approx_bits, "argv": sys.argv[1:]}
    rows = []
    if args.only in (None, "a", "teacher", "students"):
        results["a"] = part_a(args, digits)
        rows += results["a"]
    if args.only in (None, "b"):
        results["b"] = part_b(args, digits)
        rows.append(results["b"])
    total = time.perf_counter() - start
    print(f"\n## results (preset {args.preset}, approx_bits {args.approx_bits}; total {total:.0f} s)")
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
