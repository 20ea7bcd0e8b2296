"""The JSON-lines protocol of the benchmark workers (library_worker.py, openfhe_worker.py): standard library only,
so that it also runs under OpenFHE's Python 3.10 venv.

A worker reads one JSON request a line on stdin and writes one JSON reply a line on stdout; a handler that
raises becomes ``{"error": "Type: message"}`` (the parent shows "-"), a handler that returns None ends the
worker (``{"cmd": "quit"}``).
"""

import json
import sys
import time


def serve(handle) -> None:
    """Answer every request on stdin with ``handle(request)`` until it returns None or stdin closes."""
    for line in sys.stdin:
        try:
            reply = handle(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which shows "-"
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        if reply is None:
            break
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def time_call(call, request: dict) -> dict:
    """``{"samples": [...]}``: seconds of ``request["repeat"]`` calls on its clock ("cpu": CPU time of this process,
    else wall time), after one warm-up call unless ``"warmup": false``."""
    clock = time.process_time if request.get("clock") == "cpu" else time.perf_counter
    if request.get("warmup", True):
        call()
    samples = []
    for _ in range(int(request.get("repeat", 1))):
        start = clock()
        call()
        samples.append(clock() - start)
    return {"samples": samples}
