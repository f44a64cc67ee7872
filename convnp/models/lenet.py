"""LeNet-5: the convolutional network that read handwritten digits (LeCun et al., 1998)."""

from __future__ import annotations

import numpy as np

from convnp import init
from convnp.layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
)
from convnp.validate import check_choice, rng_and_dtype


def d2l_init(model: Module, rng: np.random.Generator) -> Module:
    """d2l's ``init_cnn``: Xavier-uniform weights for every Conv2d and Linear; returns model.

    Biases keep PyTorch's default initialisation, as in d2l, where every model of the
    chapter is initialised this way. Without it NiN, twelve convolutions deep and with no
    normalisation, barely starts to learn.

    Example:
        >>> net = d2l_init(Sequential(Linear(300, 100)), np.random.default_rng(0))
        >>> bound = np.sqrt(6 / (300 + 100))
        >>> bool(abs(net[0].weight.data).max() <= bound)
        True
    """
    for m in model.modules():
        if isinstance(m, (Conv2d, Linear)):
            w = m.weight
            w.data[...] = init.xavier_uniform(w.shape, *init.fans(w.shape), rng, dtype=w.dtype)
    return model


def lenet5(variant: str = "modern", *, rng: np.random.Generator | None = None,
           dtype=np.float32) -> Sequential:
    """Build LeNet-5 for 1x28x28 images and 10 classes.

    ``'modern'``: Conv(1->6, 5, pad 2)-ReLU-MaxPool2-Conv(6->16, 5)-ReLU-MaxPool2-Flatten-
    Linear(400->120)-ReLU-Linear(120->84)-ReLU-Linear(84->10), PyTorch's default init.

    ``'classic'``: the *Dive into Deep Learning* LeNet: the same shapes with Sigmoid
    activations and AvgPool2, Xavier-uniform weights and zero biases (d2l's ``init_cnn``
    leaves the biases at PyTorch's default).

    ``'batchnorm'``: d2l's ``BNLeNet`` (section 8.5, "Concise Implementation"), layer for
    layer: a BatchNorm2d after each convolution and a BatchNorm1d after each hidden linear
    layer, before the Sigmoid, AvgPool2, and Xavier-uniform weights (``d2l_init``). Its
    first convolution has no padding, unlike d2l's own LeNet and ``'classic'``, so the
    maps are 28 -> 24 -> 12 -> 8 -> 4 and the first linear layer reads 256 features.

    Args:
        variant: ``'modern'``, ``'classic'`` or ``'batchnorm'``.
        rng: a ``np.random.Generator`` for the initial weights (fresh entropy if None).
        dtype: parameter dtype, a floating one.

    **Shape:** (N, 1, 28, 28) -> (N, 10). Feature maps: 28 -> 28 -> 14 -> 10 -> 5 -> 400
    -> 120 -> 84 -> 10 (``'batchnorm'``: 28 -> 24 -> 12 -> 8 -> 4 -> 256 -> 120 -> 84 -> 10).

    Example:
        >>> net = lenet5(rng=np.random.default_rng(0))
        >>> net(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 10)
        >>> sum(p.data.size for p in net.parameters())
        61706
        >>> sum(p.data.size for p in lenet5("batchnorm").parameters())
        44878
    """
    check_choice("lenet5", "variant", variant, ("modern", "classic", "batchnorm"))
    rng = rng_and_dtype("lenet5", rng, dtype)
    kw = {"rng": rng, "dtype": dtype}
    if variant == "batchnorm":
        return d2l_init(Sequential(
            Conv2d(1, 6, kernel_size=5, **kw), BatchNorm2d(6, dtype=dtype),
            Sigmoid(), AvgPool2d(2),
            Conv2d(6, 16, kernel_size=5, **kw), BatchNorm2d(16, dtype=dtype), Sigmoid(),
            AvgPool2d(2), Flatten(),
            Linear(16 * 4 * 4, 120, **kw), BatchNorm1d(120, dtype=dtype), Sigmoid(),
            Linear(120, 84, **kw), BatchNorm1d(84, dtype=dtype), Sigmoid(),
            Linear(84, 10, **kw)), rng)
    act, pool = (ReLU, MaxPool2d) if variant == "modern" else (Sigmoid, AvgPool2d)
    net = Sequential(
        Conv2d(1, 6, kernel_size=5, padding=2, **kw), act(), pool(2),
        Conv2d(6, 16, kernel_size=5, **kw), act(), pool(2),
        Flatten(),
        Linear(16 * 5 * 5, 120, **kw), act(),
        Linear(120, 84, **kw), act(),
        Linear(84, 10, **kw),
    )
    if variant == "classic":
        d2l_init(net, rng)
        for m in net:
            if isinstance(m, (Conv2d, Linear)):
                m.bias.data[...] = 0
    return net
