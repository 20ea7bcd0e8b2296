"""Every assignment is complete; its reference solution passes its autograder and its stub fails it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tutorials.assignments import ROOT, assignment_names  # noqa: E402

NAMES = assignment_names()
FILES = ["README.md", "TEACHER.md", "stub.py", "solution.py", "test_autograder.py"]


def test_at_least_six_assignments():
    assert len(NAMES) >= 6, f"found {NAMES}"


@pytest.mark.parametrize("name", NAMES)
def test_assignment_is_complete(name):
    folder = ROOT / name
    for file in FILES:
        assert (folder / file).is_file(), f"{name} lacks {file}"
    teacher = (folder / "TEACHER.md").read_text(encoding="utf-8").lower()
    for heading in ("learning goals", "expected time", "common mistakes"):
        assert heading in teacher, f"{name}/TEACHER.md should have a '{heading}' section"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert f"grade {name}" in readme, f"{name}/README.md should show the grading command"


@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_passes(name, python):
    result = python("-m", "tutorials.assignments.grade", name, str(ROOT / name / "solution.py"))
    output = f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    assert result.returncode == 0, f"{name}: the reference solution fails\n{output}"
    assert "tests passed" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_fails(name, python):
    result = python("-m", "tutorials.assignments.grade", name, str(ROOT / name / "stub.py"))
    assert result.returncode == 1, f"{name}: the stub should fail its autograder\n{result.stdout[-3000:]}"
    assert f"Score for {name}: 0/" in result.stdout, f"{name}: the stub should score 0\n{result.stdout[-3000:]}"


def test_grade_usage_errors(python):
    assert python("-m", "tutorials.assignments.grade", "no_such_assignment", "x.py").returncode == 2
    listing = python("-m", "tutorials.assignments.grade", "--list")
    assert listing.returncode == 0 and listing.stdout.split() == NAMES
