"""Execute the tutorials and write them as Markdown pages, with outputs and plots, into docs/tutorials/.

    python tutorials/render.py                    # every tutorial
    python tutorials/render.py 01_encoding        # some of them (file stems or paths)
    python tutorials/render.py --out /tmp/pages   # somewhere else

Each tutorial is a jupytext "percent" script (``# %%`` code cells, ``# %% [markdown]`` text
cells).  The cells run one after the other in one namespace, as in a notebook; for each code
cell the page shows the code, what it printed (stdout and stderr, warnings included), and every
matplotlib figure it left open, saved as a PNG next to the page (``<stem>_files/``) and closed.
A cell that raises stops the rendering with the error: a broken tutorial never yields a page.

The pages are committed, so the site builds without running any tutorial;
``tests/docs/test_tutorials.py`` checks that every tutorial has a page whose code is the
tutorial's current code.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

TUTORIALS = Path(__file__).resolve().parent
REPO = TUTORIALS.parent
DEFAULT_OUT = REPO / "docs" / "tutorials"
RUN_NOTE = (
    '!!! tip "Run it yourself"\n'
    "    This page is generated from `tutorials/{name}` by `python tutorials/render.py`.\n"
    "    Run it as a script, `python tutorials/{name}`, or open it as a notebook:\n"
    "    `jupytext --to notebook tutorials/{name}`.\n"
)


def tutorial_files() -> list[Path]:
    """The tutorials: every ``tutorials/*.py`` written as jupytext percent cells."""
    return sorted(p for p in TUTORIALS.glob("*.py") if is_percent_script(p))


def is_percent_script(path: Path) -> bool:
    return any(line.startswith("# %%") for line in path.read_text(encoding="utf-8").splitlines())


def read_cells(path: Path) -> list[tuple[str, str]]:
    """The cells of a percent script as (kind, source), kind 'code' or 'markdown'.

    Uses jupytext's own reader, so a script that jupytext opens as a notebook renders the same.
    """
    import jupytext

    notebook = jupytext.read(path)
    return [(cell.cell_type, cell.source) for cell in notebook.cells if cell.cell_type in ("code", "markdown")]


def code_cells(path: Path) -> list[str]:
    """The source of every non-empty code cell (what a rendered page must show)."""
    return [source for kind, source in read_cells(path) if kind == "code" and source.strip()]


def _fence(text: str, info: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{info}\n{text.rstrip()}\n{fence}\n"


def render(path: Path, out_dir: Path) -> Path:
    """Run one tutorial and write ``out_dir/<stem>.md`` (and its figures); returns the page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stem = path.stem
    figure_dir = out_dir / f"{stem}_files"
    if figure_dir.exists():
        for old in figure_dir.glob("*.png"):
            old.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    namespace: dict = {"__name__": "__main__", "__file__": str(path)}
    parts: list[str] = []
    first_markdown = True
    figure_count = 0
    saved_path = list(sys.path)
    sys.path.insert(0, str(path.parent))
    try:
        for index, (kind, source) in enumerate(read_cells(path)):
            if kind == "markdown":
                parts.append(source.strip() + "\n")
                if first_markdown:
                    parts.append(RUN_NOTE.format(name=path.name))
                    first_markdown = False
                continue
            if not source.strip():
                continue
            parts.append(_fence(source, "python"))
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                try:
                    exec(compile(source, f"{path.name} [cell {index}]", "exec"), namespace)  # noqa: S102
                except Exception:
                    sys.__stderr__.write(buffer.getvalue())
                    traceback.print_exc(file=sys.__stderr__)
                    raise RuntimeError(f"{path.name}: cell {index} failed; no page written") from None
            output = buffer.getvalue()
            if output.strip():
                parts.append(_fence(output, 'text title="Output"'))
            for number in plt.get_fignums():
                figure = plt.figure(number)
                figure_dir.mkdir(parents=True, exist_ok=True)
                figure_count += 1
                name = f"figure_{figure_count}.png"
                figure.savefig(figure_dir / name, dpi=100, metadata={"Software": None})
                plt.close(figure)
                parts.append(f"![Figure {figure_count} of {stem}]({stem}_files/{name})\n")
    finally:
        sys.path[:] = saved_path
        plt.close("all")
    page = out_dir / f"{stem}.md"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page


def _resolve(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix == ".py" and candidate.exists():
        return candidate.resolve()
    path = TUTORIALS / (candidate.stem + ".py")
    if not path.exists():
        raise SystemExit(f"no tutorial {name!r}; the tutorials are: {', '.join(p.stem for p in tutorial_files())}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tutorials", nargs="*", help="tutorial file stems or paths (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: docs/tutorials)")
    args = parser.parse_args(argv)
    paths = [_resolve(name) for name in args.tutorials] if args.tutorials else tutorial_files()
    if len(paths) > 1:  # one process per tutorial: warning filters and globals stay separate
        for path in paths:
            subprocess.run([sys.executable, __file__, "--out", str(args.out), str(path)], check=True)
        return 0
    for path in paths:
        start = time.perf_counter()
        page = render(path, args.out)
        print(f"{path.name} -> {page} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
