"""The grader's side of the sandbox: a student's file runs in another process, the checks run here.

An autograder's ``student`` fixture is a [`Submission`][tutorials.assignments.sandbox.Submission]:
``student.total(v)`` sends the call (its arguments pickled, ckks objects in their public
serialization, contexts WITHOUT the secret key) to a worker process
(`tutorials/assignments/worker.py`) that has loaded the student's file under the assignment's
rules, waits for the answer at most ``timeout`` seconds (then kills the worker: an endless loop
costs one time limit, not the whole grading run), and returns the result: encrypted results come
back as vectors of the grader's own context, which can decrypt them.  ``student.counts`` holds
what the worker measured during the last call (key switches, rotations, relinearizations,
products, lines executed in the student's file).

Results are unpickled with an allow-list (numbers, strings, containers, numpy arrays and the
public serialization of ckks objects), so a submission cannot run code in the grader's process.
"""

from __future__ import annotations

import io
import os
import pickle
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ckks
import ckks.errors

WORKER = Path(__file__).resolve().with_name("worker.py")
_HEADER_SIZE = 8

#: Contexts built for grading, by key id: the grader's copies hold the secret key.
CONTEXTS: dict[str, ckks.Context] = {}
_CACHE: dict[tuple, ckks.Context] = {}


def grading_context(
    poly_degree: int,
    moduli_bits: list[int],
    scale_bits: float,
    galois_steps: list[int] | str | None = None,
    security: int | None = None,
    seed: int | None = None,
) -> ckks.Context:
    """A context for an autograder, built once per grading process and shared by every submission.

    Args:
        poly_degree: N.
        moduli_bits: the modulus chain (last entry: the special prime).
        scale_bits: log2 of the default scale.
        galois_steps: None (no Galois keys), "default" (powers of two) or a list of rotation steps.
        security: 128 or None (a teaching ring; the autograders use small rings for speed).
        seed: reproducible keys for debugging the autograder (insecure).

    Returns:
        The context (with its secret key: it never leaves this process).
    """
    key = (poly_degree, tuple(moduli_bits), scale_bits, str(galois_steps), security, seed)
    if key not in _CACHE:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ctx = ckks.Context(poly_degree, list(moduli_bits), scale_bits, security=security, seed=seed)
        if galois_steps == "default":
            ctx.generate_galois_keys(progress=False)
        elif galois_steps is not None:
            ctx.generate_galois_keys(steps=sorted(set(galois_steps)), progress=False)
        _CACHE[key] = ctx
        CONTEXTS[ctx.key_id] = ctx
    return _CACHE[key]


def register(ctx: ckks.Context) -> ckks.Context:
    """Make a context built by an autograder known to the marshalling (needed to send its ciphertexts)."""
    CONTEXTS[ctx.key_id] = ctx
    return ctx


class SubmissionError(AssertionError):
    """The student's code raised, timed out, or broke a rule; the message says which and where."""


class SubmissionTimeout(SubmissionError):
    """A call ran past the time limit (the worker was killed)."""


def _rebuild_error(module: str, name: str, message: str, where: str) -> BaseException:
    text = f"{name}: {message}"
    if where.strip():
        text += f"\n  in your code:\n{where.rstrip()}"
    if name == "KeyMissingError" and "secret" in message.lower():
        return SubmissionError(
            "your code tried to decrypt: the grader's ciphertexts reach your code WITHOUT the secret key "
            "(as on a real server), so compute on the ciphertexts instead.\n" + text
        )
    if module == "ckks.errors" and isinstance(getattr(ckks.errors, name, None), type):
        error_class = getattr(ckks.errors, name)
        try:
            return error_class(text)
        except Exception:  # noqa: BLE001  (an error class with another signature)
            pass
    if module == "builtins" and name in _BUILTIN_ERRORS:
        return _BUILTIN_ERRORS[name](text)  # an autograder may expect e.g. ValueError for a bad request
    return SubmissionError(text)


_BUILTIN_ERRORS = {
    cls.__name__: cls
    for cls in (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        ArithmeticError,
        ZeroDivisionError,
        OverflowError,
        RuntimeError,
        NotImplementedError,
    )
}


class _SafeUnpickler(pickle.Unpickler):
    """Only plain data and ckks objects' public serialization get through."""

    ALLOWED = {
        ("builtins", "complex"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "range"),
        ("builtins", "bytearray"),
        ("collections", "OrderedDict"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED or (module == "numpy.dtypes" and name.endswith("DType")):
            return super().find_class(module, name)
        raise SubmissionError(
            f"your function returned an object of type {module}.{name}, which the grader does not accept: "
            "return numbers, lists, dicts, numpy arrays or ckks vectors/ciphertexts"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 3 and all(isinstance(x, (str, bytes)) for x in pid[:2])):
            raise SubmissionError("the submission's process sent malformed data")
        kind, key_id, blob = pid
        ctx = CONTEXTS.get(key_id)
        if ctx is None:
            raise SubmissionError("your function returned a ciphertext under keys the grader did not give you")
        if kind == "vector":
            return ckks.CKKSVector.load(ctx, blob)
        if kind == "ciphertext":
            return ckks.CKKSVector.load(ctx, blob).ciphertext
        if kind == "context":
            return ctx
        raise SubmissionError(f"unexpected object {kind!r} from the submission")


class Submission:
    """A student's file, loaded in a worker process under an assignment's rules.

    Attribute access gives the student's functions: ``submission.f(*args)`` runs ``f`` in the
    worker and returns its result (see the module docstring).

    Args:
        path: the student's Python file.
        forbidden: module prefixes the file may not import or reach ("ckks.ring.ntt", "ckks").
        disabled: library attributes below ckks replaced by refusals ("CKKSVector.sum").
        reason: why (shown with every refusal).
        count_lines: count the lines executed in the student's file during each call.
        timeout: seconds allowed per call (and for loading the file).
        budget: seconds allowed for all the calls together; afterwards every call fails at once.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        forbidden: list[str] | tuple[str, ...] = (),
        disabled: list[str] | tuple[str, ...] = (),
        reason: str = "see the assignment's README",
        count_lines: bool = False,
        timeout: float = 60.0,
        budget: float | None = None,
    ):
        self.path = str(Path(path).resolve())
        self.config = {
            "path": self.path,
            "forbidden": list(forbidden),
            "disabled": list(disabled),
            "reason": reason,
            "count_lines": bool(count_lines),
        }
        self.timeout = float(timeout)
        self.budget = float(budget) if budget is not None else 6 * self.timeout
        self.spent = 0.0
        #: what the worker measured during the last call
        self.counts: dict[str, int] = {}
        self.functions: list[str] = []
        self.load_error: BaseException | None = None
        self._process: subprocess.Popen | None = None
        self._sent: set[str] = set()
        self._log = tempfile.TemporaryFile()
        self._workdir = tempfile.TemporaryDirectory(prefix="ckks-grade-")

    # -- the worker ---------------------------------------------------------------------------------
    def start(self) -> Submission:
        """Start the worker and load the file; a failure is kept in ``load_error`` (and raised by every call)."""
        self.close()
        env = dict(os.environ)
        library = str(Path(ckks.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [library, env.get("PYTHONPATH", "")]))
        env.setdefault("NUMBA_NUM_THREADS", "1")
        self._process = subprocess.Popen(
            [sys.executable, "-P", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=self._workdir.name,
            env=env,
            start_new_session=True,
        )
        self._sent = set()
        self.load_error = None
        started = time.monotonic()
        try:
            self._send(pickle.dumps(self.config), started + 120.0)
            reply = pickle.loads(self._receive(started + 120.0))  # importing numpy and ckks, on a busy machine
            if reply[0] == "imported":
                reply = pickle.loads(self._receive(time.monotonic() + self.timeout))
        except SubmissionError as error:
            self.load_error = error
            return self
        finally:
            self.spent += time.monotonic() - started
        if reply[0] == "ready":
            self.functions = list(reply[1])
        else:
            _, module, name, message, where, _counts = reply
            self.load_error = SubmissionError(
                f"could not load {Path(self.path).name}: {_rebuild_error(module, name, message, where)}"
            )
        return self

    def close(self) -> None:
        """Stop the worker (if running)."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._kill(process)

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, 9)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait()

    def log(self, limit: int = 2000) -> str:
        """The last ``limit`` characters the student's code printed."""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-limit:]

    # -- framing with deadlines -------------------------------------------------------------------------
    def _send(self, data: bytes, deadline: float) -> None:
        fd = self._process.stdin.fileno()
        view = memoryview(len(data).to_bytes(_HEADER_SIZE, "big") + data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                self._timed_out()
            try:
                written = os.write(fd, view[: 1 << 16])
            except (BrokenPipeError, OSError):
                self._died()
            view = view[written:]

    def _read(self, count: int, deadline: float) -> bytes:
        fd = self._process.stdout.fileno()
        chunks, missing = [], count
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                self._timed_out()
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                self._died()
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def _receive(self, deadline: float) -> bytes:
        length = int.from_bytes(self._read(_HEADER_SIZE, deadline), "big")
        return self._read(length, deadline)

    def _timed_out(self):
        self._kill(self._process)
        self._process = None
        raise SubmissionTimeout(
            f"your code ran for more than {self.timeout:g} s and was stopped: an endless loop, or an algorithm "
            "far slower than the assignment asks for?"
        )

    def _died(self):
        process, self._process = self._process, None
        code = process.wait()
        raise SubmissionError(f"your code ended the process (exit status {code}); output:\n{self.log(800)}")

    # -- calls ------------------------------------------------------------------------------------------------
    def _dumps(self, value) -> bytes:
        """Pickle a call; ckks objects become (kind, key id, public bytes, context bytes if not sent yet)."""
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=4)

        def context_blob(ctx: ckks.Context) -> bytes | None:
            register(ctx)
            if ctx.key_id in self._sent:
                return None
            self._sent.add(ctx.key_id)
            return ctx.serialize(secret_key=False)  # the public part only: the worker cannot decrypt

        def persistent_id(obj):
            if isinstance(obj, ckks.Context):
                return ("context", obj.key_id, None, context_blob(obj))
            if isinstance(obj, ckks.CKKSVector):
                return ("vector", obj.context.key_id, obj.serialize(compact=False), context_blob(obj.context))
            if isinstance(obj, (ckks.Ciphertext, ckks.PublicKey)):
                ctx = CONTEXTS.get(obj.key_id)
                if ctx is None:
                    raise RuntimeError("autograder bug: build the context with grading_context() or register() it")
                if isinstance(obj, ckks.PublicKey):
                    return ("public_key", obj.key_id, None, context_blob(ctx))
                blob = ckks.CKKSVector(ctx, obj, ctx.slots, is_complex=True).serialize(compact=False)
                return ("ciphertext", obj.key_id, blob, context_blob(ctx))
            return None

        pickler.persistent_id = persistent_id
        pickler.dump(value)
        return buffer.getvalue()

    def call(self, name: str, *args, **kwargs):
        """Run the student's ``name(*args, **kwargs)`` in the worker; see the class docstring.

        Raises:
            SubmissionError: the code raised (the error's type, message and place), broke a rule,
                ended the process or returned something the grader does not accept.
            SubmissionTimeout: the call ran past the time limit.
            ckks.errors.CKKSError: the code raised this ckks error (LevelError, ScaleMismatchError, ...).
        """
        if self._process is None and self.load_error is None:
            self.start()
        if self.load_error is not None:
            raise self.load_error
        if self.spent > self.budget:
            raise SubmissionTimeout(
                f"the submission used up its time budget ({self.budget:g} s); this call was not run"
            )
        self.counts = {}
        started = time.monotonic()
        try:
            self._send(self._dumps((name, args, kwargs)), started + self.timeout)
            reply = _SafeUnpickler(io.BytesIO(self._receive(started + self.timeout))).load()
        except SubmissionTimeout:
            self.spent += time.monotonic() - started
            self.start()  # a fresh worker for the next call
            raise
        except SubmissionError:
            self.spent += time.monotonic() - started
            raise
        self.spent += time.monotonic() - started
        if reply[0] == "ok":
            _, result, counts = reply
            self.counts = _with_rotations(counts)
            return result
        _, module, error_name, message, where, counts = reply
        self.counts = _with_rotations(counts)
        raise _rebuild_error(module, error_name, message, where)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def function(*args, **kwargs):
            return self.call(name, *args, **kwargs)

        function.__name__ = name
        return function

    def __enter__(self) -> Submission:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def _with_rotations(counts: dict) -> dict:
    counts = dict(counts)
    counts["rotations"] = counts.get("key_switches", 0) - counts.get("relinearizations", 0)
    return counts
