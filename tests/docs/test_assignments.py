"""Every assignment is complete, and its autograder tells good work from bad.

For each assignment, ONE class run of the grader (``python -m tutorials.assignments.grade NAME
FOLDER --csv``, from a temporary directory) grades the untouched stub and every file of the
assignment's ``cheats/`` folder, each cheat followed by a copy of the reference solution (from
``tutorials/solutions/``, outside the graded package): every solution copy must score full marks
with no flag (a cheat leaves nothing behind that hurts the next student), the stub zero, and each
cheat must fail the tests its docstring names (``must fail: ...``) and carry the flag it names
(``flag: ...``).  The grader's exit status is 3 exactly when some submission was flagged.
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

SOLUTIONS = REPO / "tutorials" / "solutions"
NAMES = assignment_names()
FILES = ["README.md", "TEACHER.md", "stub.py", "test_autograder.py"]
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
def graded(name: str) -> tuple[dict[str, dict[str, str]], int]:
    """({student: {column: value}}, exit status) of one class run: the stub, and each cheat then a solution copy."""
    work = Path(tempfile.mkdtemp(prefix=f"grade-{name}-"))
    try:
        folder = work / "submissions"
        folder.mkdir()
        shutil.copy(ROOT / name / "stub.py", folder / "stub.py")
        cheats = sorted((ROOT / name / "cheats").glob("*.py"))
        for i, cheat in enumerate(cheats):
            shutil.copy(cheat, folder / f"{i:02d}_cheat_{cheat.name}")
            shutil.copy(SOLUTIONS / f"{name}.py", folder / f"{i:02d}_solution.py")
        if not cheats:
            shutil.copy(SOLUTIONS / f"{name}.py", folder / "00_solution.py")
        result = subprocess.run(
            [sys.executable, "-m", "tutorials.assignments.grade", name, str(folder), "--csv", "grades.csv", *LIMITS],
            cwd=work,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        assert result.returncode in (0, 3), f"{name}: the grader failed\n{output}"
        with open(work / "grades.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return {row["student"]: row for row in rows}, result.returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)


def solutions_of(name: str) -> dict[str, dict[str, str]]:
    """The rows of the reference solution's copies (``NN_solution``)."""
    return {student: row for student, row in graded(name)[0].items() if re.fullmatch(r"\d+_solution", student)}


def test_at_least_six_assignments():
    assert len(NAMES) >= 6, f"found {NAMES}"
    assert set(NEW) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_assignment_is_complete(name):
    folder = ROOT / name
    for file in FILES:
        assert (folder / file).is_file(), f"{name} lacks {file}"
    assert not (folder / "solution.py").exists(), f"{name}: solutions belong in tutorials/solutions/, not the package"
    assert (SOLUTIONS / f"{name}.py").is_file(), f"{name} has no reference solution in tutorials/solutions/"
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
def test_reference_solution_passes_after_every_cheat(name):
    rows = solutions_of(name)
    assert rows
    for student, row in rows.items():
        failing = [k for k, v in row.items() if v == "fail"]
        assert float(row["percent"]) == 100.0, f"{name}: the reference solution ({student}) fails {failing}"
        assert row["flags"] == "", f"{name}: the reference solution ({student}) was flagged {row['flags']}"


@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_fails(name):
    row = graded(name)[0]["stub"]
    assert float(row["score"]) == 0, f"{name}: the stub should score 0, got {row['score']}"


@pytest.mark.parametrize("name", NAMES)
def test_points_in_teacher_notes_come_from_the_autograder(name):
    """TEACHER.md states the total the grader gives (the weights in test_autograder.py are the one source)."""
    row = graded(name)[0]["stub"]
    text = (ROOT / name / "TEACHER.md").read_text(encoding="utf-8")
    stated = re.findall(r"\*\*Points: (\d+(?:\.\d+)?)\*\*", text)
    assert stated, f"{name}/TEACHER.md should state its total as **Points: N** (ckks-grade --points {name})"
    assert [float(p) for p in stated] == [float(row["max_score"])], (
        f"{name}/TEACHER.md says {stated} points, the grader gives {row['max_score']}"
    )


def _rules(name: str, cheat: str) -> tuple[list[str] | None, str | None]:
    text = (ROOT / name / "cheats" / f"{cheat}.py").read_text(encoding="utf-8")
    fail = re.search(r"must fail:\s*(.+)", text)
    flag = re.search(r"flag:\s*(\w+)", text)
    assert fail or flag, f"{name}/cheats/{cheat}.py should say which tests it must fail ('must fail: ...') or its flag"
    listed = fail.group(1).strip() if fail else None
    tests = None if listed in (None, "all") else [t.strip() for t in listed.split(",")]
    return (tests if fail else []), (flag.group(1) if flag else None)


@pytest.mark.parametrize(("name", "cheat"), CHEATS, ids=[f"{n}-{c}" for n, c in CHEATS])
def test_cheat_fails_or_is_flagged(name, cheat):
    rows, status = graded(name)
    (student,) = [s for s in rows if s.endswith(f"_cheat_{cheat}")]
    row = rows[student]
    tests, flag = _rules(name, cheat)
    if flag is not None:
        assert flag in row["flags"].split(";"), f"{name}: the cheat {cheat} should be flagged {flag}: {row['flags']!r}"
        assert status == 3, "a flagged submission makes the grader exit with status 3"
    if tests is None:
        assert float(row["score"]) == 0, f"{name}: the cheat {cheat} should score 0, got {row['score']}"
        return
    for test in tests:
        assert test in row, f"{name}/cheats/{cheat}.py names an unknown test {test}"
        assert row[test] == "fail", f"{name}: the cheat {cheat} passes {test}"
    if flag is None:
        assert float(row["percent"]) < 100.0
