"""Build the lecture slides: Markdown decks under ``docs/course/slides/`` -> reveal.js HTML.

Each deck is a Markdown file that jupytext reads as a notebook (its ``md`` format, markdown
cells split at headings, fenced ``python`` blocks as code cells); every ``#`` or ``##`` heading
starts a new slide, everything up to the next such heading stays on that slide.
``jupyter nbconvert``'s reveal.js exporter (``nbconvert.SlidesExporter``) turns the notebook into
one HTML file: local images are embedded as data URIs; reveal.js, MathJax, require.js, jQuery and
mermaid come from nbconvert's CDN addresses or, with ``--node-modules``, from an npm folder next
to the decks, to lecture offline (the versions nbconvert's template is written for:
``npm install reveal.js@4.0.2 mathjax@2.7.7 requirejs@2.1.10 jquery@2 mermaid@11.10.0``).  Code
is shown, not run: the same code runs in the tutorials, which the test suite executes.

Usage::

    python tools/build_slides.py --out build/slides                 # every deck
    python tools/build_slides.py --out build/slides docs/course/slides/unit-01-encoding-ring.md
    python tools/build_slides.py --out build/slides --node-modules node_modules   # offline copies

``tests/docs/test_slides.py`` builds every deck into a temporary folder and checks the output.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS_DIR = REPO / "docs"
#: Where the decks live (every ``*.md`` here is a deck).
SLIDES_DIR = DOCS_DIR / "course" / "slides"
#: The reveal.js theme (one that loads nothing from outside reveal.js).
THEME = "white"
#: A line that starts a slide: a level-1 or level-2 Markdown heading.
SLIDE_HEADING = re.compile(r"^#{1,2} \S")
_FENCE = re.compile(r"^(```|~~~)")
#: A Markdown image with a relative path: ``![alt](path)``.
IMAGE = re.compile(r"!\[([^\]]*)\]\((?![a-z]+:)([^)\s]+)\)")


class SlidesError(Exception):
    """A deck that cannot be built (missing file, no slide, nbconvert missing)."""


def slide_titles(markdown: str) -> list[str]:
    """The titles of a deck's slides: its ``#``/``##`` headings outside fenced code blocks.

    Args:
        markdown: the deck's source.

    Returns:
        One title a slide, in order.
    """
    titles, fenced = [], False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and SLIDE_HEADING.match(line):
            titles.append(line.lstrip("#").strip())
    return titles


def _rebase(found: re.Match, deck_dir: Path, base: Path) -> str:
    target = (deck_dir / found.group(2)).resolve()
    if not target.is_relative_to(base):
        return found.group(0)
    return f"![{found.group(1)}]({target.relative_to(base).as_posix()})"


def deck_notebook(path: Path):
    """Read a deck as a notebook whose cells carry reveal.js slide metadata.

    A cell that begins with a ``#``/``##`` heading gets ``slide_type: slide``; every other cell
    ``-`` (same slide as the cell before).

    Args:
        path: the deck's Markdown file.

    Returns:
        The ``nbformat.NotebookNode``.

    Raises:
        SlidesError: the file is missing, or has no heading (so no slide).
    """
    import jupytext

    if not path.is_file():
        raise SlidesError(f"no deck at {path}: decks are Markdown files under {SLIDES_DIR}")
    text = path.read_text(encoding="utf-8")
    if not slide_titles(text):
        raise SlidesError(f"{path} has no '#' or '##' heading: every slide starts with one")
    notebook = jupytext.reads(text, fmt={"extension": ".md", "format_name": "markdown", "split_at_heading": True})
    for cell in notebook.cells:
        first = cell.source.lstrip("\n").splitlines()[0] if cell.source.strip() else ""
        starts = cell.cell_type == "markdown" and bool(SLIDE_HEADING.match(first))
        cell.metadata["slideshow"] = {"slide_type": "slide" if starts else "-"}
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def local_assets(node_modules: str) -> dict[str, str]:
    """The exporter settings that load every script from an npm folder instead of a CDN.

    Args:
        node_modules: the folder, as the HTML files will reach it (relative to them, or a URL),
            holding ``npm install reveal.js@4.0.2 mathjax@2.7.7 requirejs@2.1.10 jquery@2
            mermaid@11.10.0`` (later majors of reveal.js and mermaid fail to start in this template).

    Returns:
        ``nbconvert.SlidesExporter`` trait names and values.
    """
    base = node_modules.rstrip("/")
    if not re.match(r"^([a-z]+:|/|\./|\.\./)", base):
        base = f"./{base}"  # an ES module import (mermaid) needs an explicit relative path
    return {
        "reveal_url_prefix": f"{base}/reveal.js",
        "mathjax_url": f"{base}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        "require_js_url": f"{base}/requirejs/require.js",
        "jquery_url": f"{base}/jquery/dist/jquery.min.js",
        "mermaid_js_url": f"{base}/mermaid/dist/mermaid.esm.min.mjs",
    }


def build_deck(path: Path, out_dir: Path, assets: dict[str, str] | None = None) -> Path:
    """Build one deck into ``out_dir/<deck name>.slides.html``.

    Args:
        path: the deck's Markdown file.
        out_dir: the output folder (made if missing).
        assets: exporter settings for where the scripts come from (`local_assets`); default:
            nbconvert's CDN addresses.

    Returns:
        The HTML file written.

    Raises:
        SlidesError: the deck cannot be read (see `deck_notebook`).
    """
    from nbconvert import SlidesExporter

    notebook = deck_notebook(path)
    # reveal.js's "white" theme takes its font from reveal.js itself ("simple" asks Google Fonts).
    exporter = SlidesExporter(embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True,
                              reveal_theme=THEME, **(assets or {}))
    # nbconvert embeds only images under its base folder: take docs/ as the base (decks show the
    # tutorials' figures) and rewrite each image path, written relative to the deck, against it.
    base = DOCS_DIR if path.resolve().is_relative_to(DOCS_DIR) else path.resolve().parent
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = IMAGE.sub(lambda found: _rebase(found, path.resolve().parent, base), cell.source)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"path": str(base)}})
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def decks() -> list[Path]:
    """Every deck under ``docs/course/slides/``, by file name."""
    return sorted(SLIDES_DIR.glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    """Command line: build the decks given (default: all) into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("decks", nargs="*", type=Path, help="deck files (default: every deck)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "slides", help="output folder")
    parser.add_argument("--node-modules", help="load reveal.js, MathJax, require.js, jQuery and mermaid from this "
                        "npm folder (relative to the HTML files) instead of a CDN")
    args = parser.parse_args(argv)
    paths = args.decks or decks()
    assets = local_assets(args.node_modules) if args.node_modules else None
    try:
        for number, path in enumerate(paths, 1):
            target = build_deck(path, args.out, assets)
            count = len(slide_titles(path.read_text(encoding="utf-8")))
            print(f"[{number}/{len(paths)}] {path.name}: {count} slides -> {target}")
    except SlidesError as error:
        print(f"build_slides: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
