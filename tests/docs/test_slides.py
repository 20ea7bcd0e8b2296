"""The lecture slides: every deck under docs/course/slides/ builds to a valid reveal.js file.

``tools/build_slides.py`` (jupytext + ``nbconvert.SlidesExporter``) builds every deck into a
temporary folder, as CI does on every run; the HTML is then parsed and checked:

* one top-level reveal.js ``<section>`` per ``#``/``##`` heading of the source, with the
  headings' titles in the same order (nothing lost or merged by the Markdown split);
* every image embedded as a PNG data URI, as many as the source has;
* every in-deck link (``#anchor``) names an element of the deck; no other local reference (it
  would be broken once the file is moved); scripts and stylesheets only from the exporter's
  asset addresses (a CDN by default; ``--node-modules`` replaces every one of them);
* the code blocks are valid Python, every repository file named in backticks exists, and the
  decks together cover weeks 1-12, every numbered tutorial and every assignment.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("build_slides", REPO / "tools" / "build_slides.py")
build_slides = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_slides)

DECKS = build_slides.decks()
#: Repository paths named in a deck's text, e.g. `tutorials/03_encryption_noise.py`.
REPO_PATH = re.compile(r"`((?:tutorials|docs|ckks|nn|tools|benchmarks|tests|examples)/[^`\s]*)`")


class Deck(HTMLParser):
    """The parts of an nbconvert reveal.js file the checks need."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.slides: list[str] = []  # the first heading's text of each top-level section
        self.images: list[str] = []
        self.links: list[str] = []  # <a href>
        self.assets: list[str] = []  # <script src>, <link href>
        self._depth = 0  # depth of <section> nesting inside div.slides
        self._in_slides = False
        self._heading: list[str] | None = None
        self._want_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "div" and "slides" in (attrs.get("class") or "").split():
            self._in_slides = True
        elif tag == "section" and self._in_slides:
            self._depth += 1
            if self._depth == 1:
                self.slides.append("")
                self._want_heading = True
        elif tag in ("h1", "h2") and self._want_heading:
            self._heading = []
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.assets.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "section" and self._in_slides:
            self._depth -= 1
        elif tag in ("h1", "h2") and self._heading is not None:
            self.slides[-1] = "".join(self._heading)
            self._heading, self._want_heading = None, False

    def handle_data(self, data):
        if self._heading is not None:
            self._heading.append(data)


def parse(html: str) -> Deck:
    deck = Deck()
    deck.feed(html)
    return deck


def _plain(title: str) -> str:
    """A title as text: no Markdown emphasis or code marks, no permalink sign, spaces collapsed."""
    return " ".join(re.sub(r"[`*_]|\\(?=[,;!])", "", title).replace("\u00b6", "").split())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[Path, Path]:
    out = tmp_path_factory.mktemp("slides")
    assert build_slides.main(["--out", str(out)]) == 0
    return {deck: out / f"{deck.stem}.slides.html" for deck in DECKS}


def test_there_are_decks_for_the_whole_course():
    assert len(DECKS) >= 6, "one deck per two-week unit"
    weeks = set()
    for deck in DECKS:
        title = build_slides.slide_titles(deck.read_text(encoding="utf-8"))[0]
        found = re.search(r"weeks? (\d+)(?:-(\d+))?", title)
        assert found, f"{deck.name}: the title slide names its weeks"
        weeks.update(range(int(found.group(1)), int(found.group(2) or found.group(1)) + 1))
    assert weeks == set(range(1, 13))


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_has_one_section_per_heading(built, deck):
    source = deck.read_text(encoding="utf-8")
    titles = build_slides.slide_titles(source)
    assert 6 <= len(titles) <= 25, f"{deck.name}: {len(titles)} slides"
    html = parse(built[deck].read_text(encoding="utf-8"))
    assert len(html.slides) == len(titles), f"{deck.name}: {len(html.slides)} sections for {len(titles)} headings"
    for want, got in zip(titles, html.slides):
        assert _plain(got) == _plain(want), f"{deck.name}: slide {want!r} came out as {got!r}"


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_has_no_broken_reference(built, deck):
    html = parse(built[deck].read_text(encoding="utf-8"))
    source = deck.read_text(encoding="utf-8")
    assert len(html.images) == source.count("!["), f"{deck.name}: an image was lost"
    for src in html.images:
        assert src.startswith("data:image/png;base64,"), f"{deck.name}: image {src[:80]!r} is not embedded"
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for href in html.links:
        if href.startswith("#"):
            # Browsers match the fragment as written, then percent-decoded.
            assert {href[1:], unquote(href[1:])} & html.ids, f"{deck.name}: link {href!r} names no element"
        else:
            assert href.startswith(("https://", "http://", "mailto:")), f"{deck.name}: local link {href!r}"
    exporter = build_slides_exporter()
    allowed = tuple(getattr(exporter, name) for name in build_slides.local_assets("x"))
    for asset in html.assets:
        assert asset.startswith(allowed), f"{deck.name}: unexpected script or stylesheet {asset!r}"


def build_slides_exporter():
    from nbconvert import SlidesExporter

    return SlidesExporter()


@pytest.mark.parametrize("deck", DECKS, ids=lambda p: p.stem)
def test_deck_code_and_file_names_are_real(deck):
    notebook = build_slides.deck_notebook(deck)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)  # a SyntaxError names the line
    for path in REPO_PATH.findall(deck.read_text(encoding="utf-8")):
        assert (REPO / path).exists(), f"{deck.name} names {path}, which does not exist"


def test_decks_cover_every_tutorial_and_assignment():
    text = " ".join(deck.read_text(encoding="utf-8") for deck in DECKS)
    numbered = sorted(int(p.name[:2]) for p in (REPO / "tutorials").glob("[0-9][0-9]_*.py"))
    mentioned = {int(n) for group in re.findall(r"tutorials? ((?:\d+(?:, | and )?)+)", text)
                 for n in re.findall(r"\d+", group)}
    assert set(numbered) <= mentioned, f"tutorials never mentioned: {sorted(set(numbered) - mentioned)}"
    assignments = [p.name for p in (REPO / "tutorials" / "assignments").iterdir() if (p / "README.md").is_file()]
    missing = [name for name in assignments if f"`{name}`" not in text]
    assert not missing, f"assignments never mentioned: {missing}"


def test_local_assets_replace_every_cdn_address(tmp_path):
    assets = build_slides.local_assets("node_modules")
    target = build_slides.build_deck(DECKS[0], tmp_path, assets)
    html = target.read_text(encoding="utf-8")
    assert "https://" not in " ".join(parse(html).assets)
    defaults = build_slides_exporter()
    hosts = {urlsplit(getattr(defaults, name)).netloc for name in assets}
    assert hosts and all(host not in html for host in hosts), f"a script still comes from one of {hosts}"
    for value in assets.values():
        assert value in html


def test_bad_decks_are_refused(tmp_path):
    no_heading = tmp_path / "empty.md"
    no_heading.write_text("just text\n\n```python\n# not a heading\n```\n", encoding="utf-8")
    with pytest.raises(build_slides.SlidesError, match="no '#' or '##' heading"):
        build_slides.build_deck(no_heading, tmp_path)
    with pytest.raises(build_slides.SlidesError, match="no deck at"):
        build_slides.deck_notebook(tmp_path / "missing.md")
    assert build_slides.main(["--out", str(tmp_path), str(tmp_path / "missing.md")]) == 2
    assert not list(tmp_path.glob("*.html"))


def test_headings_inside_code_are_not_slides():
    source = "# Title\n\n```python\n# a comment\n## another\n```\n\n## Second\n"
    assert build_slides.slide_titles(source) == ["Title", "Second"]
