"""Issue 27: encrypted inference spread over dask.distributed (``em.run(..., client=)``, ``encrypted.run_batches``).

Every spread run is compared with the local ``em.run`` on the same ciphertexts; the workers get the
public context and the plan only.  In-process clusters keep the tests quick; one test uses worker
processes, where nothing is shared with the client but what is sent.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import ckks
import ckks.distributed
import nn
from ckks.distributed import PublicContext
from ckks.errors import ContextMismatchError, InputTypeError, InsecureWarning
from nn import encrypted

distributed = pytest.importorskip("distributed")

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


def _cluster(processes: bool):
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0", silence_logs=50
    )


@pytest.fixture(scope="module")
def client():
    with _cluster(False) as cluster, distributed.Client(cluster, timeout=60) as c:
        c.wait_for_workers(2, timeout=60)
        yield c


def _compiled(model, digits, layout, n, **options):
    em = encrypted.compile(model, (1, 8, 8), n, layout=layout, calibration=digits.x_train, **TOY, **options)
    ctx = em.keygen()
    return em, ctx, ctx.public_copy()


@pytest.fixture(scope="module")
def sample(digits, shipped_mlp):
    """The shipped MLP compiled for the one-image layout (up to 5 images), its keys and 5 encrypted images."""
    em, ctx, server = _compiled(shipped_mlp, digits, "sample", 5)
    enc = em.encrypt(ctx, digits.x_test[:5])
    return em, ctx, server, enc, em.decrypt(ctx, em.run(server, enc))


def _scattered(client, monkeypatch) -> list:
    """Record everything the client scatters."""
    sent = []
    scatter = client.scatter

    def recording(data, *args, **kwargs):
        sent.append(data)
        return scatter(data, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", recording)
    return sent


def _secret_bytes(ctx) -> list[bytes]:
    return [ctx.secret_key.coefficients.tobytes(), ctx.secret_key.ntt.tobytes()]


@pytest.mark.parametrize("layout, n", [("sample", 5), ("batch", 7), ("batch", 1030)])
def test_spread_run_equals_local_run(client, digits, shipped_mlp, sample, assert_close, monkeypatch, layout, n):
    """Images in chunks (sample), ciphertext chunks stage by stage (one group), groups of N/2 images (two)."""
    x = np.concatenate([digits.x_test, digits.x_train])[:n]
    if layout == "sample":
        em, ctx, server, enc, local = sample
    else:
        em, ctx, server = _compiled(shipped_mlp, digits, layout, n)
        enc = em.encrypt(ctx, x)
        local = em.decrypt(ctx, em.run(server, enc))
    sent = _scattered(client, monkeypatch)
    steps = []
    out = em.run(server, enc, client=client, progress=lambda done, total: steps.append((done, total)))
    assert out.count == n and out.kind == "output"
    spread = em.decrypt(ctx, out)
    assert_close(spread, local, 2e-3)  # the same stages on the same ciphertexts (decryption floods: not bit-equal)
    assert_close(spread, shipped_mlp.predict(x), 5e-2)
    assert steps and steps[-1][0] == steps[-1][1]
    # what went to the workers (the plan and the public context's bytes unless an earlier test sent them,
    # input chunks): never the secret key
    for s in sent:
        blob = pickle.dumps(s)
        assert not any(secret in blob for secret in _secret_bytes(ctx))


def test_softargmax_stage_runs_as_one_task(client, digits, assert_close):
    model = nn.Sequential([nn.Flatten(), nn.Linear(64, 8, init="xavier", rng=1), nn.Square(),
                           nn.Linear(8, 3, init="xavier", rng=2), nn.SoftArgmax(2.0)])
    em, ctx, server = _compiled(model, digits, "batch", 4, precision_bits=20)
    enc = em.encrypt(ctx, digits.x_test[:4])
    local = em.run(server, enc)
    spread = em.run(server, enc, client=client)
    assert_close(em.decrypt(ctx, spread), em.decrypt(ctx, local), 2e-3)
    assert_close(em.decrypt_soft_argmax(ctx, spread), em.decrypt_soft_argmax(ctx, local), 2e-3)


def test_run_batches_sends_the_plan_once_and_equals_local_runs(client, digits, shipped_mlp, assert_close,
                                                              monkeypatch):
    em, ctx, server = _compiled(shipped_mlp, digits, "sample", 2)
    batches = [em.encrypt(ctx, digits.x_test[i : i + 2]) for i in (0, 2, 4)]
    local = encrypted.run_batches(em, server, batches)
    sent = _scattered(client, monkeypatch)
    seen = []
    spread = encrypted.run_batches(em, server, batches, client=client, progress=lambda d, t: seen.append(d))
    assert len(sent) == 2 and sent[0] is em and isinstance(sent[1], PublicContext)  # the plan and the context
    assert sorted(seen) == [1, 2, 3]
    encrypted.run_batches(em, server, batches[:1], client=client)
    em.run(server, batches[0], client=client)
    assert len(sent) == 2  # ... sent once: later calls with this client reuse them
    for a, b, enc in zip(spread, local, batches):
        assert a.count == enc.count
        assert_close(em.decrypt(ctx, a), em.decrypt(ctx, b), 2e-3)
    assert encrypted.run_batches(em, server, [], client=client) == []


def test_distributed_errors_are_clear(client, digits, shipped_mlp, sample):
    em, ctx, server, enc, _ = sample
    before = [v.ciphertext.data.copy() for v in enc.vectors]
    with pytest.raises(InputTypeError, match="dask.distributed.Client"):
        em.run(server, enc, client="tcp://127.0.0.1:8786")
    with pytest.raises(InputTypeError, match="EncryptedBatch"):
        encrypted.run_batches(em, server, [enc, digits.x_test[:2]], client=client)
    other, other_ctx, _ = _compiled(shipped_mlp, digits, "sample", 5)
    foreign = other.encrypt(other_ctx, digits.x_test[:2])
    with pytest.raises(ContextMismatchError, match="another key"):
        em.run(server, foreign, client=client)  # checked here, before anything is sent
    with pytest.raises(ContextMismatchError):
        encrypted.run_batches(em, server, [enc, foreign], client=client)  # checked on the worker, raised here
    assert all(np.array_equal(v.ciphertext.data, d) for v, d in zip(enc.vectors, before))  # inputs untouched


def test_worker_processes_get_public_material_only(sample, assert_close):
    """Worker processes: the plan and the context arrive pickled, the context as its public bytes only.

    Bootstrapping many ciphertexts (``ckks.distributed.bootstrap``) runs on the same cluster: a worker
    process has no bootstrapper of its own, so this shows that the public bytes carry its keys.
    """
    em, ctx, server, enc, local = sample
    boot = _bootstrapping_context()
    rng = np.random.default_rng(3)
    values = [rng.uniform(-1, 1, boot.bootstrapper.config.slots) for _ in range(2)]  # sparse packing: 16 slots
    low = [_at_level_zero(boot, v) for v in values]
    with _cluster(True) as cluster, distributed.Client(cluster, timeout=120) as c:
        c.wait_for_workers(2, timeout=120)
        spread = em.decrypt(ctx, em.run(ctx, enc, client=c))  # even given the private context, only public bytes go
        refreshed = ckks.distributed.bootstrap(c, low)
        public = c.scatter(PublicContext(ctx), broadcast=True, hash=False)
        workers = list(c.scheduler_info()["workers"])
        private = c.gather([c.submit(lambda p: (p.get().is_private, p.get().secret_key is None), public,
                                     workers=[w], pure=False) for w in workers])
    assert_close(spread, local, 2e-3)
    assert private == [(False, True)] * 2
    for v, r in zip(values, refreshed):
        assert r.level == boot.bootstrapper.config.compute_levels and r.level > 0
        assert_close(boot.decrypt(r)[: len(v)], v, 1e-4)


def _bootstrapping_context():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        boot = ckks.Context.for_bootstrapping("teaching", poly_degree=1024, slots=16, cts_levels=1, stc_levels=1)
    boot.generate_bootstrapping_keys(progress=False)
    return boot


def _at_level_zero(ctx, values):
    v = ctx.encrypt(values)
    return ckks.CKKSVector(ctx, ctx.evaluator.mod_switch_to(v.ciphertext, 0), v.size, zero_tail=True)
