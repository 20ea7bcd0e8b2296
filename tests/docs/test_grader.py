"""The grader: its command line, its CSV, and the sandbox a submission runs in."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tutorials.assignments import ROOT, assignment_names  # noqa: E402
from tutorials.assignments.sandbox import (  # noqa: E402
    Submission,
    SubmissionError,
    SubmissionTimeout,
    grading_context,
)


def grade(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("NUMBA_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "tutorials.assignments.grade", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_usage_errors_and_listing(tmp_path):
    assert grade("no_such_assignment", "x.py", cwd=tmp_path).returncode == 2
    assert grade("ntt", str(tmp_path / "missing.py"), cwd=tmp_path).returncode == 2
    assert grade("ntt", str(tmp_path), cwd=tmp_path).returncode == 2  # an empty folder
    listing = grade("--list", cwd=tmp_path)
    assert listing.returncode == 0 and listing.stdout.split() == assignment_names()


def test_a_class_into_a_csv_from_any_directory(tmp_path):
    """Flat files and one folder per student; weights in the (weight) row; feedback files."""
    folder = tmp_path / "submissions"
    write(folder / "alice.py", (ROOT / "parameters" / "solution.py").read_text(encoding="utf-8"))
    write(folder / "bob" / "whatever_name.py", (ROOT / "parameters" / "stub.py").read_text(encoding="utf-8"))
    result = grade("parameters", str(folder), "--csv", "out.csv", "--feedback", "fb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["student"] for r in rows] == ["(weight)", "alice", "bob"]
    weights, alice, bob = rows
    tests = [k for k in weights if k not in ("student", "score", "max_score", "percent", "passed", "total")]
    assert tests and all(float(weights[t]) >= 1 for t in tests)
    assert float(alice["percent"]) == 100.0 and all(alice[t] == "pass" for t in tests)
    assert float(bob["score"]) == 0 and all(bob[t] == "fail" for t in tests)
    assert float(alice["max_score"]) == sum(float(weights[t]) for t in tests)
    feedback = (tmp_path / "fb" / "bob.txt").read_text(encoding="utf-8")
    assert "NotImplementedError" in feedback and "0/" in feedback


def test_one_file_prints_hints_and_a_score(tmp_path):
    result = grade("parameters", str(ROOT / "parameters" / "stub.py"), cwd=tmp_path)
    assert result.returncode == 1
    assert "Score for parameters: 0/" in result.stdout
    assert "NotImplementedError" in result.stdout


def test_weights_count_in_the_score(tmp_path):
    """ntt's growth test is worth 2 points: the score line shows points when weights differ."""
    text = (ROOT / "ntt" / "solution.py").read_text(encoding="utf-8")
    result = grade("ntt", str(write(tmp_path / "s.py", text)), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "tests passed (13/13 points)" in result.stdout


# -- the sandbox, directly ----------------------------------------------------------------------------------


def test_an_endless_loop_costs_one_time_limit(tmp_path):
    path = write(tmp_path / "loop.py", "def spin():\n    while True:\n        pass\n\n\ndef two():\n    return 2\n")
    with Submission(path, timeout=3, budget=30) as student:
        with pytest.raises(SubmissionTimeout, match="endless loop"):
            student.spin()
        assert student.two() == 2  # a fresh worker serves the next call


def test_an_endless_loop_at_import_fails_every_call(tmp_path):
    path = write(tmp_path / "loop.py", "while True:\n    pass\n")
    with Submission(path, timeout=3) as student:
        with pytest.raises(SubmissionTimeout):
            student.anything()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import ckks\n", "importing ckks is not allowed"),
        ("from ckks.ring import reference\n", "ckks.ring"),
        ("import os\n", "importing os is not allowed"),
        ("import importlib\n", "importing importlib"),
        ("open('x', 'w')\n", "'open' is not defined"),
        ("eval('1')\n", "'eval' is not defined"),
    ],
)
def test_forbidden_imports_and_builtins(tmp_path, source, message):
    path = write(tmp_path / "s.py", source + "\n\ndef f():\n    return 1\n")
    with Submission(path, forbidden=["ckks.ring"] if "ring" in source else ["ckks"], timeout=240) as student:
        with pytest.raises(SubmissionError, match=message):
            student.f()


def test_forbidden_parts_cannot_be_reached_by_attribute(tmp_path):
    source = "import ckks\n\n\ndef f():\n    return ckks.circuits.linear_transform\n\n\ndef g():\n    return 1\n"
    with Submission(write(tmp_path / "s.py", source), forbidden=["ckks.circuits"], timeout=240) as student:
        assert student.g() == 1
        with pytest.raises(SubmissionError, match="ckks.circuits"):
            student.f()


def test_results_are_data_only(tmp_path):
    source = "class Evil:\n    def __reduce__(self):\n        return (print, ('owned',))\n\n\n"
    source += "def f():\n    return Evil()\n"
    with Submission(write(tmp_path / "s.py", source), timeout=240) as student:
        with pytest.raises(SubmissionError):
            student.f()


def test_the_submission_gets_no_secret_key_and_its_rotations_are_counted(tmp_path):
    ctx = grading_context(64, [40, 30, 40], 30, galois_steps=[1])
    source = (
        "def total(v):\n    return v + v.rotate(1)\n\n\n"
        "def peek(v):\n    return v.decrypt()\n\n\n"
        "def internal(v):\n    return v.context.rotator.rotate(v.ciphertext, 1)\n\n\n"
        "def has_key(v):\n    return v.context.is_private\n"
    )
    x = np.arange(1.0, 5.0)
    with Submission(write(tmp_path / "s.py", source), timeout=240) as student:
        v = ctx.encrypt(x)
        assert student.has_key(v) is False
        result = student.total(v)
        assert np.allclose(result.decrypt()[:3], x[:3] + x[1:], atol=1e-3)  # decrypted here, by the grader
        assert student.counts["rotations"] == 1
        student.internal(v)
        assert student.counts["rotations"] == 1, "a rotation through the internal rotator is counted too"
        with pytest.raises(SubmissionError, match="tried to decrypt"):
            student.peek(v)
