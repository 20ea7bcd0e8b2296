"""ReLU, max-pool and smooth activations under encryption (``compile(..., approximate=True)``): errors and times.

``flock /tmp/bigmem.lock python benchmarks/bench_approximation.py`` (N = 2^15: up to 5.5 GB): a ReLU
MLP (64 -> 16 -> ReLU -> 10) trained on the 8x8 digits, compiled at 128-bit security (no bootstrapping:
the depth fits) for each ``approx_bits``; per setting the depth, the parameters, seconds per image
(sample layout, one image at a time), the largest |encrypted - plaintext plan| (and ``em.tolerance``)
and |plan - model| on the images run, and the agreement of the encrypted argmax with the model's.
``--plot PATH`` draws the approximations of ReLU (numpy, the same polynomials the ciphertexts
evaluate) for the docs.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import nn
from nn import encrypted
from nn.datasets import load_digits


def relu_model(d):
    model = nn.Sequential([nn.Linear(64, 16, rng=0), nn.ReLU(), nn.Linear(16, 10, rng=1)])
    nn.fit(model, d.x_train, d.y_train, epochs=20, batch_size=32, optimizer=nn.Adam(model.parameters(), lr=1e-2),
           seed=0, verbose=False)
    return model


def measure(images: int, bits_list: list[int]) -> None:
    d = load_digits(images=False)
    model = relu_model(d)
    x = d.x_test[:images]
    print(f"ReLU MLP 64-16-10, plaintext accuracy {np.mean(model.forward(d.x_test).argmax(1) == d.y_test):.4f}")
    print("| approx_bits | ReLU levels (degrees) | depth | parameters | s / image | max enc - plan (tolerance) "
          "| max plan - model | argmax agreement |")
    print("|---|---|---|---|---|---|---|---|")
    for bits in bits_list:
        em = encrypted.compile(model, (64,), 1, calibration=d.x_train, approximate=True, approx_bits=bits,
                               flooding=False, bootstrap="never")
        relu = em.stages[1]
        ctx = em.keygen()
        server = ctx.public_copy()
        got, seconds = [], []
        for row in x:
            enc = em.encrypt(ctx, row[None])
            t0 = time.perf_counter()
            out = em.run(server, enc)
            seconds.append(time.perf_counter() - t0)
            got.append(em.decrypt(ctx, out)[0])
        got = np.array(got)
        plan, exact = em.plan_forward(x), model.forward(x)
        agree = np.mean(got.argmax(1) == exact.argmax(1))
        print(f"| {bits} | {relu.levels} ({list(relu.plan.degrees)}) | {em.depth} | N = {em.params.poly_degree}, "
              f"log2 QP = {sum(em.params.moduli_bits)} | {np.mean(seconds):.2f} | {np.max(np.abs(got - plan)):.2e} "
              f"({em.tolerance:.1e}) | "
              f"{np.max(np.abs(plan - exact)):.2e} | {agree:.0%} of {len(x)} |")


def plot(path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nn.encrypted.approximation import ReLUStage

    t = np.linspace(-1.0, 1.0, 4001)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for bits in (4, 6, 8, 12):
        stage = ReLUStage(["ReLU"], bits, (1,))
        stage.design(t, "sample")
        y = stage.forward(t / stage.divisor) * stage.divisor
        axes[0].plot(t, y, label=f"{bits} bits: {stage.levels} levels")
        axes[1].semilogy(t, np.abs(y - np.maximum(t, 0.0)) + 1e-18, label=f"{bits} bits")
    axes[0].plot(t, np.maximum(t, 0), "k:", label="ReLU")
    axes[0].set_xlim(-0.2, 0.2)
    axes[0].set_ylim(-0.02, 0.2)
    axes[0].set_title("x (1 + p(x)) / 2 near 0 (range [-1.25, 1.25])")
    axes[1].set_ylim(1e-8, 1)
    axes[1].set_title("|approximation - ReLU|")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.set_xlabel("x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 12])
    parser.add_argument("--plot", help="save the ReLU approximation plot here and exit")
    args = parser.parse_args()
    if args.plot:
        plot(args.plot)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measure(args.images, args.bits)


if __name__ == "__main__":
    main()
