"""Cheat: rewrite the autograder's targets and level budget from inside the submission.

Blocked: the checks run in the grader's process; importing sys, the grader or pytest is refused.
must fail: all
"""

import sys

for name, module in list(sys.modules.items()):
    if "test_autograder" in name:
        module.CASES = [(k, d, r, 0.0) for k, d, r, _ in module.CASES]
        module.budget = lambda degree, steps: 99
        for attribute in dir(module):
            if attribute.startswith("test_"):
                setattr(module, attribute, lambda *args, **kwargs: None)


def eval_mod(v, k_range, degree, steps):
    return v
