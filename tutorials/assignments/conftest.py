"""Shared fixtures of the autograders: ``student`` is the submission under test, in an isolated worker.

The submission runs in a worker process (`tutorials.assignments.sandbox`); the tests, the secret
keys, the encrypted values and every graded operation stay in this process.  An autograder sets
its rules with module constants:

* ``FORBIDDEN``: module prefixes the submission may not import (``["ckks.ring.ntt"]``);
* ``DISABLED``: operations on encrypted values the grader refuses to run (``["CKKSVector.sum"]``);
* ``REASON``: one line shown with every refusal;
* ``LIBRARY``: whether the submission's process may import ckks at all (default False: numpy only,
  and the encrypted values it is given, which are proxies of the grader's);
* ``TIME_LIMIT``: seconds per call (the grader's ``--timeout`` overrides it).

Inputs come from ``sandbox.fresh_rng()`` (seeded from the OS): they differ on every grading run.
After each test the grader kills any process the submission started and keeps its output
(quoted) for the feedback.

Which files are graded: the JSON plan named by ``CKKS_GRADE_PLAN`` (written by ``ckks-grade`` for
a class: every submission becomes a parameter of ``student``), else the file in
``CKKS_STUDENT_FILE``, else the assignment's own ``stub.py``, so that
``pytest tutorials/assignments/<name>`` checks the stub a student edits in place.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

from tutorials.assignments import PLAN_VARIABLE, STUDENT_FILE_VARIABLE
from tutorials.assignments.sandbox import Submission


def pytest_configure(config):
    config.addinivalue_line("markers", "weight(points): the points a test is worth (default 1)")


def _plan(test_file: Path) -> dict:
    plan_file = os.environ.get(PLAN_VARIABLE)
    if plan_file:
        return json.loads(Path(plan_file).read_text(encoding="utf-8"))
    path = os.environ.get(STUDENT_FILE_VARIABLE) or str(Path(test_file).with_name("stub.py"))
    return {"students": [["student", str(Path(path).resolve())]]}


def pytest_generate_tests(metafunc):
    if "student" in metafunc.fixturenames:
        students = _plan(Path(metafunc.definition.path))["students"]
        metafunc.parametrize(
            "student",
            [path for _, path in students],
            indirect=True,
            scope="module",
            ids=[f"student{i:04d}" for i in range(len(students))],
        )


@pytest.fixture(scope="module")
def student(request):
    module = request.module
    plan = _plan(request.path)
    timeout = plan.get("timeout") or getattr(module, "TIME_LIMIT", 60.0)
    path = Path(request.param)
    if not path.is_file():
        pytest.fail(f"the file to grade, {path}, does not exist")
    submission = Submission(
        path,
        forbidden=getattr(module, "FORBIDDEN", ()),
        disabled=getattr(module, "DISABLED", ()),
        reason=getattr(module, "REASON", "see the assignment's README"),
        library=getattr(module, "LIBRARY", False),
        timeout=timeout,
        budget=plan.get("budget"),
    )
    with submission:
        yield submission


@pytest.fixture(autouse=True)
def _after_each_test(request):
    """Kill what the submission started during the test; keep its output (quoted) for the feedback."""
    yield
    if "student" in request.fixturenames:
        output = request.getfixturevalue("student").end_test()
        if output:
            request.node.user_properties.append(("student_output", output))


@pytest.fixture(autouse=True)
def _quiet_toy_parameters():
    """The autograders use small teaching rings on purpose: silence their insecurity warning."""
    from ckks.errors import InsecureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        yield
