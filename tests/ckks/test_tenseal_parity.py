"""TenSEAL parity (issue 11, items 5-7): TenSEAL's CKKSVector API, run side by side with TenSEAL itself.

Each test runs the same calls in both libraries on the same inputs and compares the decrypted
results (and the sizes and errors).  Our keys are seeded (``SEED``) so a failure reproduces;
TenSEAL's keys cannot be seeded, so every failure message prints both errors.
The row-by-row API table is in docs/tenseal.md.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import tenseal as ts

import ckks
from ckks.errors import InputError, InsecureWarning
from ckks.interop import tenseal_context

SEED = 20261123
ATOL = 1e-4


@pytest.fixture(scope="module")
def pair():
    """N = 8192, [60, 40, 40, 60], scale 2^40, default Galois keys; ours seeded, TenSEAL's twin on the same primes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ours = ckks.Context(8192, [60, 40, 40, 60], 40, seed=SEED)
    ours.generate_galois_keys(progress=False)
    return ours, tenseal_context(ours.params, galois=True)


def agree(mine, theirs, expected=None, atol=ATOL):
    mine, theirs = np.asarray(mine), np.asarray(theirs)
    assert mine.shape == theirs.shape, (mine.shape, theirs.shape)
    reference = theirs if expected is None else np.asarray(expected)
    ours_error = float(np.max(np.abs(mine - reference), initial=0.0))
    theirs_error = float(np.max(np.abs(theirs - reference), initial=0.0))
    assert ours_error < atol, f"ours {ours_error:.3e}, TenSEAL {theirs_error:.3e} (seed {SEED})"


def test_long_vectors_split_over_ciphertexts(pair):
    ours, theirs = pair
    x = np.random.default_rng(1).uniform(-1, 1, 10000)  # 3 chunks of 4096
    y = np.random.default_rng(2).uniform(-1, 1, 10000)
    v, tv = ours.encrypt(x), ts.ckks_vector(theirs, x)
    w, tw = ours.encrypt(y), ts.ckks_vector(theirs, y)
    assert len(v.ciphertexts) == len(tv.ciphertext()) == 3
    assert v.size() == tv.size() == 10000 and v.shape == tv.shape == [10000]
    agree(v.decrypt(), tv.decrypt(), x)
    agree((v + w).decrypt(), (tv + tw).decrypt(), x + y)
    agree((v * w).decrypt(), (tv * tw).decrypt(), x * y)
    agree((v - 0.5).decrypt(), (tv - 0.5).decrypt(), x - 0.5)
    agree((v * y).decrypt(), (tv * y.tolist()).decrypt(), x * y)
    agree(v.sum().decrypt(), tv.sum().decrypt(), [x.sum()], atol=1e-3)
    agree((v + 1.0).sum().decrypt(), (tv + 1.0).sum().decrypt(), [x.sum() + 10000], atol=1e-3)
    agree(v.dot(w).decrypt(), tv.dot(tw).decrypt(), [x @ y], atol=1e-3)
    agree(v.dot(y.tolist()).decrypt(), tv.dot(y.tolist()).decrypt(), [x @ y], atol=1e-3)
    agree(v.polyval([0.5, 1.0, 0.25]).decrypt(), tv.polyval([0.5, 1.0, 0.25]).decrypt(), 0.5 + x + 0.25 * x * x)
    agree((v ** 2).decrypt(), (tv ** 2).decrypt(), x * x)
    with pytest.raises(ValueError):
        tv.matmul(np.ones((10000, 3)).tolist())  # TenSEAL refuses chunked matmul; we add the chunks' products
    m = np.random.default_rng(3).uniform(-1, 1, (10000, 3))
    agree(v.matmul(m).decrypt(), x @ m, atol=1e-3)
    with pytest.raises(InputError, match="ciphertexts"):
        v.rotate(1)
    with pytest.raises(InputError, match="ciphertexts"):
        v.enc_matmul_plain([1.0, 2.0], 5000)


def test_size_one_broadcasts_and_mismatches_raise(pair):
    ours, theirs = pair
    x = [1.0, 2.0, 3.0]
    v, tv = ours.encrypt(x), ts.ckks_vector(theirs, x)
    ten, tten = ours.encrypt([10.0]), ts.ckks_vector(theirs, [10.0])
    for operation in (lambda a, b: a + b, lambda a, b: b + a, lambda a, b: a - b, lambda a, b: b - a,
                      lambda a, b: a * b, lambda a, b: a.dot(b)):
        agree(operation(v, ten).decrypt(), operation(tv, tten).decrypt())
    agree((v + v.sum()).decrypt(), (tv + tv.sum()).decrypt())
    for operation in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b):
        with pytest.raises(ValueError, match="different sizes"):
            operation(tv, ts.ckks_vector(theirs, [1.0, 2.0]))
        with pytest.raises(InputError, match="different sizes"):
            operation(v, ours.encrypt([1.0, 2.0]))
        with pytest.raises(ValueError, match="different sizes"):
            operation(tv, [1.0, 2.0])
        with pytest.raises(InputError, match="sizes must be equal"):
            operation(v, [1.0, 2.0])


def test_pow_zero_and_deepcopy(pair):
    ours, theirs = pair
    x = [1.0, -2.0, 3.0]
    v, tv = ours.encrypt(x), ts.ckks_vector(theirs, x)
    agree((v ** 0).decrypt(), (tv ** 0).decrypt(), [1.0, 1.0, 1.0])
    agree(v.pow(1).decrypt(), tv.pow(1).decrypt(), x)
    clone, tclone = copy.deepcopy(v), copy.deepcopy(tv)
    assert clone.context is v.context and clone.ciphertext is not v.ciphertext
    clone.add_(1.0)
    tclone.add_(1.0)
    agree(clone.decrypt(), tclone.decrypt(), [2.0, -1.0, 4.0])
    agree(v.decrypt(), tv.decrypt(), x)  # the original is untouched


def test_method_names_and_in_place_forms(pair):
    ours, theirs = pair
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-1, 1, 16), rng.uniform(-1, 1, 16)
    m = rng.uniform(-1, 1, (16, 4))
    calls = [
        ("add", (y.tolist(),)), ("sub", (y.tolist(),)), ("mul", (y.tolist(),)), ("neg", ()),
        ("square", ()), ("pow", (3,)), ("polyval", ([0.1, 0.2, 0.3],)), ("sum", ()), ("dot", (y.tolist(),)),
        ("matmul", (m.tolist(),)), ("mm", (m.tolist(),)),
    ]
    for name, args in calls:
        mine = getattr(ours.encrypt(x), name)(*args)
        agree(mine.decrypt(), getattr(ts.ckks_vector(theirs, x), name)(*args).decrypt())
        if name == "neg" or hasattr(ts.CKKSVector, name + "_"):
            v, tv = ours.encrypt(x), ts.ckks_vector(theirs, x)
            assert getattr(v, name + "_")(*args) is v
            getattr(tv, name + "_")(*args)
            agree(v.decrypt(), tv.decrypt())
            assert v.size() == tv.size()
    v, tv = ours.encrypt(x), ts.ckks_vector(theirs, x)
    v.add_(ours.encrypt(y)).mul_(ours.encrypt(y)).sub_(0.5).square_()
    tv.add_(ts.ckks_vector(theirs, y)).mul_(ts.ckks_vector(theirs, y)).sub_(0.5).square_()
    agree(v.decrypt(), tv.decrypt(), ((x + y) * y - 0.5) ** 2)


def test_pack_vectors(pair):
    ours, theirs = pair
    parts = [np.random.default_rng(i).uniform(-1, 1, 5) for i in range(3)]
    packed = ckks.CKKSVector.pack_vectors([ours.encrypt(p) for p in parts])
    tpacked = ts.CKKSVector.pack_vectors([ts.ckks_vector(theirs, p) for p in parts])
    assert packed.size == tpacked.size() == 15 and packed.zero_tail
    agree(packed.decrypt(), tpacked.decrypt(), np.concatenate(parts))
    agree(packed.sum().decrypt(), tpacked.sum().decrypt(), [np.concatenate(parts).sum()])
    shifted = ours.encrypt(parts[0]).rotate(-1).rotate(1)  # same values, tail not known to be zero: masked
    agree(ckks.CKKSVector.pack_vectors([shifted, ours.encrypt(parts[1])]).decrypt(), np.concatenate(parts[:2]))
    with pytest.raises(ValueError, match="sizes"):
        ts.CKKSVector.pack_vectors([ts.ckks_vector(theirs, [1.0, 2.0]), ts.ckks_vector(theirs, [1.0])])
    with pytest.raises(InputError, match="one size"):
        ckks.CKKSVector.pack_vectors([ours.encrypt([1.0, 2.0]), ours.encrypt([1.0])])


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (3, 5), (5, 3), (3, 4)])
def test_enc_matmul_encoding_and_plain(pair, shape):
    """Every (len(x), row_size) that TenSEAL accepts gives TenSEAL's result; the others raise in both."""
    ours, theirs = pair
    matrix = np.random.default_rng(shape[0] * 10 + shape[1]).uniform(-1, 1, shape)
    encoded, tencoded = ckks.enc_matmul_encoding(ours, matrix), ts.enc_matmul_encoding(theirs, matrix.tolist())
    assert encoded.size == tencoded.size()
    agree(encoded.decrypt(), tencoded.decrypt())
    agree(encoded.enc_matmul_plain(np.ones(shape[1]), shape[0]).decrypt(), matrix @ np.ones(shape[1]))
    for length in range(1, 9):
        x = np.random.default_rng(length).uniform(-1, 1, length)
        for rows in range(1, 9):
            try:
                expected = tencoded.enc_matmul_plain(x.tolist(), rows).decrypt()
            except ValueError:
                with pytest.raises(InputError, match="doesn't match"):
                    encoded.enc_matmul_plain(x, rows)
                continue
            result = encoded.enc_matmul_plain(x, rows)
            assert result.size == rows
            agree(result.decrypt(), expected)


@pytest.mark.parametrize("kernel_shape, stride", [((3, 3), 1), ((2, 2), 2), ((2, 3), 1), ((3, 2), 2)])
def test_im2col_encoding_and_conv2d(pair, kernel_shape, stride):
    """Same vector, same windows_nb and same convolution as TenSEAL, non-square kernels included."""
    ours, theirs = pair
    rng = np.random.default_rng(kernel_shape[0] * 7 + stride)
    image = rng.uniform(-1, 1, (7, 6))
    kernel = rng.uniform(-1, 1, kernel_shape)
    encoded, windows = ckks.im2col_encoding(ours, image, *kernel_shape, stride)
    tencoded, twindows = ts.im2col_encoding(theirs, image.tolist(), *kernel_shape, stride)
    assert windows == twindows and encoded.size == tencoded.size()
    agree(encoded.decrypt(), tencoded.decrypt())
    conv, tconv = encoded.conv2d_im2col(kernel, windows), tencoded.conv2d_im2col(kernel.tolist(), windows)
    agree(conv.decrypt(), tconv.decrypt())
    if kernel_shape[0] == kernel_shape[1]:  # the textbook cross-correlation (TenSEAL swaps R and C otherwise)
        k = kernel_shape[0]
        out = (np.array(image.shape) - k) // stride + 1
        expected = [np.sum(image[i * stride : i * stride + k, j * stride : j * stride + k] * kernel)
                    for i in range(out[0]) for j in range(out[1])]
        agree(conv.decrypt(), expected)
    encoded.conv2d_im2col_(kernel, windows)
    agree(encoded.decrypt(), tconv.decrypt())


def test_link_context_shape_size_scale(pair):
    ours, theirs = pair
    public = ours.public_copy()
    v = ckks.CKKSVector.load(public, ours.encrypt([1.0, 2.0]).serialize())
    v.link_context(ours)
    agree(v.decrypt(), [1.0, 2.0])
    tv = ts.ckks_vector(theirs, [1.0, 2.0])
    assert v.shape == tv.shape and v.size() == tv.size() == len(v)
    assert v.scale() == v.scale == theirs.global_scale  # TenSEAL 0.3.18's own tv.scale() raises AttributeError
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        stranger = ckks.Context(8192, [60, 40, 40, 60], 40, seed=SEED + 1)
    with pytest.raises(ckks.errors.ContextMismatchError):
        v.link_context(stranger)
    assert ckks.ckks_vector(ours, [1.0, 2.0]).size == 2
