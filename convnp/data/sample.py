"""The MNIST sample shipped inside the package, and falling back to it.

``load_mnist_sample()`` needs no files at all: it returns 6,000 real digits (built by
``tools/make_mnist_sample.py``). ``load_or_sample()`` loads a full dataset if it can and
the sample otherwise, with the reason, so that examples always run: offline, on a first
try, in CI.
"""

from __future__ import annotations

import os
from importlib import resources

import numpy as np

from convnp.data.mnist import _split_names, load_fashion_mnist, load_mnist

SAMPLE_FILE = "mnist_sample.npz"


def load_mnist_sample(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load the small MNIST subset bundled with convnp (no download, no files needed).

    5,000 training and 1,000 test digits, 500 and 100 per class, drawn from the real
    MNIST splits by ``tools/make_mnist_sample.py``. Enough to try a model in seconds.

    Args:
        split: ``"train"`` or ``"test"``.

    Returns:
        ``(images, labels)``: uint8 (N, 28, 28) and int64 (N,).

    Example:
        >>> images, labels = load_mnist_sample("test")
        >>> images.shape
        (1000, 28, 28)
    """
    _split_names(split, "load_mnist_sample")
    resource = resources.files(__package__).joinpath(SAMPLE_FILE)
    with resource.open("rb") as f, np.load(f, allow_pickle=False) as archive:
        return archive[f"x_{split}"], archive[f"y_{split}"].astype(np.int64)


def load_or_sample(dataset: str = "mnist", root: str | os.PathLike | None = None,
                   download: bool = True) -> tuple:
    """Both splits of the full dataset, or the bundled MNIST sample if it cannot be had.

    Args:
        dataset: ``"mnist"`` or ``"fashion-mnist"``.
        root, download: as for ``load_mnist``.

    Returns:
        ``(x_train, y_train, x_test, y_test, fallback)``: uint8 images and int64 labels;
        ``fallback`` is None when the full dataset was loaded, else the one-line reason
        why the sample was used instead.

    Example (the full set if it is on disk, else the sample; never the network here):
        >>> x_train, y_train, x_test, y_test, fallback = load_or_sample("mnist", download=False)
        >>> x_train.dtype, y_train.dtype, len(x_train) in (5000, 60000)
        (dtype('uint8'), dtype('int64'), True)
    """
    loaders = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}
    if dataset not in loaders:
        raise ValueError(f"load_or_sample: dataset must be one of {sorted(loaders)}, got "
                         f"{dataset!r}")
    try:
        train = loaders[dataset]("train", root=root, download=download)
        test = loaders[dataset]("test", root=root, download=download)
        return (*train, *test, None)
    except (OSError, RuntimeError, ValueError) as error:
        reason = str(error).splitlines()[0]
    return (*load_mnist_sample("train"), *load_mnist_sample("test"), reason)
