"""Grade submissions to an assignment: one file with hints, or a whole class into a CSV.

    ckks-grade --list                                        the assignments
    ckks-grade ntt alice.py                                  one student: hints, a score line
    ckks-grade ntt submissions/ --csv grades.csv             a class: one CSV row per student
    python -m tutorials.assignments.grade ...                the same, without the installed script

A folder of submissions holds one ``<student>.py`` per student, or one sub-folder per student
with a single ``.py`` file in it (as exported by most learning-management systems). Each
submission runs in its own sandboxed worker process (see ``sandbox.py``): a time limit per call
(``--timeout``, default: the assignment's), the assignment's forbidden modules and switched-off
library shortcuts, no secret key, and the checks in this process.

The CSV has the columns ``student, score, max_score, percent, passed, total`` and one column per
test (``pass``/``fail``); its first data row, student ``(weight)``, holds each test's weight
(points, from the autograder's ``@pytest.mark.weight``). ``--feedback DIR`` writes each student's
failing tests with their hints to ``DIR/<student>.txt``, to hand back.

Exit status: one file: 0 when every test passes, 1 otherwise; a folder: 0 when it was graded
(whatever the scores), 3 when a file of the grader changed while grading (a submission wrote to
it: the affected grades are void); 2 for a usage error.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tutorials.assignments import PLAN_VARIABLE, ROOT, assignment_names  # noqa: E402


class _Score:
    """A pytest plugin that records each (student, test) outcome and each test's weight."""

    def __init__(self, students: list[tuple[str, str]]):
        self.by_path = {str(Path(path).resolve()): name for name, path in students}
        self.items: dict[str, tuple[str, str]] = {}
        self.weights: dict[str, float] = {}
        self.outcomes: dict[str, dict[str, str]] = {name: {} for name, _ in students}
        self.hints: dict[str, dict[str, str]] = {name: {} for name, _ in students}

    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            callspec = getattr(item, "callspec", None)
            if callspec is None or "student" not in callspec.params:
                continue
            student = self.by_path.get(str(Path(callspec.params["student"]).resolve()), "?")
            sid = next(part for part in callspec.id.split("-") if re.fullmatch(r"student\d{4}", part))
            test = item.nodeid.split("::", 1)[-1]
            test = test.replace(f"[{sid}]", "").replace(f"[{sid}-", "[").replace(f"-{sid}]", "]")
            test = test.replace(f"-{sid}-", "-")
            marker = item.get_closest_marker("weight")
            self.weights[test] = float(marker.args[0]) if marker else 1.0
            self.items[item.nodeid] = (student, test)
            self.outcomes.setdefault(student, {})[test] = "fail"

    def pytest_runtest_logreport(self, report) -> None:
        if report.nodeid not in self.items:
            return
        student, test = self.items[report.nodeid]
        outcomes = self.outcomes[student]
        if report.failed:
            outcomes[test] = "fail"
            self.hints[student][test] = report.longreprtext
        elif report.when == "call" and report.passed and test not in self.hints[student]:
            outcomes[test] = "pass"

    def score(self, student: str) -> tuple[float, float, int, int]:
        outcomes = self.outcomes[student]
        points = sum(self.weights[t] for t, o in outcomes.items() if o == "pass")
        total = sum(self.weights[t] for t in outcomes)
        passed = sum(o == "pass" for o in outcomes.values())
        return points, total, passed, len(outcomes)


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def grade_many(
    name: str,
    students: list[tuple[str, str]],
    verbose: bool = False,
    timeout: float | None = None,
    budget: float | None = None,
) -> _Score:
    """Run the autograder of ``name`` once for every (student, file) pair; returns the recorded outcomes.

    Every submission gets its own worker process; the autograder's contexts are built once.
    """
    import pytest

    autograder = ROOT / name / "test_autograder.py"
    score = _Score(students)
    with tempfile.TemporaryDirectory(prefix="ckks-grade-") as tmp:
        plan_file = Path(tmp) / "plan.json"
        resolved = [[student, str(Path(path).resolve())] for student, path in students]
        plan_file.write_text(json.dumps({"students": resolved, "timeout": timeout, "budget": budget}))
        previous = os.environ.get(PLAN_VARIABLE)
        os.environ[PLAN_VARIABLE] = str(plan_file)
        args = [str(autograder), "--no-header", "-p", "no:cacheprovider", "-o", "addopts=", f"--rootdir={ROOT}"]
        args += ["-W", "ignore::ckks.errors.InsecureWarning"]  # the autograders use teaching rings on purpose
        args += ["-q", "--tb=short", "-rN"] if verbose else ["-q", "--tb=no", "-rN", "--no-summary"]
        try:
            pytest.main(args, plugins=[score])
        finally:
            if previous is None:
                os.environ.pop(PLAN_VARIABLE, None)
            else:
                os.environ[PLAN_VARIABLE] = previous
    return score


def grade(name: str, student_file: str | os.PathLike, verbose: bool = True, timeout: float | None = None):
    """Grade one file; returns (tests passed, tests)."""
    score = grade_many(name, [("student", str(student_file))], verbose=verbose, timeout=timeout)
    _, _, passed, total = score.score("student")
    return passed, total


def find_submissions(folder: Path) -> list[tuple[str, str]]:
    """(student, file) pairs: ``folder/<student>.py``, or ``folder/<student>/<one file>.py``."""
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix == ".py" and not entry.name.startswith((".", "_")):
            found.append((entry.stem, str(entry)))
        elif entry.is_dir() and not entry.name.startswith((".", "_")):
            files = sorted(p for p in entry.rglob("*.py") if "__pycache__" not in p.parts)
            if files:
                found.append((entry.name, str(files[0])))
    return found


def write_csv(path: Path, score: _Score, students: list[tuple[str, str]]) -> None:
    tests = sorted(score.weights)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score", "max_score", "percent", "passed", "total", *tests])
        writer.writerow(["(weight)", "", "", "", "", "", *(f"{score.weights[t]:g}" for t in tests)])
        for student, _ in students:
            points, total, passed, count = score.score(student)
            percent = 100 * points / total if total else 0.0
            row = [student, f"{points:g}", f"{total:g}", f"{percent:.1f}", passed, count]
            writer.writerow(row + [score.outcomes[student].get(t, "fail") for t in tests])


def write_feedback(folder: Path, score: _Score, students: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for student, _ in students:
        points, total, passed, count = score.score(student)
        lines = [f"{student}: {points:g}/{total:g} points, {passed}/{count} tests passed", ""]
        for test, text in sorted(score.hints[student].items()):
            lines += [f"--- {test}", text.strip(), ""]
        (folder / f"{student}.txt").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """The ``ckks-grade`` command (see the module docstring)."""
    names = assignment_names()
    parser = argparse.ArgumentParser(
        prog="ckks-grade", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("assignment", nargs="?", help=f"one of: {', '.join(names)}")
    parser.add_argument("submission", nargs="?", help="a student's Python file, or a folder of submissions")
    parser.add_argument("--list", action="store_true", help="list the assignments and exit")
    parser.add_argument("--csv", metavar="FILE", help="write the grades of a folder to this CSV file")
    parser.add_argument("--feedback", metavar="DIR", help="write each student's failing tests and hints to DIR")
    parser.add_argument("--timeout", type=float, metavar="S", help="seconds per call (default: the assignment's)")
    parser.add_argument("--budget", type=float, metavar="S", help="seconds per submission (default: 6 x timeout)")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    if args.assignment not in names or not args.submission:
        parser.print_usage(sys.stderr)
        print(f"assignments: {', '.join(names)}", file=sys.stderr)
        return 2
    target = Path(args.submission)
    if target.is_file():
        score = grade_many(args.assignment, [("student", str(target))], True, args.timeout, args.budget)
        points, total, passed, count = score.score("student")
        weighted = f" ({points:g}/{total:g} points)" if points != passed or total != count else ""
        print(f"\nScore for {args.assignment}: {passed}/{count} tests passed{weighted}")
        if args.csv:
            write_csv(Path(args.csv), score, [("student", str(target))])
        return 0 if count and passed == count else 1
    if not target.is_dir():
        print(f"no such file or folder: {target}", file=sys.stderr)
        return 2
    students = find_submissions(target)
    if not students:
        print(f"no submissions (*.py, or one folder per student) in {target}", file=sys.stderr)
        return 2
    before = _fingerprint(ROOT)
    score = grade_many(args.assignment, students, False, args.timeout, args.budget)
    tampered = sorted(k for k, v in _fingerprint(ROOT).items() if before.get(k) != v)
    print()
    for student, _ in students:
        points, total, passed, count = score.score(student)
        print(f"{student}: {points:g}/{total:g} points ({passed}/{count} tests passed)")
    csv_path = Path(args.csv) if args.csv else Path(f"grades-{args.assignment}.csv")
    write_csv(csv_path, score, students)
    print(f"grades written to {csv_path.resolve()}")
    if args.feedback:
        write_feedback(Path(args.feedback), score, students)
        print(f"feedback written to {Path(args.feedback).resolve()}")
    if tampered:
        print(
            f"WARNING: grader files changed while grading: {', '.join(tampered)}; restore them and regrade",
            file=sys.stderr,
        )
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
