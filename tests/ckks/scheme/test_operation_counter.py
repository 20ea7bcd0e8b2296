"""The scheme's counting hook (`ckks.scheme.counting`): what is counted, nesting, threads, bad use."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ckks.errors import InputError, LevelError
from ckks.scheme import counting
from ckks.scheme.counting import OperationCounter


@pytest.fixture(scope="module")
def cctx(toy):
    context = toy(64, (50, 30, 30, 50), 30, seed=2)
    context.generate_galois_keys(progress=False)  # +-2^i and conjugation
    return context


@pytest.fixture(scope="module")
def cts(cctx):
    rng = np.random.default_rng(0)
    return [cctx.encrypt(rng.uniform(-1, 1, cctx.slots)).ciphertext for _ in range(2)]


def test_each_operation_counts_where_it_runs(cctx, cts):
    ev, rot, enc = cctx.evaluator, cctx.rotator, cctx.encoder
    a, b = cts
    with OperationCounter() as c:
        product = ev.multiply(a, b)
        ev.square(a)
        relin = ev.relinearize(product)
        ev.relinearize(a)  # size 2: a copy, no key switch
        ev.rescale(relin)
        ev.multiply_plain(a, enc.encode(np.ones(cctx.slots), 2.0**30, a.level))
        ev.multiply_scalar(a, 0.5)
        ev.multiply_integer(a, 3)  # exact, no level: not counted
        ev.add(a, b)
        ev.mod_switch_to_next(a)
    assert c.as_dict() == {"rotations": 0, "ct_ct_multiplications": 2, "pt_multiplications": 2,
                           "relinearizations": 1, "key_switches": 1, "rescales": 1, "hoisted_decompositions": 0}
    with OperationCounter() as r:
        rot.rotate(a, 4)  # its own key: one key switch, no shared decomposition
        rot.rotate(a, 3)  # composed: 4 - 1, two key switches
        rot.rotate_many(a, [1, 2, -8])  # hoisted: one decomposition, three key switches
        rot.conjugate(a)
    assert (r.rotations, r.hoisted_decompositions) == (1 + 2 + 3 + 1, 1)
    assert r.rotations == rot.rotations_needed([4]) + rot.rotations_needed([3]) + rot.rotations_needed([1, 2, -8]) + 1


def test_inactive_counters_count_nothing_and_failed_operations_do_not_count(cctx, cts):
    ev = cctx.evaluator
    idle = OperationCounter()
    with OperationCounter() as c:
        ev.rescale(ev.multiply(*cts))
        with pytest.raises(LevelError):
            ev.rescale(ev.mod_switch_to(cts[0], 0))
    ev.multiply(*cts)
    assert idle == OperationCounter() and not idle.active
    assert (c.ct_ct_multiplications, c.rescales) == (1, 1) and not c.active
    assert counting.ACTIVE == []


def test_counters_nest_and_re_entering_counts_once(cctx, cts):
    ev = cctx.evaluator
    outer, inner = OperationCounter(), OperationCounter()
    with outer:
        ev.multiply(*cts)
        with inner, inner, outer:
            ev.multiply(*cts)
        assert outer.active and not inner.active
    assert (outer.ct_ct_multiplications, inner.ct_ct_multiplications) == (2, 1)
    try:
        with outer:
            raise RuntimeError("leave the block early")
    except RuntimeError:
        pass
    assert counting.ACTIVE == [] and not outer.active


def test_a_counter_counts_its_own_thread_only(cctx, cts):
    ev = cctx.evaluator
    started, release = threading.Event(), threading.Event()
    errors = []

    def other():
        with OperationCounter() as theirs:
            started.set()
            release.wait(5)
            ev.multiply(*cts)
        errors.append(theirs.ct_ct_multiplications)

    worker = threading.Thread(target=other)
    worker.start()
    started.wait(5)
    with OperationCounter() as mine:
        ev.multiply(*cts)
        ev.multiply(*cts)
        release.set()
        worker.join(5)
    assert mine.ct_ct_multiplications == 2 and errors == [1]


def test_one_counter_cannot_count_in_two_threads(cctx):
    counter = OperationCounter()
    caught = []

    def enter():
        try:
            with counter:
                pass
        except InputError as exc:
            caught.append(str(exc))

    with counter:
        worker = threading.Thread(target=enter)
        worker.start()
        worker.join(5)
    assert caught and "its own counter" in caught[0]


def test_snapshots_and_differences():
    total = OperationCounter(rotations=5, ct_ct_multiplications=2, relinearizations=2, rescales=3)
    before = total.copy()
    total.rotations += 4
    step = total.minus(before)
    assert step == OperationCounter(rotations=4) and step.key_switches == 4
    assert before.as_dict()["key_switches"] == 7 and not before.active
