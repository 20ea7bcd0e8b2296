"""The remedy for an input of the wrong shape, for `nn.errors.ShapeError` messages.

``nn`` models take a batch first: ``(batch, features)`` for dense models and
``(batch, channels, height, width)`` (NCHW) for convolutional ones.  The usual
mistakes each have one fix, and the message names the one that applies:

| what was passed | fix |
|---|---|
| one sample without the batch axis | ``x[None]`` |
| images without the channel axis (one channel) | ``x[:, None]`` |
| one image without batch and channel axes | ``x[None, None]`` |
| channels-last images (Keras/TensorFlow, NHWC) | ``x.transpose(0, 3, 1, 2)`` |
| flat rows for an image model | ``x.reshape(-1, C, H, W)`` |
| images for a dense model | ``x.reshape(len(x), -1)`` |
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["conv_input_hint", "input_shape_hint", "linear_input_hint"]


def _fmt(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def input_shape_hint(shape: Sequence[int], sample_shape: Sequence[int]) -> str:
    """The remedy for an array of shape ``shape`` given where ``(batch, *sample_shape)`` is expected.

    Args:
        shape: the shape of the array that was passed.
        sample_shape: the shape of one sample the model takes (without the batch axis).

    Returns:
        One sentence naming the fix that applies (``x[None]``, ``x[:, None]``, ``x.transpose(0, 3, 1, 2)``,
        ``x.reshape(...)``), or, when none does, what the shape must be.
    """
    got = tuple(int(d) for d in shape)
    want = tuple(int(d) for d in sample_shape)
    size = math.prod(want)
    if got == want:
        return f"the batch axis is missing: for a single sample pass x[None] (shape {_fmt((1, *want))})"
    if len(want) == 3:
        c, h, w = want
        if len(got) == 4 and got[1:] == (h, w, c) and c != h:
            return "these are channels-last (NHWC) images; nn takes channels-first (NCHW): pass x.transpose(0, 3, 1, 2)"
        if c == 1 and len(got) == 3 and got[1:] == (h, w):
            return f"the channel axis is missing: pass x[:, None] (shape {_fmt((got[0], 1, h, w))})"
        if c == 1 and got == (h, w):
            return f"batch and channel axes are missing: for one image pass x[None, None] (shape {_fmt((1, *want))})"
        if got == (h, w, c) and c != h:
            return f"one channels-last image, no batch axis: pass x.transpose(2, 0, 1)[None] (shape {_fmt((1, *want))})"
    if len(want) > 1 and len(got) == 2 and got[1] == size:
        return f"the input is flat; the model takes images: pass x.reshape(-1, {', '.join(map(str, want))})"
    if len(want) > 1 and got == (size,):
        return f"one flat sample; the model takes images: pass x.reshape(1, {', '.join(map(str, want))})"
    if len(want) == 1 and len(got) >= 3 and math.prod(got[1:]) == size:
        return f"the model takes flat rows of {size} features: pass x.reshape(len(x), -1)"
    return f"pass an array of shape (n, {', '.join(map(str, want))}): n samples of shape {_fmt(want)}, batch first"


def conv_input_hint(shape: Sequence[int], in_channels: int) -> str:
    """The remedy for an array of shape ``shape`` given to a convolution of ``in_channels`` channels (NCHW).

    Args:
        shape: the shape of the array that was passed.
        in_channels: the channels the layer takes.

    Returns:
        One sentence naming the fix that applies.
    """
    got = tuple(int(d) for d in shape)
    c = int(in_channels)
    if len(got) == 4 and got[3] == c and got[1] != c:
        return "these are channels-last (NHWC) images; nn takes channels-first (NCHW): pass x.transpose(0, 3, 1, 2)"
    if len(got) == 3 and got[0] == c:
        return f"one image without the batch axis? pass x[None] (shape {_fmt((1, *got))})"
    if len(got) == 3 and c == 1:
        return f"the channel axis is missing: pass x[:, None] (shape {_fmt((got[0], 1, *got[1:]))})"
    if len(got) == 3 and got[2] == c:
        return "one channels-last image without the batch axis? pass x.transpose(2, 0, 1)[None]"
    if len(got) == 2 and c == 1:
        side = math.isqrt(got[1])
        if side * side == got[1] and side > 1:
            return f"the input is flat; pass images: x.reshape(-1, 1, {side}, {side})"
        return f"one image without batch and channel axes? pass x[None, None] (shape {_fmt((1, 1, *got))})"
    if len(got) <= 2:
        return "the input is flat; pass images of shape (batch, channels, height, width): x.reshape(-1, C, H, W)"
    return "pass images of shape (batch, channels, height, width), channels first"


def linear_input_hint(shape: Sequence[int], in_features: int) -> str:
    """The remedy for an array of shape ``shape`` given to a linear layer of ``in_features`` inputs.

    Args:
        shape: the shape of the array that was passed.
        in_features: the features the layer takes.

    Returns:
        One sentence naming the fix that applies.
    """
    got = tuple(int(d) for d in shape)
    if got == (int(in_features),):
        return f"the batch axis is missing: for a single sample pass x[None] (shape (1, {in_features}))"
    if len(got) >= 3:
        return (
            "images reach a Linear layer: insert nn.Flatten() before it in the model, or pass flat rows "
            "x.reshape(len(x), -1)"
        )
    return f"pass rows of features: an array of shape (batch, {in_features})"
