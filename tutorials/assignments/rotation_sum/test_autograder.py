"""Autograder: rotation-based sums and dot products, counting rotations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tutorials.assignments.sandbox import fresh_rng, grading_context

# The submission runs in a sandbox (see tutorials/assignments/conftest.py): it gets the context
# WITHOUT the secret key (no decrypting), may not import the scheme's or the circuits' internals,
# and the library's own sums are switched off.  Every key switch is counted, wherever it is
# called from (CKKSVector.rotate, or the rotator itself), so rotations cannot hide.
FORBIDDEN = ["ckks.scheme", "ckks.circuits", "ckks.ring", "ckks.matrix", "ckks.attacks", "nn"]
DISABLED = ["CKKSVector.sum", "CKKSVector.dot", "CKKSVector.matmul", "CKKSVector.__matmul__", "CKKSVector.rotate_many"]
REASON = "sum with rotate, + and * yourself"
TIME_LIMIT = 60.0


@pytest.fixture(scope="module")
def ctx():
    # N = 1024 with this chain is a teaching ring (security=None), for grading speed
    return grading_context(1024, [50, 30, 50], 30, galois_steps="default")


class Rotations:
    """The rotations (key switches other than relinearizations) of the student's last call."""

    def __init__(self, student):
        self.student = student

    def __len__(self) -> int:
        return self.student.counts.get("rotations", 0)

    def __repr__(self) -> str:
        return f"{len(self)} key switches"


@pytest.fixture
def rotations(student):
    return Rotations(student)


@pytest.mark.parametrize("n", [1, 2, 16, 256])
def test_total(student, ctx, rotations, n):
    x = fresh_rng().uniform(-1, 1, n)
    result = student.total(ctx.encrypt(x))
    got = result.decrypt()[0] if len(result) else float("nan")
    assert abs(got - x.sum()) < 1e-4, (
        f"slot 0 should hold the sum {x.sum():.6f} of the {n} values, got {got:.6f}. Hint: v = v + v.rotate(k) "
        "for k = 1, 2, 4, ... while k < n"
    )
    allowed = int(math.log2(n))
    assert len(rotations) <= allowed, (
        f"{len(rotations)} rotations for n = {n}; log2(n) = {allowed} suffice: "
        "double the step each time instead of rotating by 1, 2, 3, ..."
    )


def test_total_uses_no_level(student, ctx, rotations):
    x = fresh_rng().uniform(-1, 1, 8)
    v = ctx.encrypt(x)
    result = student.total(v)
    assert result.level == v.level, "rotations and additions use no level: do not multiply"
    got = result.decrypt()[0] if len(result) else float("nan")
    assert abs(got - x.sum()) < 1e-4, f"slot 0 should hold the sum {x.sum():.6f} of the 8 values, got {got:.6f}"


def test_total_everywhere(student, ctx, rotations):
    x = fresh_rng().uniform(-1, 1, ctx.slots)
    result = student.total_everywhere(ctx.encrypt(x)).decrypt()
    assert np.allclose(result, x.sum(), atol=1e-3), (
        "every slot should hold the total of all N/2 slots: rotate by 1, 2, ..., N/4 (the rotations wrap around)"
    )
    allowed = int(math.log2(ctx.slots))
    assert len(rotations) <= allowed, f"{len(rotations)} rotations; log2(N/2) = {allowed} suffice"


@pytest.mark.parametrize("n", [4, 64])
def test_dot(student, ctx, rotations, n):
    rng = fresh_rng()
    x, y = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    u, w = ctx.encrypt(x), ctx.encrypt(y)
    result = student.dot(u, w)
    got = result.decrypt()[0]
    assert abs(got - x @ y) < 1e-4, f"slot 0 should hold x . y = {x @ y:.6f}, got {got:.6f}: multiply, then total"
    assert u.level - result.level == 1, f"the dot product should use exactly one level, used {u.level - result.level}"
    assert len(rotations) <= int(math.log2(n)), f"{len(rotations)} rotations for n = {n}"
