"""One version everywhere: pyproject.toml, ckks.__version__, nn.__version__, and a CHANGELOG section for it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import ckks
import nn

ROOT = Path(__file__).resolve().parents[1]
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")


def _project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_packages_report_pyprojects_version():
    version = _project_version()
    assert SEMVER.fullmatch(version), f"{version!r} is not MAJOR.MINOR.PATCH"
    assert ckks.__version__ == nn.__version__ == version


def test_the_changelog_has_a_section_for_the_version_and_keeps_the_format():
    text = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, flags=re.MULTILINE)
    names = [name for name, _ in sections]
    assert names[0] == "Unreleased", "Keep a Changelog: an Unreleased section on top"
    assert ckks.__version__ in names, f"CHANGELOG.md has no section for {ckks.__version__}"
    released = [tuple(map(int, name.split("."))) for name, date in sections[1:] if date]
    assert len(released) == len(sections) - 1, "every released section is dated"
    assert released == sorted(released, reverse=True), "newest first"
    headings = set(re.findall(r"^### (\w+)$", text, flags=re.MULTILINE))
    assert headings <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_the_docs_include_the_changelog():
    assert '--8<-- "CHANGELOG.md"' in (ROOT / "docs" / "changelog.md").read_text()
    assert "changelog.md" in (ROOT / "mkdocs.yml").read_text()
