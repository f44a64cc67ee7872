"""Data augmentation: random flips and shifts of a batch of images.

Each function takes a floating batch ``x`` of shape (N, C, H, W) and the generator to
draw from, and returns a new batch of the same shape; ``x`` is never changed. ``Augment``
bundles them as a ``DataLoader`` transform: ``DataLoader(..., transform=Augment(...))``
calls it on every training batch with the loader's own generator, so a saved loader
state replays the same augmented batches.

A flipped or slightly shifted shirt is still a shirt: showing the network such copies
is a cheap way to get more training images, and it narrows the gap between training and
test accuracy.
"""

from __future__ import annotations

import numpy as np

from convnp.validate import check_bool, check_float, check_float_array, check_int


def _check_batch(caller: str, x: np.ndarray, rng: np.random.Generator) -> None:
    """Raise a clear error unless ``x`` is a floating (N, C, H, W) array and ``rng`` a
    Generator."""
    check_float_array(caller, "x", x)
    if x.ndim != 4:
        raise ValueError(f"{caller}: expected a batch of shape (N, C, H, W), got {x.shape}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{caller}: rng must be a np.random.Generator, got "
                        f"{type(rng).__name__}")


def random_horizontal_flip(x: np.ndarray, rng: np.random.Generator,
                           p: float = 0.5) -> np.ndarray:
    """Mirror each image left to right with probability ``p``.

    ``out[n] = x[n, :, :, ::-1]`` if ``u[n] < p`` else ``x[n]``, with ``u[n]`` uniform in [0, 1).

    Args:
        x: a batch of images.
        rng: the generator that draws the ``u[n]``.
        p: the probability of a flip.

    **Shape:** (N, C, H, W) -> (N, C, H, W).

    Example:
        >>> x = np.arange(3.0).reshape(1, 1, 1, 3)
        >>> random_horizontal_flip(x, np.random.default_rng(0), p=1.0)
        array([[[[2., 1., 0.]]]])
    """
    _check_batch("random_horizontal_flip", x, rng)
    p = check_float("random_horizontal_flip", "p", p, min=0.0, max=1.0)
    flip = rng.random(len(x)) < p
    out = x.copy()
    out[flip] = x[flip, :, :, ::-1]
    return out


def random_shift(x: np.ndarray, rng: np.random.Generator, max_shift: int,
                 fill: float = 0.0) -> np.ndarray:
    """Move each image by a random whole number of pixels, at most ``max_shift`` each way.

    The image is padded by ``max_shift`` pixels of value ``fill`` on every side and an
    H x W window is cut at a random offset ``(a, b)``, ``0 <= a, b <= 2*max_shift``:
    torchvision's ``RandomCrop(size, padding=max_shift, fill=fill)``.
    ``out[n, c, h, w] = x_padded[n, c, h + a[n], w + b[n]]``.

    Args:
        x: a batch of images.
        rng: the generator that draws the offsets.
        max_shift: the largest shift, in pixels, along each axis.
        fill: the value of the uncovered border (the background value of ``x``; for
            standardised images that is ``-mean/std``, not 0).

    **Shape:** (N, C, H, W) -> (N, C, H, W).

    Example:
        >>> x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
        >>> random_shift(x, np.random.default_rng(0), max_shift=1)[0, 0]  # up by one
        array([[4., 5., 6.],
               [7., 8., 9.],
               [0., 0., 0.]])
    """
    _check_batch("random_shift", x, rng)
    s = check_int("random_shift", "max_shift", max_shift, min=0)
    fill = check_float("random_shift", "fill", fill)
    N, C, H, W = x.shape
    if s >= min(H, W):
        raise ValueError(f"random_shift: max_shift must be smaller than the image, "
                         f"min(H, W) = {min(H, W)} for x of shape {x.shape}, got {s}")
    padded = np.full((N, C, H + 2 * s, W + 2 * s), fill, dtype=x.dtype)
    padded[:, :, s:s + H, s:s + W] = x
    a, b = rng.integers(0, 2 * s + 1, size=(2, N))
    out = np.empty_like(x)
    for i in range(2 * s + 1):  # one copy per offset, for all the images that drew it
        for j in range(2 * s + 1):
            picked = (a == i) & (b == j)
            out[picked] = padded[picked, :, i:i + H, j:j + W]
    return out


class Augment:
    """A ``DataLoader`` transform: ``random_horizontal_flip`` and/or ``random_shift``.

    ``augment(x, rng) = random_shift(random_horizontal_flip(x, rng), rng, max_shift, fill)``,
    leaving out the flip if not ``flip`` and the shift if ``max_shift == 0``.

    Args:
        flip: mirror each image left to right with probability 1/2 (torchvision's
            ``RandomHorizontalFlip()``).
        max_shift: then shift it by up to this many pixels each way (0: no shift).
        fill: the border value for the shift (see ``random_shift``).

    **Shape:** (N, C, H, W) -> (N, C, H, W).

    Example:
        >>> augment = Augment(flip=True, max_shift=2)
        >>> augment
        Augment(flip=True, max_shift=2, fill=0.0)
        >>> augment(np.zeros((5, 1, 28, 28)), np.random.default_rng(0)).shape
        (5, 1, 28, 28)
    """

    def __init__(self, flip: bool = True, max_shift: int = 0, fill: float = 0.0) -> None:
        self.flip = check_bool("Augment", "flip", flip)
        self.max_shift = check_int("Augment", "max_shift", max_shift, min=0)
        self.fill = check_float("Augment", "fill", fill)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment the batch ``x`` (N, C, H, W), drawing from ``rng``."""
        if self.flip:
            x = random_horizontal_flip(x, rng)
        return random_shift(x, rng, self.max_shift, self.fill) if self.max_shift else x

    def __repr__(self) -> str:
        return f"Augment(flip={self.flip}, max_shift={self.max_shift}, fill={self.fill})"
