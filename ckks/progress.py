"""Progress bars for long work (key generation, encrypted batches), from tqdm.

One rule everywhere: a bar asked for (``progress=True``) goes to standard
error only when standard error is a terminal (tqdm's ``disable=None``), so
logs, CI output and captured streams get no carriage-return clutter; a bar
given an explicit ``stream`` always writes there (the caller asked for it).
``progress=False`` shows nothing.  Layer 0: imports no other ``ckks`` module.
"""

from __future__ import annotations

from typing import TextIO

from tqdm import tqdm

__all__ = ["progress_bar"]


def progress_bar(total: int, desc: str, *, enabled: bool = True, stream: TextIO | None = None,
                 unit: str = "it") -> tqdm:  # fmt: skip
    """A tqdm bar of ``total`` steps labelled ``desc``; advance it with ``update()``, end it with ``close()``.

    Args:
        total: the number of steps.
        desc: the label in front of the bar.
        enabled: ``False`` makes a silent bar (the calls still work).
        stream: where to write; ``None``: standard error, and only if it is a terminal.
        unit: the name of one step (``"key"``, ``"stage"``...).

    Returns:
        The ``tqdm`` object (also a context manager).
    """
    disable = True if not enabled else (None if stream is None else False)
    return tqdm(total=total, desc=desc, file=stream, disable=disable, unit=unit, leave=True, mininterval=0.2,
                dynamic_ncols=True)
