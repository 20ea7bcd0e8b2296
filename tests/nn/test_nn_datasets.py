"""Shipped datasets, the seeded stratified split, and the IDX reader on tiny files written here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from nn import datasets, idx
from nn.datasets import (
    load,
    load_breast_cancer,
    load_digits,
    load_iris,
    load_mnist,
    read_idx,
    read_raw,
    stratified_split,
    write_idx,
)
from nn.errors import DatasetError, IDXFormatError


@pytest.mark.parametrize(
    "name, n, d, counts",
    [
        ("iris", 150, 4, [50, 50, 50]),
        ("digits", 1797, 64, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]),
        ("breast_cancer", 569, 30, [212, 357]),
        ("mnist", 10000, 784, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]),
    ],
)
def test_raw_files(name, n, d, counts):
    x, y, names = read_raw(name)
    assert x.shape == (n, d) and y.shape == (n,) and x.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y).tolist() == counts
    assert len(names) == len(counts)
    assert np.all(np.isfinite(x))


def test_known_values():
    x, y, names = read_raw("iris")
    np.testing.assert_array_equal(x[0], [5.1, 3.5, 1.4, 0.2])
    assert names == ("setosa", "versicolor", "virginica")
    x, y, names = read_raw("breast_cancer")
    assert x[0, 0] == 17.99 and y[0] == 0 and names == ("malignant", "benign")
    x, y, _ = read_raw("digits")
    assert x.min() == 0 and x.max() == 16 and y[:3].tolist() == [0, 1, 2]


def test_split_is_fixed_stratified_and_disjoint():
    y = read_raw("digits")[1]
    tr, te = stratified_split(y, 0.25, seed=0)
    tr2, te2 = stratified_split(y, 0.25, seed=0)
    np.testing.assert_array_equal(te, te2)
    assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == y.size
    assert not np.array_equal(te, stratified_split(y, 0.25, seed=1)[1])
    frac = np.bincount(y[te]) / np.bincount(y)
    assert np.all(np.abs(frac - 0.25) < 0.01)
    with pytest.raises(DatasetError, match="strictly between 0 and 1"):
        stratified_split(y, 1.0)


def test_loaders():
    iris = load_iris()
    assert iris.x_train.shape == (114, 4) and iris.x_test.shape == (36, 4) and iris.num_classes == 3
    np.testing.assert_allclose(iris.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(iris.x_train.std(axis=0), 1.0)
    digits = load_digits()
    assert digits.x_train.shape == (1347, 1, 8, 8) and digits.x_test.shape == (450, 1, 8, 8)
    assert 0.0 <= digits.x_train.min() and digits.x_train.max() <= 1.0
    assert load_digits(images=False).x_train.shape == (1347, 64)
    bc = load_breast_cancer()
    assert bc.x_train.shape == (427, 30) and bc.x_test.shape == (142, 30) and bc.num_classes == 2
    raw_iris = load_iris(standardize=False)
    assert raw_iris.x_train.max() > 5
    np.testing.assert_array_equal(load("iris").x_test, iris.x_test)
    assert "iris" in repr(iris)
    assert set(datasets.DATASETS) == {"iris", "digits", "breast_cancer", "mnist"}
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'"):
        load("cifar")
    with pytest.raises(DatasetError, match="unknown dataset"):
        read_raw("cifar")


def _idx_bytes(code, shape, payload):
    return struct.pack(f">HBB{len(shape)}I", 0, code, len(shape), *shape) + payload


def test_read_idx_tiny_files_written_by_hand(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / "tiny-images-idx3-ubyte"
    p.write_bytes(_idx_bytes(0x08, (2, 3, 4), images.tobytes()))
    np.testing.assert_array_equal(read_idx(p), images)
    floats = np.array([[1.5, -2.25], [3.0, 1e-3]], dtype=">f4")
    q = tmp_path / "floats.idx.gz"
    q.write_bytes(gzip.compress(_idx_bytes(0x0D, (2, 2), floats.tobytes())))
    out = read_idx(q)
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, floats.astype(np.float32))
    ints = np.array([-5, 70000, 3], dtype=">i4")
    r = tmp_path / "ints.idx"
    r.write_bytes(_idx_bytes(0x0C, (3,), ints.tobytes()))
    np.testing.assert_array_equal(read_idx(r), [-5, 70000, 3])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_write_read_round_trip(tmp_path, dtype, suffix):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = tmp_path / f"a{suffix}"
    write_idx(path, a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 1), "truncated header"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00\x01", "needs exactly 13"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x00\x01", "needs exactly 9"),
    ],
)
def test_read_idx_errors(tmp_path, data, message):
    p = tmp_path / "bad.idx"
    p.write_bytes(data)
    with pytest.raises(IDXFormatError, match=message):
        read_idx(p)


def test_idx_other_errors(tmp_path):
    bad_gz = tmp_path / "bad.idx.gz"
    bad_gz.write_bytes(b"not gzip")
    with pytest.raises(IDXFormatError, match="gzip"):
        read_idx(bad_gz)
    with pytest.raises(IDXFormatError, match="cannot store dtype"):
        write_idx(tmp_path / "c.idx", np.zeros(3, dtype=np.complex128))
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing.idx")


def test_load_mnist_from_tiny_files(tmp_path):
    rng = np.random.default_rng(0)
    for part, n in (("train", 5), ("t10k", 3)):
        write_idx(tmp_path / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{part}-labels-idx1-ubyte", rng.integers(0, 10, size=n, dtype=np.uint8))
    x_tr, y_tr, x_te, y_te = idx.load_mnist(tmp_path)
    assert x_tr.shape == (5, 1, 28, 28) and x_te.shape == (3, 1, 28, 28)
    assert y_tr.dtype == np.int64 and 0.0 <= x_tr.min() and x_tr.max() <= 1.0
    full = load_mnist(directory=tmp_path)  # the same files as a Dataset, official split
    np.testing.assert_array_equal(full.x_train, x_tr)
    np.testing.assert_array_equal(full.y_test, y_te)
    assert load_mnist(images=False, directory=tmp_path).x_test.shape == (3, 784)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match="do not match"):
        idx.load_mnist(tmp_path)
    with pytest.raises(IDXFormatError, match="do not match"):
        load_mnist(directory=tmp_path)
    with pytest.raises(FileNotFoundError, match="download MNIST"):
        idx.load_mnist(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="directory="):
        load_mnist(tmp_path)  # a folder passed where the test fraction goes


def test_shipped_mnist_matches_the_checksum_in_its_readme():
    import hashlib
    import re
    from importlib import resources

    readme = resources.files("nn.datasets").joinpath("README.md").read_text()
    recorded = re.search(r"images\.tobytes\(\) \+ labels\.tobytes\(\)` is\s+`([0-9a-f]{64})`", readme)
    assert recorded, "nn/datasets/README.md no longer records the MNIST content checksum"
    with np.load(resources.files("nn.datasets").joinpath("data", "mnist10k.npz"), allow_pickle=False) as npz:
        digest = hashlib.sha256(npz["images"].tobytes() + npz["labels"].tobytes()).hexdigest()
    assert digest == recorded.group(1)


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_shipped_mnist_shapes_range_and_dtype(mnist):
    assert mnist.name == "mnist" and mnist.num_classes == 10
    assert mnist.x_train.shape == (8000, 1, 28, 28) and mnist.x_test.shape == (2000, 1, 28, 28)
    assert mnist.x_train.dtype == np.float64 and mnist.y_train.dtype == np.int64
    for x in (mnist.x_train, mnist.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        np.testing.assert_allclose(x * 255.0, np.rint(x * 255.0), atol=1e-9)  # bytes / 255, as nn.idx
    raw, labels, _ = read_raw("mnist")
    assert raw.min() == 0 and raw.max() == 255
    flat = load_mnist(images=False)
    np.testing.assert_array_equal(flat.x_test, mnist.x_test.reshape(2000, 784))


def test_shipped_mnist_split_is_balanced_disjoint_and_deterministic(mnist):
    raw, labels, _ = read_raw("mnist")
    counts = np.bincount(labels)
    # every class keeps the same 80/20 ratio (to rounding), and both parts hold every class
    np.testing.assert_array_equal(np.bincount(mnist.y_test, minlength=10), np.round(0.2 * counts))
    np.testing.assert_array_equal(np.bincount(mnist.y_train, minlength=10) + np.bincount(mnist.y_test), counts)
    # no test image is also a training image
    train_rows = {row.tobytes() for row in mnist.x_train.reshape(8000, -1)}
    assert not any(row.tobytes() in train_rows for row in mnist.x_test.reshape(2000, -1))
    again = load_mnist()
    np.testing.assert_array_equal(again.x_test, mnist.x_test)
    np.testing.assert_array_equal(again.y_train, mnist.y_train)
    other = load_mnist(seed=1)
    assert not np.array_equal(other.y_test, mnist.y_test) or not np.array_equal(other.x_test, mnist.x_test)
    assert load_mnist(test_fraction=0.5).x_test.shape[0] == int(np.round(0.5 * counts).sum())
    np.testing.assert_array_equal(load("mnist").y_test, mnist.y_test)
    # the shipped order is shuffled: a prefix of either split already holds every class
    assert len(np.unique(mnist.y_test[:100])) == 10 and len(np.unique(mnist.y_train[:100])) == 10
    with pytest.raises(DatasetError, match="strictly between 0 and 1"):
        load_mnist(test_fraction=1.5)
