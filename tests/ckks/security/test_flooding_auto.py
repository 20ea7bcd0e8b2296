"""``Context(..., flooding="auto")``: flooding sized from each ciphertext's tracked noise bound (issue 25)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ckks
from ckks.attacks import run_real_attack
from ckks.errors import InsecureWarning, PrecisionWarning
from ckks.security.flooding import Flooding, check_auto


def _context(scale_bits: int, **options) -> ckks.Context:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return ckks.Context(2048, [60, scale_bits, 60], scale_bits, security=None, **options)


def test_auto_floods_every_decryption_from_the_tracked_bound():
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)  # a 2^50 scale leaves room: no warning
        ctx = _context(50, flooding="auto")
    assert ctx.flooding == Flooding()
    v = ctx.encrypt(np.full(8, 0.5))
    first, second = ctx.decrypt(v), ctx.decrypt(v)
    assert not np.array_equal(first, second)  # fresh flooding noise on each decryption
    np.testing.assert_allclose(first[:8], 0.5, atol=2.0**-10)


def test_auto_warns_when_the_scale_cannot_hold_flooding():
    with pytest.warns(PrecisionWarning, match="flooding='auto'"):
        _context(30, flooding="auto")
    with pytest.warns(PrecisionWarning):
        check_auto(_context(30).params)


def test_auto_defeats_the_two_decryption_attack(rng):
    result = run_real_attack(flooding="auto", poly_degree=64, moduli_bits=(60, 40, 60), scale_bits=40, rng=rng)
    assert not result.success and not result.confirmed
    assert run_real_attack(flooding=False, poly_degree=64, moduli_bits=(60, 40, 60), scale_bits=40, rng=rng).success
