"""Issue 27: ``ckks.distributed``, many independent computations on dask with public material only.

An in-process cluster of one worker with two threads: quick, and the two threads exercise the lock that
keeps numba's workqueue threading layer from being entered twice.  Bootstrapping across worker
processes is tested in tests/nn/encrypted/test_distributed.py (one process cluster for both).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ckks.context import Context
from ckks.distributed import PublicContext, bootstrap, map_vectors, scatter_public, split
from ckks.errors import ContextMismatchError, InputError, InputTypeError, KeyMissingError

distributed = pytest.importorskip("distributed")

pytestmark = [
    pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0", silence_logs=50
    ) as cluster, distributed.Client(cluster, timeout=60) as c:
        c.wait_for_workers(1, timeout=60)
        yield c


@pytest.fixture(scope="module")
def ctx(toy):
    return toy(64, (50, 30, 30, 50), 30)


def square_plus(v, c):
    """The computation the workers run: v * v + c."""
    return v * v + c


def test_map_vectors_equals_the_local_map(client, ctx):
    rng = np.random.default_rng(1)
    xs = [rng.uniform(-1, 1, 8) for _ in range(5)]
    vectors = [ctx.encrypt(x) for x in xs]
    seen = []
    out = map_vectors(client, square_plus, vectors, 0.25, chunks=3, progress=lambda d, t: seen.append((d, t)))
    assert sorted(seen) == [(1, 3), (2, 3), (3, 3)]
    assert all(o.context is ctx for o in out)  # bound to the caller's (private) context: decrypt directly
    for x, o, v in zip(xs, out, vectors):
        local = square_plus(v, 0.25)
        assert o.level == local.level
        np.testing.assert_allclose(ctx.decrypt(o), x * x + 0.25, atol=1e-4)
        np.testing.assert_allclose(ctx.decrypt(o), ctx.decrypt(local), atol=1e-4)


def test_public_context_carries_no_secret_key(ctx):
    sent = PublicContext(ctx)  # even from the private context
    blob = pickle.dumps(sent)
    assert ctx.secret_key.coefficients.tobytes() not in blob and ctx.secret_key.ntt.tobytes() not in blob
    arrived = pickle.loads(blob).get()
    assert not arrived.is_private and arrived.secret_key is None and arrived.key_id == ctx.key_id
    with pytest.raises(KeyMissingError):
        arrived.decrypt(arrived.encrypt([1.0]))
    with pytest.raises(InputTypeError, match="ckks.Context"):
        PublicContext(blob)


def test_split_keeps_order_and_balance():
    assert split(range(7), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split(range(2), 5) == [[0], [1]]
    assert split([], 3) == []


def test_errors_are_clear_and_inputs_untouched(client, ctx, toy):
    v = ctx.encrypt([1.0, 2.0])
    data = v.ciphertext.data.copy()
    with pytest.raises(InputTypeError, match="dask.distributed.Client"):
        map_vectors("scheduler:8786", square_plus, [v], 1.0)
    with pytest.raises(InputTypeError, match="dask.distributed.Client"):
        scatter_public(None, ctx)
    with pytest.raises(InputError, match="at least one vector"):
        map_vectors(client, square_plus, [], 1.0)
    with pytest.raises(InputTypeError, match="CKKSVectors"):
        map_vectors(client, square_plus, [v, [1.0]], 1.0)
    other = toy(64, (50, 30, 30, 50), 30)
    with pytest.raises(ContextMismatchError, match="one context"):
        map_vectors(client, square_plus, [v, other.encrypt([1.0])], 1.0)
    with pytest.raises(KeyMissingError, match="for_bootstrapping"):  # raised on the worker, re-raised here
        bootstrap(client, [v])
    assert np.array_equal(v.ciphertext.data, data)
    assert isinstance(Context.load(PublicContext(ctx).blob), Context)
