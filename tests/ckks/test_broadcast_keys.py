"""Broadcasting a size-1 vector, sum() and dot() use the default keys, and their hint never slows anything (issue 27).

Before: a context without Galois keys answered ``v + w`` (w of size 1) with a KeyMissingError
whose hint was ``generate_galois_keys(steps=[1])``; following it made the rotations by 2, 4,
..., N/4 compose from N/2 - 1 rotations by 1 (4095 key switches, 7 s at N = 8192).  Key
switches are counted here (one per automorphism the rotator applies), not timed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from ckks.errors import KeyMissingError
from ckks.scheme.rotation import Rotator
from ckks.vector import SUM_KEY_SWITCH_FACTOR

SLOTS = 32  # N = 64
LOG_SLOTS = 5


@pytest.fixture
def key_switches(monkeypatch):
    """A counter of the key switches rotations do (Rotator._hoisted: one per Galois element)."""
    count = [0]
    original = Rotator._hoisted

    def counting(self, ct, elements):
        count[0] += len(elements)
        return original(self, ct, elements)

    monkeypatch.setattr(Rotator, "_hoisted", counting)
    return count


def _hint_call(error: KeyMissingError) -> str:
    calls = re.findall(r"ctx\.generate_galois_keys\([^)]*\)", str(error))
    assert calls, f"the message names no call: {error}"
    return calls[-1]


def test_following_the_hint_gives_the_fast_path(toy, key_switches):
    ctx = toy(64, (50, 30, 30, 50), 30)
    x = np.arange(1.0, 6.0)
    v, w = ctx.encrypt(x), ctx.encrypt([2.0])
    with pytest.raises(KeyMissingError) as info:
        v + w
    assert _hint_call(info.value) == "ctx.generate_galois_keys()", "the hint must name the default keys"
    assert "steps=[1]" not in str(info.value)
    eval(_hint_call(info.value).replace("()", "(progress=False)"), {"ctx": ctx})  # do exactly what it says
    key_switches[0] = 0
    result = v + w
    assert key_switches[0] == LOG_SLOTS, "one key switch per power-of-two rotation"
    assert np.allclose(result.decrypt(), x + 2.0, atol=1e-3)
    key_switches[0] = 0
    assert np.allclose((v * w).decrypt(), 2 * x, atol=1e-3) and key_switches[0] == LOG_SLOTS
    total = v.sum()
    key_switches[0] = 0
    assert np.allclose((v + total).decrypt(), x + x.sum(), atol=1e-2)
    assert key_switches[0] == 0, "a sum() result is replicated already: it broadcasts for free"


def test_keys_that_compose_slowly_are_refused_with_the_same_hint(toy, key_switches):
    ctx = toy(64, (50, 30, 30, 50), 30)
    ctx.generate_galois_keys(steps=[1], progress=False)  # the old hint
    v, w = ctx.encrypt([1.0, 2.0]), ctx.encrypt([3.0])
    for operation in (lambda: v + w, lambda: v.sum(), lambda: v.dot([1.0, 1.0])):
        with pytest.raises(KeyMissingError, match="31 key switches instead of 5") as info:
            operation()
        assert _hint_call(info.value) == "ctx.generate_galois_keys()"
    assert key_switches[0] == 0, "refused before any key switch"
    assert np.allclose(v.rotate(1).decrypt()[:1], [2.0], atol=1e-3), "rotations by a key's own step still work"
    ctx.generate_galois_keys(progress=False)  # merged with steps=[1]: the defaults now serve the sum
    key_switches[0] = 0
    assert np.allclose((v + w).decrypt(), [4.0, 5.0], atol=1e-3) and key_switches[0] == LOG_SLOTS


def test_keys_that_compose_cheaply_are_used(toy, key_switches):
    """Chosen steps 1 .. 15 (an assignment's keys): 16 = 15 + 1, within the budget, so no refusal."""
    ctx = toy(64, (50, 30, 30, 50), 30)
    ctx.generate_galois_keys(steps=list(range(1, 16)), progress=False)
    v = ctx.encrypt(np.arange(1.0, 9.0))
    assert np.allclose(v.sum().decrypt()[0], 36.0, atol=1e-2)
    assert LOG_SLOTS < key_switches[0] <= SUM_KEY_SWITCH_FACTOR * LOG_SLOTS
