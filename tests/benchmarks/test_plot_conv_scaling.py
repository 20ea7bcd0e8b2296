"""benchmarks/plot_conv_scaling.py on its smallest point: both packings agree with the plaintext block, a refused
plan is reported instead of run, the plot is written, and bad arguments are refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import plot_conv_scaling  # noqa: E402


def test_smallest_point_both_packings_and_the_plot(tmp_path, capsys):
    out = tmp_path / "conv.png"
    rows = plot_conv_scaling.main(["--sizes", "8", "--channels", "1", "--out", str(out)])
    assert [r["packing"] for r in rows] == ["dense", "multiplexed"]
    for r in rows:
        assert r["status"] == "ok" and r["poly_degree"] >= 1024 and r["rotations"] > 0
        assert r["max_error"] < 0.05  # precision_bits=12 on outputs of order 1
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert printed.count("| 1 | 8 |") == 2 and f"wrote {out}" in printed


def test_a_plan_over_the_memory_limit_is_reported_not_run(monkeypatch):
    monkeypatch.setitem(plot_conv_scaling.OPTIONS, "memory_limit", 1000)  # 1000 bytes: every plan is refused
    row = plot_conv_scaling.measure(1, 8, "dense")
    assert row["status"] == "over memory limit" and "memory_limit" in row["detail"]


def test_a_refused_point_is_drawn_as_a_cross(tmp_path):
    rows = [{"channels": 1, "size": 8, "packing": "dense", "status": "ok", "seconds": 0.1},
            {"channels": 1, "size": 16, "packing": "dense", "status": "over memory limit"}]
    plot_conv_scaling.plot(rows, tmp_path / "p.png", "note")
    assert (tmp_path / "p.png").stat().st_size > 1000


@pytest.mark.parametrize("argv", [["--sizes", "7"], ["--sizes", "0,8"], ["--channels", "x"], ["--packings", "sparse"],
                                  ["--packings", ","]])
def test_bad_arguments_are_refused(argv, tmp_path):
    with pytest.raises(SystemExit) as exc:
        plot_conv_scaling.main([*argv, "--out", str(tmp_path / "x.png")])
    assert exc.value.code == 2
