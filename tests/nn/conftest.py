"""Shared helpers for the nn tests: central-difference gradient checks in float64."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, perturbing ``x`` in place (restored afterwards)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + eps
        fp = f()
        x[idx] = orig - eps
        fm = f()
        x[idx] = orig
        g[idx] = (fp - fm) / (2 * eps)
    return g


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def check_layer_gradients(layer, x: np.ndarray, seed: int = 0, tol: float = 1e-7) -> None:
    """Compare the layer's analytic input and parameter gradients with numerical ones
    for the scalar loss ``sum(forward(x) * r)`` with a fixed random ``r``."""
    x = np.array(x, dtype=np.float64)
    r = np.random.default_rng(seed).normal(size=layer.forward(x).shape)

    def loss() -> float:
        return float(np.sum(layer.forward(x) * r))

    layer.forward(x)
    dx = layer.backward(r.copy())
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    assert dx.shape == x.shape
    err = rel_error(dx, numerical_gradient(loss, x))
    assert err < tol, f"{type(layer).__name__}: input gradient rel. error {err:.2e}"
    for name, value in layer.params.items():
        err = rel_error(analytic[name], numerical_gradient(loss, value))
        assert err < tol, f"{type(layer).__name__}.{name}: gradient rel. error {err:.2e}"


@pytest.fixture
def gradcheck():
    return check_layer_gradients


@pytest.fixture
def numgrad():
    return numerical_gradient
