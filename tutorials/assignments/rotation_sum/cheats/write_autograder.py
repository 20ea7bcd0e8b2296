"""Cheat: overwrite the autograder's file so that the next run passes.

Blocked: open() is not available to a submission (nor os, pathlib, io), and, around that guard,
the process runs as nobody in an empty private folder of a read-only view without the grader's files
(bubblewrap); ckks-grade flags ``integrity`` if a library or grader file changes while grading.
must fail: all
"""

with open("test_autograder.py", "w") as handle:  # relative: the worker's empty temporary folder
    handle.write("")


def total(v):
    return v
