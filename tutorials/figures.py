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
