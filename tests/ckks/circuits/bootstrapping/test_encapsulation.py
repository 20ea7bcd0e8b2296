"""Sparse-secret encapsulation (Bossuat, Troncoso-Pastoriza and Hubaux, ACNS 2022) and the arcsine correction.

A dense (uniform ternary) main secret, an ephemeral sparse secret of weight h' around ModRaise only; teaching
rings (N = 2^10, insecure) keep the tests fast.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ckks
from ckks.circuits.bootstrapping import BootstrapConfig, EvalModConfig, bootstrapping_parameters, max_error_bits, preset
from ckks.circuits.bootstrapping.eval_mod import approximation_error, eval_mod_plain
from ckks.circuits.bootstrapping.mod_raise import EncapsulationKeys, mod_raise, switch_secret
from ckks.container import open_blob, read_header, seal
from ckks.errors import (
    ContextMismatchError,
    InputError,
    InputTypeError,
    InsecureWarning,
    KeyMissingError,
    ParameterError,
    SerializationError,
)
from ckks.scheme.keys import KeyGenerator

N = 1024
EPHEMERAL = 12  # |I| <= (h' + 1) / 2 = 6.5 < K = 8 of the teaching EvalMod: no failure at all


def _context(**options) -> ckks.Context:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        return ckks.Context.for_bootstrapping("teaching", poly_degree=N, hamming_weight=None,
                                              ephemeral_hamming_weight=EPHEMERAL, **options)


@pytest.fixture(scope="module")
def ctx() -> ckks.Context:
    c = _context()
    c.generate_bootstrapping_keys(progress=False)
    return c


def _level0(ctx: ckks.Context, values) -> ckks.CKKSVector:
    v = ctx.encrypt(values)
    return ckks.CKKSVector(ctx, ctx.evaluator.mod_switch_to(v.ciphertext, 0), v.size, v.is_complex, zero_tail=True)


def test_dense_main_secret_and_two_small_keys(ctx):
    b = ctx.bootstrapper
    assert ctx.params.hamming_weight is None
    assert np.count_nonzero(ctx.secret_key.coefficients) > N // 2  # uniform ternary: about 2N/3 non-zero
    keys = b.encapsulation_keys
    assert keys.to_sparse.level == 0 and keys.from_sparse.level == ctx.params.max_level
    assert keys.memory() == EncapsulationKeys.memory_estimate(ctx.params)
    assert b.key_memory() == b.galois_keys.memory() + keys.memory() == b.key_memory_estimate()
    assert b.summary()["encapsulation_keys"] == 2


def test_switch_to_the_sparse_secret_and_back_is_exact_up_to_keyswitch_noise(ctx):
    rng = np.random.default_rng(3)
    z = rng.uniform(-1, 1, N // 2)
    ct = _level0(ctx, z).ciphertext
    switcher = ctx.evaluator.key_switcher
    keys = ctx.bootstrapper.encapsulation_keys
    # the key under the sparse secret lives over q_0 * p only: the smallest modulus that switches level 0
    aux = keys.to_sparse.params
    assert len(aux.all_moduli) == 2 and aux.data_moduli[0] == ct.params.data_moduli[0]
    assert keys.to_sparse.data.shape == (1, 2, 2, N)
    sparse = switch_secret(ct, keys.to_sparse, keys.to_sparse_switcher)
    assert not np.array_equal(sparse.data, ct.data)
    assert max_error_bits(z, ctx.decrypt(ckks.CKKSVector(ctx, sparse, N // 2))) < 2  # not under s any more
    back = switch_secret(sparse, ctx.bootstrapper.encapsulation_keys.from_sparse, switcher)
    before = ctx.decrypt(ckks.CKKSVector(ctx, ct, N // 2))
    after = ctx.decrypt(ckks.CKKSVector(ctx, back, N // 2))
    assert back.level == 0 and back.scale == ct.scale
    assert max_error_bits(before, after) >= 25  # two key switches: their noise only


def test_mod_raise_under_the_ephemeral_secret_bounds_the_overflow(ctx):
    """t = m + q_0 I with |I| <= (h' + 1) / 2 for the ephemeral weight h', whatever the dense main secret."""
    params = ctx.params
    ct = _level0(ctx, np.linspace(-1, 1, N // 2)).ciphertext
    raised = mod_raise(ct, params, ctx.evaluator, ctx.bootstrapper.encapsulation_keys)
    assert raised.level == params.max_level
    plain = ctx.decryptor.decrypt(raised)
    top = params.at_level(params.max_level)
    t = params.crt_decoder(params.max_level).to_float(top.to_coefficients(plain.data))
    overflow = np.rint(t / params.data_moduli[0])
    assert np.max(np.abs(overflow)) <= (EPHEMERAL + 1) / 2
    assert np.any(overflow != 0)
    # without encapsulation the dense secret's overflow is far beyond K = 8 (about sqrt(2N/3 / 12) ~ 7 per std)
    dense = mod_raise(ct, params, ctx.evaluator)
    t = params.crt_decoder(params.max_level).to_float(top.to_coefficients(ctx.decryptor.decrypt(dense).data))
    assert np.max(np.abs(np.rint(t / params.data_moduli[0]))) > ctx.bootstrapper.config.eval_mod.k_range


def test_bootstrap_with_encapsulation_keeps_the_promised_precision(ctx):
    rng = np.random.default_rng(4)
    z = rng.uniform(-1, 1, N // 2) + 1j * rng.uniform(-1, 1, N // 2)
    out = _level0(ctx, z).bootstrap()
    config = ctx.bootstrapper.config
    assert out.level == config.compute_levels
    assert max_error_bits(z, out.decrypt()) >= config.precision_bits


def test_missing_encapsulation_keys_are_named(ctx):
    b = ctx.bootstrapper
    keys = b.encapsulation_keys
    try:
        b.encapsulation_keys = None
        with pytest.raises(KeyMissingError, match=r"encapsulation.*generate_bootstrapping_keys\(\)"):
            _level0(ctx, [0.5]).bootstrap()
    finally:
        b.encapsulation_keys = keys


@pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")
def test_context_round_trip_carries_the_encapsulation_keys(ctx):
    blob = ctx.serialize()
    header = read_header(blob)
    assert header["bootstrapping"]["config"]["ephemeral_hamming_weight"] == EPHEMERAL
    assert header["bootstrapping"]["config"]["hamming_weight"] is None
    names = [a["name"] for a in header["arrays"]]
    assert "bootstrapping_to_sparse" in names and "bootstrapping_from_sparse" in names
    server = ckks.Context.load(blob)
    loaded = server.bootstrapper
    assert loaded is not ctx.bootstrapper and loaded.config == ctx.bootstrapper.config
    for part in ("to_sparse", "from_sparse"):
        assert np.array_equal(getattr(loaded.encapsulation_keys, part).data,
                              getattr(ctx.bootstrapper.encapsulation_keys, part).data)
    x = np.linspace(-1, 1, N // 2)
    out = _level0(server, x).bootstrap()
    assert max_error_bits(x, ctx.decrypt(ckks.CKKSVector.load(ctx, out.serialize()))) >= 18


@pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning")
def test_a_blob_without_its_encapsulation_keys_is_refused(ctx):
    header, payload = open_blob(ctx.serialize())
    arrays = header["arrays"]
    index = [a["name"] for a in arrays].index("bootstrapping_to_sparse")
    kept = [a for a in arrays if not a["name"].startswith("bootstrapping_")]
    removed = sum(ckks.container.packed_size(tuple(a["shape"]), a["bits"]) for a in arrays[index: index + 2])
    start = sum(ckks.container.packed_size(tuple(a["shape"]), a["bits"]) for a in arrays[:index])
    payload = bytes(payload)
    with pytest.raises(SerializationError):
        ckks.Context.load(seal(dict(header, arrays=kept), payload[:start] + payload[start + removed:]))


def test_config_round_trips_and_old_headers_load(ctx):
    config = ctx.bootstrapper.config
    params = ctx.params
    fields = ckks.container.Fields(config.to_header(), "config")
    assert BootstrapConfig.from_fields(fields, params) == config
    # a header written before encapsulation (no ephemeral weight, no arcsine degree) loads as before
    teaching = preset("teaching", poly_degree=N)
    old = teaching.to_header()
    assert "ephemeral_hamming_weight" not in old and "arcsine_degree" not in old["eval_mod"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        old_params = bootstrapping_parameters(teaching)
    loaded = BootstrapConfig.from_fields(ckks.container.Fields(old, "config"), old_params)
    assert loaded == teaching and loaded.ephemeral_hamming_weight is None and loaded.eval_mod.arcsine_degree == 0
    with pytest.raises(SerializationError, match="ephemeral_hamming_weight"):
        BootstrapConfig.from_fields(ckks.container.Fields(dict(config.to_header(), ephemeral_hamming_weight=0),
                                                          "config"), params)
    with pytest.raises(SerializationError, match="arcsine_degree"):
        header = config.to_header()
        BootstrapConfig.from_fields(ckks.container.Fields(
            dict(header, eval_mod=dict(header["eval_mod"], arcsine_degree=99)), "config"), params)


def test_bad_encapsulation_inputs_are_refused(ctx):
    for bad in (0, preset("teaching").poly_degree + 1, True, 2.0):
        with pytest.raises(ParameterError, match="ephemeral_hamming_weight"):
            preset("teaching", ephemeral_hamming_weight=bad)
    with pytest.raises(ParameterError, match="hamming_weight"):
        preset("teaching", hamming_weight=0)
    keygen = KeyGenerator(ctx.params, secret_key=ctx.secret_key, prng=ctx.prng)
    with pytest.raises(InputError, match="hamming_weight"):
        EncapsulationKeys.generate(keygen, 0)
    with pytest.raises(InputTypeError, match="KeyGenerator"):
        EncapsulationKeys.generate(ctx.secret_key, EPHEMERAL)
    other = _context(compute_levels=2)
    ct = _level0(other, [0.5]).ciphertext
    with pytest.raises(ContextMismatchError):
        switch_secret(ct, ctx.bootstrapper.encapsulation_keys.to_sparse, other.evaluator.key_switcher)


def test_arcsine_correction_removes_the_sine_error():
    plain = EvalModConfig(16, 63, 2)
    corrected = EvalModConfig(16, 63, 2, 3)
    assert corrected.levels == plain.levels + 2
    ratio = 2.0**9
    assert approximation_error(corrected, ratio) * 16 < approximation_error(plain, ratio)
    y = np.array([3 + 1 / ratio, -5 - 0.5 / ratio])
    assert np.allclose(eval_mod_plain(y, corrected) / (2 * math.pi), [1 / ratio, -0.5 / ratio], rtol=1e-6, atol=0)
    for bad in (2, 1, -3, 17, True):
        with pytest.raises(InputError, match="arcsine_degree"):
            EvalModConfig(16, 63, 2, bad)


def test_arcsine_bootstrap_with_a_small_message_ratio():
    """q_0 / Delta = 2^10 with the arcsine: without it the sine alone would give about 2 log2(2^10 / 2 pi) ~ 15 bits."""
    c = _context(eval_mod=EvalModConfig(8, 31, 3, 3), scale_bits=48)
    c.generate_bootstrapping_keys(progress=False)
    config = c.bootstrapper.config
    assert config.message_ratio_bits == 10
    header = config.to_header()
    assert header["eval_mod"]["arcsine_degree"] == 3
    assert BootstrapConfig.from_fields(ckks.container.Fields(header, "config"), c.params) == config
    x = np.random.default_rng(6).uniform(-1, 1, N // 2)
    assert max_error_bits(x, _level0(c, x).bootstrap().decrypt()) >= 20


def test_a_small_q0_lowers_the_first_coeffs_to_slots_scales_instead_of_failing():
    """With q_0 of 50 bits the first CoeffsToSlots level's diagonals would need a plaintext scale q_L q_(L-1) / q_0
    whose integers pass 2^62 (the encoding refuses them): that level lands on a lower scale, the next ones
    absorb the difference, and the bootstrap keeps its precision."""
    from ckks.circuits.bootstrapping.dft import MAX_DIAGONAL_INTEGER, max_coefficient

    c = _context(eval_mod=EvalModConfig(8, 31, 3, 3), q0_bits=50, scale_bits=40)
    c.generate_bootstrapping_keys(progress=False)
    b, p = c.bootstrapper, c.params
    top = p.max_level
    needed = max_coefficient(b.cts[0], c.encoder) * p.data_moduli[top] * p.data_moduli[top - 1] / p.data_moduli[0]
    assert needed > 2 * MAX_DIAGONAL_INTEGER  # the next prime as the first level's target would not fit
    x = np.random.default_rng(8).uniform(-1, 1, N // 2)
    assert max_error_bits(x, _level0(c, x).bootstrap().decrypt()) >= 20
