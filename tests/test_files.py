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


def test_a_folder_as_the_target_is_named(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"cannot write {tmp_path}: it is a folder"):
        with atomic_writer(tmp_path):
            pass
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_folder_that_refuses_files_is_named_not_the_temporary_file():
    with pytest.raises(OSError, match=r"cannot write /proc/x.npz: the folder /proc refuses") as e:
        with atomic_writer("/proc/x.npz"):
            pass
    assert ".part" not in str(e.value)
