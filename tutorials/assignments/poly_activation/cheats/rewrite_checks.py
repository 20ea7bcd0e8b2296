"""Cheat: rewrite the autograder's checks (and its error bounds) from inside the submission.

Blocked: the checks run in the grader's process; importing sys, the grader or pytest is refused.
must fail: all
"""

import sys

for name, module in list(sys.modules.items()):
    if "test_autograder" in name:
        module.CASES = [(f, lo, hi, 99, 1e9) for f, lo, hi, _, _ in module.CASES]
        for attribute in dir(module):
            if attribute.startswith("test_"):
                setattr(module, attribute, lambda *args, **kwargs: None)


def activation_function(name, x):
    return x


def fit(name, low, high, degree):
    return [0.0] * (degree + 1)


def activation(v, name, low, high, depth):
    return v
