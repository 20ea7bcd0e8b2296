"""tools/benchmark_page.py on a small fixture: the measured section and the headline it writes from compare.py's
data, with the setting of every number, the spreads, the unresolved ratios and the load."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "benchmarks"))
import benchmark_page  # noqa: E402
import compare  # noqa: E402


def core_row(n: int, threads: int, op: str, ours: list[float], **peers: list[float]) -> dict:
    return compare.make_row({"N": n, "threads": threads, "operation": op, "clock": "cpu"}, {"ours": ours, **peers})


@pytest.fixture
def fixture() -> dict:
    rows = []
    for n, scale in ((8192, 1.0), (16384, 4.0)):
        for op in benchmark_page.HEADLINE_OPS:
            rows.append(core_row(n, 1, op, [scale * 1.0, scale * 1.1, scale * 1.2], tenseal=[scale * 1.1] * 3,
                                 openfhe_a=[scale * 3.0] * 3, openfhe_b=[scale * 2.0, scale * 2.1, scale * 2.2]))
    setups = [{"N": 8192, "threads": 1, "libraries": {"openfhe_b": {"ring_dim": 8192, "security": "none (refused)"}}},
              {"N": 16384, "threads": 1, "libraries": {"openfhe_b": {"ring_dim": 16384,
                                                                     "security": "HEStd_128_classic"}}}]
    boot = compare.make_row({"threads": 1, "setting": "b", "operation": "bootstrap"},
                            {"ours": [16.0, 17.0], "openfhe_b": [18.0, 19.0]})
    boot["details"] = {"ours": {"poly_degree": 65536, "key_memory_mb": 10416.0, "precision_bits": 18.4},
                       "openfhe_b": {"key_memory_mb": 4280.0, "precision_bits": 16.2}}
    meta = {"date": "2026-12-06T13:50:00+00:00", "command": "python benchmarks/compare.py --rounds 5", "cores": 2,
            "load_start": [3.1, 2.0, 1.5], "load_end": [4.2, 3.0, 2.0], "rounds": 5, "repeat": 3}
    return {"meta": meta, "core": {"rows": rows, "setups": setups, "load_start": [3.1], "load_end": [4.0]},
            "bootstrap": {"rows": [boot]}}


def test_headline_uses_setting_b_and_says_so(fixture):
    text = benchmark_page.headline(fixture)
    assert text.startswith("Setting (b): every library at its own recommended setting")
    line = next(x for x in text.splitlines() if x.startswith("| multiply + relinearize + rescale, ours / OpenFHE (b)"))
    assert "0.52 (0.50-0.55)" in line  # per-round ratios 1.0/2.0, 1.1/2.1, 1.2/2.2, not setting (a)'s 0.37
    assert "N = 2^13 its own 128-bit check refuses that ring" in " ".join(text.split())
    assert "(n.s.)" in text  # ours / TenSEAL: 1.0-1.2 against 1.1
    assert "16.5 s against 18.5 s" in text and "10.2 GiB against 4.2 GiB" in text
    assert "shared 2-core machine" in text and "4.20 at the end" in text


def test_measured_section_labels_both_settings_and_reports_the_check(fixture):
    text = benchmark_page.measured(fixture)
    assert "setting (b): each library at its own recommended setting" in text
    assert "setting (a): like for like" in text
    assert "python benchmarks/compare.py --rounds 5 --json" in text
    flagged = compare.check(fixture)
    assert flagged and f"`--check` flags {len(flagged)} ratio(s)" in text


def test_pages_rewrite_only_between_the_markers(fixture, tmp_path, monkeypatch):
    page, readme = tmp_path / "benchmarks.md", tmp_path / "README.md"
    page.write_text("# B\n\nintro\n\n<!-- BEGIN HEADLINE -->\nold\n<!-- END HEADLINE -->\n\nkept\n\n"
                    "<!-- BEGIN MEASURED -->\nold tables\n<!-- END MEASURED -->\n\ntail\n")
    readme.write_text("# R\n\n<!-- BEGIN HEADLINE -->\n<!-- END HEADLINE -->\n\n## Development\n")
    monkeypatch.setattr(benchmark_page, "PAGE", page)
    monkeypatch.setattr(benchmark_page, "README", readme)
    out = benchmark_page.pages({"compare": fixture})
    assert out[page].startswith("# B\n\nintro\n\n<!-- BEGIN HEADLINE -->\n\nSetting (b)")
    assert "old" not in out[page] and "kept" in out[page] and out[page].endswith("<!-- END MEASURED -->\n\ntail\n")
    assert benchmark_page.headline(fixture) in out[readme] and out[readme].endswith("## Development\n")
    # data from before the per-process harness (no "meta") leaves the pages alone
    assert benchmark_page.pages({"compare": {"core": []}}) == {page: page.read_text(), readme: readme.read_text()}
    readme.write_text("# R without markers\n")
    with pytest.raises(SystemExit, match="README.md: the markers"):
        benchmark_page.pages({"compare": fixture})


def test_two_runs_merge_section_by_section_and_both_are_cited(fixture):
    other = {"meta": dict(fixture["meta"], command="python benchmarks/compare.py --sections sizes",
                          load_start=[0.4], load_end=[0.6]),
             "core": {"rows": []},
             "sizes": {"rows": [{"object": "public key", "ours": 100, "tenseal": 200, "openfhe": 400}]}}
    merged = benchmark_page.merge([fixture, other])
    assert merged["core"]["run"] == 0 and merged["sizes"]["run"] == 1 and merged["bootstrap"]["run"] == 0
    text = benchmark_page.measured(merged)
    assert "Run 1: Measured" in text and "Run 2: Measured" in text
    assert "--sections sizes --json /tmp/run2.json" in text and "| public key | 100 | 200 | 400 | 0.50 | 0.25 |" in text
    assert "(run 1)" in text  # under the core table
    assert benchmark_page.load_sentence(other["meta"]) not in benchmark_page.headline(merged)  # core came from run 1


def test_headline_adds_openfhe_on_our_ring_with_its_fewer_levels(fixture):
    row = compare.make_row({"threads": 1, "setting": "b, our N", "operation": "bootstrap"},
                           {"ours": [16.0, 17.0], "openfhe_bn": [12.0, 13.0]})
    row["details"] = {"ours": {"poly_degree": 65536, "key_memory_mb": 6641.0, "precision_bits": 18.2,
                               "levels_after": 6},
                      "openfhe_bn": {"key_memory_mb": 4260.0, "precision_bits": 17.2, "levels_after": 4}}
    fixture["bootstrap"]["rows"].append(row)
    text = " ".join(benchmark_page.headline(fixture).split())
    assert "On our ring, N = 2^16, OpenFHE's own 128-bit setup keeps 4 levels after the bootstrap (ours 6)" in text
    assert "12.5 s per bootstrap" in text and "keys 4.2 GiB" in text
    assert "| 1 | b, our N | OpenFHE (b, our N) |" in compare.render_bootstrap(fixture["bootstrap"])
    requests = compare.bootstrap_requests("128", None, {"slots": 32768, "compute_levels": 6, "poly_degree": 65536,
                                                         "cts": 4, "stc": 3}, [0.5], 2)
    assert requests["openfhe_bn"]["poly_degree"] == 65536 and requests["openfhe_bn"]["fit_levels"] is True
    assert requests["openfhe_b"]["poly_degree"] is None
    assert "openfhe_bn" not in compare.bootstrap_requests("teaching", 4096, requests["openfhe_a"] | {
        "compute_levels": 3, "cts": 3, "stc": 3}, [0.5], 1)


def test_a_merged_page_splits_back_into_its_runs_and_keep_adds_only_what_a_new_run_lacks(fixture):
    other = {"meta": dict(fixture["meta"], command="python benchmarks/compare.py --sections sizes"),
             "sizes": {"rows": [{"object": "public key", "ours": 100, "tenseal": 200, "openfhe": 400}]}}
    merged = benchmark_page.merge([fixture, other])
    runs = benchmark_page.split(merged)
    assert [sorted(k for k in run if k != "meta") for run in runs] == [["bootstrap", "core"], ["sizes"]]
    assert runs[1]["meta"]["command"].endswith("--sections sizes") and "run" not in runs[0]["core"]
    new = {"meta": dict(fixture["meta"], command="python benchmarks/compare.py --sections core threads"),
           "core": {"rows": [core_row(8192, 2, "multiply", [1.0, 1.0], tenseal=[2.0, 2.0])]},
           "threads": {"rows": [compare.threads_row(8192, "multiply", {"ours@1": [2.0], "ours@2": [1.0]}, [1, 2])],
                       "threads": [1, 2]}}
    again = benchmark_page.merge([new] + runs)
    assert again["core"]["run"] == 0 and len(again["core"]["rows"]) == 1  # the new core rows replace the old
    assert again["bootstrap"]["run"] == 1 and again["sizes"]["run"] == 2  # what the new run did not measure stays
    assert "### Threads: speed-up from one thread to more" in benchmark_page.measured(again)


def test_a_run_whose_sections_were_all_replaced_is_not_cited(fixture):
    newer = {"meta": dict(fixture["meta"], command="python benchmarks/compare.py --sections core bootstrap"),
             "core": fixture["core"], "bootstrap": fixture["bootstrap"]}
    merged = benchmark_page.merge([newer, fixture])
    assert len(merged["runs"]) == 1 and merged["core"]["run"] == 0 and merged["bootstrap"]["run"] == 0
