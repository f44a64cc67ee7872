"""Batching and preprocessing: ``DataLoader``, ``normalize``, ``one_hot``, ``train_val_split``.

A typical training loop::

    images, labels = load_mnist("train")
    x_train, y_train, x_val, y_val = train_val_split(images, labels, 0.1,
                                                     rng=np.random.default_rng(0))
    loader = DataLoader(x_train, y_train, batch_size=64, rng=np.random.default_rng(1))
    for epoch in range(5):
        for xb, yb in loader:        # xb: float32 (64, 1, 28, 28) in [0, 1]; yb: int64 (64,)
            ...

All randomness comes from an explicit ``np.random.Generator``; NumPy's global random
state is never used, so a run is reproducible from its seeds alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from convnp.rng import generator_state, restore_generator
from convnp.validate import (
    check_bool,
    check_float,
    check_generator,
    check_int,
    check_state_dict,
)

#: Mean and standard deviation of the MNIST training pixels after scaling to [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
#: The same for Fashion-MNIST.
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530


def _to_float(x: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1] (divide by 255); floating -> float32 unchanged in value."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    return x.astype(np.float32)


class DataLoader:
    """Iterate over ``(x, y)`` in mini-batches, shuffled afresh every epoch.

    Each batch is converted on the fly, so the whole dataset is never copied to float:

    * ``xb`` is float32 of shape (B, C, H, W). An (N, H, W) input gains a channel axis,
      giving (B, 1, H, W); an (N, C, H, W) input keeps its shape.
      **uint8 input is scaled to [0, 1] by dividing by 255**; floating input is only cast
      to float32 (so normalise it yourself first if you want, see :func:`normalize`).
    * ``yb`` holds the labels: integer labels come as int64 (PyTorch's class-index
      dtype); floating labels (regression targets) keep their dtype and values, so a
      label such as 0.7 is never rounded to a class and a loss that needs classes
      (``CrossEntropyLoss``) refuses it with its own error.

    Args:
        x: uint8 or floating array of shape (N, H, W) or (N, C, H, W).
        y: labels, length N: an integer or floating array (bool, complex, strings and
            objects are refused).
        batch_size: samples per batch (the last one may be smaller).
        shuffle: draw a new random order at the start of every epoch.
        drop_last: skip the final batch if it has fewer than ``batch_size`` samples.
        rng: the generator used for shuffling (and by ``transform``); None means
            ``np.random.default_rng()``.
        transform: a function ``(xb, rng) -> xb`` applied to every batch while iterating,
            after the conversion to float32, such as ``convnp.data.Augment(flip=True)``.
            It draws from the loader's ``rng``, so ``state_dict`` covers its draws (but
            not the transform itself: resume with the same one), and the shuffles of
            later epochs differ from those of a loader without it. ``batch()`` does not
            apply it.

    Example:
        >>> x = np.zeros((10, 28, 28), dtype=np.uint8); y = np.arange(10)
        >>> loader = DataLoader(x, y, batch_size=4, rng=np.random.default_rng(0))
        >>> len(loader), [xb.shape[0] for xb, yb in loader]
        (3, [4, 4, 2])
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                 drop_last: bool = False, rng: np.random.Generator | None = None,
                 transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None
                 = None) -> None:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim not in (3, 4):
            raise ValueError(f"DataLoader: x must have shape (N, H, W) or (N, C, H, W), got "
                             f"shape {x.shape}")
        if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"DataLoader: x must be uint8 (scaled to [0, 1]) or floating, "
                            f"got {x.dtype}")
        if y.ndim == 0 or y.dtype.kind not in "iuf":
            raise TypeError(f"DataLoader: y must be an array of integer (class) or floating "
                            f"labels, got dtype {y.dtype} and shape {y.shape}")
        if len(x) != len(y):
            raise ValueError(f"DataLoader: x and y must have the same length, got len(x)="
                             f"{len(x)} and len(y)={len(y)}")
        self.batch_size = check_int("DataLoader", "batch_size", batch_size, min=1)
        self.shuffle = check_bool("DataLoader", "shuffle", shuffle)
        self.drop_last = check_bool("DataLoader", "drop_last", drop_last)
        self.rng = check_generator("DataLoader", "rng", rng) or np.random.default_rng()
        self.transform = _check_transform(transform)
        self.x = x if x.ndim == 4 else x[:, None]
        self.y = y.astype(np.int64) if y.dtype.kind in "iu" else y

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        n, b = len(self.x), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(xb, yb)`` batches for one epoch."""
        n = len(self.x)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for i in range(len(self)):
            xb, yb = self.batch(order[i * self.batch_size:(i + 1) * self.batch_size])
            if self.transform is not None:
                xb = self._transformed(xb)
            yield xb, yb

    def _transformed(self, xb: np.ndarray) -> np.ndarray:
        """``transform(xb, rng)``, checked to keep the batch's shape and dtype."""
        out = self.transform(xb, self.rng)
        if not isinstance(out, np.ndarray) or out.shape != xb.shape or out.dtype != xb.dtype:
            raise ValueError(f"DataLoader: transform must return an array of the batch's "
                             f"shape {xb.shape} and dtype {xb.dtype}, got "
                             f"{getattr(out, 'shape', type(out).__name__)} "
                             f"{getattr(out, 'dtype', '')}".rstrip())
        return out

    def batch(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The samples at the indices ``idx`` (1-D ints), converted as in iteration.

        Example:
            >>> loader = DataLoader(np.full((3, 2, 2), 255, np.uint8), np.arange(3), 2)
            >>> xb, yb = loader.batch(np.array([2, 0]))
            >>> xb.shape, xb.max(), yb
            ((2, 1, 2, 2), np.float32(1.0), array([2, 0]))
        """
        return _to_float(self.x[idx]), self.y[idx]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Return the generator's state, storable with ``np.savez`` (no pickle).

        Save it between epochs; :meth:`load_state_dict` on a fresh loader (with the same
        ``transform``) then makes it draw exactly the permutations and augmentations the
        original would have drawn next.

        Returns:
            ``{"rng_state": np.array(json_string)}``, the bit generator's state as JSON.

        Example:
            >>> loader = DataLoader(np.zeros((4, 2, 2)), np.arange(4), 2,
            ...                     rng=np.random.default_rng(0))
            >>> saved = loader.state_dict()
            >>> first = [y.tolist() for _, y in loader]
            >>> loader.load_state_dict(saved)
            >>> [y.tolist() for _, y in loader] == first
            True
        """
        return {"rng_state": generator_state(self.rng)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore the generator state saved by :meth:`state_dict`.

        Args:
            state: a dict (or an opened ``.npz``) with the key ``"rng_state"``.

        Raises:
            ValueError: if the key is missing or the state is for a different bit generator.
        """
        check_state_dict("DataLoader.load_state_dict", state)
        if "rng_state" not in state:
            raise ValueError(f"DataLoader.load_state_dict: expected the key 'rng_state', got "
                             f"keys {sorted(state)}")
        restore_generator(self.rng, state["rng_state"], "DataLoader.load_state_dict")

    def __repr__(self) -> str:
        transform = "" if self.transform is None else f", transform={self.transform!r}"
        return (f"DataLoader(n={len(self.x)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}{transform})")


def _check_transform(transform: Any) -> Callable | None:
    """Return ``transform`` if it can be called as ``transform(xb, rng)``; else TypeError."""
    if transform is None:
        return None
    if isinstance(transform, type):
        raise TypeError(f"DataLoader: transform must be an instance, got the class "
                        f"{transform.__name__}; pass e.g. {transform.__name__}(...)")
    try:
        inspect.signature(transform).bind(None, None)
    except TypeError:
        raise TypeError(f"DataLoader: transform must be a function (xb, rng) -> xb, got "
                        f"{transform!r}") from None
    except ValueError:  # no signature to inspect (some built-ins): trust it
        pass
    return transform


def normalize(x: np.ndarray, mean: float | np.ndarray, std: float | np.ndarray) -> np.ndarray:
    """Standardise ``x``: return float32 ``(x - mean) / std``.

    uint8 input is first scaled to [0, 1] (divided by 255), so ``mean`` and ``std`` are in
    that scale: ``normalize(images, MNIST_MEAN, MNIST_STD)`` is the usual MNIST
    standardisation. ``mean`` and ``std`` may be arrays that broadcast against ``x``
    (e.g. one value per channel, shape (C, 1, 1)).

    Args:
        x: uint8 or floating array.
        mean: value(s) to subtract.
        std: value(s) to divide by; must be > 0.

    Returns:
        float32 array of the same shape as ``x``.

    Example:
        >>> normalize(np.array([0, 255], dtype=np.uint8), 0.5, 0.5)
        array([-1.,  1.], dtype=float32)
    """
    stats = {}
    for name, value in (("mean", mean), ("std", std)):
        try:
            stats[name] = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise TypeError(f"normalize: {name} must be a number or an array of numbers, got "
                            f"{type(value).__name__} {value!r}") from None
        if not np.isfinite(stats[name]).all():
            raise ValueError(f"normalize: {name} must be finite, got {value}")
    if np.any(stats["std"] <= 0):
        raise ValueError(f"normalize: std must be > 0, got {std}")
    x = np.asarray(x)
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"normalize: x must be uint8 (scaled to [0, 1]) or floating, got "
                         f"{x.dtype}")
    for name, value in stats.items():
        try:
            fits = np.broadcast_shapes(x.shape, value.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            per_channel = (f"; for one value per channel of (N, C, H, W) images use shape "
                           f"({value.size}, 1, 1)"
                           if value.ndim == 1 and x.ndim == 4 and value.size == x.shape[1] else "")
            raise ValueError(f"normalize: {name} must broadcast to x's shape {x.shape}, got "
                             f"shape {value.shape}{per_channel}")
    return ((_to_float(x) - stats["mean"]) / stats["std"]).astype(np.float32)


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Turn integer class labels into one-hot rows.

    Args:
        labels: integer array of shape (N,), values in 0..num_classes-1.
        num_classes: number of classes (columns).

    Returns:
        float32 array of shape (N, num_classes) with a single 1 per row.

    Example:
        >>> one_hot(np.array([2, 0]), 3)
        array([[0., 0., 1.],
               [1., 0., 0.]], dtype=float32)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"one_hot: labels must be a 1-D integer array, got {labels.dtype} of "
                         f"shape {labels.shape}")
    num_classes = check_int("one_hot", "num_classes", num_classes, min=1)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(f"one_hot: labels must be in 0..{num_classes - 1}, got "
                         f"{labels[bad][0]} at index {int(np.flatnonzero(bad)[0])}")
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def train_val_split(x: np.ndarray, y: np.ndarray, val_fraction: float = 0.1,
                    rng: np.random.Generator | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Randomly split ``(x, y)`` into a training and a validation part.

    Args:
        x: samples, length N.
        y: labels, length N.
        val_fraction: share of samples for validation, strictly between 0 and 1; the
            validation size is ``round(N * val_fraction)``.
        rng: generator for the random split; None means ``np.random.default_rng()``.

    Returns:
        ``(x_train, y_train, x_val, y_val)``.

    Example:
        >>> x, y = np.arange(10), np.arange(10)
        >>> xt, yt, xv, yv = train_val_split(x, y, 0.2, rng=np.random.default_rng(0))
        >>> len(xt), len(xv)
        (8, 2)
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"train_val_split: x and y must have the same length, got len(x)="
                         f"{len(x)} and len(y)={len(y)}")
    check_float("train_val_split", "val_fraction", val_fraction, min=0, max=1, min_open=True,
                max_open=True)
    check_generator("train_val_split", "rng", rng)
    n_val = round(len(x) * val_fraction)
    if not 0 < n_val < len(x):
        raise ValueError(f"train_val_split: {len(x)} samples with val_fraction={val_fraction} "
                         f"give {n_val} validation samples; both parts must be non-empty")
    rng = np.random.default_rng() if rng is None else rng
    order = rng.permutation(len(x))
    val_idx, train_idx = order[:n_val], order[n_val:]
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]
