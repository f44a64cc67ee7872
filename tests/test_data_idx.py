"""Tests for convnp.data.idx: IDX round trips and every kind of corrupt file."""

import gzip
import os

import numpy as np
import pytest

from convnp.data import read_idx, write_idx
from convnp.data.idx import decode_idx, encode_idx
from convnp.files import atomic_writer

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def _example(dtype) -> np.ndarray:
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    return rng.standard_normal((3, 4, 5)).astype(dtype)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_every_dtype(tmp_path, dtype, suffix):
    array = _example(dtype)
    path = tmp_path / f"data-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_gz_file_is_really_gzipped_and_raw_is_not(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "a", array)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a").read_bytes()[:4] == bytes([0, 0, 0x08, 2])


def test_header_layout_is_big_endian():
    data = encode_idx(np.array([1, 256], dtype=np.int16))
    assert data == bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0, 1, 1, 0])


def test_gzip_detected_by_content_without_gz_name(tmp_path):
    array = np.arange(6, dtype=np.int32)
    (tmp_path / "noext").write_bytes(gzip.compress(encode_idx(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "noext"), array)


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "x.gz"
    write_idx(path, np.zeros(5, dtype=np.uint8))
    write_idx(path, np.ones(7, dtype=np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gz"]
    np.testing.assert_array_equal(read_idx(path), np.ones(7, dtype=np.uint8))


def test_failed_write_keeps_old_file(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.arange(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="int64"):
        write_idx(path, np.arange(3, dtype=np.int64))
    np.testing.assert_array_equal(read_idx(path), np.arange(3, dtype=np.uint8))
    assert os.listdir(tmp_path) == ["x"]


def test_atomic_writer_interrupted_leaves_nothing(tmp_path):
    path = tmp_path / "out.bin"
    with pytest.raises(KeyboardInterrupt), atomic_writer(path) as f:
        f.write(b"half of it")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_write_rejects_0d_array(tmp_path):
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x", np.array(3, dtype=np.uint8))


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


GOOD = encode_idx(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x00" + GOOD[2:], r"bad magic number.*0x00 0x00.*0x01 0x00"),
        (GOOD[:2] + b"\x07" + GOOD[3:], r"unknown dtype code 0x07"),
        (GOOD[:-1], r"truncated payload.*needs 24 bytes.*found 23"),
        (GOOD + b"\x00\x00", r"extra bytes.*needs 24 bytes.*found 26"),
        (GOOD[:10], r"truncated header.*16 bytes, file has 10"),
        (GOOD[:3], r"too short"),
        (bytes([0, 0, 8, 0]), r"number of dimensions is 0"),
    ],
    ids=["magic", "dtype", "truncated", "extra", "header", "tiny", "ndim0"],
)
@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_files_raise_value_error_naming_file(tmp_path, data, message, gz):
    name = "bad-idx.gz" if gz else "bad-idx"
    path = _write(tmp_path, name, gzip.compress(data) if gz else data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda gz: gz[: len(gz) // 2],                       # stream cut short
        lambda gz: gz[:-8] + b"\xff\xff\xff\xff" + gz[-4:],  # wrong CRC
        lambda gz: gz[:12] + b"\xff" * 8 + gz[20:],          # garbage in deflate data
        lambda gz: b"not gzip at all",                       # .gz name, no gzip header
    ],
    ids=["truncated", "crc", "garbage", "not-gzip"],
)
def test_corrupt_gzip_raises_value_error_naming_file(tmp_path, mangle):
    big = encode_idx(np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8))
    path = _write(tmp_path, "images-idx3-ubyte.gz", mangle(gzip.compress(big)))
    with pytest.raises(ValueError, match="gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_decode_idx_docstring_example():
    np.testing.assert_array_equal(decode_idx(bytes([0, 0, 0x08, 1, 0, 0, 0, 2, 7, 9])),
                                  np.array([7, 9], dtype=np.uint8))


def test_decode_idx_of_a_file_name_points_to_read_idx():
    with pytest.raises(TypeError, match=r"decode_idx: data must be the file's bytes, got str; "
                                        r"to read a file by name, use read_idx"):
        decode_idx("train-images-idx3-ubyte")
