"""Cheat: allocate memory until the machine swaps (the grader and the other students' grading with it).

Blocked: the address space of the submission's process is limited (RLIMIT_AS): the allocation
fails with MemoryError inside the student's process, which only fails its own tests.
must fail: all
"""

_hoard = []


def total(v):
    while True:
        _hoard.append(bytearray(1 << 28))


def total_everywhere(v):
    return total(v)


def dot(u, w):
    return total(u)
