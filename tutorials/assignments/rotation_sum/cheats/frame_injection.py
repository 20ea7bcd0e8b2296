"""Cheat: write a forged message (a pickle that runs code) on the grader's pipe while being imported.

The old grader unpickled the worker's messages: this ran ``id`` in the grader's process and gave
full marks to this file and to every later one.  Blocked: messages are length-prefixed JSON with an
allow-list of tags, nothing is unpickled; a malformed message stops the worker and is flagged.
must fail: all
flag: malformed
"""


_globals = next(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "_wrap_close").__init__.__globals__
_os = _globals["sys"].modules["os"]
# a pickle that runs os.system("id > ...") when unpickled, written by hand (protocol 0)
_frame = b"cposix\nsystem\n(S'id > /tmp/owned-by-a-student'\ntR."

for _fd in range(3, 64):
    try:
        _os.write(_fd, len(_frame).to_bytes(8, "big") + _frame)
    except OSError:
        pass


def total(v):
    return v


def total_everywhere(v):
    return v


def dot(u, w):
    return u
