"""The sandboxed side of the grader: loads ONE student's file and answers calls to its functions.

The grader (`tutorials.assignments.sandbox`, in another process) starts this script as

    python -P worker.py

and talks to it over stdin/stdout with length-prefixed pickles.  What runs here is untrusted, so
nothing here decides a grade: this process only executes the student's functions and measures them.
The checks, the secret keys and the scores stay in the grader's process.

What the worker does before the student's code runs:

* contexts arrive WITHOUT their secret key (a public copy), so decrypting is impossible here;
* the student's module gets its own builtins: ``open``, ``exec``, ``eval``, ``compile`` and
  ``input`` are gone, and ``__import__`` refuses the modules the assignment forbids (and, always,
  the grader, ``os``, ``sys``, ``subprocess``, ``ctypes``, ``gc``, ``inspect``, ``importlib``, ...);
  ``import ckks`` hands out a guarded view of the package in which the forbidden submodules, and
  the functions and classes defined in them, cannot be reached by attribute access either;
* library methods the assignment switches off (``CKKSVector.sum``, ...) are replaced by refusals;
* counters wrap the library's choke points: every key switch (``KeySwitcher._mod_down``, where all of them end), every
  relinearization and every ciphertext/plaintext product; optionally the lines executed in the
  student's file are counted (``sys.settrace``), a machine-independent measure of work;
* after loading the file and after each call, the worker checks that no function or class of
  ``ckks`` was replaced (the counters and refusals included): a changed library fails the call.

This is a deterrent for in-process tricks, not a security boundary (Python offers none): the
boundaries that hold are the process (a submission cannot touch the checks), the missing secret
key, and the time limit, which the grader enforces by killing this process.
"""

from __future__ import annotations

import builtins
import os
import pickle
import struct
import sys
import traceback
import types

# -- framing -------------------------------------------------------------------------------------------

_HEADER = struct.Struct("!Q")


def _read_message(stream) -> object:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (length,) = _HEADER.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return data


def _write_message(stream, data: bytes) -> None:
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


# -- the rules -----------------------------------------------------------------------------------------

#: Modules a submission never imports: the grader itself, and the ways out of the sandbox.
ALWAYS_FORBIDDEN = (
    "tutorials",
    "conftest",
    "grade",
    "sandbox",
    "worker",
    "test_autograder",
    "__main__",
    "pytest",
    "_pytest",
    "os",
    "posix",
    "nt",
    "sys",
    "subprocess",
    "shutil",
    "pathlib",
    "io",
    "_io",
    "ctypes",
    "gc",
    "inspect",
    "importlib",
    "builtins",
    "socket",
    "multiprocessing",
    "threading",
    "_thread",
    "signal",
    "tempfile",
    "pickle",
    "marshal",
    "runpy",
    "code",
    "atexit",
    "faulthandler",
    "pdb",
)

_REMOVED_BUILTINS = ("open", "exec", "eval", "compile", "input", "breakpoint", "exit", "quit", "help")


class ForbiddenImport(ImportError):
    """A submission imported (or reached) something its assignment forbids."""


class Refused(AssertionError):
    """A library shortcut that the assignment switches off was called."""


def _matches(name: str, prefixes) -> str | None:
    for prefix in prefixes:
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return None


class Rules:
    def __init__(self, forbidden: list[str], reason: str):
        self.forbidden = list(forbidden)
        self.reason = reason

    def check(self, name: str) -> None:
        hit = _matches(name, ALWAYS_FORBIDDEN)
        if hit is not None:
            raise ForbiddenImport(f"importing {name} is not allowed while grading (the grader forbids {hit})")
        hit = _matches(name, self.forbidden)
        if hit is not None:
            raise ForbiddenImport(
                f"importing {name} is not allowed in this assignment ({hit} is forbidden: {self.reason})"
            )

    def allowed(self, name: str) -> bool:
        return _matches(name, ALWAYS_FORBIDDEN) is None and _matches(name, self.forbidden) is None


class GuardedModule(types.ModuleType):
    """A read-only view of a package in which the forbidden parts cannot be reached."""

    def __init__(self, real: types.ModuleType, rules: Rules):
        super().__init__(real.__name__, real.__doc__)
        object.__setattr__(self, "_guarded_real", real)
        object.__setattr__(self, "_guarded_rules", rules)

    def __getattr__(self, name: str):
        real = object.__getattribute__(self, "_guarded_real")
        rules = object.__getattribute__(self, "_guarded_rules")
        value = getattr(real, name)
        return _guard_value(value, f"{real.__name__}.{name}", rules)

    def __setattr__(self, name: str, value) -> None:
        raise ForbiddenImport(f"a submission may not change {self.__name__}.{name}")

    def __delattr__(self, name: str) -> None:
        raise ForbiddenImport(f"a submission may not change {self.__name__}.{name}")

    def __dir__(self):
        real = object.__getattribute__(self, "_guarded_real")
        rules = object.__getattribute__(self, "_guarded_rules")
        return [n for n in dir(real) if rules.allowed(f"{real.__name__}.{n}")]


def _guard_value(value, path: str, rules: Rules):
    if isinstance(value, types.ModuleType):
        rules.check(value.__name__)
        return GuardedModule(value, rules) if value.__name__.split(".")[0] == "ckks" else value
    if isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
        module = getattr(value, "__module__", None)
        if isinstance(module, str) and module.startswith("ckks"):
            try:
                rules.check(module)
            except ForbiddenImport:
                raise ForbiddenImport(
                    f"{path} (defined in {module}) is not allowed in this assignment: {rules.reason}"
                ) from None
    return value


def make_import(rules: Rules):
    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            raise ForbiddenImport("relative imports are not available in a submission (it is a single file)")
        rules.check(name)
        module = real_import(name, globals, locals, fromlist, level)
        for item in fromlist or ():
            if item != "*":
                full = f"{name}.{item}"
                if isinstance(getattr(module, item, None), types.ModuleType) or full in sys.modules:
                    rules.check(full)
        top = name.split(".")[0]
        if top == "ckks" or (fromlist and name.split(".")[0] == "ckks"):
            return GuardedModule(module, rules)
        return module

    return guarded_import


def student_builtins(rules: Rules) -> dict:
    namespace = dict(vars(builtins))
    for name in _REMOVED_BUILTINS:
        namespace.pop(name, None)
    namespace["__import__"] = make_import(rules)
    return namespace


# -- the counters ----------------------------------------------------------------------------------------

COUNTS: dict[str, int] = {}
_INSTALLED: dict[tuple[object, str], object] = {}


def _reset_counts() -> None:
    for key in ("key_switches", "relinearizations", "multiplications", "lines"):
        COUNTS[key] = 0


def _counting(owner, name: str, key: str) -> None:
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        COUNTS[key] += 1
        return original(*args, **kwargs)

    counted.__name__ = name
    counted.__qualname__ = f"{owner.__name__}.{name}"
    counted.__doc__ = original.__doc__
    setattr(owner, name, counted)
    _INSTALLED[(owner, name)] = counted


def _refusal(owner, name: str, message: str) -> None:
    def refuse(*args, **kwargs):
        raise Refused(message)

    refuse.__name__ = name
    setattr(owner, name, refuse)
    _INSTALLED[(owner, name)] = refuse


def install_counters() -> None:
    from ckks.scheme.evaluator import Evaluator
    from ckks.scheme.keyswitch import KeySwitcher

    _counting(KeySwitcher, "_mod_down", "key_switches")  # every path (mod_down, the rotator) ends here
    _counting(Evaluator, "relinearize", "relinearizations")
    _counting(Evaluator, "multiply", "multiplications")
    _counting(Evaluator, "multiply_plain", "multiplications")


def install_refusals(disabled: list[str], reason: str) -> None:
    """``disabled`` holds dotted names below ckks: "CKKSVector.sum", "circuits.polynomial.evaluate"."""
    import importlib

    import ckks

    for dotted in disabled:
        *path, name = dotted.split(".")
        owner = ckks
        for i, part in enumerate(path):
            if hasattr(owner, part):
                owner = getattr(owner, part)
            else:
                owner = importlib.import_module(".".join(["ckks", *path[: i + 1]]))
        if hasattr(owner, name):
            _refusal(owner, name, f"{dotted} is switched off for this assignment: {reason}")


def snapshot() -> dict[tuple[str, str, str], int]:
    """The identity of every function and class of ckks (module level and class level)."""
    state = {}
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("ckks") or not isinstance(module, types.ModuleType):
            continue
        for name, value in list(vars(module).items()):
            if callable(value):
                state[(module_name, "", name)] = id(value)
                if isinstance(value, type) and value.__module__ == module_name:
                    for attr, member in list(vars(value).items()):
                        state[(module_name, name, attr)] = id(member)
    return state


def changed(before: dict, after: dict) -> list[str]:
    out = []
    for key, identity in before.items():
        if after.get(key) != identity:
            module, owner, name = key
            out.append(".".join(filter(None, (module, owner, name))))
    return out


def check_installed() -> list[str]:
    return [f"{owner.__name__}.{name}" for (owner, name), fn in _INSTALLED.items() if vars(owner).get(name) is not fn]


# -- moving ckks objects across the process boundary -----------------------------------------------------

CONTEXTS: dict[str, object] = {}


class Marshal:
    """Pickling with ckks objects replaced by their public serialization (contexts by their key id)."""

    @staticmethod
    def persistent_id(obj):
        import ckks

        if isinstance(obj, ckks.CKKSVector):
            return ("vector", obj.context.key_id, obj.serialize(compact=False))
        if isinstance(obj, ckks.Ciphertext):
            ctx = CONTEXTS.get(obj.key_id)
            if ctx is None:
                raise ValueError("a ciphertext under a key the grader does not know cannot be returned")
            wrapped = ckks.CKKSVector(ctx, obj, ctx.slots, is_complex=True)
            return ("ciphertext", obj.key_id, wrapped.serialize(compact=False))
        if isinstance(obj, ckks.Context):
            return ("context", obj.key_id, None)
        return None  # plain data

    @staticmethod
    def persistent_load(pid):
        import ckks

        kind, key_id, blob, context_blob = pid
        if context_blob is not None:
            loaded = ckks.Context.load(context_blob)
            if loaded.is_private:
                raise ValueError("the grader must never send a secret key to a submission")
            CONTEXTS[key_id] = loaded
        context = CONTEXTS[key_id]
        if kind == "context":
            return context
        if kind == "vector":
            return ckks.CKKSVector.load(context, blob)
        if kind == "ciphertext":
            return ckks.CKKSVector.load(context, blob).ciphertext
        if kind == "public_key":
            return context.public_key
        raise ValueError(f"unknown object {kind}")


def dumps(value) -> bytes:
    import io as _io

    buffer = _io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=4)
    pickler.persistent_id = Marshal.persistent_id
    pickler.dump(value)
    return buffer.getvalue()


def loads(data: bytes):
    import io as _io

    unpickler = pickle.Unpickler(_io.BytesIO(data))
    unpickler.persistent_load = Marshal.persistent_load
    return unpickler.load()


# -- running the student's code ----------------------------------------------------------------------------


def load_student(path: str, rules: Rules) -> types.ModuleType:
    with builtins.open(path, encoding="utf-8") as handle:
        source = handle.read()
    module = types.ModuleType("student_solution")
    module.__file__ = path
    module.__dict__["__builtins__"] = student_builtins(rules)
    sys.modules["student_solution"] = module
    exec(builtins.compile(source, path, "exec"), module.__dict__)
    return module


def _tracer(path: str):
    def local(frame, event, arg):
        if event == "line":
            COUNTS["lines"] += 1
        return local

    def global_trace(frame, event, arg):
        if frame.f_code.co_filename == path:
            if event == "call":
                COUNTS["lines"] += 1
            return local
        return None

    return global_trace


def _error(exc: BaseException, path: str) -> tuple:
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename == path]
    text = "".join(traceback.format_list(mine[-5:]))
    module = type(exc).__module__
    return ("error", module, type(exc).__name__, str(exc), text, dict(COUNTS))


def serve(stdin, stdout) -> None:
    config = pickle.loads(_read_message(stdin))
    path = config["path"]
    rules = Rules(config["forbidden"], config["reason"])
    _reset_counts()
    try:
        import numpy  # noqa: F401  (imported before the student's builtins exist)

        import ckks  # noqa: F401

        install_counters()
        install_refusals(config["disabled"], config["reason"])
        baseline = snapshot()
        _write_message(stdout, pickle.dumps(("imported",)))  # the time limit starts with the student's code
        module = load_student(path, rules)
        tampered = changed(baseline, snapshot()) + check_installed()
        if tampered:
            raise Refused(f"the submission changed the library or the grader's counters: {', '.join(tampered[:5])}")
    except BaseException as exc:  # noqa: BLE001  (everything the student's import does is reported)
        _write_message(stdout, pickle.dumps(("load_error", *_error(exc, path)[1:])))
        return
    functions = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
    _write_message(stdout, pickle.dumps(("ready", functions)))
    while True:
        try:
            request = _read_message(stdin)
        except EOFError:
            return
        _reset_counts()
        try:
            name, args, kwargs = loads(request)
            function = getattr(module, name, None)
            if not callable(function):
                raise AttributeError(f"the submission defines no function {name}()")
            if config["count_lines"]:
                sys.settrace(_tracer(path))
            try:
                result = function(*args, **kwargs)
            finally:
                sys.settrace(None)
            tampered = changed(baseline, snapshot()) + check_installed()
            if tampered:
                raise Refused(f"the submission changed the library or the grader's counters: {', '.join(tampered[:5])}")
            reply = dumps(("ok", result, dict(COUNTS)))
        except BaseException as exc:  # noqa: BLE001
            sys.settrace(None)
            reply = pickle.dumps(_error(exc, path))
        _write_message(stdout, reply)


def main() -> None:
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the student's prints go to the log, never into the protocol
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, protocol_out)


if __name__ == "__main__":
    main()
