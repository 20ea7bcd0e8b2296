"""``ckks.progress``: tqdm bars, quiet when standard error is not a terminal (logs, CI, captured output)."""

from __future__ import annotations

import io
import sys

import pytest

from ckks.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(total: int, **kw) -> None:
    with progress_bar(total, "work", unit="step", **kw) as bar:
        for _ in range(total):
            bar.update()


def test_an_explicit_stream_gets_one_finished_line():
    stream = io.StringIO()
    run(3, stream=stream)
    text = stream.getvalue()
    assert "work" in text and "3/3" in text and text.count("\n") == 1


def test_disabled_bar_writes_nothing_anywhere(capsys):
    stream = io.StringIO()
    run(3, stream=stream, enabled=False)
    run(3, enabled=False)
    assert stream.getvalue() == "" and capsys.readouterr() == ("", "")


def test_default_stream_is_stderr_only_when_it_is_a_terminal(capsys, monkeypatch):
    run(3)
    assert capsys.readouterr() == ("", "")  # captured stderr is not a terminal: nothing
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run(3)
    monkeypatch.undo()
    assert "3/3" in terminal.getvalue()


@pytest.mark.parametrize("argument", ["progress=True", "progress=False"])
def test_keys_progress_argument_still_accepted(argument):
    """``progress=`` keeps working on key generation (a bool; the bar itself is tqdm's)."""
    import ckks

    ctx = ckks.Context(poly_degree=64, moduli_bits=[30, 20, 30], scale_bits=20, security=None)
    stream = io.StringIO()
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key)
    keys = keygen.create_galois_keys([1, 2, 3, 4], progress=argument.endswith("True"), stream=stream)
    assert len(keys) == 4
    assert ("4/4" in stream.getvalue()) == argument.endswith("True")
