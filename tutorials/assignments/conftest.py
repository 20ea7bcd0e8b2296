"""Shared fixture of the autograders: ``student`` is the module under test.

The file comes from the environment variable ``CKKS_STUDENT_FILE`` (set by
``python -m tutorials.assignments.grade``); without it, the assignment's own
``stub.py`` is graded, so ``pytest tutorials/assignments/<name>`` checks the stub
that a student edits in place.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

import pytest

from tutorials.assignments import STUDENT_FILE_VARIABLE


def load_student(test_file: Path):
    """Import the student's file as a fresh module named ``student_solution``."""
    path = Path(os.environ.get(STUDENT_FILE_VARIABLE) or Path(test_file).with_name("stub.py")).resolve()
    if not path.is_file():
        pytest.fail(f"the file to grade, {path}, does not exist")
    spec = importlib.util.spec_from_file_location("student_solution", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["student_solution"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a syntax error or a failing import: every test fails with this message
        pytest.fail(f"could not import {path}: {type(exc).__name__}: {exc}", pytrace=False)
    return module


@pytest.fixture(scope="module")
def student(request):
    return load_student(request.path)


@pytest.fixture(autouse=True)
def _quiet_toy_parameters():
    """The autograders use small teaching rings on purpose: silence their insecurity warning."""
    from ckks.errors import InsecureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        yield
