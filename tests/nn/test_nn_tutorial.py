"""The HE-friendly training tutorial runs end to end and its own asserts hold."""

from __future__ import annotations

import runpy
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[2] / "tutorials" / "he_friendly_training.py"


def test_he_friendly_training_tutorial_runs(capsys):
    namespace = runpy.run_path(str(TUTORIAL), run_name="__main__")
    out = capsys.readouterr().out
    assert "| methodology, least-squares start |" in out
    assert namespace["student"].multiplicative_depth() == 8
    assert namespace["gap"] <= 0.01
