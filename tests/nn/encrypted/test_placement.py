"""The placement of bootstraps (`nn.encrypted.placement`): the dynamic programme against brute force on small
chains, known optima, the naive policy, infeasible chains.  Pure Python, no ciphertext."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from nn.encrypted.placement import CostModel, PlacementError, Segment, chain_cost, naive, place


def _chain(spec):
    """(levels, work[, ciphertexts, pre, post]) tuples -> segments of one stage each."""
    out = []
    for i, row in enumerate(spec):
        levels, work, count, pre, post = list(row) + [1, 0, 0][len(row) - 2:]
        out.append(Segment(f"s{i}", i, 0, levels, work, count, pre, post))
    return out


def _brute(segments, start, restored, model):
    """Every bootstrap subset and every run level of every segment, simulated: the cheapest valid cost."""
    n = len(segments)
    best = math.inf
    for boots in itertools.product((False, True), repeat=n):
        if boots[0]:
            continue
        for runs in itertools.product(range(max(start, restored) + 1), repeat=n):
            level, cost, ok = start, 0.0, True
            for seg, boot, run in zip(segments, boots, runs):
                if boot:
                    if level < seg.pre:
                        ok = False
                        break
                    cost += model.bootstrap_seconds * math.ceil(seg.ciphertexts / 2)  # two per bootstrap
                    level = restored - seg.post
                if not seg.levels <= run <= level:
                    ok = False
                    break
                cost += model.segment_seconds(seg, run)
                level = run - seg.levels
            if ok:
                best = min(best, cost)
    return best


def test_the_programme_finds_the_brute_force_optimum_on_random_small_chains():
    rng = random.Random(7)
    for _ in range(40):
        n = rng.randint(1, 4)
        restored = rng.randint(2, 4)
        spec = [(rng.randint(0, 2), rng.uniform(0.0, 2.0), rng.randint(1, 3), rng.randint(0, 1), rng.randint(0, 1))
                for _ in range(n)]
        segments = _chain(spec)
        model = CostModel(4096, rng.choice([0.5, 3.0, 20.0]))
        want = _brute(segments, restored, restored, model)
        if math.isinf(want):
            with pytest.raises(PlacementError):
                place(segments, restored, restored, model)
            continue
        got = place(segments, restored, restored, model)
        assert got.cost == pytest.approx(want, rel=1e-12, abs=1e-12)
        # the plan it states is valid and costs what it says
        level, cost = restored, 0.0
        for j, (seg, run) in enumerate(zip(segments, got.run_levels)):
            if j in got.bootstraps:
                assert level >= seg.pre
                cost += model.bootstrap_seconds * math.ceil(seg.ciphertexts / 2)
                level = restored - seg.post
            assert seg.levels <= run <= level
            cost += model.segment_seconds(seg, run)
            level = run - seg.levels
        assert cost == pytest.approx(got.cost) and level == got.output_level
        if got.naive_cost is not None:
            assert got.naive_cost >= got.cost - 1e-12


def test_known_optimum_one_bootstrap_in_the_middle():
    """Four segments of 2 levels, 4 levels after a bootstrap: one bootstrap, before the third segment."""
    segments = _chain([(2, 0.0)] * 4)
    got = place(segments, 4, 4, CostModel(4096, 5.0))
    assert got.bootstraps == [2] and got.cost == pytest.approx(5.0)
    assert got.run_levels == [4, 2, 4, 2] and got.output_level == 0
    assert got.naive_bootstraps == 1 and got.naive_cost == pytest.approx(5.0)


def test_levels_are_dropped_early_when_that_makes_later_work_cheaper():
    """No bootstrap needed; the expensive first segment runs at the lowest level that leaves enough."""
    segments = _chain([(1, 10.0), (1, 1.0)])
    got = place(segments, 5, 5, CostModel(4096, 100.0))
    assert got.bootstraps == [] and got.run_levels == [2, 1]  # level 2 leaves the 1 that segment 1 needs
    assert got.cost == pytest.approx(10.0 * 3 + 1.0 * 2)
    # the naive policy runs at the level it has: 10 * 6 + 1 * 5
    assert got.naive_bootstraps == 0 and got.naive_cost == pytest.approx(65.0)
    assert chain_cost(segments, 4, CostModel(4096)) == pytest.approx(10.0 * 3 + 1.0 * 2)


def test_bootstrap_placed_where_fewest_ciphertexts_are_carried():
    """Four 1-level segments with 3 levels fresh and after a bootstrap: one bootstrap before segment 1, 2 or 3
    suffices; the cheapest point carries 1 ciphertext (the others 8: 4 paired bootstraps), earlier than the naive
    policy's."""
    segments = _chain([(1, 0.0, 8), (1, 0.0, 1), (1, 0.0, 8), (1, 0.0, 8)])
    got = place(segments, 3, 3, CostModel(4096, 1.0))
    assert got.bootstraps == [1] and got.cost == pytest.approx(1.0)
    count, cost = naive(segments, 3, 3, CostModel(4096, 1.0))
    assert count == 1 and cost == pytest.approx(4.0)  # before segment 3: 8 ciphertexts, 4 paired bootstraps
    assert got.naive_cost == pytest.approx(4.0) and got.naive_bootstraps == 1


def test_a_bootstrap_refreshes_two_ciphertexts():
    """The executor refreshes ciphertexts in pairs (a + i b, ``Bootstrapper.bootstrap_pair``): a point carrying c
    ciphertexts costs ceil(c / 2) bootstraps, in the programme and in the naive policy alike."""
    assert [Segment("s", 0, 0, 1, ciphertexts=c).bootstraps for c in range(1, 6)] == [1, 1, 2, 2, 3]
    for c, boots in [(1, 1), (2, 1), (3, 2), (8, 4)]:
        segments = _chain([(2, 0.0, c), (2, 0.0, c)])
        got = place(segments, 2, 2, CostModel(4096, 1.5))
        assert got.bootstraps == [1]
        assert got.cost == pytest.approx(1.5 * boots) and got.bootstrap_cost == pytest.approx(1.5 * boots)
        assert naive(segments, 2, 2, CostModel(4096, 1.5)) == (1, pytest.approx(1.5 * boots))
    # one bootstrap before segment 2 (2 ciphertexts: 1, then segment 3 at level 1: 2) beats one before segment 1
    # and one before segment 3 (1 + 1 + 2), which it tied with at a bootstrap per ciphertext
    segments = _chain([(1, 0.0, 1), (1, 0.0, 1), (1, 0.0, 2), (1, 1.0, 1)])
    got = place(segments, 2, 2, CostModel(4096, 1.0))
    assert got.bootstraps == [2] and got.run_levels == [2, 1, 2, 1] and got.cost == pytest.approx(3.0)


def test_a_bootstrap_that_needs_a_level_first():
    """pre = 1 (the values are scaled before the bootstrap): the level must not run out before it."""
    segments = _chain([(2, 0.0), (2, 0.0, 1, 1, 1)])
    with pytest.raises(PlacementError, match="no placement"):
        place(segments, 2, 3, CostModel(4096, 1.0))  # segment 0 leaves 0 levels, the bootstrap needs 1
    got = place(segments, 3, 3, CostModel(4096, 1.0))
    assert got.bootstraps == [1] and got.run_levels == [3, 2]


def test_infeasible_chains_raise_a_clear_error():
    segments = _chain([(2, 1.0), (5, 1.0), (1, 1.0)])
    with pytest.raises(PlacementError, match=r"s1 needs 5 levels, more than the 4 a bootstrap restores"):
        place(segments, 4, 4, CostModel(4096, 1.0))
    with pytest.raises(PlacementError, match="without bootstraps"):
        chain_cost(_chain([(2, 1.0), (2, 1.0)]), 3, CostModel(4096))


def test_cost_model_is_proportional_to_limbs_and_ring_degree():
    seg = Segment("s", 0, 0, 3, 2.0)
    small, large = CostModel(4096), CostModel(8192)
    assert small.segment_seconds(seg, 5) == pytest.approx(2.0 * (6 - 1))  # levels 5, 4, 3: 5 limbs on average
    assert large.segment_seconds(seg, 5) == pytest.approx(2 * small.segment_seconds(seg, 5))
