"""From PyTorch to nn through ONNX: import an HE-friendly CNN, check it against ONNX Runtime, run it encrypted.

The PyTorch model below is a small HE-friendly CNN: a convolution with batch
normalisation, ``x * x`` (a square activation), average pooling, a linear layer,
a quadratic activation ``0.1 x^2 + 0.5 x + 0.2`` and a soft-argmax output
``softmax(4 * z)``.  It is exported with ``torch.onnx.export`` and loaded with
``nn.onnx.load``, which folds the batch normalisation into the convolution and
maps every operator onto a standard ``nn`` layer::

    Conv2d -> Square -> AvgPool2d -> Flatten -> Linear -> QuadraticActivation -> Linear -> SoftArgmax(beta=4)

PyTorch is not a dependency of this project: when ``torch`` is not installed
the example builds the same graph (same operators, random weights) with
``onnx.helper`` instead, so it runs anywhere ``pip install "ckks-nn[onnx]"``
has been run.

The imported model is then compiled with ``nn.encrypted.compile`` (128-bit
secure parameters, chosen from the plan's depth) and run on encrypted digits
images: the server evaluates the layers up to the logits on ciphertexts, the
client decrypts the logits and applies the softmax, and the predicted classes
agree with ONNX Runtime's.

Run: python examples/onnx_pytorch.py
"""

from __future__ import annotations

import inspect
import io

import numpy as np

import nn
import nn.onnx
from nn import encrypted
from nn.datasets import load_digits

INPUT_SHAPE = (1, 8, 8)  # one 8x8 grey-scale image per sample, like nn.datasets.load_digits


def pytorch_onnx() -> bytes | None:
    """The model defined and exported with PyTorch, or None if torch is not installed."""
    try:
        import torch
    except ImportError:
        return None

    class HEFriendlyCNN(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, kernel_size=3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.pool = torch.nn.AvgPool2d(2)
            self.fc1 = torch.nn.Linear(4 * 4 * 4, 16)
            self.fc2 = torch.nn.Linear(16, 10)

        def forward(self, x):
            x = self.bn(self.conv(x))
            x = x * x  # -> nn.Square
            x = torch.flatten(self.pool(x), 1)  # -> nn.AvgPool2d, nn.Flatten
            x = self.fc1(x)
            x = 0.1 * x * x + 0.5 * x + 0.2  # -> nn.QuadraticActivation(0.1, 0.5, 0.2)
            return torch.softmax(4.0 * self.fc2(x), dim=-1)  # -> nn.SoftArgmax(beta=4)

    torch.manual_seed(0)
    model = HEFriendlyCNN().eval()  # evaluation mode: batch norm uses its running statistics
    buffer = io.BytesIO()
    kwargs = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(
        model,
        torch.zeros(1, *INPUT_SHAPE),
        buffer,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},  # only the batch dimension may be dynamic
        opset_version=17,
        **kwargs,
    )
    return buffer.getvalue()


def handmade_onnx() -> bytes:
    """The same graph as PyTorch exports it, built with onnx.helper (random weights)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def param(name: str, *shape: int, scale: float = 0.3, shift: float = 0.0) -> object:
        return numpy_helper.from_array((shift + scale * rng.normal(size=shape)).astype(np.float32), name)

    def scalar(name: str, value: float) -> object:
        return numpy_helper.from_array(np.array(value, dtype=np.float32), name)

    weights = [
        param("conv.weight", 4, 1, 3, 3),
        param("conv.bias", 4, scale=0.1),
        param("bn.weight", 4, scale=0.1, shift=1.0),
        param("bn.bias", 4, scale=0.1),
        param("bn.running_mean", 4, scale=0.1),
        numpy_helper.from_array(rng.uniform(0.5, 1.5, size=4).astype(np.float32), "bn.running_var"),
        param("fc1.weight", 16, 64, scale=0.15),  # PyTorch's (out, in) layout
        param("fc1.bias", 16, scale=0.1),
        param("fc2.weight", 10, 16, scale=0.25),
        param("fc2.bias", 10, scale=0.1),
        scalar("a", 0.1),
        scalar("b", 0.5),
        scalar("c", 0.2),
        scalar("beta", 4.0),
    ]
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "conv.weight", "conv.bias"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["conv", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["bn"]),
        node("Mul", ["bn", "bn"], ["square"]),
        node("AveragePool", ["square"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Flatten", ["pool"], ["flat"], axis=1),
        node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["fc1"], transB=1),
        node("Mul", ["a", "fc1"], ["ax"]),
        node("Mul", ["ax", "fc1"], ["axx"]),
        node("Mul", ["b", "fc1"], ["bx"]),
        node("Add", ["axx", "bx"], ["quad"]),
        node("Add", ["quad", "c"], ["act"]),
        node("Gemm", ["act", "fc2.weight", "fc2.bias"], ["fc2"], transB=1),
        node("Mul", ["beta", "fc2"], ["logits"]),
        node("Softmax", ["logits"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "he_friendly_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *INPUT_SHAPE])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        weights,
    )
    opsets = [helper.make_opsetid("", 17)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    return model.SerializeToString()


def onnx_runtime(data: bytes, x: np.ndarray) -> np.ndarray | None:
    """The ONNX graph evaluated by ONNX Runtime, or None if it is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def main() -> None:
    data = pytorch_onnx()
    source = "PyTorch (torch.onnx.export)"
    if data is None:
        data = handmade_onnx()
        source = "onnx.helper (torch is not installed)"
    print(f"ONNX model from {source}: {len(data)} bytes")

    # 1. Import: standard nn layers, batch norm folded into the convolution.
    model = nn.onnx.load(data)
    print(model.summary())
    names = [type(layer).__name__ for layer in model]
    assert names == ["Conv2d", "Square", "AvgPool2d", "Flatten", "Linear", "QuadraticActivation", "Linear",
                     "SoftArgmax"], names  # fmt: skip
    assert model[-1].beta == 4.0

    # 2. The imported model computes what the ONNX graph computes, here on 16 digits test images.
    digits = load_digits()
    x = digits.x_test[:16]
    y_nn = model.predict(x)
    y_ort = onnx_runtime(data, x.astype(np.float32))
    if y_ort is None:
        print("onnxruntime is not installed: skipping the comparison")
    else:
        diff = float(np.max(np.abs(y_nn - y_ort)))
        print(f"nn vs ONNX Runtime on {len(x)} images: max abs difference {diff:.2e}")
        assert diff < 1e-5

    # 3. It is an ordinary nn.Sequential: fine-tune it, save it, export it back to ONNX.
    round_trip = nn.onnx.load(nn.onnx.save(model, input_shape=INPUT_SHAPE))
    assert [type(layer).__name__ for layer in round_trip] == names
    depth = sum(layer.multiplicative_depth() or 0 for layer in model)
    print(f"multiplicative depth before the soft-argmax (CKKS levels): {depth}")

    # 4. Encrypted inference.  The imported model is a plain nn.Sequential, so it compiles like any other.
    #    The softmax is left to the client: under encryption its depth grows with beta times the spread
    #    of the logits (here about 36 levels instead of 5), so the server computes the logits only.
    logits_model = nn.Sequential(model.layers[:-1])
    em = encrypted.compile(logits_model, input_shape=INPUT_SHAPE, batch_size=len(x), calibration=digits.x_train)
    print(em.summary())
    ctx = em.keygen()  # client: the secret key and the Galois keys the plan needs
    server = ctx.public_copy()  # what the server receives: no secret key
    encrypted_logits = em.run(server, em.encrypt(ctx, x))  # server side, on ciphertexts only
    logits = em.decrypt(ctx, encrypted_logits)  # client side
    y_enc = softmax(model[-1].beta * logits)
    print(
        f"encrypted vs plaintext logits: max abs difference {np.max(np.abs(logits - logits_model.forward(x))):.2e} "
        f"(bound {em.tolerance:.1e})"
    )
    if y_ort is not None:
        agree = np.mean(y_enc.argmax(1) == y_ort.argmax(1))
        print(
            f"encrypted vs ONNX Runtime on {len(x)} images: max abs difference of the probabilities "
            f"{np.max(np.abs(y_enc - y_ort)):.2e}, same argmax on {agree:.0%}"
        )
        assert agree == 1.0


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


if __name__ == "__main__":
    main()
