"""Issue 26: the serial-when-small threshold is measured per kernel and shipped in ckks/ring/thresholds.json."""

from __future__ import annotations

import ast
import json
import types
from datetime import date
from pathlib import Path

import pytest

from ckks.errors import SerializationError
from ckks.ring import modarith, thresholds
from ckks.ring.thresholds import TABLE_FILE, Table, is_power_of_two, load_table

ROOT = Path(__file__).resolve().parents[3]


def decorated_kernels() -> set[str]:
    """Qualified names of every function in ckks/ decorated with serial_when_small (read from the source)."""
    names = set()
    for path in sorted((ROOT / "ckks").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Name) and target.id == "serial_when_small":
                    names.add(f"{module}.{node.name}")
    return names


def test_every_decorated_kernel_has_a_measured_threshold():
    found = decorated_kernels()
    assert len(found) >= 18  # the scan sees the kernels of modarith, rns, ntt, keyswitch and automorphism
    shipped = load_table(TABLE_FILE)
    assert sorted(found - set(shipped)) == [], "measure them: python -m ckks.crossover --kernels NAME"
    assert sorted(set(shipped) - found) == [], "the table names kernels that no longer exist"


def test_the_shipped_table_is_valid_and_says_where_it_was_measured():
    shipped = load_table(TABLE_FILE)
    assert all(is_power_of_two(v) for v in shipped.values())
    assert shipped.machine["threads"] >= 2 and shipped.machine["cpu"]
    assert shipped.machine["threading_layer"] in ("tbb", "workqueue", "omp")
    date.fromisoformat(shipped.machine["date"])
    assert 0 <= shipped.margin < 1


def test_the_wrappers_use_the_table():
    from ckks.crossover import kernels

    shipped = load_table(TABLE_FILE)
    wrappers = kernels()
    assert set(wrappers) == set(shipped)
    for name, wrapper in wrappers.items():
        assert wrapper.name == name and wrapper.threshold == shipped[name], name


def test_table_round_trip(tmp_path):
    table = Table({"ckks.ring.modarith.poly_mul": 4096, "ckks.ring.ntt.ntt_forward_rows": 1 << 14},
                  {"cpu": "test", "cores": 2, "threads": 2, "threading_layer": "tbb", "date": "2026-12-07"}, 0.1)
    path = tmp_path / "t.json"
    path.write_text(table.to_json())
    back = load_table(path)
    assert back == table and back.machine == table.machine and back.margin == 0.1


GOOD = {"format": 1, "machine": {"cpu": "x", "cores": 2, "threads": 2, "threading_layer": "tbb", "date": "2026-12-07"},
        "margin": 0.1, "thresholds": {"ckks.ring.modarith.poly_mul": 4096}}


def _bad(**changes):
    body = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    return json.dumps(body)


@pytest.mark.parametrize("text, says", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "format"),
    (_bad(format=2), "format 2"),
    (_bad(machine=None), "machine record"),
    (_bad(machine={"cpu": "x"}), "machine record"),
    (_bad(margin=1.5), "margin"),
    (_bad(margin=True), "margin"),
    (_bad(thresholds=None), "'thresholds'"),
    (_bad(thresholds={"ckks.ring.modarith.poly_mul": 3000}), "power of two"),
    (_bad(thresholds={"ckks.ring.modarith.poly_mul": -4096}), "power of two"),
    (_bad(thresholds={"ckks.ring.modarith.poly_mul": 0}), "power of two"),
    (_bad(thresholds={"ckks.ring.modarith.poly_mul": True}), "power of two"),
    (_bad(thresholds={"ckks.ring.modarith.poly_mul": 4096.0}), "power of two"),
    (_bad(thresholds={"poly_mul": 4096}), "qualified name"),
    (_bad(thresholds={"ckks.ring.modarith.poly mul": 4096}), "qualified name"),
])
def test_a_malformed_table_is_refused_with_a_clear_error(tmp_path, text, says):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SerializationError, match=says) as info:
        load_table(path)
    assert "bad.json" in str(info.value) and "python -m ckks.crossover" in str(info.value)


def test_a_missing_table_file_is_refused_when_named(tmp_path, monkeypatch):
    with pytest.raises(SerializationError, match="cannot read"):
        load_table(tmp_path / "absent.json")
    monkeypatch.setattr(thresholds, "_cache", [])
    monkeypatch.setenv(thresholds.ENVIRONMENT, str(tmp_path / "absent.json"))
    with pytest.raises(SerializationError, match="absent.json"):
        thresholds.table()


def test_the_environment_names_another_table(tmp_path, monkeypatch):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(GOOD))
    monkeypatch.setattr(thresholds, "_cache", [])
    monkeypatch.setenv(thresholds.ENVIRONMENT, str(path))
    assert thresholds.measured_threshold("ckks.ring.modarith.poly_mul", 8192) == 4096
    assert thresholds.measured_threshold("ckks.ring.modarith.poly_add", 1 << 17) == 1 << 17  # no entry: default


def test_no_table_file_means_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setattr(thresholds, "_cache", [])
    monkeypatch.delenv(thresholds.ENVIRONMENT, raising=False)
    monkeypatch.setattr(thresholds, "TABLE_FILE", tmp_path / "absent.json")
    assert thresholds.measured_threshold("ckks.ring.modarith.poly_mul", 8192) == 8192


# -- the wrapper ------------------------------------------------------------------------------------------


def _fake_kernel(module: str, qualname: str, calls: list):
    """A stand-in for a numba kernel: records "parallel" when called; its py_func carries the name."""

    def py_func(a):
        return a

    py_func.__module__, py_func.__qualname__ = module, qualname

    def kernel(a):
        calls.append("parallel")
        return a

    kernel.py_func = py_func
    kernel.signatures = ["compiled"]  # nothing to rent: ckks.ring.jit.compiled_or_cached
    return kernel


@pytest.fixture
def recording_twins(monkeypatch):
    calls: list[str] = []

    def twin(kernel):
        return lambda a: calls.append("serial") or a

    monkeypatch.setattr(modarith, "_serial_twin", twin)
    monkeypatch.setattr(modarith, "_thread_count", lambda: 2)
    return calls


def _sized(n: int):
    return types.SimpleNamespace(size=n)


@pytest.mark.parametrize("name", ["ckks.ring.modarith.poly_mul", "ckks.ring.modarith.poly_add",
                                  "ckks.ring.ntt.ntt_forward_rows", "ckks.scheme.keyswitch.key_inner_product"])
def test_serial_below_and_parallel_from_the_measured_threshold_on_two_threads(recording_twins, name):
    calls = recording_twins
    module, _, qualname = name.rpartition(".")
    wrapper = modarith.serial_when_small(_fake_kernel(module, qualname, calls))
    measured = load_table(TABLE_FILE)[name]
    assert wrapper.threshold == measured and wrapper.name == name
    wrapper(_sized(measured - 1))
    wrapper(_sized(measured))
    wrapper(_sized(4 * measured))
    assert calls == ["serial", "parallel", "parallel"]


def test_one_thread_always_runs_the_serial_twin(recording_twins, monkeypatch):
    calls = recording_twins
    monkeypatch.setattr(modarith, "_thread_count", lambda: 1)
    wrapper = modarith.serial_when_small(_fake_kernel("ckks.ring.modarith", "poly_mul", calls))
    wrapper(_sized(1 << 24))
    assert calls == ["serial"]


def test_an_explicit_threshold_wins_and_an_unmeasured_kernel_keeps_its_default(recording_twins):
    calls = recording_twins
    explicit = modarith.serial_when_small(threshold=64)(_fake_kernel("ckks.ring.modarith", "poly_mul", calls))
    assert explicit.threshold == 64
    explicit(_sized(63))
    explicit(_sized(64))
    assert calls == ["serial", "parallel"]
    new = _fake_kernel("ckks.ring.modarith", "not_measured_yet", calls)
    assert modarith.serial_when_small(new).threshold == modarith.PARALLEL_THRESHOLD
    cheap = modarith.serial_when_small(default=modarith.CHEAP_THRESHOLD)(new)
    assert cheap.threshold == modarith.CHEAP_THRESHOLD and cheap.default == modarith.CHEAP_THRESHOLD
