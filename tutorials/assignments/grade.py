"""Run one assignment's autograder against a student's file and print a score.

    python -m tutorials.assignments.grade <assignment> path/to/student.py
    python -m tutorials.assignments.grade --list

Exit status 0 when every test passes, 1 otherwise (2 for a usage error), so the command
fits in a script that grades a folder of submissions.  The failure messages carry hints.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tutorials.assignments import ROOT, STUDENT_FILE_VARIABLE, assignment_names


class _Score:
    """A pytest plugin that counts the outcome of each test."""

    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" and report.passed:
            self.passed.append(report.nodeid)
        elif report.failed:
            self.failed.append(report.nodeid)


def grade(name: str, student_file: str | os.PathLike, verbose: bool = True) -> tuple[int, int]:
    """Run the autograder of ``name`` on ``student_file``; returns (passed, total)."""
    import pytest

    autograder = ROOT / name / "test_autograder.py"
    os.environ[STUDENT_FILE_VARIABLE] = str(Path(student_file).resolve())
    score = _Score()
    args = [str(autograder), "-q", "--no-header", "--tb=short", "-p", "no:cacheprovider", "-o", "addopts=-ra"]
    args += ["-W", "ignore::ckks.errors.InsecureWarning"]  # the autograders use teaching rings on purpose
    if not verbose:
        args.append("--tb=no")
    pytest.main(args, plugins=[score])
    failed = sorted(set(score.failed))
    return len(score.passed), len(score.passed) + len(failed)


def main(argv: list[str] | None = None) -> int:
    names = assignment_names()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", nargs="?", help=f"one of: {', '.join(names)}")
    parser.add_argument("student_file", nargs="?", help="the student's Python file")
    parser.add_argument("--list", action="store_true", help="list the assignments and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    if args.assignment not in names or not args.student_file:
        parser.print_usage(sys.stderr)
        print(f"assignments: {', '.join(names)}", file=sys.stderr)
        return 2
    if not Path(args.student_file).is_file():
        print(f"no such file: {args.student_file}", file=sys.stderr)
        return 2
    passed, total = grade(args.assignment, args.student_file)
    print(f"\nScore for {args.assignment}: {passed}/{total} tests passed")
    return 0 if total and passed == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
