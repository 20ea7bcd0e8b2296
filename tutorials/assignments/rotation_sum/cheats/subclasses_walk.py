"""Cheat: walk ``().__class__.__base__.__subclasses__()`` to the real ``os`` and ``open``, then look around.

Reads /etc/passwd, runs ``id``, tries to overwrite every Python file it can find (the library, the
grader, other students' files) and to import the library's sum.  Blocked: Python guards are not the
boundary; the process is: it runs as nobody in a read-only view (bubblewrap) holding only the
interpreter and the worker, and the encrypted values are proxies whose operations the grader runs
(CKKSVector.sum is switched off there).  Any file that changes is flagged as ``integrity``.
must fail: all
"""

_classes = ().__class__.__base__.__subclasses__()
_os = next(c for c in _classes if c.__name__ == "_wrap_close").__init__.__globals__["sys"].modules["os"]
_builtins = next(c for c in _classes if c.__name__ == "_wrap_close").__init__.__globals__["__builtins__"]
_open = _builtins["open"] if isinstance(_builtins, dict) else _builtins.open

try:
    print(_open("/etc/passwd").read()[:200])
except OSError as error:
    print("no /etc/passwd:", error)
print("id:", _os.system("id"))
_written = []
for _top in ("/work", "/home", "/root", "/tmp", "/usr/src", "/grader"):
    for _folder, _dirs, _files in _os.walk(_top):
        for _name in _files:
            if _name.endswith(".py"):
                try:
                    with _open(_os.path.join(_folder, _name), "a") as _handle:
                        _handle.write("\n# owned\n")
                    _written.append(_name)
                except OSError:
                    pass
print("overwritten:", _written[:10])


def total(v):
    return v.sum()


def total_everywhere(v):
    return v.sum()


def dot(u, w):
    return u.dot(w)
