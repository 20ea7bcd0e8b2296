"""The SHAKE-256 PRNG and the samplers."""

from __future__ import annotations

import numpy as np
import pytest

from ckks.errors import InputError, InsecureWarning
from ckks.ring.sampling import PRNG, gaussian_table, make_prng


def test_same_seed_same_stream_different_seed_different_stream():
    a, b, c = PRNG(b"x" * 32), PRNG(b"x" * 32), PRNG(b"y" * 32)
    assert (a.words(100) == b.words(100)).all()
    assert not (PRNG(b"x" * 32).words(100) == c.words(100)).all()


def test_os_seeds_differ():
    assert PRNG().seed != PRNG().seed


def test_uniform_mod_range_and_mean():
    q = (1 << 60) - 93
    x = PRNG(b"u").uniform_mod(q, 200_000)
    assert x.max() < q
    assert abs(x.astype(float).mean() / q - 0.5) < 0.01


def test_ternary_distribution():
    x = PRNG(b"t").ternary(90_000)
    values, counts = np.unique(x, return_counts=True)
    assert values.tolist() == [-1, 0, 1]
    assert np.all(np.abs(counts / x.size - 1 / 3) < 0.01)


def test_sparse_ternary_has_exact_weight():
    x = PRNG(b"s").sparse_ternary(1024, 64)
    assert np.count_nonzero(x) == 64 and set(np.unique(x)) <= {-1, 0, 1}
    with pytest.raises(InputError, match="hamming_weight"):
        PRNG(b"s").sparse_ternary(16, 17)


def test_gaussian_is_cut_and_has_the_right_spread():
    x = PRNG(b"g").gaussian(200_000, 3.2)
    assert np.abs(x).max() <= 19
    assert abs(x.std() - 3.2) < 0.05
    assert abs(x.mean()) < 0.05
    values, cdf = gaussian_table(3.2)
    assert values[0] == -19 and values[-1] == 19 and np.all(np.diff(cdf) > 0)


def test_user_seed_warns_and_is_reproducible():
    with pytest.warns(InsecureWarning, match="INSECURE"):
        a = make_prng(42)
    with pytest.warns(InsecureWarning):
        b = make_prng(42)
    assert (a.words(10) == b.words(10)).all()


def test_bad_seed():
    with pytest.raises(InputError, match="seed"):
        PRNG(b"")
