"""Cheat: n - 1 rotations, then reset the rotation counters before the grader reads them.

The old worker counted rotations in the student's process (a dict this file could reach).
Blocked: rotations run, and are counted, in the grader's process; there is nothing to reset here.
must fail: test_total[16], test_total[256], test_total_everywhere, test_dot[4], test_dot[64]
flag: introspection (the static scan sees `__subclasses__` and `__globals__`)
"""

_classes = ().__class__.__base__.__subclasses__()
_sys = next(c for c in _classes if c.__name__ == "_wrap_close").__init__.__globals__["sys"]


def _reset():
    for module in list(_sys.modules.values()):
        for name in ("COUNTS", "counts", "_COUNTS"):
            table = getattr(module, name, None)
            if isinstance(table, dict):
                for key in table:
                    table[key] = 0


def total(v):
    out = v
    for k in range(1, len(v)):
        out = out + v.rotate(k)
    _reset()
    return out


def total_everywhere(v):
    out = v
    for k in range(1, v.context.slots):
        out = out + v.rotate(k)
    _reset()
    return out


def dot(u, w):
    return total(u * w)
