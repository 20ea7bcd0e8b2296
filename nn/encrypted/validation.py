"""Checks of `nn.encrypted.compiler.compile`'s arguments, made before any work starts.

Every argument gets a library error (`nn.errors`) that says what was wrong
and what to do: types, ranges, sizes, non-finite weights, and an estimate of
the memory compiling (and encrypting a full batch) would take, refused above
``memory_limit`` the way ``ckks`` refuses keys above its ``KEY_MEMORY_LIMIT``.

The memory estimate (bytes, float64 everywhere) counts what compile holds at
once: the calibration samples and their activations through every layer
(three copies of 256 or the given samples), each linear layer as a dense
matrix (n_in x n_out; a convolution is unrolled to one) in `DENSE_COPIES`
copies (the layer, its folded stage, the layouts' working copies), for the
sample layout its diagonals twice (max(n_in, n_out) vectors of the slot
count), all of it per candidate layout (two for ``layout="auto"``); after the
parameters are chosen, the ciphertexts of a full batch (2 (depth + 1) N words
each).  Calibrated on measured peaks: Linear(2000, 2000) + Square + Linear(2000, 10),
``layout="auto"``, 0.58 GB peak (15 s) against 0.76 GiB estimated;
Linear(1000, 1000), ``layout="sample"``, 73 MB against 111 MB.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nn.errors import ConfigError, ResourceLimitError, ShapeError

#: Default ``memory_limit`` of compile (bytes): 8 GiB, as ckks's KEY_MEMORY_LIMIT.
COMPILE_MEMORY_LIMIT = 8 << 30
#: Largest batch_size accepted (the slot count of N = 2^16 times 2^10 groups).
MAX_BATCH_SIZE = 1 << 25
#: Largest number of features of one sample.
MAX_SAMPLE_SIZE = 1 << 24
#: Ring degrees compile accepts with security=None (toy rings included) and with a security level.
TOY_RING_DEGREES = tuple(1 << k for k in range(4, 17))
SECURE_RING_DEGREES = tuple(1 << k for k in range(10, 17))
#: Dense copies of each linear map compile holds at once (calibrated on the measured peaks, module docstring).
DENSE_COPIES = 8
#: Calibration samples drawn from input_range when none are given.
CALIBRATION_SAMPLES = 256


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_shape(shape) -> tuple[int, ...]:
    """A sample shape as a tuple of positive ints (at most `MAX_SAMPLE_SIZE` values in all).

    Args:
        shape: e.g. (1, 8, 8) or (64,).

    Returns:
        The shape.

    Raises:
        ConfigError: not a sequence of positive integers, or too many values per sample.
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, np.ndarray)):
        raise ConfigError(f"input_shape must be a tuple of positive integers, got {shape!r}")
    if len(shape) == 0 or len(shape) > 8 or not all(_is_int(s) and s >= 1 for s in shape):
        raise ConfigError(f"input_shape must be a tuple of 1 to 8 positive integers, got {shape!r}")
    out = tuple(int(s) for s in shape)
    if math.prod(out) > MAX_SAMPLE_SIZE:
        raise ConfigError(
            f"input_shape {out} has {math.prod(out)} values per sample, more than the {MAX_SAMPLE_SIZE} an "
            "encrypted model can take; downsample the inputs"
        )
    return out


def check_range(input_range) -> tuple[float, float]:
    """(lo, hi): two finite numbers with lo < hi.

    Args:
        input_range: the range of the random calibration samples.

    Returns:
        (lo, hi) as floats.

    Raises:
        ConfigError: not two finite real numbers with lo < hi.
    """
    if isinstance(input_range, (str, bytes)) or not isinstance(input_range, (Sequence, np.ndarray)) or len(
        input_range
    ) != 2 or not all(_is_real(v) for v in input_range):
        raise ConfigError(f"input_range must be two numbers (lo, hi), got {input_range!r}")
    lo, hi = (float(v) for v in input_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ConfigError(f"input_range must be finite with lo < hi, got {input_range!r}")
    if max(abs(lo), abs(hi)) > 2.0**40:
        raise ConfigError(f"input_range {input_range!r} is beyond what CKKS encrypts (|x| <= 2^40); rescale the inputs")
    return lo, hi


def check_options(
    batch_size, precision_bits, security, poly_degree, scale_bits, softargmax_error, flooding, statistical_security,
    memory_limit,
) -> None:
    """The scalar options of compile (see its docstring for their meaning).

    Args:
        batch_size: 1 .. `MAX_BATCH_SIZE`.
        precision_bits: None or 4 .. 40.
        security: None, 128, 192 or 256.
        poly_degree: None or a power of two, 16 .. 2^16 with security=None, 2^10 .. 2^16 otherwise.
        scale_bits: None or an integer 20 .. 60.
        softargmax_error: a positive finite number.
        flooding: a bool.
        statistical_security: an integer 1 .. 128.
        memory_limit: None or a positive number of bytes.

    Raises:
        ConfigError: an option has the wrong type or is out of its range (the message names it).
    """
    if not _is_int(batch_size) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ConfigError(f"batch_size must be an integer in [1, {MAX_BATCH_SIZE}], got {batch_size!r}")
    if precision_bits is not None and (not _is_int(precision_bits) or not 4 <= precision_bits <= 40):
        raise ConfigError(f"precision_bits must be None or an integer in [4, 40], got {precision_bits!r}")
    if security is not None and (not _is_int(security) or security not in (128, 192, 256)):
        raise ConfigError(f"security must be 128, 192, 256 or None (insecure toy parameters), got {security!r}")
    allowed = TOY_RING_DEGREES if security is None else SECURE_RING_DEGREES
    if poly_degree is not None and (not _is_int(poly_degree) or poly_degree not in allowed):
        raise ConfigError(
            f"poly_degree must be None or a power of two in [{allowed[0]}, {allowed[-1]}]"
            f"{' (below 1024 only with security=None)' if security is not None else ''}, got {poly_degree!r}"
        )
    if scale_bits is not None and (not _is_int(scale_bits) or not 20 <= scale_bits <= 60):
        raise ConfigError(f"scale_bits must be None or an integer in [20, 60], got {scale_bits!r}")
    if not _is_real(softargmax_error) or not 0.0 < float(softargmax_error) < math.inf:
        raise ConfigError(f"softargmax_error must be a positive finite number, got {softargmax_error!r}")
    if not isinstance(flooding, (bool, np.bool_)):
        raise ConfigError(
            f"flooding must be True (flood every decryption, the default) or False (opt out: re-opens the "
            f"Li-Micciancio key recovery), got {flooding!r}"
        )
    if not _is_int(statistical_security) or not 1 <= statistical_security <= 128:
        raise ConfigError(f"statistical_security must be an integer in [1, 128], got {statistical_security!r}")
    check_memory_limit(memory_limit)


def check_memory_limit(memory_limit) -> float:
    """None (no limit) or a positive number of bytes.

    Args:
        memory_limit: the limit.

    Returns:
        The limit as a float (inf for None).

    Raises:
        ConfigError: neither None nor a positive number.
    """
    if memory_limit is None:
        return math.inf
    if not _is_real(memory_limit) or not float(memory_limit) > 0 or math.isnan(float(memory_limit)):
        raise ConfigError(f"memory_limit must be None or a positive number of bytes, got {memory_limit!r}")
    return float(memory_limit)


def check_weights(model) -> None:
    """Every parameter of ``model`` is finite.

    Args:
        model: an ``nn.Sequential``.

    Raises:
        ConfigError: a weight is NaN or infinite (the message names the parameter).
    """
    for name, value, _ in model.parameters():
        array = np.asarray(value)
        if array.dtype.kind not in "biuf" or not np.all(np.isfinite(array)):
            raise ConfigError(f"the model's parameter {name} contains NaN, infinity or non-numbers; retrain or fix it")


def estimate_plan_bytes(model, input_shape: tuple[int, ...], samples: int, layouts: int) -> int:
    """Bytes compile holds at once for the plan (module docstring), from the layers' shapes.

    The shapes come from one forward pass of a zero sample (after `check_shape` bounded its size).

    Args:
        model: the ``nn.Sequential``.
        input_shape: the checked sample shape.
        samples: calibration samples.
        layouts: candidate layouts planned (1, or 2 for ``layout="auto"``).

    Returns:
        The estimate in bytes.

    Raises:
        ShapeError: the model does not accept ``input_shape``.
    """
    x = np.zeros((1, *input_shape))
    widths, dense, diagonals = [x.size], 0, 0
    for layer in model.layers:
        try:
            y = layer.forward(x)
        except (ValueError, TypeError, IndexError) as exc:
            raise ShapeError(f"the model does not accept input_shape {input_shape}: {exc}") from exc
        if type(layer).__name__ in ("AvgPool2d", "Conv2d", "Linear"):  # an affine stage: dense matrix + diagonals
            dense += x.size * y.size
            width = max(x.size, y.size)
            diagonals += width * (1 << max(width - 1, 1).bit_length())
        x = y
        widths.append(x.size)
    return 8 * (layouts * (DENSE_COPIES * dense + 2 * diagonals) + 3 * samples * sum(widths))


def check_memory(what: str, estimate: float, memory_limit: float) -> None:
    """Refuse an estimate above the limit before allocating.

    Args:
        what: what would take the memory (for the message).
        estimate: bytes.
        memory_limit: bytes (inf: no limit).

    Raises:
        ResourceLimitError: ``estimate`` > ``memory_limit``.
    """
    if estimate > memory_limit:
        raise ResourceLimitError(
            f"{what} would take about {estimate / 2**30:.3g} GiB, above memory_limit={memory_limit / 2**30:.3g} GiB; "
            "use a smaller model, input or batch_size, or pass a larger memory_limit (None: no limit)"
        )


def ciphertext_bytes(layout: str, batch_size: int, features: int, outputs: int, params, copies: int = 1) -> int:
    """Bytes of the input and output ciphertexts of one full batch under ``params``.

    Args:
        layout: "sample" or "batch".
        batch_size: samples.
        features: values per input sample.
        outputs: values per output sample.
        params: the `nn.encrypted.params.ParameterChoice`.
        copies: samples per ciphertext (the sample layout's interleaving).

    Returns:
        The estimate in bytes.
    """
    per_ct = 2 * (params.depth + 1) * params.poly_degree * 8
    if layout == "sample":
        count = 2 * -(-batch_size // copies)
    else:
        count = -(-batch_size // params.slots) * (features + outputs)
    return count * per_ct
