"""The grader: its command line, its CSV, and the isolated worker a submission runs in.

The cheats of the assignments' ``cheats/`` folders are graded in tests/docs/test_assignments.py;
here the sandbox's parts are tested directly: proxies, counts taken in the grader, provenance,
the JSON protocol, killing what a submission leaves behind, and quoting its output.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tutorials.assignments import ROOT, assignment_names  # noqa: E402
from tutorials.assignments.sandbox import (  # noqa: E402
    LIBRARY_ROOT,
    PREFIX,
    Submission,
    SubmissionError,
    SubmissionTimeout,
    bubblewrap,
    grading_context,
    isolation,
    quote,
)

SOLUTIONS = REPO / "tutorials" / "solutions"


def grade(*args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **extra)
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
    write(folder / "alice.py", (SOLUTIONS / "parameters.py").read_text(encoding="utf-8"))
    write(folder / "bob" / "whatever_name.py", (ROOT / "parameters" / "stub.py").read_text(encoding="utf-8"))
    result = grade("parameters", str(folder), "--csv", "out.csv", "--feedback", "fb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"isolation: {isolation()}" in result.stdout
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["student"] for r in rows] == ["(weight)", "alice", "bob"]
    weights, alice, bob = rows
    columns = ("student", "score", "max_score", "percent", "passed", "total", "flags", "isolation")
    tests = [k for k in weights if k not in columns]
    assert alice["flags"] == bob["flags"] == "" and alice["isolation"] == isolation()
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
    text = (SOLUTIONS / "ntt.py").read_text(encoding="utf-8")
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


def test_the_teachers_self_test(tmp_path):
    """--check-solutions grades DIR/<name>.py with its autograder: full marks exit 0, anything else 1."""
    write(tmp_path / "good" / "rotation_sum.py", (SOLUTIONS / "rotation_sum.py").read_text(encoding="utf-8"))
    write(tmp_path / "bad" / "rotation_sum.py", (ROOT / "rotation_sum" / "stub.py").read_text(encoding="utf-8"))
    good = grade("--check-solutions", str(tmp_path / "good"), cwd=tmp_path)
    assert good.returncode == 0 and "rotation_sum: 8/8 points" in good.stdout, good.stdout[-2000:]
    bad = grade("--check-solutions", str(tmp_path / "bad"), cwd=tmp_path)
    assert bad.returncode == 1 and "FAILED for rotation_sum" in bad.stdout


def test_a_fake_score_line_cannot_pass_for_the_graders(tmp_path):
    cheat = ROOT / "rotation_sum" / "cheats" / "fake_score.py"
    result = grade("rotation_sum", str(cheat), cwd=tmp_path)
    assert result.returncode == 1
    scores = [line for line in result.stdout.splitlines() if line.startswith("Score for")]
    assert scores == ["Score for rotation_sum: 0/8 tests passed"], scores
    assert "\x1b" not in result.stdout and f"{PREFIX.rstrip()}" in result.stdout


def test_quote_prefixes_every_line_and_strips_control_characters():
    text = quote("a\r\x1b[2KScore: 8/8\nb" + "x" * 5000, limit=100)
    assert all(line.startswith(PREFIX) for line in text.splitlines())
    assert "\x1b" not in text and "\r" not in text and "more characters cut" in text


def test_operations_run_and_are_counted_in_the_grader(tmp_path):
    ctx = grading_context(64, [40, 30, 40], 30, galois_steps=[1])
    source = (
        "def total(v):\n    return v + v.rotate(1)\n\n\n"
        "def peek(v):\n    return v.decrypt()\n\n\n"
        "def internal(v):\n    return v.context.rotator\n\n\n"
        "def summed(v):\n    return v.sum()\n\n\n"
        "def fresh(v):\n    return v.context.encrypt([1.0, 2.0])\n\n\n"
        "def where(v):\n    return type(v).__name__, v.level, len(v)\n"
    )
    x = np.arange(1.0, 5.0)
    with Submission(write(tmp_path / "s.py", source), disabled=["CKKSVector.sum"], timeout=240) as student:
        v = ctx.encrypt(x)
        assert student.where(v) == ("EncryptedVector", v.level, len(v))  # a proxy: the ciphertext stays here
        result = student.total(v)
        assert np.allclose(result.decrypt()[:3], x[:3] + x[1:], atol=1e-3)  # decrypted here, by the grader
        assert student.counts["rotations"] == 1 and student.counts["multiplications"] == 0
        with pytest.raises(SubmissionError, match="not available"):
            student.internal(v)
        with pytest.raises(SubmissionError, match="switched off"):
            student.summed(v)
        with pytest.raises(SubmissionError, match="tried to decrypt"):
            student.peek(v)
        with pytest.raises(SubmissionError, match="not computed from its encrypted input"):
            student.fresh(v)
        assert student.report.anomalies == {}


def test_a_malformed_message_is_flagged_and_stops_the_worker(tmp_path):
    source = (
        "g = next(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close')"
        ".__init__.__globals__\n"
        "def f():\n    for fd in range(3, 20):\n        try:\n"
        "            g['write'](fd, b'\\x00\\x00\\x00\\x05hello')\n        except OSError:\n            pass\n"
        "    return 1\n"
    )
    with Submission(write(tmp_path / "s.py", source), timeout=240) as student:
        with pytest.raises(SubmissionError, match="malformed"):
            student.f()
        assert "malformed" in student.report.anomalies


def test_without_bubblewrap_the_grader_still_isolates_and_says_so(tmp_path):
    """CKKS_GRADE_NO_BWRAP=1: no OS sandbox; still another user (as root), limits, killed orphans, flags."""
    folder = tmp_path / "class"
    write(folder / "a.py", (ROOT / "rotation_sum" / "cheats" / "orphan_fork.py").read_text(encoding="utf-8"))
    write(folder / "b.py", (SOLUTIONS / "rotation_sum.py").read_text(encoding="utf-8"))
    result = grade("rotation_sum", str(folder), "--csv", "out.csv", cwd=tmp_path, CKKS_GRADE_NO_BWRAP="1")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    assert "isolation: no OS sandbox (install bubblewrap)" in result.stdout
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    # orphan_fork reaches os through __subclasses__ (the static scan flags it) and leaves a process behind
    assert set(rows["a"]["flags"].split(";")) == {"introspection", "killed_processes"} and rows["b"]["flags"] == ""
    assert float(rows["b"]["percent"]) == 100.0 and rows["b"]["isolation"].startswith("no OS sandbox")


def test_processes_left_behind_are_killed_and_flagged(tmp_path):
    source = (
        "g = next(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close')"
        ".__init__.__globals__\n"
        f"def sees():\n    return [g['path'].exists(p) for p in {[str(LIBRARY_ROOT / 'ckks'), str(SOLUTIONS)]!r}]\n"
        "def f():\n    if g['fork']() == 0:\n        g['setsid']()\n        if g['fork']() == 0:\n"
        "            import time\n            time.sleep(300)\n        g['_exit'](0)\n"
        "    return g['getuid']()\n"
    )
    with Submission(write(tmp_path / "s.py", source), timeout=240) as student:
        uid = student.f()
        assert (uid == 65534) == (os.geteuid() == 0)  # the grader as root runs submissions as nobody
        if bubblewrap():  # its view of the file system: no library (this assignment's rules), no solutions
            assert student.sees() == [False, False]
        else:
            assert isolation().startswith("no OS sandbox")
        time.sleep(1.0)  # the double fork completes
        assert student.end_test() == ""
        assert "killed_processes" in student.report.anomalies
        assert student._tree() == student._allowed  # only the worker is left


def test_the_static_scan_names_interpreter_internals():
    """`introspection` finds escape hatches as attributes, names and strings; plain code and bad syntax give nothing."""
    from tutorials.assignments.sandbox import introspection

    source = 'x = ().__class__.__base__.__subclasses__()\ng = getattr(f, "__globals__")\ny = __import__("os")\n'
    assert introspection(source) == ["__base__", "__globals__", "__import__", "__subclasses__"]
    assert introspection("def total(v):\n    return v + v.rotate(1)\n") == []
    assert introspection("def broken(:\n") == []
