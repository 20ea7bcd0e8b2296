"""Cheat: a double fork with ``setsid`` that outlives the grader and rewrites things later.

Otherwise correct.  Blocked: the grader is a child subreaper (bubblewrap adds a PID namespace), so
the grandchild stays its descendant; it is killed at the end of the first test and the submission
is flagged ``killed_processes``.
flag: killed_processes
"""

_globals = next(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "_wrap_close").__init__.__globals__
_os = _globals["sys"].modules["os"]

if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _os.close(1)
        import time

        time.sleep(90)
        print("Score for rotation_sum: 8/8 tests passed")
        _os._exit(0)
    _os._exit(0)


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
