"""Tests for convnp.data.mnist: where files are found, the checks, the real data, the sample.

Fixture datasets are tiny (about 20 images) and written with ``write_idx``. The real-data
tests read ``$CONVNP_DATA`` (if set when the tests start) or ``<repo>/../shared/datasets``
and skip with a reason when it is absent. Nothing here touches the network.
"""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

import convnp.data.mnist as mnist
import convnp.data.sample as sample
from convnp.data import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    MNIST_MEAN,
    MNIST_STD,
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
    load_mnist_sample,
    load_or_sample,
    write_idx,
)
from convnp.data.idx import encode_idx

REAL_DATA = Path(os.environ.get("CONVNP_DATA")
                 or Path(__file__).resolve().parents[1].parent / "shared" / "datasets")


@pytest.fixture(autouse=True)
def isolated_places(tmp_path, monkeypatch):
    """No CONVNP_DATA, and a fresh empty HOME, so only what a test writes can be found."""
    monkeypatch.delenv("CONVNP_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def make_split(folder: Path, split: str = "train", n: int = 20, gz: bool = True,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Write a small dataset with the standard file names into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    image_name, label_name = mnist.SPLIT_FILES[split]
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{image_name}{suffix}", images)
    write_idx(folder / f"{label_name}{suffix}", labels)
    return images, labels


def assert_loaded(result, expected):
    images, labels = result
    assert images.dtype == np.uint8
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


# --- where the files are looked for --------------------------------------------------------

def test_root_beats_env_beats_home(tmp_path, monkeypatch):
    in_root = make_split(tmp_path / "root", n=20)
    in_env = make_split(tmp_path / "env", n=21)
    in_home = make_split(tmp_path / "home" / ".cache" / "convnp", n=22)
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "env"))
    assert_loaded(load_mnist("train", root=tmp_path / "root", download=False), in_root)
    assert_loaded(load_mnist("train", download=False), in_env)
    monkeypatch.delenv("CONVNP_DATA")
    assert_loaded(load_mnist("train", download=False), in_home)


def test_root_without_files_falls_back_to_env(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    in_env = make_split(tmp_path / "env", split="test")
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "env"))
    assert_loaded(load_mnist("test", root=tmp_path / "empty", download=False), in_env)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("sub", ["", "mnist"], ids=["direct", "subfolder"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_names_and_subfolders(tmp_path, gz, sub, split):
    expected = make_split(tmp_path / "data" / sub, split=split, gz=gz)
    assert_loaded(load_mnist(split, root=tmp_path / "data", download=False), expected)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_fashion_uses_its_own_subfolder(tmp_path, monkeypatch, gz):
    expected = make_split(tmp_path / "data" / "fashion-mnist", gz=gz)
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "data"))
    assert_loaded(load_fashion_mnist("train", download=False), expected)
    with pytest.raises(DatasetNotFoundError):
        load_mnist("train", download=False)


def test_direct_files_beat_subfolder(tmp_path):
    direct = make_split(tmp_path, n=20)
    make_split(tmp_path / "mnist", n=25)
    assert_loaded(load_mnist("train", root=tmp_path, download=False), direct)


def test_raw_and_gz_may_be_mixed_in_one_folder(tmp_path):
    images, labels = make_split(tmp_path, gz=True)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    assert_loaded(load_mnist("train", root=tmp_path, download=False), (images, labels))


def test_images_and_labels_must_share_a_folder(tmp_path, monkeypatch):
    make_split(tmp_path / "root")
    make_split(tmp_path / "env")
    (tmp_path / "root" / "train-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "env" / "train-images-idx3-ubyte.gz").unlink()
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError):
        load_mnist("train", root=tmp_path / "root", download=False)


def test_not_found_without_download_names_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test", root=tmp_path / "root", download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for place in ["root", "root/mnist", "env", "env/mnist", "home/.cache/convnp",
                  "home/.cache/convnp/mnist"]:
        assert f"{tmp_path / place}\n" in message
    for hint in ["t10k-images-idx3-ubyte", "CONVNP_DATA", "root=", "download=False"]:
        assert hint in message


def test_unknown_split_is_value_error(tmp_path):
    with pytest.raises(ValueError, match=r"load_mnist: split must be 'train' or 'test'.*'val'"):
        load_mnist("val", root=tmp_path, download=False)


# --- checks after loading ------------------------------------------------------------------

def _write_pair(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    write_idx(folder / "train-images-idx3-ubyte", images)
    write_idx(folder / "train-labels-idx1-ubyte", labels)


@pytest.mark.parametrize(
    ("images", "labels", "bad_file", "message"),
    [
        (np.zeros((5, 28, 28), np.uint8), np.zeros(4, np.uint8), "train-labels-idx1-ubyte",
         r"4 labels .* 5 images"),
        (np.zeros((5, 28, 28), np.uint8), np.array([0, 1, 2, 10, 3], np.uint8),
         "train-labels-idx1-ubyte", r"0\.\.9.*10"),
        (np.zeros((5, 27, 28), np.uint8), np.zeros(5, np.uint8), "train-images-idx3-ubyte",
         r"\(N, 28, 28\).*\(5, 27, 28\)"),
        (np.zeros((5, 28, 28), np.float32), np.zeros(5, np.uint8), "train-images-idx3-ubyte",
         r"uint8.*float32"),
        (np.zeros((5, 28, 28), np.uint8), np.zeros(5, np.int32), "train-labels-idx1-ubyte",
         r"uint8.*int32"),
    ],
    ids=["count-mismatch", "label-range", "image-shape", "image-dtype", "label-dtype"],
)
def test_sanity_checks_name_the_file(tmp_path, images, labels, bad_file, message):
    _write_pair(tmp_path, images, labels)
    with pytest.raises(ValueError, match=message) as info:
        load_mnist("train", root=tmp_path, download=False)
    assert str(tmp_path / bad_file) in str(info.value)


def test_corrupt_file_error_names_it(tmp_path):
    make_split(tmp_path, gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="truncated payload") as info:
        load_mnist("train", root=tmp_path, download=False)
    assert str(path) in str(info.value)


def test_verify_requires_canonical_counts(tmp_path):
    make_split(tmp_path, split="test", n=20)
    load_mnist("test", root=tmp_path, download=False)
    with pytest.raises(ValueError, match=r"expected 10000 images.*got 20") as info:
        load_mnist("test", root=tmp_path, download=False, verify=True)
    assert "t10k-images-idx3-ubyte" in str(info.value)


def test_verify_checks_md5_of_decompressed_bytes(tmp_path):
    images = np.zeros((10000, 28, 28), np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(10000, np.uint8))
    actual = hashlib.md5(encode_idx(images)).hexdigest()
    expected = mnist.MNIST_MD5["t10k-images-idx3-ubyte"]
    with pytest.raises(ValueError, match=f"MD5.*{actual}.*expected {expected}") as info:
        load_mnist("test", root=tmp_path, download=False, verify=True)
    assert str(tmp_path / "t10k-images-idx3-ubyte.gz") in str(info.value)


@pytest.mark.parametrize("load, other_md5", [(load_fashion_mnist, mnist.MNIST_MD5),
                                              (load_mnist, mnist.FASHION_MNIST_MD5)])
def test_the_other_datasets_files_are_named_not_trained_on(tmp_path, monkeypatch, load,
                                                            other_md5):
    images = np.zeros((10000, 28, 28), np.uint8)  # a full-size test split
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(10000, np.uint8))
    load("test", root=tmp_path, download=False)  # matches neither published sum: it loads
    monkeypatch.setitem(other_md5, "t10k-images-idx3-ubyte",
                        hashlib.md5(encode_idx(images)).hexdigest())
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz is (Fashion-)?MNIST's "
                                         r"t10k-images-idx3-ubyte, not"):
        load("test", root=tmp_path, download=False)


# --- the real files -------------------------------------------------------------------------

def real_root(dataset: str = "mnist") -> Path:
    if not (REAL_DATA / dataset / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"real {dataset} files not found in {REAL_DATA} (set CONVNP_DATA)")
    return REAL_DATA


@pytest.fixture(scope="module")
def mnist_train():
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CONVNP_DATA", raising=False)
        return load_mnist("train", root=real_root(), download=False, verify=True)


def test_real_mnist_loads_through_env_var(monkeypatch):
    monkeypatch.setenv("CONVNP_DATA", str(real_root()))
    images, labels = load_mnist("test", download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


def test_real_mnist_train(mnist_train):
    images, labels = mnist_train
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(np.bincount(labels),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])


def pixel_moments(images: np.ndarray) -> tuple[float, float]:
    """Mean and std after scaling to [0, 1], exact, from a histogram (no float copy)."""
    counts = np.bincount(images.ravel(), minlength=256)
    values = np.arange(256) / 255.0
    mean = (counts * values).sum() / counts.sum()
    return mean, np.sqrt((counts * values**2).sum() / counts.sum() - mean**2)


def test_real_mnist_pixel_statistics(mnist_train):
    images, _ = mnist_train
    np.testing.assert_allclose(pixel_moments(images), [MNIST_MEAN, MNIST_STD], atol=5e-5)
    np.testing.assert_allclose(pixel_moments(images), [0.1307, 0.3081], atol=5e-5)


def test_real_fashion_mnist_pixel_statistics():
    images, _ = load_fashion_mnist("train", root=real_root("fashion-mnist"), download=False)
    np.testing.assert_allclose(pixel_moments(images), [FASHION_MNIST_MEAN, FASHION_MNIST_STD],
                               atol=5e-5)


def test_real_mnist_test_verifies():
    images, _ = load_mnist("test", root=real_root(), download=False, verify=True)
    assert images.shape == (10000, 28, 28)


@pytest.mark.parametrize("split", ["train", "test"])
def test_real_fashion_mnist_verifies(split):
    images, labels = load_fashion_mnist(split, root=real_root("fashion-mnist"), download=False,
                                        verify=True)
    n = mnist.SPLIT_SIZES[split]
    assert images.shape == (n, 28, 28) and labels.shape == (n,)
    np.testing.assert_array_equal(np.bincount(labels), [n // 10] * 10)


def test_sample_digits_are_real_mnist_digits(mnist_train):
    images, labels = mnist_train
    with np.load(Path(sample.__file__).with_name(sample.SAMPLE_FILE)) as archive:
        idx = archive["idx_train"]
    x, y = load_mnist_sample("train")
    np.testing.assert_array_equal(x, images[idx])
    np.testing.assert_array_equal(y, labels[idx])


# --- the bundled sample ---------------------------------------------------------------------

@pytest.mark.parametrize(("split", "n"), [("train", 5000), ("test", 1000)])
def test_sample_shapes_dtypes_and_balance(split, n):
    images, labels = load_mnist_sample(split)
    assert images.shape == (n, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (n,) and labels.dtype == np.int64
    counts = np.bincount(labels, minlength=10)
    assert len(counts) == 10
    np.testing.assert_allclose(counts, n / 10, rtol=0.1)
    assert images.max() == 255 and images.min() == 0


def test_sample_file_is_small_and_needs_no_pickle():
    path = Path(sample.__file__).with_name(sample.SAMPLE_FILE)
    assert path.stat().st_size < 2_000_000
    with np.load(path, allow_pickle=False) as archive:
        assert {"x_train", "y_train", "x_test", "y_test"} <= set(archive.files)


def test_sample_unknown_split():
    with pytest.raises(ValueError, match="load_mnist_sample"):
        load_mnist_sample("validation")


def test_load_or_sample_falls_back_with_the_reason(tmp_path):
    x_train, y_train, x_test, y_test, fallback = load_or_sample(
        "fashion-mnist", root=tmp_path, download=False)
    assert fallback.startswith("load_fashion_mnist: could not find")
    assert (x_train.shape, x_test.shape) == ((5000, 28, 28), (1000, 28, 28))
    with pytest.raises(ValueError, match="load_or_sample: dataset must be one of"):
        load_or_sample("cifar10")


def test_load_or_sample_loads_the_full_dataset_when_present():
    *data, fallback = load_or_sample("mnist", root=real_root(), download=False)
    assert fallback is None and data[0].shape == (60000, 28, 28)


def test_a_real_mnist_folder_given_for_fashion_mnist_is_named():
    root = real_root("mnist") / "mnist"
    with pytest.raises(ValueError, match=r"is MNIST's t10k-images-idx3-ubyte, not "
                                         r"Fashion-MNIST's"):
        load_fashion_mnist("test", root=root, download=False)


@pytest.mark.parametrize("flag", ["download", "verify"])
def test_download_and_verify_must_be_bools(flag):
    with pytest.raises(TypeError, match=f"load_mnist: {flag} must be a bool, got str 'no'"):
        load_mnist("test", **{flag: "no"})  # 'no' used to count as True
