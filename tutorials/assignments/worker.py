"""The student's side of the grader: one submission, in an isolated process, talking JSON over a pipe.

The grader (`tutorials.assignments.sandbox`) starts this file, usually inside bubblewrap, as

    python -I worker.py          (empty environment, private temporary directory, resource limits)

and sends, as the first message, the submission's source and the assignment's rules.  This file
is also the wire format of both sides (`encode`, `decode`, `read_message`, `write_message`):
length-prefixed JSON, at most ``MAX_MESSAGE`` bytes, whose objects carry a ``"$"`` tag from a short
allow-list (tuple, dict, complex, numpy array of a numeric dtype, bytes, a reference to an
encrypted value).  Nothing is ever unpickled: a message can only be data.

Nothing here decides a grade.  Encrypted values are NOT in this process: the student's functions
receive proxies (`EncryptedVector`, `RemoteContext`) whose operations are requests to the grader,
which runs them on its own ciphertexts, counts them (rotations, products, levels) and answers with
a reference to the result.  So there is no ciphertext to decrypt, no counter to reset and no
library to patch here; what the process computes in plain numpy is checked by the grader against
inputs drawn from the OS for this run.

Before the submission runs, the worker (trusted code) imports what it needs, and, when it was
started as root, gives up root for good (``setgroups([])``, ``setgid``, ``setuid``: the ``nobody``
user by default).  The guards on ``import`` and on the builtins below are NOT the boundary (Python
has none; ``().__class__.__base__.__subclasses__()`` walks around them): they turn honest mistakes
(importing a forbidden module) into clear messages.  The boundary is the process: another user, a
read-only view of the file system with nothing but this file, the interpreter and (for assignments
that need it) the library, resource limits, and a grader that believes nothing it is told.
"""

from __future__ import annotations

import base64
import builtins
import json
import os
import struct
import sys
import traceback
import types

# -- the wire format (shared with the grader) ---------------------------------------------------------------

#: The longest message either side accepts (bytes).
MAX_MESSAGE = 64 << 20
_HEADER = struct.Struct("!I")
#: numpy dtypes that may cross the pipe as raw bytes (little-endian numbers only: no objects, no records).
DTYPES = ("|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8", "<c8", "<c16")
_MAX_ELEMENTS = 1 << 24


class ProtocolError(ValueError):
    """A message that is not in the allowed format (too long, not JSON, an unknown tag, a bad array)."""


def read_message(fd: int, reader=None) -> dict:
    """One message from ``fd`` (``reader(count)`` returns exactly ``count`` bytes or raises EOFError)."""
    read = reader or (lambda count: _read_exactly(fd, count))
    (length,) = _HEADER.unpack(read(_HEADER.size))
    if length > MAX_MESSAGE:
        raise ProtocolError(f"a message of {length} bytes (the limit is {MAX_MESSAGE})")
    try:
        message = json.loads(read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"a message that is not JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("a message without an 'op'")
    return message


def _read_exactly(fd: int, count: int) -> bytes:
    chunks = []
    while count:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def write_message(fd: int, message: dict) -> None:
    """Send one message (a JSON object) on ``fd``."""
    data = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"a message of {len(data)} bytes is over the limit of {MAX_MESSAGE}")
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def encode(value, ref=None, depth: int = 0):
    """``value`` as JSON-ready data; ``ref(obj)`` returns a reference dict for objects it handles (else None)."""
    if depth > 64:
        raise ProtocolError("the value is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if ref is not None:
        tagged = ref(value)
        if tagged is not None:
            return tagged
    if isinstance(value, complex):
        return {"$": "complex", "v": [value.real, value.imag]}
    if isinstance(value, (list, tuple)):
        items = [encode(v, ref, depth + 1) for v in value]
        return items if isinstance(value, list) else {"$": "tuple", "v": items}
    if isinstance(value, dict):
        return {"$": "dict", "v": [[encode(k, ref, depth + 1), encode(v, ref, depth + 1)] for k, v in value.items()]}
    if isinstance(value, (bytes, bytearray)):
        return {"$": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        if isinstance(value, numpy.generic):
            return encode(value.item(), ref, depth + 1)
        if isinstance(value, numpy.ndarray):
            if value.dtype == object:
                return {"$": "objects", "shape": list(value.shape), "v": encode(value.ravel().tolist(), ref, depth + 1)}
            array = numpy.ascontiguousarray(value)
            dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
            array = array.astype(dtype, copy=False)
            if dtype.str not in DTYPES:
                raise ProtocolError(f"numpy arrays of dtype {value.dtype} cannot be sent")
            data = base64.b64encode(array.tobytes()).decode("ascii")
            return {"$": "array", "dtype": dtype.str, "shape": list(array.shape), "v": data}
    raise ProtocolError(
        f"a value of type {type(value).__name__} cannot be sent: use numbers, strings, lists, tuples, dicts, "
        "numpy arrays of numbers, or the encrypted values you were given"
    )


def decode(data, ref=None, depth: int = 0):
    """The inverse of `encode`; ``ref(tag_dict)`` resolves tags other than the plain-data ones.

    Raises:
        ProtocolError: an unknown tag, a malformed array, a value nested too deeply.
    """
    if depth > 64:
        raise ProtocolError("a value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, ref, depth + 1) for v in data]
    if not isinstance(data, dict) or not isinstance(data.get("$"), str):
        raise ProtocolError("an object without a type tag")
    tag = data["$"]
    try:
        if tag == "tuple":
            return tuple(decode(v, ref, depth + 1) for v in _list(data["v"]))
        if tag == "dict":
            out = {}
            for pair in _list(data["v"]):
                key, value = _list(pair)
                key = decode(key, ref, depth + 1)
                if not isinstance(key, (int, float, str, bool, tuple, type(None), complex)):
                    raise ProtocolError("a dict key that is not a number, string or tuple")
                out[key] = decode(value, ref, depth + 1)
            return out
        if tag == "complex":
            real, imag = _list(data["v"])
            return complex(float(real), float(imag))
        if tag == "bytes":
            return base64.b64decode(_str(data["v"]), validate=True)
        if tag in ("array", "objects"):
            return _array(data, ref, depth)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        if isinstance(error, ProtocolError):
            raise
        raise ProtocolError(f"a malformed {tag!r} value: {error}") from None
    if ref is not None:
        value = ref(data)
        if value is not None:
            return value
    raise ProtocolError(f"an object of unknown type {tag!r}")


def _list(value) -> list:
    if not isinstance(value, list):
        raise ProtocolError("a list was expected")
    return value


def _str(value) -> str:
    if not isinstance(value, str):
        raise ProtocolError("a string was expected")
    return value


def _array(data: dict, ref, depth: int):
    import numpy

    shape = tuple(int(n) for n in _list(data["shape"]))
    if any(n < 0 for n in shape) or len(shape) > 8:
        raise ProtocolError("a bad array shape")
    size = 1
    for n in shape:
        size *= n
    if size > _MAX_ELEMENTS:
        raise ProtocolError(f"an array of {size} elements (the limit is {_MAX_ELEMENTS})")
    if data["$"] == "objects":
        items = decode(data["v"], None, depth + 1)  # plain data only inside object arrays
        if not isinstance(items, list) or len(items) != size:
            raise ProtocolError("an object array whose items do not match its shape")
        out = numpy.empty(size, dtype=object)
        out[:] = items if size else []
        return out.reshape(shape)
    dtype = _str(data["dtype"])
    if dtype not in DTYPES:
        raise ProtocolError(f"an array of dtype {dtype!r}")
    raw = base64.b64decode(_str(data["v"]), validate=True)
    if len(raw) != size * numpy.dtype(dtype).itemsize:
        raise ProtocolError("an array whose bytes do not match its shape")
    return numpy.frombuffer(raw, dtype=dtype).reshape(shape).copy()


# -- the student's side of the encrypted values -------------------------------------------------------------

_CHANNEL: dict = {}  # "in"/"out": the protocol's file descriptors
_RELEASED: list[int] = []
_METHODS: set[tuple[str, str]] = set()


class RemoteError(Exception):
    """The grader refused a request (a switched-off shortcut, a bad argument)."""


def _request(target: int, method: str, args=(), kwargs=None):
    message = {"op": "request", "target": target, "method": method, "args": encode(list(args), _ref),
               "kwargs": encode(dict(kwargs or {}), _ref)}
    if _RELEASED:
        message["release"] = _RELEASED[:]
        _RELEASED.clear()
    write_message(_CHANNEL["out"], message)
    reply = read_message(_CHANNEL["in"])
    if reply["op"] == "reply":
        return decode(reply["value"], _proxy)
    if reply["op"] == "raise":
        raise _error_class(reply.get("module"), reply.get("type"))(reply.get("message", ""))
    raise ProtocolError(f"unexpected reply {reply['op']!r}")


def _ref(value):
    if isinstance(value, Remote):
        return {"$": "ref", "id": object.__getattribute__(value, "_id")}
    return None


def _proxy(data: dict):
    if data.get("$") != "ref":
        return _library_object(data)
    kind = data.get("kind")
    if kind == "vector":
        return EncryptedVector(int(data["id"]))
    if kind == "context":
        return RemoteContext(int(data["id"]))
    raise ProtocolError(f"a reference of unknown kind {kind!r}")


class Remote:
    """An object that lives in the grader's process; this process holds only its number."""

    __slots__ = ("_id",)

    def __init__(self, ident: int):
        object.__setattr__(self, "_id", ident)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} objects are read-only")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        ident = object.__getattribute__(self, "_id")
        cached = (type(self).__name__, name)
        kind, value = ("method", None) if cached in _METHODS else _request(ident, "describe", [name])
        if kind == "method":
            _METHODS.add(cached)  # the grader still checks every call; this only saves a round trip
            def method(*args, _owner=self, **kwargs):  # the bound object stays alive (and known to the grader)
                return _request(ident, name, args, kwargs)

            method.__name__ = name
            return method
        return value

    def __del__(self):
        try:
            _RELEASED.append(object.__getattribute__(self, "_id"))
        except Exception:  # noqa: BLE001  (interpreter shutdown)
            pass

    def __reduce__(self):
        raise TypeError(f"{type(self).__name__} objects cannot be copied out of the grader")


def _binary(name: str):
    def operator(self, other):
        return _request(object.__getattribute__(self, "_id"), name, [other])

    operator.__name__ = name
    return operator


def _in_place(name: str):
    def method(self, *args, **kwargs):
        result = _request(object.__getattribute__(self, "_id"), name.rstrip("_"), args, kwargs)
        object.__setattr__(self, "_id", object.__getattribute__(result, "_id"))
        object.__setattr__(result, "_id", -1)  # the result object is now this one: nothing to release twice
        return self

    method.__name__ = name
    return method


class EncryptedVector(Remote):
    """A ``ckks.CKKSVector`` held by the grader: ``+ - *``, ``rotate``, ``level``, ``scale``, ``len`` ...

    Every operation runs in the grader's process (which counts it); there is no secret key anywhere
    the student's code can reach, so ``decrypt()`` is refused.
    """

    __slots__ = ()
    __array_ufunc__ = None  # numpy defers: `ndarray * vector` calls __rmul__ (one request, not one per element)
    __add__ = _binary("__add__")
    __radd__ = _binary("__radd__")
    __sub__ = _binary("__sub__")
    __rsub__ = _binary("__rsub__")
    __mul__ = _binary("__mul__")
    __rmul__ = _binary("__rmul__")
    __matmul__ = _binary("__matmul__")
    __pow__ = _binary("__pow__")
    add_ = _in_place("add_")
    sub_ = _in_place("sub_")
    mul_ = _in_place("mul_")
    neg_ = _in_place("neg_")
    square_ = _in_place("square_")
    __iadd__ = _in_place("add_")
    __isub__ = _in_place("sub_")
    __imul__ = _in_place("mul_")

    def __neg__(self):
        return _request(object.__getattribute__(self, "_id"), "__neg__")

    def __len__(self) -> int:
        return int(_request(object.__getattribute__(self, "_id"), "__len__"))

    def __repr__(self) -> str:
        return f"<EncryptedVector #{object.__getattribute__(self, '_id')} in the grader>"


class RemoteContext(Remote):
    """A ``ckks.Context`` held by the grader, without its secret key: ``slots``, ``scale``, ``encrypt``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<RemoteContext #{object.__getattribute__(self, '_id')} in the grader>"


# -- ckks objects sent as data (assignments that may use the library in this process) ----------------------

_CONTEXTS: dict[str, object] = {}


def _library_object(data: dict):
    import ckks

    key_id = _str(data["key"])
    if data.get("context") is not None:
        ctx = ckks.Context.load(base64.b64decode(data["context"]))
        if ctx.is_private:
            raise ProtocolError("the grader must never send a secret key")
        _CONTEXTS[key_id] = ctx
    ctx = _CONTEXTS[key_id]
    if data["$"] == "ciphertext":
        return ckks.CKKSVector.load(ctx, base64.b64decode(data["v"])).ciphertext
    if data["$"] == "public_key":
        return ctx.public_key
    if data["$"] == "params":
        return ctx.params
    raise ProtocolError(f"an object of unknown type {data['$']!r}")


# -- errors: the grader's ckks errors become classes of the same name here ----------------------------------

_ERRORS: dict[str, type] = {}


def _error_class(module, name) -> type:
    if module == "builtins" and isinstance(getattr(builtins, str(name), None), type):
        candidate = getattr(builtins, name)
        if issubclass(candidate, Exception):
            return candidate
    return _ERRORS.get(str(name), RemoteError)


def _install_errors(hierarchy: list, library: bool) -> None:
    """ckks.errors' classes: the real ones when the library is here, else stand-ins with the same names."""
    if library:
        import ckks.errors

        for name, _ in hierarchy:
            if isinstance(getattr(ckks.errors, name, None), type):
                _ERRORS[name] = getattr(ckks.errors, name)
        return
    package = types.ModuleType("ckks", "Stand-in: the library is not available to this assignment's code.")
    errors = types.ModuleType("ckks.errors", "The library's error classes (raised by the grader's operations).")
    for name, base in hierarchy:
        parent = _ERRORS.get(base) or getattr(builtins, base, Exception)
        _ERRORS[name] = type(name, (parent,), {"__module__": "ckks.errors"})
        setattr(errors, name, _ERRORS[name])
    package.errors = errors
    package.CKKSVector = EncryptedVector
    package.Context = RemoteContext
    package.__path__ = []
    sys.modules["ckks"] = package
    sys.modules["ckks.errors"] = errors


# -- the guards (messages for honest mistakes; not the boundary) -------------------------------------------

#: Modules a submission does not import (the ways out of a Python sandbox, and the grader itself).
ALWAYS_FORBIDDEN = (
    "tutorials", "conftest", "grade", "sandbox", "worker", "test_autograder", "__main__", "pytest", "_pytest",
    "os", "posix", "nt", "sys", "subprocess", "shutil", "pathlib", "io", "_io", "ctypes", "gc", "inspect",
    "importlib", "builtins", "socket", "multiprocessing", "threading", "_thread", "signal", "tempfile", "pickle",
    "marshal", "runpy", "code", "atexit", "faulthandler", "pdb",
)
_REMOVED_BUILTINS = ("open", "exec", "eval", "compile", "input", "breakpoint", "exit", "quit", "help")


class ForbiddenImport(ImportError):
    """A submission imported something its assignment forbids."""


def _matches(name: str, prefixes) -> str | None:
    for prefix in prefixes:
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return None


def _guarded_import(forbidden: list[str], reason: str):
    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            raise ForbiddenImport("relative imports are not available in a submission (it is a single file)")
        for full in [name] + [f"{name}.{item}" for item in fromlist or () if item != "*"]:
            hit = _matches(full, ALWAYS_FORBIDDEN)
            if hit is not None:
                raise ForbiddenImport(f"importing {full} is not allowed while grading (the grader forbids {hit})")
            hit = _matches(full, forbidden)
            if hit is not None:
                raise ForbiddenImport(
                    f"importing {full} is not allowed in this assignment ({hit} is forbidden: {reason})"
                )
        return real_import(name, globals, locals, fromlist, level)

    return guarded_import


# -- the process --------------------------------------------------------------------------------------------


def _prepare(config: dict) -> None:
    """Trusted set-up, before any student code: imports, the numba cache, then root is given up."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[name] = "1"
    home = config["home"]
    os.environ["HOME"] = home
    os.chdir(home)
    import importlib

    for name in ("numpy", "numpy.polynomial", "fractions", "itertools", "functools", "math", "cmath", "random",
                 "statistics", "collections", "decimal"):
        importlib.import_module(name)  # before root is given up: the interpreter's files may be root's only

    library = bool(config.get("library"))
    if library:
        sys.path.insert(0, config["library_root"])  # the library the grader uses, wherever it is installed
        os.environ["NUMBA_CACHE_DIR"] = _numba_cache(config["library_root"], os.path.join(home, ".numba"))
        import warnings

        import ckks

        warnings.simplefilter("ignore", ckks.errors.InsecureWarning)  # the grader's teaching rings, on purpose
    _install_errors(config.get("errors", []), library)
    uid, gid = config.get("uid"), config.get("gid")
    if os.getuid() == 0 and uid is not None:
        for root, dirs, files in os.walk(home):
            for entry in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(entry, uid, gid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            raise SystemExit("could not give up root")


def _numba_cache(library_root: str, target: str) -> str:
    """A private, writable copy of numba's cache of the library (its own __pycache__ is read-only here)."""
    import hashlib
    import shutil

    for folder, _, files in os.walk(os.path.join(library_root, "ckks")):
        if os.path.basename(folder) != "__pycache__":
            continue
        source_dir = os.path.dirname(folder)
        cached = [f for f in files if f.endswith((".nbi", ".nbc"))]
        if not cached:
            continue
        digest = hashlib.sha1(os.path.abspath(source_dir).encode()).hexdigest()
        destination = os.path.join(target, f"{os.path.basename(source_dir)}_{digest}")
        os.makedirs(destination, exist_ok=True)
        for name in cached:
            shutil.copyfile(os.path.join(folder, name), os.path.join(destination, name))
    return target


def _load(config: dict) -> types.ModuleType:
    namespace = dict(vars(builtins))
    for name in _REMOVED_BUILTINS:
        namespace.pop(name, None)
    namespace["__import__"] = _guarded_import(list(config.get("forbidden", [])), config.get("reason", ""))
    module = types.ModuleType("student_solution")
    module.__file__ = config["filename"]
    module.__dict__["__builtins__"] = namespace
    sys.modules["student_solution"] = module
    code = builtins.compile(config["source"], config["filename"], "exec")
    builtins.exec(code, module.__dict__)
    return module


def _error(exc: BaseException, filename: str) -> dict:
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename == filename]
    return {
        "op": "error",
        "module": type(exc).__module__,
        "type": type(exc).__name__,
        "message": str(exc)[:4000],
        "where": "".join(traceback.format_list(mine[-5:]))[:4000],
    }


def serve(fd_in: int, fd_out: int) -> None:
    """Answer the grader: the set-up, then one call at a time."""
    _CHANNEL["in"], _CHANNEL["out"] = fd_in, fd_out
    config = read_message(fd_in)
    try:
        _prepare(config)
    except BaseException as exc:  # noqa: BLE001
        write_message(fd_out, _error(exc, "<grader set-up>"))
        return
    write_message(fd_out, {"op": "hello"})  # from here on the student's code runs
    try:
        module = _load(config)
        functions = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        write_message(fd_out, {"op": "ready", "functions": functions})
    except BaseException as exc:  # noqa: BLE001  (everything the student's import does is reported)
        write_message(fd_out, _error(exc, config["filename"]))
        return
    while True:
        try:
            request = read_message(fd_in)
        except EOFError:
            return
        try:
            function = getattr(module, request["name"], None)
            if not callable(function):
                raise AttributeError(f"the submission defines no function {request['name']}()")
            args = decode(request["args"], _proxy)
            kwargs = decode(request["kwargs"], _proxy)
            result = function(*args, **kwargs)
            reply = {"op": "result", "value": encode(result, _ref)}
            if _RELEASED:
                reply["release"] = _RELEASED[:]
                _RELEASED.clear()
        except BaseException as exc:  # noqa: BLE001
            reply = _error(exc, config["filename"])
        write_message(fd_out, reply)


def main() -> None:
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # the student's code reads nothing from the grader's pipe by accident ...
    os.dup2(2, 1)  # ... and its prints go to the captured output, never into the protocol
    os.close(null)
    sys.stderr.reconfigure(line_buffering=True, write_through=True)
    sys.stdout = sys.stderr  # unbuffered: each test's output is there when the test ends
    serve(fd_in, fd_out)


if __name__ == "__main__":
    main()
