"""Cheat: overwrite the autograder's file (and its bounds) so that the next run passes.

Blocked: open() is not available to a submission (nor os, pathlib, io), and, around that guard,
the process runs as nobody in an empty private folder of a read-only view without the grader's files
(bubblewrap); ckks-grade flags ``integrity`` if a library or grader file changes while grading.
must fail: all
"""

with open("../tutorials/assignments/soft_argmax/test_autograder.py", "w") as handle:
    handle.write("MAX_ERROR = 1e9\n")


def denominator_range(low, high, classes):
    return 0.0, 0.0


def soft_argmax(logits, low, high, depth):
    return logits
