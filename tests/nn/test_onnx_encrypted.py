"""Imported ONNX models run encrypted: ``nn.onnx.load`` -> ``nn.encrypted.compile`` -> encrypt, run, decrypt,
checked against ONNX Runtime on the same inputs.

The graphs are built with ``onnx.helper`` (random weights) and evaluated on digits test images, calibrated on
the digits training images.  The ring is the toy one of ``tests/nn/encrypted`` (N = 2048, ``security=None``):
these tests check correctness, not security.

Bounds.  Logits: ``max |encrypted - ONNX Runtime| <= em.tolerance + F32_BOUND``, where ``em.tolerance`` is the
error bound the compiled parameters promise and ``F32_BOUND`` covers ONNX Runtime's float32 arithmetic (see
``tests/nn/test_onnx.py``); measured: at most about 1.3e-4 against tolerances of 2e-3 to 8e-3.  The encrypted
argmax equals ONNX Runtime's on every input, and the inputs are checked to have a top-2 logit margin above
twice the tolerance, so that the agreement is implied by the bound rather than luck (measured margins: at
least 0.015).  Soft-argmax probabilities: within ``SOFTMAX_BOUND = 5e-3`` of ONNX Runtime's ``Softmax``, the
encrypted layer's stated error (``docs/nn/encrypted_inference.md``; measured: below 1e-3).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import nn  # noqa: E402
import nn.onnx as nno  # noqa: E402
from nn import encrypted  # noqa: E402
from nn.datasets import load_digits  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")

#: compile() options of the encrypted tests: a toy ring, so that every test runs in about a second.
TOY = {"security": None, "poly_degree": 2048}
F32_BOUND = 1e-5
SOFTMAX_BOUND = 5e-3
SHAPE = (1, 8, 8)
node = helper.make_node


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def weights(seed: int, **shapes: tuple[int, ...]) -> list:
    """Float32 initializers: matrices normal with variance 1/fan-in (``fan_in`` = all but the first dimension,
    PyTorch's (out, in) layout; a name ending in ``_t`` is stored transposed, Keras' (in, out) layout), biases
    (one dimension) normal times 0.1."""
    rng = np.random.default_rng(seed)
    out = []
    for name, shape in shapes.items():
        scale = 1.0 / np.sqrt(np.prod(shape[1:])) if len(shape) > 1 else 0.1
        value = (scale * rng.normal(size=shape)).astype(np.float32)
        out.append(numpy_helper.from_array(value.T.copy() if name.endswith("_t") else value, name))
    return out


def scalars(**values: float) -> list:
    return [numpy_helper.from_array(np.array(v, dtype=np.float32), name) for name, v in values.items()]


def graph(nodes: list, inits: list, shape: tuple[int, ...] = SHAPE) -> bytes:
    """A serialized opset-17 model: input ``x`` of shape (N, *shape) with a dynamic batch N, output ``y``."""
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    ops = [helper.make_opsetid("", 17)]
    m = helper.make_model(g, opset_imports=ops)
    m.ir_version = helper.find_min_ir_version_for(ops)
    return m.SerializeToString()


def run_ort(data: bytes, x: np.ndarray, output: str | None = None) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    return sess.run([output] if output else None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]


def run_encrypted(em: encrypted.EncryptedModel, x: np.ndarray) -> tuple[np.ndarray, encrypted.EncryptedBatch]:
    """Client encrypts, server (public copy, no secret key) runs, client decrypts."""
    ctx = em.keygen()
    out = em.run(ctx.public_copy(), em.encrypt(ctx, x))
    return em.decrypt(ctx, out), em.decrypt_soft_argmax(ctx, out) if em.has_softargmax else None


def types(net: nn.Sequential) -> list[str]:
    return [type(layer).__name__ for layer in net]


def check_logits(em: encrypted.EncryptedModel, got: np.ndarray, want: np.ndarray) -> None:
    """Encrypted logits within the compiled tolerance of ONNX Runtime's, with the same argmax."""
    err = float(np.max(np.abs(got - want)))
    assert err <= em.tolerance + F32_BOUND, f"max |encrypted - ONNX Runtime| = {err:.2e} > {em.tolerance:.2e}"
    top2 = np.sort(want, axis=1)[:, -2:]
    assert np.all(top2[:, 1] - top2[:, 0] > 2 * em.tolerance), "inputs too close to a tie for a meaningful check"
    assert np.array_equal(got.argmax(1), want.argmax(1))


# ----------------------------------------------------------------------------------------------------------------
# graphs
# ----------------------------------------------------------------------------------------------------------------


def mlp_quadratic() -> bytes:
    """Flatten, Gemm (PyTorch's transB=1 layout), 0.1 h^2 + 0.5 h + 0.2 as Mul/Add nodes, Gemm."""
    nodes = [
        node("Flatten", ["x"], ["f"], axis=1),
        node("Gemm", ["f", "w1", "b1"], ["h"], transB=1),
        node("Mul", ["h", "h"], ["hh"]),
        node("Mul", ["a", "hh"], ["ahh"]),
        node("Mul", ["b", "h"], ["bh"]),
        node("Add", ["ahh", "bh"], ["q"]),
        node("Add", ["q", "c"], ["act"]),
        node("Gemm", ["act", "w2", "b2"], ["y"], transB=1),
    ]
    return graph(nodes, weights(0, w1=(16, 64), b1=(16,), w2=(10, 16), b2=(10,)) + scalars(a=0.1, b=0.5, c=0.2))


def mlp_matmul_cubic() -> bytes:
    """Keras-style MatMul + Add (an (in, out) weight), a cubic 0.05 h^3 + h - 0.1 with Pow, MatMul + Add."""
    nodes = [
        node("Flatten", ["x"], ["f"], axis=1),
        node("MatMul", ["f", "w1_t"], ["m1"]),
        node("Add", ["m1", "b1"], ["h"]),
        node("Pow", ["h", "three"], ["h3"]),
        node("Mul", ["h3", "a"], ["ah3"]),
        node("Add", ["ah3", "h"], ["p"]),
        node("Sub", ["p", "c"], ["act"]),
        node("MatMul", ["act", "w2_t"], ["m2"]),
        node("Add", ["m2", "b2"], ["y"]),
    ]
    inits = weights(1, w1_t=(12, 64), b1=(12,), w2_t=(10, 12), b2=(10,)) + scalars(three=3.0, a=0.05, c=0.1)
    return graph(nodes, inits)


def cnn() -> bytes:
    """Conv (3x3, padding 1), x * x, AveragePool 2x2, Flatten, Gemm: 8x8 images to 10 logits."""
    nodes = [
        node("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Mul", ["c", "c"], ["s"]),
        node("AveragePool", ["s"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Flatten", ["p"], ["f"], axis=1),
        node("Gemm", ["f", "w", "b"], ["y"], transB=1),
    ]
    return graph(nodes, weights(0, cw=(4, 1, 3, 3), cb=(4,), w=(10, 64), b=(10,)))


def mlp_softmax(beta: float) -> bytes:
    """Gemm, x * x, Gemm, Mul by beta, Softmax: 10 class probabilities."""
    nodes = [
        node("Flatten", ["x"], ["f"], axis=1),
        node("Gemm", ["f", "w1", "b1"], ["h"], transB=1),
        node("Mul", ["h", "h"], ["hh"]),
        node("Gemm", ["hh", "w2", "b2"], ["z"], transB=1),
        node("Mul", ["z", "beta"], ["bz"]),
        node("Softmax", ["bz"], ["y"], axis=-1),
    ]
    inits = weights(0, w1=(8, 64), b1=(8,), w2=(10, 8), b2=(10,)) + scalars(beta=beta)
    inits[2].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(inits[2]) * np.float32(0.5), "w2"))
    return graph(nodes, inits)


# ----------------------------------------------------------------------------------------------------------------
# tests
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["sample", "batch"])
@pytest.mark.parametrize(
    "make, layers",
    [
        (mlp_quadratic, ["Flatten", "Linear", "QuadraticActivation", "Linear"]),
        (mlp_matmul_cubic, ["Flatten", "Linear", "PolyActivation", "Linear"]),
    ],
    ids=["gemm-quadratic", "matmul-cubic"],
)
def test_mlp_encrypted_matches_onnx_runtime(make, layers, layout, digits):
    data = make()
    net = nno.load(data)
    assert types(net) == layers
    x = digits.x_test[:4]
    em = encrypted.compile(net, input_shape=SHAPE, batch_size=len(x), layout=layout, calibration=digits.x_train, **TOY)
    got, _ = run_encrypted(em, x)
    check_logits(em, got, run_ort(data, x))


@pytest.mark.parametrize("layout, first_conv", [("sample", "im2col"), ("sample", "server"), ("batch", "server")])
def test_cnn_encrypted_matches_onnx_runtime(layout, first_conv, digits):
    data = cnn()
    net = nno.load(data)
    assert types(net) == ["Conv2d", "Square", "AvgPool2d", "Flatten", "Linear"]
    x = digits.x_test[:4] if layout == "batch" else digits.x_test[:2]  # the sample layout costs one run per image
    em = encrypted.compile(net, input_shape=SHAPE, batch_size=len(x), layout=layout, first_conv=first_conv,
                           calibration=digits.x_train, **TOY)  # fmt: skip
    got, _ = run_encrypted(em, x)
    check_logits(em, got, run_ort(data, x))


def test_softmax_graph_encrypted_soft_argmax(digits):
    """Mul by beta + Softmax imports as SoftArgmax(beta), evaluated under encryption: the decrypted
    probabilities match ONNX Runtime's Softmax, and so do their argmax and the soft-argmax index."""
    data = mlp_softmax(beta=2.0)
    net = nno.load(data)
    assert types(net) == ["Flatten", "Linear", "Square", "Linear", "SoftArgmax"] and net[-1].beta == 2.0
    x = digits.x_test[:4]
    em = encrypted.compile(net, input_shape=SHAPE, batch_size=len(x), layout="batch", calibration=digits.x_train,
                           **TOY)  # fmt: skip  (flooding's scale gives the soft-argmax ~40 bits inside)
    assert em.has_softargmax
    probs, index = run_encrypted(em, x)
    want = run_ort(data, x)
    top2 = np.sort(want, axis=1)[:, -2:]
    assert np.all(top2[:, 1] - top2[:, 0] > 2 * SOFTMAX_BOUND), "inputs too close to a tie for a meaningful check"
    np.testing.assert_allclose(probs, want, atol=SOFTMAX_BOUND)
    assert np.array_equal(probs.argmax(1), want.argmax(1))
    np.testing.assert_allclose(index, want @ np.arange(10), atol=SOFTMAX_BOUND * 10)


def test_sklearn_mlp_classifier_identity_encrypted(digits):
    """An MLPClassifier(activation='identity') trained on the digits, exported with skl2onnx: its logits run
    encrypted and their argmax is the ONNX graph's ``label``; the client's softmax of the decrypted logits is
    ONNX Runtime's ``probabilities``.

    The softmax is left to the client: this classifier's logits spread widely, so the encrypted soft-argmax
    would need a deep soft-argmax. A sharp softmax head (beta = 3) is refused, and the message names the remedies
    that work: the logits-only model (run below), or a softer nn.SoftArgmax (the same argmax), which compiles
    after the halvings of beta the message suggests. Inputs of the wrong shape name the fix that applies.
    """
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.neural_network import MLPClassifier

    x_train = digits.x_train.reshape(len(digits.x_train), 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: a few iterations are enough here
        clf = MLPClassifier(hidden_layer_sizes=(16,), activation="identity", max_iter=60, random_state=0)
        clf.fit(x_train, digits.y_train)
    data = skl2onnx.to_onnx(clf, x_train[:1].astype(np.float32), options={"zipmap": False}).SerializeToString()
    net = nno.load(data, output="probabilities")
    assert types(net) == ["Linear", "Linear", "SoftArgmax"]
    sharp = nn.Sequential([*net.layers[:-1], nn.SoftArgmax(beta=3.0)])  # logits spread ~16: ratio ~1e9
    with pytest.raises(nn.errors.ConfigError) as refused:
        encrypted.compile(sharp, input_shape=(64,), batch_size=8, calibration=x_train, security=None)
    text = str(refused.value)
    assert "compile nn.Sequential(model.layers[:-1])" in text and "softmax to the decrypted logits" in text
    assert "Lower beta" in text and "nn.Sequential([*model.layers[:-1], nn.SoftArgmax(beta=" in text
    beta = float(re.search(r"nn\.SoftArgmax\(beta=([0-9.e-]+)\)", text).group(1))
    softer = None
    for _ in range(4):  # the advice works: a softer SoftArgmax (same argmax) compiles after a few halvings
        try:
            softer = encrypted.compile(nn.Sequential([*net.layers[:-1], nn.SoftArgmax(beta=beta)]),
                                       input_shape=(64,), batch_size=8, calibration=x_train, security=None)
            break
        except nn.errors.ConfigError as exc:
            assert "Lower beta" in str(exc)
            beta /= 2
    assert softer is not None and softer.has_softargmax and beta < 3.0
    logits = nn.Sequential(net.layers[:-1])
    x = digits.x_test[:8].reshape(8, 64)
    em = encrypted.compile(logits, input_shape=(64,), batch_size=len(x), calibration=x_train, **TOY)
    for bad, fix in [(digits.x_test[:8], r"x\.reshape\(len\(x\), -1\)"), (x[0], r"batch axis is missing.*x\[None\]")]:
        with pytest.raises(nn.errors.ShapeError, match=fix):
            em.features(bad)
    got, _ = run_encrypted(em, x)
    check_logits(em, got, logits.forward(x))
    assert np.array_equal(got.argmax(1), run_ort(data, x, output="label"))
    e = np.exp(net[-1].beta * (got - got.max(1, keepdims=True)))
    np.testing.assert_allclose(e / e.sum(1, keepdims=True), run_ort(data, x, output="probabilities"), atol=1e-3)


def channels_last_cnn() -> bytes:
    """A Keras-style channels-last CNN: NHWC input, Transpose to NCHW, Conv, x * x, AveragePool, Transpose back to
    NHWC, Keras' Flatten (Reshape to (N, -1)), Dense as MatMul + Add with an (in, out) weight."""
    nodes = [
        node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
        node("Conv", ["xt", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("Mul", ["c", "c"], ["s"]),
        node("AveragePool", ["s"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Transpose", ["p"], ["pt"], perm=[0, 2, 3, 1]),
        node("Reshape", ["pt", "flat"], ["f"]),
        node("MatMul", ["f", "w_t"], ["m"]),
        node("Add", ["m", "b"], ["y"]),
    ]
    inits = weights(2, cw=(4, 1, 3, 3), cb=(4,), w_t=(10, 64), b=(10,))
    inits.append(numpy_helper.from_array(np.array([-1, 64], np.int64), "flat"))
    return graph(nodes, inits, shape=(8, 8, 1))


def test_channels_last_cnn_encrypted_matches_onnx_runtime(digits):
    """The layout transposes fold (the input one into the model's NCHW input, the one before the Flatten into the
    rows of the Dense weight): encrypted logits on x in NCHW agree with ONNX Runtime on the NHWC x."""
    data = channels_last_cnn()
    with pytest.warns(UserWarning, match=r"x\.transpose\(0, 3, 1, 2\)"):
        net = nno.load(data)
    assert types(net) == ["Conv2d", "Square", "AvgPool2d", "Flatten", "Linear"]
    x = digits.x_test[:2]  # NCHW
    em = encrypted.compile(net, input_shape=SHAPE, batch_size=len(x), layout="sample", calibration=digits.x_train,
                           **TOY)  # fmt: skip
    got, _ = run_encrypted(em, x)
    check_logits(em, got, run_ort(data, x.transpose(0, 2, 3, 1)))
