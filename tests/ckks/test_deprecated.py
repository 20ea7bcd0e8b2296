"""The deprecation shims of 0.2.0 (issue 27, item 5): every name of 0.1.0 that moved or went away warns and works.

``OLD_NAMES`` is the public namespace of each 0.1.0 module that 0.2.0 moved (read from the
0.1.0 sources, ``git show 4546d26:ckks/<module>.py``): each name must still resolve, to the very
object that holds it now where it still exists.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import numpy as np
import pytest

import ckks
from ckks import deprecated
from ckks.errors import InputTypeError

OLD_NAMES = {
    "ckks.chebyshev": "ERROR_GRID sigmoid relu inverse ChebyshevFit fit fit_to_error",
    "ckks.ciphertext": "Plaintext Ciphertext check_same_context",
    "ckks.encoder": "Encoder",
    "ckks.encryption": "Encryptor Decryptor",
    "ckks.evaluator": "SCALE_RTOL scales_agree Evaluator",
    "ckks.flooding": "DEFAULT_STATISTICAL_SECURITY default_noise_bound flooding_sigma Flooding rounded_gaussian",
    "ckks.inspect": "precision_bits",
    "ckks.keys": "SecretKey PublicKey KeySwitchKey RelinKey KeyGenerator public_key_error require_key",
    "ckks.keyswitch": "MAX_DIGITS KeySwitcher key_inner_product",
    "ckks.linalg": "require_levels LinearTransform check_matrix vector_matrix_transform vector_matrix_product "
    "sigma_transform tau_transform transpose_transform matrix_product_steps transpose_steps matrix_product "
    "matrix_transpose pack_matrix rotation_steps",
    "ckks.modarith": "U64 MASK32 SHIFT32 ZERO ONE barrett_ratio shoup_precompute shoup_table shoup_per_limb mul_wide "
    "mul_high barrett_reduce_wide mul_mod mul_shoup_lazy mul_shoup PARALLEL_THRESHOLD serial_when_small poly_add "
    "poly_sub poly_neg poly_mul poly_mul_add poly_mul_scalar poly_add_scalar tensor_square_free reduce_signed "
    "set_threads",
    "ckks.ntt": "bit_reverse_permutation NTTTables ntt_tables forward_one inverse_one ntt_forward_rows "
    "ntt_inverse_rows",
    "ckks.params": "MIN_POLY_DEGREE MAX_POLY_DEGREE MAX_SIGMA max_modulus_bits Parameters",
    "ckks.poly": "to_ntt from_ntt uniform_ntt",
    "ckks.polyeval": "POWER CHEBYSHEV levels_for_degree power_depth PolyPlan plan_polynomial polyval chebyshev_affine "
    "chebyshev_levels chebval power",
    "ckks.primes": "MAX_PRIME_BITS MIN_PRIME_BITS is_prime primes_congruent_one coeff_modulus primitive_root_of_unity",
    "ckks.reference": "mul_mod negacyclic_product ntt intt crt_reconstruct centre basis_convert automorphism",
    "ckks.rns": "ratios_of product BasisConverter fast_basis_convert subtract_and_scale RNSDivider CRTDecoder "
    "crt_centred_float",
    "ckks.rotation": "PROGRESS_MIN_KEYS galois_element conjugation_element ntt_permutation apply_automorphism "
    "default_steps GaloisKeys create_galois_keys missing_key_message Rotator",
    "ckks.sampling": "SEED_BYTES DEFAULT_SIGMA TAIL_CUT_SIGMAS PRNG gaussian_table make_prng",
    "ckks.serialize": "MAGIC FORMAT_VERSION MAX_HEADER_BYTES MAX_MODULI MAX_GALOIS_KEYS dumps loads read_header",
}


def _fresh_import(name: str, monkeypatch):
    """Import an old module as a script that never imported it would, checking the warning it gives."""
    monkeypatch.delitem(sys.modules, name, raising=False)
    short = name.rpartition(".")[2]
    if short in vars(ckks):
        monkeypatch.delattr(ckks, short)
    with pytest.warns(DeprecationWarning, match=f"{name} is deprecated since 0.2.0 .*removed in 0.3.0") as record:
        module = importlib.import_module(name)
    assert all(w.filename == __file__ for w in record), "the warning must point at the importing line"
    return module


@pytest.mark.parametrize("name", sorted(OLD_NAMES))
def test_every_old_module_warns_and_still_has_its_names(name, monkeypatch):
    module = _fresh_import(name, monkeypatch)
    targets = [importlib.import_module(t) for t in deprecated.MOVED_MODULES[name]]
    for attr in OLD_NAMES[name].split():
        value = getattr(module, attr)
        homes = [t for t in targets if hasattr(t, attr)]
        if homes:
            assert value is getattr(homes[0], attr), f"{name}.{attr}"
        assert attr in dir(module)
    with pytest.raises(AttributeError, match="has no attribute"):
        getattr(module, "not_a_name")  # noqa: B009


def test_the_issue_names_warn_and_work(monkeypatch):
    """ckks.linalg (package attribute and from-import), ckks.create_galois_keys, the scale setter."""
    from ckks.circuits import linear_transform

    _fresh_import("ckks.linalg", monkeypatch)
    monkeypatch.delitem(sys.modules, "ckks.linalg")
    monkeypatch.delattr(ckks, "linalg")
    with pytest.warns(DeprecationWarning, match="ckks.circuits.linear_transform"):
        linalg = ckks.linalg
    assert linalg.vector_matrix_product is linear_transform.vector_matrix_product
    with pytest.raises(AttributeError):
        getattr(ckks, "not_a_name")  # noqa: B009


def test_create_galois_keys_shim(toy):
    ctx = toy()
    keygen = ckks.KeyGenerator(ctx.params, secret_key=ctx.secret_key)
    with pytest.warns(DeprecationWarning, match="keygen.create_galois_keys") as record:
        keys = ckks.create_galois_keys(keygen, [1, 2])
    assert record[0].filename == __file__
    assert keys.elements == keygen.create_galois_keys([1, 2]).elements
    ctx.galois_keys = keys
    v = ctx.encrypt([1.0, 2.0, 3.0])
    assert np.allclose(v.rotate(3).decrypt()[:1], [0.0], atol=1e-4)  # 3 = 1 + 2, composed
    with pytest.warns(DeprecationWarning), pytest.raises(InputTypeError):
        ckks.create_galois_keys("keygen")


def test_scale_setter_keeps_the_old_behaviour(toy):
    """0.1.0: ``ct.scale = s`` re-read the same residues at scale s (the values scale by old / new)."""
    ctx = toy()
    ct = ctx.encrypt([1.0, -2.0]).ciphertext
    data, bound = ct.data, ct.bound
    with pytest.warns(DeprecationWarning, match="with_scale") as record:
        ct.scale = ct.scale * 4
    assert record[0].filename == __file__
    assert ct.data is data and ct.scale == ctx.scale * 4 and ct.bound == bound / 4
    v = ckks.CKKSVector(ctx, ct, 2)
    assert np.allclose(v.decrypt(), [0.25, -0.5], atol=1e-6)
    assert ct.with_scale(ctx.scale).scale == ctx.scale  # the replacement
    with pytest.warns(DeprecationWarning), pytest.raises(ckks.errors.InputError):
        ct.scale = -1.0
    assert ct.scale == ctx.scale * 4  # unchanged by the refused assignment


def test_dumps_vector_context_and_poly_shims(toy, monkeypatch):
    ctx = toy()
    serialize = _fresh_import("ckks.serialize", monkeypatch)
    v = ctx.encrypt([1.0, 2.0])
    with pytest.warns(DeprecationWarning, match="obj.serialize"):
        blob = serialize.dumps(v)
    assert np.allclose(ckks.CKKSVector.load(ctx, blob).decrypt(), [1.0, 2.0], atol=1e-6)
    with pytest.warns(DeprecationWarning):
        private = serialize.loads(serialize.dumps(ctx, secret_key=True))
    assert private.is_private
    with pytest.warns(DeprecationWarning), pytest.raises(InputTypeError, match="cannot serialize"):
        serialize.dumps(object())
    with pytest.warns(DeprecationWarning, match="ckks.Context"):
        from ckks.vector import Context
    assert Context is ckks.Context
    poly = _fresh_import("ckks.poly", monkeypatch)
    rows = np.arange(ctx.params.max_level + 1)
    values = np.arange(-16, 16)
    back = poly.from_ntt(poly.to_ntt(values, ctx.params, rows), ctx.params, rows)
    assert np.array_equal(back[0].astype(np.int64) - np.where(values < 0, ctx.params.data_moduli[0], 0), values)
    assert poly.uniform_ntt(ctx.prng, ctx.params, rows).shape == (len(rows), ctx.params.poly_degree)


def test_shims_are_removed_in_the_next_minor_version():
    """The policy: one minor version of shims.  This fails once the version reaches REMOVED_IN: remove them then."""
    version = tuple(int(part) for part in ckks.__version__.split(".")[:2])
    removed = tuple(int(part) for part in deprecated.REMOVED_IN.split(".")[:2])
    assert version < removed, f"delete ckks/deprecated.py and the Ciphertext.scale setter before {removed}"


def test_new_names_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        importlib.import_module("ckks.circuits.linear_transform")
        assert ckks.Context and ckks.KeyGenerator.create_galois_keys
