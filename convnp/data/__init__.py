"""Datasets and batching: IDX files, MNIST / Fashion-MNIST, and the ``DataLoader``.

* ``idx.py``: the IDX file format (``read_idx``, ``write_idx``).
* ``mnist.py``: finding, downloading, checking and loading MNIST and Fashion-MNIST.
* ``sample.py``: the small MNIST sample shipped with the package (``load_mnist_sample``)
  and ``load_or_sample``, which falls back to it when a full dataset cannot be had.
* ``augment.py``: random flips and shifts (``random_horizontal_flip``, ``random_shift``,
  and ``Augment``, a ``DataLoader`` transform that does either or both).
* ``loader.py``: mini-batches (``DataLoader``) and preprocessing (``normalize``,
  ``one_hot``, ``train_val_split``).
"""

from convnp.data.augment import Augment, random_horizontal_flip, random_shift
from convnp.data.idx import read_idx, write_idx
from convnp.data.loader import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    MNIST_MEAN,
    MNIST_STD,
    DataLoader,
    normalize,
    one_hot,
    train_val_split,
)
from convnp.data.mnist import (
    FASHION_MNIST_MIRRORS,
    MNIST_MIRRORS,
    DatasetNotFoundError,
    DownloadError,
    download_dataset,
    download_file,
    load_fashion_mnist,
    load_mnist,
)
from convnp.data.sample import load_mnist_sample, load_or_sample

__all__ = [
    "FASHION_MNIST_MEAN", "FASHION_MNIST_MIRRORS", "FASHION_MNIST_STD", "MNIST_MEAN",
    "MNIST_MIRRORS", "MNIST_STD", "Augment", "DataLoader",
    "DatasetNotFoundError", "DownloadError", "download_dataset", "download_file",
    "load_fashion_mnist", "load_mnist", "load_mnist_sample",
    "load_or_sample", "normalize", "one_hot", "random_horizontal_flip", "random_shift",
    "read_idx", "train_val_split", "write_idx",
]
