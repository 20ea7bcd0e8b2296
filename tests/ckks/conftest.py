"""Shared fixtures for the ckks tests: contexts are expensive, so they are module-scoped."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import ckks
from ckks.errors import InsecureWarning
from ckks.interop import tenseal_context


def toy_context(poly_degree: int = 32, moduli_bits=(50, 30, 30, 50), scale_bits: int = 30, **kwargs) -> ckks.Context:
    """A tiny, insecure context for fast tests (warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return ckks.Context(poly_degree, list(moduli_bits), scale_bits, security=None, **kwargs)


@pytest.fixture(scope="session")
def toy():
    """The :func:`toy_context` factory, for tests that need their own tiny context."""
    return toy_context


@pytest.fixture(scope="session")
def ctx8192() -> ckks.Context:
    """N = 8192, [60, 40, 40, 60]: the TenSEAL tutorial parameters (depth 2)."""
    return ckks.Context(8192, [60, 40, 40, 60], 40)


@pytest.fixture(scope="session")
def galois_ctx8192() -> ckks.Context:
    """N = 8192, [60, 40, 40, 60] with the default Galois keys (+-2^i and conjugation); do not add keys."""
    context = ckks.Context(8192, [60, 40, 40, 60], 40)
    context.generate_galois_keys(progress=False)
    return context


def make_tenseal_pair(poly_degree: int, moduli_bits: list[int], galois: bool = False, seed: int | None = None):
    """This library's context and its TenSEAL twin (`ckks.interop`), scale 2^40.

    With ``seed``, our keys are drawn from it (insecure, warning silenced) so that a failure reproduces;
    TenSEAL's keys cannot be seeded.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        ours = ckks.Context(poly_degree, moduli_bits, 40, seed=seed)
    if galois:
        ours.generate_galois_keys(progress=False)
    return ours, tenseal_context(ours.params, galois=galois)


@pytest.fixture(scope="module")
def tenseal_pair(request):
    """The `make_tenseal_pair` factory, seeded with the test module's ``SEED`` when it has one."""
    return functools.partial(make_tenseal_pair, seed=getattr(request.module, "SEED", None))


# -- one module's own tiny contexts: ctx, a second key of the same parameters, other parameters --------
@pytest.fixture(scope="module")
def toy_parameters() -> tuple[int, tuple[int, ...], int]:
    """(poly_degree, moduli_bits, scale_bits) of ``ctx``, ``other_keys`` and ``gctx``.

    Override it in a test module for other parameters: the fixtures below follow.
    """
    return 32, (50, 30, 30, 50), 30


@pytest.fixture(scope="module")
def ctx(toy, toy_parameters) -> ckks.Context:
    """A tiny context of :func:`toy_parameters`, one per test module (tests may add Galois keys to it)."""
    return toy(*toy_parameters)


@pytest.fixture(scope="module")
def other_keys(toy, toy_parameters) -> ckks.Context:
    """The same parameters as ``ctx``, other keys."""
    return toy(*toy_parameters)


@pytest.fixture(scope="module")
def other_params(toy, toy_parameters) -> ckks.Context:
    """The parameters of ``ctx`` with one rescaling prime fewer (same N and scale)."""
    poly_degree, bits, scale_bits = toy_parameters
    return toy(poly_degree, bits[:1] + bits[2:], scale_bits)


@pytest.fixture(scope="module")
def gctx(toy, toy_parameters) -> ckks.Context:
    """A context of :func:`toy_parameters` with Galois keys for steps 1 and -2."""
    context = toy(*toy_parameters)
    context.generate_galois_keys(steps=[1, -2], progress=False)
    return context


@pytest.fixture(scope="session")
def ctx_toy() -> ckks.Context:
    return toy_context(64, (50, 30, 30, 30, 50), 30)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2026)
