"""benchmarks/bench_training_rows.py on a few steps of Iris: the row is filled from a real run; bad arguments."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from benchmarks import bench_training_rows  # noqa: E402


def test_a_short_run_fills_every_column():
    args = bench_training_rows.parse_args(["--dataset", "iris", "--hidden", "7", "--batch", "32", "--lr", "0.2",
                                           "--epochs", "1", "--max-steps", "2", "--poly-degree", "2048",
                                           "--insecure"])
    result = bench_training_rows.run(args)
    assert result["network"] == "4-7-3" and result["steps"] == 2 and result["parameters"]["packing"] == "rows"
    assert result["test_accuracy"] == result["twin_test_accuracy"] and result["max_weight_diff"] < 1e-4
    assert result["key_switches"] < result["naive_key_switches"][0] and result["depth"] == 8
    line = bench_training_rows.row(result)
    assert line.startswith("| 4-7-3 x2, mse, owner | 1 (2 steps) |") and line.count("|") == 9


@pytest.mark.parametrize("argv, message", [
    (["--batch", "0"], "--batch must be >= 1"), (["--lr", "-1"], "must be positive"),
    (["--max-steps", "0"], "--max-steps must be >= 1"), (["--dataset", "mnist"], "invalid choice"),
    (["--refresh", "bootstrap", "--flooding"], "--flooding applies to --refresh owner"),
])
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench_training_rows.parse_args(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err
