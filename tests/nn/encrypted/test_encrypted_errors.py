"""Bad input, foreign ciphertexts, a server without the secret key, and the byte format of encrypted batches."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY  # noqa: E402

import ckks
from ckks.errors import ContextMismatchError, InputError, KeyMissingError, SerializationError
from nn import encrypted
from nn.encrypted import EncryptedBatch, InputRangeWarning
from nn.errors import ConfigError, ShapeError


@pytest.fixture(scope="module")
def setup(shipped_mlp, digits):
    em = encrypted.compile(shipped_mlp, (1, 8, 8), 2, layout="sample", calibration=digits.x_train, **TOY)
    ctx = em.keygen()
    return em, ctx, ctx.public_copy()


def test_server_holds_no_secret_key_and_client_server_bytes(setup, digits, shipped_mlp):
    em, ctx, _ = setup
    x = digits.x_test[:2]
    # client -> bytes -> server (public context from bytes) -> bytes -> client
    server = ckks.Context.load(ctx.serialize())
    assert not server.is_private and server.secret_key is None
    enc = EncryptedBatch.load(server, em.encrypt(ctx, x).serialize())
    out_blob = em.run(server, enc).serialize()
    out = EncryptedBatch.load(ctx, out_blob)
    with pytest.raises(KeyMissingError):
        server.decrypt(out.vectors[0])
    with pytest.raises(KeyMissingError):
        em.decrypt(server, EncryptedBatch.load(server, out_blob))
    got = em.decrypt(ctx, out)
    assert np.array_equal(got.argmax(1), shipped_mlp.predict(x).argmax(1))


def test_run_leaves_inputs_untouched(setup, digits):
    em, ctx, server = setup
    enc = em.encrypt(ctx, digits.x_test[:1])
    before = [v.ciphertext.data.copy() for v in enc.vectors]
    em.run(server, enc)
    assert all(np.array_equal(b, v.ciphertext.data) for b, v in zip(before, enc.vectors))


def test_wrong_shape_batch_nan_and_range(setup, digits):
    em, ctx, _ = setup
    with pytest.raises(ShapeError, match="shape"):
        em.encrypt(ctx, digits.x_test[:1].reshape(1, 64))
    with pytest.raises(ShapeError, match="batches of 1 to 2"):
        em.encrypt(ctx, digits.x_test[:3])
    bad = digits.x_test[:1].copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        em.encrypt(ctx, bad)
    with pytest.warns(InputRangeWarning, match="recorded range"):
        em.encrypt(ctx, digits.x_test[:1] * 5.0)


def test_foreign_ciphertext_and_context(setup, shipped_mlp, digits):
    em, ctx, server = setup
    other_ctx = em.keygen()  # same parameters, another secret key
    enc = em.encrypt(other_ctx, digits.x_test[:1])
    with pytest.raises(ContextMismatchError, match="another key"):
        em.run(server, enc)
    with pytest.raises(SerializationError):
        EncryptedBatch.load(server, enc.serialize())
    wrong = ckks.Context(2048, [30, 25, 30], security=None)
    with pytest.raises(ContextMismatchError):
        em.run(wrong, em.encrypt(ctx, digits.x_test[:1]))
    other_plan = encrypted.compile(shipped_mlp, (1, 8, 8), 1, layout="sample", calibration=digits.x_train[:10], **TOY)
    with pytest.raises(ContextMismatchError, match="not encrypted for this"):
        other_plan.run(server, em.encrypt(ctx, digits.x_test[:1]))


def test_missing_galois_keys_and_output_checks(setup, digits):
    em, ctx, _ = setup
    p = em.params
    bare = ckks.Context(p.poly_degree, list(p.moduli_bits), p.scale_bits, security=None)
    with pytest.raises(KeyMissingError, match="keygen"):
        em.run(bare.public_copy(), em.encrypt(bare, digits.x_test[:1]))
    with pytest.raises(ConfigError):
        em.decrypt_soft_argmax(ctx, em.run(ctx.public_copy(), em.encrypt(ctx, digits.x_test[:1])))
    with pytest.raises(SerializationError):
        EncryptedBatch.load(ctx, b"not an encrypted batch")


def test_compile_argument_errors(shipped_mlp):
    with pytest.raises(ConfigError):
        encrypted.compile(shipped_mlp, (1, 8, 8), 0)
    with pytest.raises(ConfigError):
        encrypted.compile(shipped_mlp, (1, 8, 8), layout="diagonal")
    with pytest.raises(ShapeError):
        encrypted.compile(shipped_mlp, (1, 8, 8), calibration=np.zeros((3, 64)))
