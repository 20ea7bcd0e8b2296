"""Classroom assignments on the CKKS scheme.

Each assignment is a folder ``tutorials/assignments/<name>/`` with

* ``README.md``: the student's instructions;
* ``stub.py``: the file the student fills in;
* ``test_autograder.py``: pytest tests with hints in their failure messages;
* ``TEACHER.md``: learning goals, expected time, common mistakes.

Grade a file with ``ckks-grade <name> path/to/student.py`` (or
``python -m tutorials.assignments.grade``), a class with ``ckks-grade <name> submissions/ --csv grades.csv``.
Every submission runs in an isolated worker process (``sandbox.py``, ``worker.py``); the encrypted
values and every graded operation stay in the grader's process.  The reference solutions live in
``tutorials/solutions/<name>.py``, outside this package: the grader never needs them
(``ckks-grade --check-solutions tutorials/solutions`` is the teacher's self-test).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent

#: Environment variable naming the student's file for the autograders.
STUDENT_FILE_VARIABLE = "CKKS_STUDENT_FILE"

#: Environment variable naming a JSON grading plan (a class of submissions; see ``grade.py``).
PLAN_VARIABLE = "CKKS_GRADE_PLAN"


def assignment_names() -> list[str]:
    """Every assignment: the folders that hold an autograder."""
    return sorted(p.parent.name for p in ROOT.glob("*/test_autograder.py"))
