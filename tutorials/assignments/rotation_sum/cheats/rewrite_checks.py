"""Cheat: rewrite the autograder's checks from inside the submission.

Blocked: the checks run in the grader's process; importing the grader, sys or pytest is refused.
must fail: all
"""

import sys

for name, module in list(sys.modules.items()):
    if "test_autograder" in name:
        for attribute in dir(module):
            if attribute.startswith("test_"):
                setattr(module, attribute, lambda *args, **kwargs: None)


def total(v):
    return v


def total_everywhere(v):
    return v


def dot(u, w):
    return u
