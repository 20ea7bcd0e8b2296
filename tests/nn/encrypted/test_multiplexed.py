"""Multiplexed convolution packing (nn.encrypted.multiplexed): slot simulation against numpy, encrypted runs,
the CIFAR-shaped network's compile memory, the cost model and the bad inputs."""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import pytest

import nn
from nn import encrypted
from nn.encrypted import multiplexed as mx
from nn.errors import ConfigError, ResourceLimitError, ShapeError

TOY = {"security": None, "flooding": False}


def _conv_model(c, f, k, stride, padding, pool=False, seed=0):
    rng = np.random.default_rng(seed)
    conv = nn.Conv2d(c, f, k, stride=stride, padding=padding, rng=rng)
    conv.params["bias"][:] = rng.normal(size=f)
    return nn.Sequential(([nn.AvgPool2d(2)] if pool else []) + [conv, nn.Square(), nn.Flatten()])


def _simulate_stages(stages, x, slots):
    """The plan's slot transforms applied to plaintext slot vectors (what the ciphertexts compute, without noise)."""
    v = np.zeros((x.shape[0], slots))
    flat = x.reshape(x.shape[0], -1)
    v[:, : flat.shape[1]] = flat
    for st in stages:
        if isinstance(st, (mx.ConvStage, mx.PoolStage, mx.PackedAffineStage)):
            t = st.slot_transform(slots)
            v = mx.simulate(t, v)
            if isinstance(st, mx.ConvStage):
                v = v + st.bias_slots(slots)
            elif isinstance(st, mx.PackedAffineStage):  # the outputs in the first m slots (the dense tail reads them)
                v = v[:, : st.matrix.shape[1]] + st.bias
        else:
            v = st.forward(v)
    return v


@pytest.mark.parametrize("c, f, k, stride, padding, size, pool", [
    (1, 1, 3, 1, 1, 10, False),
    (3, 4, 3, 2, 1, 12, False),
    (2, 16, 7, 1, 3, 10, False),
    (5, 6, 2, 2, 0, 9, False),
    (4, 8, 5, 1, 2, 8, True),   # input with gap 2 (after a pooling by rotations)
    (3, 6, 3, 2, 1, 16, True),  # gap 2, stride 2: gap 4, channels multiplexed into the gaps
    (64, 64, 3, 1, 1, 4, False),
])
def test_packed_convolution_equals_numpy(c, f, k, stride, padding, size, pool):
    model = _conv_model(c, f, k, stride, padding, pool)
    stages = mx.build_stages(model, (c, size, size))
    conv = next(st for st in stages if isinstance(st, mx.ConvStage))
    slots = conv.width
    x = np.random.default_rng(1).normal(size=(2, c, size, size))
    # the convolution alone: slot simulation of its diagonals against the direct sum
    inp = x
    v = conv.in_layout.pack(x, slots) if not pool else stages[0].forward(x.reshape(2, -1))
    if pool:
        inp = nn.AvgPool2d(2).forward(x)
    got = mx.simulate(conv.slot_transform(slots), v) + conv.bias_slots(slots)
    layer = model.layers[-3]
    want = mx.reference_conv(inp, layer.params["weight"], layer.params["bias"], stride, padding)
    np.testing.assert_allclose(conv.out_layout.unpack(got), want, atol=1e-9)
    outside = np.setdiff1d(np.arange(slots), conv.out_layout.positions().ravel())
    assert np.all(got[:, outside] == 0)  # slots outside the output layout are exactly zero
    assert conv.out_layout.fits()
    # the whole packed plan (the head unpacks the layout through permuted weights)
    np.testing.assert_allclose(_simulate_stages(stages, x, slots)[:, : want[0].size], model.forward(x), atol=1e-9)
    rot, pt = conv.counts(slots)  # O(kernel area x channel-base differences), whatever the image size
    blocks = {a - b for a in conv.in_layout.bases for b in conv.out_layout.bases}
    assert pt <= len(blocks) * k * k and rot <= 2 * np.sqrt(pt) + 2 * k


def test_layout_diagram_and_multiplexing():
    lay = mx.Layout.image(8, 4, 4).strided(2, 8, 2, 2, "multiplexed")
    assert lay.gap == 2 and lay.fits() and lay.span <= 2 * 16
    assert lay.bases[:4] == (0, 1, 4, 5)  # 4 channels share a block: (0,0), (0,1), (1,0), (1,1) of the gap
    text = lay.diagram()
    assert text.splitlines()[0].split()[:2] == ["c0(0,0)", "c1(0,0)"]
    x = np.arange(32.0).reshape(1, 8, 2, 2)
    np.testing.assert_array_equal(lay.unpack(lay.pack(x, 64)), x)


def test_plan_with_quadratic_folding_and_pools():
    """Quadratics folded across a pooling into the next convolution (position-dependent bias with padding)."""
    rng = np.random.default_rng(3)
    model = nn.Sequential([nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.QuadraticActivation(0.3, 0.5, 0.1),
                           nn.AvgPool2d(2), nn.Conv2d(4, 6, 3, padding=1, stride=2, rng=rng),
                           nn.QuadraticActivation(-0.2, 0.0, 0.4), nn.AvgPool2d(2), nn.Flatten(),
                           nn.Linear(24, 5, rng=rng), nn.Square(), nn.Linear(5, 3, rng=rng)])
    stages = mx.build_stages(model, (2, 16, 16))
    assert [type(st).__name__ for st in stages][:5] == ["ConvStage", "PolyStage", "PoolStage", "ConvStage",
                                                         "PolyStage"]
    assert [st.mode for st in stages if isinstance(st, nn.encrypted.plan.PolyStage)] == ["monic2", "square", "square"]
    x = rng.uniform(0, 1, size=(3, 2, 16, 16))
    np.testing.assert_allclose(_simulate_stages(stages, x, stages[0].width)[:, :3], model.forward(x), atol=1e-9)


def test_small_convolution_output_becomes_the_linear_head():
    """A last convolution as large as its image (LeNet's) is a Linear: it joins the head, the rest is dense."""
    rng = np.random.default_rng(5)
    model = nn.Sequential([nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.Square(), nn.AvgPool2d(2),
                           nn.Conv2d(4, 8, 4, rng=rng), nn.Square(), nn.Flatten(), nn.Linear(8, 3, rng=rng)])
    stages = mx.build_stages(model, (1, 8, 8))
    kinds = [type(st).__name__ for st in stages]
    assert kinds == ["ConvStage", "PolyStage", "PackedAffineStage", "PolyStage", "AffineStage"]
    assert stages[2].layers == ["2:AvgPool2d", "3:Conv2d"]  # the pooling folded in too
    x = rng.uniform(0, 1, size=(3, 1, 8, 8))
    np.testing.assert_allclose(_simulate_stages(stages, x, stages[0].width)[:, :3], model.forward(x), atol=1e-9)


def test_encrypted_small_ring_matches_plaintext():
    rng = np.random.default_rng(1)
    model = nn.Sequential([nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.QuadraticActivation(0.3, 0.5, 0.1),
                           nn.AvgPool2d(2), nn.Conv2d(4, 6, 3, padding=1, stride=2, rng=rng), nn.Square(),
                           nn.Flatten(), nn.Linear(96, 5, rng=rng)])
    x = rng.uniform(0, 1, (2, 2, 16, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(model, (2, 16, 16), 2, conv_packing="multiplexed", poly_degree=4096, **TOY)
        ctx = em.keygen(seed=1)
        got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x)))
    assert [st.kind for st in em.stages] == ["conv", "poly", "pool", "conv", "poly", "affine"]
    assert em.depth == 5
    want = model.forward(x)
    assert np.max(np.abs(got - want)) < 1e-2 * max(1.0, np.max(np.abs(want)))
    assert np.array_equal(got.argmax(1), want.argmax(1))
    summary = em.summary()
    assert "convolutions: multiplexed" in summary and "vs dense:" in summary and "affine/mux" in summary


@pytest.mark.parametrize("mode", ["clean", "masked", "replicated"])
def test_encrypted_linear_head_modes(mode, monkeypatch):
    """The head's three evaluations: zeros beyond the outputs (clean, masked: +1 level) or outputs repeated."""
    if mode == "masked":
        monkeypatch.setattr(mx, "CLEAN_HEAD_BYTES", 0)
    rng = np.random.default_rng(6)
    model = nn.Sequential([nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.Square(), nn.AvgPool2d(2), nn.Flatten(),
                           nn.Linear(64, 5, rng=rng)])
    x = rng.uniform(0, 1, (1, 1, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(model, (1, 8, 8), conv_packing="multiplexed", poly_degree=1024, security=None,
                               flooding=mode != "replicated", precision_bits=10)
        head = em.stages[-1]
        assert head.mode == mode and em.depth == (4 if mode == "masked" else 3)
        ctx = em.keygen(seed=4)
        out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
        slots = ctx.decrypt(out.vectors[0])
    want = model.forward(x)[0]
    tol = 1e-2 * max(1.0, np.max(np.abs(want)))
    assert np.max(np.abs(slots[:5] - want)) < tol
    if mode == "replicated":  # slot t holds y[t mod 8] (0 for t mod 8 >= 5)
        assert np.max(np.abs(slots - np.tile(np.r_[want, 0, 0, 0], slots.size // 8))) < tol
    else:
        assert np.max(np.abs(slots[5:])) < tol


def test_encrypted_stride_two_first_convolution():
    rng = np.random.default_rng(2)
    model = nn.Sequential([nn.Conv2d(1, 4, 5, stride=2, padding=2, rng=rng), nn.Square(), nn.Flatten(),
                           nn.Linear(64, 3, rng=rng)])
    x = rng.uniform(0, 1, (1, 1, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(model, (1, 8, 8), conv_packing="multiplexed", poly_degree=512, **TOY)
        ctx = em.keygen(seed=2)
        got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x)))
    want = model.forward(x)
    assert np.max(np.abs(got - want)) < 1e-2 * max(1.0, np.max(np.abs(want)))


def _cifar(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential([
        nn.Conv2d(3, 16, 3, padding=1, init="xavier", rng=rng), nn.Square(), nn.AvgPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1, init="xavier", rng=rng), nn.Square(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(1024, 10, init="xavier", rng=rng)])


def test_cifar_shaped_network_compiles_under_two_gigabytes():
    model = _cifar()
    cal = np.random.default_rng(1).uniform(0, 1, (32, 3, 32, 32))
    tracemalloc.start()
    t0 = time.perf_counter()
    em = encrypted.compile(model, (3, 32, 32), calibration=cal)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * 2**30, f"compile peak {peak / 2**30:.2f} GiB ({seconds:.0f} s)"
    decision = em.info["conv_packing"]
    assert decision.packing == "multiplexed" and decision.multiplexed_bytes < 2**30 < 2 * 2**30 < decision.dense_bytes
    assert em.params.security == 128
    # one level per convolution, per square and for the head (+1: its outputs are masked for the flooded decryption)
    assert [st.levels for st in em.stages] == [1, 1, 0, 1, 1, 2] and em.depth == 6
    x = np.random.default_rng(2).uniform(0, 1, (4, 3, 32, 32))
    plain = em.plan_forward(x)
    np.testing.assert_allclose(plain, model.forward(x), atol=1e-8)
    # with memory_limit=2 GiB, auto takes the multiplexed plan; forcing the dense transform is refused before
    # anything is built
    with pytest.raises(ResourceLimitError, match="dense convolutions"):
        encrypted.compile(model, (3, 32, 32), calibration=cal, memory_limit=2 * 2**30, conv_packing="dense")
    # the plan fits 1 GiB, but not its encoded diagonals and Galois keys at N = 2^15: refused before keygen
    runtime = mx.runtime_bytes(em.stages, em.params)
    assert 2**30 < runtime < 4 * 2**30
    with pytest.raises(ResourceLimitError, match="Galois keys"):
        encrypted.compile(model, (3, 32, 32), calibration=cal[:4], memory_limit=2**30)


def test_auto_chooses_by_cost_and_packings_agree():
    rng = np.random.default_rng(4)
    model = nn.Sequential([nn.Conv2d(3, 8, 3, padding=1, rng=rng), nn.Square(), nn.AvgPool2d(2),
                           nn.Conv2d(8, 8, 3, padding=1, rng=rng), nn.Square(), nn.AvgPool2d(2), nn.Flatten(),
                           nn.Linear(8 * 16, 10, rng=rng)])
    x = rng.uniform(0, 1, (3, 3, 16, 16))
    ems = {p: encrypted.compile(model, (3, 16, 16), layout="sample", conv_packing=p, first_conv="server",
                                   poly_degree=4096, **TOY)
           for p in ("auto", "dense", "multiplexed")}
    decision = ems["auto"].info["conv_packing"]
    assert decision.multiplexed_cost < decision.dense_cost and decision.packing == "multiplexed"
    for em in ems.values():
        np.testing.assert_allclose(em.plan_forward(x), model.forward(x), atol=1e-8)
    rot = {p: sum(c["rotations"] for c in em._layout.costs()) for p, em in ems.items()}
    assert rot["multiplexed"] < rot["dense"]
    assert "convolutions: dense" in ems["dense"].summary()


def test_bad_inputs_are_refused_and_nothing_changes():
    model = _cifar()
    before = [v.copy() for _, v, _ in model.parameters()]
    with pytest.raises(ResourceLimitError, match="memory_limit"):
        encrypted.compile(model, (3, 32, 32), memory_limit=50 * 2**20)
    with pytest.raises(ShapeError):  # wrong channel count
        encrypted.compile(model, (1, 32, 32), conv_packing="multiplexed")
    with pytest.raises(ShapeError):  # wrong image size: the Linear no longer fits
        encrypted.compile(model, (3, 28, 28), conv_packing="multiplexed")
    with pytest.raises(ConfigError, match="conv_packing"):
        encrypted.compile(model, (3, 32, 32), conv_packing="sparse")
    with pytest.raises(ConfigError, match="batch layout"):
        encrypted.compile(model, (3, 32, 32), layout="batch", conv_packing="multiplexed")
    mlp = nn.Sequential([nn.Flatten(), nn.Linear(16, 2, rng=0)])
    with pytest.raises(ConfigError, match="starts with Conv2d"):
        encrypted.compile(mlp, (1, 4, 4), conv_packing="multiplexed", **TOY)
    big_kernel = nn.Sequential([nn.Conv2d(1, 2, 7, rng=0), nn.Flatten()])
    with pytest.raises(ShapeError):
        encrypted.compile(big_kernel, (1, 4, 4), conv_packing="multiplexed", **TOY)
    for (_, v, _), old in zip(model.parameters(), before):
        np.testing.assert_array_equal(v, old)
    # a compiled multiplexed model refuses images of the wrong size or channel count
    small = _conv_model(2, 3, 3, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = encrypted.compile(small, (2, 8, 8), conv_packing="multiplexed", poly_degree=1024, **TOY)
        ctx = em.keygen(seed=0)
    for bad in (np.zeros((1, 3, 8, 8)), np.zeros((1, 2, 9, 9))):
        with pytest.raises(ShapeError):
            em.encrypt(ctx, bad)
