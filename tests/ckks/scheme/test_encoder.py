"""The canonical-embedding encoder."""

from __future__ import annotations

import numpy as np
import pytest

import ckks
from ckks import Encoder
from ckks.errors import InputError, InputTypeError, LevelError


@pytest.fixture(scope="module")
def encoder(toy):
    return toy(64, (50, 30, 30, 50), 30).encoder


def test_embed_matches_direct_evaluation(encoder):
    n = encoder.params.poly_degree
    rng = np.random.default_rng(0)
    m = rng.integers(-50, 50, n).astype(float)
    zeta = np.exp(1j * np.pi / n)
    direct = [np.polyval(m[::-1], zeta ** pow(5, j, 2 * n)) for j in range(n // 2)]
    assert np.allclose(encoder.embed(m), direct, atol=1e-9)


def test_embed_inverse_gives_real_coefficients_that_embed_back(encoder):
    rng = np.random.default_rng(1)
    z = rng.normal(size=encoder.slots) + 1j * rng.normal(size=encoder.slots)
    m = encoder.embed_inverse(z)
    assert m.dtype == np.float64
    assert np.allclose(encoder.embed(m), z, atol=1e-12)


@pytest.mark.parametrize("values", [[1.5, -2.25, 3.0], [1 + 2j, -0.5j], np.linspace(-1, 1, 32)])
def test_encode_decode_round_trip(encoder, values):
    decoded = encoder.decode(encoder.encode(values))
    expected = np.zeros(encoder.slots, dtype=complex)
    expected[: len(values)] = values
    assert np.max(np.abs(decoded - expected)) < 2**-20


def test_encode_at_lower_level_and_other_scale(encoder):
    p = encoder.encode([0.25, 0.5], scale=2.0**20, level=1)
    assert p.level == 1 and p.scale == 2.0**20
    assert np.allclose(encoder.decode(p)[:2], [0.25, 0.5], atol=2**-12)


def test_scalar_fills_every_slot_and_constant_encoding_agrees(encoder):
    a = encoder.decode(encoder.encode(0.75))
    b = encoder.decode(encoder.encode_constant(0.75, encoder.params.scale, encoder.params.max_level))
    assert np.allclose(a, 0.75, atol=2**-20) and np.allclose(b, 0.75, atol=2**-20)


def test_large_coefficients_take_the_exact_python_path(encoder):
    # 2^40 * 2^25 > 2^63: coefficients no longer fit in int64.
    p = encoder.encode([2.0**25, -(2.0**25)], scale=2.0**40)
    assert np.allclose(encoder.decode(p)[:2], [2.0**25, -(2.0**25)], rtol=1e-9)


def test_too_many_values(encoder):
    with pytest.raises(InputError, match="only 32 slots"):
        encoder.encode(np.ones(33))


@pytest.mark.parametrize("bad", [[1.0, np.nan], [np.inf]])
def test_non_finite_values(encoder, bad):
    with pytest.raises(InputError, match="NaN or infinity"):
        encoder.encode(bad)


def test_two_dimensional_and_non_numeric_values(encoder):
    with pytest.raises(InputError, match="one-dimensional"):
        encoder.encode(np.ones((2, 2)))
    with pytest.raises(InputTypeError, match="real or complex numbers"):
        encoder.encode(["a", "b"])


def test_values_too_large_for_the_modulus(encoder):
    with pytest.raises(InputError, match="too large for this scale"):
        encoder.encode([2.0**85])


def test_bad_level_and_scale(encoder):
    with pytest.raises(LevelError, match="between 0 and 2"):
        encoder.encode([1.0], level=3)
    with pytest.raises(InputError, match="finite number of at least 1"):
        encoder.encode([1.0], scale=-1.0)


def test_encoder_is_exported():
    assert Encoder.__name__ == "Encoder"


@pytest.mark.parametrize("level", [99, 3, -1, True, 1.0, None])
def test_encode_constant_checks_the_level_before_any_kernel(encoder, level):
    with pytest.raises(LevelError, match="level must be an integer between 0 and 2"):
        encoder.encode_constant(1.0, encoder.params.scale, level=level)


@pytest.mark.parametrize("level", [3, -1, True])
def test_integers_to_rns_checks_the_level(encoder, level):
    with pytest.raises(LevelError, match="between 0 and 2"):
        encoder.integers_to_rns(np.zeros(encoder.params.poly_degree), level)


def test_encode_constant_checks_value_and_scale(encoder):
    with pytest.raises(InputTypeError, match="value must be a real or complex number"):
        encoder.encode_constant("1", 2.0**30, 1)
    with pytest.raises(InputError, match="value must be finite"):
        encoder.encode_constant(float("nan"), 2.0**30, 1)
    with pytest.raises(InputError, match="finite number of at least 1"):
        encoder.encode_constant(1.0, 0.0, 1)
    with pytest.raises(InputTypeError, match="scale must be a positive number"):
        encoder.encode_constant(1.0, "big", 1)


@pytest.mark.parametrize("value", [2.5, -1.0, 1.5 + 0.5j])
def test_encode_constant_fills_every_slot(encoder, value):
    plain = encoder.encode_constant(value, 2.0**30, 1)
    assert plain.level == 1 and plain.scale == 2.0**30
    np.testing.assert_allclose(encoder.decode(plain), np.full(encoder.slots, value), atol=1e-6)


def test_plaintext_serialize_round_trip(encoder):
    from ckks.scheme.ciphertext import Plaintext

    plain = encoder.encode([1.0, -2.0, 3.5], 2.0**25, level=1)
    loaded = Plaintext.load(plain.serialize(), encoder.params)
    assert loaded.level == 1 and loaded.scale == plain.scale and np.array_equal(loaded.data, plain.data)
    np.testing.assert_allclose(encoder.decode(loaded)[:3], [1.0, -2.0, 3.5], atol=1e-5)


def test_encoding_above_1024_bits_of_modulus_does_not_overflow():
    """The too-large check compared with 2.0 ** (log2 Q - 2), an OverflowError once Q passes 1025 bits."""
    import warnings

    from ckks.errors import InsecureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        params = ckks.Parameters(2048, [30] * 40 + [31], 27, security=None)
    encoder = ckks.Encoder(params)
    values = np.linspace(-1, 1, 8)
    plaintext = encoder.encode(values, params.scale, params.max_level)
    assert sum(q.bit_length() for q in params.data_moduli) > 1100
    assert np.allclose(encoder.decode(plaintext)[:8].real, values, atol=1e-5)
