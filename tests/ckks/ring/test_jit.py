"""Issue 11 item 15: a one-line note while numba compiles the kernels on a cold cache."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from ckks.ring import jit


def fresh(monkeypatch):
    monkeypatch.setattr(jit, "_noted", False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)


def test_cold_cache_prints_the_note_once(tmp_path, monkeypatch):
    fresh(monkeypatch)
    module = tmp_path / "ntt.py"
    module.write_text("x = 1\n")
    out = io.StringIO()
    assert not jit.kernels_cached(module)
    assert jit.note_cold_cache(out, module)
    assert out.getvalue() == jit.NOTE + "\n" and "15 s" in out.getvalue()
    assert not jit.note_cold_cache(out, module)  # once per process
    assert out.getvalue().count("compiling kernels") == 1


def test_a_current_index_means_warm_and_a_stale_one_cold(tmp_path, monkeypatch):
    fresh(monkeypatch)
    module = tmp_path / "ntt.py"
    module.write_text("x = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    index = cache / "ntt.forward-12.py311.nbi"
    index.write_bytes(b"")
    assert jit.kernels_cached(module)
    os.utime(index, (module.stat().st_mtime - 100, module.stat().st_mtime - 100))  # older than the source
    assert not jit.kernels_cached(module)
    elsewhere = tmp_path / "numba-cache" / "some" / "path"
    elsewhere.mkdir(parents=True)
    (elsewhere / "ntt.forward-12.py311.nbi").write_bytes(b"")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    assert jit.kernels_cached(module)


def test_nothing_printed_when_warm_or_without_jit(tmp_path, monkeypatch):
    fresh(monkeypatch)
    module = tmp_path / "ntt.py"
    module.write_text("x = 1\n")
    out = io.StringIO()
    monkeypatch.setenv("NUMBA_DISABLE_JIT", "1")
    assert not jit.note_cold_cache(out, module)
    assert out.getvalue() == ""


def test_importing_ckks_with_an_empty_cache_dir_says_so(tmp_path):
    """A fresh process whose numba cache is an empty folder prints the note on import (and only then)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    code = "from ckks.ring import jit; print(jit.kernels_cached())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    if result.stdout.strip() == "False":  # the __pycache__ next to ntt.py is cold too
        assert jit.NOTE in result.stderr
    else:
        assert jit.NOTE not in result.stderr
