"""Showing a tutorial's figures wherever the tutorial runs: notebook, desktop, or a headless script."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt

_FILE_BACKENDS = ("agg", "pdf", "ps", "svg", "cairo", "pgf", "template")


def show(fig: plt.Figure, name: str) -> Path | None:
    """Show a figure: a notebook displays it by itself, a window opens when matplotlib has one;
    otherwise (a script on a headless machine) it is saved as a PNG next to the calling script.

    Args:
        fig: the figure.
        name: the PNG's file name, used when the figure is saved.

    Returns:
        The path of the saved PNG, or None when the figure was displayed instead.
    """
    backend = plt.get_backend().lower()
    if "ipykernel" in sys.modules or "inline" in backend:
        return None
    if backend not in _FILE_BACKENDS:
        plt.show()
        return None
    script = sys._getframe(1).f_globals.get("__file__")  # the tutorial that called us, if run as a file
    path = (Path(script).resolve().parent if script else Path.cwd()) / name
    fig.savefig(path, dpi=100)
    print(f"(figure saved as {path.name}, next to this script)")
    return path



def level_path(entries: list[tuple[str, int]]) -> tuple[list[float], list[int]]:
    """The level along a network, as a line, from ``nn.encrypted.placement.level_profile`` entries.

    An entry named after a segment ends it: the line falls from the level the segment starts at to the
    level it leaves, over x in [j, j + 1] for segment j.  "bootstrap before ...", "scale back before ..." and
    "switch down before ..." entries happen where the next segment starts (a vertical step at that x).  So
    the "before" and "after" profiles of one network share the x axis, and entry i is point i of the line.

    Args:
        entries: (name, level) pairs, the first the input.

    Returns:
        (xs, ys) to draw with ``ax.plot(xs, ys)``.
    """
    xs, ys, position = [], [], 0.0
    for index, (name, level) in enumerate(entries):
        if index and not name.startswith(("bootstrap before", "scale back before", "switch down before")):
            position += 1.0
        xs.append(position)
        ys.append(level)
    return xs, ys
