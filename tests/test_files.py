"""atomic_writer: all or nothing, usual permissions, a clear error for a missing folder."""

import os

import pytest

from convnp.files import atomic_writer


def test_the_file_appears_only_when_complete(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(path) as f:
        f.write(b"new but")
        raise RuntimeError("interrupted")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]
    with atomic_writer(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.bin"]


def test_permissions_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_writer(tmp_path / "out.bin") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o644


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"the folder .*nowhere does not exist"):
        with atomic_writer(tmp_path / "nowhere" / "out.bin"):
            pass
