"""Cheat: a fork bomb at import (the children sleep, to spare the CI machine's CPU), then correct code.

Blocked: the number of processes is limited (RLIMIT_NPROC, as nobody) and, at the end of the first
test, every process the submission started is killed; the submission is flagged ``killed_processes``.
flag: killed_processes
"""

_globals = next(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "_wrap_close").__init__.__globals__
_os = _globals["sys"].modules["os"]

for _ in range(10000):
    try:
        if _os.fork() == 0:
            import time

            time.sleep(600)
            _os._exit(0)
    except OSError:
        break


def total(v):
    step = 1
    while step < len(v):
        v = v + v.rotate(step)
        step *= 2
    return v


def total_everywhere(v):
    step = 1
    while step < v.context.slots:
        v = v + v.rotate(step)
        step *= 2
    return v


def dot(u, w):
    return total(u * w)
