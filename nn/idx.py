"""Reader (and writer) for IDX files, the format of the MNIST distribution.

An IDX file is big-endian: two zero bytes, a type code, the number of
dimensions ``d``, then ``d`` 32-bit sizes, then the data in C order.  Type
codes: ``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32,
``0x0D`` float32, ``0x0E`` float64.  Files ending in ``.gz`` are decompressed.
The full MNIST is not shipped (10,000 of its digits are: ``nn.datasets.load_mnist()``);
`load_mnist` reads the four files a user already has on disk.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from nn.errors import IDXFormatError

__all__ = ["IDX_TYPES", "load_mnist", "read_idx", "write_idx"]

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    path = Path(path)
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as exc:
            raise IDXFormatError(f"{path}: not a valid gzip file: {exc}") from exc
    return path.read_bytes()


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a native-endian numpy array.

    Raises:
        IDXFormatError: a truncated or malformed header, an unknown type code, or a size that does not match the header.
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXFormatError(f"{path}: {len(data)} bytes is too short for an IDX header (4 bytes)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise IDXFormatError(f"{path}: bad IDX magic number (first two bytes must be 0); is this an IDX file?")
    if code not in IDX_TYPES:
        raise IDXFormatError(f"{path}: unknown IDX type code 0x{code:02X}; known: {[hex(c) for c in IDX_TYPES]}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(f"{path}: truncated header ({len(data)} bytes, need {header} for {ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IDXFormatError(
            f"{path}: file has {len(data)} bytes but header {shape} of {dtype.name} needs exactly {expected}"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in ``.gz``).

    Raises:
        IDXFormatError: more than 255 dimensions or a dtype IDX cannot store.
    """
    array = np.asarray(array)
    codes = {np.dtype(v).str[1:]: k for k, v in IDX_TYPES.items()}
    key = array.dtype.str[1:]
    if key not in codes:
        raise IDXFormatError(f"IDX cannot store dtype {array.dtype}; use uint8, int8, int16, int32, float32, float64")
    if array.ndim > 255:
        raise IDXFormatError("IDX stores at most 255 dimensions")
    body = struct.pack(f">HBB{array.ndim}I", 0, codes[key], array.ndim, *array.shape)
    body += array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(body)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).exists():
            return directory / name
    raise FileNotFoundError(f"{directory}: no {stem}[.gz]; download MNIST and pass its directory")


def load_mnist(directory: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)`` from the four standard MNIST IDX files in ``directory``.

    Images are returned as float64 ``(N, 1, 28, 28)`` scaled to [0, 1]; labels as int64.

    Raises:
        IDXFormatError: a malformed file, or images and labels that do not match.
    """
    d = Path(directory)
    out = []
    for part in ("train", "t10k"):
        images = read_idx(_find(d, f"{part}-images-idx3-ubyte"))
        labels = read_idx(_find(d, f"{part}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise IDXFormatError(f"{d}: {part} images {images.shape} and labels {labels.shape} do not match")
        out += [images[:, None].astype(np.float64) / 255.0, labels.astype(np.int64)]
    return out[0], out[1], out[2], out[3]
