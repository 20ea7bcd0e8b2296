"""Grade submissions to an assignment: one file with hints, or a whole class into a CSV.

    ckks-grade --list                                        the assignments
    ckks-grade --points                                      each assignment's points (from its autograder)
    ckks-grade ntt alice.py                                  one student: hints, a score line
    ckks-grade ntt submissions/ --csv grades.csv             a class: one CSV row per student
    ckks-grade --check-solutions ~/course-solutions/         the teacher's self-test: <name>.py per assignment
    python -m tutorials.assignments.grade ...                the same, without the installed script

A folder of submissions holds one ``<student>.py`` per student, or one sub-folder per student
with a single ``.py`` file in it (as exported by most learning-management systems).  Each
submission runs in its own isolated worker process (see ``sandbox.py``: another user when the
grader is root, bubblewrap when installed, resource limits, a time limit per call ``--timeout``);
the encrypted values, the keys, the checks and every graded operation stay in this process, and
the inputs are drawn from the OS on every run.  The grader needs no solution: reference solutions
live outside the graded package (``tutorials/solutions/`` in the repository).

The CSV has the columns ``student, score, max_score, percent, passed, total, flags, isolation``
and one column per test (``pass``/``fail``); its first data row, student ``(weight)``, holds each
test's weight (points, from the autograder's ``@pytest.mark.weight``: the only place points are
set).  ``flags`` lists the anomalies seen while grading that student (``timeout``,
``killed_processes``, ``integrity``, ``malformed``, ``introspection``), ``isolation`` what kept the
submission in.
``--feedback DIR`` writes each student's failing tests with their hints and output to
``DIR/<student>.txt``, to hand back.  The student's output and messages are quoted (every line
starts with ``  |``): a line that starts in the first column is the grader's.

Exit status: one file: 0 when every test passes, 1 otherwise; a folder: 0 when it was graded
with no anomaly; 3 when some submission was flagged (see the CSV's ``flags``; an ``integrity``
flag means a file of the library or the grader changed: restore it and regrade); 2 for a usage
error; ``--check-solutions``: 0 when every solution gets full marks, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tutorials.assignments import PLAN_VARIABLE, ROOT, assignment_names  # noqa: E402

FLAGS = ("timeout", "killed_processes", "integrity", "malformed")


class _Score:
    """A pytest plugin that records each (student, test) outcome and each test's weight."""

    def __init__(self, students: list[tuple[str, str]]):
        self.by_path = {str(Path(path).resolve()): name for name, path in students}
        self.items: dict[str, tuple[str, str]] = {}
        self.weights: dict[str, float] = {}
        self.outcomes: dict[str, dict[str, str]] = {name: {} for name, _ in students}
        self.hints: dict[str, dict[str, str]] = {name: {} for name, _ in students}
        self.outputs: dict[str, dict[str, str]] = {name: {} for name, _ in students}
        self.paths = {name: str(Path(path).resolve()) for name, path in students}

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
        for key, value in getattr(report, "user_properties", ()):
            if key == "student_output":
                self.outputs[student][test] = value
        if report.failed:
            outcomes[test] = "fail"
            self.hints[student][test] = report.longreprtext
        elif report.when == "call" and report.passed and test not in self.hints[student]:
            outcomes[test] = "pass"

    def flags(self, student: str) -> dict[str, str]:
        """The anomalies the sandbox reported for this student's submission."""
        from tutorials.assignments.sandbox import REPORTS

        report = REPORTS.get(self.paths.get(student, ""))
        return dict(report.anomalies) if report else {}

    def isolation(self, student: str) -> str:
        from tutorials.assignments.sandbox import REPORTS, isolation

        report = REPORTS.get(self.paths.get(student, ""))
        return report.isolation if report else isolation()

    def score(self, student: str) -> tuple[float, float, int, int]:
        outcomes = self.outcomes[student]
        points = sum(self.weights[t] for t, o in outcomes.items() if o == "pass")
        total = sum(self.weights[t] for t in outcomes)
        passed = sum(o == "pass" for o in outcomes.values())
        return points, total, passed, len(outcomes)


def grade_many(
    name: str,
    students: list[tuple[str, str]],
    verbose: bool = False,
    timeout: float | None = None,
    budget: float | None = None,
) -> _Score:
    """Run the autograder of ``name`` once for every (student, file) pair; returns the recorded outcomes.

    Every submission gets its own worker process; the autograder's contexts are built once.
    The sandbox's reports (isolation, anomalies) are in ``sandbox.REPORTS`` afterwards.
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
        writer.writerow(["student", "score", "max_score", "percent", "passed", "total", "flags", "isolation", *tests])
        writer.writerow(["(weight)", "", "", "", "", "", "", "", *(f"{score.weights[t]:g}" for t in tests)])
        for student, _ in students:
            points, total, passed, count = score.score(student)
            percent = 100 * points / total if total else 0.0
            flags = ";".join(sorted(score.flags(student)))
            row = [student, f"{points:g}", f"{total:g}", f"{percent:.1f}", passed, count, flags]
            row.append(score.isolation(student))
            writer.writerow(row + [score.outcomes[student].get(t, "fail") for t in tests])


def write_feedback(folder: Path, score: _Score, students: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for student, _ in students:
        points, total, passed, count = score.score(student)
        lines = [f"{student}: {points:g}/{total:g} points, {passed}/{count} tests passed", ""]
        for kind, detail in sorted(score.flags(student).items()):
            lines += [f"flagged: {kind}: {detail}", ""]
        for test, text in sorted(score.hints[student].items()):
            lines += [f"--- {test}", text.strip(), ""]
        for test, text in sorted(score.outputs[student].items()):
            lines += [f"--- output of your code during {test}:", text, ""]
        (folder / f"{student}.txt").write_text("\n".join(lines), encoding="utf-8")


def points(name: str) -> float:
    """The assignment's total points: the sum of its tests' weights, collected from its autograder."""
    import pytest

    stub = [("stub", str(ROOT / name / "stub.py"))]
    score = _Score(stub)
    args = [str(ROOT / name / "test_autograder.py"), "--collect-only", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
    with tempfile.TemporaryDirectory(prefix="ckks-points-") as tmp, _quiet(), _plan(stub, tmp):
        pytest.main([*args, f"--rootdir={ROOT}"], plugins=[score])
    return sum(score.weights.values())


class _quiet:
    """Silence pytest's collection listing."""

    def __enter__(self):
        import contextlib
        import io

        self._redirect = contextlib.redirect_stdout(io.StringIO())
        return self._redirect.__enter__()

    def __exit__(self, *exc):
        return self._redirect.__exit__(*exc)


class _plan:
    def __init__(self, students: list[tuple[str, str]], folder: str):
        self.file = Path(folder) / "plan.json"
        self.file.write_text(json.dumps({"students": [[s, str(Path(p).resolve())] for s, p in students]}))

    def __enter__(self):
        self.previous = os.environ.get(PLAN_VARIABLE)
        os.environ[PLAN_VARIABLE] = str(self.file)

    def __exit__(self, *exc):
        if self.previous is None:
            os.environ.pop(PLAN_VARIABLE, None)
        else:
            os.environ[PLAN_VARIABLE] = self.previous


def check_solutions(folder: Path, names: list[str], timeout: float | None) -> int:
    """Grade ``folder/<name>.py`` for every assignment found there; 0 when all get full marks."""
    found = [name for name in names if (folder / f"{name}.py").is_file()]
    if not found:
        print(f"no solutions (<assignment>.py) in {folder}", file=sys.stderr)
        return 2
    failed = []
    for name in found:
        score = grade_many(name, [("solution", str(folder / f"{name}.py"))], False, timeout)
        got, total, passed, count = score.score("solution")
        flags = ";".join(sorted(score.flags("solution")))
        print(f"{name}: {got:g}/{total:g} points ({passed}/{count} tests passed){' flags: ' + flags if flags else ''}")
        if not count or passed != count or flags:
            failed.append(name)
    missing = sorted(set(names) - set(found))
    if missing:
        print(f"no solution for: {', '.join(missing)}")
    print(f"solutions check: {'FAILED for ' + ', '.join(failed) if failed else 'all full marks'}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """The ``ckks-grade`` command (see the module docstring)."""
    from tutorials.assignments.sandbox import isolation

    names = assignment_names()
    parser = argparse.ArgumentParser(
        prog="ckks-grade", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("assignment", nargs="?", help=f"one of: {', '.join(names)}")
    parser.add_argument("submission", nargs="?", help="a student's Python file, or a folder of submissions")
    parser.add_argument("--list", action="store_true", help="list the assignments and exit")
    parser.add_argument("--points", action="store_true", help="print each assignment's total points and exit")
    parser.add_argument("--check-solutions", metavar="DIR", help="grade DIR/<assignment>.py for every assignment")
    parser.add_argument("--csv", metavar="FILE", help="write the grades of a folder to this CSV file")
    parser.add_argument("--feedback", metavar="DIR", help="write each student's failing tests and hints to DIR")
    parser.add_argument("--timeout", type=float, metavar="S", help="seconds per call (default: the assignment's)")
    parser.add_argument("--budget", type=float, metavar="S", help="seconds per submission (default: 6 x timeout)")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    if args.points:
        for name in names if args.assignment is None else [args.assignment]:
            print(f"{name}: {points(name):g}")
        return 0
    if args.check_solutions:
        print(f"isolation: {isolation()}")
        return check_solutions(Path(args.check_solutions), names, args.timeout)
    if args.assignment not in names or not args.submission:
        parser.print_usage(sys.stderr)
        print(f"assignments: {', '.join(names)}", file=sys.stderr)
        return 2
    target = Path(args.submission)
    if target.is_file():
        print(f"isolation: {isolation()}")
        score = grade_many(args.assignment, [("student", str(target))], True, args.timeout, args.budget)
        got, total, passed, count = score.score("student")
        for test, text in sorted(score.outputs["student"].items()):
            print(f"output of your code during {test}:\n{text}")
        for kind, detail in sorted(score.flags("student").items()):
            print(f"flagged: {kind}: {detail}")
        weighted = f" ({got:g}/{total:g} points)" if got != passed or total != count else ""
        print(f"\nScore for {args.assignment}: {passed}/{count} tests passed{weighted}")
        if args.csv:
            write_csv(Path(args.csv), score, [("student", str(target))])
        return 0 if count and passed == count and not score.flags("student") else 1
    if not target.is_dir():
        print(f"no such file or folder: {target}", file=sys.stderr)
        return 2
    students = find_submissions(target)
    if not students:
        print(f"no submissions (*.py, or one folder per student) in {target}", file=sys.stderr)
        return 2
    print(f"isolation: {isolation()}")
    score = grade_many(args.assignment, students, False, args.timeout, args.budget)
    print()
    flagged = []
    for student, _ in students:
        got, total, passed, count = score.score(student)
        flags = score.flags(student)
        if flags:
            flagged.append(student)
        note = f"  FLAGGED: {', '.join(sorted(flags))}" if flags else ""
        print(f"{student}: {got:g}/{total:g} points ({passed}/{count} tests passed){note}")
    csv_path = Path(args.csv) if args.csv else Path(f"grades-{args.assignment}.csv")
    write_csv(csv_path, score, students)
    print(f"grades written to {csv_path.resolve()}")
    if args.feedback:
        write_feedback(Path(args.feedback), score, students)
        print(f"feedback written to {Path(args.feedback).resolve()}")
    if flagged:
        print(f"WARNING: {len(flagged)} submission(s) flagged (see the CSV's flags column): {', '.join(flagged)}",
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
