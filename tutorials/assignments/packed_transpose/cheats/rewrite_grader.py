"""Cheat: rewrite the grader's rotation count (sandbox._with_rotations) to report none.

Blocked: the counts are made in the grader's process, and a submission may not import the grader.
must fail: all
"""

from tutorials.assignments import sandbox

sandbox._with_rotations = lambda counts: {**counts, "rotations": 0}


def transpose_diagonal(v, d):
    return v
