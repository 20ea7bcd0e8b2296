"""Convolutions under encryption: client-side im2col (TenSEAL-compatible) and server-side transforms.

**Client-side im2col** for a first convolution (as TenSEAL's ``im2col_encoding`` and
``conv2d_im2col``): the client unrolls the L = OH * OW sliding windows of its
image and encrypts kernel entry r = (c, i, j) of window w in slot ``r L + w``::

    slot:  0 .. L-1        L .. 2L-1       ...   (R-1)L .. RL-1      (R = C k^2 rows)
           x[w, (0,0,0)]   x[w, (0,0,1)]   ...   x[w, (C-1,k-1,k-1)]

Output channel f of the convolution is ``sum_r W[f, r] * (block r)``, written to
block f: the linear map has diagonals only at multiples of L, ``k = (r - f) L``,
so R + F - 1 plaintext products and about 2 sqrt(R + F) rotations.  TenSEAL
instead multiplies by the replicated kernel and sums the R blocks with
log2(R) rotations per output channel, one ciphertext per channel.  The slot
order of the input is the same, so the same client encoding serves both.

**Server-side convolution** (any convolution, in particular the second and later
ones, which TenSEAL cannot do: its issue #403): on the channel-major layout
``slot c H W + h W + w`` the convolution is a linear map whose generalized
diagonals are ``k = (c - f) H W + di W + dj`` (input channel c, output channel
f, kernel offset (di, dj), with zero entries where the window leaves the
image): at most (C + F - 1) k^2 diagonals, evaluated by the BSGS transform of
`nn.encrypted.sample_layout` in one level.  A following average pool,
flatten and linear layer are composed into the same map when no activation
separates them (Toeplitz/diagonal packing, as in Orion; the multiplexed
packing of Lee et al. would interleave channels to keep strided outputs dense,
which this plan does not need for stride-1 convolutions).
"""

from __future__ import annotations

import numpy as np

from nn.encrypted.plan import _affine_of, im2col_vector
from nn.layers import Conv2d


def im2col_encoding(context, images: np.ndarray, conv: Conv2d):
    """Encrypt one image's im2col patches in the slot order above.

    Args:
        context: a ``ckks.Context``.
        images: one image of shape (C, H, W).
        conv: the convolution whose kernel, stride and padding set the windows.

    Returns:
        ``(vector, windows)``: the encrypted patches (a ``ckks.CKKSVector``) and L.

    Raises:
        ShapeError: the image does not fit the convolution.
        InputError: more patch values than slots.
    """
    x = np.asarray(images, dtype=np.float64)[None]
    k = conv.kernel_size
    oh = (x.shape[2] + 2 * conv.padding - k) // conv.stride + 1
    ow = (x.shape[3] + 2 * conv.padding - k) // conv.stride + 1
    info = {"kernel": k, "stride": conv.stride, "padding": conv.padding, "windows": oh * ow,
            "rows": x.shape[1] * k * k}
    return context.encrypt(im2col_vector(x, info)[0]), oh * ow


def convolution_matrix(conv: Conv2d, input_shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The (C H W, F OH OW) matrix and bias of a convolution on the channel-major layout.

    Args:
        conv: the layer.
        input_shape: (C, H, W).

    Returns:
        ``(M, b)`` with ``conv(x).reshape(-1) = x.reshape(-1) @ M + b``.
    """
    matrix, bias, _ = _affine_of([conv], tuple(input_shape))
    return matrix, bias


def diagonal_count(matrix: np.ndarray) -> int:
    """The number of non-zero generalized diagonals d_k[j] = M[j + k, j] (the cost of the transform)."""
    n, m = matrix.shape
    rows, cols = np.nonzero(matrix)
    return int(np.unique(rows - cols).size)
