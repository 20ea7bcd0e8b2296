"""Cheat: overwrite the autograder's file so that the next run passes.

Blocked: open() is not available to a submission (nor os, pathlib, io); the worker also runs in
an empty temporary folder, and ckks-grade reports any grader file that changes during grading.
must fail: all
"""

with open("test_autograder.py", "w") as handle:  # relative: the worker's empty temporary folder
    handle.write("")


def total(v):
    return v
