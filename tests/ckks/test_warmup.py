"""`python -m ckks.warmup`: the jobs compile (or load) the kernels in their own processes and report seconds."""

from __future__ import annotations

import os

import pytest

from ckks import warmup
from ckks.errors import InputError
from ckks.ring.jit import QUIET


def test_main_runs_a_job_in_a_process_and_reports_it(capsys):
    assert warmup.main(["--jobs", "small", "--processes", "1"]) == 0
    out = capsys.readouterr().out
    assert "small" in out and "ckks.warmup: 1 job(s)" in out
    assert QUIET not in os.environ  # only the workers were told to keep quiet


def test_background_jobs_finish_cleanly():
    processes = warmup.start(["small"])
    warmup.finish(processes, timeout=600)
    assert [p.exitcode for p in processes] == [0]
    assert QUIET not in os.environ


def test_every_job_is_listed_and_unknown_ones_are_refused():
    assert set(warmup.JOBS) == {"keyswitch", "ring", "small"}
    with pytest.raises(InputError, match="unknown warm-up job"):
        warmup.run(["nope"])
    with pytest.raises(InputError, match="the jobs are"):
        warmup.start(["ring", "gpu"])


def test_the_ring_job_compiles_the_parallel_additions():
    """Training's wider rings run the parallel variants of the additions: the warm-up covers them (issue 26)."""
    from ckks.ring import modarith

    warmup._wide_additions(2048)
    for kernel in (modarith.poly_add, modarith.poly_sub, modarith.poly_neg):
        assert kernel.kernel.signatures, kernel.__name__


def test_the_variant_that_a_measured_threshold_skipped_is_compiled_too(monkeypatch):
    """Issue 26: per-kernel thresholds decide which variant a job's calls reach; the warm-up compiles the other."""
    import types

    import ckks.crossover

    class Dispatcher:
        def __init__(self, signatures):
            self.signatures = list(signatures)

        def compile(self, signature):
            self.signatures.append(signature)

    wrapper = types.SimpleNamespace(kernel=Dispatcher([]), serial=Dispatcher(["(array(uint64, 2d, C),)"]))
    monkeypatch.setattr(ckks.crossover, "kernels", lambda: {"ckks.ring.modarith.poly_mul": wrapper})
    warmup._compile_skipped(parallel=True)
    assert wrapper.kernel.signatures == ["(array(uint64, 2d, C),)"]
    wrapper.kernel.signatures.append("(array(int64, 1d, C),)")
    warmup._compile_skipped(parallel=False)
    assert wrapper.serial.signatures == ["(array(uint64, 2d, C),)", "(array(int64, 1d, C),)"]
