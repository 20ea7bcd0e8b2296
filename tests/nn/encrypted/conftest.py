"""Shared fixtures of the encrypted-inference tests: small insecure rings (N = 2048) for correctness."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ckks.errors import InsecureWarning
from nn.datasets import load_digits
from nn.encrypted import pretrained

#: compile() options for correctness tests: a toy ring, so that every test runs in seconds.
TOY = {"security": None, "poly_degree": 2048}


@pytest.fixture(autouse=True)
def _quiet_toy_parameters():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        yield


@pytest.fixture(scope="session")
def digits():
    return load_digits()


@pytest.fixture(scope="session")
def shipped_mlp():
    return pretrained.load("digits_mlp")


@pytest.fixture(scope="session")
def shipped_cnn():
    return pretrained.load("digits_cnn")


@pytest.fixture(scope="session")
def assert_close():
    """assert_close(got, want, tol): the largest absolute difference is within tol."""

    def check(got: np.ndarray, want: np.ndarray, tol: float) -> None:
        err = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
        assert err <= tol, f"max |encrypted - plaintext| = {err:.3e} > tolerance {tol:.3e}"

    return check
