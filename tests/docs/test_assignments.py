"""Every assignment is complete, and its autograder tells good work from bad.

For each assignment, ONE class run of the grader (``python -m tutorials.assignments.grade NAME
FOLDER --csv``, from a temporary directory) grades the reference solution, the untouched stub and
every file of the assignment's ``cheats/`` folder: the solution must score full marks, the stub
zero, and each cheat must fail the tests its docstring names (``must fail: ...``).
"""

from __future__ import annotations

import csv
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tutorials.assignments import ROOT, assignment_names  # noqa: E402

NAMES = assignment_names()
FILES = ["README.md", "TEACHER.md", "stub.py", "solution.py", "test_autograder.py"]
NEW = ["dense_layer", "poly_activation", "soft_argmax", "packed_transpose", "eval_mod"]  # encrypted ML (issue 16)
CHEATS = [(name, path.stem) for name in NAMES for path in sorted((ROOT / name / "cheats").glob("*.py"))]
# per call and per submission (generous: CI machines are shared; endless loops are tested in test_grader.py)
LIMITS = ["--timeout", "45", "--budget", "240"]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NUMBA_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


@functools.cache
def graded(name: str) -> dict[str, dict[str, str]]:
    """{student: {column: value}} from one class run over the solution, the stub and the cheats."""
    work = Path(tempfile.mkdtemp(prefix=f"grade-{name}-"))
    try:
        folder = work / "submissions"
        folder.mkdir()
        shutil.copy(ROOT / name / "solution.py", folder / "solution.py")
        shutil.copy(ROOT / name / "stub.py", folder / "stub.py")
        for cheat in sorted((ROOT / name / "cheats").glob("*.py")):
            shutil.copy(cheat, folder / f"cheat_{cheat.name}")
        result = subprocess.run(
            [sys.executable, "-m", "tutorials.assignments.grade", name, str(folder), "--csv", "grades.csv", *LIMITS],
            cwd=work,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, f"{name}: the grader failed\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        with open(work / "grades.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return {row["student"]: row for row in rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_at_least_six_assignments():
    assert len(NAMES) >= 6, f"found {NAMES}"
    assert set(NEW) <= set(NAMES)


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


@pytest.mark.parametrize("name", NEW)
def test_new_assignment_readme_has_the_sections(name):
    readme = (ROOT / name / "README.md").read_text(encoding="utf-8").lower()
    for part in ("learning goals", "time needed", "forbidden"):
        assert part in readme, f"{name}/README.md should say its {part}"
    assert any((ROOT / name / "cheats").glob("*.py")), f"{name} should have cheats the grader is tested against"


@pytest.mark.parametrize("name", NEW)
def test_new_assignment_is_in_the_course_pages(name):
    for page in ("teachers.md", "course.md"):
        text = (REPO / "docs" / page).read_text(encoding="utf-8")
        assert f"`{name}`" in text, f"docs/{page} should list the assignment {name}"


@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_passes(name):
    row = graded(name)["solution"]
    failing = [k for k, v in row.items() if v == "fail"]
    assert float(row["percent"]) == 100.0, f"{name}: the reference solution fails {failing}"


@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_fails(name):
    row = graded(name)["stub"]
    assert float(row["score"]) == 0, f"{name}: the stub should score 0, got {row['score']}"


def _must_fail(name: str, cheat: str) -> list[str] | None:
    text = (ROOT / name / "cheats" / f"{cheat}.py").read_text(encoding="utf-8")
    match = re.search(r"must fail:\s*(.+)", text)
    assert match, f"{name}/cheats/{cheat}.py should say which tests it must fail ('must fail: ...')"
    listed = match.group(1).strip()
    return None if listed == "all" else [t.strip() for t in listed.split(",")]


@pytest.mark.parametrize(("name", "cheat"), CHEATS, ids=[f"{n}-{c}" for n, c in CHEATS])
def test_cheat_fails(name, cheat):
    row = graded(name)[f"cheat_{cheat}"]
    tests = _must_fail(name, cheat)
    if tests is None:
        assert float(row["score"]) == 0, f"{name}: the cheat {cheat} should score 0, got {row['score']}"
        return
    for test in tests:
        assert test in row, f"{name}/cheats/{cheat}.py names an unknown test {test}"
        assert row[test] == "fail", f"{name}: the cheat {cheat} passes {test}"
    assert float(row["percent"]) < 100.0
