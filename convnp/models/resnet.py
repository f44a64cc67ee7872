"""Residual networks: the homework's ``ResBlock`` and a ResNet-18 layout for 28x28 images."""

from __future__ import annotations

import numpy as np

from convnp.layers import (
    AdaptiveAvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    ReLU,
    Residual,
    Sequential,
)
from convnp.models.lenet import d2l_init
from convnp.validate import check_int, int_tuple, rng_and_dtype


def _check_conv_args(owner: str, in_channels, out_channels, filter_size, stride, padding,
                     rng, dtype) -> tuple[int, int, int, int, int]:
    """Check ConvBlock's and ResBlock's arguments; return the five sizes as ints."""
    rng_and_dtype(owner, rng, dtype)
    return (check_int(owner, "in_channels", in_channels, min=1),
            check_int(owner, "out_channels", out_channels, min=1),
            check_int(owner, "filter_size", filter_size, min=1),
            check_int(owner, "stride", stride, min=1),
            check_int(owner, "padding", padding, min=0))


def ConvBlock(in_channels: int, out_channels: int, filter_size: int, stride: int = 1,
              padding: int = 0, *, rng: np.random.Generator | None = None,
              dtype=np.float32) -> Sequential:
    """The CMU 11-785 homework's ConvBlock: ``Conv2d`` followed by ``BatchNorm2d``.

    Args:
        in_channels, out_channels, filter_size, stride, padding: of the Conv2d (square),
            ints; padding >= 0, the others >= 1.
        rng: a ``np.random.Generator`` for the convolution's initial weights (fresh
            entropy if None).
        dtype: parameter dtype, a floating one.

    **Shape:** (N, C_in, H, W) -> (N, C_out, H_out, W_out), with
    ``H_out = floor((H + 2 padding - filter_size)/stride) + 1`` (W likewise).

    Example:
        >>> block = ConvBlock(1, 4, 3, 2, 1, rng=np.random.default_rng(0))
        >>> block(np.zeros((2, 1, 7, 9), np.float32)).shape
        (2, 4, 4, 5)
    """
    in_channels, out_channels, filter_size, stride, padding = _check_conv_args(
        "ConvBlock", in_channels, out_channels, filter_size, stride, padding, rng, dtype)
    return Sequential(Conv2d(in_channels, out_channels, filter_size, stride, padding, rng=rng,
                             dtype=dtype),
                      BatchNorm2d(out_channels, dtype=dtype))


def ResBlock(in_channels: int, out_channels: int, filter_size: int, stride: int = 3,
             padding: int = 1, *, rng: np.random.Generator | None = None,
             dtype=np.float32) -> Sequential:
    """The CMU 11-785 homework's residual block, built from ``Residual``.

    ``y = ReLU(main(x) + shortcut(x))`` where

    - ``main`` is ``ConvBlock(in, out, filter_size, stride, padding)``, ReLU, then a 1x1
      ``ConvBlock(out, out, 1, 1, 0)``;
    - ``shortcut`` is ``ConvBlock(in, out, filter_size, stride, padding)`` unless the first
      convolution is a plain 1x1 one, the homework's test: it is a ConvBlock if
      ``stride != 1 or in_channels != out_channels or filter_size != 1 or padding != 0``,
      else the identity. (So a 3x3 block with padding 1 that keeps the shape still gets
      a ConvBlock shortcut.) The defaults ``stride=3, padding=1`` are the homework's.

    The homework's BatchNorm2d differs from PyTorch's, which convnp follows:

    - its running statistics use ``alpha = 1 - momentum`` as the weight of the *old*
      value, ``running = alpha * running + (1 - alpha) * batch``; PyTorch's ``momentum``
      weighs the *new* batch (the same update once ``alpha = 1 - momentum``);
    - its eps is 1e-8, PyTorch's 1e-5;
    - its running variance is the biased batch variance; PyTorch's uses the unbiased
      one, ``M/(M-1)`` times larger (``M = N*H*W``), which changes eval-mode outputs.

    Args:
        in_channels, out_channels, filter_size, stride, padding: as for the first conv,
            ints; padding >= 0, the others >= 1.
        rng: a ``np.random.Generator`` for the initial weights (fresh entropy if None).
        dtype: parameter dtype, a floating one.

    Returns:
        ``Sequential(Residual(main, shortcut), ReLU())``, so the keys of the state dict
        are ``'0.body.0.0.weight'`` (main conv), ``'0.shortcut.1.running_mean'``, ...

    **Shape:** (N, C_in, H, W) -> (N, C_out, H_out, W_out), H_out as for the first conv.

    Example:
        >>> block = ResBlock(3, 8, 3, 2, 1, rng=np.random.default_rng(0))
        >>> block(np.zeros((2, 3, 7, 9), np.float32)).shape
        (2, 8, 4, 5)
        >>> type(block[0].shortcut).__name__, ResBlock(8, 8, 1, 1, 0)[0].shortcut
        ('Sequential', None)
    """
    in_channels, out_channels, filter_size, stride, padding = _check_conv_args(
        "ResBlock", in_channels, out_channels, filter_size, stride, padding, rng, dtype)
    kw = {"rng": rng, "dtype": dtype}
    main = Sequential(ConvBlock(in_channels, out_channels, filter_size, stride, padding, **kw),
                      ReLU(), ConvBlock(out_channels, out_channels, 1, 1, 0, **kw))
    plain_1x1 = (stride == 1 and in_channels == out_channels and filter_size == 1
                 and padding == 0)
    shortcut = None if plain_1x1 else ConvBlock(in_channels, out_channels, filter_size, stride,
                                                padding, **kw)
    return Sequential(Residual(main, shortcut), ReLU())


def basic_block(in_channels: int, out_channels: int, stride: int, *,
                rng: np.random.Generator, dtype) -> Sequential:
    """ResNet's basic block: two 3x3 convolutions with BatchNorm, and a skip connection.

    ``y = ReLU(BN(conv3x3(ReLU(BN(conv3x3_stride(x))))) + shortcut(x))``; the shortcut is a
    strided 1x1 convolution with BatchNorm when the shape changes, else the identity.
    The convolutions have no bias: the BatchNorm after each one has its own.

    **Shape:** (N, C_in, H, W) -> (N, C_out, ceil(H/stride), ceil(W/stride)).

    Example:
        >>> block = basic_block(4, 8, 2, rng=np.random.default_rng(0), dtype=np.float32)
        >>> block(np.zeros((1, 4, 7, 9), np.float32)).shape
        (1, 8, 4, 5)
    """
    body = Sequential(
        Conv2d(in_channels, out_channels, 3, stride, 1, bias=False, rng=rng, dtype=dtype),
        BatchNorm2d(out_channels, dtype=dtype), ReLU(),
        Conv2d(out_channels, out_channels, 3, 1, 1, bias=False, rng=rng, dtype=dtype),
        BatchNorm2d(out_channels, dtype=dtype))
    shortcut = None
    if stride != 1 or in_channels != out_channels:
        shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride, bias=False, rng=rng,
                                     dtype=dtype),
                              BatchNorm2d(out_channels, dtype=dtype))
    return Sequential(Residual(body, shortcut), ReLU())


def resnet(widths: tuple[int, ...] = (16, 32, 64, 128), blocks: tuple[int, ...] = (2, 2, 2, 2),
           num_classes: int = 10, in_channels: int = 1, *,
           rng: np.random.Generator | None = None, dtype=np.float32) -> Sequential:
    """A ResNet-18 layout for 28x28 images: a stride-2 3x3 stem, then four stages of two
    basic blocks.

    ResNet-18 has a 7x7 stride-2 stem conv and a 3x3 stride-2 max-pool (224 -> 56
    pixels), then four stages of two basic blocks with 64, 128, 256, 512 channels; stages
    2-4 halve the size. d2l trains it on pictures enlarged to 96 px, so its first stage
    works on 24x24 maps: 24 samples across the picture, each about 1.2 original pixels.
    Here the stem is one 3x3 stride-2 conv with BatchNorm and ReLU, and no max-pool, so
    the stages work on 14, 7, 4 and 2 pixels: 0.58 times d2l's sampling, on maps with a
    third of the positions. (A stem that also max-pools, as ResNet-18's does, leaves the
    stages 7, 4, 2 and 1 pixels: cheaper, but too coarse for Fashion-MNIST's textures.)
    The widths are 1/4 of ResNet-18's, doubling per stage as there, so that a NumPy epoch
    stays short: in NumPy a 14x14 stage costs mostly memory traffic, which grows with its
    channels. Global average pooling and one linear layer make the logits. Weights are
    initialised as in d2l (``d2l_init``: Xavier-uniform for every convolution and linear
    layer).

    Args:
        widths: channels of each stage (the stem has ``widths[0]``), ints >= 1.
        blocks: basic blocks per stage, ints >= 1, as many as ``widths``.
        num_classes, in_channels: of the data, ints >= 1.
        rng: a ``np.random.Generator`` for the initial weights (fresh entropy if None).
        dtype: parameter dtype, a floating one.

    **Shape:** (N, in_channels, 28, 28) -> (N, num_classes); any H, W >= 1 work.

    Example:
        >>> net = resnet(rng=np.random.default_rng(0))
        >>> net(np.zeros((2, 1, 28, 28), np.float32)).shape
        (2, 10)
        >>> sum(p.data.size for p in net.parameters())
        701178
    """
    widths, blocks = int_tuple("resnet", "widths", widths), int_tuple("resnet", "blocks", blocks)
    if len(widths) != len(blocks):
        raise ValueError(f"resnet: widths and blocks must have the same length (one entry per "
                         f"stage), got {widths} and {blocks}")
    num_classes = check_int("resnet", "num_classes", num_classes, min=1)
    in_channels = check_int("resnet", "in_channels", in_channels, min=1)
    rng = rng_and_dtype("resnet", rng, dtype)
    kw = {"rng": rng, "dtype": dtype}
    net = Sequential(Conv2d(in_channels, widths[0], 3, 2, 1, bias=False, **kw),
                     BatchNorm2d(widths[0], dtype=dtype), ReLU())
    channels = widths[0]
    for stage, (width, count) in enumerate(zip(widths, blocks)):
        for i in range(count):
            net.append(basic_block(channels, width, 2 if stage > 0 and i == 0 else 1, **kw))
            channels = width
    for layer in (AdaptiveAvgPool2d(1), Flatten(), Linear(channels, num_classes, **kw)):
        net.append(layer)
    return d2l_init(net, rng)
