"""Reading and writing IDX files, the simple binary format MNIST is distributed in.

An IDX file is a 4-byte *magic number*, then one big-endian uint32 per dimension, then
the array's values in C order, big-endian::

    byte 0-1   0x00 0x00            always zero
    byte 2     dtype code           0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int,
                                    0x0D float, 0x0E double
    byte 3     ndim                 e.g. 3 for images (N, 28, 28), 1 for labels (N,)
    then       ndim x uint32        the size of each dimension
    then       the data             prod(dims) * itemsize bytes

MNIST ships these files compressed with gzip (``train-images-idx3-ubyte.gz``);
:func:`read_idx` accepts both forms. Every check names the file and says what was
expected and what was found, so a truncated download is easy to diagnose.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from convnp.files import atomic_writer

#: IDX dtype code -> NumPy dtype (big-endian, as stored on disk).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def read_idx_bytes(path: str | os.PathLike) -> bytes:
    """Return the (decompressed) bytes of an IDX file, raw or gzipped.

    A file is treated as gzip if its name ends in ``.gz`` or it starts with the gzip
    signature ``1f 8b`` (an IDX file always starts with ``00 00``).

    Args:
        path: the file to read.

    Returns:
        The IDX bytes, header included. :mod:`convnp.data.mnist` hashes these to check
        the canonical MD5 sums, which are defined on the decompressed files.

    Raises:
        ValueError: if the gzip stream is corrupt or truncated.
    """
    path = Path(path)
    data = path.read_bytes()
    if path.name.endswith(".gz") or data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"read_idx: {path}: corrupt or truncated gzip stream ({err})") from err
    return data


def decode_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an IDX file into a NumPy array (native byte order).

    Args:
        data: the whole (uncompressed) file content.
        source: the file name, used in error messages.

    Returns:
        An array whose dtype matches the IDX dtype code, e.g. uint8 for MNIST images.

    Raises:
        ValueError: on a bad magic number, unknown dtype code, short header, or a payload
            whose length does not match the dimensions.

    Example:
        >>> decode_idx(bytes([0, 0, 0x08, 1, 0, 0, 0, 2, 7, 9]))
        array([7, 9], dtype=uint8)
    """
    where = f"read_idx: {source}"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_idx: data must be the file's bytes, got {type(data).__name__}; "
                        f"to read a file by name, use read_idx(path)")
    if len(data) < 4:
        raise ValueError(f"{where}: file is {len(data)} bytes, too short for the 4-byte magic "
                         f"number")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{where}: bad magic number: expected the first two bytes to be "
                         f"0x00 0x00, got 0x{data[0]:02x} 0x{data[1]:02x} (not an IDX file?)")
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{where}: unknown dtype code 0x{code:02X}, expected one of {known}")
    if ndim == 0:
        raise ValueError(f"{where}: number of dimensions is 0, expected at least 1")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(f"{where}: truncated header: {ndim} dimensions need {header_len} "
                         f"bytes, file has {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no overflow
    if expected > np.iinfo(np.intp).max:
        raise ValueError(f"{where}: header dimensions {dims} of {dtype.name} describe "
                         f"{expected} bytes, more than any array can hold (corrupt header?)")
    actual = len(data) - header_len
    if actual != expected:
        problem = "truncated payload" if actual < expected else "extra bytes after the payload"
        raise ValueError(f"{where}: {problem}: shape {dims} of {dtype.name} needs {expected} "
                         f"bytes of data, found {actual}")
    values = np.frombuffer(data, dtype=dtype, offset=header_len)
    return values.reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) into a NumPy array.

    Args:
        path: the file, e.g. ``"mnist/train-images-idx3-ubyte.gz"``.

    Returns:
        The array, in native byte order, e.g. uint8 of shape (60000, 28, 28).

    Raises:
        ValueError: if the file is not a valid IDX file; the message names the file and
            what is wrong (expected vs actual).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte.gz")
        >>> write_idx(path, np.zeros((3, 28, 28), dtype=np.uint8))
        >>> images = read_idx(path)
        >>> images.shape, images.dtype
        ((3, 28, 28), dtype('uint8'))
    """
    return decode_idx(read_idx_bytes(path), str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """Return the IDX bytes (header + big-endian data) for ``array``.

    Args:
        array: uint8, int8, int16, int32, float32 or float64, at least 1-D.

    Returns:
        The uncompressed file content.

    Raises:
        ValueError: for a dtype IDX cannot store (e.g. int64) or a 0-d array.
    """
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        allowed = ", ".join(dt.name for dt in codes)
        raise ValueError(f"write_idx: IDX cannot store dtype {array.dtype}, expected one of "
                         f"{allowed} (cast first, e.g. labels.astype(np.uint8))")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"write_idx: array must have 1 to 255 dimensions, got {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"write_idx: every dimension must be < 2**32, got shape {array.shape}")
    header = bytes([0, 0, codes[native], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(native.newbyteorder(">")).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped if ``path`` ends in ``.gz``.

    The write is atomic: the bytes go to a temporary file in the same folder, which is
    renamed over ``path`` only once complete.

    Args:
        path: the file to create or replace.
        array: uint8, int8, int16, int32, float32 or float64, at least 1-D.

    Raises:
        ValueError: for a dtype IDX cannot store or a 0-d array.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
        >>> write_idx(path, np.array([5, 0, 4], dtype=np.uint8))
        >>> read_idx(path)
        array([5, 0, 4], dtype=uint8)
    """
    data = encode_idx(array)
    if str(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with atomic_writer(path) as f:
        f.write(data)
