"""Issue 26: ``python -m ckks.crossover`` finds where each parallel kernel starts to pay (no timing asserted)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ckks import crossover as tool
from ckks.errors import InputError, SerializationError
from ckks.ring.thresholds import is_power_of_two, load_table

SIZES = [1 << k for k in range(10, 18)]


def _timings(ratio_by_size: dict[int, float]):
    """Serial time proportional to the size, parallel = ratio * serial."""
    sizes = sorted(ratio_by_size)
    serial = [s * 1e-9 for s in sizes]
    return sizes, serial, [t * ratio_by_size[s] for s, t in zip(sizes, serial)]


def test_the_crossover_is_the_first_power_of_two_from_which_parallel_wins():
    ratios = {s: (1.6 if s < 1 << 13 else 0.6) for s in SIZES}
    assert tool.crossover(*_timings(ratios)) == 1 << 13


def test_a_kernel_that_never_pays_gets_a_threshold_above_every_measured_size():
    assert tool.crossover(*_timings({s: 1.02 for s in SIZES})) == 1 << 18


def test_a_kernel_that_always_pays_starts_at_the_smallest_measured_size():
    assert tool.crossover(*_timings({s: 0.5 for s in SIZES})) == 1 << 10
    assert tool.crossover([3 << 10, 1 << 13], [1.0, 2.0], [0.5, 1.0]) == 1 << 11  # not below the measurements


def test_the_margin_and_a_late_loss_count():
    ratios = {s: (1.3 if s < 1 << 12 else 0.95) for s in SIZES}
    assert tool.crossover(*_timings(ratios), margin=0.10) == 1 << 18  # 5% faster is within the margin
    assert tool.crossover(*_timings(ratios), margin=0.0) == 1 << 12
    ratios[1 << 15] = 1.1  # one loss between two wins: noise, unless asked to count it
    assert tool.crossover(*_timings(ratios), margin=0.0) == 1 << 12
    assert tool.crossover(*_timings(ratios), margin=0.0, ignore_isolated=False) == 1 << 16
    ratios[1 << 14] = 1.1  # two losses in a row above the crossover move the threshold above them
    assert tool.crossover(*_timings(ratios), margin=0.0) == 1 << 16
    ratios = {s: 0.5 for s in SIZES}
    ratios[SIZES[-1]] = 1.1  # a loss at the largest size always counts
    assert tool.crossover(*_timings(ratios)) == SIZES[-1] * 2
    ratios = {s: 0.5 for s in SIZES}
    ratios[SIZES[0]] = 1.1  # so does one at the smallest
    assert tool.crossover(*_timings(ratios)) == SIZES[1]


def test_sizes_that_are_not_powers_of_two_round_the_threshold_up():
    sizes = [1 << 12, 3 << 12, 1 << 14, 3 << 14]
    assert tool.crossover(sizes, [1.0] * 4, [1.2, 1.1, 0.5, 0.5]) == 1 << 14  # lost at 3 * 2^12
    assert tool.crossover(sizes, [1.0] * 4, [1.2, 0.5, 0.5, 0.5]) == 1 << 13


def test_layouts_of_equal_size_are_summed():
    # two layouts of 2^13 elements: one loses a little, one wins a lot: together parallel pays
    assert tool.crossover([1 << 12, 1 << 13, 1 << 13], [1.0, 1.0, 3.0], [2.0, 1.2, 1.5]) == 1 << 13
    assert tool.crossover([1 << 12, 1 << 13, 1 << 13], [1.0, 1.0, 1.0], [2.0, 1.2, 0.9]) == 1 << 14


@pytest.mark.parametrize("args, says", [
    (([], [], []), "at least one"),
    (([1024], [1.0, 2.0], [1.0]), "equally many"),
    (([0], [1.0], [1.0]), "positive integers"),
    (([1024.0], [1.0], [1.0]), "positive integers"),
    (([1024], [math.nan], [1.0]), "positive finite"),
    (([1024], [1.0], [-1.0]), "positive finite"),
])
def test_crossover_refuses_bad_timings(args, says):
    with pytest.raises(InputError, match=says):
        tool.crossover(*args)
    with pytest.raises(InputError, match="margin"):
        tool.crossover([1024], [1.0], [1.0], margin=1.0)


def test_table_of_groups_samples_by_kernel():
    samples = [tool.Sample("ckks.a.k", 10, 2, (2, 1024), 1.0, 2.0), tool.Sample("ckks.a.k", 12, 2, (2, 4096), 1.0, 0.5),
               tool.Sample("ckks.b.k", 10, 2, (2, 1024), 1.0, 0.5)]
    assert tool.table_of(samples) == {"ckks.a.k": 1 << 12, "ckks.b.k": 1 << 11}
    assert samples[1].size == 8192


# -- the kernels and their arguments ---------------------------------------------------------------------


def test_every_kernel_has_arguments_in_the_library_s_layout():
    """Each builder gives arguments that the kernel's serial twin accepts, on a small ring."""
    ring = tool._ring(10, 2)
    found = tool.kernels()
    assert len(found) >= 18
    for name, wrapper in found.items():
        sets = tool._arguments(ring, name)
        assert sets, name
        for args in sets:
            assert isinstance(args[0], np.ndarray) and args[0].size >= 1024, name
            wrapper.serial(*args)
    assert len(tool._arguments(ring, "ckks.scheme.keyswitch.key_inner_product")) == 2  # relinearize and rotate


def test_recording_restores_the_module_globals():
    from ckks.ring import level, modarith

    calls: list = []
    original = modarith.poly_add
    with tool._recording(original, calls):
        assert level.poly_add is not original and modarith.poly_add is not original
        level.poly_add(np.ones((2, 4), dtype=np.uint64), np.ones((2, 4), dtype=np.uint64),
                       np.array([97, 101], dtype=np.uint64), np.empty((2, 4), dtype=np.uint64))
    assert level.poly_add is original and modarith.poly_add is original
    assert len(calls) == 1 and calls[0][2].tolist() == [97, 101]


# -- the command line --------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, says", [
    (["--degrees", "9"], "log2 N"),
    (["--degrees", "17"], "log2 N"),
    (["--degrees", "ten"], "comma-separated integers"),
    (["--degrees", ""], "log2 N"),
    (["--limbs", "1"], "data primes"),
    (["--kernels", "poly_mull"], "no wrapped kernel is called 'poly_mull'"),
    (["--rounds", "0"], "--rounds"),
    (["--threads", "0"], "--threads"),
    (["--threads", "4096"], "--threads"),
    (["--margin", "1"], "--margin"),
    (["--quiet", "2"], "--quiet"),
    (["--patience", "-1"], "--patience"),
])
def test_bad_arguments_get_clear_errors(argv, says):
    with pytest.raises(InputError, match=says):
        tool.parse_args(argv)


def test_arguments_are_parsed():
    ns = tool.parse_args(["--degrees", "14,10,14", "--limbs", "4,2",
                          "--kernels", "poly_mul,ckks.ring.ntt.ntt_forward_rows"])
    assert ns.degrees == [10, 14] and ns.limbs == [2, 4]
    assert ns.kernels == ["ckks.ring.modarith.poly_mul", "ckks.ring.ntt.ntt_forward_rows"]
    assert tool.parse_args([]).kernels == list(tool.kernels())


def test_from_raw_writes_a_valid_table_without_timing(tmp_path, capsys):
    raw = tmp_path / "raw.json"
    rows = [{"kernel": "ckks.ring.modarith.poly_mul", "log_n": k, "limbs": 2, "shape": [2, 1 << k],
             "serial_s": 1e-6 * (1 << k), "parallel_s": 1e-6 * (1 << k) * (1.5 if k < 12 else 0.6)}
            for k in (10, 11, 12)]
    raw.write_text(json.dumps({"samples": rows}))
    out = tmp_path / "table.json"
    got = tool.main(["--from-raw", str(raw), "--output", str(out), "--kernels", "poly_mul"])
    assert got == {"ckks.ring.modarith.poly_mul": 1 << 13}
    table = load_table(out)
    assert table["ckks.ring.modarith.poly_mul"] == 1 << 13 and all(is_power_of_two(v) for v in table.values())
    assert "ckks.ring.modarith.poly_mul" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"samples": [{"kernel": 1}]}')
    with pytest.raises(SerializationError, match="--raw file"):
        tool.main(["--from-raw", str(bad), "--no-write"])
