"""LeNet-5: the convolutional network that read handwritten digits (LeCun et al., 1998)."""

from __future__ import annotations

import numpy as np

from convnp import init
from convnp.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
)


def lenet5(variant: str = "modern", *, rng: np.random.Generator | None = None,
           dtype=np.float32) -> Sequential:
    """Build LeNet-5 for 1x28x28 images and 10 classes.

    ``'modern'``: Conv(1->6, 5, pad 2)-ReLU-MaxPool2-Conv(6->16, 5)-ReLU-MaxPool2-Flatten-
    Linear(400->120)-ReLU-Linear(120->84)-ReLU-Linear(84->10), PyTorch's default init.

    ``'classic'``: the *Dive into Deep Learning* LeNet: the same shapes with Sigmoid
    activations and AvgPool2, Xavier-uniform weights and zero biases.

    Args:
        variant: ``'modern'`` or ``'classic'``.
        rng: generator for the initial weights (fresh entropy if None).
        dtype: parameter dtype.

    **Shape:** (N, 1, 28, 28) -> (N, 10). Feature maps: 28 -> 28 -> 14 -> 10 -> 5 -> 400
    -> 120 -> 84 -> 10.

    Example:
        >>> net = lenet5(rng=np.random.default_rng(0))
        >>> net(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 10)
        >>> sum(p.data.size for p in net.parameters())
        61706
    """
    if variant not in ("modern", "classic"):
        raise ValueError(f"lenet5: variant must be 'modern' or 'classic', got {variant!r}")
    rng = rng if rng is not None else np.random.default_rng()
    act, pool = (ReLU, MaxPool2d) if variant == "modern" else (Sigmoid, AvgPool2d)
    kw = {"rng": rng, "dtype": dtype}
    net = Sequential(
        Conv2d(1, 6, kernel_size=5, padding=2, **kw), act(), pool(2),
        Conv2d(6, 16, kernel_size=5, **kw), act(), pool(2),
        Flatten(),
        Linear(16 * 5 * 5, 120, **kw), act(),
        Linear(120, 84, **kw), act(),
        Linear(84, 10, **kw),
    )
    if variant == "classic":
        for name, p in net.named_parameters():
            if name.endswith("weight"):
                p.data[...] = init.xavier_uniform(p.shape, *init.fans(p.shape), rng, dtype=dtype)
            else:
                p.data[...] = 0
    return net
