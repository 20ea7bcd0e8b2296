"""Misuse of every public entry point of ``nn.encrypted`` and ``nn.onnx``: wrong types, NaN / infinity, huge
sizes, mismatched contexts.  Each call raises the stated library error (an ``nn.errors.NNError``; ckks errors
come out translated, still instances of their ckks class) before any work starts, and leaves its inputs
unchanged.  Issue 25, items 3 and 4 (the hardening report's inputs) are all here."""

from __future__ import annotations

import copy
import json
import warnings

import numpy as np
import pytest

import ckks
import nn
import nn.onnx
from ckks import container
from ckks.errors import ContextMismatchError, InputError, InputTypeError, KeyMissingError, SerializationError
from nn import encrypted
from nn.encrypted import EncryptedBatch, choose_parameters, pretrained, training
from nn.errors import (
    ConfigError,
    LayerTypeError,
    NNError,
    ONNXImportError,
    RefreshError,
    ResourceLimitError,
    ShapeError,
)

pytestmark = pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")

TOY = {"security": None, "poly_degree": 1024}
NAN, INF = float("nan"), float("inf")


def _model() -> nn.Sequential:
    return nn.Sequential([nn.Linear(8, 4, rng=1, init="xavier"), nn.Square(), nn.Linear(4, 3, rng=2, init="xavier")])


@pytest.fixture(scope="module")
def setup():
    cal = np.random.default_rng(0).uniform(0, 1, size=(32, 8))
    em = encrypted.compile(_model(), (8,), 2, layout="sample", calibration=cal, **TOY)
    ctx = em.keygen()
    other = encrypted.compile(_model(), (8,), 2, layout="batch", calibration=cal, **TOY)
    return em, ctx, ctx.public_copy(), other, cal


def _weights(model) -> list[np.ndarray]:
    return [p.copy() for _, p, _ in model.parameters()]


def _raises(error, call, *args, **kwargs):
    """``call(*args, **kwargs)`` raises ``error``, which is an NNError, and leaves array arguments unchanged."""
    before = copy.deepcopy([a for a in [*args, *kwargs.values()] if isinstance(a, np.ndarray)])
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    assert isinstance(info.value, NNError), type(info.value).__mro__
    after = [a for a in [*args, *kwargs.values()] if isinstance(a, np.ndarray)]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    return info.value


# -- compile -----------------------------------------------------------------------------------------------------
COMPILE_MISUSE = [
    ({"input_shape": "abc"}, ConfigError),
    ({"input_shape": (10**9,)}, ConfigError),
    ({"input_shape": (0,)}, ConfigError),
    ({"input_shape": (2.5,)}, ConfigError),
    ({"input_shape": None}, ConfigError),
    ({"batch_size": 0}, ConfigError),
    ({"batch_size": 10**9}, ConfigError),
    ({"batch_size": 2.5}, ConfigError),
    ({"batch_size": True}, ConfigError),
    ({"input_range": (1, 0)}, ConfigError),
    ({"input_range": (NAN, 1)}, ConfigError),
    ({"input_range": (0, INF)}, ConfigError),
    ({"input_range": "ab"}, ConfigError),
    ({"precision_bits": 3}, ConfigError),
    ({"precision_bits": 2.5}, ConfigError),
    ({"security": 100}, ConfigError),
    ({"security": "128"}, ConfigError),
    ({"poly_degree": 3}, ConfigError),
    ({"poly_degree": 2**20}, ConfigError),
    ({"poly_degree": 1000}, ConfigError),
    ({"scale_bits": 10}, ConfigError),
    ({"scale_bits": 61}, ConfigError),
    ({"softargmax_error": 0}, ConfigError),
    ({"softargmax_error": NAN}, ConfigError),
    ({"softargmax_error": -1.0}, ConfigError),
    ({"flooding": "yes"}, ConfigError),
    ({"statistical_security": 0}, ConfigError),
    ({"memory_limit": -1}, ConfigError),
    ({"memory_limit": NAN}, ConfigError),
    ({"memory_limit": 1e5}, ResourceLimitError),
    ({"layout": "diagonal"}, ConfigError),
    ({"first_conv": "gpu"}, ConfigError),
    ({"calibration": np.full((4, 8), NAN)}, ShapeError),
    ({"calibration": np.zeros((4, 9))}, ShapeError),
    ({"precision_bits": 40}, ckks.errors.ParameterError),  # 40 bits after flooding need primes above 60 bits
]


@pytest.mark.parametrize(("change", "error"), COMPILE_MISUSE, ids=[str(c) for c, _ in COMPILE_MISUSE])
def test_compile_refuses_before_work(change, error):
    model = _model()
    before = _weights(model)
    kwargs = {"input_shape": (8,), "batch_size": 2, "layout": "sample", **TOY}
    kwargs.update(change)
    shape = kwargs.pop("input_shape")
    _raises(error, encrypted.compile, model, shape, **kwargs)
    for a, b in zip(before, _weights(model)):
        np.testing.assert_array_equal(a, b)


def test_compile_refuses_nan_weights_and_non_models():
    model = _model()
    model.parameters()[0][1][0, 0] = NAN
    _raises(ConfigError, encrypted.compile, model, (8,), **TOY)
    _raises(LayerTypeError, encrypted.compile, [nn.Linear(8, 3)], (8,), **TOY)
    _raises(LayerTypeError, encrypted.compile, "model", (8,), **TOY)


def test_compile_size_guard_refuses_a_huge_layer_before_allocating():
    wide = nn.Sequential([nn.Linear(2000, 2000, rng=0), nn.Square()])
    err = _raises(ResourceLimitError, encrypted.compile, wide, (2000,), memory_limit=2**28, **TOY)
    assert "memory_limit" in str(err) and isinstance(err, MemoryError)


# -- EncryptedModel methods ----------------------------------------------------------------------------------------
BAD_SAMPLES = [
    ("abc", InputTypeError),
    (None, ShapeError),
    (np.full((1, 8), NAN), InputError),
    (np.full((1, 8), INF), InputError),
    (np.zeros((1, 9)), ShapeError),
    (np.zeros((3, 8)), ShapeError),  # more than batch_size
    (np.zeros((0, 8)), ShapeError),
    ([[object()] * 8], InputTypeError),
]


@pytest.mark.parametrize(("x", "error"), BAD_SAMPLES, ids=[f"sample{i}" for i in range(len(BAD_SAMPLES))])
def test_encrypt_and_features_refuse_bad_samples(setup, x, error):
    em, ctx, _, _, _ = setup
    _raises(error, em.encrypt, ctx, x)
    _raises(error, em.features, x)


def test_plan_forward_and_trace_check_samples(setup):
    em, ctx, _, _, _ = setup
    _raises(InputError, em.plan_forward, np.full((2, 8), NAN))
    _raises(InputTypeError, em.plan_forward, "abc")
    _raises(ShapeError, em.trace, ctx, np.zeros((1, 7)))


def test_contexts_are_checked(setup):
    em, ctx, server, other, cal = setup
    foreign = ckks.Context(2048, [30, 20, 30], security=None)
    enc = em.encrypt(ctx, cal[:1])
    for bad in (None, "ctx", 3):
        _raises(InputTypeError, em.encrypt, bad, cal[:1])
        _raises(InputTypeError, em.run, bad, enc)
        _raises(InputTypeError, em.decrypt, bad, enc)
    _raises(ContextMismatchError, em.encrypt, foreign, cal[:1])
    _raises(ContextMismatchError, em.run, server, other.encrypt(ctx if False else other.keygen(), cal[:1]))
    out = em.run(server, enc)
    second = em.keygen()  # the same parameters, another key
    _raises(ContextMismatchError, em.run, second.public_copy(), enc)
    _raises(ContextMismatchError, em.decrypt, second, out)
    _raises(KeyMissingError, em.decrypt, server, out)
    _raises(ContextMismatchError, em.decrypt, ctx, enc)  # an input is not an output
    for bad in (None, "out", [out]):
        _raises(InputTypeError, em.decrypt, ctx, bad)
        _raises(InputTypeError, em.run, server, bad)
    _raises(ConfigError, em.decrypt_soft_argmax, ctx, out)


def test_batches_keygen_and_pretrained_check_their_arguments(setup):
    em, ctx, _, _, cal = setup
    vectors = em.encrypt(ctx, cal[:1]).vectors
    _raises(InputTypeError, EncryptedBatch, "abc", "sample", 1, em.plan_id)
    _raises(InputTypeError, EncryptedBatch, [], "sample", 1, em.plan_id)
    _raises(InputTypeError, EncryptedBatch, vectors, "sample", 1, None)
    for layout, count, kind in (("diagonal", 1, "input"), ("sample", 0, "input"), ("sample", 1e400, "input"),
                                ("sample", 1, "middle"), ("sample", True, "input")):
        _raises(InputError, EncryptedBatch, vectors, layout, count, em.plan_id, kind)
    _raises(InputTypeError, em.keygen, seed=2.5)
    for bad in ("nope", 123):
        _raises(ConfigError, pretrained.metadata, bad)


def test_run_without_galois_keys(setup):
    em, ctx, _, _, cal = setup
    bare = ckks.Context(1024, list(em.params.moduli_bits), em.params.scale_bits, security=None)
    enc = em.encrypt(bare, cal[:1])
    _raises(KeyMissingError, em.run, bare.public_copy(), enc)


# -- EncryptedBatch bytes -------------------------------------------------------------------------------------------
def _with_header(blob: bytes, key: str, raw: str) -> bytes:
    header, payload = container.open_blob(blob)
    text = json.dumps(dict(header, **{key: "@@"}), separators=(",", ":")).replace('"@@"', raw).encode()
    return container.seal(text, bytes(payload))


@pytest.mark.parametrize(("key", "raw"), [("count", "1e400"), ("lengths", "[1e400]"), ("count", "true"),
                                          ("count", "-3"), ("lengths", '"x"'), ("plan", "7"), ("count", "1.5")])
def test_batch_load_refuses_forged_headers(setup, key, raw):
    em, ctx, _, _, cal = setup
    blob = em.encrypt(ctx, cal[:1]).serialize()
    _raises(SerializationError, EncryptedBatch.load, ctx, _with_header(blob, key, raw))


def test_batch_load_refuses_non_bytes_and_truncation(setup):
    em, ctx, _, _, cal = setup
    blob = em.encrypt(ctx, cal[:1]).serialize()
    _raises(SerializationError, EncryptedBatch.load, ctx, blob[: len(blob) // 2])
    for bad in (None, 123, "text"):
        with pytest.raises(NNError):
            EncryptedBatch.load(ctx, bad)


# -- parameters, pretrained models, training ------------------------------------------------------------------------
@pytest.mark.parametrize("args", [(-1, 1.0, 4), ("a", 1.0, 4), (2, NAN, 4), (2, INF, 4), (2, 1.0, 10**9),
                                  (2, 1.0, 0), (2, 1.0, 4, 100)])
def test_choose_parameters_checks_its_arguments(args):
    _raises(ConfigError, choose_parameters, *args)


def test_pretrained_names():
    for bad in ("nope", 123, None, "../etc/passwd"):
        _raises(ConfigError, pretrained.load, bad)


def test_training_entry_points():
    x = np.random.default_rng(0).normal(size=(24, 4))
    y = np.arange(24) % 3
    model = nn.Sequential([nn.Linear(4, 7, rng=0), nn.Square(), nn.Linear(7, 3, rng=1)])
    small = {"poly_degree": 2048, "security": None, "verbose": False}
    _raises(ConfigError, encrypted.train, model, x, y, flooding="yes", **small)
    _raises(ConfigError, encrypted.train, model, x, y, steps_per_refresh=0, **small)
    _raises(ConfigError, encrypted.train, model, x, y, batch_size=10**9, **small)
    _raises(ConfigError, encrypted.train, model, x, y, scale_bits=30, **small)  # no room for flooding at 2^30
    x_nan = x.copy()
    x_nan[0, 0] = NAN
    _raises(nn.errors.DatasetError, encrypted.train, model, x_nan, y, **small)
    for depth in (0, -3, "a"):
        _raises(ConfigError, training.training_parameters, depth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = ckks.Context(2048, [60, 50, 60], 50, security=None)
    _raises(KeyMissingError, training.KeyOwner, ctx.public_copy())
    _raises(ConfigError, training.KeyOwner, ctx, flooding="no")
    _raises(ConfigError, training.KeyOwner, ctx, statistical_security=0)
    owner = training.KeyOwner(ctx)
    _raises(InputTypeError, owner.decrypt, "ciphertext")
    _raises(RefreshError, owner.refresh, "garbage", b"ticket")
    _raises(ConfigError, owner.plan_refreshes, -1, 0, 1, 1.0)
    _raises(InputTypeError, owner.measure_noise, [1], [2, 3])


# -- nn.onnx --------------------------------------------------------------------------------------------------------
def _constant_graph(op_nodes, initializers):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])
    nodes = [*op_nodes, helper.make_node("Add", ["x", "folded_slice"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x], [y], initializers)
    return onnx.helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_onnx_constant_folding_has_a_memory_limit():
    pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["big"], value=helper.make_tensor("v", TensorProto.FLOAT, [1],
                                                                                       [1.0])),
        helper.make_node("Slice", ["big", "starts", "ends", "axes"], ["sliced"]),
        helper.make_node("Reshape", ["sliced", "two"], ["folded_slice"]),
    ]
    inits = [
        helper.make_tensor("shape", TensorProto.INT64, [2], [60000, 60000]),  # 3.6e9 values: 27 GiB as float64
        helper.make_tensor("starts", TensorProto.INT64, [2], [0, 0]),
        helper.make_tensor("ends", TensorProto.INT64, [2], [1, 2]),
        helper.make_tensor("axes", TensorProto.INT64, [2], [0, 1]),
        helper.make_tensor("two", TensorProto.INT64, [1], [2]),
    ]
    blob = _constant_graph(nodes, inits)
    err = _raises(ResourceLimitError, nn.onnx.load, blob)
    assert "ConstantOfShape" in str(err) and "memory_limit" in str(err)
    _raises(ResourceLimitError, nn.onnx.load, blob, memory_limit=2**20)
    _raises(ConfigError, nn.onnx.load, blob, memory_limit=-1)


@pytest.mark.parametrize(("source", "error"), [(None, ConfigError), (123, ConfigError), (b"garbage", ONNXImportError),
                                               (b"", ONNXImportError)])
def test_onnx_load_refuses_bad_sources(source, error):
    pytest.importorskip("onnx")
    _raises(error, nn.onnx.load, source)


def test_onnx_load_checks_options(tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    nn.onnx.save(_model(), path, input_shape=(8,))
    for bad in ("abc", (0,), (2.5,)):
        _raises(ConfigError, nn.onnx.load, path, input_shape=bad)
    _raises(ConfigError, nn.onnx.load, path, he_friendly="yes")
    _raises(LayerTypeError, nn.onnx.save, "not a model", tmp_path / "x.onnx")
