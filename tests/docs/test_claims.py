"""Numbers the documentation states are the numbers in the code: assignments, numbered tutorials, and how the
assignments split by topic.

A claim such as "seven classroom assignments" in ``docs/index.md`` went stale when five more were added; these
tests read every page that counts something countable (``README.md``, ``docs/index.md``,
``docs/teachers.md``, ``docs/course.md``, ``docs/tutorials/index.md``) and compare each count with the
repository: an assignment is a folder of ``tutorials/assignments/`` with an autograder, a numbered tutorial
is ``tutorials/NN_*.py`` (rendered as ``docs/tutorials/NN_*.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip
NUMBER = r"(\d+|" + "|".join(WORDS) + r")"
PAGES = ["README.md", "docs/index.md", "docs/teachers.md", "docs/course.md", "docs/tutorials/index.md"]


def number(text: str) -> int:
    return int(text) if text.isdigit() else WORDS[text.lower()]


def page(name: str) -> str:
    return (REPO / name).read_text(encoding="utf-8")


def assignments() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "tutorials" / "assignments").glob("*/test_autograder.py"))


def numbered_tutorials() -> list[str]:
    return sorted(p.stem for p in (REPO / "tutorials").glob("[0-9][0-9]_*.py"))


def claims(pattern: str) -> list[tuple[str, int, str]]:
    """(page, stated number, matched text) for every match of ``pattern`` (its first group: the number)."""
    found = []
    for name in PAGES:
        for m in re.finditer(pattern, page(name), flags=re.IGNORECASE):
            found.append((name, number(m.group(1)), " ".join(m.group(0).split())))
    return found


def test_the_repository_has_what_is_counted():
    assert len(assignments()) >= 1 and len(numbered_tutorials()) >= 1
    rendered = sorted(p.stem for p in (REPO / "docs" / "tutorials").glob("[0-9][0-9]_*.md"))
    assert rendered == numbered_tutorials(), "every numbered tutorial is rendered into docs/tutorials/"


def test_assignment_counts():
    total = len(assignments())
    found = claims(NUMBER + r"\s+(?:\[)?(?:classroom\s+)?assignments\b")
    assert {name for name, _, _ in found} >= {"README.md", "docs/index.md"}, found
    wrong = [(name, text) for name, n, text in found if n != total]
    assert not wrong, f"there are {total} assignments ({', '.join(assignments())}), the docs say: {wrong}"


def test_numbered_tutorial_counts():
    total = len(numbered_tutorials())
    found = claims(NUMBER + r"\s+numbered\s+(?:step-by-step\s+)?(?:\[)?tutorials\b")
    found += [(name, int(n), text) for name, n, text in claims(r"tutorials 01 \.\. (\d\d)")]
    assert {name for name, _, _ in found} >= {"README.md", "docs/index.md", "docs/teachers.md"}, found
    wrong = [(name, text) for name, n, text in found if n != total]
    assert not wrong, f"there are {total} numbered tutorials, the docs say: {wrong}"


def test_tutorial_index_lists_every_numbered_tutorial():
    rows = re.findall(r"^\| (\d+) \| \[[^\]]+\]\((\d\d_\w+)\.md\)", page("docs/tutorials/index.md"), flags=re.M)
    assert [stem for _, stem in rows] == numbered_tutorials()
    assert [int(n) for n, _ in rows] == list(range(1, len(rows) + 1))


def test_teachers_table_lists_every_assignment():
    section = page("docs/teachers.md").split("## The assignments", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
    assert sorted(rows) == assignments()


def test_assignments_by_topic_add_up():
    """teachers.md names the machine-learning and bootstrapping assignments and counts the rest as on the scheme;
    README.md says the same in two numbers."""
    teachers = " ".join(page("docs/teachers.md").split())
    m = re.search(NUMBER + r" on the scheme, " + NUMBER + r" on encrypted machine learning \(([^)]*)\) and "
                  + NUMBER + r" on bootstrapping \(([^)]*)\)", teachers)  # fmt: skip
    assert m, "docs/teachers.md: the sentence that splits the assignments by topic is gone or reworded"
    scheme, ml, boot = number(m.group(1)), number(m.group(2)), number(m.group(4))
    ml_names, boot_names = re.findall(r"`(\w+)`", m.group(3)), re.findall(r"`(\w+)`", m.group(5))
    assert len(ml_names) == ml and len(boot_names) == boot
    assert set(ml_names + boot_names) <= set(assignments())
    assert scheme + ml + boot == len(assignments())
    readme = " ".join(page("README.md").split())
    r = re.search(NUMBER + r" on the scheme, " + NUMBER + r" on encrypted ML and bootstrapping", readme)
    assert r and (number(r.group(1)), number(r.group(2))) == (scheme, ml + boot)


@pytest.mark.parametrize("name", PAGES)
def test_pages_exist(name):
    assert (REPO / name).is_file()


def test_benchmark_figures_are_the_stored_data():
    """The benchmark figures of README.md and docs/benchmarks.md (headline ratios, tables, load) are exactly what
    tools/benchmark_page.py writes from docs/benchmarks/data.json: no hand-edited or stale number."""
    import json
    import sys

    sys.path.insert(0, str(REPO / "tools"))
    import benchmark_page

    data = json.loads((REPO / "docs" / "benchmarks" / "data.json").read_text(encoding="utf-8"))
    assert "meta" in data["compare"], "data.json holds no run of benchmarks/compare.py"
    for path, text in benchmark_page.pages(data).items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} differs from its benchmark data: run python tools/benchmark_page.py")
    assert "Setting (b)" in page("README.md"), "the README's headline says which setting its numbers use"
