"""Re-make the shipped pre-trained MNIST models (``nn/pretrained/mnist_*.npz`` and ``.json``).

    python tools/train_mnist_models.py                       # both: mnist_tenseal_cnn, mnist_lenet
    python tools/train_mnist_models.py mnist_lenet --seed 1  # one, another seed
    python tools/train_mnist_models.py --out /tmp/models     # somewhere else (compare with the shipped files)

Each model is `nn.encrypted.pretrained.train`: the architecture of `nn.encrypted.pretrained.architecture`
initialised with the seed, trained with the library's own `nn.train.fit` and `nn.optim.Adam` on
``nn.datasets.load_mnist()`` (8,000 training images; the 2,000 test images give the accuracy in the
``.json``) by the recipe of `nn.encrypted.pretrained.MNIST_TRAINING`, shuffled with the same seed.
Deterministic: the same seed gives the same weights on the same numpy/BLAS (one BLAS thread, set below).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # small matrices: threads only add overhead (and non-determinism)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn.encrypted import pretrained  # noqa: E402

NAMES = tuple(pretrained.MNIST_TRAINING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="name", help=f"models to train (default: {' '.join(NAMES)})")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: nn/pretrained/)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in NAMES]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    for name in args.names or NAMES:
        start = time.perf_counter()
        record = pretrained.train(name, epochs=args.epochs, seed=args.seed, directory=args.out)
        print(f"{name}: test accuracy {record['test_accuracy']:.4f} on {record['test_images']} images, "
              f"{record['epochs']} epochs ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
