"""The grader's side: a student's file runs in an isolated process; every graded operation runs here.

An autograder's ``student`` fixture is a [`Submission`][tutorials.assignments.sandbox.Submission]:
``student.total(v)`` runs the student's ``total`` in a worker process (`worker.py`) and returns its
result.  What makes the grade trustworthy:

* **The homomorphic work is done here.**  Encrypted vectors and contexts never leave this process:
  the student's code gets proxies, and each ``+``, ``*``, ``rotate``, ``level`` ... is a request that
  this process checks against an allow-list (minus the assignment's ``DISABLED`` shortcuts), executes
  on its own objects and counts where it runs (``student.counts``: key switches, rotations,
  relinearizations, products).  Levels, scales and values are read from this process's objects; an
  encrypted result must be computed from the call's inputs (not a fresh encryption).
* **Nothing from the worker is believed or unpickled.**  Messages are length-prefixed JSON with a
  short allow-list of tags, at most ``worker.MAX_MESSAGE`` bytes; anything else is a ``malformed``
  anomaly and the worker is killed.
* **The worker is isolated**: a fresh process per submission, an empty environment, a private
  temporary directory, no file descriptors but its pipes, resource limits (CPU seconds, address
  space, processes, file size, open files), its own session; when the grader runs as root it runs
  the submission as ``nobody``; with bubblewrap (``bwrap``) installed it sees a read-only file system
  holding only the interpreter, the worker and (where the assignment allows it) the library, in its
  own PID, network and IPC namespaces.  ``isolation()`` says what is active.
* **Nothing outlives a test**: after each test every process of the submission other than the
  worker is killed (the grader is a child subreaper, so ``setsid`` double forks stay its
  descendants; bubblewrap adds a PID namespace), and flagged ``killed_processes``.
* **Tamper evidence**: the library's and the grader's files are hashed before and after each
  submission (``integrity``); time-outs (``timeout``) and malformed messages are flagged too, and so is
  source that names interpreter internals (``introspection``: frames, globals, ``__subclasses__``;
  a static scan of the text, `introspection`) even when the sandbox makes the attempt harmless.  Each
  submission's flags are in ``REPORTS`` (``ckks-grade`` writes them to the CSV and exits with 3).
* The student's output is captured, truncated and quoted (``quote``): it cannot pass for the grader's.
"""

from __future__ import annotations

import ast
import base64
import ctypes
import dataclasses
import hashlib
import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ckks
import ckks.errors
from ckks.scheme.evaluator import Evaluator
from ckks.scheme.keyswitch import KeySwitcher
from tutorials.assignments import worker as wire

WORKER = Path(wire.__file__).resolve()
LIBRARY_ROOT = Path(ckks.__file__).resolve().parents[1]
GRADER_FILES = Path(__file__).resolve().parent
#: the user a submission runs as when the grader is root
SANDBOX_USER = 65534  # nobody
SANDBOX_GROUP = 65534  # nogroup

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
    """Make a context built by an autograder known to the grader (needed to send its ciphertexts)."""
    CONTEXTS[ctx.key_id] = ctx
    return ctx


def fresh_rng():
    """A numpy generator seeded from the OS (``secrets``): grading inputs nobody can predict or replay."""
    import secrets

    import numpy as np

    return np.random.default_rng(secrets.randbits(128))


def fresh_seed() -> int:
    """A 64-bit seed from the OS, for ``random.Random``."""
    import secrets

    return secrets.randbits(64)


class SubmissionError(AssertionError):
    """The student's code raised, timed out, or broke a rule; the message says which and where."""


class SubmissionTimeout(SubmissionError):
    """A call ran past the time limit (the worker was killed)."""


# -- the student's text, quoted ----------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
PREFIX = "  | "


def quote(text: str, limit: int = 2000) -> str:
    """Student-controlled text as the grader shows it: control characters removed, truncated, every line prefixed."""
    text = _CONTROL.sub("?", str(text).replace("\r\n", "\n").replace("\r", "\n"))
    if len(text) > limit:
        text = text[:limit] + f"\n[... {len(text) - limit} more characters cut]"
    return "\n".join(PREFIX + line for line in text.splitlines()) or PREFIX


# -- isolation ----------------------------------------------------------------------------------------------

_BWRAP: list[str | None] = []


def bubblewrap() -> str | None:
    """The path of a working ``bwrap`` (bubblewrap), or None (not installed, not allowed here, or
    switched off with the environment variable ``CKKS_GRADE_NO_BWRAP=1``)."""
    if not _BWRAP:
        path = None if os.environ.get("CKKS_GRADE_NO_BWRAP") == "1" else shutil.which("bwrap")
        if path is not None:
            probe = [path, *_bwrap_base(), "--ro-bind", "/", "/", "--", "/bin/true"]
            try:
                ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            path = path if ok else None
        _BWRAP.append(path)
    return _BWRAP[0]


def _bwrap_base() -> list[str]:
    flags = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"]
    if os.geteuid() != 0:
        flags.insert(0, "--unshare-user")
    return flags


def isolation() -> str:
    """Which isolation a submission gets on this machine, in words (for the report and the CSV)."""
    parts = ["bubblewrap" if bubblewrap() else "no OS sandbox (install bubblewrap)"]
    parts.append("user nobody" if os.geteuid() == 0 else f"uid {os.geteuid()} (the grader's user)")
    return " + ".join(parts + ["rlimits"])


def _bwrap_command(home: str, library: bool, hidden: list[str]) -> list[str]:
    command = [bubblewrap(), *_bwrap_base(), "--tmpfs", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    command += ["--perms", "1777", "--tmpfs", "/dev/shm"]  # numba's parallel layer takes a semaphore there
    for path in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/localtime"):
        command += ["--ro-bind-try", path, path]
    binds = [p for p in sorted({sys.base_prefix, sys.prefix, *[p for p in sys.path if "site-packages" in p]}) if p]
    binds = [p for p in binds if os.path.exists(p)]
    if library:
        binds.append(str(LIBRARY_ROOT / "ckks"))
    parents = sorted({str(parent) for p in binds + [home] for parent in Path(p).parents if str(parent) != "/"})
    for parent in parents:  # bubblewrap would create them 0700: the worker, once nobody, must pass through them
        command += ["--perms", "0755", "--dir", parent]
    for path in binds:
        command += ["--ro-bind", path, path]
    command += ["--ro-bind", str(WORKER), "/grader/worker.py", "--bind", home, home, "--chdir", home]
    for path in hidden:
        if any(path == b or path.startswith(b.rstrip("/") + "/") for b in binds):
            command += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    return command + ["--", sys.executable, "-I", "/grader/worker.py"]


def _hidden_files(forbidden: list[str], library: bool) -> list[str]:
    """What bubblewrap hides even inside the bound folders (an installed wheel's site-packages, say).

    The grader's own package always; the library when the assignment does not give it to the
    submission; the forbidden top-level packages (``nn``); and, when it does, the files of the
    forbidden library modules that ``import ckks`` does not need (``ckks.attacks``).
    """
    import importlib.util

    out = [str(GRADER_FILES.parent)]
    if not library:
        out.append(str(LIBRARY_ROOT / "ckks"))
    for name in forbidden:
        if "." not in name and name != "ckks":
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.submodule_search_locations:
                out += list(spec.submodule_search_locations)
    if library:
        text = (LIBRARY_ROOT / "ckks" / "__init__.py").read_text(encoding="utf-8")
        init = "\n".join(line for line in text.splitlines() if line.startswith(("from ", "import ")))
        for name in forbidden:
            parts = name.split(".")
            if parts[0] != "ckks" or len(parts) != 2 or re.search(rf"\b{parts[1]}\b", init):
                continue
            path = LIBRARY_ROOT / "ckks" / f"{parts[1]}.py"
            if path.is_file():
                out.append(str(path))
    return out


def _limits(cpu_seconds: float, processes: int) -> dict[str, tuple[int, int]]:
    """The resource limits of a worker: CPU seconds, address space, processes, file size, open files, no core."""
    cpu = int(cpu_seconds)
    return {
        "cpu": (cpu, cpu + 5),
        "as": (4 << 30, 4 << 30),
        "nproc": (processes, processes),
        "fsize": (64 << 20, 64 << 20),
        "nofile": (256, 256),
        "core": (0, 0),
    }


def _with_limits(command: list[str], limits: dict[str, tuple[int, int]]) -> tuple[list[str], object]:
    """The command run under ``limits``: by util-linux's ``prlimit`` (no Python between fork and exec), else a
    ``preexec_fn`` (not safe if the grader has threads, which numba may start)."""
    prlimit = shutil.which("prlimit")
    if prlimit:
        return [prlimit, *[f"--{name}={soft}:{hard}" for name, (soft, hard) in limits.items()], "--", *command], None

    def apply() -> None:
        for name, value in limits.items():
            resource.setrlimit(getattr(resource, f"RLIMIT_{name.upper()}"), value)

    return command, apply


# -- processes ------------------------------------------------------------------------------------------------


def _become_subreaper() -> None:
    """Orphans of our descendants (``setsid`` double forks) are re-parented to this process, not to init.

    When the grader is not root (submissions then run as the same user), it also makes itself
    non-dumpable, so that a submission cannot attach to it or read its memory through /proc.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        if os.geteuid() != 0:
            libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    except (OSError, AttributeError):
        pass


def _processes() -> dict[int, tuple[int, int, int]]:
    """{pid: (parent, start time, uid)} of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] in ("Z", "X"):
                continue  # dead, not yet reaped
            out[int(entry)] = (int(fields[1]), int(fields[19]), os.stat(f"/proc/{entry}").st_uid)
        except (OSError, IndexError, ValueError):
            continue
    return out


def _count_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


def _cpu_seconds(pids) -> float:
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0]) / 1e9
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[13]) + int(fields[14])) / ticks  # cutime + cstime: waited-for children
        except (OSError, IndexError, ValueError):
            continue
    return total


# -- counting, where the operations run ---------------------------------------------------------------------

_ACTIVE: list[dict] = []
#: the process ids of the live workers (so that one submission's check never takes another's worker for an orphan)
_WORKERS: set[int] = set()


def _counted(owner, name: str, key: str) -> None:
    original = getattr(owner, name)
    if getattr(original, "_grader_counted", False):
        return

    def counted(*args, **kwargs):
        if _ACTIVE:
            _ACTIVE[-1][key] += 1
        return original(*args, **kwargs)

    counted.__name__, counted.__qualname__, counted.__doc__ = original.__name__, original.__qualname__, original.__doc__
    counted.__wrapped__ = original
    counted._grader_counted = True
    setattr(owner, name, counted)


_counted(KeySwitcher, "_mod_down", "key_switches")  # every key switch ends here (rotations, relinearizations)
_counted(Evaluator, "relinearize", "relinearizations")
_counted(Evaluator, "multiply", "multiplications")
_counted(Evaluator, "multiply_plain", "multiplications")

#: What the student's code may do with an encrypted vector (minus the assignment's DISABLED list).
VECTOR_METHODS = frozenset({
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__neg__", "__matmul__", "__pow__",
    "__len__", "add", "sub", "mul", "neg", "square", "rotate", "rotate_many", "conjugate", "copy", "dot", "sum",
    "matmul", "mm", "enc_matmul_plain", "polyval", "chebval", "pow", "bootstrap", "zero_tail",
})
VECTOR_ATTRIBUTES = frozenset({"level", "scale", "size", "is_complex", "shape", "context"})
CONTEXT_METHODS = frozenset({"encrypt"})
CONTEXT_ATTRIBUTES = frozenset({"slots", "scale"})
_MAX_OBJECTS = 2048


class _Refused(Exception):
    """A request the grader does not run (sent to the worker as an exception)."""


class _Stale(_Refused, wire.ProtocolError):
    """A reference to a value of an earlier call, or one released."""


@dataclasses.dataclass
class Report:
    """What the grader observed about one submission: which isolation it ran under, and the anomalies."""

    path: str
    isolation: str
    anomalies: dict[str, str] = dataclasses.field(default_factory=dict)

    def flag(self, kind: str, detail: str) -> None:
        if kind not in self.anomalies:
            self.anomalies[kind] = detail[:300]


#: Names that reach past the objects a submission is given: the interpreter's internals (frames, code,
#: globals, the class graph).  No assignment needs them; a submission that names one, as an attribute or
#: as a string (``getattr(x, "__globals__")``), is flagged ``introspection`` whatever it scores, so that a
#: sandbox-escape attempt is seen by the teacher even when the sandbox makes it harmless.
INTROSPECTION = frozenset({
    "__subclasses__", "__globals__", "__builtins__", "__code__", "__closure__", "__base__", "__bases__",
    "__mro__", "__import__", "__loader__", "__spec__", "tb_frame", "tb_next", "f_back", "f_globals",
    "f_locals", "f_builtins", "f_code", "gi_frame", "cr_frame", "ag_frame", "_getframe",
})


def introspection(source: str) -> list[str]:
    """The `INTROSPECTION` names a submission's source uses (attributes, names or string constants), sorted.

    A static scan of the text the grader sends: the worker cannot hide from it.  Source that does not
    parse yields nothing here (the worker reports the syntax error).

    Args:
        source: the submission's text.

    Returns:
        The names found, sorted, each once.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value
        else:
            continue
        if name in INTROSPECTION:
            found.add(name)
    return sorted(found)


#: The report of every submission graded in this process, by the submission's path.
REPORTS: dict[str, Report] = {}


def _fingerprint() -> dict[str, str]:
    """sha256 of every file of the library and of the grader (caches excluded)."""
    out = {}
    for folder in (LIBRARY_ROOT / "ckks", GRADER_FILES):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# -- the submission --------------------------------------------------------------------------------------------


class Submission:
    """A student's file, loaded in a fresh isolated worker process under an assignment's rules.

    Attribute access gives the student's functions: ``submission.f(*args)`` runs ``f`` in the
    worker and returns its result (see the module docstring).

    Args:
        path: the student's Python file (read here; the worker gets its text, never its path).
        forbidden: module prefixes the file may not import ("ckks.ring.ntt", "ckks").
        disabled: library operations the grader refuses to run for it ("CKKSVector.sum").
        reason: why (shown with every refusal).
        library: whether the student's process may import ckks (else only numpy, and proxies).
        timeout: seconds allowed per call (and for loading the file).
        budget: seconds allowed for all the calls together; afterwards every call fails at once.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        forbidden: list[str] | tuple[str, ...] = (),
        disabled: list[str] | tuple[str, ...] = (),
        reason: str = "see the assignment's README",
        library: bool = False,
        timeout: float = 60.0,
        budget: float | None = None,
    ):
        self.path = str(Path(path).resolve())
        self.forbidden = list(forbidden)
        self.disabled = {d.split(".")[-1] for d in disabled if d.startswith("CKKSVector.")}
        self.disabled_context = {d.split(".")[-1] for d in disabled if d.startswith("Context.")}
        self.reason = reason
        self.library = bool(library)
        self.timeout = float(timeout)
        self.budget = float(budget) if budget is not None else 6 * self.timeout
        self.spent = 0.0
        #: what the grader counted during the last call (its own operations on the student's behalf)
        self.counts: dict[str, int] = {}
        #: CPU seconds the worker's processes used during the last call (measured from outside)
        self.cpu_seconds = 0.0
        self.functions: list[str] = []
        self.load_error: BaseException | None = None
        self.report = REPORTS.setdefault(self.path, Report(self.path, isolation()))
        self.report.isolation = isolation()
        self._process: subprocess.Popen | None = None
        self._home: str | None = None
        self._logs = tempfile.mkdtemp(prefix="ckks-grade-log-")  # the grader's: the worker gets one appending fd
        self._log_path = os.path.join(self._logs, "output.txt")
        Path(self._log_path).touch()
        self._log_offset = 0
        self._allowed: set[tuple[int, int]] = set()
        self._started_at = 0
        self._objects: dict[int, tuple[object, frozenset]] = {}
        self._next_id = 1
        self._inputs: set[int] = set()
        self._sent_contexts: set[str] = set()
        self._fingerprint: dict[str, str] | None = None

    # -- the worker ---------------------------------------------------------------------------------
    def start(self) -> Submission:
        """Start a fresh worker and load the file; a failure is kept in ``load_error`` (and raised by every call)."""
        self.close()
        if self._fingerprint is None:
            self._fingerprint = _fingerprint()
        _become_subreaper()
        self.load_error = None
        try:
            source = Path(self.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.load_error = SubmissionError(f"could not read {Path(self.path).name}: {error}")
            return self
        names = introspection(source)
        if names:
            self.report.flag("introspection", "the submission reaches into interpreter internals: " + ", ".join(names))
        self._home = tempfile.mkdtemp(prefix="ckks-grade-")
        root = os.geteuid() == 0
        uid = SANDBOX_USER if root else os.geteuid()
        processes = (0 if root else _count_processes(uid)) + 48
        if bubblewrap():
            command = _bwrap_command(self._home, self.library, _hidden_files(self.forbidden, self.library))
        else:
            command = [sys.executable, "-I", str(WORKER)]
        command, preexec = _with_limits(command, _limits(self.budget + 120, processes))
        log = open(self._log_path, "ab")  # noqa: SIM115  (O_APPEND: the worker cannot write over earlier output)
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=self._home,
            env={},
            close_fds=True,
            start_new_session=True,
            preexec_fn=preexec,
        )
        log.close()
        _WORKERS.add(self._process.pid)
        self._started_at = _processes().get(self._process.pid, (0, 0, 0))[1]
        self._sent_contexts = set()
        config = {
            "op": "setup",
            "source": source,
            "filename": Path(self.path).name,
            "forbidden": self.forbidden,
            "reason": self.reason,
            "library": self.library,
            "library_root": str(LIBRARY_ROOT),
            "home": self._home,
            "uid": SANDBOX_USER if root else None,
            "gid": SANDBOX_GROUP if root else None,
            "errors": _error_hierarchy(),
        }
        started = time.monotonic()
        try:
            self._send(config, started + 120.0)
            reply = self._receive(started + 180.0)  # interpreter, numpy (and ckks) on a busy machine
            if reply["op"] == "hello":
                self._allowed = self._tree()  # the worker's own processes, before the student's code runs
                reply = self._receive(time.monotonic() + self.timeout)
        except SubmissionError as error:
            self.load_error = error
            return self
        finally:
            self.spent += time.monotonic() - started
        if reply["op"] == "ready" and isinstance(reply.get("functions"), list):
            self.functions = [str(f) for f in reply["functions"]]
        elif reply["op"] == "error":
            self.load_error = SubmissionError(f"could not load {Path(self.path).name}: {_rebuild_error(reply)}")
        else:
            self.load_error = self._malformed(f"unexpected message {reply['op']!r} while loading")
        return self

    def close(self) -> None:
        """Stop the worker and everything it started; check the library's and the grader's files."""
        process, self._process = self._process, None
        if process is not None:
            self._kill_tree(process)
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None
        self._objects.clear()
        if self._fingerprint is not None:
            after = _fingerprint()
            changed = sorted(k for k in set(after) | set(self._fingerprint) if after.get(k) != self._fingerprint.get(k))
            if changed:
                self.report.flag("integrity", "files changed: " + ", ".join(changed[:5]))
                self._fingerprint = after

    def _tree(self) -> set[tuple[int, int]]:
        """(pid, start time) of the worker's processes: its descendants, and orphans re-parented to us."""
        if self._process is None:
            return set()
        table = _processes()
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in table.items():
            children.setdefault(parent, []).append(pid)
        found, stack = set(), [self._process.pid]
        while stack:
            pid = stack.pop()
            if pid in table and (pid, table[pid][1]) not in found:
                found.add((pid, table[pid][1]))
                stack += children.get(pid, [])
        sandbox_uid = SANDBOX_USER if os.geteuid() == 0 else os.geteuid()
        for pid in children.get(os.getpid(), []):  # orphans adopted by this (subreaper) process
            _, start, uid = table[pid]
            if pid != self._process.pid and start >= self._started_at and uid == sandbox_uid and pid not in _WORKERS:
                stack = [pid]
                while stack:
                    p = stack.pop()
                    if p in table and (p, table[p][1]) not in found:
                        found.add((p, table[p][1]))
                        stack += children.get(p, [])
        return found

    def end_test(self) -> str:
        """After a test: kill the processes the submission started (flagged), return its output (quoted)."""
        if self._process is not None:
            extra = self._tree() - self._allowed
            if extra:
                self.report.flag("killed_processes", f"{len(extra)} process(es) the submission started were killed")
                for _ in range(100):
                    for pid, _ in extra:
                        _kill(pid)
                    _reap(pid for pid, _ in extra)
                    extra = self._tree() - self._allowed
                    if not extra:
                        break
                    time.sleep(0.02)
        return self.output()

    def output(self, limit: int = 2000) -> str:
        """What the student's code printed since the last ``output()``, quoted (empty if nothing)."""
        with open(self._log_path, "rb") as handle:
            handle.seek(self._log_offset)
            data = handle.read(1 << 20)
            self._log_offset = handle.seek(0, 2)
        text = data.decode("utf-8", "replace").strip()
        return quote(text, limit) if text else ""

    def log(self, limit: int = 2000) -> str:
        """The last ``limit`` characters the student's code printed, quoted."""
        with open(self._log_path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, 2) - 4 * limit))
            text = handle.read().decode("utf-8", "replace")
        return quote(text[-limit:], limit)

    def _kill_tree(self, process: subprocess.Popen) -> None:
        for _ in range(5):
            tree = self._tree_of(process)
            if not tree:
                break
            for pid in tree:
                _kill(pid)
            _reap(tree)
        try:
            process.kill()
        except OSError:
            pass
        process.wait()
        _WORKERS.discard(process.pid)
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def _tree_of(self, process: subprocess.Popen) -> set[int]:
        saved, self._process = self._process, process
        try:
            found = {pid for pid, _ in self._tree()}
        finally:
            self._process = saved
        if found - {pid for pid, _ in self._allowed}:
            self.report.flag("killed_processes", "processes of the submission were still running at its end")
        return found

    # -- framing with deadlines -------------------------------------------------------------------------
    def _send(self, message: dict, deadline: float) -> None:
        data = json.dumps(message, separators=(",", ":")).encode("utf-8")
        fd = self._process.stdin.fileno()
        view = memoryview(len(data).to_bytes(4, "big") + data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                self._timed_out()
            try:
                written = os.write(fd, view[: 1 << 16])
            except OSError:
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

    def _receive(self, deadline: float) -> dict:
        try:
            return wire.read_message(-1, lambda count: self._read(count, deadline))
        except wire.ProtocolError as error:
            raise self._malformed(str(error)) from None

    def _malformed(self, detail: str) -> SubmissionError:
        self.report.flag("malformed", detail)
        if self._process is not None:
            process, self._process = self._process, None
            self._kill_tree(process)
        return SubmissionError(f"the submission's process sent a malformed message ({detail}); it was stopped")

    def _timed_out(self):
        process, self._process = self._process, None
        self._kill_tree(process)
        self.report.flag("timeout", f"a call ran past {self.timeout:g} s")
        raise SubmissionTimeout(
            f"your code ran for more than {self.timeout:g} s and was stopped: an endless loop, or an algorithm "
            "far slower than the assignment asks for?"
        )

    def _died(self):
        process, self._process = self._process, None
        code = process.poll()
        self._kill_tree(process)
        raise SubmissionError(f"your code ended the process (exit status {code}); its output:\n{self.log(800)}")

    # -- objects that stay here ---------------------------------------------------------------------------------
    def _new(self, obj, roots: frozenset) -> dict:
        if len(self._objects) >= _MAX_OBJECTS:
            raise _Refused(f"more than {_MAX_OBJECTS} encrypted values alive at once: drop the ones you no longer need")
        ident = self._next_id
        self._next_id += 1
        self._objects[ident] = (obj, roots)
        kind = "context" if isinstance(obj, ckks.Context) else "vector"
        return {"$": "ref", "id": ident, "kind": kind}

    def _outgoing(self, value):
        """Encoding of the grader's arguments: vectors and contexts stay here (references), data objects go."""
        if isinstance(value, ckks.CKKSVector):
            register(value.context)
            tagged = self._new(value, frozenset())
            self._objects[tagged["id"]] = (value, frozenset({tagged["id"]}))
            self._inputs.add(tagged["id"])
            return tagged
        if isinstance(value, ckks.Context):
            return self._new(register(value), frozenset())
        if isinstance(value, (ckks.Ciphertext, ckks.PublicKey, ckks.Parameters)):
            if not self.library:
                raise RuntimeError("autograder bug: ckks data objects need LIBRARY = True")
            key = value.key_id if not isinstance(value, ckks.Parameters) else None
            ctx = CONTEXTS.get(key) if key else next((c for c in CONTEXTS.values() if c.params is value), None)
            if ctx is None:
                raise RuntimeError("autograder bug: build the context with grading_context() or register() it")
            tagged = {"$": type(value).__name__.lower().replace("publickey", "public_key"), "key": ctx.key_id}
            tagged["$"] = {"ciphertext": "ciphertext", "public_key": "public_key", "parameters": "params"}[tagged["$"]]
            if ctx.key_id not in self._sent_contexts:
                self._sent_contexts.add(ctx.key_id)
                tagged["context"] = base64.b64encode(ctx.serialize(secret_key=False)).decode("ascii")
            if isinstance(value, ckks.Ciphertext):
                blob = ckks.CKKSVector(ctx, value, ctx.slots, is_complex=True).serialize(compact=False)
                tagged["v"] = base64.b64encode(blob).decode("ascii")
            return tagged
        return None

    def _incoming(self, data: dict):
        """A reference from the worker: it must name one of this submission's live objects."""
        if data.get("$") != "ref" or not isinstance(data.get("id"), int):
            raise wire.ProtocolError("an object of an unknown type")
        if data["id"] not in self._objects:
            raise _Stale(
                "an encrypted value the grader does not know: values live for one call of your function (do not "
                "keep them in global variables between calls)"
            )
        return self._objects[data["id"]]

    def _roots(self, value) -> frozenset:
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], frozenset):
            return value[1]
        if isinstance(value, (list, tuple)):
            return frozenset().union(*[self._roots(v) for v in value]) if value else frozenset()
        if isinstance(value, dict):
            return frozenset().union(*[self._roots(v) for v in value.values()]) if value else frozenset()
        return frozenset()

    def _unwrap(self, value):
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], frozenset):
            return value[0]
        if isinstance(value, list):
            return [self._unwrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self._unwrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self._unwrap(v) for k, v in value.items()}
        return value

    def _execute(self, request: dict) -> dict:
        """Run one request of the student's code on the grader's objects; the reply message."""
        try:
            return self._run_request(request)
        finally:
            for ident in request.get("release", []) if isinstance(request.get("release"), list) else []:
                if isinstance(ident, int) and ident not in self._inputs:
                    self._objects.pop(ident, None)

    def _run_request(self, request: dict) -> dict:
        target = request.get("target")
        method = request.get("method")
        if not isinstance(target, int) or not isinstance(method, str):
            raise wire.ProtocolError("a request without a target or a method")
        try:
            obj, roots = self._incoming({"$": "ref", "id": target})
            raw_args = wire.decode(request.get("args", []), self._incoming)
            raw_kwargs = wire.decode(request.get("kwargs", {}), self._incoming)
        except _Stale as error:
            return {"op": "raise", "module": "grader", "type": "StaleValue", "message": str(error)}
        if not isinstance(raw_args, list) or not isinstance(raw_kwargs, dict):
            raise wire.ProtocolError("a request whose arguments are not a list and a dict")
        roots = roots | self._roots(raw_args) | self._roots(list(raw_kwargs.values()))
        args, kwargs = self._unwrap(raw_args), self._unwrap(raw_kwargs)
        is_vector = isinstance(obj, ckks.CKKSVector)
        methods = VECTOR_METHODS if is_vector else CONTEXT_METHODS
        attributes = VECTOR_ATTRIBUTES if is_vector else CONTEXT_ATTRIBUTES
        disabled = self.disabled if is_vector else self.disabled_context
        owner = "CKKSVector" if is_vector else "Context"
        try:
            if method == "describe":
                name = args[0] if args and isinstance(args[0], str) else ""
                if name in disabled:
                    raise _Refused(f"{owner}.{name} is switched off for this assignment: {self.reason}")
                if name in methods:
                    return {"op": "reply", "value": ["method", None]}
                if name in attributes:
                    return {"op": "reply", "value": ["value", self._result(getattr(obj, name), roots)]}
                if name == "decrypt":
                    raise _Refused("tried to decrypt: the grader's ciphertexts reach your code WITHOUT the secret key")
                raise _Refused(f"{owner}.{name} is not available to a submission")
            if method in disabled:
                raise _Refused(f"{owner}.{method} is switched off for this assignment: {self.reason}")
            if method not in methods:
                raise _Refused(f"{owner}.{method} is not available to a submission")
            if method == "encrypt":
                roots = frozenset()  # a fresh encryption depends on no input
            _ACTIVE.append(self.counts)
            try:
                result = getattr(obj, method)(*args, **kwargs)
            finally:
                _ACTIVE.pop()
            if result is NotImplemented:
                raise _Refused(f"unsupported operand for {owner}.{method}")
            return {"op": "reply", "value": self._result(result, roots)}
        except Exception as error:  # noqa: BLE001  (the library's errors go back to the student's code)
            module = type(error).__module__
            module = "builtins" if module == "builtins" else ("ckks.errors" if module.startswith("ckks") else "grader")
            return {"op": "raise", "module": module, "type": type(error).__name__, "message": str(error)[:2000]}

    def _result(self, value, roots: frozenset):
        def ref(obj):
            if isinstance(obj, (ckks.CKKSVector, ckks.Context)):
                return self._new(obj, roots if isinstance(obj, ckks.CKKSVector) else frozenset())
            if isinstance(obj, (ckks.Ciphertext, ckks.Plaintext)):
                raise _Refused("the library's internals are not available to a submission")
            return None

        return wire.encode(value, ref)

    # -- calls ------------------------------------------------------------------------------------------------
    def call(self, name: str, *args, **kwargs):
        """Run the student's ``name(*args, **kwargs)``; see the class docstring.

        Raises:
            SubmissionError: the code raised (the error's type, message and place), broke a rule,
                ended the process, sent a malformed message or returned something the grader does
                not accept (a value not computed from the inputs, for instance).
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
        self.counts = {"key_switches": 0, "relinearizations": 0, "multiplications": 0}
        self._objects.clear()
        self._inputs = set()
        started = time.monotonic()
        deadline = started + self.timeout
        pids = [pid for pid, _ in self._allowed]
        cpu_before = _cpu_seconds(pids)
        try:
            message = {"op": "call", "name": name, "args": wire.encode(list(args), self._outgoing),
                       "kwargs": wire.encode(dict(kwargs), self._outgoing)}
            self._send(message, deadline)
            while True:
                reply = self._receive(deadline)
                if reply["op"] != "request":
                    break
                try:
                    answer = self._execute(reply)
                except wire.ProtocolError as error:
                    raise self._malformed(str(error)) from None
                if time.monotonic() > deadline:
                    self._timed_out()
                self._send(answer, deadline)
            if reply["op"] == "result":
                try:
                    value = wire.decode(reply.get("value"), self._incoming)
                except _Stale as error:
                    raise SubmissionError(str(error)) from None
                except wire.ProtocolError as error:
                    raise self._malformed(str(error)) from None
                self._check_provenance(value)
                return self._unwrap(value)
            if reply["op"] == "error":
                raise _rebuild_error(reply)
            raise self._malformed(f"unexpected message {reply['op']!r} during a call")
        except SubmissionTimeout:
            self.start()  # a fresh worker for the next call
            raise
        finally:
            self.spent += time.monotonic() - started
            self.cpu_seconds = max(0.0, _cpu_seconds(pids) - cpu_before)
            self.counts["rotations"] = self.counts["key_switches"] - self.counts["relinearizations"]

    def _check_provenance(self, value) -> None:
        if not self._inputs:
            return
        for roots in _vector_roots(value):
            if not roots & self._inputs:
                raise SubmissionError(
                    "your function returned an encrypted value that was not computed from its encrypted input "
                    "(a fresh encryption?): compute the answer from the ciphertexts you were given"
                )

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
        self.dispose()

    def dispose(self) -> None:
        """`close`, and delete the captured output."""
        self.close()
        shutil.rmtree(self._logs, ignore_errors=True)

    def __del__(self):
        try:
            self.dispose()
        except Exception:  # noqa: BLE001
            pass


def _vector_roots(value):
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], frozenset):
        if isinstance(value[0], ckks.CKKSVector):
            yield value[1]
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _vector_roots(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _vector_roots(v)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(pids) -> None:
    """Collect the exit status of killed children of this process (adopted orphans), so no zombie is left."""
    for pid in list(pids):
        for _ in range(50):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.01)


def _error_hierarchy() -> list[tuple[str, str]]:
    classes = [c for c in vars(ckks.errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    classes.sort(key=lambda c: len(c.__mro__))
    return [(c.__name__, c.__mro__[1].__name__) for c in classes if c.__module__ == "ckks.errors"]


def _rebuild_error(reply: dict) -> BaseException:
    """The student's exception as the grader shows it: the type's name, and the message and place quoted."""
    module, name = str(reply.get("module", "")), str(reply.get("type", "Error"))[:100]
    message, where = str(reply.get("message", "")), str(reply.get("where", ""))
    text = f"{name}: {quote(message, 1500).lstrip()}"
    if where.strip():
        text += f"\n  in your code:\n{quote(where.rstrip(), 1500)}"
    if "tried to decrypt" in message or (name == "KeyMissingError" and "secret" in message.lower()):
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
