"""Time per encrypted image against image size and channel count, dense against multiplexed convolution packing.

    python benchmarks/plot_conv_scaling.py                       # the full grid, writes docs/nn/conv_scaling.png
    python benchmarks/plot_conv_scaling.py --sizes 8,16 --channels 1,4 --out /tmp/conv.png

One convolution block per point, random (Xavier) weights on random C x H x H inputs::

    Conv2d(C, C, 3, padding=1) -> Square -> AvgPool2d(2) -> Flatten -> Linear(C H H / 4, 10)

compiled in the one-sample layout with the convolution on the server (``first_conv="server"``) and
``conv_packing="dense"`` (every run of affine layers one matrix on the flat image, its generalized
diagonals by baby-step giant-step) or ``"multiplexed"`` (channels interleaved in the slots,
`nn.encrypted.multiplexed`).  Teaching parameters, stated on the plot: ``security=None``,
``flooding=False``, ``precision_bits=12`` (the ring degree is the smallest whose slots hold the
image; the times are about the layouts, not a secure deployment).  Each point: compile, key
generation, one warm-up image, then the median of ``--repeat`` images (encrypt + run + decrypt).
A point whose plan is over the compiler's ``memory_limit`` (8 GiB) is reported, not run, and
drawn as a cross at the top of the plot.  Peak memory stays under the plan's estimate; runs with
estimates over 4 GiB should hold ``flock /tmp/bigmem.lock``.
"""

from __future__ import annotations

import argparse
import gc
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nn  # noqa: E402
from nn.errors import ResourceLimitError  # noqa: E402

PACKINGS = ("dense", "multiplexed")
OPTIONS = {"security": None, "flooding": False, "precision_bits": 12, "first_conv": "server"}


def block(channels: int, size: int, seed: int = 0) -> nn.Sequential:
    """The one-convolution block of the module docstring."""
    rng = np.random.default_rng(seed)
    return nn.Sequential([nn.Conv2d(channels, channels, 3, padding=1, init="xavier", rng=rng), nn.Square(),
                          nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(channels * size * size // 4, 10, init="xavier", rng=rng)])


def measure(channels: int, size: int, packing: str, repeat: int = 1, seed: int = 0) -> dict:
    """Compile, keygen and time one point; ``{"status": "over memory limit"}`` when the plan is refused."""
    from nn import encrypted

    model = block(channels, size, seed)
    x = np.random.default_rng(seed + 1).random((16, channels, size, size))
    row = {"channels": channels, "size": size, "packing": packing}
    start = time.perf_counter()
    try:
        em = encrypted.compile(model, (channels, size, size), 1, layout="sample", calibration=x,
                               conv_packing=packing, **OPTIONS)
    except ResourceLimitError as exc:
        row.update(status="over memory limit", detail=str(exc).split(";")[0])
        return row
    row["compile_s"] = time.perf_counter() - start
    start = time.perf_counter()
    ctx = em.keygen()
    row["keygen_s"] = time.perf_counter() - start
    server = ctx.public_copy()
    times = []
    for i in range(repeat + 1):  # the first image encodes the plan's diagonals (cached): a warm-up
        start = time.perf_counter()
        y = em.decrypt(ctx, em.run(server, em.encrypt(ctx, x[i : i + 1])))
        times.append(time.perf_counter() - start)
        row["max_error"] = float(np.max(np.abs(y - model.predict(x[i : i + 1]))))
    row.update(status="ok", seconds=statistics.median(times[1:]), poly_degree=em.params.poly_degree,
               rotations=int(re.search(r"rotations per \w+: (\d+)", em.summary()).group(1)))
    return row


def plot(rows: list[dict], out: Path, title_note: str) -> None:
    """Time per image against image size: one colour per channel count, solid multiplexed, dashed dense."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.6, 4.4))
    channels = sorted({r["channels"] for r in rows})
    colours = dict(zip(channels, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    ok = [r for r in rows if r["status"] == "ok"]
    top = max((r["seconds"] for r in ok), default=1.0) * 2
    for c in channels:
        for packing, style, marker in (("multiplexed", "-", "o"), ("dense", "--", "s")):
            pts = sorted((r["size"], r["seconds"]) for r in ok if r["channels"] == c and r["packing"] == packing)
            if pts:
                ax.plot(*zip(*pts), style, marker=marker, color=colours[c], label=f"{c} channel(s), {packing}")
            refused = [r["size"] for r in rows if r["channels"] == c and r["packing"] == packing
                       and r["status"] != "ok"]
            if refused:
                ax.plot(refused, [top] * len(refused), "x", color=colours[c], markersize=9)
    ax.set_yscale("log")
    ax.set_xticks(sorted({r["size"] for r in rows}))
    ax.set_xlabel("image side H (input C x H x H)")
    ax.set_ylabel("seconds per encrypted image")
    ax.set_title("Conv(C, C, 3x3) -> x^2 -> AvgPool 2 -> Linear(., 10), one image per ciphertext", fontsize=10)
    ax.text(0.01, 0.01, title_note + "\nx at the top: dense plan over memory_limit (8 GiB), refused by compile",
            transform=ax.transAxes, fontsize=7, va="bottom")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def parse_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return values


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_list, default=[8, 16, 28, 32], help="image sides (even)")
    parser.add_argument("--channels", type=parse_list, default=[1, 4, 16], help="channel counts")
    parser.add_argument("--packings", default=",".join(PACKINGS), help="dense, multiplexed or both")
    parser.add_argument("--repeat", type=int, default=1, help="timed images per point (after one warm-up)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "nn" / "conv_scaling.png")
    args = parser.parse_args(argv)
    packings = [p.strip() for p in args.packings.split(",") if p.strip()]
    if not packings or any(p not in PACKINGS for p in packings):
        parser.error(f"--packings: choose from {', '.join(PACKINGS)}")
    if any(s % 2 for s in args.sizes):
        parser.error("--sizes: image sides must be even (AvgPool2d(2))")
    warnings.simplefilter("ignore")
    rows = []
    print("| C | H | packing | N | rotations | compile (s) | keygen (s) | s / image | max error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in args.channels:
        for size in args.sizes:
            for packing in packings:
                r = measure(c, size, packing, args.repeat)
                rows.append(r)
                gc.collect()
                if r["status"] == "ok":
                    print(f"| {c} | {size} | {packing} | {r['poly_degree']} | {r['rotations']} | {r['compile_s']:.1f} "
                          f"| {r['keygen_s']:.1f} | {r['seconds']:.3f} | {r['max_error']:.1e} |", flush=True)
                else:
                    print(f"| {c} | {size} | {packing} | - | - | refused: {r['detail']} | - | - | - |", flush=True)
    note = ", ".join(f"{k}={v}" for k, v in OPTIONS.items()) + " (teaching parameters)"
    plot(rows, args.out, note)
    print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
