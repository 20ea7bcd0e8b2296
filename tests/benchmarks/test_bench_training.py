"""benchmarks/bench_training.py without its long runs: the command line of the 128-bit ``refresh="bootstrap"`` row,
its key-memory count, and the row itself on a small teaching ring standing in for the 128-bit preset."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from benchmarks import bench_training  # noqa: E402


def test_the_128_bit_row_runs_alone_with_batch_16_and_an_optional_step_limit():
    args = bench_training.parse_args(["--bootstrap-128", "--max-steps", "3"])
    assert args.bootstrap_128 and args.max_steps == 3 and args.batch == 16 and args.epochs == 5
    whole = bench_training.parse_args(["--bootstrap-128"])
    assert whole.max_steps is None and whole.batch == 16
    assert bench_training.parse_args(["--bootstrap-128", "--batch", "8"]).batch == 8
    plain = bench_training.parse_args([])
    assert not plain.bootstrap_128 and plain.batch == 32 and plain.max_steps is None  # part 1's default unchanged


@pytest.mark.parametrize("argv, message", [
    (["--bootstrap-128", "--max-steps", "0"], "--max-steps must be >= 1"),
    (["--bootstrap-128", "--epochs", "-1"], "--epochs must be >= 1"),
    (["--max-steps", "3"], "--max-steps applies to --bootstrap-128 only"),
    (["--bootstrap-128", "--fast"], "runs alone at 128 bits"),
    (["--bootstrap-128", "--bootstrap-rings", "2048"], "runs alone at 128 bits"),
    (["--bootstrap-128", "--max-steps", "two"], "invalid int value"),
])
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_training.parse_args(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_main_runs_only_the_128_bit_row_when_asked(monkeypatch):
    ran = []
    for name in ("bootstrap_128", "iris_mlp", "logistic_regression", "bootstrap_refresh"):
        monkeypatch.setattr(bench_training, name, lambda args, name=name: ran.append(name))
    bench_training.main(["--bootstrap-128", "--max-steps", "2"])
    assert ran == ["bootstrap_128"]


def test_key_memory_counts_a_shared_key_once():
    def keys(*arrays):
        return SimpleNamespace(keys={g: SimpleNamespace(data=a) for g, a in enumerate(arrays)})

    shared, own, boot_only = np.zeros(100, np.uint64), np.zeros(10, np.uint64), np.zeros(7, np.uint64)
    assert bench_training.key_memory(keys(shared, boot_only), keys(shared, own), None) == (100 + 10 + 7) * 8
    assert bench_training.key_memory(None) == 0


def test_the_row_on_a_teaching_ring(monkeypatch, capsys):
    """The whole row with the teaching preset at N = 2048 standing in for "128" (6 compute levels, one step per
    refresh as at 128 bits): 3 steps, 2 refreshes of one paired bootstrap each, every figure filled in."""
    import ckks
    from ckks.errors import InsecureWarning

    original = ckks.Context.for_bootstrapping
    asked = []

    def small(cls, preset):
        asked.append(preset)
        return original("teaching", security=None, poly_degree=2048, compute_levels=6)

    monkeypatch.setattr(ckks.Context, "for_bootstrapping", classmethod(small))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        row = bench_training.bootstrap_128(bench_training.parse_args(["--bootstrap-128", "--max-steps", "3"]))
    assert asked == ["128"]
    assert (row["steps"], row["refreshes"], row["bootstraps"]) == (3, 2, 2)
    assert 0 < row["refresh_s"] < row["wall_s"] and row["cpu_s"] > 0
    assert row["setup_s"] == pytest.approx(row["bootstrap_keys_s"] + row["training_keys_s"])
    assert row["keys_gib"] > row["bootstrap_keys_gib"] > 0 and row["peak_rss_gib"] > 0
    assert row["drift"] < 1e-5 and row["train_accuracy"] == row["twin_train_accuracy"]
    out = capsys.readouterr().out
    assert "| steps / refreshes / bootstraps | 3 / 2 / 2 |" in out and "refresh='bootstrap'" in out
