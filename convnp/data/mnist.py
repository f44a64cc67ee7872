"""Finding, downloading, checking and loading MNIST and Fashion-MNIST.

``load_mnist("train")`` looks for the standard IDX files, in this order:

1. the ``root`` argument, if given;
2. the folder named by the ``CONVNP_DATA`` environment variable, if set;
3. ``~/.cache/convnp``.

In each of these it accepts the four standard names (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), raw
or with ``.gz``, directly inside the folder or in a ``mnist/`` (``fashion-mnist/`` for
Fashion-MNIST) subfolder. The image and label files of a split must sit in the same folder.

If nothing is found and ``download=True``, the ``.gz`` files are downloaded into the
``mnist/`` (or ``fashion-mnist/``) subfolder of the *first* of those three places that is
given: ``root`` if passed, else ``$CONVNP_DATA`` if set, else ``~/.cache/convnp``. Each
mirror is tried in turn; a download is written to a temporary file that is renamed only
after its MD5 matches the published sum, so the cache never holds a partial file.

Checks after loading: images are uint8 of shape (N, 28, 28), labels are in 0..9 and their
count equals N. The canonical counts (60000 train, 10000 test) are only required with
``verify=True``, which also checks the MD5 of the decompressed files; without it, smaller
files in the standard format load too (the tests use 20-image fixtures).

The small sample shipped with the package, and the fall-back to it, are in ``sample.py``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convnp.data.idx import decode_idx, read_idx_bytes
from convnp.files import atomic_writer
from convnp.validate import check_bool, check_float

#: Seconds to wait on each network operation (connect, each read) before giving up.
DEFAULT_TIMEOUT = 30.0

MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MNIST_MIRRORS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)

SPLIT_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES: dict[str, int] = {"train": 60000, "test": 10000}

#: MD5 of the *decompressed* files; these hold for any re-compressed copy too.
MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
FASHION_MNIST_MD5: dict[str, str] = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

#: MD5 of the published ``.gz`` downloads, checked by :func:`download_file`.
MNIST_GZ_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MNIST_GZ_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}


class DownloadError(RuntimeError):
    """Every mirror failed for a file; the message lists each mirror's failure."""


class DatasetNotFoundError(FileNotFoundError):
    """The dataset is not on disk and could not be downloaded.

    The message lists every folder searched and how to supply the files.
    """


@dataclass(frozen=True)
class _Dataset:
    """What differs between MNIST and Fashion-MNIST."""

    title: str
    subfolder: str
    mirrors: tuple[str, ...]
    md5: Mapping[str, str]
    gz_md5: Mapping[str, str]


_MNIST = _Dataset("MNIST", "mnist", MNIST_MIRRORS, MNIST_MD5, MNIST_GZ_MD5)
_FASHION = _Dataset("Fashion-MNIST", "fashion-mnist", FASHION_MNIST_MIRRORS, FASHION_MNIST_MD5,
                    FASHION_MNIST_GZ_MD5)


def data_dirs(root: str | os.PathLike | None = None) -> list[Path]:
    """Return the base folders searched, in order: ``root``, ``$CONVNP_DATA``, ``~/.cache/convnp``.

    Args:
        root: an explicit folder, or None to skip it.

    Returns:
        The folders (they need not exist). The first one is where downloads go.
    """
    dirs = []
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"data_dirs: root (the data folder) must be a str or os.PathLike, got "
                            f"{type(root).__name__} {root!r}")
        dirs.append(Path(root).expanduser())
    if os.environ.get("CONVNP_DATA"):
        dirs.append(Path(os.environ["CONVNP_DATA"]).expanduser())
    dirs.append(Path.home() / ".cache" / "convnp")
    return dirs


def _find_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` or ``folder/name.gz``, whichever exists (raw preferred), else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _find_split(folders: Sequence[Path], names: Sequence[str]) -> list[Path] | None:
    """The paths of ``names`` in the first folder that holds all of them, else None."""
    for folder in folders:
        paths = [_find_file(folder, name) for name in names]
        if all(p is not None for p in paths):
            return paths
    return None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _fetch(url: str, dest: Path, md5: str, timeout: float) -> None:
    """Download ``url`` to ``dest`` via a temporary file, renamed only if the MD5 matches."""
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    with urllib.request.urlopen(url, timeout=timeout) as response, atomic_writer(dest) as f:
        declared = response.headers.get("Content-Length")
        while chunk := response.read(1 << 16):
            digest.update(chunk)
            f.write(chunk)
            received += len(chunk)
        # http.client returns b"" (no error) when the server closes the connection early.
        if declared is not None and received != int(declared):
            raise http.client.IncompleteRead(b"", int(declared) - received)
        if digest.hexdigest() != md5:
            raise ValueError(f"checksum mismatch: expected MD5 {md5}, got {digest.hexdigest()}")


def download_file(filename: str, folder: str | os.PathLike, mirrors: Sequence[str],
                  md5: str, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Download ``filename`` from the first mirror that serves it with the right MD5.

    Args:
        filename: e.g. ``"train-images-idx3-ubyte.gz"``; appended to each mirror URL.
        folder: where to save it (created if needed).
        mirrors: base URLs to try in turn, e.g. :data:`MNIST_MIRRORS`.
        md5: the published MD5 of the file as downloaded.
        timeout: seconds allowed for the connection and for each read.

    Returns:
        The path of the verified file, ``folder/filename``.

    Raises:
        DownloadError: if every mirror failed (HTTP error, dropped connection, timeout,
            wrong checksum); the message lists each mirror's failure. Nothing is left in
            ``folder`` by a failed attempt.

    Example (needs the network, so it is not run as a test)::

        download_file("t10k-labels-idx1-ubyte.gz", "data/mnist", MNIST_MIRRORS,
                      MNIST_GZ_MD5["t10k-labels-idx1-ubyte.gz"])
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / filename
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            _fetch(url, dest, md5, timeout)
        except (OSError, ValueError, http.client.HTTPException) as err:
            failures.append(f"  {url}: {type(err).__name__}: {err}")
        else:
            return dest
    tried = "\n".join(failures) if failures else "  (no mirrors given)"
    raise DownloadError(f"download_file: could not download {filename} into {folder}:\n{tried}")


def download_dataset(name: str = "mnist", root: str | os.PathLike | None = None, *,
                     splits: Sequence[str] = ("train", "test"),
                     mirrors: Sequence[str] | None = None,
                     checksums: Mapping[str, str] | None = None,
                     timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Download the ``.gz`` files of MNIST or Fashion-MNIST into the data folder.

    Files already present there (raw or ``.gz``) are kept as they are.

    Args:
        name: ``"mnist"`` or ``"fashion-mnist"``.
        root: base folder; None means ``$CONVNP_DATA`` if set, else ``~/.cache/convnp``.
        splits: which splits to fetch.
        mirrors: base URLs to try in turn; None means the dataset's standard mirrors.
        checksums: ``{"train-images-idx3-ubyte.gz": md5, ...}``; None means the published
            sums. Tests pass the sums of the files they serve.
        timeout: seconds allowed for each connection and read.

    Returns:
        The folder holding the files, e.g. ``~/.cache/convnp/mnist``.

    Raises:
        ValueError: for an unknown ``name`` or split, or a file missing from ``checksums``.
        DownloadError: if a file could not be downloaded from any mirror.
    """
    datasets = {"mnist": _MNIST, "fashion-mnist": _FASHION}
    if name not in datasets:
        raise ValueError(f"download_dataset: name must be one of {sorted(datasets)}, "
                         f"got {name!r}")
    spec = datasets[name]
    mirrors = spec.mirrors if mirrors is None else mirrors
    checksums = spec.gz_md5 if checksums is None else checksums
    for arg, value in (("splits", splits), ("mirrors", mirrors)):
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"download_dataset: {arg} must be a list of strings, got {value!r}")
    check_float("download_dataset", "timeout", timeout, min=0, min_open=True)
    folder = data_dirs(root)[0] / spec.subfolder
    for split in splits:
        for stem in _split_names(split, "download_dataset"):
            if _find_file(folder, stem) is not None:
                continue
            filename = f"{stem}.gz"
            if filename not in checksums:
                raise ValueError(f"download_dataset: no MD5 given for {filename}; checksums "
                                 f"has {sorted(checksums)}")
            download_file(filename, folder, mirrors, checksums[filename], timeout)
    return folder


def _split_names(split: str, caller: str) -> tuple[str, str]:
    if split not in SPLIT_FILES:
        raise ValueError(f"{caller}: split must be 'train' or 'test', got {split!r}")
    return SPLIT_FILES[split]


def _not_found_message(spec: _Dataset, split: str, folders: Sequence[Path], why: str) -> str:
    looked = "\n".join(f"  {folder}" for folder in folders)
    images, labels = SPLIT_FILES[split]
    return (
        f"could not find the {split!r} split of {spec.title}.\n"
        f"Looked for {images} and {labels} (raw or .gz) in:\n{looked}\n{why}\n"
        f"To use files you already have, put the four files (train-images-idx3-ubyte, "
        f"train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, raw or "
        f".gz) in a folder and pass root=FOLDER or set the environment variable "
        f"CONVNP_DATA=FOLDER (a '{spec.subfolder}/' subfolder works too)."
    )


def _check(images: np.ndarray, labels: np.ndarray, paths: Sequence[Path], split: str,
           verify: bool, caller: str) -> None:
    """Sanity-check shapes, dtypes, counts and label range; raise ValueError naming the file."""
    image_path, label_path = paths
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{caller}: {image_path}: expected uint8 images of shape (N, 28, 28), "
                         f"got {images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{caller}: {label_path}: expected 1-D uint8 labels, got "
                         f"{labels.dtype} of shape {labels.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{caller}: {label_path} has {len(labels)} labels but {image_path} "
                         f"has {len(images)} images; expected equal counts")
    if len(labels) and labels.max() > 9:
        raise ValueError(f"{caller}: {label_path}: expected labels in 0..9, got a maximum of "
                         f"{labels.max()}")
    if verify and len(images) != SPLIT_SIZES[split]:
        raise ValueError(f"{caller}: {image_path}: expected {SPLIT_SIZES[split]} images for "
                         f"the full {split!r} split, got {len(images)}")


def _refuse_the_other_dataset(spec: _Dataset, name: str, path: Path, digest: str,
                              caller: str) -> None:
    """Raise a ValueError if a full-size image file is the other dataset's.

    MNIST and Fashion-MNIST use the same file names, so a folder of the one is easily
    given for the other, and both train without complaint. One MD5 of the decompressed
    images (60 ms for the training set) tells them apart; only a positive match with the
    other dataset's published sum is an error, so other copies still load.
    """
    other = _FASHION if spec is _MNIST else _MNIST
    if digest == other.md5[name]:
        raise ValueError(f"{caller}: {path} is {other.title}'s {name}, not {spec.title}'s "
                         f"(the two datasets use the same file names); give the folder of "
                         f"{spec.title} instead")


def _load(spec: _Dataset, split: str, root: str | os.PathLike | None, download: bool,
          verify: bool, mirrors: Sequence[str] | None, checksums: Mapping[str, str] | None,
          timeout: float, caller: str) -> tuple[np.ndarray, np.ndarray]:
    check_bool(caller, "download", download)  # 'no' would count as True
    check_bool(caller, "verify", verify)
    names = _split_names(split, caller)
    folders = [f for base in data_dirs(root) for f in (base, base / spec.subfolder)]
    paths = _find_split(folders, names)
    if paths is None:
        if not download:
            why = "download=False, so nothing was downloaded."
            raise DatasetNotFoundError(f"{caller}: " + _not_found_message(spec, split, folders,
                                                                            why))
        try:
            folder = download_dataset(spec.subfolder, root, splits=(split,), mirrors=mirrors,
                                      checksums=checksums, timeout=timeout)
        except DownloadError as err:
            why = f"Downloading failed:\n{err}"
            raise DatasetNotFoundError(f"{caller}: " + _not_found_message(spec, split, folders,
                                                                            why)) from err
        paths = _find_split([folder], names)
    contents = [read_idx_bytes(path) for path in paths]
    images, labels = (decode_idx(data, str(path)) for data, path in zip(contents, paths))
    _check(images, labels, paths, split, verify, caller)
    digests = [_md5(data) for data in contents] if verify else []  # each file's once
    if len(images) == SPLIT_SIZES[split]:
        image_md5 = digests[0] if verify else _md5(contents[0])
        _refuse_the_other_dataset(spec, names[0], paths[0], image_md5, caller)
    for name, path, digest in zip(names, paths, digests):
        if digest != spec.md5[name]:
            raise ValueError(f"{caller}: {path}: MD5 of the decompressed data is {digest}, "
                             f"expected {spec.md5[name]} (corrupt or modified file)")
    return images, labels.astype(np.int64)


def load_mnist(split: str = "train", root: str | os.PathLike | None = None,
               download: bool = True, verify: bool = False, *,
               mirrors: Sequence[str] | None = None,
               checksums: Mapping[str, str] | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> tuple[np.ndarray, np.ndarray]:
    """Load the MNIST handwritten digits, downloading them if needed.

    See the module docstring for where the files are looked for and downloaded to.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        root: a folder to look in first (and to download into, if given).
        download: fetch the files if they are not found.
        verify: also check the MD5 of the decompressed files and the canonical counts.
        mirrors: base URLs to download from; None means :data:`MNIST_MIRRORS`.
        checksums: MD5 of each ``.gz`` download; None means :data:`MNIST_GZ_MD5`.
        timeout: seconds allowed for each network connection and read.

    Returns:
        ``(images, labels)``: uint8 of shape (N, 28, 28) with pixels 0..255, and int64 of
        shape (N,) with digits 0..9.

    Raises:
        DatasetNotFoundError: if the files are not found and could not be downloaded.
        ValueError: if a file is corrupt or fails a check; the message names the file.

    Example (needs the files or the network, so it is not run as a test)::

        images, labels = load_mnist("test")
        images.shape, labels[:3]     # ((10000, 28, 28), array([7, 2, 1]))
    """
    return _load(_MNIST, split, root, download, verify, mirrors, checksums, timeout,
                 "load_mnist")


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None,
                       download: bool = True, verify: bool = False, *,
                       mirrors: Sequence[str] | None = None,
                       checksums: Mapping[str, str] | None = None,
                       timeout: float = DEFAULT_TIMEOUT) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST (Zalando's 28x28 clothing images), downloading it if needed.

    Same files, layout and checks as :func:`load_mnist`; the subfolder is
    ``fashion-mnist/`` and the labels 0..9 mean T-shirt/top, Trouser, Pullover, Dress,
    Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        root: a folder to look in first (and to download into, if given).
        download: fetch the files if they are not found.
        verify: also check the MD5 of the decompressed files and the canonical counts.
        mirrors: base URLs to download from; None means :data:`FASHION_MNIST_MIRRORS`.
        checksums: MD5 of each ``.gz`` download; None means :data:`FASHION_MNIST_GZ_MD5`.
        timeout: seconds allowed for each network connection and read.

    Returns:
        ``(images, labels)``: uint8 (N, 28, 28) and int64 (N,).

    Raises:
        DatasetNotFoundError: if the files are not found and could not be downloaded.
        ValueError: if a file is corrupt or fails a check; the message names the file.
    """
    return _load(_FASHION, split, root, download, verify, mirrors, checksums, timeout,
                 "load_fashion_mnist")

