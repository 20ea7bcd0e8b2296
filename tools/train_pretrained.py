"""Re-make the shipped pre-trained digits models (``nn/pretrained/<name>.npz`` and ``.json``).

    python tools/train_pretrained.py                          # the ReLU models: digits_cnn_relu, digits_mlp_relu4
    python tools/train_pretrained.py digits_cnn digits_mlp    # the HE-friendly ones
    python tools/train_pretrained.py --out /tmp/models        # somewhere else (compare with the shipped files)

Each model is `nn.encrypted.pretrained.train`: the architecture of
`nn.encrypted.pretrained.architecture` initialised with the seed, Adam (lr 3e-3, batch 32) for 60 epochs on
``nn.datasets.load_digits()`` (default split), shuffled with the same seed. Deterministic: the same seed
gives the same weights on the same numpy/BLAS (one BLAS thread, set below).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # tiny matrices: threads only add overhead (and non-determinism)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn.encrypted import pretrained  # noqa: E402

RELU_MODELS = ("digits_cnn_relu", "digits_mlp_relu4")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"models to train, of {', '.join(pretrained.MODELS)} (default: {' '.join(RELU_MODELS)})")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: nn/pretrained/)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in pretrained.MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(pretrained.MODELS)}")
    for name in args.names or RELU_MODELS:
        start = time.perf_counter()
        record = pretrained.train(name, epochs=args.epochs, seed=args.seed, directory=args.out)
        print(f"{name}: test accuracy {record['test_accuracy']:.4f} on {record['test_images']} images "
              f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
