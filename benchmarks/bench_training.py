"""Encrypted training benchmark: an MLP on encrypted Iris (Mihara et al.) and TenSEAL's encrypted logistic regression.

Part 1 trains ``Linear(4, 7) -> x^2 -> Linear(7, 3)`` on the shipped Iris split
with ``nn.encrypted.train`` (packed products and transposes, the key owner
refreshing the weights) and prints test accuracy encrypted vs plaintext twin,
seconds per epoch, total time, refreshes, and the per-step operation counts
packed vs naive.

Part 1b (``--bootstrap-128``, alone) is the whole Iris training at 128 bits with ``refresh="bootstrap"``: no key
owner during training, ``ckks.Context.for_bootstrapping("128")`` (N = 2^16), batch 16, 5 epochs = 40 steps, the
weights refreshed by one paired bootstrap before every step but the first.  It prints wall and CPU time, the
setup (bootstrapping and training keys), the bootstraps and their seconds, the key memory, the peak resident
memory, and accuracy and weights against the plaintext twin.  It needs about 12 GiB and runs 20-40 minutes on
2 cores: hold the shared memory lock.

Part 2 is the workload of TenSEAL's tutorial "Logistic regression training on
encrypted data" (780 samples x 9 features, sigmoid ~ 0.5 + 0.197 x - 0.004 x^3,
one ciphertext per sample, encrypted weights refreshed by decrypt/re-encrypt
every epoch, N = 8192 with moduli [40, 21 x 6, 40]), run with this library and
with TenSEAL alternately in one run; it prints the epoch times and their ratio.
TenSEAL broadcasts the size-1 results of ``dot`` (the bias, the label and the
error) to the features' slots; this library's ``dot`` leaves the total in
every slot, so the bias and the label are encrypted repeated over the 9
feature slots instead.  Both apply the epoch-end update (L2 factor 0.05) at
the refresh, in the clear, after the key owner decrypts the accumulated
gradients.  TenSEAL runs with ``n_threads=1``.
The tutorial's data (Framingham) is not shipped: the data here is synthetic
with the same shape (standardised features, labels of a noisy linear model).

Run::

    python benchmarks/bench_training.py                 # 128-bit parameters (N = 16384)
    python benchmarks/bench_training.py --fast          # N = 8192, below 128-bit security
    python benchmarks/bench_training.py --skip-lr       # part 1 only
    python benchmarks/bench_training.py --skip-lr --epochs 2 --batch 16 --no-flooding   # drift without flooding
    python benchmarks/bench_training.py --plot docs/nn/encrypted_training.png
    python benchmarks/bench_training.py --skip-mlp --skip-lr --bootstrap-rings 2048 4096   # refresh="bootstrap"
    flock /tmp/bigmem.lock python benchmarks/bench_training.py --bootstrap-128 [--max-steps 3]   # 128 bits, ~12 GiB
    NUMBA_NUM_THREADS=1 python benchmarks/bench_training.py   # on a shared, oversubscribed machine
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import ckks
import nn
from nn.datasets import load_iris
from nn.encrypted.training import train


def iris_model(seed: int) -> nn.Sequential:
    """``Linear(4, 7) -> x^2 -> Linear(7, 3)``, Xavier initialisation from ``seed``."""
    rng = np.random.default_rng(seed)
    layers = [nn.Linear(4, 7, init="xavier", rng=rng), nn.Square(), nn.Linear(7, 3, init="xavier", rng=rng)]
    return nn.Sequential(layers)


def iris_mlp(args) -> None:
    ds = load_iris()
    model = iris_model(args.init_seed)
    kwargs = {"poly_degree": 8192, "security": None} if args.fast else {"security": 128}
    print(f"== Part 1: encrypted MLP on Iris, {model[0].in_features}-{model[0].out_features}-3, x^2, MSE ==")
    cpu = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # security=None warns; the table says which parameters ran
        report = train(
            model, ds.x_train, ds.y_train, epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch,
            refresh="owner", seed=0, flooding=not args.no_flooding, **kwargs,
        )

    def accuracy(m) -> float:
        return float(np.mean(np.argmax(m.predict(ds.x_test), axis=1) == ds.y_test))

    cpu = time.process_time() - cpu
    enc, twin = accuracy(report.model), accuracy(report.twin_model)
    p = report.parameters
    per_epoch = [h["seconds"] for h in report.history]
    print()
    print(f"parameters: N={p['poly_degree']}, moduli_bits={p['moduli_bits']}, security={p['security']}, "
          f"d={p['d']}, depth/step={p['depth_per_step']}, flooding={not args.no_flooding}")
    print(f"epochs={args.epochs}, batch_size={args.batch}, learning_rate={args.lr}, steps={report.steps}")
    print()
    print("| metric | encrypted | plaintext twin |")
    print("|---|---|---|")
    print(f"| test accuracy (36 samples) | {enc:.2%} | {twin:.2%} |")
    print(f"| final training MSE | {report.history[-1]['loss']:.4f} | {report.history[-1]['twin_loss']:.4f} |")
    print(f"| max abs weight difference | {report.history[-1]['weight_diff']:.2e} | - |")
    print(f"| seconds per epoch (mean) | {np.mean(per_epoch):.1f} | - |")
    print(f"| setup (keys) seconds | {report.setup_seconds:.1f} | - |")
    print(f"| total seconds (wall) | {report.seconds:.1f} | - |")
    print(f"| total CPU seconds of this process (twin included) | {cpu:.1f} | - |")
    print(f"| refreshes (total / per epoch) | {report.refreshes} / {report.refreshes / args.epochs:.1f} | - |")
    print()
    c, naive = report.counts, report.counts["naive"]
    print("| per training step | packed (measured) | naive: one ct per sample | naive: one ct per value |")
    print("|---|---|---|---|")
    for key in ("rotations", "ct_ct_multiplications", "pt_multiplications", "relinearizations", "key_switches",
                "depth"):
        print(f"| {key} | {c[key]} | {naive['per_sample'][key]} | {naive['per_value'][key]} |")
    print(f"| rescales | {c['rescales']} | - | - |")
    print(f"| ciphertexts per batch upload | {c['uploaded_ciphertexts']} | {2 * args.batch} | "
          f"{args.batch * 5 + args.batch * 3} |")
    if args.plot:
        plot_curves(report, args.plot, f"N={p['poly_degree']}, batch {args.batch}, lr {args.lr}")


def key_memory(*containers) -> int:
    """Bytes of the key data in these ``GaloisKeys`` containers (None skipped), each key counted once: the training
    keys share the bootstrapping keys of the same steps (the same arrays)."""
    arrays = {}
    for keys in containers:
        for key in ([] if keys is None else keys.keys.values()):
            arrays[id(key.data)] = key.data
    return sum(a.nbytes for a in arrays.values())


def bootstrap_128(args) -> dict:
    """The whole Iris training at 128 bits with ``refresh="bootstrap"`` (see the module docstring); the figures."""
    import resource

    ds = load_iris()
    model = iris_model(args.init_seed)
    print(f"== Part 1b: encrypted MLP on Iris at 128 bits, refresh='bootstrap' (no key owner), batch {args.batch}, "
          f"{args.epochs} epochs{'' if args.max_steps is None else f', at most {args.max_steps} steps'} ==", flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    ctx = ckks.Context.for_bootstrapping("128")
    ctx.generate_bootstrapping_keys(progress=False)
    boot_keys = time.perf_counter() - wall
    print(f"bootstrapping keys: {boot_keys:.1f} s, {key_memory(ctx.bootstrapper.galois_keys) / 2**30:.2f} GiB",
          flush=True)
    report = train(model, ds.x_train, ds.y_train, epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch,
                   refresh="bootstrap", seed=0, max_steps=args.max_steps, context=ctx, verbose=True, flooding=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    def accuracy(m) -> float:
        return float(np.mean(np.argmax(m.predict(ds.x_test), axis=1) == ds.y_test))

    last = report.history[-1]
    row = {
        "wall_s": wall, "cpu_s": cpu, "setup_s": boot_keys + report.setup_seconds, "bootstrap_keys_s": boot_keys,
        "training_keys_s": report.setup_seconds, "steps": report.steps, "refreshes": report.refreshes,
        "bootstraps": report.bootstraps, "refresh_s": report.refresh_seconds,
        "keys_gib": key_memory(ctx.bootstrapper.galois_keys, ctx.galois_keys) / 2**30,
        "bootstrap_keys_gib": key_memory(ctx.bootstrapper.galois_keys) / 2**30,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "train_accuracy": last["train_accuracy"], "twin_train_accuracy": last["twin_train_accuracy"],
        "test_accuracy": accuracy(report.model), "twin_test_accuracy": accuracy(report.twin_model),
        "drift": max(h["weight_diff"] for h in report.history),
    }
    per = row["refresh_s"] / max(row["bootstraps"], 1)
    print()
    print("| metric | value |")
    print("|---|---|")
    print(f"| wall / CPU seconds (keys, training, twin) | {wall:.0f} / {cpu:.0f} |")
    print(f"| setup seconds: bootstrapping keys + training keys | {row['setup_s']:.0f} ({boot_keys:.0f} + "
          f"{report.setup_seconds:.0f}) |")
    print(f"| steps / refreshes / bootstraps | {report.steps} / {report.refreshes} / {report.bootstraps} |")
    print(f"| refresh seconds (per bootstrap) | {report.refresh_seconds:.0f} ({per:.1f}) |")
    print(f"| keys GiB: bootstrapping + training Galois keys (shared counted once) | {row['keys_gib']:.2f} "
          f"({row['bootstrap_keys_gib']:.2f} bootstrapping) |")
    print(f"| peak resident memory GiB | {row['peak_rss_gib']:.2f} |")
    print(f"| train accuracy encrypted / twin | {row['train_accuracy']:.2%} / {row['twin_train_accuracy']:.2%} |")
    print(f"| test accuracy encrypted / twin (36 samples) | {row['test_accuracy']:.2%} / "
          f"{row['twin_test_accuracy']:.2%} |")
    print(f"| max abs weight difference to the twin (over the epochs) | {row['drift']:.2e} |")
    return row


def plot_curves(report, path: str, title: str) -> None:
    """Training loss (encrypted vs twin) and the weight difference per epoch, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in report.history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(epochs, [h["loss"] for h in report.history], "o-", label="encrypted (decrypted weights)")
    left.plot(epochs, [h["twin_loss"] for h in report.history], "x--", label="plaintext twin")
    left.set_xlabel("epoch")
    left.set_ylabel("training MSE")
    left.legend()
    right.semilogy(epochs, [h["weight_diff"] for h in report.history], "o-")
    right.set_xlabel("epoch")
    right.set_ylabel("max |W_encrypted - W_twin|")
    fig.suptitle(f"Encrypted training on Iris ({title})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"saved {path}")


# -- part 2: TenSEAL's encrypted logistic regression tutorial -------------------------------------------


def lr_data(n: int = 780, features: int = 9, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    w = rng.normal(size=features)
    y = (x @ w + 0.5 * rng.normal(size=n) > 0).astype(np.float64)
    return x, y


SIGMOID3 = [0.5, 0.197, 0.0, -0.004]


def encrypted_gradients(enc_x, enc_y, w, b):
    """The tutorial's forward and backward pass over the encrypted samples, in the same order for both libraries.

    The operations (``dot``, ``+``, ``polyval``, ``-``, ``*``) are the CKKSVector API that this library and
    TenSEAL share, so the same loop runs on either library's vectors.

    Returns:
        The encrypted sums of the weight and bias gradients.
    """
    delta_w = delta_b = None
    for x, y in zip(enc_x, enc_y):
        out = (x.dot(w) + b).polyval(SIGMOID3)
        diff = out - y
        dw = x * diff
        delta_w = dw if delta_w is None else delta_w + dw
        delta_b = diff if delta_b is None else delta_b + diff
    return delta_w, delta_b


def lr_epoch_ours(ctx, enc_x, enc_y, weight, bias):
    """One epoch of the tutorial's EncryptedLR with ckks (same operations in the same order).

    The weights are encrypted at the start of the epoch; the accumulated gradients are
    decrypted by the key owner at its end, who applies the update (the refresh).
    """
    w, b = ctx.encrypt(weight), ctx.encrypt(np.full(len(weight), bias[0]))
    delta_w, delta_b = encrypted_gradients(enc_x, enc_y, w, b)
    return _update(weight, bias, delta_w.decrypt()[: len(weight)], delta_b.decrypt()[:1], len(enc_x))


def _update(weight, bias, delta_w, delta_b, count):
    """The tutorial's update_parameters (L2 factor 0.05), applied in the clear at the refresh."""
    return weight - (delta_w / count + weight * 0.05), bias - delta_b / count


def lr_epoch_plain(x, y, weight, bias):
    """The same epoch in numpy (the reference both encrypted runs are compared with)."""
    t = x @ weight + bias[0]
    diff = np.polynomial.polynomial.polyval(t, SIGMOID3) - y
    return _update(weight, bias, x.T @ diff, np.array([diff.sum()]), len(x))


def output_scale(ctx, x0, weight, bias) -> float:
    """The scale of (x . w + b).polyval(sigmoid): the labels are encrypted at it, so that out - y aligns exactly."""
    w, b = ctx.encrypt(weight), ctx.encrypt(np.full(len(weight), bias[0]))
    return (x0.dot(w) + b).polyval(SIGMOID3).scale


def lr_epoch_tenseal(ts, ctx, enc_x, enc_y, weight, bias):
    """One epoch of the tutorial's EncryptedLR with TenSEAL (same structure as `lr_epoch_ours`)."""
    w, b = ts.ckks_vector(ctx, list(weight)), ts.ckks_vector(ctx, list(bias))
    delta_w, delta_b = encrypted_gradients(enc_x, enc_y, w, b)
    return _update(weight, bias, np.array(delta_w.decrypt()), np.array(delta_b.decrypt()[:1]), len(enc_x))


def logistic_regression(args) -> None:
    import tenseal as ts

    print()
    print(f"== Part 2: TenSEAL's encrypted logistic-regression tutorial workload ({args.lr_samples} x 9, "
          f"degree-3 sigmoid, refresh every epoch) ==")
    x, y = lr_data(args.lr_samples)
    bits = [40, 21, 21, 21, 21, 21, 21, 40]
    ours = ckks.Context(8192, bits, scale_bits=21)
    ours.generate_galois_keys(progress=False)
    theirs = ts.context(ts.SCHEME_TYPE.CKKS, 8192, -1, bits, n_threads=1)
    theirs.global_scale = 2**21
    theirs.generate_galois_keys()
    rng = np.random.default_rng(1)
    w0, b0 = rng.normal(scale=0.1, size=9), np.zeros(1)
    xs = [ours.encrypt(row) for row in x]
    scale = output_scale(ours, xs[0], w0, b0)
    enc_ours = xs, [ours.encrypt(np.full(9, v), scale=scale) for v in y]
    enc_theirs = [ts.ckks_vector(theirs, row.tolist()) for row in x], [ts.ckks_vector(theirs, [v]) for v in y]
    w_o, b_o, w_t, b_t, w_p, b_p = w0, b0, w0, b0, w0, b0
    times_o, times_t, cpu_o, cpu_t = [], [], [], []
    for epoch in range(args.lr_epochs):  # alternate, so that both see the same machine load
        start, cpu = time.perf_counter(), time.process_time()
        w_o, b_o = lr_epoch_ours(ours, *enc_ours, w_o, b_o)
        times_o.append(time.perf_counter() - start)
        cpu_o.append(time.process_time() - cpu)
        start, cpu = time.perf_counter(), time.process_time()
        w_t, b_t = lr_epoch_tenseal(ts, theirs, *enc_theirs, w_t, b_t)
        times_t.append(time.perf_counter() - start)
        cpu_t.append(time.process_time() - cpu)
        w_p, b_p = lr_epoch_plain(x, y, w_p, b_p)
        print(f"epoch {epoch + 1}: ours {times_o[-1]:.1f} s, TenSEAL {times_t[-1]:.1f} s; max |w - w_numpy|: "
              f"ours {np.max(np.abs(w_o - w_p)):.2e}, TenSEAL {np.max(np.abs(w_t - w_p)):.2e}", flush=True)
    x_plain = np.c_[x, np.ones(len(x))]

    def acc(w, b):
        return float(np.mean(((x_plain[:, :-1] @ w + b[0]) > 0) == (y > 0.5)))

    print()
    print("| logistic regression, per epoch | ckks (this library) | TenSEAL | ratio ours / TenSEAL |")
    print("|---|---|---|---|")
    mo, mt = float(np.median(times_o)), float(np.median(times_t))
    print(f"| seconds per epoch ({args.lr_samples} samples, median of {args.lr_epochs}) | {mo:.1f} | {mt:.1f} | "
          f"{mo / mt:.2f} |")
    co, ct = float(np.median(cpu_o)), float(np.median(cpu_t))
    print(f"| CPU seconds per epoch | {co:.1f} | {ct:.1f} | {co / ct:.2f} |")
    print(f"| training accuracy after {args.lr_epochs} epoch(s) | {acc(w_o, b_o):.2%} | {acc(w_t, b_t):.2%} | - |")
    print("| TenSEAL tutorial's own figure | - | 160 s per epoch (their machine) | - |")


# -- part 3: the refresh by bootstrapping (no key owner), teaching preset ----------------------------------------


def bootstrap_refresh(args) -> None:
    """Cost of ``refresh="bootstrap"``: keys, one refresh (two bootstraps), one step, at small teaching rings."""
    ds = load_iris()
    x, y = ds.x_train[::3], ds.y_train[::3]
    print()
    print("== Part 3: refresh by bootstrapping on the server (teaching preset, insecure), batch 12, 5 steps ==")
    print("| N | bootstrapping keys s | refreshes | s per refresh (one paired bootstrap) | s per step | "
          "max abs weight diff |")
    print("|---|---|---|---|---|---|")
    for n in args.bootstrap_rings:
        model = iris_model(args.init_seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the teaching preset is insecure by design
            start = time.perf_counter()
            ctx = ckks.Context.for_bootstrapping("teaching", security=None, poly_degree=n, compute_levels=12)
            ctx.generate_bootstrapping_keys(progress=False)
            keys = time.perf_counter() - start
            report = train(model, x, y, epochs=2, learning_rate=0.2, batch_size=12, refresh="bootstrap", seed=0,
                           max_steps=5, context=ctx, verbose=False, flooding=not args.no_flooding)
        step = (report.seconds - report.setup_seconds - report.refresh_seconds) / report.steps
        print(f"| {n} | {keys:.1f} | {report.refreshes} | {report.refresh_seconds / report.refreshes:.2f} | "
              f"{step:.2f} | {report.history[-1]['weight_diff']:.1e} |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``argv``: None for ``sys.argv``); errors exit through ``parser.error``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=None, help="batch size (default 32; 16 with --bootstrap-128)")
    parser.add_argument("--lr", type=float, default=0.2)
    parser.add_argument("--init-seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="N = 8192, security=None (faster, below 128 bits)")
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--no-flooding", action="store_true",
                        help="train(..., flooding=False): the key owner does not flood refreshes and decryptions")
    parser.add_argument("--skip-lr", action="store_true")
    parser.add_argument("--lr-samples", type=int, default=780)
    parser.add_argument("--lr-epochs", type=int, default=1)
    parser.add_argument("--plot", default=None, help="save the training curves to this PNG")
    parser.add_argument("--bootstrap-rings", type=int, nargs="*", default=[],
                        help="also time refresh='bootstrap' at these teaching ring degrees (e.g. 2048 4096)")
    parser.add_argument("--bootstrap-128", action="store_true",
                        help="only the whole Iris training at 128 bits with refresh='bootstrap' (about 12 GiB: run "
                             "it under flock /tmp/bigmem.lock)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="with --bootstrap-128: stop after this many steps (a short trial)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch", "max_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    if args.max_steps is not None and not args.bootstrap_128:
        parser.error("--max-steps applies to --bootstrap-128 only")
    if args.bootstrap_128 and (args.fast or args.bootstrap_rings):
        parser.error("--bootstrap-128 runs alone at 128 bits: drop --fast and --bootstrap-rings")
    if args.batch is None:
        args.batch = 16 if args.bootstrap_128 else 32
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.bootstrap_128:
        bootstrap_128(args)
        return
    if not args.skip_mlp:
        iris_mlp(args)
    if not args.skip_lr:
        logistic_regression(args)
    if args.bootstrap_rings:
        bootstrap_refresh(args)


if __name__ == "__main__":
    main()
