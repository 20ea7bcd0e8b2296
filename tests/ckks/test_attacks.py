"""The Li-Micciancio attack: plain decryption results give the secret key away; flooded ones do not."""

from __future__ import annotations

import numpy as np
import pytest

from ckks.attacks import decryption_oracle, is_secret_key, recover_secret, run_attack
from ckks.errors import InputError, InputTypeError
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
