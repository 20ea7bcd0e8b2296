"""benchmarks/compare.py without timing anything: the --check logic on synthetic tables, one library per process
(the command lines and the alternation), OpenFHE's settings, and the bootstrapping requests."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import compare  # noqa: E402


def row(ours: list[float], **peers: list[float]) -> dict:
    return compare.make_row({"N": 16384, "threads": 1, "operation": "multiply"}, {"ours": ours, **peers})


# -- the check ---------------------------------------------------------------------------------------------------
def test_a_clear_difference_is_resolved():
    r = row([10.0, 10.5, 11.0], openfhe_b=[20.0, 21.0, 22.0])
    assert r["ratios"]["openfhe_b"]["median"] == pytest.approx(0.5, abs=0.01)
    assert r["unresolved"] == {}
    assert compare.check({"core": {"rows": [r]}}) == []


def test_a_ratio_interval_containing_one_is_flagged():
    r = row([10.0, 10.0, 10.0], tenseal=[9.0, 9.5, 11.0])
    assert "contains 1" in r["unresolved"]["tenseal"]


def test_overlapping_ranges_are_flagged_even_when_every_paired_ratio_is_below_one():
    # per round ours is faster (ratios 0.8-0.9), but the load moved so much that the ranges overlap
    r = row([8.0, 16.0, 9.0], openfhe_a=[10.0, 18.0, 10.5])
    assert r["ratios"]["openfhe_a"]["max"] < 1.0
    assert "overlap" in r["unresolved"]["openfhe_a"]


def test_a_single_measurement_is_never_resolved():
    assert "no spread" in row([10.0], openfhe_b=[20.0])["unresolved"]["openfhe_b"]


def test_check_names_the_table_row_and_peer_and_main_exits_nonzero(tmp_path):
    results = {"core": {"rows": [row([10.0, 10.0], tenseal=[9.0, 11.0]), row([1.0, 1.1], openfhe_b=[3.0, 3.1])]},
               "bootstrap": {"rows": [compare.make_row({"threads": 1, "setting": "b", "operation": "bootstrap"},
                                                        {"ours": [17.0, 19.0], "openfhe_b": [18.0, 18.5]})]}}
    messages = compare.check(results)
    assert len(messages) == 2
    assert messages[0].startswith("core: N=16384, threads=1, operation=multiply: ours / TenSEAL")
    assert messages[1].startswith("bootstrap: threads=1, operation=bootstrap, setting=b: ours / OpenFHE (b)")
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    assert compare.main(["--check", str(path)]) == 1
    path.write_text(json.dumps({"precision": [], "compare": results}))  # the layout of docs/benchmarks/data.json
    assert compare.main(["--check", str(path)]) == 1
    clean = {"core": {"rows": [row([1.0, 1.1], openfhe_b=[3.0, 3.1])]}}
    path.write_text(json.dumps(clean))
    assert compare.main(["--check", str(path)]) == 0


def test_tables_show_the_spread_and_mark_unresolved_ratios():
    table = {"rows": [row([10.0, 10.0, 10.0], tenseal=[9.0, 9.5, 11.0], openfhe_b=[20.0, 21.0, 22.0])]}
    text = compare.render_timing(table, compare.SETTING_COLUMNS["b"])
    assert "10.00 (10.00-10.00)" in text and "21.00 (20.00-22.00)" in text
    assert f"{compare.NOT_SIGNIFICANT}" in text.split("|")[-3]  # ours/TenSEAL
    assert compare.NOT_SIGNIFICANT not in text.split("|")[-2]  # ours/OpenFHE (b)


# -- one library per process -------------------------------------------------------------------------------------
def test_every_library_gets_its_own_worker_process_and_thread_count():
    commands = {lib: compare.worker_command(lib, 2, "/opt/py310/bin/python") for lib in compare.NAMES}
    assert commands["ours"][0] == [sys.executable, str(REPO / "benchmarks" / "library_worker.py"), "ours"]
    assert commands["tenseal"][0] == [sys.executable, str(REPO / "benchmarks" / "library_worker.py"), "tenseal"]
    for lib in ("openfhe_a", "openfhe_b", "openfhe_b128"):
        assert commands[lib][0] == ["/opt/py310/bin/python", str(REPO / "benchmarks" / "openfhe_worker.py")]
    for _argv, env in commands.values():
        assert env["OMP_NUM_THREADS"] == env["NUMBA_NUM_THREADS"] == "2"
        assert env["OMP_WAIT_POLICY"] == "PASSIVE"  # an idle worker does not spin on a core another one is timed on
    argv, _ = compare.worker_command("ours", 1, lock=True)
    assert argv[:2] == ["flock", compare.LOCK]
    with pytest.raises(ValueError, match="openfhe"):
        compare.worker_command("openfhe_a", 1, None)
    with pytest.raises(ValueError, match="unknown library"):
        compare.worker_command("lattigo", 1)


def test_the_tenseal_worker_never_imports_this_library():
    tree = ast.parse((REPO / "benchmarks" / "library_worker.py").read_text())
    tenseal = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "TenSEAL")
    imported = {alias.name.split(".")[0] for node in ast.walk(tenseal) if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in node.names} | {node.module.split(".")[0] for node in ast.walk(tenseal)
                                            if isinstance(node, ast.ImportFrom) and node.module}
    assert "tenseal" in imported and "ckks" not in imported
    for parent in ("compare.py", "common.py"):  # the parent process and what it imports time nothing themselves
        body = ast.parse((REPO / "benchmarks" / parent).read_text()).body
        top = {alias.name.split(".")[0] for node in body if isinstance(node, ast.Import) for alias in node.names}
        top |= {node.module.split(".")[0] for node in body if isinstance(node, ast.ImportFrom) and node.module}
        assert not top & {"ckks", "tenseal", "openfhe", "numba"}, parent


class FakeWorker:
    def __init__(self, name: str, log: list, ms: float):
        self.name, self.log, self.ms = name, log, ms

    def ask(self, request: dict) -> dict:
        self.log.append((self.name, request["op"]))
        return {"samples": [self.ms / 1e3] * request["repeat"]}


def test_workers_alternate_in_a_rotating_order():
    log: list = []
    workers = {name: FakeWorker(name, log, ms) for name, ms in (("ours", 1.0), ("tenseal", 2.0), ("openfhe_b", 4.0))}
    per_round = compare.measure(workers, "rotate", rounds=3, repeat=2, clock="cpu")
    assert [name for name, _ in log] == ["ours", "tenseal", "openfhe_b", "tenseal", "openfhe_b", "ours",
                                         "openfhe_b", "ours", "tenseal"]
    assert per_round == {"ours": [1.0] * 3, "tenseal": [2.0] * 3, "openfhe_b": [4.0] * 3}


def test_a_worker_that_fails_an_operation_is_left_out_of_that_row():
    class Failing(FakeWorker):
        def ask(self, request):
            return {"error": "no such operation"}

    workers = {"ours": FakeWorker("ours", [], 1.0), "openfhe_a": Failing("openfhe_a", [], 0.0)}
    assert compare.measure(workers, "matmul", rounds=2, repeat=1, clock="wall") == {"ours": [1.0, 1.0]}


# -- settings ----------------------------------------------------------------------------------------------------
def test_openfhe_settings_differ_in_digits_and_security_as_documented():
    source = (REPO / "benchmarks" / "openfhe_worker.py").read_text()
    body = source.split("def context(", 1)[1].split("\nclass ", 1)[0]
    like_for_like, own = body.split('if setting == "a":', 1)[1].split("return", 1)[0], body.split("return", 1)[1]
    assert "SetNumLargeDigits(data_primes)" in like_for_like and "HEStd_NotSet" in like_for_like
    assert "SetNumLargeDigits" not in own and "HEStd_128_classic" in own


def test_bootstrap_requests_at_our_budget_and_at_openfhe_s_own_128_bit_setup():
    ours = {"slots": 32768, "compute_levels": 6, "poly_degree": 65536, "cts": 4, "stc": 3, "dnum": 6}
    requests = compare.bootstrap_requests("128", None, ours, [0.5], repeat=2)
    a, b = requests["openfhe_a"], requests["openfhe_b"]
    assert a["level_budget"] == [4, 3] and a["dnum"] == 6 and a["poly_degree"] == 65536
    assert a["secret"] == "SPARSE_TERNARY" and "security" not in a
    assert b["level_budget"] == [3, 3] and b["dnum"] is None and b["poly_degree"] is None
    assert b["secret"] == "SPARSE_ENCAPSULATED" and b["security"] == "128"
    assert a["levels_after"] == b["levels_after"] == 6 and a["key_memory"] == b["key_memory"] == "rss"


def test_quick_keeps_the_small_rows_only():
    args = compare.parse_args(["--quick"])
    assert args.rings == [8192, 16384]
    assert "extras" not in args.sections and "scaling" not in args.sections and "bootstrap" in args.sections


def test_a_bootstrapping_peer_that_was_not_measured_is_named_with_the_reason():
    details = {"ours": {"seconds": [16.0, 17.0], "key_memory_mb": 10416.0, "precision_bits": 18.4, "levels_after": 6},
               "openfhe_b": {"seconds": [18.0, 19.0], "key_memory_mb": 4280.0, "precision_bits": 16.2}}
    table = {"rows": compare.bootstrap_rows(1, details), "errors": {"openfhe_a, 1 thread(s)": "timed out after 1800 s"}}
    assert [r["setting"] for r in table["rows"]] == ["b", "a"] and table["rows"][1]["ratios"] == {}
    text = compare.render({"bootstrap": table})
    assert "| 1 | b | OpenFHE (b) | 18.50 (18.00-19.00) | 0.89 (0.89-0.89) |" in text
    assert "| 1 | a |" not in text
    assert "Not measured: OpenFHE (a), 1 thread(s): timed out after 1800 s." in text


def test_the_worker_protocol_answers_line_by_line_reports_errors_and_stops_on_quit(monkeypatch, capsys):
    import io

    import worker_protocol

    calls = []
    reply = worker_protocol.time_call(lambda: calls.append(1), {"repeat": 3, "clock": "cpu", "warmup": False})
    assert len(reply["samples"]) == 3 and len(calls) == 3
    worker_protocol.time_call(lambda: calls.append(1), {"repeat": 2})
    assert len(calls) == 6  # one warm-up call by default

    def handle(request):
        if request["cmd"] == "quit":
            return None
        return {"double": 2 * request["x"]}

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"cmd": "a", "x": 2}\n{"cmd": "a"}\n{"cmd": "quit"}\n{"x": 1}\n'))
    worker_protocol.serve(handle)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"double": 4}, {"error": "KeyError: 'x'"}]


def test_the_setup_request_carries_the_thread_count_and_a_worker_on_another_count_is_refused(monkeypatch):
    import library_worker

    assert compare.setup_request("ours", 4096, [30, 25, 25, 28], 25, [1], False, 2)["threads"] == 2
    assert compare.check_threads({"ok": True, "threads": 2}, 2) == {"ok": True, "threads": 2}
    assert "error" in compare.check_threads({"ok": True, "threads": 1}, 2)
    assert compare.check_threads({"ok": True}, 2) == {"ok": True}  # TenSEAL / OpenFHE do not report one
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    assert library_worker.requested_threads({}) == 2  # no "threads": the worker's own count, never 1
    assert library_worker.requested_threads({"threads": 1}) == 1


def test_thread_rows_pair_each_round_s_one_and_two_thread_times():
    per_round = {"ours@1": [20.0, 22.0, 21.0], "ours@2": [10.0, 11.0, 14.0],
                 "openfhe_b@1": [30.0, 30.0, 30.0], "openfhe_b@2": [20.0, 15.0, 20.0]}
    row = compare.threads_row(16384, "multiply", per_round, [1, 2])
    assert row["libraries"]["ours"]["speedup"]["values"] == [2.0, 2.0, 1.5]  # 20/10, 22/11, 21/14: per round
    assert row["libraries"]["openfhe_b"]["speedup"]["median"] == 1.5
    assert row["ratios"]["openfhe_b"]["values"] == [0.5, 11 / 15, 0.7]  # ours / peer at 2 threads, per round
    table = compare.render_threads({"rows": [row], "threads": [1, 2]})
    assert "speed-up 1 -> 2" in table and "| 2^14 | multiply + relinearize + rescale | ours |" in table
    assert compare.label("ours@2") == "ours, 2 thr" and compare.label("openfhe_b") == "OpenFHE (b)"


# -- ours at its own fast key-switching layout (setting (b)) -------------------------------------------------------
def test_openfhe_b_is_divided_by_ours_fast_where_it_ran_and_the_tables_say_so():
    r = row([10.0, 10.0, 10.0], ours_fast=[5.0, 5.0, 5.0], tenseal=[20.0, 20.0, 20.0], openfhe_b=[10.0, 10.0, 10.0])
    assert r["bases"] == {"tenseal": "ours", "openfhe_b": "ours_fast"}
    assert r["ratios"]["openfhe_b"]["median"] == 0.5 and r["ratios"]["tenseal"]["median"] == 0.5
    assert "ours_fast" not in r["ratios"]  # ours is never its own peer
    text = compare.render_timing({"rows": [r]}, compare.SETTING_COLUMNS["b"])
    header = text.splitlines()[0]
    assert "ours (fast) ms" in header and "ours (fast)/OpenFHE (b)" in header and "ours/TenSEAL" in header
    assert "ours/ours (fast)" not in header
    without = row([10.0, 10.0, 10.0], openfhe_b=[10.0, 10.0, 10.0])  # an older run: no fast column
    assert without["bases"] == {"openfhe_b": "ours"} and without["ratios"]["openfhe_b"]["median"] == 1.0
    flagged = row([10.0, 10.0, 10.0], ours_fast=[5.0, 9.0, 12.0], openfhe_b=[10.0, 10.0, 10.0])
    assert any("ours (fast) / OpenFHE (b)" in m for m in compare.check({"core": {"rows": [flagged]}}))


def test_the_fast_worker_is_our_worker_asked_for_the_fast_layout():
    argv, _ = compare.worker_command("ours_fast", 1)
    assert argv == [sys.executable, str(REPO / "benchmarks" / "library_worker.py"), "ours"]
    assert compare.setup_request("ours_fast", 4096, [30, 25, 25, 28], 25, [1], False)["key_switching"] == "fast"
    assert "key_switching" not in compare.setup_request("ours", 4096, [30, 25, 25, 28], 25, [1], False)


def test_thread_rows_take_openfhe_b_against_ours_fast():
    per_round = {"ours@1": [20.0, 20.0], "ours@2": [10.0, 10.0], "ours_fast@1": [12.0, 12.0],
                 "ours_fast@2": [6.0, 6.0], "openfhe_b@1": [24.0, 24.0], "openfhe_b@2": [12.0, 12.0],
                 "openfhe_a@1": [40.0, 40.0], "openfhe_a@2": [20.0, 20.0]}
    row = compare.threads_row(32768, "rotate", per_round, [1, 2])
    assert row["ratios"]["openfhe_b"]["median"] == 0.5 and row["ratios"]["openfhe_a"]["median"] == 0.5
    assert row["bases"] == {"openfhe_b": "ours_fast", "openfhe_a": "ours"}
    assert row["libraries"]["ours_fast"]["speedup"]["median"] == 2.0
    table = compare.render_threads({"rows": [row], "threads": [1, 2]})
    assert "0.500 (0.500-0.500) (ours (fast))" in table
