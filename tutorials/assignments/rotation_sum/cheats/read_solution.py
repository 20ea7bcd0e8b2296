"""Cheat: find the reference solution on the grading machine and run it.

Blocked: the grader never needs solutions (they live in tutorials/solutions/, outside the graded
package, and teachers keep theirs elsewhere); the submission's process sees only the interpreter,
numpy and the worker (bubblewrap), so the search finds nothing, and this file scores 0.
must fail: all
"""

_classes = ().__class__.__base__.__subclasses__()
_globals = next(c for c in _classes if c.__name__ == "_wrap_close").__init__.__globals__
_os = _globals["sys"].modules["os"]
_b = _globals["__builtins__"]
_open, _exec = (_b["open"], _b["exec"]) if isinstance(_b, dict) else (_b.open, _b.exec)

_found = {}
for _top in ("/work", "/home", "/root", "/tmp", "/srv", "/opt", "/usr/src", "/"):
    for _folder, _dirs, _files in _os.walk(_top):
        for _name in ("rotation_sum.py", "solution.py"):
            if _name in _files and ("solution" in _folder or _name == "solution.py"):
                try:
                    _code = _open(_os.path.join(_folder, _name)).read()
                except OSError:
                    continue
                if "def total_everywhere" in _code:
                    _exec(_code, _found)
        if len(_found) > 1 or _folder.count("/") > 6:
            _dirs[:] = []
    if "total" in _found:
        break
print("found a solution" if "total" in _found else "no solution anywhere")


def total(v):
    return _found["total"](v)


def total_everywhere(v):
    return _found["total_everywhere"](v)


def dot(u, w):
    return _found["dot"](u, w)
