"""Homomorphic operations on ciphertexts (SEAL-shaped, explicit).

Ciphertexts and plaintexts are in NTT form over q_0 .. q_l.  Levels and
scales, before -> after:

| operation          | level                       | scale                           |
|--------------------|-----------------------------|---------------------------------|
| add / sub / negate | min(l_a, l_b) (auto-align)  | unchanged (scales must agree)   |
| add_plain          | l                           | unchanged (scales must agree)   |
| multiply_plain     | l                           | s * s_p                         |
| multiply (tensor)  | min(l_a, l_b)               | s_a * s_b (size 3 result)       |
| relinearize        | l                           | unchanged (size 3 -> 2)         |
| rescale            | l -> l - 1                  | s / q_l                         |
| mod_switch_to_next | l -> l - 1                  | unchanged                       |
| multiply_integer   | l                           | unchanged                       |

Magnitudes are tracked too (`ckks.scheme.ciphertext`): a bound A on the slot
values and a bound B on the error (`ckks.security.noise`), both propagated by
every operation (A_a + A_b for a sum, A_a A_b for a product, A times the
plaintext's largest value for plaintext and scalar products; rescaling and
level switches keep A).  Before returning a result whose coefficients could
reach Q_l / 2 (A * scale + B >= Q_l / 2, where decryption wraps around and
returns garbage) an operation raises [`LevelError`][ckks.errors.LevelError]
when the bound is attained (``bound_exact``: fresh values, scalar products,
squares), and warns with [`PrecisionWarning`][ckks.errors.PrecisionWarning]
when only the bound, not the value, is known to be that large.  An unknown
bound (None: a ciphertext made outside the evaluator) is not checked.

Scales are tracked as floats.  Two scales "agree" when their ratio is within
``SCALE_RTOL`` of 1; otherwise [`ScaleMismatchError`][ckks.errors.ScaleMismatchError]
names both.  Every operation returns a new ciphertext and leaves its inputs
unchanged; the ``*_inplace`` spelling of SEAL is not offered.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ckks.errors import (
    ContextMismatchError,
    InputError,
    InputTypeError,
    LevelError,
    PrecisionWarning,
    ScaleMismatchError,
)
from ckks.ring.modarith import poly_mul_scalar, shoup_per_limb, tensor_square_free
from ckks.scheme.ciphertext import Ciphertext, Plaintext, check_same_context
from ckks.scheme.counting import ACTIVE, record
from ckks.scheme.encoder import Encoder
from ckks.scheme.keys import RelinKey, require_key
from ckks.scheme.keyswitch import KeySwitcher
from ckks.scheme.parameters import Parameters
from ckks.security import noise as noise_model
from ckks.validation import is_integer, is_real, preview

#: Relative tolerance within which two scales count as equal.
SCALE_RTOL = 1e-9


def scales_agree(a: float, b: float) -> bool:
    """Whether two scales are equal up to rounding: |a - b| <= `SCALE_RTOL` * max(|a|, |b|).

    Args:
        a: a scale.
        b: another scale.

    Returns:
        True when a / b is within `SCALE_RTOL` of 1.
    """
    return abs(a - b) <= SCALE_RTOL * max(abs(a), abs(b))


def check_operand_data(obj: Ciphertext | Plaintext, params: Parameters) -> None:
    """Check the residues of a ciphertext or plaintext before a numba kernel sees them.

    A ciphertext holds uint64 data of shape (size, level + 1, N) with size >= 2;
    a plaintext (level + 1, N); the level must be in [0, L].

    Args:
        obj: the ciphertext or plaintext (its type is already checked).
        params: the parameters it belongs to (already checked).

    Raises:
        InputError: the data is not a uint64 array of that shape.
    """
    data = obj.data
    what = "ciphertext" if isinstance(obj, Ciphertext) else "plaintext"
    ndim = 3 if what == "ciphertext" else 2
    ok = (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint64
        and data.ndim == ndim
        and data.shape[-1] == params.poly_degree
        and 1 <= data.shape[-2] <= params.max_level + 1
        and (ndim == 2 or data.shape[0] >= 2)
    )
    if not ok:
        got = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        expected = "(size >= 2, level + 1, N)" if ndim == 3 else "(level + 1, N)"
        raise InputError(
            f"the {what}'s data must be a uint64 array of shape {expected} with N = {params.poly_degree} "
            f"and level in [0, {params.max_level}], got {got}"
        )


class Evaluator:
    """Add, multiply, relinearize, rescale and switch levels of ciphertexts.

    Every method checks its operands (type, parameters, secret key, data
    shape) and raises before computing; inputs are never modified.

    Args:
        params: the encryption parameters.
        relin_key: the relinearization key (may also be passed to each call).

    Raises:
        InputTypeError: ``params`` or ``relin_key`` has the wrong type.
        ContextMismatchError: ``relin_key`` was made for other parameters.
    """

    def __init__(self, params: Parameters, relin_key: RelinKey | None = None):
        if not isinstance(params, Parameters):
            raise InputTypeError(f"params must be ckks.Parameters, got {type(params).__name__}")
        _check_relin_key(relin_key)
        if relin_key is not None and relin_key.params != params:
            raise ContextMismatchError("the relinearization key was made for other parameters than the Evaluator's")
        self.params = params
        self.relin_key = relin_key
        self.key_switcher = KeySwitcher(params)
        self.encoder = Encoder(params)

    # -- helpers -------------------------------------------------------------
    def _check(self, *objects) -> None:
        for obj in objects:
            if not isinstance(obj, (Ciphertext, Plaintext)):
                raise InputTypeError(f"expected a Ciphertext or Plaintext, got {type(obj).__name__}")
        check_same_context(*objects, params=self.params)
        for obj in objects:
            check_operand_data(obj, self.params)

    def _check_scales(self, a: float, b: float, what: str) -> None:
        if not scales_agree(a, b):
            raise ScaleMismatchError(
                f"cannot {what}: scales 2^{math.log2(a):.4f} and 2^{math.log2(b):.4f} differ; "
                "rescale the operand with the larger scale, or encode the plaintext at the "
                "ciphertext's scale (ciphertext.scale)"
            )

    def _result(
        self, data: np.ndarray, scale: float, key_id: str, bound: float | None, noise: float | None,
        exact: bool, what: str,
    ) -> Ciphertext:
        """The result ciphertext, refused (or warned about) when its values could wrap around Q_l."""
        out = Ciphertext(self.params, data, scale, key_id, bound=bound, noise=noise, bound_exact=exact)
        check_magnitude(out, what)
        return out

    def align_levels(self, a: Ciphertext | Plaintext, b: Ciphertext | Plaintext) -> tuple:
        """Bring the higher-level operand down to the other's level (mod-switch; scales unchanged).

        Args:
            a: a ciphertext or plaintext.
            b: another.

        Returns:
            ``(a', b')`` at level min(l_a, l_b); the operand already there is returned as is.

        Raises:
            InputTypeError: an operand is not a Ciphertext or Plaintext.
            InputError: an operand's data is malformed.
            ContextMismatchError: the operands belong to other parameters or different secret keys.
        """
        self._check(a, b)
        if a.level > b.level:
            return self.mod_switch_to(a, b.level), b
        if b.level > a.level:
            return a, self.mod_switch_to(b, a.level)
        return a, b

    # -- addition ----------------------------------------------------------------
    def add(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a + b at level min(l_a, l_b) (the higher operand is mod-switched down); scale unchanged.

        Args:
            a: a ciphertext.
            b: a ciphertext with the same scale (sizes may differ: 2 or 3).

        Returns:
            The sum, of size max(size_a, size_b).

        Raises:
            InputTypeError: an operand is not a Ciphertext.
            InputError: an operand's data is malformed.
            ContextMismatchError: the operands belong to other parameters or different secret keys.
            ScaleMismatchError: the scales differ.
            LevelError: the sum's values certainly exceed Q_l / 2.
        """
        return self._add_or_sub(a, b, "add")

    def sub(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """a - b at level min(l_a, l_b) (the higher operand is mod-switched down); scale unchanged.

        Args:
            a: a ciphertext.
            b: a ciphertext with the same scale.

        Returns:
            The difference, of size max(size_a, size_b).

        Raises:
            InputTypeError: an operand is not a Ciphertext.
            InputError: an operand's data is malformed.
            ContextMismatchError: the operands belong to other parameters or different secret keys.
            ScaleMismatchError: the scales differ.
            LevelError: the difference's values certainly exceed Q_l / 2.
        """
        return self._add_or_sub(a, b, "subtract")

    def _add_or_sub(self, a, b, what) -> Ciphertext:
        self._check(a, b)
        _require_ciphertext(a, b)
        self._check_scales(a.scale, b.scale, what + " ciphertexts")
        a, b = self.align_levels(a, b)
        ring = self.params.at_level(a.level)
        kernel = ring.add if what == "add" else ring.sub
        size = max(a.size, b.size)
        out = np.zeros((size, ring.limbs, self.params.poly_degree), dtype=np.uint64)
        out[: a.size] = a.data
        for k in range(b.size):
            if k < a.size:
                kernel(out[k], b.data[k], out=out[k])
            elif what == "add":
                out[k] = b.data[k]
            else:
                ring.neg(b.data[k], out=out[k])
        bound = _combine(a.bound, b.bound, lambda x, y: x + y)
        exact = (a.bound_exact and b.bound == 0) or (b.bound_exact and a.bound == 0)
        return self._result(out, a.scale, a.key_id, bound, _combine(a.noise, b.noise, lambda x, y: x + y), exact, what)

    def negate(self, a: Ciphertext) -> Ciphertext:
        """-a (every polynomial negated mod Q_l); level and scale unchanged.

        Args:
            a: a ciphertext.

        Returns:
            The negation.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext.
            InputError: its data is malformed.
            ContextMismatchError: it belongs to other parameters.
        """
        self._check(a)
        _require_ciphertext(a)
        ring = self.params.at_level(a.level)
        out = np.empty_like(a.data)
        for k in range(a.size):
            ring.neg(a.data[k], out=out[k])
        return _like(a, out)

    def add_plain(self, a: Ciphertext, p: Plaintext) -> Ciphertext:
        """a + p at a's level (the plaintext's extra primes are dropped); scale unchanged.

        Args:
            a: a ciphertext.
            p: a plaintext at level >= a's and with a's scale.

        Returns:
            The sum.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext or ``p`` not a Plaintext.
            InputError: an operand's data is malformed.
            ContextMismatchError: the operands belong to other parameters.
            ScaleMismatchError: the scales differ.
            LevelError: ``p`` is below a's level, or the sum's values certainly exceed Q_l / 2.
        """
        return self._add_plain(a, p, "add a plaintext")

    def sub_plain(self, a: Ciphertext, p: Plaintext) -> Ciphertext:
        """a - p at a's level (the plaintext's extra primes are dropped); scale unchanged.

        Args:
            a: a ciphertext.
            p: a plaintext at level >= a's and with a's scale.

        Returns:
            The difference.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext or ``p`` not a Plaintext.
            InputError: an operand's data is malformed.
            ContextMismatchError: the operands belong to other parameters.
            ScaleMismatchError: the scales differ.
            LevelError: ``p`` is below a's level, or the difference's values certainly exceed Q_l / 2.
        """
        return self._add_plain(a, p, "subtract a plaintext")

    def _check_plain_operands(self, a, p) -> None:
        self._check(a, p)
        _require_ciphertext(a)
        _require_plaintext(p)

    def _add_plain(self, a, p, what) -> Ciphertext:
        self._check_plain_operands(a, p)
        self._check_scales(a.scale, p.scale, what)
        if p.level < a.level:
            raise LevelError(
                f"the plaintext is at level {p.level}, below the ciphertext's level {a.level}; "
                "encode it at the ciphertext's level (encoder.encode(values, scale, ct.level))"
            )
        ring = self.params.at_level(a.level)
        out = a.data.copy()
        kernel = ring.add if what.startswith("add") else ring.sub
        kernel(out[0], p.data[: ring.limbs], out=out[0])
        bound = _combine(a.bound, p.bound, lambda x, y: x + y)
        exact = a.bound_exact and p.bound == 0
        noise = None if a.noise is None else a.noise + 1.0
        return self._result(out, a.scale, a.key_id, bound, noise, exact, what)

    # -- multiplication --------------------------------------------------------
    def multiply_plain(self, a: Ciphertext, p: Plaintext) -> Ciphertext:
        """a * p (coefficient-wise in NTT form): level unchanged, scale s_a * s_p.

        Args:
            a: a ciphertext.
            p: a plaintext at level >= a's.

        Returns:
            The product (follow with [`rescale`][ckks.scheme.evaluator.Evaluator.rescale]).

        Raises:
            InputTypeError: ``a`` is not a Ciphertext or ``p`` not a Plaintext.
            InputError: an operand's data is malformed.
            ContextMismatchError: the operands belong to other parameters.
            LevelError: ``p`` is below a's level, or the product's values certainly exceed Q_l / 2.
        """
        return self._multiply_plain(a, p, exact=False)

    def _multiply_plain(self, a: Ciphertext, p: Plaintext, exact: bool) -> Ciphertext:
        self._check_plain_operands(a, p)
        if p.level < a.level:
            raise LevelError(
                f"the plaintext is at level {p.level}, below the ciphertext's level {a.level}; "
                "encode it at the ciphertext's level"
            )
        ring = self.params.at_level(a.level)
        plain = p.data[: ring.limbs]
        out = np.empty_like(a.data)
        for k in range(a.size):
            ring.mul(a.data[k], plain, out=out[k])
        bound = _combine(a.bound, p.bound, lambda x, y: x * y)
        noise = None
        if a.noise is not None and a.bound is not None and p.bound is not None:
            noise = noise_model.plain_product_noise(a.bound, a.scale, a.noise, p.bound, p.scale)
        exact = (exact or p.constant) and a.bound_exact
        result = self._result(out, a.scale * p.scale, a.key_id, bound, noise, exact, "multiply by a plaintext")
        if ACTIVE:  # ckks.scheme.counting: one test of an empty list when nothing counts
            record("pt_multiplications")
        return result

    def multiply(self, a: Ciphertext, b: Ciphertext) -> Ciphertext:
        """The tensor product (d_0, d_1, d_2) = (a_0 b_0, a_0 b_1 + a_1 b_0, a_1 b_1) at level min(l_a, l_b).

        Scale s_a * s_b; the result has size 3 (decrypts with s^2) until
        [`relinearize`][ckks.scheme.evaluator.Evaluator.relinearize].

        Args:
            a: a size-2 ciphertext.
            b: a size-2 ciphertext.

        Returns:
            The size-3 product.

        Raises:
            InputTypeError: an operand is not a Ciphertext.
            InputError: an operand has size 3 (relinearize first) or malformed data.
            ContextMismatchError: the operands belong to other parameters or different secret keys.
            LevelError: the product's values certainly exceed Q_l / 2 (see the module docstring).
        """
        self._check(a, b)
        _require_ciphertext(a, b)
        if a.size != 2 or b.size != 2:
            raise InputError(
                "multiply takes ciphertexts of size 2; relinearize the operand first "
                "(evaluator.relinearize(ct, relin_key))"
            )
        same = a is b or a.data is b.data or (a.data.shape == b.data.shape and np.array_equal(a.data, b.data))
        a, b = self.align_levels(a, b)
        ring = self.params.at_level(a.level)
        out = np.empty((3, ring.limbs, self.params.poly_degree), dtype=np.uint64)
        tensor_square_free(
            a.data[0], a.data[1], b.data[0], b.data[1], ring.moduli, ring.ratios, out[0], out[1], out[2]
        )
        bound = _combine(a.bound, b.bound, lambda x, y: x * y)
        noise = None
        if None not in (a.bound, b.bound, a.noise, b.noise):
            noise = noise_model.product_noise(self.params, a.bound, a.scale, a.noise, b.bound, b.scale, b.noise)
        exact = same and a.bound_exact
        result = self._result(out, a.scale * b.scale, a.key_id, bound, noise, exact, "multiply")
        if ACTIVE:
            record("ct_ct_multiplications")
        return result

    def square(self, a: Ciphertext) -> Ciphertext:
        """a * a (size 3); level unchanged, scale s^2.

        Args:
            a: a size-2 ciphertext.

        Returns:
            The size-3 square.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext.
            InputError: ``a`` has size 3 or malformed data.
            ContextMismatchError: it belongs to other parameters.
        """
        return self.multiply(a, a)

    def add_scalar(self, a: Ciphertext, value: complex) -> Ciphertext:
        """a + c in every slot; c is encoded at a's scale and level (no level used).

        Args:
            a: a ciphertext.
            value: a finite real or complex number.

        Returns:
            The sum; level and scale unchanged.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext, or ``value`` is not a number.
            InputError: ``value`` is not finite, or a's data is malformed.
            ContextMismatchError: ``a`` belongs to other parameters.
        """
        self._check(a)
        _require_ciphertext(a)
        return self.add_plain(a, self.encoder.encode_constant(_scalar(value), a.scale, a.level))

    def multiply_scalar(self, a: Ciphertext, value: complex, scale: float | None = None) -> Ciphertext:
        """a * c in every slot, c encoded at ``scale``: level unchanged, scale s_a * scale.

        Follow with [`rescale`][ckks.scheme.evaluator.Evaluator.rescale] to
        return to about the original scale.

        Args:
            a: a ciphertext.
            value: a finite real or complex number.
            scale: the scale c is encoded at (default: a's scale).

        Returns:
            The product.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext, or ``value``/``scale`` is not a number.
            InputError: ``value`` is not finite, ``scale`` is below 1 or not finite, or a's data is malformed.
            ContextMismatchError: ``a`` belongs to other parameters.
            LevelError: the product's values certainly exceed Q_l / 2.
        """
        self._check(a)
        _require_ciphertext(a)
        if scale is not None and not is_real(scale):
            raise InputTypeError(f"scale must be a real number or None, got {preview(scale)}")
        scale = a.scale if scale is None else float(scale)
        if not (math.isfinite(scale) and scale >= 1):
            raise InputError(f"scale must be a finite number of at least 1, got {scale}")
        value = _scalar(value)
        real = not (np.iscomplexobj(value) and np.imag(value) != 0)
        return self._multiply_plain(a, self.encoder.encode_constant(value, scale, a.level), exact=real)

    def multiply_integer(self, a: Ciphertext, value: int) -> Ciphertext:
        """a * k for an integer k (each residue times k mod q_i): exact, uses no level, keeps the scale.

        Args:
            a: a ciphertext.
            value: the integer k (Python or numpy integer; not bool).

        Returns:
            The product.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext, or ``value`` is not an integer.
            InputError: a's data is malformed.
            ContextMismatchError: ``a`` belongs to other parameters.
            LevelError: the product's values certainly exceed Q_l / 2.
        """
        self._check(a)
        _require_ciphertext(a)
        if not is_integer(value):
            raise InputTypeError(f"multiply_integer takes an int, got {type(value).__name__}")
        ring = self.params.at_level(a.level)
        scalars = np.array([int(value) % int(q) for q in ring.moduli], dtype=np.uint64)
        shoup = shoup_per_limb(scalars, ring.moduli)
        out = np.empty_like(a.data)
        for k in range(a.size):
            poly_mul_scalar(a.data[k], scalars, shoup, ring.moduli, out[k])
        k = abs(int(value))
        bound = None if a.bound is None else a.bound * k
        noise = None if a.noise is None else a.noise * k
        return self._result(out, a.scale, a.key_id, bound, noise, a.bound_exact, "multiply by an integer")

    def relinearize(self, a: Ciphertext, relin_key: RelinKey | None = None) -> Ciphertext:
        """(d_0, d_1, d_2) -> (d_0, d_1) + KeySwitch(d_2, s^2 -> s); level and scale unchanged.

        A size-2 ciphertext is returned as a copy.

        Args:
            a: a ciphertext of size 2 or 3.
            relin_key: the relinearization key (default: the evaluator's).

        Returns:
            A size-2 ciphertext.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext, or ``relin_key`` is not a RelinKey.
            InputError: ``a`` has a size other than 2 or 3, or malformed data.
            KeyMissingError: there is no relinearization key.
            ContextMismatchError: ``a`` or the key belongs to other parameters or another secret key.
        """
        key = self._relin_key_for(a, relin_key, "relinearize")
        if a.size == 2:
            return a.copy()
        ring = self.params.at_level(a.level)
        switched = self.key_switcher.switch(a.data[2], key.data)
        out = np.empty((2, ring.limbs, self.params.poly_degree), dtype=np.uint64)
        ring.add(a.data[0], switched[0], out=out[0])
        ring.add(a.data[1], switched[1], out=out[1])
        noise = None if a.noise is None else a.noise + noise_model.keyswitch_noise(self.params)
        if ACTIVE:
            record("relinearizations")
        return Ciphertext(self.params, out, a.scale, a.key_id, bound=a.bound, noise=noise, bound_exact=a.bound_exact)

    def _relin_key_for(self, a: Ciphertext, relin_key: RelinKey | None, call: str) -> RelinKey:
        """Check ``a`` (size 2 or 3) and the key for a relinearization; the key to use."""
        self._check(a)
        _require_ciphertext(a)
        _check_relin_key(relin_key)
        key = require_key(
            relin_key if relin_key is not None else self.relin_key,
            "relinearization key",
            "create it with KeyGenerator(params).create_relin_keys() and pass it to the Evaluator",
        )
        check_same_context(a, key, params=self.params)
        if a.size not in (2, 3):
            raise InputError(f"{call} takes a ciphertext of size 3, got size {a.size}")
        return key

    def relinearize_rescale(self, a: Ciphertext, relin_key: RelinKey | None = None) -> Ciphertext:
        """`relinearize` then `rescale` with one division: level l -> l - 1, scale s -> s / q_l.

        Key switching ends by dividing its result by P, and the rescale then divides the sum by q_l:
        two inverse/forward NTT round trips over the ciphertext.  Here the products d_0, d_1 are
        lifted to Q_l * P as P d_i (zero mod the special primes) and added to the key switch's
        inner product before a single division by P q_l with rounding (`Parameters.mod_down_rescale`):

            (c_0, c_1) = round((P (d_0, d_1) + <digits(d_2), ksk>) / (P q_l))  mod Q_(l-1),

        which is the relinearized-and-rescaled ciphertext with one rounding instead of two.  Fusing the
        mod-down with the rescale is what GPU implementations do to save a pass over the limbs (Jung et al.,
        "Over 100x faster bootstrapping in fully homomorphic encryption through memory-centric optimization
        with GPUs", TCHES 2021, section 4.3).  A size-2 ciphertext is only rescaled.

        Args:
            a: a ciphertext of size 2 or 3 at level l >= 1.
            relin_key: the relinearization key (default: the evaluator's).

        Returns:
            A size-2 ciphertext at level l - 1, scale ``a.scale / q_l``.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext, or ``relin_key`` is not a RelinKey.
            InputError: ``a`` has a size other than 2 or 3, or malformed data.
            KeyMissingError: there is no relinearization key.
            ContextMismatchError: ``a`` or the key belongs to other parameters or another secret key.
            LevelError: ``a`` is at level 0.
        """
        key = self._relin_key_for(a, relin_key, "relinearize_rescale")
        if a.size == 2:
            return self.rescale(a)
        if a.level == 0:
            raise LevelError(_out_of_levels_message(self.params, "rescale"))
        params, level = self.params, a.level
        switcher = self.key_switcher
        accumulated = switcher.inner_product(switcher.decompose(a.data[2]), key.data)
        ring = params.at_level(level)
        p_mod, p_shoup = params.special_mod_data
        lifted = np.empty((ring.limbs, params.poly_degree), dtype=np.uint64)
        for i in range(2):  # the Q limbs of P d_i; its P limbs are zero
            poly_mul_scalar(a.data[i], p_mod[: ring.limbs], p_shoup[: ring.limbs], ring.moduli, lifted)
            ring.add(accumulated[i, : ring.limbs], lifted, out=accumulated[i, : ring.limbs])
        out = params.mod_down_rescale(level).divide_many(accumulated)
        q_last = params.data_moduli[level]
        noise = None if a.noise is None else (
            (a.noise + noise_model.keyswitch_noise(params)) / q_last + noise_model.rounding_noise(params)
        )
        if ACTIVE:
            record("relinearizations")
            record("rescales")
        return Ciphertext(
            params, out, a.scale / q_last, a.key_id, bound=a.bound, noise=noise, bound_exact=a.bound_exact
        )

    # -- levels ----------------------------------------------------------------------
    def rescale(self, a: Ciphertext) -> Ciphertext:
        """Divide by the last prime q_l with rounding: level l -> l - 1, scale s -> s / q_l.

        Args:
            a: a ciphertext at level >= 1.

        Returns:
            The rescaled ciphertext.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext.
            InputError: its data is malformed.
            ContextMismatchError: it belongs to other parameters.
            LevelError: ``a`` is at level 0 (the message says how to get more depth).
        """
        self._check(a)
        _require_ciphertext(a)
        if a.level == 0:
            raise LevelError(_out_of_levels_message(self.params, "rescale"))
        divider = self.params.rescaler(a.level)
        out = divider.divide_many(a.data)  # every polynomial in one fused kernel call
        q_last = self.params.data_moduli[a.level]
        noise = None if a.noise is None else a.noise / q_last + noise_model.rounding_noise(self.params)
        if ACTIVE:
            record("rescales")
        return Ciphertext(
            self.params, out, a.scale / q_last, a.key_id, bound=a.bound, noise=noise, bound_exact=a.bound_exact
        )

    def mod_switch_to_next(self, a: Ciphertext | Plaintext) -> Ciphertext | Plaintext:
        """Drop the last prime without dividing: level l -> l - 1, scale unchanged.

        Args:
            a: a ciphertext or plaintext at level >= 1.

        Returns:
            A new object one level lower.

        Raises:
            InputTypeError: ``a`` is not a Ciphertext or Plaintext.
            InputError: its data is malformed.
            ContextMismatchError: it belongs to other parameters.
            LevelError: ``a`` is at level 0.
        """
        self._check(a)
        if a.level == 0:
            raise LevelError(_out_of_levels_message(self.params, "switch down a level"))
        return self.mod_switch_to(a, a.level - 1)

    def mod_switch_to(self, a: Ciphertext | Plaintext, level: int) -> Ciphertext | Plaintext:
        """Drop primes q_(level+1) .. q_l (no division): level l -> ``level``, scale unchanged.

        Args:
            a: a ciphertext or plaintext.
            level: the target level, 0 .. a's level.

        Returns:
            A new object at ``level`` (a copy when ``level`` is a's level).

        Raises:
            InputTypeError: ``a`` is not a Ciphertext or Plaintext.
            InputError: its data is malformed.
            ContextMismatchError: it belongs to other parameters.
            LevelError: ``level`` is not an integer in [0, a's level].
        """
        self._check(a)
        if not is_integer(level) or not 0 <= level <= a.level:
            raise LevelError(
                f"cannot switch from level {a.level} to level {preview(level)}: levels only go down, to 0 at least"
            )
        level = int(level)
        if isinstance(a, Plaintext):
            return Plaintext(a.params, np.ascontiguousarray(a.data[: level + 1]), a.scale, a.bound, a.constant)
        return _like(a, np.ascontiguousarray(a.data[:, : level + 1]))


def check_magnitude(ct: Ciphertext, what: str = "compute") -> None:
    """Refuse (or warn about) a ciphertext whose values could reach Q_l / 2, where decryption wraps around.

    The coefficients of m + e are at most bound * scale + noise (a coefficient
    is at most the largest value of the canonical embedding).

    Args:
        ct: the ciphertext (its ``bound``, ``noise``, ``bound_exact``, ``scale`` and level).
        what: the operation that made it, for the message.

    Raises:
        LevelError: the bound is attained (``bound_exact``) and reaches Q_l / 2.
    """
    if ct.bound is None or ct.bound == 0:
        return
    params = ct.params
    reach = math.log2(ct.bound * ct.scale + (ct.noise or 0.0))
    limit = sum(math.log2(q) for q in params.data_moduli[: ct.level + 1]) - 1
    if reach < limit:
        return
    message = (
        f"cannot {what}: the result's values reach {ct.bound:.4g} at scale 2^{math.log2(ct.scale):.1f}, i.e. "
        f"coefficients up to 2^{reach:.1f}, but the modulus at level {ct.level} only holds 2^{limit:.1f} "
        "(decryption would wrap around and return garbage); use smaller values, a smaller scale, a larger "
        "first prime q_0, or rescale / compute at a higher level"
    )
    if ct.bound_exact:
        raise LevelError(message)
    warnings.warn(message.replace("cannot", "may not", 1) + " (the tracked bound may overestimate)",
                  PrecisionWarning, stacklevel=4)


def _combine(x: float | None, y: float | None, op) -> float | None:
    return None if x is None or y is None else op(x, y)


def _like(a: Ciphertext, data: np.ndarray) -> Ciphertext:
    """A ciphertext with a's metadata (scale, key, magnitude bounds) and new data (negation, level switch)."""
    return Ciphertext(a.params, data, a.scale, a.key_id, bound=a.bound, noise=a.noise, bound_exact=a.bound_exact)


def _check_relin_key(key) -> None:
    if key is not None and not isinstance(key, RelinKey):
        raise InputTypeError(
            f"relin_key must be a ckks.RelinKey (KeyGenerator(params).create_relin_keys()), got {type(key).__name__}"
        )


def _scalar(value) -> complex:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, complex, np.number)):
        raise InputTypeError(f"value must be a real or complex number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise InputError(f"value must be finite, got {value}")
    return value


def _require_ciphertext(*objects) -> None:
    for obj in objects:
        if not isinstance(obj, Ciphertext):
            raise InputTypeError(f"expected a Ciphertext, got {type(obj).__name__}")


def _require_plaintext(obj) -> None:
    if not isinstance(obj, Plaintext):
        raise InputTypeError(
            f"expected a Plaintext, got {type(obj).__name__}; for two ciphertexts use add/sub/multiply"
        )


def _out_of_levels_message(params: Parameters, action: str) -> str:
    depth = params.max_level
    bits = list(params.moduli_bits)
    longer = bits[:-params.special_count] + [bits[1] if len(bits) > 2 else 40] + bits[-params.special_count:]
    return (
        f"cannot {action}: the ciphertext is at level 0 and no rescaling prime is left. "
        f"These parameters (moduli_bits={bits}) allow a multiplicative depth of {depth}; "
        f"each extra level needs one more prime, e.g. moduli_bits={longer} "
        "(check the security bound of poly_degree)"
    )
