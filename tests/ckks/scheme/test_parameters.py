"""Parameters: validation, digits, and the HomomorphicEncryption.org security check."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

from ckks import Parameters
from ckks.container import loads, read_header
from ckks.errors import (
    InputTypeError,
    InsecureWarning,
    LevelError,
    ParameterError,
    PrecisionWarning,
    SecurityError,
    SerializationError,
)
from ckks.ring.rns import CRTDecoder, RNSDivider
from ckks.security.standard import MAX_MODULUS_BITS


def toy_params(**kwargs) -> Parameters:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        warnings.simplefilter("ignore", PrecisionWarning)
        return Parameters(32, [50, 30, 30, 50], 30, security=None, **kwargs)


def test_data_and_special_primes():
    p = Parameters(8192, [60, 40, 40, 60], 40)
    assert len(p.data_moduli) == 3 and len(p.special_moduli) == 1
    assert p.max_level == 2 and p.slots == 4096 and p.scale == 2.0**40
    assert p.total_bits == 200
    assert p.digits == [[0], [1], [2]]


def test_dnum_groups_digits():
    with pytest.warns(PrecisionWarning, match="80 bits but the special modulus P only 60"):
        p = Parameters(8192, [50, 30, 30, 30, 60], 30, dnum=2)
    assert p.digits == [[0, 1], [2, 3]]
    with pytest.raises(ParameterError, match="dnum"):
        Parameters(8192, [60, 40, 40, 60], 40, dnum=4)


def test_digit_primes_give_unequal_digits():
    with pytest.warns(PrecisionWarning):
        p = Parameters(8192, [50, 30, 30, 30, 60], 30, digit_primes=[1, 3])
    assert p.digits == [[0], [1, 2, 3]] and p.dnum == 2 and p.digit_sizes == (1, 3) and p.custom_digits
    assert [p.key_digits(m) for m in range(4)] == [1, 2, 2, 2]
    assert p.key_switch_key_bytes(0) == 1 * 2 * (1 + 1) * 8192 * 8
    default = Parameters(8192, [60, 40, 40, 60], 40)
    same = Parameters(8192, [60, 40, 40, 60], 40, digit_primes=[1, 1, 1], dnum=3)  # dnum's own partition
    assert not same.custom_digits and same == default and same.to_header() == default.to_header()
    assert "digit_primes" not in default.to_header() and "digit_primes" not in repr(default)
    assert "digit_primes=[1, 3]" in repr(p)


def test_digit_partition_enters_the_fingerprint_and_round_trips():
    bits = [50, 30, 30, 30, 60, 60]
    kwargs = dict(security=None, special_count=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureWarning)
        equal = Parameters(32, bits, 30, dnum=2, **kwargs)
        custom = Parameters(32, bits, 30, digit_primes=[3, 1], **kwargs)
        assert equal.digits == [[0, 1], [2, 3]] and custom.digits == [[0, 1, 2], [3]]
        assert equal.dnum == custom.dnum == 2 and equal != custom and equal.fingerprint() != custom.fingerprint()
        loaded = Parameters.load(custom.serialize())
    assert loaded == custom and loaded.digits == custom.digits
    assert read_header(custom.serialize())["params"]["digit_primes"] == [3, 1]


def test_digits_by_bits_fills_each_digit_up_to_p():
    from ckks.scheme.parameters import digits_by_bits

    # the "128" bootstrapping chain: P = 5 x 60 bits; dnum = 6 gives 4 primes a digit, by size 5 digits
    chain = [55] + [42] * 9 + [60] * 13 + [60] * 5
    assert digits_by_bits(chain, 5) == [6, 6, 5, 5, 1]
    assert digits_by_bits([60, 40, 40, 60]) == [1, 1, 1]  # one prime per digit when P holds one prime
    assert digits_by_bits([30, 20, 20, 20, 60]) == [2, 2]  # 50 <= 60, 40 <= 60
    assert digits_by_bits([30, 20, 20, 20, 60], margin_bits=12) == [1, 2, 1]  # every digit <= 48 bits
    with pytest.raises(ParameterError, match="margin_bits"):
        digits_by_bits([30, 20, 60], margin_bits=-1)
    with pytest.raises(ParameterError, match="less the margin"):
        digits_by_bits([30, 20, 60], margin_bits=31)
    with pytest.raises(ParameterError, match="larger than the special modulus P"):
        digits_by_bits([60, 40, 30])
    with pytest.raises(ParameterError, match="special prime"):
        digits_by_bits([60], 1)
    with pytest.raises(InputTypeError, match="list of integers"):
        digits_by_bits("60,40")


@pytest.mark.parametrize(
    ("digit_primes", "dnum", "error", "message"),
    [
        ([1, 1], None, ParameterError, "sum to the 3 data primes"),
        ([2, 0, 1], None, ParameterError, "positive prime counts"),
        ([1.5, 1.5], None, ParameterError, "positive prime counts"),
        ([], None, ParameterError, "positive prime counts"),
        ([1, 2], 3, ParameterError, "dnum=3 contradicts digit_primes"),
        ("12", None, InputTypeError, "digit_primes must be a list"),
    ],
)
def test_bad_digit_partitions_are_refused(digit_primes, dnum, error, message):
    with pytest.raises(error, match=message):
        Parameters(8192, [60, 40, 40, 60], 40, digit_primes=digit_primes, dnum=dnum)


@pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning", "ignore::ckks.errors.PrecisionWarning")
def test_load_refuses_a_bad_digit_partition():
    from ckks.container import pack

    header = toy_params().to_header()
    with pytest.raises(SerializationError, match="describes invalid parameters: digit_primes"):
        Parameters.load(pack({"type": "parameters", "params": dict(header, digit_primes=[1, 1])}, []))
    with pytest.raises(SerializationError, match="digit_primes"):
        Parameters.load(pack({"type": "parameters", "params": dict(header, digit_primes="3")}, []))


@pytest.mark.parametrize("n, bits", [(8192, 218), (16384, 438), (32768, 881)])
def test_security_bound_128(n, bits):
    assert MAX_MODULUS_BITS[128][n] == bits
    with pytest.raises(SecurityError, match=f"exceeds the 128-bit security bound of {bits} bits"):
        Parameters(n, [60] * (bits // 60 + 1), 40)


def test_chain_at_the_bound_is_accepted():
    with pytest.warns(PrecisionWarning):  # P = 39 bits < q0: accepted, but flagged
        assert Parameters(8192, [59, 40, 40, 40, 39], 40).total_bits == 218


def test_higher_security_levels():
    with pytest.warns(PrecisionWarning):
        assert Parameters(8192, [60, 40, 50], 40, security=192).total_bits == 150  # <= 152
    with pytest.raises(SecurityError, match="192-bit"):
        Parameters(8192, [60, 40, 40, 60], 40, security=192)
    with pytest.raises(SecurityError, match="no 256-bit parameters for poly_degree=65536"):
        Parameters(65536, [60, 40, 60], 40, security=256)
    with pytest.raises(ParameterError, match="security must be 128, 192, 256 or None"):
        Parameters(8192, [60, 40, 60], 40, security=100)


def test_toy_parameters_need_security_none_and_warn():
    with pytest.raises(SecurityError, match="security=None"):
        Parameters(16, [30, 20, 30], 20)
    with pytest.warns(InsecureWarning, match="INSECURE"):
        Parameters(16, [30, 20, 30], 20, security=None)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(poly_degree=1000, moduli_bits=[60, 60]), ParameterError, "power of two"),
        (dict(poly_degree="8192", moduli_bits=[60, 60]), InputTypeError, "poly_degree"),
        (dict(poly_degree=8192, moduli_bits=[60]), ParameterError, "at least one data prime"),
        (dict(poly_degree=8192, moduli_bits=[60, 70]), ParameterError, "between 2 and 61"),
        (dict(poly_degree=8192, moduli_bits="60,40"), InputTypeError, "moduli_bits"),
        (dict(poly_degree=8192, moduli_bits=[60, 40.5, 60]), InputTypeError, "integers"),
        (dict(poly_degree=8192, moduli_bits=[40, 40, 60], scale_bits=40), ParameterError, "scale_bits"),
        (dict(poly_degree=8192, moduli_bits=[60, 40, 60], hamming_weight=0), ParameterError, "hamming_weight"),
    ],
)
def test_invalid_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        Parameters(**kwargs)


def test_fingerprint_identifies_parameters():
    a = Parameters(8192, [60, 40, 40, 60], 40)
    b = Parameters(8192, [60, 40, 40, 60], 30)
    c = Parameters(8192, [60, 40, 60], 40)
    assert a.fingerprint() == b.fingerprint() and a == b  # the scale is per ciphertext
    assert a.fingerprint() != c.fingerprint() and a != c


# -- caches live on the instance ----------------------------------------------------------------------
def test_precomputations_are_cached_per_instance():
    p = toy_params()
    assert isinstance(p.rescaler(2), RNSDivider) and p.rescaler(2) is p.rescaler(np.int64(2))
    assert isinstance(p.mod_down(0), RNSDivider) and p.mod_down(0) is p.mod_down(0)
    assert isinstance(p.crt_decoder(1), CRTDecoder) and p.crt_decoder(1) is p.crt_decoder(1)
    assert toy_params().rescaler(2) is not p.rescaler(2)


def test_unreferenced_parameters_are_freed():
    p = toy_params()
    for method in ("rescaler", "mod_down", "crt_decoder", "at_level"):
        getattr(p, method)(1)
    p.at_level(2, special=True)
    p.fingerprint()
    ref = weakref.ref(p)
    del p
    gc.collect()
    assert ref() is None, "something (a global cache?) still holds the Parameters"


@pytest.mark.parametrize(
    "method, level",
    [("rescaler", 0), ("rescaler", 3), ("mod_down", -1), ("mod_down", 3), ("crt_decoder", 3), ("crt_decoder", True)],
)
def test_precomputations_check_the_level(method, level):
    with pytest.raises(LevelError, match="level must be an integer in"):
        getattr(toy_params(), method)(level)


# -- serialization -----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning", "ignore::ckks.errors.PrecisionWarning")
def test_serialize_round_trip_keeps_every_field():
    p = toy_params(dnum=2, hamming_weight=8, sigma=3.5)
    blob = p.serialize()
    q = Parameters.load(blob)
    assert q == p and q.to_header() == p.to_header() and q.scale_bits == p.scale_bits
    assert loads(blob) == p  # the container dispatches to the registered loader
    header = read_header(blob)
    assert header["type"] == "parameters" and header["params"] == p.to_header() and header["arrays"] == []
    assert header["params"]["primes"] == [str(q) for q in p.all_moduli]


@pytest.mark.filterwarnings("ignore::ckks.errors.InsecureWarning", "ignore::ckks.errors.PrecisionWarning")
def test_load_refuses_other_types_and_bad_fields():
    from ckks.container import pack

    blob = pack({"type": "plaintext"}, [])
    with pytest.raises(SerializationError, match="expected a serialized parameters"):
        Parameters.load(blob)
    header = toy_params().to_header()
    with pytest.raises(SerializationError, match="'params.primes' is"):
        Parameters.load(pack({"type": "parameters", "params": dict(header, primes=["3"] * 4)}, []))
    with pytest.raises(SerializationError, match="describes invalid parameters: poly_degree must be a power of two"):
        Parameters.load(pack({"type": "parameters", "params": dict(header, poly_degree=48)}, []))
    with pytest.raises(SerializationError, match="unexpected field"):
        Parameters.load(pack({"type": "parameters", "params": dict(header, extra=1)}, []))
    with pytest.raises(InputTypeError, match="must be bytes"):
        Parameters.load("not bytes")
