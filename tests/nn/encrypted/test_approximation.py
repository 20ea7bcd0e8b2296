"""compile(..., approximate=True): ReLU, MaxPool2d and smooth activations by polynomial approximations.

Shallow models on toy insecure rings (N = 2048, ``bootstrap="never"``), low ``approx_bits`` so that the
depth fits without bootstrapping and every test runs in seconds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nn
from nn import encrypted
from nn.encrypted import approximation
from nn.encrypted.approximation import MaxPoolStage, ReLUStage, SmoothStage
from nn.encrypted.ops import Ops
from nn.errors import ConfigError, NotHEFriendlyError, RangeWarning

TOY = {"security": None, "poly_degree": 2048, "bootstrap": "never", "flooding": False}


def _trained(model, x, y, epochs=8):
    nn.fit(model, x, y, epochs=epochs, batch_size=32, optimizer=nn.Adam(model.parameters(), lr=1e-2), seed=0,
           verbose=False)
    return model


@pytest.fixture(scope="module")
def flat_digits(digits):
    return digits.x_train.reshape(len(digits.x_train), -1), digits.y_train, digits.x_test.reshape(
        len(digits.x_test), -1)


@pytest.fixture(scope="module")
def relu_mlp(flat_digits):
    x, y, _ = flat_digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _trained(nn.Sequential([nn.Linear(64, 16, rng=0), nn.ReLU(), nn.Linear(16, 10, rng=1)]), x, y)


def _confident(model, em, x, count):
    """Inputs whose top-2 logit gap is well beyond the approximation error (the argmax is then determined)."""
    exact, plan = model.forward(x), em.plan_forward(x)
    top = np.sort(exact, axis=1)
    gap = top[:, -1] - top[:, -2]
    ok = np.flatnonzero(gap > 4 * np.max(np.abs(exact - plan), axis=1) + 0.05)
    assert ok.size >= count
    return x[ok[:count]]


def _run(em, x, seed=1):
    ctx = em.keygen(seed=seed)
    return em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x))), ctx


@pytest.fixture(scope="module")
def mlp_sample(relu_mlp, flat_digits):
    """The ReLU MLP compiled for the sample layout, and a client context (shared by several tests)."""
    em = encrypted.compile(relu_mlp, (64,), 4, layout="sample", calibration=flat_digits[0][:200], approximate=True,
                           approx_bits=5, **TOY)
    return em, em.keygen(seed=1)


@pytest.mark.parametrize("layout", ["sample", "batch"])
def test_relu_mlp_encrypted_argmax_equals_plaintext(relu_mlp, flat_digits, mlp_sample, layout):
    x_train, _, x_test = flat_digits
    if layout == "sample":
        em, ctx = mlp_sample
    else:
        em = encrypted.compile(relu_mlp, (64,), 4, layout=layout, calibration=x_train[:200], approximate=True,
                               approx_bits=4, **TOY)
        ctx = em.keygen(seed=1)
    relu = [st for st in em.stages if isinstance(st, ReLUStage)]
    assert len(relu) == 1 and relu[0].levels == relu[0].plan.depth + 1 and em.depth == relu[0].levels + 2
    x = _confident(relu_mlp, em, x_test, 4)
    got = em.decrypt(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, x)))
    plan = em.plan_forward(x)
    assert np.max(np.abs(got - plan)) <= em.tolerance  # the plan evaluates the same polynomials
    assert np.array_equal(got.argmax(axis=1), relu_mlp.forward(x).argmax(axis=1))
    text = em.summary()
    assert "1:ReLU: ReLU = x (1 + sign(x)) / 2" in text and f"{relu[0].levels} levels" in text


def test_relu_error_bound_and_protocol():
    stage = ReLUStage(["1:ReLU"], 6, (8,))
    x = np.linspace(-3.0, 2.0, 4001)
    stage.design(x, "sample")
    assert stage.divisor == pytest.approx(approximation.RANGE_MARGIN * 3.0)
    t = x / stage.divisor
    got = stage.forward(t) * stage.divisor  # gain 1: the output is relu(x) / R
    assert np.max(np.abs(got - np.maximum(x, 0.0))) <= stage.error
    assert stage.error > np.max(np.abs(got - np.maximum(x, 0.0))) / 50  # a bound, not a wild overestimate
    segments = stage.segments()
    assert sum(d for _, d in segments) == stage.levels and len(segments) == len(stage.plan.degrees) + 1
    assert segments[-1][1] == 1  # the product is a segment of its own: a bootstrap may precede it
    assert all(0 < stage.cut_bound(k) <= 1.0 for k in range(1, len(segments)))
    with pytest.raises(ConfigError, match="cuts"):
        stage.cut_bound(len(segments))


def test_refresh_is_called_with_everything_carried(mlp_sample, flat_digits):
    """The bootstrap protocol: refresh(cts, k) before every later segment, with x and the partial sign."""
    em, ctx = mlp_sample
    x_test = flat_digits[2]
    enc = em.encrypt(ctx, x_test[:2])
    ops = Ops(ctx)
    calls = []

    def refresh(cts, k):
        calls.append((k, len(cts), [ct.level for ct in cts]))
        return cts

    cts = [v.ciphertext for v in enc.vectors]
    for i in range(len(em.stages)):
        cts = em._layout.run_stage(ops, i, cts, refresh)
    relu = em.stages[1]
    assert [c[0] for c in calls] == list(range(1, len(relu.segments())))
    assert all(n == 2 * 2 for _, n, _ in calls)  # two samples, each x and its partial sign
    from ckks.vector import CKKSVector

    got = em._layout.unpack([ctx.decrypt(CKKSVector(ctx, ct, ctx.slots)) for ct in cts], 2, 10)
    assert np.max(np.abs(got - em.plan_forward(x_test[:2]))) <= em.tolerance


def test_relu_maxpool_cnn_sample_layout(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cnn = _trained(nn.Sequential([nn.Conv2d(1, 1, 3, rng=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                      nn.Linear(9, 10, rng=1)]), digits.x_train, digits.y_train)
    em = encrypted.compile(cnn, (1, 8, 8), 2, layout="sample", calibration=digits.x_train[:200], approximate=True,
                           approx_bits=4, **TOY)
    pool = next(st for st in em.stages if isinstance(st, MaxPoolStage))
    assert pool.rounds == 2 and pool.levels == 2 * (pool.plan.depth + 1)
    assert sorted(pool.rotation_steps()) == [1, 6] and set(pool.rotation_steps()) <= set(em.rotation_steps)
    for st in (em.stages[1], pool):  # everything carried across a cut is bootstrap-safe, the product cut included
        assert max(st.cut_bound(k) for k in range(1, len(st.segments()))) < 1.0
        assert st.segments()[-1][1] == 1 and sum(d for _, d in st.segments()) == st.levels
    x = _confident(cnn, em, digits.x_test, 2)
    got, _ = _run(em, x)
    assert np.max(np.abs(got - em.plan_forward(x))) <= em.tolerance
    assert np.array_equal(got.argmax(axis=1), cnn.forward(x).argmax(axis=1))
    assert "max-pool 2x2/2 by 2 rounds" in em.summary()


def test_maxpool_batch_layout():
    """The batch layout: max-pool on feature ciphertexts (no rotation), compact output (ReLU: the MLP test)."""
    rng = np.random.default_rng(3)
    model = nn.Sequential([nn.Conv2d(1, 1, 1, rng=0), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 3, rng=1)])
    x = rng.uniform(-1.0, 1.0, size=(64, 1, 4, 4))
    em = encrypted.compile(model, (1, 4, 4), 3, layout="batch", calibration=x, approximate=True, approx_bits=4, **TOY)
    pool = em.stages[1]
    assert isinstance(pool, MaxPoolStage) and pool.out_width(16) == 4 and em.rotation_steps == []
    got, _ = _run(em, x[:3])
    plan = em.plan_forward(x[:3])
    assert np.max(np.abs(got - plan)) <= em.tolerance
    # the plan is the model up to the stated error, propagated through the last layer's weights
    w = np.abs(model.layers[-1].params["weight"]).sum(axis=0).max()
    assert np.max(np.abs(plan - model.forward(x[:3]))) <= w * pool.error


@pytest.mark.parametrize(("kernel", "stride", "layout"), [(2, 2, "batch"), (3, 2, "batch"), (2, 1, "sample"),
                                                     (3, 3, "sample")])
def test_maxpool_plan_matches_numpy(kernel, stride, layout):
    rng = np.random.default_rng(kernel + stride)
    x = rng.normal(size=(5, 2, 7, 7))
    stage = MaxPoolStage(["1:MaxPool2d"], 8, (2, 7, 7), kernel=kernel, stride=stride)
    stage.design(x.reshape(5, -1), layout)
    assert stage.rounds == 2 * int(np.ceil(np.log2(kernel)))
    got = stage.forward(x.reshape(5, -1) / stage.divisor) * stage.divisor
    if layout == "sample":  # the window maxima sit at the anchors, the other slots are garbage
        got = got[:, stage.anchors()]
    exact = nn.MaxPool2d(kernel, stride=stride).forward(x).reshape(5, -1)
    assert got.shape == exact.shape
    assert np.max(np.abs(got - exact)) <= stage.error
    assert sum(d for _, d in stage.segments()) == stage.levels


@pytest.mark.parametrize("name", ["Sigmoid", "Tanh", "GELU", "SiLU"])
def test_smooth_stage_matches_numpy(name):
    stage = SmoothStage(["1:" + name], 10, (4,), function=name)
    x = np.linspace(-2.5, 4.0, 2001)
    stage.design(x, "sample")
    exact = getattr(nn, name)().forward(x)
    got = stage.forward(x / stage.divisor) / stage.gain
    assert np.max(np.abs(got - exact)) <= stage.error * (1 + 1e-6) + 1e-12
    assert stage.error <= 2.0**-10 * max(1.0, stage.peak)
    assert len(stage.segments()) == 1 and stage.segments()[0][1] == stage.levels


def test_smooth_activations_encrypted():
    rng = np.random.default_rng(5)
    model = nn.Sequential([nn.Linear(8, 4, rng=0), nn.GELU(), nn.Linear(4, 4, rng=1), nn.SiLU(), nn.Linear(4, 4, rng=2),
                           nn.Tanh(), nn.Linear(4, 3, rng=3), nn.Sigmoid()])
    x = rng.uniform(-1.0, 1.0, size=(128, 8))
    em = encrypted.compile(model, (8,), 2, calibration=x, approximate=True, approx_bits=6, **TOY)
    smooth = [st for st in em.stages if isinstance(st, SmoothStage)]
    assert [st.function for st in smooth] == ["GELU", "SiLU", "Tanh", "Sigmoid"]
    got, _ = _run(em, x[:2])
    plan = em.plan_forward(x[:2])
    assert np.max(np.abs(got - plan)) <= em.tolerance
    # the stated errors, propagated through small random weights stay within a few times their sum
    assert np.max(np.abs(plan - model.forward(x[:2]))) < 4 * sum(st.error for st in smooth)
    assert "Sigmoid by a Chebyshev series of degree" in em.summary()


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.SiLU()])
def test_refused_without_approximate(layer, flat_digits):
    model = nn.Sequential([nn.Linear(64, 4, rng=0), layer, nn.Linear(4, 3, rng=1)])
    with pytest.raises(NotHEFriendlyError, match=r"1:\w+.*approximate=True"):
        encrypted.compile(model, (64,), 1, calibration=flat_digits[0][:10], **TOY)


def test_maxpool_refused_without_approximate(digits):
    model = nn.Sequential([nn.Conv2d(1, 1, 3, rng=0), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(9, 2, rng=1)])
    with pytest.raises(NotHEFriendlyError, match="1:MaxPool2d.*approximate=True"):
        encrypted.compile(model, (1, 8, 8), 1, **TOY)


def test_calibration_required(relu_mlp):
    with pytest.raises(ConfigError, match="approximate=True needs calibration data"):
        encrypted.compile(relu_mlp, (64,), 1, approximate=True, **TOY)


@pytest.mark.parametrize("bits", [3, 21, 12.5, True, "12", None])
def test_bad_approx_bits(relu_mlp, flat_digits, bits):
    with pytest.raises(ConfigError, match="approx_bits must be an integer from 4 to 20"):
        encrypted.compile(relu_mlp, (64,), 1, calibration=flat_digits[0][:10], approximate=True, approx_bits=bits,
                          **TOY)


def test_bad_approximate_flag(relu_mlp, flat_digits):
    with pytest.raises(ConfigError, match="approximate must be True or False"):
        encrypted.compile(relu_mlp, (64,), 1, calibration=flat_digits[0][:10], approximate="yes", **TOY)


def test_inputs_unchanged(relu_mlp, flat_digits):
    calibration = flat_digits[0][:50].copy()
    before = [v.copy() for _, v, _ in relu_mlp.parameters()]
    saved = calibration.copy()
    with pytest.raises(ConfigError):
        encrypted.compile(relu_mlp, (64,), 1, calibration=calibration, approximate=True, approx_bits=2, **TOY)
    encrypted.compile(relu_mlp, (64,), 1, calibration=calibration, approximate=True, approx_bits=5, **TOY)
    assert np.array_equal(calibration, saved)  # compile folds into its own copies, never the model
    assert all(np.array_equal(a, v) for a, (_, v, _) in zip(before, relu_mlp.parameters()))


def test_range_warning_names_the_layer(mlp_sample, flat_digits):
    em, ctx = mlp_sample
    x_test = flat_digits[2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RangeWarning)
        em.encrypt(ctx, x_test[:2])  # inside the calibrated range: silent
    with pytest.warns(RangeWarning, match=r"layer 1:ReLU: its inputs reach"):
        em.encrypt(ctx, 6.0 * x_test[:2])
    assert approximation.check_ranges(em.stages, 6.0 * x_test[:2])[0] == "1:ReLU"


def test_onnx_teacher_compiles_the_same_way(digits):
    pytest.importorskip("onnx")
    from nn import onnx as nn_onnx

    model = nn.Sequential([nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                           nn.Linear(18, 6, rng=1), nn.Sigmoid(), nn.Linear(6, 4, rng=2), nn.Tanh()])
    blob = nn_onnx.save(model, input_shape=(1, 8, 8))
    with pytest.raises(NotHEFriendlyError, match="approximate=True"):
        nn_onnx.load(blob)
    loaded = nn_onnx.load(blob, he_friendly=False)
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "Sigmoid", "Linear", "Tanh"]
    kwargs = {"calibration": digits.x_train[:100], "approximate": True, "approx_bits": 5, **TOY}
    em, em_loaded = (encrypted.compile(m, (1, 8, 8), 1, **kwargs) for m in (model, loaded))
    assert [st.kind for st in em_loaded.stages] == [st.kind for st in em.stages]
    x = digits.x_test[:5]
    assert np.max(np.abs(em_loaded.plan_forward(x) - em.plan_forward(x))) < 1e-5  # float32 weights


@pytest.mark.parametrize("name", ["Sigmoid", "Tanh", "GELU", "SiLU"])
def test_smooth_layers_plaintext(name, tmp_path):
    """The plaintext layers: values, gradients (central differences), not HE-friendly, saved and loaded."""
    layer = getattr(nn, name)()
    x = np.linspace(-4.0, 4.0, 41)
    y = layer.forward(x)
    grad = layer.backward(np.ones_like(x))
    h = 1e-6
    numeric = (layer.forward(x + h) - layer.forward(x - h)) / (2 * h)
    assert np.max(np.abs(grad - numeric)) < 1e-6 and layer.multiplicative_depth() is None
    reference = {"Sigmoid": 1 / (1 + np.exp(-x)), "Tanh": np.tanh(x), "SiLU": x / (1 + np.exp(-x))}
    if name in reference:
        assert np.allclose(y, reference[name])
    else:  # GELU at known points: x Phi(x)
        assert y[20] == 0.0 and np.isclose(layer.forward(np.array([1.0]))[0], 0.8413447460685429)
    model = nn.Sequential([nn.Linear(3, 2, rng=0), layer])
    model.save(tmp_path / "m")
    loaded = nn.Sequential.load(tmp_path / "m")
    assert type(loaded.layers[1]) is type(layer)
    assert np.allclose(loaded.forward(np.ones((1, 3))), model.forward(np.ones((1, 3))))


def test_sample_layout_garbage_slots_are_modelled(digits):
    """After a smooth activation the slots beyond the features hold p(0), not 0; the max-pool's plaintext
    model pads with that value, so the plan reproduces every slot the ciphertext holds."""
    model = nn.Sequential([nn.Conv2d(1, 1, 3, rng=0), nn.Sigmoid(), nn.MaxPool2d(2), nn.Flatten(),
                           nn.Linear(9, 3, rng=1)])
    em = encrypted.compile(model, (1, 8, 8), 1, layout="sample", calibration=digits.x_train[:100], approximate=True,
                           approx_bits=6, **TOY)
    smooth, pool = em.stages[1], em.stages[2]
    assert isinstance(pool, MaxPoolStage)
    assert pool.pad == pytest.approx(float(smooth.forward(np.zeros((1, 1)))[0, 0]))  # what the ciphertext holds
    assert pool.pad != 0.0
    assert np.max(np.abs(em.plan_forward(digits.x_test[:5]) - model.forward(digits.x_test[:5]))) < 0.05


def test_onnx_gelu_imports_as_gelu():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from nn import onnx as nn_onnx

    w = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["h"]), helper.make_node("Gelu", ["h"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(3, np.float32), "b")])
    blob = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)]).SerializeToString()
    assert onnx.load_from_string(blob).graph.node[1].op_type == "Gelu"
    with pytest.raises(NotHEFriendlyError, match="nn.GELU.*approximate=True"):
        nn_onnx.load(blob)
    model = nn_onnx.load(blob, he_friendly=False)
    x = np.random.default_rng(1).normal(size=(5, 4))
    assert isinstance(model.layers[-1], nn.GELU)
    assert np.allclose(model.forward(x), nn.GELU().forward(x @ w.astype(np.float64)))
