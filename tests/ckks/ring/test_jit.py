"""Issue 11 item 15: a one-line note while numba compiles the kernels on a cold cache."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np

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
    assert out.getvalue() == jit.NOTE + "\n" and "ckks.warmup" in out.getvalue()
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


def test_the_warmup_workers_compile_without_the_note(tmp_path, monkeypatch):
    fresh(monkeypatch)
    module = tmp_path / "ntt.py"
    module.write_text("x = 1\n")
    out = io.StringIO()
    monkeypatch.setenv(jit.QUIET, "1")
    assert not jit.kernels_cached(module)
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


def test_every_parallel_kernel_uses_only_prange():
    """One set of numba parallel options (`PARALLEL`) for the kernels of the ring and of key switching."""
    from ckks.ring import modarith, ntt, rns
    from ckks.scheme import keyswitch

    kernels = [
        modarith.poly_add, modarith.poly_sub, modarith.poly_neg, modarith.poly_mul, modarith.poly_mul_add,
        modarith.poly_mul_scalar, modarith.poly_add_scalar, modarith.tensor_square_free, modarith.reduce_signed,
        ntt.ntt_forward_rows, ntt.ntt_inverse_rows, rns.fast_basis_convert, rns.subtract_and_scale,
        rns.divide_round, rns.crt_centred_float, keyswitch.key_inner_product, keyswitch.mod_up,
    ]
    for kernel in kernels:
        assert kernel.kernel.targetoptions["parallel"] is modarith.PARALLEL, kernel.__name__
        assert "parallel" not in kernel.serial.targetoptions
    options = modarith.PARALLEL  # unchanged by every compilation so far (numba empties a dict option)
    assert options.enabled and options.prange
    assert not any(getattr(options, name) for name in ("fusion", "comprehension", "reduction", "inplace_binop",
                                                       "setitem", "numpy", "stencil"))


# --- the cold start: serial twins rented until the parallel variant pays ---------------------------------------
class _Serial:
    """A stand-in serial twin: already compiled, counts its calls."""

    signatures = ["(int64,)"]

    def __init__(self):
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return args


def test_an_uncached_parallel_kernel_is_rented_until_its_serial_time_reaches_the_price(monkeypatch):
    monkeypatch.delenv(jit.COLD_START, raising=False)
    monkeypatch.setattr(jit, "compiled_or_cached", lambda kernel: False)
    rental, serial = jit.ParallelRental(kernel=object()), _Serial()
    assert rental.rent()
    monkeypatch.setattr(jit, "RENT_SECONDS", 0.05)
    while rental.renting:
        assert rental.run(serial, (1,)) == (1,)
    assert serial.calls >= 1 and rental.spent >= 0.05 and not rental.rent()


def test_a_call_that_compiles_the_serial_twin_is_not_counted_as_rent(monkeypatch):
    monkeypatch.delenv(jit.COLD_START, raising=False)
    monkeypatch.setattr(jit, "compiled_or_cached", lambda kernel: False)
    rental, serial = jit.ParallelRental(kernel=object()), _Serial()
    serial.signatures = []  # not compiled yet: this call compiles it
    monkeypatch.setattr(jit, "RENT_SECONDS", 0.0)
    rental.rent()
    rental.run(serial, (1,))
    assert rental.spent == 0.0 and rental.renting


def test_cached_kernels_and_cold_start_parallel_are_never_rented(monkeypatch):
    monkeypatch.setattr(jit, "compiled_or_cached", lambda kernel: True)
    assert not jit.ParallelRental(kernel=object()).rent()
    monkeypatch.setattr(jit, "compiled_or_cached", lambda kernel: False)
    monkeypatch.setenv(jit.COLD_START, "parallel")
    assert not jit.ParallelRental(kernel=object()).rent()


_CACHED = """
import os, sys
sys.path.insert(0, {folder!r})
import numpy as np
import kernels_for_rent as k
import numpy as np

from ckks.ring import jit
print(jit.compiled_or_cached(k.double), end=" ")
k.double(np.ones(4))
print(jit.compiled_or_cached(k.double))
"""


def test_compiled_or_cached_reads_numba_s_cache_index(tmp_path):
    """A new kernel: not cached, then compiled; in a second process its cache index counts as compiled."""
    (tmp_path / "kernels_for_rent.py").write_text(
        "from numba import njit\n\n@njit(cache=True)\ndef double(x):\n    return 2 * x\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    first = subprocess.run([sys.executable, "-c", _CACHED.format(folder=str(tmp_path))], env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["False", "True"]
    second = subprocess.run([sys.executable, "-c", _CACHED.format(folder=str(tmp_path))], env=env,
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["True", "True"]  # the index written by the first process


def test_the_wrapped_kernels_rent_their_serial_twins_on_a_cold_cache(monkeypatch):
    """serial_when_small runs the serial twin while renting, the parallel kernel once the rent is paid."""
    from ckks.ring import modarith

    monkeypatch.setattr(modarith, "_thread_count", lambda: 2)
    kernel = modarith.poly_add
    calls = []
    rental = kernel.rental
    monkeypatch.setattr(rental, "renting", True)
    monkeypatch.setattr(rental, "run", lambda serial, args: calls.append("serial") or serial(*args))
    a = np.ones((2, max(kernel.threshold // 2, 8)), dtype=np.uint64)  # at its measured threshold: parallel
    q = np.array([97, 101], dtype=np.uint64)
    out = kernel(a, a, q, np.empty_like(a))
    assert calls == ["serial"] and int(out[1, 7]) == 2
    monkeypatch.setattr(rental, "renting", False)
    out = kernel(a, a, q, np.empty_like(a))
    assert calls == ["serial"] and int(out[0, 3]) == 2  # the parallel kernel ran
