"""Sequential: end-to-end gradients, multiplicative depth, and the npz + JSON file format."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from nn.activations import PolyActivation, QuadraticActivation, ReLU, ReLUToQuadratic, SoftArgmax, Square
from nn.architectures import digits_cnn, mlp
from nn.errors import LayerTypeError, ModelFormatError, NotHEFriendlyError
from nn.layers import AvgPool2d, Conv2d, Flatten, Layer, Linear
from nn.losses import CrossEntropy
from nn.model import FORMAT_VERSION, LAYER_TYPES, Sequential, register_layer


def test_whole_model_gradient_through_cross_entropy(numgrad):
    rng = np.random.default_rng(0)
    model = Sequential(
        [
            Conv2d(1, 2, 3, padding=1, rng=0),
            QuadraticActivation(0.1, 0.8, 0.05),
            AvgPool2d(2),
            Flatten(),
            Linear(8, 4, rng=1),
            Square(),
            Linear(4, 3, rng=2),
        ]
    )
    x = rng.normal(size=(3, 1, 4, 4))
    y = np.array([0, 2, 1])
    loss = CrossEntropy()

    def f() -> float:
        return loss(model.forward(x), y)[0]

    _, g = loss(model.forward(x), y)
    model.backward(g)
    for name, value, grad in model.parameters():
        num = numgrad(f, value)
        err = np.linalg.norm(grad - num) / max(np.linalg.norm(grad) + np.linalg.norm(num), 1e-12)
        assert err < 1e-6, name


def test_depth_breakdown_and_total():
    model = digits_cnn("quadratic", rng=0)
    rows = model.depth_breakdown()
    assert [r["layer"] for r in rows] == [
        "Conv2d",
        "QuadraticActivation",
        "AvgPool2d",
        "Flatten",
        "Linear",
        "QuadraticActivation",
        "Linear",
    ]
    assert [r["depth"] for r in rows] == [1, 2, 1, 0, 1, 2, 1]
    assert model.multiplicative_depth() == 8
    assert digits_cnn("square", rng=0).multiplicative_depth() == 6
    assert mlp([4, 8, 3], "square").multiplicative_depth() == 3
    assert Sequential([Linear(2, 2), PolyActivation([0, 1, 0, 1]), Linear(2, 1)]).multiplicative_depth() == 4
    assert model.is_he_friendly()
    assert "multiplicative depth 8" in model.summary()


def test_relu_model_is_not_he_friendly():
    teacher = digits_cnn("relu", rng=0)
    assert not teacher.is_he_friendly()
    with pytest.raises(NotHEFriendlyError, match=r"1:ReLU, 2:MaxPool2d, 5:ReLU.*convert"):
        teacher.multiplicative_depth()
    assert "not HE-friendly" in teacher.summary()


def _all_layer_types_model() -> Sequential:
    return Sequential(
        [
            Conv2d(1, 2, 3, stride=1, padding=1, rng=3),
            ReLU(),
            AvgPool2d(2),
            Conv2d(2, 2, 1, rng=4),
            Square(),
            Flatten(),
            Linear(8, 6, init="xavier", rng=5),
            QuadraticActivation(0.25, 0.5, -0.1),
            Linear(6, 5, rng=6),
            PolyActivation([0.0, 1.0, 0.1]),
            PolyActivation([0.0, 1.0, 0.05], trainable=True),
            ReLUToQuadratic(0.1, 0.2, 0.3, mix=0.4),
            SoftArgmax(beta=3.0),
        ]
    )


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = _all_layer_types_model()
    model.layers[10].params["coeffs"][...] = [0.01, 0.9, 0.07]
    x = np.random.default_rng(1).normal(size=(5, 1, 4, 4))
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Sequential.load(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [type(a) for a in loaded] == [type(b) for b in model]
    assert loaded.layers[11].mix == 0.4 and loaded.layers[12].beta == 3.0
    # the documented format: plain npz, no pickle, a JSON document
    with np.load(path, allow_pickle=False) as z:
        doc = json.loads(str(z["__model__"]))
        assert doc["format"] == "nn.Sequential" and doc["version"] == FORMAT_VERSION
        assert doc["layers"][0] == {
            "type": "Conv2d",
            "config": {
                "in_channels": 1,
                "out_channels": 2,
                "kernel_size": 3,
                "stride": 1,
                "padding": 1,
                "init": "he",
            },
            "params": ["weight", "bias"],
        }
        np.testing.assert_array_equal(z["layers.6.weight"], model.layers[6].params["weight"])
        assert z["layers.6.weight"].dtype == np.float64


def test_copy_is_independent():
    model = mlp([3, 4, 2], "quadratic", rng=0)
    clone = model.copy()
    x = np.ones((2, 3))
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    clone.layers[0].params["weight"][...] += 1.0
    assert not np.array_equal(clone.predict(x), model.predict(x))


def _write_npz(path, doc, arrays):
    with open(path, "wb") as f:
        np.savez(f, __model__=np.array(json.dumps(doc)), **arrays)


def _doc_and_arrays():
    return mlp([2, 3, 2], "quadratic", rng=0).to_dict()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d, a: d.update(format="keras"), "not an nn.Sequential"),
        (lambda d, a: d.update(version=99), "unsupported model format version 99"),
        (lambda d, a: d.pop("layers"), "no 'layers' list"),
        (lambda d, a: d["layers"][0].update(type="Evil"), "unknown layer type 'Evil'"),
        (lambda d, a: d["layers"][0]["config"].update(in_features=-1), "invalid config"),
        (lambda d, a: d["layers"][0]["config"].update(bogus=1), "invalid config"),
        (lambda d, a: d["layers"][0].update(params=["weight"]), "expected"),
        (lambda d, a: a.pop("layers.0.bias"), "'layers.0.bias' is missing"),
        (lambda d, a: a.update({"layers.0.weight": np.zeros((3, 2))}), "has shape"),
        (lambda d, a: a.update({"layers.0.weight": np.zeros((2, 3), dtype=np.int64)}), "float"),
        (lambda d, a: a.update({"layers.0.bias": np.array([np.nan, 0, 0])}), "NaN"),
        (lambda d, a: d["layers"].__setitem__(0, "Linear"), "must be an object"),
    ],
)
def test_load_rejects_malformed_files(tmp_path, mutate, message):
    doc, arrays = _doc_and_arrays()
    mutate(doc, arrays)
    path = tmp_path / "bad.npz"
    _write_npz(path, doc, arrays)
    with pytest.raises(ModelFormatError, match=message):
        Sequential.load(path)


def test_load_rejects_non_model_files(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ModelFormatError, match="not a readable npz"):
        Sequential.load(garbage)
    plain = tmp_path / "plain.npz"
    np.savez(plain, weights=np.zeros(3))
    with pytest.raises(ModelFormatError, match="no '__model__'"):
        Sequential.load(plain)
    badjson = tmp_path / "badjson.npz"
    np.savez(badjson, __model__=np.array("{not json"))
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        Sequential.load(badjson)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __model__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFormatError):
        Sequential.load(pickled)
    truncated = tmp_path / "truncated.npz"
    mlp([2, 2], "relu", rng=0).save(tmp_path / "ok.npz")
    truncated.write_bytes((tmp_path / "ok.npz").read_bytes()[:100])
    with pytest.raises(ModelFormatError):
        Sequential.load(truncated)
    assert zipfile.is_zipfile(tmp_path / "ok.npz")
    with pytest.raises(FileNotFoundError):
        Sequential.load(tmp_path / "missing.npz")


def test_layer_registry():
    class Custom(Layer):
        def forward(self, x):
            return x

        def backward(self, grad):
            return grad

    with pytest.raises(LayerTypeError, match="not registered"):
        Sequential([Custom()]).to_dict()
    register_layer(Custom)
    try:
        assert type(Sequential([Custom()]).copy().layers[0]) is Custom
    finally:
        LAYER_TYPES.pop("Custom")
    with pytest.raises(LayerTypeError, match="subclass of nn.layers.Layer"):
        register_layer(int)
    with pytest.raises(LayerTypeError, match="layer 1 is a str"):
        Sequential([Linear(1, 1), "relu"])
    with pytest.raises(TypeError):
        Sequential([np.zeros(3)])
