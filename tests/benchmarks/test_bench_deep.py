"""benchmarks/bench_deep.py without its long runs: the measurement on a cheap model, the bootstrap counter, the
profile groups, the table, the argument checks, and the level-path helper its plot shares with tutorial 10."""

from __future__ import annotations

import argparse
import cProfile
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from benchmarks import bench_deep  # noqa: E402
from tutorials.figures import level_path  # noqa: E402


def _args(**changes) -> argparse.Namespace:
    args = dict(preset="teaching", images=2, boot_images=1, only=None, approx_bits=12, layout="sample",
                flooding=False, no_convert=True, profile=False, json=None, plot=None, memory_limit=None, interleave=1,
                first_conv=None)
    args.update(changes)
    return argparse.Namespace(**args)


def test_measure_a_student_on_the_teaching_preset():
    """The whole measurement path on the shipped x^2 student (depth 5, no bootstrap): every field is computed."""
    from ckks.errors import InsecureWarning
    from nn.datasets import load_digits
    from nn.encrypted import pretrained

    digits = load_digits()
    model = pretrained.load("digits_cnn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        row = bench_deep.measure("student", model, digits, 2, _args(), approximate=False, profile=True)
    plain = model.forward(digits.x_test[:2]).argmax(1)
    assert row["images"] == 2 and row["bootstraps_per_image"] == 0 and row["planned_bootstraps_per_image"] == 0
    assert row["agreement"] == 1.0 and row["relative_logit_error"] < 1e-2
    assert row["encrypted_accuracy"] == float(np.mean(plain == digits.y_test[:2]))
    assert row["plain_accuracy_all"] == pytest.approx(float(np.mean(model.predict(digits.x_test).argmax(1)
                                                                    == digits.y_test)))
    assert row["profile"]["total_s"] > 0 and set(row["profile"]["groups"]) == {g[0] for g in bench_deep.PROFILE_GROUPS}
    assert "| student |" in bench_deep.table([row])


def test_bootstrap_counter_counts_and_restores(monkeypatch):
    from ckks.circuits.bootstrapping.bootstrapper import Bootstrapper

    monkeypatch.setattr(Bootstrapper, "bootstrap", lambda self, ct: ct + 1)
    stub = Bootstrapper.bootstrap
    with bench_deep.counting_bootstraps() as count:
        assert [Bootstrapper.bootstrap(None, k) for k in range(3)] == [1, 2, 3]
    assert count[0] == 3 and Bootstrapper.bootstrap is stub


def test_profile_groups_sum_the_named_functions():
    profiler = cProfile.Profile()
    profiler.enable()
    sum(i * i for i in range(10000))
    profiler.disable()
    out = bench_deep.profile_groups(profiler, 1.0)
    assert out["total_s"] == 1.0 and all(v == 0.0 for v in out["groups"].values())  # no bootstrap ran


@pytest.mark.parametrize("argv", [["--images", "0"], ["--boot-images", "451"], ["--preset", "64"],
                                  ["--interleave", "many"], ["--first-conv", "patches"]])
def test_bad_arguments_are_refused(argv):
    with pytest.raises(SystemExit):
        bench_deep.main(argv)


def test_level_path_shares_the_x_axis_between_before_and_after():
    before = [("input", 12), ("a", 11), ("b", 6), ("c", 0)]
    after = [("input", 7), ("a", 6), ("b", 1), ("bootstrap before c", 7), ("switch down before c", 6), ("c", 0)]
    bx, by = level_path(before)
    ax, ay = level_path(after)
    assert bx == [0, 1, 2, 3] and by == [12, 11, 6, 0]
    assert ax == [0, 1, 2, 2, 2, 3] and ay == [7, 6, 1, 7, 6, 0]
    assert bx[-1] == ax[-1]  # both end after the last segment
