"""The measured serial-when-small thresholds: from which size each parallel kernel pays on two threads.

`ckks.ring.modarith.serial_when_small` runs a ``parallel=True`` kernel's serial twin when its first
argument has fewer elements than a threshold.  Where two threads start to pay depends on the kernel:
a loop start costs 5-18 us on numba's TBB layer (`ckks.ring.threads`), an addition does a few cycles
per element and a number-theoretic transform hundreds.  So each kernel has its own threshold, measured
on two threads by ``python -m ckks.crossover`` (`ckks.crossover`) and shipped in ``thresholds.json``
next to this module, keyed by the kernel's qualified name (``"ckks.ring.modarith.poly_add"``), with the
CPU, the thread count, the threading layer and the date of the measurement beside it.

The threshold of a kernel is the smallest power of two t such that, at every measured size of at least
t elements, the parallel kernel took at most ``1 - margin`` times the time of its serial twin (medians of
alternating batches, summed over the sweeps and the argument layouts of each size; one loss between two
wins counts as noise; see `ckks.crossover.crossover`).  A threshold above every measured size (2^20 here)
means that two threads never paid.  Measured in three quiet sweeps on a 2-core AMD EPYC
(``docs/benchmarks.md``): the products, transforms and key-switching kernels pay from 2^11-2^15 elements,
the additions from 2^17-2^19.  A kernel without an entry keeps the class default it is decorated
with (`ckks.ring.modarith.PARALLEL_THRESHOLD` or `CHEAP_THRESHOLD`); an explicit ``threshold=`` given
to the decorator wins over the table.  ``CKKS_THRESHOLDS=/path/to/table.json`` (environment) reads
another table, for instance one measured on the machine that runs the computation.

Layer 1: imports only `ckks.errors` and the standard library.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ckks.errors import SerializationError

__all__ = ["FORMAT", "TABLE_FILE", "ENVIRONMENT", "Table", "load_table", "table", "measured_threshold",
           "is_power_of_two"]

#: The version of the table's file format.
FORMAT = 1

#: The table that ships with the package.
TABLE_FILE = Path(__file__).with_name("thresholds.json")

#: Environment variable naming another table file to read instead of `TABLE_FILE`.
ENVIRONMENT = "CKKS_THRESHOLDS"

#: Keys of the ``"machine"`` record: where and when the table was measured.
MACHINE_KEYS = ("cpu", "cores", "threads", "threading_layer", "date")


class Table(dict):
    """The thresholds by kernel (a ``dict`` of qualified name -> elements), with ``machine`` and ``margin``.

    Args:
        thresholds: qualified kernel name -> threshold in elements of the first argument.
        machine: where and when they were measured (`MACHINE_KEYS`).
        margin: the relative margin the parallel kernel had to win by.
    """

    def __init__(self, thresholds: dict[str, int], machine: dict[str, Any], margin: float):
        super().__init__(thresholds)
        self.machine = dict(machine)
        self.margin = float(margin)

    def to_json(self) -> str:
        """The table as the text of a table file (sorted keys, one kernel a line).

        Returns:
            JSON text that `load_table` reads back to an equal table.
        """
        body = {"format": FORMAT, "machine": self.machine, "margin": self.margin,
                "thresholds": dict(sorted(self.items()))}
        return json.dumps(body, indent=1) + "\n"


def is_power_of_two(value: object) -> bool:
    """Whether ``value`` is a positive integer power of two (``bool`` excluded).

    Args:
        value: anything.

    Returns:
        True for 1, 2, 4, ...
    """
    return isinstance(value, int) and not isinstance(value, bool) and value > 0 and value & (value - 1) == 0


def load_table(path: str | os.PathLike) -> Table:
    """Read and check a thresholds file.

    Args:
        path: the JSON file (`Table.to_json`'s format).

    Returns:
        The `Table`.

    Raises:
        SerializationError: the file cannot be read, is not JSON, has another format version, lacks the
            ``machine`` record, or holds a threshold that is not a positive power of two or a kernel name
            that is not a dotted qualified name; the message names the file and what to do.
    """
    where = f"thresholds file {os.fspath(path)!r}"
    fix = "rewrite it with `python -m ckks.crossover` (or delete it to use the defaults)"
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise SerializationError(f"cannot read the {where}: {error}") from None
    try:
        body = json.loads(text)
    except ValueError as error:
        raise SerializationError(f"the {where} is not valid JSON ({error}); {fix}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        got = body.get("format") if isinstance(body, dict) else type(body).__name__
        raise SerializationError(f"the {where} has format {got!r}, this version reads format {FORMAT}; {fix}")
    machine = body.get("machine")
    if not isinstance(machine, dict) or any(key not in machine for key in MACHINE_KEYS):
        raise SerializationError(f"the {where} lacks its machine record (keys {list(MACHINE_KEYS)}); {fix}")
    margin = body.get("margin")
    if not isinstance(margin, (int, float)) or isinstance(margin, bool) or not 0 <= margin < 1:
        raise SerializationError(f"the {where} has margin {margin!r}, expected a number in [0, 1); {fix}")
    thresholds = body.get("thresholds")
    if not isinstance(thresholds, dict):
        raise SerializationError(f"the {where} has no 'thresholds' object (kernel name -> elements); {fix}")
    for name, value in thresholds.items():
        if not all(part.isidentifier() for part in name.split(".")) or "." not in name:
            raise SerializationError(f"the {where} names kernel {name!r}, expected a qualified name such as "
                                     f"'ckks.ring.modarith.poly_add'; {fix}")
        if not is_power_of_two(value):
            raise SerializationError(f"the {where} gives {name} the threshold {value!r}, expected a positive "
                                     f"power of two (elements of the first argument); {fix}")
    return Table(thresholds, machine, margin)


_cache: list[Table] = []


def table() -> Table:
    """The thresholds in use: the file named by ``CKKS_THRESHOLDS``, else `TABLE_FILE` (read once).

    A missing `TABLE_FILE` gives an empty table (every kernel keeps its default).

    Returns:
        The `Table`.

    Raises:
        SerializationError: the file is malformed (`load_table`), or ``CKKS_THRESHOLDS`` names a missing file.
    """
    if not _cache:
        path = os.environ.get(ENVIRONMENT)
        if path:
            _cache.append(load_table(path))
        elif TABLE_FILE.is_file():
            _cache.append(load_table(TABLE_FILE))
        else:
            _cache.append(Table({}, {}, 0.0))
    return _cache[0]


def measured_threshold(qualified_name: str, default: int) -> int:
    """The measured threshold of a kernel, or ``default`` when the table has no entry for it.

    Args:
        qualified_name: the kernel's ``module.function`` name.
        default: the threshold to use without a measurement.

    Returns:
        The least number of elements of the kernel's first argument that runs in parallel.

    Raises:
        SerializationError: the table file is malformed (`table`).
    """
    return int(table().get(qualified_name, default))
