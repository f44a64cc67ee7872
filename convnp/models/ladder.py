"""The d2l "Modern CNNs" ladder, sized for 1x28x28 Fashion-MNIST: NiN, VGG and DenseNet.

d2l trains these at 224 px (NiN, VGG) or 96 px (DenseNet) on a GPU. Here they keep
their architecture but run at the native 28x28, with widths cut so that a NumPy epoch
stays short. Weights are initialised as in d2l (``d2l_init``, Xavier-uniform).
``resnet`` is in ``convnp.models.resnet``, BN-LeNet is ``lenet5('batchnorm')``.
"""

from __future__ import annotations

import numpy as np

from convnp.layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm2d,
    Concat,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
)
from convnp.models.lenet import d2l_init, lenet5
from convnp.models.resnet import resnet
from convnp.validate import (
    check_bool,
    check_choice,
    check_int,
    int_tuple,
    rng_and_dtype,
    sequence,
)


def nin_block(in_channels: int, out_channels: int, kernel_size: int, stride: int,
              padding: int, *, batch_norm: bool = False, rng: np.random.Generator,
              dtype) -> Sequential:
    """A Network-in-Network block: one conv, then two 1x1 convs (a per-pixel MLP), all ReLU.

    With ``batch_norm`` a BatchNorm2d follows each convolution, before its ReLU, and the
    convolutions drop their bias (the BatchNorm has its own).

    **Shape:** (N, C_in, H, W) -> (N, C_out, H_out, W_out), as the first conv.
    """
    layers = []
    for c_in, k, s, p in ((in_channels, kernel_size, stride, padding),
                          (out_channels, 1, 1, 0), (out_channels, 1, 1, 0)):
        layers.append(Conv2d(c_in, out_channels, k, s, p, bias=not batch_norm, rng=rng,
                             dtype=dtype))
        if batch_norm:
            layers.append(BatchNorm2d(out_channels, dtype=dtype))
        layers.append(ReLU())
    return Sequential(*layers)


def nin(widths: tuple[int, int, int] = (32, 64, 96), num_classes: int = 10, *,
        batch_norm: bool = True, rng: np.random.Generator | None = None,
        dtype=np.float32) -> Sequential:
    """Network in Network (Lin et al., 2013) for 1x28x28 images.

    d2l's layout: three NiN blocks with max-pooling between them, dropout 0.5, a last
    NiN block with ``num_classes`` channels, and global average pooling instead of linear
    layers: the network has no fully connected layer at all. d2l works at 224 px with an
    11x11 stride-4 first conv, 3x3 stride-2 pools and widths 96, 256, 384. At 28 px:

    - the first block is a 5x5 conv with stride 2 (28 -> 14): like d2l's stride-4 conv it
      shrinks the map at once, so the two 1x1 convs run on 14x14 maps, not 28x28 ones;
    - the pools are 2x2 (14 -> 7 -> 3), and the third block works at 3x3, so the pool
      d2l puts after it is dropped;
    - the widths are ``widths`` (d2l: 96, 256, 384), cut so that a NumPy epoch is short;
    - with ``batch_norm`` (the default; d2l's NiN has none) each conv of the first three
      blocks is followed by BatchNorm2d. Without it this twelve-conv net with no
      normalisation trains slowly and unreliably; with it, the first epoch learns.

    Args:
        widths: channels of the first three blocks, three ints >= 1.
        num_classes: channels of the last block, an int >= 1.
        batch_norm: a bool.
        rng: a ``np.random.Generator`` for the initial weights and the dropout (fresh
            entropy if None).
        dtype: parameter dtype, a floating one.

    **Shape:** (N, 1, 28, 28) -> (N, num_classes).

    Example:
        >>> nin(rng=np.random.default_rng(0))(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 10)
    """
    c1, c2, c3 = int_tuple("nin", "widths", widths, length=3)
    num_classes = check_int("nin", "num_classes", num_classes, min=1)
    batch_norm = check_bool("nin", "batch_norm", batch_norm)
    rng = rng_and_dtype("nin", rng, dtype)
    kw = {"rng": rng, "dtype": dtype}
    return d2l_init(Sequential(
        nin_block(1, c1, 5, 2, 2, batch_norm=batch_norm, **kw), MaxPool2d(2),
        nin_block(c1, c2, 3, 1, 1, batch_norm=batch_norm, **kw), MaxPool2d(2),
        nin_block(c2, c3, 3, 1, 1, batch_norm=batch_norm, **kw),
        Dropout(0.5, rng=rng),
        nin_block(c3, num_classes, 3, 1, 1, **kw),
        AdaptiveAvgPool2d(1), Flatten()), rng)


def vgg(arch: tuple[tuple[int, int], ...] = ((1, 16), (1, 32), (2, 64)),
        hidden: int = 256, num_classes: int = 10, *, batch_norm: bool = True,
        rng: np.random.Generator | None = None, dtype=np.float32) -> Sequential:
    """VGG (Simonyan and Zisserman, 2014) for 1x28x28 images.

    A VGG block is ``num_convs`` 3x3 convolutions with padding 1 and ReLU, then a 2x2
    max-pool. ``arch`` lists ``(num_convs, out_channels)`` per block. VGG-11 has five
    blocks (1, 1, 2, 2, 2 convs; 64 to 512 channels) and 4096-unit hidden layers; d2l
    trains it at 224 px with a quarter of those widths (16 to 128). At 28 px three
    blocks fit (28 -> 14 -> 7 -> 3); they keep VGG-11's first three blocks (1, 1, 2
    convs) with d2l's widths for them (16, 32, 64), doubling per block as there; the
    classifier keeps VGG's two hidden layers with ReLU and dropout 0.5, at ``hidden``
    units. With ``batch_norm`` (the default; d2l's VGG has none) a BatchNorm2d follows
    each conv, before its ReLU, as in VGG-BN: it lets this narrow net train at a high
    learning rate and reach its accuracy within ten epochs.
    Wider first blocks cost more than their multiply-adds suggest: in NumPy a 28x28
    layer's time is mostly memory traffic (im2col columns, BatchNorm, ReLU and pooling
    passes), which grows with the channels of the full-size maps.

    Args:
        arch: ``(num_convs, out_channels)`` pairs of ints >= 1, one per block. Each block
            halves the size (28 -> 14 -> 7 -> 3 -> 1), so at most four blocks fit.
        hidden, num_classes: units of the hidden and the output layers, ints >= 1.
        batch_norm: a bool.
        rng: a ``np.random.Generator`` for the initial weights and the dropout (fresh
            entropy if None).
        dtype: parameter dtype, a floating one.

    **Shape:** (N, 1, 28, 28) -> (N, num_classes).

    Example:
        >>> vgg(rng=np.random.default_rng(0))(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 10)
    """
    pair = "a (num_convs, out_channels) pair of ints"
    blocks = sequence("vgg", "arch", arch, "a tuple of (num_convs, out_channels) pairs")
    arch = [int_tuple("vgg", f"arch[{i}]", b, length=2, what=pair) for i, b in enumerate(blocks)]
    if 28 // 2 ** len(arch) == 0:
        raise ValueError(f"vgg: arch has {len(arch)} blocks, but each block's 2x2 max-pool "
                         f"halves the 28x28 input (28 -> 14 -> 7 -> 3 -> 1), so at most 4 fit")
    hidden = check_int("vgg", "hidden", hidden, min=1)
    num_classes = check_int("vgg", "num_classes", num_classes, min=1)
    batch_norm = check_bool("vgg", "batch_norm", batch_norm)
    rng = rng_and_dtype("vgg", rng, dtype)
    kw = {"rng": rng, "dtype": dtype}
    net, channels, size = Sequential(), 1, 28
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            net.append(Conv2d(channels, out_channels, 3, padding=1, bias=not batch_norm, **kw))
            if batch_norm:
                net.append(BatchNorm2d(out_channels, dtype=dtype))
            net.append(ReLU())
            channels = out_channels
        net.append(MaxPool2d(2))
        size //= 2
    for layer in (Flatten(), Linear(channels * size * size, hidden, **kw), ReLU(),
                  Dropout(0.5, rng=rng), Linear(hidden, hidden, **kw), ReLU(),
                  Dropout(0.5, rng=rng), Linear(hidden, num_classes, **kw)):
        net.append(layer)
    return d2l_init(net, rng)


def dense_layer(in_channels: int, growth_rate: int, *, rng: np.random.Generator,
                dtype) -> Concat:
    """One DenseNet layer: ``concat(x, conv3x3(ReLU(BN(x))))``, adding ``growth_rate`` channels.

    **Shape:** (N, C, H, W) -> (N, C + growth_rate, H, W).
    """
    return Concat(Identity(), Sequential(
        BatchNorm2d(in_channels, dtype=dtype), ReLU(),
        Conv2d(in_channels, growth_rate, 3, padding=1, rng=rng, dtype=dtype)))


def transition(in_channels: int, out_channels: int, *, rng: np.random.Generator,
               dtype) -> Sequential:
    """DenseNet's transition: BN, ReLU, a 1x1 conv to ``out_channels``, 2x2 average pool.

    **Shape:** (N, C_in, H, W) -> (N, C_out, H//2, W//2).
    """
    return Sequential(BatchNorm2d(in_channels, dtype=dtype), ReLU(),
                      Conv2d(in_channels, out_channels, 1, rng=rng, dtype=dtype), AvgPool2d(2))


def densenet(growth_rate: int = 16, block_config: tuple[int, ...] = (4, 4),
             stem_channels: int = 32, num_classes: int = 10, *,
             rng: np.random.Generator | None = None, dtype=np.float32) -> Sequential:
    """DenseNet (Huang et al., 2017) for 1x28x28 images.

    Each dense block holds ``block_config[i]`` dense layers; every layer's output is
    concatenated to its input (``Concat(Identity(), BN-ReLU-conv)``), so the channels
    grow by ``growth_rate`` per layer. Transitions between blocks halve the channels and
    the size; BatchNorm, ReLU, global average pooling and one linear layer end the net.

    d2l works at 96 px: a 7x7 stride-2 stem conv and a 3x3 stride-2 max-pool (96 -> 24),
    then four blocks of four layers with growth 32 at 24, 12, 6 and 3 pixels. At 28 px
    the stem divides the size by four too, with a 3x3 stride-2 conv and a 2x2 max-pool
    (28 -> 14 -> 7), so that the dense blocks, whose growth-rate convolutions are thin
    and whose concatenations copy every map again, run on small maps. Two blocks of four
    layers fit (7 -> 3 pixels; a third block would work on a single pixel), with growth
    16 and a 32-channel stem, half of d2l's widths.

    Args:
        growth_rate: channels each dense layer adds, an int >= 1.
        block_config: dense layers per block, ints >= 1. At most three blocks fit, as
            the transitions halve the size (7 -> 3 -> 1); a third block works on 1x1
            maps, so in training its BatchNorm layers need batches of two or more.
        stem_channels, num_classes: ints >= 1.
        rng: a ``np.random.Generator`` for the initial weights (fresh entropy if None).
        dtype: parameter dtype, a floating one.

    **Shape:** (N, 1, 28, 28) -> (N, num_classes).

    Example:
        >>> densenet(rng=np.random.default_rng(0))(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 10)
    """
    growth_rate = check_int("densenet", "growth_rate", growth_rate, min=1)
    block_config = int_tuple("densenet", "block_config", block_config)
    if len(block_config) > 3:
        raise ValueError(f"densenet: block_config has {len(block_config)} blocks, but the stem "
                         f"shrinks the 28x28 input to 7x7 and each transition halves it "
                         f"(7 -> 3 -> 1), so at most 3 fit, got {block_config}")
    stem_channels = check_int("densenet", "stem_channels", stem_channels, min=1)
    num_classes = check_int("densenet", "num_classes", num_classes, min=1)
    rng = rng_and_dtype("densenet", rng, dtype)
    kw = {"rng": rng, "dtype": dtype}
    net = Sequential(Conv2d(1, stem_channels, 3, stride=2, padding=1, bias=False, **kw),
                     BatchNorm2d(stem_channels, dtype=dtype), ReLU(), MaxPool2d(2))
    channels = stem_channels
    for i, layers in enumerate(block_config):
        for _ in range(layers):
            net.append(dense_layer(channels, growth_rate, **kw))
            channels += growth_rate
        if i < len(block_config) - 1:
            net.append(transition(channels, channels // 2, **kw))
            channels //= 2
    for layer in (BatchNorm2d(channels, dtype=dtype), ReLU(), AdaptiveAvgPool2d(1), Flatten(),
                  Linear(channels, num_classes, **kw)):
        net.append(layer)
    return d2l_init(net, rng)


LADDER = ("lenet", "bn-lenet", "nin", "vgg", "resnet", "densenet")


def ladder_model(name: str, *, rng: np.random.Generator | None = None,
                 dtype=np.float32) -> Sequential:
    """Build the ladder model ``name`` with its defaults: one of ``LADDER``.

    ``'lenet'`` is ``lenet5('modern')``, ``'bn-lenet'`` is ``lenet5('batchnorm')``.

    Args:
        name: one of the strings in ``LADDER``.
        rng: a ``np.random.Generator`` for the initial weights (fresh entropy if None).
        dtype: parameter dtype, a floating one.

    **Shape:** (N, 1, 28, 28) -> (N, 10).

    Example:
        >>> ladder_model("bn-lenet", rng=np.random.default_rng(0))[1]
        BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    """
    check_choice("ladder_model", "name", name, LADDER)
    rng_and_dtype("ladder_model", rng, dtype)
    builders = {"lenet": lambda: lenet5("modern", rng=rng, dtype=dtype),
                "bn-lenet": lambda: lenet5("batchnorm", rng=rng, dtype=dtype),
                "nin": lambda: nin(rng=rng, dtype=dtype), "vgg": lambda: vgg(rng=rng, dtype=dtype),
                "resnet": lambda: resnet(rng=rng, dtype=dtype),
                "densenet": lambda: densenet(rng=rng, dtype=dtype)}
    return builders[name]()
