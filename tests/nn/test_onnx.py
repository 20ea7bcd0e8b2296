"""``nn.onnx``: ONNX graphs load into standard nn layers that compute what ONNX Runtime computes, nn models
exported with ``save`` run in ONNX Runtime with the same outputs, and every bad input gets a clear error.

Bounds.  ONNX Runtime evaluates float32 graphs in float32 while nn computes in float64 from the same
(float32-exact) weights and inputs; with O(1) values the difference is float32 rounding, asserted below
``F32_BOUND = 1e-5`` (measured: at most about 1e-6).  Float64 graphs agree to ``F64_BOUND = 1e-12``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import nn  # noqa: E402
import nn.onnx as nno  # noqa: E402
from nn.errors import (  # noqa: E402
    ConfigError,
    LayerTypeError,
    NotHEFriendlyError,
    ONNXImportError,
    OptionalDependencyError,
    ShapeError,
)

REPO = Path(__file__).resolve().parents[2]
F32_BOUND = 1e-5
F64_BOUND = 1e-12
FLOAT = TensorProto.FLOAT
DOUBLE = TensorProto.DOUBLE


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def w32(shape: tuple[int, ...], seed: int, scale: float | None = None) -> np.ndarray:
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    s = scale if scale is not None else 1.0 / np.sqrt(fan_in)
    return (rng(seed).normal(size=shape) * s).astype(np.float32)


def model(nodes, in_shape, inits=(), *, opset=17, elem=FLOAT, out_name="y", inputs=None, outputs=None):
    """A ModelProto with one input ``x`` of shape ``in_shape`` (None = dynamic batch) and one output ``y``."""
    arrays = [numpy_helper.from_array(np.asarray(v), name=k) for k, v in dict(inits).items()]
    ins = inputs if inputs is not None else [helper.make_tensor_value_info("x", elem, list(in_shape))]
    outs = outputs if outputs is not None else [helper.make_tensor_value_info(out_name, elem, None)]
    graph = helper.make_graph(nodes, "g", ins, outs, arrays)
    ops = [helper.make_opsetid("", opset)]
    m = helper.make_model(graph, opset_imports=ops)
    m.ir_version = helper.find_min_ir_version_for(ops)
    return m


def run_ort(m, x: np.ndarray, output: str | None = None) -> np.ndarray:
    data = m if isinstance(m, bytes) else m.SerializeToString()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    outs = sess.run([output] if output else None, {name: x})
    return outs[0]


def x32(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    return rng(seed).normal(size=shape).astype(np.float32)


def check(m, x: np.ndarray, bound: float = F32_BOUND, **kw) -> tuple[nn.Sequential, float]:
    """Load ``m`` into nn, run both, assert the outputs agree within ``bound``; return the model and the diff."""
    net = nno.load(m.SerializeToString(), **kw)
    want = run_ort(m, x, kw.get("output"))
    got = net.forward(x.astype(np.float64))
    assert got.shape == want.shape, (got.shape, want.shape)
    diff = float(np.max(np.abs(got - want)))
    assert diff < bound, f"max abs difference {diff:.3g} >= {bound:g}"
    return net, diff


def types(net: nn.Sequential) -> list[str]:
    return [type(layer).__name__ for layer in net.layers]


# ----------------------------------------------------------------------------------------------------------------
# import: one graph per supported operator, checked against ONNX Runtime
# ----------------------------------------------------------------------------------------------------------------


def test_gemm_pytorch_layout_transb():
    w, b = w32((5, 8), 0), w32((5,), 1, 0.1)  # PyTorch nn.Linear(8, 5): weight (out, in)
    m = model([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], [None, 8], {"w": w, "b": b})
    net, _ = check(m, x32((6, 8)))
    assert types(net) == ["Linear"]
    np.testing.assert_array_equal(net[0].params["weight"], w.T.astype(np.float64))


def test_gemm_alpha_beta_without_transb_and_broadcast_bias():
    w, b = w32((8, 5), 0), w32((1, 5), 1, 0.1)
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], alpha=0.5, beta=2.0)
    net, _ = check(model([node], [None, 8], {"w": w, "b": b}), x32((6, 8)))
    assert types(net) == ["Linear"]


def test_gemm_without_bias_opset_11():
    m = model([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], [None, 8], {"w": w32((3, 8), 0)}, opset=11)
    check(m, x32((4, 8)))


@pytest.mark.parametrize("bias_first", [False, True])
def test_matmul_add_is_one_linear(bias_first):
    ins = ["b", "h"] if bias_first else ["h", "b"]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ins, ["y"])]
    net, _ = check(model(nodes, [None, 8], {"w": w32((8, 4), 0), "b": w32((4,), 1, 0.1)}), x32((5, 8)))
    assert types(net) == ["Linear"]


@pytest.mark.parametrize(
    ("attrs", "size"),
    [
        ({"pads": [1, 1, 1, 1], "strides": [2, 2]}, 9),
        ({"pads": [0, 0, 0, 0], "strides": [1, 1]}, 8),
        ({"auto_pad": "SAME_UPPER"}, 8),
        ({"auto_pad": "VALID", "strides": [2, 2]}, 9),
    ],
)
def test_conv_padding_stride(attrs, size):
    w, b = w32((4, 2, 3, 3), 0), w32((4,), 1, 0.1)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3], **attrs)
    net, _ = check(model([node], [None, 2, size, size], {"w": w, "b": b}), x32((3, 2, size, size)))
    assert types(net) == ["Conv2d"]


def test_conv_without_bias_and_kernel_shape():
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    net, _ = check(model([node], [None, 1, 6, 6], {"w": w32((2, 1, 3, 3), 0)}), x32((2, 1, 6, 6)))
    assert net[0].padding == 0 and net[0].stride == 1


@pytest.mark.parametrize(("k", "s"), [(2, 2), (3, 1), (2, 1)])
def test_average_pool(k, s):
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[k, k], strides=[s, s])
    net, _ = check(model([node], [None, 3, 6, 6]), x32((2, 3, 6, 6)))
    assert types(net) == ["AvgPool2d"] and net[0].kernel_size == k and net[0].stride == s


def test_global_average_pool_flatten_gemm():
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w", "b"], ["y"], transB=1),
    ]
    net, _ = check(model(nodes, [None, 3, 4, 4], {"w": w32((2, 3), 0), "b": w32((2,), 1)}), x32((5, 3, 4, 4)))
    assert types(net) == ["AvgPool2d", "Flatten", "Linear"]


def test_reshape_constant_and_zero_copy():
    for target in ([-1, 48], [0, -1]):
        nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"])]
        net, _ = check(model(nodes, [None, 3, 4, 4], {"shape": np.array(target, np.int64)}), x32((2, 3, 4, 4)))
        assert types(net) == ["Flatten"]


def test_reshape_from_shape_arithmetic_like_pytorch_view():
    """``x.view(x.size(0), -1)`` in PyTorch's legacy exporter: Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Shape", ["c"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["c", "shape"], ["f"]),
        helper.make_node("Gemm", ["f", "w2"], ["y"], transB=1),
    ]
    inits = {
        "w": w32((2, 1, 3, 3), 0),
        "zero": np.array(0, np.int64),
        "axes": np.array([0], np.int64),
        "minus1": np.array([-1], np.int64),
        "w2": w32((3, 32), 1),
    }
    net, _ = check(model(nodes, ["batch", 1, 6, 6], inits), x32((4, 1, 6, 6)))
    assert types(net) == ["Conv2d", "Flatten", "Linear"]


def test_squeeze_after_global_pool_and_static_batch_reshape():
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["p"]),
        helper.make_node("Squeeze", ["p", "axes"], ["y"]),
    ]
    net, _ = check(model(nodes, [None, 3, 4, 4], {"axes": np.array([2, 3], np.int64)}), x32((2, 3, 4, 4)))
    assert types(net) == ["AvgPool2d", "Flatten"]
    m = model([helper.make_node("Reshape", ["x", "s"], ["y"])], [1, 2, 3, 3], {"s": np.array([1, 18], np.int64)})
    check(m, x32((1, 2, 3, 3)))


def test_mul_self_is_square_and_pow_two():
    for node in (helper.make_node("Mul", ["h", "h"], ["y"]), helper.make_node("Pow", ["h", "two"], ["y"])):
        nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], transB=1), node]
        net, _ = check(model(nodes, [None, 6], {"w": w32((4, 6), 0), "two": np.array(2.0, np.float32)}), x32((5, 6)))
        assert types(net) == ["Linear", "Square"]


def test_quadratic_graph_is_quadratic_activation():
    """a*x*x + b*x + c written as separate Mul/Add nodes (as PyTorch exports ``a * x**2 + b * x + c``)."""
    a, b, c = 0.25, 0.5, -0.125
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
        helper.make_node("Mul", ["h", "h"], ["h2"]),
        helper.make_node("Mul", ["a", "h2"], ["t2"]),
        helper.make_node("Mul", ["h", "b"], ["t1"]),
        helper.make_node("Add", ["t2", "t1"], ["s"]),
        helper.make_node("Add", ["s", "c"], ["y"]),
    ]
    inits = {"w": w32((4, 6), 0), "a": np.float32(a), "b": np.float32(b), "c": np.float32(c)}
    net, _ = check(model(nodes, [None, 6], inits), x32((5, 6)))
    assert types(net) == ["Linear", "QuadraticActivation"]
    assert (net[1].a, net[1].b, net[1].c) == (a, b, c)


def test_cubic_horner_sub_neg_div_is_poly_activation():
    # y = 1 - (-((x * 0.5 - 0.25) * x * x) / 4) - 1 + 1  ->  p(x) = 1 - 0.0625 x^2 + 0.125 x^3
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
        helper.make_node("Mul", ["h", "half"], ["u"]),
        helper.make_node("Sub", ["u", "quarter"], ["v"]),
        helper.make_node("Mul", ["v", "h"], ["v2"]),
        helper.make_node("Mul", ["v2", "h"], ["v3"]),
        helper.make_node("Neg", ["v3"], ["n"]),
        helper.make_node("Div", ["n", "four"], ["d"]),
        helper.make_node("Sub", ["one", "d"], ["e"]),
        helper.make_node("Sub", ["e", "one"], ["f"]),
        helper.make_node("Add", ["f", "one"], ["y"]),
    ]
    inits = {"w": w32((4, 6), 0), "half": np.float32(0.5), "quarter": np.float32(0.25), "four": np.float32(4.0),
             "one": np.float32(1.0)}  # fmt: skip
    net, _ = check(model(nodes, [None, 6], inits), x32((5, 6)))
    assert types(net) == ["Linear", "PolyActivation"]
    np.testing.assert_allclose(net[1].coeffs, [1.0, 0.0, -0.0625, 0.125])


def test_affine_after_linear_is_folded_and_after_activation_goes_forward():
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
        helper.make_node("Mul", ["h", "scale"], ["hs"]),  # per-feature: folds back into the first Linear
        helper.make_node("Mul", ["hs", "hs"], ["sq"]),
        helper.make_node("Sub", ["sq", "shift"], ["sh"]),  # per-feature after Square: folds into the next Linear
        helper.make_node("Gemm", ["sh", "w2"], ["y"], transB=1),
    ]
    inits = {"w": w32((4, 6), 0), "scale": w32((4,), 1, 1.0), "shift": w32((1, 4), 2, 1.0), "w2": w32((3, 4), 3)}
    net, _ = check(model(nodes, [None, 6], inits), x32((5, 6)))
    assert types(net) == ["Linear", "Square", "Linear"]


def test_input_scaling_folds_into_first_linear_or_becomes_poly():
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"]), helper.make_node("Div", ["c", "std"], ["n"])]
    inits = {"mean": w32((6,), 0, 1.0), "std": np.abs(w32((6,), 1, 1.0)) + 0.5, "w": w32((4, 6), 2)}
    m = model([*nodes, helper.make_node("Gemm", ["n", "w"], ["y"], transB=1)], [None, 6], inits)
    net, _ = check(m, x32((5, 6)))
    assert types(net) == ["Linear"]
    # a scalar scale/shift with nothing to fold into becomes a degree-1 PolyActivation
    nodes = [helper.make_node("Mul", ["x", "k"], ["a"]), helper.make_node("Add", ["a", "k"], ["y"])]
    net, _ = check(model(nodes, [None, 6], {"k": np.float32(3.0)}), x32((5, 6)))
    assert types(net) == ["PolyActivation"]


def test_batchnorm_folded_into_linear_and_conv():
    c = 4
    stats = {
        "sc": w32((c,), 10, 1.0),
        "bb": w32((c,), 11, 1.0),
        "mu": w32((c,), 12, 1.0),
        "var": (np.abs(w32((c,), 13, 1.0)) + 0.1),
    }
    bn = helper.make_node("BatchNormalization", ["h", "sc", "bb", "mu", "var"], ["y"], epsilon=1e-3)
    lin = helper.make_node("Gemm", ["x", "w"], ["h"], transB=1)
    net, _ = check(model([lin, bn], [None, 6], {"w": w32((c, 6), 0), **stats}), x32((5, 6)))
    assert types(net) == ["Linear"]
    conv = helper.make_node("Conv", ["x", "wc", "bc"], ["h"], pads=[1, 1, 1, 1])
    m = model([conv, bn], [None, 2, 5, 5], {"wc": w32((c, 2, 3, 3), 1), "bc": w32((c,), 2), **stats})
    net, _ = check(m, x32((3, 2, 5, 5)))
    assert types(net) == ["Conv2d"]


def test_batchnorm_then_quadratic_and_batchnorm_before_unpadded_conv():
    """Conv -> BN -> a*x^2 + b*x (both products see the same normalised value) -> BN -> Conv (forward fold)."""
    stats = {f"{k}{i}": w32((3,), 20 + 4 * i + j, 1.0) for i in (1, 2) for j, k in enumerate(("sc", "bb", "mu"))}
    stats.update({f"var{i}": np.abs(w32((3,), 30 + i, 1.0)) + 0.2 for i in (1, 2)})
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"]),
        helper.make_node("BatchNormalization", ["c1", "sc1", "bb1", "mu1", "var1"], ["n1"]),
        helper.make_node("Mul", ["n1", "n1"], ["sq"]),
        helper.make_node("Mul", ["sq", "a"], ["t2"]),
        helper.make_node("Mul", ["n1", "b"], ["t1"]),
        helper.make_node("Add", ["t2", "t1"], ["q"]),
        helper.make_node("BatchNormalization", ["q", "sc2", "bb2", "mu2", "var2"], ["n2"]),
        helper.make_node("Conv", ["n2", "w2"], ["y"]),
    ]
    inits = {"w1": w32((3, 1, 3, 3), 0), "w2": w32((2, 3, 2, 2), 1), "a": np.float32(0.3), "b": np.float32(0.7),
             **stats}  # fmt: skip
    net, _ = check(model(nodes, [None, 1, 6, 6], inits), x32((2, 1, 6, 6)))
    assert types(net) == ["Conv2d", "QuadraticActivation", "Conv2d"]


@pytest.mark.parametrize("beta", [1.0, 4.0])
def test_softmax_with_beta_is_soft_argmax(beta):
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1)]
    last = "h"
    if beta != 1.0:
        nodes.append(helper.make_node("Mul", ["beta", "h"], ["hb"]))
        last = "hb"
    nodes.append(helper.make_node("Softmax", [last], ["y"], axis=-1))
    inits = {"w": w32((3, 6), 0), "b": w32((3,), 1), "beta": np.float32(beta)}
    net, _ = check(model(nodes, [None, 6], inits), x32((5, 6)))
    assert types(net) == ["Linear", "SoftArgmax"] and net[1].beta == beta
    np.testing.assert_array_equal(net[0].params["weight"], inits["w"].T.astype(np.float64))  # beta not folded


def test_softmax_opset_11_default_axis_on_2d():
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], transB=1), helper.make_node("Softmax", ["h"], ["y"])]
    net, _ = check(model(nodes, [None, 6], {"w": w32((3, 6), 0)}, opset=11), x32((5, 6)))
    assert types(net) == ["Linear", "SoftArgmax"]


def test_identity_dropout_cast_are_dropped():
    nodes = [
        helper.make_node("Identity", ["x"], ["a"]),
        helper.make_node("Cast", ["a"], ["b"], to=FLOAT),
        helper.make_node("Gemm", ["b", "w"], ["h"], transB=1),
        helper.make_node("Dropout", ["h"], ["y"]),
    ]
    net, _ = check(model(nodes, [None, 6], {"w": w32((3, 6), 0)}), x32((5, 6)))
    assert types(net) == ["Linear"]


def test_constant_nodes_and_constant_folding_of_transposed_weights():
    nodes = [
        helper.make_node("Constant", [], ["wt"], value=numpy_helper.from_array(w32((6, 3), 0))),
        helper.make_node("Transpose", ["wt"], ["w"], perm=[1, 0]),
        helper.make_node("Constant", [], ["k"], value_float=2.0),
        helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
        helper.make_node("Mul", ["h", "k"], ["y"]),
    ]
    net, _ = check(model(nodes, [None, 6]), x32((5, 6)))
    assert types(net) == ["Linear"]


@pytest.mark.parametrize("opset", [9, 13, 21, 25])
def test_opsets_in_the_supported_range(opset):
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1),
        helper.make_node("Mul", ["h", "h"], ["s"]),
        helper.make_node("Gemm", ["s", "w2", "b2"], ["y"], transB=1),
    ]
    inits = {"w": w32((4, 6), 0), "b": w32((4,), 1), "w2": w32((2, 4), 2), "b2": w32((2,), 3)}
    net, _ = check(model(nodes, [None, 6], inits, opset=opset), x32((5, 6)))
    assert types(net) == ["Linear", "Square", "Linear"]


def test_float64_graph_is_exact():
    w = rng(0).normal(size=(3, 6))
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], transB=1), helper.make_node("Mul", ["h", "h"], ["y"])]
    x = rng(1).normal(size=(4, 6))
    check(model(nodes, [None, 6], {"w": w}, elem=DOUBLE), x, bound=F64_BOUND)


def test_symbolic_dims_fixed_by_input_shape():
    m = model([helper.make_node("Conv", ["x", "w"], ["y"])], ["N", 1, "H", "W"], {"w": w32((2, 1, 3, 3), 0)})
    with pytest.raises(ONNXImportError, match=r"dimension 2 is dynamic \(symbolic 'H'\).*input_shape"):
        nno.load(m.SerializeToString())
    net = nno.load(m.SerializeToString(), input_shape=(1, 6, 6))
    x = x32((2, 1, 6, 6))
    assert np.max(np.abs(net.forward(x) - run_ort(m, x))) < F32_BOUND
    with pytest.raises(ONNXImportError, match="fixed to 1 in the graph but input_shape gives 3"):
        nno.load(m.SerializeToString(), input_shape=(3, 6, 6))
    with pytest.raises(ONNXImportError, match="input_shape gives 2"):
        nno.load(m.SerializeToString(), input_shape=(6, 6))
    for bad in ((1, 0, 6), [], "1x6x6", (1.0, 6, 6)):
        with pytest.raises(ConfigError, match="input_shape"):
            nno.load(m.SerializeToString(), input_shape=bad)


# ----------------------------------------------------------------------------------------------------------------
# scikit-learn through skl2onnx
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iris_like():
    r = rng(5)
    x = r.normal(size=(90, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 1.5]) + 0.1 * r.normal(size=90)).astype(np.float32)
    return x, y


def _fit(est, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(x, y)


def test_sklearn_mlp_regressor_identity(iris_like):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.neural_network import MLPRegressor

    x, y = iris_like
    est = _fit(MLPRegressor(hidden_layer_sizes=(8, 5), activation="identity", max_iter=60, random_state=0), x, y)
    m = skl2onnx.to_onnx(est, x[:1])
    net, _ = check(m, x)
    assert types(net) == ["Linear", "Linear", "Linear"]
    assert np.max(np.abs(net.forward(x)[:, 0] - est.predict(x))) < 1e-4


def test_sklearn_mlp_classifier_probabilities(iris_like):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.neural_network import MLPClassifier

    x, y = iris_like
    labels = np.digitize(y, [-1.0, 1.0])  # three classes
    est = _fit(MLPClassifier(hidden_layer_sizes=(8,), activation="identity", max_iter=60, random_state=0), x, labels)
    m = skl2onnx.to_onnx(est, x[:1], options={"zipmap": False})
    with pytest.raises(ONNXImportError, match=r"2 outputs \['label', 'probabilities'\].*output="):
        nno.load(m.SerializeToString())
    net, _ = check(m, x, output="probabilities")
    assert types(net) == ["Linear", "Linear", "SoftArgmax"]
    assert np.max(np.abs(net.forward(x) - est.predict_proba(x))) < 1e-5
    with pytest.raises(ONNXImportError, match="'nope' is not an output"):
        nno.load(m.SerializeToString(), output="nope")


def test_sklearn_relu_raises_naming_the_node_and_loads_as_teacher(iris_like):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.neural_network import MLPRegressor

    x, y = iris_like
    est = _fit(MLPRegressor(hidden_layer_sizes=(8,), activation="relu", max_iter=60, random_state=0), x, y)
    m = skl2onnx.to_onnx(est, x[:1])
    relu = next(n.name for n in m.graph.node if n.op_type == "Relu")
    with pytest.raises(NotHEFriendlyError, match=rf"node '{relu}' \(Relu\).*operator Relu.*nn\.convert") as info:
        nno.load(m.SerializeToString())
    assert "he_friendly=False" in str(info.value)
    teacher, _ = check(m, x, he_friendly=False)
    assert types(teacher) == ["Linear", "ReLU", "Linear"] and not teacher.is_he_friendly()
    student = nn.finalize(nn.he_friendly_copy(teacher, x.astype(np.float64), mix=1.0))
    assert student.is_he_friendly()


# ----------------------------------------------------------------------------------------------------------------
# export: nn models run in ONNX Runtime with the same outputs, and load back to the same layers
# ----------------------------------------------------------------------------------------------------------------


def _export_check(net: nn.Sequential, x: np.ndarray, bound: float = F32_BOUND, **kw) -> float:
    data = nno.save(net, **kw)
    want = net.forward(x.astype(np.float64))
    got = run_ort(data, x)
    assert got.shape == want.shape
    diff = float(np.max(np.abs(got - want)))
    assert diff < bound, f"max abs difference {diff:.3g} >= {bound:g}"
    return diff


def _f32(net: nn.Sequential) -> nn.Sequential:
    """Round the parameters to float32 so that float32 export and float64 nn use the same weights."""
    for layer in net.layers:
        for v in layer.params.values():
            v[...] = v.astype(np.float32)
    return net


def test_export_mlp_square_quadratic():
    net = _f32(nn.Sequential([nn.Linear(6, 8, rng=0), nn.Square(), nn.Linear(8, 5, init="xavier", rng=1),
                              nn.QuadraticActivation(0.25, 0.5, -0.125), nn.Linear(5, 3, rng=2)]))  # fmt: skip
    x = x32((7, 6))
    _export_check(net, x)
    _export_check(net, x.astype(np.float64), bound=F64_BOUND, dtype="float64")
    assert types(nno.load(nno.save(net))) == types(net)


def test_export_cnn():
    net = _f32(nn.Sequential([nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.Square(), nn.AvgPool2d(2),
                              nn.Conv2d(4, 3, 2, stride=2, rng=1), nn.Flatten(), nn.Linear(12, 5, rng=2)]))  # fmt: skip
    _export_check(net, x32((3, 1, 8, 8)), input_shape=(1, 8, 8))
    back = nno.load(nno.save(net, input_shape=(1, 8, 8)))
    assert types(back) == types(net)
    for a, b in zip(net.layers, back.layers):  # the same layers, except that imported ones claim no init
        assert {**a.get_config(), "init": None} == {**b.get_config(), "init": None}
        assert b.get_config().get("init") is None and "init=" not in repr(b)
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], b.params[k])


def test_export_poly_activation_and_soft_argmax():
    net = _f32(nn.Sequential([nn.Linear(6, 4, rng=0), nn.PolyActivation([0.1, 0.5, 0.0, 0.05]), nn.Linear(4, 3, rng=1),
                              nn.SoftArgmax(beta=3.0)]))  # fmt: skip
    x = x32((5, 6))
    _export_check(net, x)
    _export_check(net, x.astype(np.float64), bound=F64_BOUND, dtype="float64", opset=21)
    back = nno.load(nno.save(net, dtype="float64"))
    assert types(back) == ["Linear", "PolyActivation", "Linear", "SoftArgmax"]
    assert back[3].beta == 3.0
    np.testing.assert_array_equal(back[1].coeffs, [0.1, 0.5, 0.0, 0.05])
    np.testing.assert_allclose(back.forward(x), net.forward(x), rtol=0, atol=F64_BOUND)


def test_export_teacher_relu_maxpool_and_transition():
    layers = [nn.Conv2d(1, 2, 3, rng=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 4, rng=1)]
    layers += [nn.ReLUToQuadratic(0.2, 0.5, 0.1, mix=0.5), nn.Linear(4, 2, rng=2)]
    layers += [nn.ReLUToQuadratic(0.2, 0.5, 0.1, mix=1.0), nn.ReLUToQuadratic(mix=0.0)]
    net = _f32(nn.Sequential(layers))
    _export_check(net, x32((3, 1, 6, 6)), input_shape=(1, 6, 6))
    with pytest.raises(NotHEFriendlyError, match=r"\(Relu\)"):
        nno.load(nno.save(net, input_shape=(1, 6, 6)))
    teacher = nn.Sequential(net.layers[:5])
    back = nno.load(nno.save(teacher, input_shape=(1, 6, 6)), he_friendly=False)
    assert types(back) == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]


def test_save_writes_the_file_and_load_reads_paths(tmp_path):
    net = nn.Sequential([nn.Linear(3, 2, rng=0), nn.Square()])
    path = tmp_path / "m.onnx"
    data = nno.save(net, path)
    assert path.read_bytes() == data
    for source in (path, str(path), data, bytearray(data), onnx.load_from_string(data)):
        assert types(nno.load(source)) == ["Linear", "Square"]


def test_imported_model_is_a_standard_sequential(tmp_path):
    net = nno.load(nno.save(nn.Sequential([nn.Linear(4, 3, rng=0), nn.QuadraticActivation(0.1, 1.0, 0.0)])))
    assert isinstance(net, nn.Sequential) and net.multiplicative_depth() == 3
    net.save(tmp_path / "m.npz")
    assert types(nn.Sequential.load(tmp_path / "m.npz")) == ["Linear", "QuadraticActivation"]


def test_save_errors():
    with pytest.raises(LayerTypeError, match="nn.Sequential"):
        nno.save([nn.Linear(2, 2)])
    with pytest.raises(ConfigError, match="input_shape"):
        nno.save(nn.Sequential([nn.Conv2d(1, 2, 3)]))
    with pytest.raises(ShapeError, match=r"layer 0 \(Conv2d\)"):
        nno.save(nn.Sequential([nn.Conv2d(1, 2, 3)]), input_shape=(3, 8, 8))
    with pytest.raises(ShapeError, match=r"layer 1 \(Linear\)"):
        nno.save(nn.Sequential([nn.Linear(4, 3), nn.Linear(4, 2)]))
    with pytest.raises(ConfigError, match="opset must be an integer from 13 to 25"):
        nno.save(nn.Sequential([nn.Linear(2, 2)]), opset=12)
    with pytest.raises(ConfigError, match="dtype"):
        nno.save(nn.Sequential([nn.Linear(2, 2)]), dtype="float16")
    with pytest.raises(ConfigError, match="empty"):
        nno.save(nn.Sequential([]))
    with pytest.raises(ConfigError, match="input_shape"):
        nno.save(nn.Sequential([nn.Linear(2, 2)]), input_shape=(0,))

    class Custom(nn.Layer):
        def forward(self, x):
            return x

    with pytest.raises(LayerTypeError, match=r"layer 1 \(Custom\) has no ONNX export"):
        nno.save(nn.Sequential([nn.Linear(2, 2), Custom()]))


# ----------------------------------------------------------------------------------------------------------------
# import errors
# ----------------------------------------------------------------------------------------------------------------


def _mlp(opset: int = 17, w: np.ndarray | None = None):
    w = w32((3, 4), 0) if w is None else w
    return model([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], [None, 4], {"w": w}, opset=opset)


def test_malformed_bytes_and_sources(tmp_path):
    good = _mlp().SerializeToString()
    for bad in (b"", b"\x08\x07not an onnx model at all", good[: len(good) // 2], b"\xff" * 64):
        with pytest.raises(ONNXImportError):
            nno.load(bad)
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00garbage\x01\x02")
    with pytest.raises(ONNXImportError):
        nno.load(path)
    with pytest.raises(FileNotFoundError):
        nno.load(tmp_path / "missing.onnx")
    with pytest.raises(ConfigError, match="path, bytes or an onnx.ModelProto"):
        nno.load(12)
    with pytest.raises(ConfigError, match="he_friendly"):
        nno.load(good, he_friendly="no")


@pytest.mark.parametrize("opset", [8, 26])
def test_unsupported_opset_states_the_range(opset):
    m = _mlp(opset=opset)
    with pytest.raises(ONNXImportError, match=rf"opset {opset}; nn.onnx supports opsets 9 to 25.*convert_version"):
        nno.load(m.SerializeToString())


def test_missing_default_opset_and_invalid_graph():
    m = _mlp()
    del m.opset_import[:]
    m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 3))
    with pytest.raises(ONNXImportError, match="imports no ai.onnx opset"):
        nno.load(m.SerializeToString())
    bad = model([helper.make_node("Gemm", ["x", "undefined"], ["y"], transB=1)], [None, 4])
    with pytest.raises(ONNXImportError, match="invalid"):
        nno.load(bad.SerializeToString())


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(value):
    w = w32((3, 4), 0)
    w[1, 2] = value
    with pytest.raises(ONNXImportError, match=r"initializer 'w' \(shape \(3, 4\)\) contains 1 NaN or infinite"):
        nno.load(_mlp(w=w).SerializeToString())


def test_batchnorm_with_zero_variance_and_training_mode():
    stats = {"sc": np.ones(3, np.float32), "bb": np.zeros(3, np.float32), "mu": np.zeros(3, np.float32)}
    lin = helper.make_node("Gemm", ["x", "w"], ["h"], transB=1)
    bn = helper.make_node("BatchNormalization", ["h", "sc", "bb", "mu", "var"], ["y"], epsilon=0.0)
    m = model([lin, bn], [None, 4], {"w": w32((3, 4), 0), "var": np.zeros(3, np.float32), **stats})
    with pytest.raises(ONNXImportError, match="var \\+ epsilon must be positive"):
        nno.load(m.SerializeToString())
    bn = helper.make_node("BatchNormalization", ["h", "sc", "bb", "mu", "var"], ["y"], training_mode=1)
    m = model([lin, bn], [None, 4], {"w": w32((3, 4), 0), "var": np.ones(3, np.float32), **stats})
    with pytest.raises(ONNXImportError, match="training_mode=1.*eval"):
        nno.load(m.SerializeToString())


@pytest.mark.parametrize(
    ("op", "attrs", "shape"),
    [
        ("Relu", {}, [None, 4]),
        ("Sigmoid", {}, [None, 4]),
        ("Tanh", {}, [None, 4]),
        ("MaxPool", {"kernel_shape": [2, 2]}, [None, 1, 4, 4]),
        ("Erf", {}, [None, 4]),
    ],
)
def test_non_he_friendly_ops_name_node_and_op(op, attrs, shape):
    m = model([helper.make_node(op, ["x"], ["y"], name="my_node", **attrs)], shape)
    with pytest.raises(NotHEFriendlyError, match=rf"node 'my_node' \({op}\): operator {op} .*nn\.convert"):
        nno.load(m.SerializeToString())


def test_log_softmax_head_names_the_client_side_remedy():
    m = model([helper.make_node("Gemm", ["x", "w"], ["z"]), helper.make_node("LogSoftmax", ["z"], ["y"])],
              [None, 4], {"w": w32((4, 3), 0)})  # fmt: skip
    with pytest.raises(NotHEFriendlyError, match=r"\(LogSoftmax\).*without it.*on the client.*nn\.SoftArgmax"):
        nno.load(m.SerializeToString())


def test_max_pool_teacher_matches_ort():
    nodes = [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Relu", ["p"], ["y"])]  # fmt: skip
    net, _ = check(model(nodes, [None, 2, 6, 6]), x32((3, 2, 6, 6)), he_friendly=False)
    assert types(net) == ["MaxPool2d", "ReLU"]


def test_non_polynomial_arithmetic():
    nodes = [helper.make_node("Gemm", ["x", "w"], ["h"], transB=1), helper.make_node("Div", ["one", "h"], ["y"])]
    with pytest.raises(NotHEFriendlyError, match=r"\(Div\): division by a value computed from the input"):
        nno.load(model(nodes, [None, 4], {"w": w32((3, 4), 0), "one": np.float32(1)}).SerializeToString())
    for e in (0.5, -1.0, 0.0):
        nodes = [helper.make_node("Pow", ["x", "e"], ["y"])]
        with pytest.raises(NotHEFriendlyError, match=r"\(Pow\)"):
            nno.load(model(nodes, [None, 4], {"e": np.float32(e)}).SerializeToString())
    nodes = [helper.make_node("Pow", ["x", "e"], ["y"])]
    with pytest.raises(ONNXImportError, match="MAX_POLY_DEGREE"):
        nno.load(model(nodes, [None, 4], {"e": np.float32(65)}).SerializeToString())


@pytest.mark.parametrize(
    ("attrs", "wshape", "match"),
    [
        ({"group": 2}, (4, 1, 3, 3), "grouped convolution"),
        ({"dilations": [2, 2]}, (4, 2, 3, 3), "dilations"),
        ({"pads": [1, 0, 1, 0]}, (4, 2, 3, 3), "pads"),
        ({"strides": [1, 2]}, (4, 2, 3, 3), "strides"),
        ({}, (4, 2, 3, 2), "square kernels"),
        ({"auto_pad": "SAME_UPPER"}, (4, 2, 2, 2), "asymmetrically"),
    ],
)
def test_conv_attributes_nn_cannot_express(attrs, wshape, match):
    node = helper.make_node("Conv", ["x", "w"], ["y"], **attrs)
    m = model([node], [None, 2, 6, 6], {"w": w32(wshape, 0)})
    with pytest.raises(ONNXImportError, match=match):
        nno.load(m.SerializeToString())


@pytest.mark.parametrize(
    ("attrs", "match"),
    [
        ({"kernel_shape": [2, 2], "pads": [1, 1, 1, 1]}, "padded pooling"),
        ({"kernel_shape": [2, 3]}, "square kernels"),
        ({"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, "ceil_mode"),
    ],
)
def test_pool_attributes_nn_cannot_express(attrs, match):
    m = model([helper.make_node("AveragePool", ["x"], ["y"], **attrs)], [None, 2, 5, 5])
    with pytest.raises(ONNXImportError, match=match):
        nno.load(m.SerializeToString())


def test_graphs_that_are_not_chains():
    # a skip connection: Gemm(x) + Gemm(Gemm(x))
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
        helper.make_node("Gemm", ["h", "w2"], ["h2"], transB=1),
        helper.make_node("Add", ["h", "h2"], ["y"]),
    ]
    m = model(nodes, [None, 4], {"w": w32((4, 4), 0), "w2": w32((4, 4), 1)})
    with pytest.raises(ONNXImportError, match=r"node '#2' \(Add\).*not element-wise polynomials of the same"):
        nno.load(m.SerializeToString())
    # a per-feature scale on one side only: h * (s * h)
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], transB=1),
        helper.make_node("Mul", ["h", "s"], ["hs"]),
        helper.make_node("Mul", ["h", "hs"], ["y"]),
    ]
    m = model(nodes, [None, 4], {"w": w32((4, 4), 0), "s": w32((4,), 1, 1.0)})
    with pytest.raises(ONNXImportError, match="chains"):
        nno.load(m.SerializeToString())


def test_inputs_outputs_and_shapes_errors():
    two = [helper.make_tensor_value_info(n, FLOAT, [None, 4]) for n in ("x", "z")]
    m = model([helper.make_node("Mul", ["x", "z"], ["y"])], None, inputs=two)
    with pytest.raises(ONNXImportError, match=r"exactly one data input, found 2 \['x', 'z'\]"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Identity", ["c"], ["y"])], [None, 4], {"c": np.ones(4, np.float32)})
    with pytest.raises(ONNXImportError, match="exactly one data input, found 0"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Identity", ["x"], ["y"])], [None, 4])
    with pytest.raises(ONNXImportError, match="identity"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Identity", ["x"], ["y"])], [None, 4], elem=TensorProto.INT64)
    with pytest.raises(ONNXImportError, match="float inputs only"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Identity", ["x"], ["y"])], [None])
    with pytest.raises(ONNXImportError, match="rank 1"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Gemm", ["x", "w"], ["h"]), helper.make_node("Reshape", ["h", "s"], ["y"])],
              [None, 4], {"w": w32((4, 8), 0), "s": np.array([-1, 2, 4], np.int64)})  # fmt: skip
    with pytest.raises(ONNXImportError, match=r"\(Reshape\).*only flatten"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Reshape", ["x", "s"], ["y"])], [None, 8], {"s": np.array([2, -1], np.int64)})
    with pytest.raises(ONNXImportError, match="batch dimension first"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Flatten", ["x"], ["y"], axis=2)], [None, 2, 3, 3])
    with pytest.raises(ONNXImportError, match="axis=2"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Softmax", ["x"], ["y"], axis=1)], [None, 3, 4])
    with pytest.raises(ONNXImportError, match="last axis"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Gemm", ["x", "w"], ["y"])], [None, 4], {"w": w32((5, 3), 0)})
    with pytest.raises(ONNXImportError, match="4 features"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Add", ["x", "c"], ["y"])], [None, 4], {"c": np.ones((3, 4), np.float32)})
    with pytest.raises(ONNXImportError, match="does not broadcast per sample"):
        nno.load(m.SerializeToString())
    m = model([helper.make_node("Mul", ["x", "z"], ["y"])], [None, 4], {"z": np.zeros(4, np.float32)})
    with pytest.raises(ONNXImportError, match="constant"):
        nno.load(m.SerializeToString())


N = helper.make_node


@pytest.mark.parametrize(
    ("nodes", "shape", "inits", "match"),
    [
        ([N("Cast", ["x"], ["y"], to=TensorProto.INT64)], [None, 4], {}, "not a float type"),
        ([N("Dropout", ["x", "r", "t"], ["y"])], [None, 4], {"r": np.float32(0.5), "t": np.array(True)},
         "training mode"),
        ([N("Gemm", ["x", "w"], ["y"], transA=1)], [None, 4], {"w": np.ones((4, 2), np.float32)}, "transA=1"),
        ([N("Gemm", ["w", "x"], ["y"])], [None, 4], {"w": np.ones((2, 2), np.float32)}, r"Gemm\(data, constant"),
        ([N("MatMul", ["w", "x"], ["y"])], [None, 4], {"w": np.ones((2, 2), np.float32)}, r"MatMul\(data, constant"),
        ([N("MatMul", ["x", "w"], ["y"])], [None, 3, 4], {"w": np.ones((4, 2), np.float32)}, "rank-2 input"),
        ([N("Conv", ["x", "w"], ["y"])], [None, 2, 6], {"w": np.ones((1, 2, 3), np.float32)}, "2-D convolutions"),
        ([N("Conv", ["x", "w"], ["y"])], [None, 2, 6, 6], {"w": np.ones((1, 3, 3, 3), np.float32)},
         "expects 3 input channels"),
        ([N("Conv", ["x", "w"], ["y"])], [None, 1, 2, 2], {"w": np.ones((1, 1, 3, 3), np.float32)}, "larger"),
        ([N("GlobalAveragePool", ["x"], ["y"])], [None, 2, 4, 6], {}, "non-square"),
        ([N("Squeeze", ["x", "a"], ["y"])], [1, 4], {"a": np.array([0], np.int64)}, "non-batch dimensions"),
        ([N("Reshape", ["x", "s"], ["y"])], [None, 8], {"s": np.array([-1, -1], np.int64)}, "two inferred"),
        ([N("Reshape", ["x", "s"], ["y"])], [None, 8], {"s": np.array([0, 3], np.int64)}, "cannot reshape"),
        ([N("Reshape", ["x", "x"], ["y"])], [None, 8], {}, "target shape must be a constant"),
        ([N("BatchNormalization", ["x", "s", "s", "s", "s"], ["y"])], [None, 4], {"s": np.ones(3, np.float32)},
         "do not match the 4 channels"),
        ([N("Gemm", ["x", "w", "b"], ["y"])], [None, 4], {"w": np.ones((4, 2), np.float32),
                                                          "b": np.ones(3, np.float32)}, "bias C of shape"),
        ([N("Conv", ["x", "w", "b"], ["y"])], [None, 1, 4, 4], {"w": np.ones((2, 1, 3, 3), np.float32),
                                                                "b": np.ones(3, np.float32)}, "bias of shape"),
        ([N("Div", ["x", "z"], ["y"])], [None, 4], {"z": np.array([1, 0, 1, 1], np.float32)}, "contains 0"),
        ([N("Softmax", ["x"], ["y"], axis=0)], [None, 4], {}, "last axis"),
        ([N("AveragePool", ["x"], ["y"], kernel_shape=[5, 5])], [None, 1, 4, 4], {}, "larger than the input"),
    ],
)
def test_import_errors_table(nodes, shape, inits, match):
    with pytest.raises(ONNXImportError, match=match):
        nno.load(model(nodes, shape, inits))


def test_initializers_listed_as_inputs_are_constants():
    """Old exporters (IR < 4) list every initializer among the graph inputs."""
    ins = [helper.make_tensor_value_info("x", FLOAT, [None, 4]), helper.make_tensor_value_info("w", FLOAT, [3, 4])]
    m = model([N("Gemm", ["x", "w"], ["y"], transB=1)], None, {"w": w32((3, 4), 0)}, inputs=ins)
    net, _ = check(m, x32((2, 4)))
    assert types(net) == ["Linear"]


def test_per_channel_shift_before_padded_conv_and_bn_before_activation_without_linear():
    nodes = [helper.make_node("Add", ["x", "t"], ["a"]), helper.make_node("Conv", ["a", "w"], ["y"], pads=[1] * 4)]
    m = model(nodes, [None, 2, 5, 5], {"t": w32((1, 2, 1, 1), 0, 1.0), "w": w32((3, 2, 3, 3), 1)})
    with pytest.raises(ONNXImportError, match="padded convolution"):
        nno.load(m.SerializeToString())
    stats = {k: np.full(2, v, np.float32) for k, v in (("sc", 2.0), ("bb", 0.5), ("mu", 0.1), ("var", 1.0))}
    stats["sc"][0] = 3.0
    nodes = [helper.make_node("BatchNormalization", ["x", "sc", "bb", "mu", "var"], ["n"]),
             helper.make_node("Mul", ["n", "n"], ["y"])]  # fmt: skip
    with pytest.raises(ONNXImportError, match="does not follow a Linear"):
        nno.load(model(nodes, [None, 2, 4, 4], stats).SerializeToString())


def test_failed_load_leaves_the_model_untouched():
    m = model([helper.make_node("Gemm", ["x", "w"], ["h"], transB=1), helper.make_node("Relu", ["h"], ["y"])],
              [None, 4], {"w": w32((3, 4), 0)})  # fmt: skip
    before = m.SerializeToString()
    with pytest.raises(NotHEFriendlyError):
        nno.load(m)
    nno.load(m, he_friendly=False)
    assert m.SerializeToString() == before


# ----------------------------------------------------------------------------------------------------------------
# optional dependency, docs example
# ----------------------------------------------------------------------------------------------------------------


def test_missing_onnx_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(OptionalDependencyError, match=r'pip install "ckks-nn\[onnx\]"') as info:
        nno.load(b"anything")
    assert isinstance(info.value, ImportError)
    with pytest.raises(OptionalDependencyError):
        nno.save(nn.Sequential([nn.Linear(2, 2)]))


def test_import_nn_without_onnx_installed():
    code = (
        "import sys\n"
        "sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None\n"
        "import nn, nn.onnx\n"
        "try:\n"
        "    nn.onnx.load(b'x')\n"
        "except nn.errors.OptionalDependencyError as e:\n"
        "    print('OK', e)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("OK") and "ckks-nn[onnx]" in res.stdout


def test_example_runs():
    res = subprocess.run(
        [sys.executable, str(REPO / "examples" / "onnx_pytorch.py")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, f"{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    assert "max abs difference" in res.stdout


# ----------------------------------------------------------------------------------------------------------------
# layout transposes (channels-last graphs, as Keras and TensorFlow export them)
# ----------------------------------------------------------------------------------------------------------------


def channels_last_cnn(channels: int = 3, *, flatten: str = "reshape", input_relayout: str = "transpose"):
    """The graph tf2onnx writes for a Keras CNN on NHWC images: Transpose to NCHW (a Reshape when there is one
    channel), Conv, a per-channel scale (BatchNormalization), x * x, AveragePool, Transpose back to NHWC, the
    Keras Flatten (a Reshape whose target is computed by Shape -> Gather -> Cast to int32 -> Concat -> Cast), and
    Dense layers as MatMul + Add with (in, out) weights."""
    c = channels
    nodes = []
    if input_relayout == "transpose":
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]))
    else:
        nodes.append(helper.make_node("Reshape", ["x", "nchw"], ["xt"]))
    nodes += [
        helper.make_node("Conv", ["xt", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["c", "bn"], ["cs"]),
        helper.make_node("Mul", ["cs", "cs"], ["sq"]),
        helper.make_node("AveragePool", ["sq"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Transpose", ["p"], ["pt"], perm=[0, 2, 3, 1]),
    ]
    if flatten == "reshape":
        nodes += [
            helper.make_node("Shape", ["p"], ["shp"]),
            helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
            helper.make_node("Cast", ["n"], ["n32"], to=TensorProto.INT32),
            helper.make_node("Unsqueeze", ["n32", "axes0"], ["n1"]),
            helper.make_node("Concat", ["n1", "minus1"], ["tgt32"], axis=0),
            helper.make_node("Cast", ["tgt32"], ["tgt"], to=TensorProto.INT64),
            helper.make_node("Reshape", ["pt", "tgt"], ["f"]),
        ]
    else:
        nodes.append(helper.make_node("Flatten", ["pt"], ["f"], axis=1))
    nodes += [
        helper.make_node("MatMul", ["f", "w1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["h"]),
        helper.make_node("Mul", ["h", "h"], ["hh"]),
        helper.make_node("MatMul", ["hh", "w2"], ["m2"]),
        helper.make_node("Add", ["m2", "b2"], ["y"]),
    ]
    inits = {
        "cw": w32((4, c, 3, 3), 0), "cb": w32((4,), 1, 0.1), "bn": (1 + w32((1, 4, 1, 1), 2, 0.2)),
        "zero": np.array(0, np.int64), "axes0": np.array([0], np.int64), "minus1": np.array([-1], np.int32),
        "nchw": np.array([-1, c, 8, 8], np.int64),
        "w1": w32((64, 64), 3, 1 / 8), "b1": w32((64,), 4, 0.1), "w2": w32((10, 64), 5).T.copy(),
        "b2": w32((10,), 6, 0.1),
    }  # fmt: skip
    return model(nodes, [None, 8, 8, c], inits)


@pytest.mark.parametrize("flatten", ["reshape", "flatten"])
def test_channels_last_cnn_folds_the_layout_transposes(flatten):
    """NHWC -> NCHW on the input: the imported model takes NCHW images (the warning says how); NCHW -> NHWC
    before the Flatten: folded into the rows of the next Linear, no extra layer. nn on x.transpose(0, 3, 1, 2)
    equals ONNX Runtime on the NHWC x."""
    m = channels_last_cnn(3, flatten=flatten)
    x = x32((5, 8, 8, 3))
    with pytest.warns(UserWarning, match=r"'x' \(N, 8, 8, 3\).*takes it as \(N, 3, 8, 8\).*x\.transpose\(0, 3, 1, 2\)"):
        net = nno.load(m.SerializeToString())
    assert types(net) == ["Conv2d", "Square", "AvgPool2d", "Flatten", "Linear", "Square", "Linear"]
    got = net.forward(x.transpose(0, 3, 1, 2).astype(np.float64))
    want = run_ort(m, x)
    assert float(np.max(np.abs(got - want))) < F32_BOUND
    # the fold is a row permutation of the Keras (in, out) weight: W'[g] = W, g the NCHW -> NHWC gather
    w1 = numpy_helper.to_array(next(t for t in m.graph.initializer if t.name == "w1")).astype(np.float64)
    g = np.arange(64).reshape(4, 4, 4).transpose(1, 2, 0).ravel()
    np.testing.assert_array_equal(net[4].params["weight"][g], w1)


def test_single_channel_input_reshape_is_the_input_layout():
    """tf2onnx writes NHWC -> NCHW of a one-channel input as a Reshape; the imported model takes (N, 1, 8, 8)."""
    m = channels_last_cnn(1, input_relayout="reshape")
    x = x32((4, 8, 8, 1))
    with pytest.warns(UserWarning, match=r"x\.reshape\(-1, 1, 8, 8\)"):
        net = nno.load(m.SerializeToString())
    got = net.forward(x.reshape(-1, 1, 8, 8).astype(np.float64))
    assert float(np.max(np.abs(got - run_ort(m, x)))) < F32_BOUND


def test_transposes_that_cancel_and_per_element_maps_in_the_transposed_layout():
    """NCHW -> NHWC, a per-channel Mul/Add broadcast in the NHWC layout (shape (1, 1, 1, C)), back to NCHW, pool:
    the pair cancels and the affine map folds into the Conv. Any other permutation of a sample's axes before a
    Flatten, with a per-element scale in the permuted layout, folds into the Gemm."""
    nodes = [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[3, 3]),
        helper.make_node("Transpose", ["c"], ["ct"], perm=[0, 2, 3, 1]),
        helper.make_node("Mul", ["ct", "s"], ["cs"]),
        helper.make_node("Add", ["cs", "t"], ["ca"]),
        helper.make_node("Transpose", ["ca"], ["cb2"], perm=[0, 3, 1, 2]),
        helper.make_node("Mul", ["cb2", "cb2"], ["sq"]),
        helper.make_node("AveragePool", ["sq"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    inits = {"cw": w32((3, 2, 3, 3), 0), "cb": w32((3,), 1, 0.1), "s": 1 + w32((1, 1, 1, 3), 2, 0.3),
             "t": w32((1, 1, 1, 3), 3, 0.3)}  # fmt: skip
    net, _ = check(model(nodes, [None, 2, 6, 6], inits), x32((3, 2, 6, 6)))
    assert types(net) == ["Conv2d", "Square", "AvgPool2d"]
    nodes = [
        helper.make_node("Conv", ["x", "cw"], ["c"], kernel_shape=[2, 2]),
        helper.make_node("Mul", ["c", "c"], ["s"]),
        helper.make_node("Transpose", ["s"], ["t"], perm=[0, 3, 2, 1]),
        helper.make_node("Mul", ["t", "scale"], ["u"]),
        helper.make_node("Flatten", ["u"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w"], ["y"]),
    ]
    inits = {"cw": w32((3, 2, 2, 2), 0), "scale": 1 + w32((1, 4, 5, 3), 1, 0.3), "w": w32((60, 2), 2)}
    net, _ = check(model(nodes, [None, 2, 6, 5], inits), x32((4, 2, 6, 5)))
    assert types(net) == ["Conv2d", "Square", "Flatten", "Linear"]


def test_input_transpose_before_a_flatten_folds_into_the_weight_and_keeps_the_input_layout():
    """NHWC input -> Transpose to NCHW -> Flatten -> Gemm (a PyTorch-style flatten of Keras images): no convolution
    needs the NCHW layout, so the Transpose folds into the Gemm's rows and the model takes the graph's NHWC input
    as it is (no warning). A per-channel normalisation (NHWC constants) before a Transpose and a Conv folds into
    the Conv."""
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
             helper.make_node("Flatten", ["xt"], ["f"], axis=1), helper.make_node("Gemm", ["f", "w"], ["y"])]
    m = model(nodes, [None, 4, 4, 3], {"w": w32((48, 5), 0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net, _ = check(m, x32((3, 4, 4, 3)))
    assert types(net) == ["Flatten", "Linear"]
    nodes = [helper.make_node("Sub", ["x", "mean"], ["c"]), helper.make_node("Div", ["c", "std"], ["n"]),
             helper.make_node("Transpose", ["n"], ["nt"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["nt", "cw"], ["y"], kernel_shape=[3, 3])]  # fmt: skip
    inits = {"mean": w32((1, 1, 1, 3), 1), "std": 1 + w32((1, 1, 1, 3), 2, 0.2) ** 2, "cw": w32((2, 3, 3, 3), 3)}
    x = x32((2, 6, 6, 3))
    with pytest.warns(UserWarning, match=r"x\.transpose\(0, 3, 1, 2\)"):
        net = nno.load(model(nodes, [None, 6, 6, 3], inits).SerializeToString())
    assert types(net) == ["Conv2d"]
    want = run_ort(model(nodes, [None, 6, 6, 3], inits), x)
    assert float(np.max(np.abs(net.forward(x.transpose(0, 3, 1, 2).astype(np.float64)) - want))) < F32_BOUND


def test_transposes_that_cannot_be_folded_say_why():
    """A Transpose that moves the batch axis, a Conv or a pool reading a permuted tensor, or a graph ending in one:
    ONNXImportError naming the Transpose and the layout, never the advice about polynomial activations."""
    m = model([helper.make_node("Transpose", ["x"], ["y"], perm=[1, 0])], [None, 4])
    with pytest.raises(ONNXImportError, match=r"\(Transpose\): Transpose with perm \[1, 0\] moves the batch axis") as e:
        nno.load(m.SerializeToString())
    assert "polynomial" not in str(e.value)
    conv = helper.make_node("Conv", ["x", "cw"], ["c"], kernel_shape=[1, 1])
    cases = [
        ([helper.make_node("Conv", ["ct", "cw"], ["y"], kernel_shape=[1, 1])], r"\(Conv\): Conv reads the tensor"),
        ([helper.make_node("AveragePool", ["ct"], ["y"], kernel_shape=[2, 2])], r"\(AveragePool\): pooling reads"),
        ([helper.make_node("Identity", ["ct"], ["y"])], r"graph output 'y': is the tensor that a Transpose"),
    ]
    for tail, match in cases:
        nodes = [conv, helper.make_node("Transpose", ["c"], ["ct"], perm=[0, 2, 3, 1]), *tail]
        m = model(nodes, [None, 2, 2, 2], {"cw": w32((2, 2, 1, 1), 0)})
        with pytest.raises(ONNXImportError, match=match) as e:
            nno.load(m.SerializeToString())
        assert "perm [0, 2, 3, 1]" in str(e.value) and "channels-first" in str(e.value)
    m = model([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 2, 1])], [None, 2, 3])
    with pytest.raises(ONNXImportError, match=r"perm \[0, 2, 1\]|identity"):
        nno.load(m.SerializeToString())


KERAS_SKIP = "tensorflow and tf2onnx are not installed (large, not dev dependencies): pip install tensorflow tf2onnx"


def test_keras3_channels_last_cnn_recipe_of_the_docs(tmp_path):
    """The recipe of docs/nn/onnx.md: a Keras 3 CNN on NHWC images, exported with keras' own
    model.export(..., format="onnx") and with tf2onnx.convert.from_function, loads and agrees with Keras."""
    tf = pytest.importorskip("tensorflow", reason=KERAS_SKIP)
    pytest.importorskip("tf2onnx", reason=KERAS_SKIP)
    import keras
    import tf2onnx

    keras.utils.set_random_seed(0)
    bias = keras.initializers.RandomNormal(stddev=0.1)
    inputs = keras.Input((8, 8, 3), name="x")
    h = keras.layers.Conv2D(4, 3, padding="same", bias_initializer=bias)(inputs)
    h = keras.layers.Lambda(lambda t: t * t)(h)
    h = keras.layers.AveragePooling2D(2)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(16, bias_initializer=bias)(h)
    h = keras.layers.Lambda(lambda t: t * t)(h)
    keras_model = keras.Model(inputs, keras.layers.Dense(10, bias_initializer=bias)(h))
    x = x32((4, 8, 8, 3))
    want = np.asarray(keras_model(x))

    keras_model.export(str(tmp_path / "cnn.onnx"), format="onnx")
    spec = (tf.TensorSpec((None, 8, 8, 3), tf.float32, name="x"),)
    proto, _ = tf2onnx.convert.from_function(tf.function(keras_model), input_signature=spec, opset=17)
    for source in (str(tmp_path / "cnn.onnx"), proto.SerializeToString()):
        with pytest.warns(UserWarning, match=r"x\.transpose\(0, 3, 1, 2\)"):
            net = nno.load(source)
        assert types(net) == ["Conv2d", "Square", "AvgPool2d", "Flatten", "Linear", "Square", "Linear"]
        got = net.forward(x.transpose(0, 3, 1, 2).astype(np.float64))
        assert float(np.max(np.abs(got - want))) < 1e-4


# ----------------------------------------------------------------------------------------------------------------
# external data (PyTorch's default exporter writes the weights to model.onnx.data)
# ----------------------------------------------------------------------------------------------------------------


def test_external_data_loads_from_the_path_and_says_what_to_do_otherwise(tmp_path):
    m = _mlp()
    folder = tmp_path / "export"
    folder.mkdir()
    path = folder / "model.onnx"
    copy = onnx.ModelProto.FromString(m.SerializeToString())  # save_model moves the copy's weights out
    onnx.save_model(copy, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=0)  # fmt: skip
    assert (folder / "model.onnx.data").is_file()
    x = x32((3, 4))
    net = nno.load(path)  # the path: the data file next to it is read
    assert float(np.max(np.abs(net.forward(x.astype(np.float64)) - run_ort(m, x)))) < F32_BOUND
    assert nno.load(str(path)).layers[0].params["weight"].shape == net.layers[0].params["weight"].shape

    both_fixes = r"save_as_external_data=False"
    with pytest.raises(ONNXImportError, match=r"bytes.*'model\.onnx\.data'.*pass the path") as e:
        nno.load(path.read_bytes())
    assert "external_data=False" in str(e.value) and re.search(both_fixes, str(e.value))
    with pytest.raises(ONNXImportError, match=r"ModelProto.*'model\.onnx\.data'.*Pass the path"):
        nno.load(onnx.load(str(path), load_external_data=False))
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "model.onnx").write_bytes(path.read_bytes())  # moved without its .onnx.data
    with pytest.raises(ONNXImportError, match=r"'model\.onnx\.data'.*not in .*moved.*next to the \.onnx") as e:
        nno.load(moved / "model.onnx")
    assert re.search(both_fixes, str(e.value))
    # the second fix works: one file
    onnx.save_model(onnx.load(str(path)), str(tmp_path / "one.onnx"), save_as_external_data=False)
    nno.load((tmp_path / "one.onnx").read_bytes())


def test_imported_layers_claim_no_initialisation():
    net = nno.load(_mlp().SerializeToString())
    assert "init=" not in repr(net) and all(layer.get_config().get("init") is None for layer in net)
    assert "init='he'" in repr(nn.Linear(2, 3))
