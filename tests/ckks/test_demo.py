"""The README demo runs and reports the precision it promises."""

from __future__ import annotations

import re

from ckks import demo


def test_demo_prints_results_next_to_numpy_and_the_precision(capsys):
    demo.main()
    out = capsys.readouterr().out
    assert "encrypted x*y + x" in out and "numpy x*y + x" in out
    rows = [line.split() for line in out.splitlines() if re.match(r"^\s+-?\d+\.\d{10}\s", line)]
    assert len(rows) == 8
    for got, want, _ in rows:
        assert abs(float(got) - float(want)) < 1e-6
    bits = float(re.search(r"bits of precision: ([\d.]+)", out).group(1))
    assert bits > 20
