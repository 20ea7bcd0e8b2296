"""Evaluator.relinearize_rescale: key switching and rescale with one division by P q_l."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks.errors import InputTypeError, InsecureWarning, KeyMissingError, LevelError
from ckks.ring.sampling import PRNG
from ckks.scheme.counting import OperationCounter


def make(moduli_bits, special_count=1, n=64):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        params = ckks.Parameters(n, moduli_bits, 30, security=None, special_count=special_count)
        keygen = ckks.KeyGenerator(params, prng=PRNG(b"fused-rescale"))
    encoder = ckks.Encoder(params)
    encryptor = ckks.Encryptor(params, keygen.create_public_key())
    decryptor = ckks.Decryptor(params, keygen.secret_key)
    return params, encoder, encryptor, decryptor, ckks.Evaluator(params, keygen.create_relin_keys())


@pytest.mark.parametrize("bits, special", [([50, 30, 30, 30, 50], 1), ([50, 30, 30, 40, 40], 2)])
def test_it_matches_relinearize_then_rescale_within_one_rounding(bits, special):
    params, encoder, encryptor, decryptor, ev = make(bits, special)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 1, 32), rng.uniform(-1, 1, 32)
    product = ev.multiply(encryptor.encrypt(encoder.encode(x)), encryptor.encrypt(encoder.encode(y)))
    fused, separate = ev.relinearize_rescale(product), ev.rescale(ev.relinearize(product))
    assert (fused.level, fused.scale, fused.size) == (separate.level, separate.scale, 2)
    a, b = decryptor.decrypt(fused), decryptor.decrypt(separate)
    # the same plaintext up to the roundings: coefficient differences of a few units, far below the scale
    ring = params.at_level(fused.level)
    diff = ring.sub(a.data, b.data)
    ring.inverse(diff)
    q0 = int(params.data_moduli[0])
    centred = np.array([int(v) if int(v) < q0 // 2 else int(v) - q0 for v in diff[0]])
    assert np.max(np.abs(centred)) < 2**8 < fused.scale / 2**20
    out = encoder.decode(a).real
    assert np.max(np.abs(out - x * y)) < 2**-12
    assert fused.noise is not None and fused.noise <= separate.noise * 1.01


def test_it_counts_one_relinearization_and_one_rescale_and_a_size_2_input_is_only_rescaled():
    params, encoder, encryptor, decryptor, ev = make([50, 30, 30, 30, 50])
    ct = encryptor.encrypt(encoder.encode(np.full(32, 0.5)))
    with OperationCounter() as counts:
        ev.relinearize_rescale(ev.multiply(ct, ct))
    assert counts.relinearizations == 1 and counts.rescales == 1
    only = ev.relinearize_rescale(ct)
    assert only.level == ct.level - 1 and np.array_equal(only.data, ev.rescale(ct).data)


def test_bad_inputs_raise_and_leave_the_input_unchanged():
    params, encoder, encryptor, decryptor, ev = make([50, 30, 30, 30, 50])
    ct = encryptor.encrypt(encoder.encode(np.full(32, 0.5), scale=2.0**10, level=0))
    product = ev.multiply(ct, ct)
    before = product.data.copy()
    with pytest.raises(LevelError):
        ev.relinearize_rescale(product)
    assert np.array_equal(product.data, before)
    with pytest.raises(InputTypeError):
        ev.relinearize_rescale(np.zeros(4))
    with pytest.raises(InputTypeError):
        ev.relinearize_rescale(product, relin_key="key")
    top = encryptor.encrypt(encoder.encode(np.full(32, 0.5)))
    no_key = ckks.Evaluator(params)
    with pytest.raises(KeyMissingError):
        no_key.relinearize_rescale(ev.multiply(top, top))
