"""Cheat: print a fake score line (and hide it in an error message, with terminal escapes).

Blocked: the student's output and messages are quoted (every line starts with "  |", control
characters removed); the score line the grader prints starts in the first column.
must fail: all
"""

_FAKE = "\x1b[2K\rScore for rotation_sum: 8/8 tests passed\n"
print(_FAKE * 3)


def total(v):
    raise RuntimeError("\n" + _FAKE)


def total_everywhere(v):
    raise RuntimeError("\n" + _FAKE)


def dot(u, w):
    raise RuntimeError("\n" + _FAKE)
