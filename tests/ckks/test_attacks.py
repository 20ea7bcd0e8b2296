"""The Li-Micciancio attack: plain decryption results give the secret key away; flooded ones do not."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ckks.attacks import (
    decryption_oracle,
    is_secret_key,
    main,
    recover_secret,
    recover_secret_from_real,
    run_attack,
    run_real_attack,
)
from ckks.errors import InputError, InputTypeError
from ckks.matrix import CKKSMatrix
from ckks.security.flooding import Flooding


def test_key_recovered_without_flooding(rng):
    result = run_attack(rng=rng)
    assert result.success and result.wrong_coefficients == 0
    assert set(np.unique(result.recovered)) <= {-1, 0, 1}
    assert result.confirmed  # the attacker can check the guess against the public key


def test_key_not_recovered_with_flooding(rng):
    result = run_attack(Flooding(), rng=rng)
    assert not result.success and not result.confirmed
    assert result.wrong_coefficients > 0.9 * result.secret.size  # nothing close to the key either


def test_attack_works_at_standard_parameters(rng):
    """Not a toy problem: N = 8192 with 128-bit security falls the same way."""
    assert run_attack(poly_degree=8192, moduli_bits=(60, 40, 40, 60), scale_bits=40, security=128, rng=rng).success


def test_attack_helpers_check_their_inputs(toy):
    ctx = toy(32, (60, 40, 60), 40)
    v = ctx.encrypt([1.0])
    values = decryption_oracle(ctx, v.ciphertext)
    assert values.shape == (ctx.slots,)
    with pytest.raises(InputError, match="all 16 decoded slots"):
        recover_secret(v.ciphertext, values[:4])
    with pytest.raises(InputTypeError, match="size 2"):
        recover_secret(ctx.evaluator.square(v.ciphertext), values)
    assert not is_secret_key(ctx.public_key, np.full(32, 2))
    assert is_secret_key(ctx.public_key, ctx.secret_key.coefficients)


# -- issue 12, item 6: the real outputs of the public decrypt API are enough -----------------------------
def test_two_real_decryptions_give_the_key_at_standard_parameters(rng):
    """ctx.decrypt of two real vectors at N = 8192, 128-bit: plain linear algebra recovers the exact key."""
    result = run_real_attack(poly_degree=8192, moduli_bits=(60, 40, 40, 60), scale_bits=40, security=128, rng=rng)
    assert result.success and result.confirmed


def test_a_flooding_context_defeats_the_real_output_attack(rng):
    result = run_real_attack(flooding=True, rng=rng)
    assert not result.success and not result.confirmed
    assert result.wrong_coefficients > 0.9 * result.secret.size


def test_every_decrypt_path_of_a_flooding_context_floods(toy):
    ctx = toy(32, (60, 40, 40, 60), 40, flooding=True)
    ctx.generate_galois_keys(CKKSMatrix.rotation_steps(ctx, 2), progress=False)
    v = ctx.encrypt([0.5, 0.25])
    paths = {
        "ctx.decrypt": lambda: ctx.decrypt(v),
        "ctx.decrypt(flooding=False)": lambda: ctx.decrypt(v, flooding=False),
        "vector.decrypt": lambda: v.decrypt(),
        "ctx.decryptor": lambda: ctx.encoder.decode(ctx.decryptor.decrypt(v.ciphertext))[:2].real,
    }
    for name, path in paths.items():
        first, second = path(), path()
        assert not np.array_equal(first, second), f"{name} did not flood"
        np.testing.assert_allclose(first, [0.5, 0.25], atol=0.05)
    matrix = CKKSMatrix.encrypt(ctx, np.eye(2))
    assert not np.array_equal(matrix.decrypt(), matrix.decrypt())
    plain = toy(32, (60, 40, 40, 60), 40)
    plain.generate_galois_keys(CKKSMatrix.rotation_steps(plain, 2), progress=False)
    m = CKKSMatrix.encrypt(plain, np.eye(2))
    assert np.array_equal(m.decrypt(), m.decrypt())
    assert not np.array_equal(m.decrypt(flooding=True), m.decrypt(flooding=True))


def test_real_attack_helper_checks_its_inputs(toy):
    ctx = toy(32, (60, 40, 60), 40)
    v = ctx.encrypt([1.0])
    with pytest.raises(InputTypeError, match="two Ciphertexts"):
        recover_secret_from_real([v.ciphertext], [ctx.decrypt(v)])
    with pytest.raises(InputError, match="all 16 real values"):
        recover_secret_from_real([v.ciphertext, v.ciphertext], [np.zeros(3), np.zeros(3)])


# -- issue 11, item 14: --help prints help, and the demonstration says it runs on a toy ring --------------
def test_module_help_prints_help_instead_of_running():
    done = subprocess.run([sys.executable, "-m", "ckks.attacks", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "usage: python -m ckks.attacks" in done.stdout
    assert "RECOVERED" not in done.stdout and "toy ring" in done.stdout


def test_demonstration_says_it_runs_on_a_toy_ring(capsys):
    main([])
    out = capsys.readouterr().out
    assert "TOY ring, N = 32" in out and "RECOVERED" in out and "attack failed" in out
