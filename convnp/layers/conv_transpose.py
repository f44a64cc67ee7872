"""ConvTranspose1d and ConvTranspose2d layers, and the CMU homework's transposed convolution.

The arithmetic lives in ``convnp/functional/conv_transpose.py``; this file checks
arguments and inputs, owns the weight and bias, and keeps the cache; each layer's
``forward`` and ``backward`` call the kernel directly.

``homework_conv_transpose1d/2d`` build the CMU 11-785 version, ``Upsample`` followed by a
valid stride-1 convolution, which is *not* PyTorch's ConvTranspose (see their docstrings
and ``docs/decompositions.md``).
"""

from __future__ import annotations

import numpy as np

from convnp.functional.conv_transpose import (
    conv_transpose1d_backward,
    conv_transpose1d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from convnp.functional.shapes import conv_transpose_output_size, ntuple
from convnp.layers.container import Sequential
from convnp.layers.conv import Conv1d, Conv2d, _ConvNd
from convnp.layers.module import check_grad, check_input
from convnp.layers.resample import Upsample1d, Upsample2d


class _ConvTransposeNd(_ConvNd):
    """The constructor and forward checks shared by ConvTranspose1d and ConvTranspose2d."""

    transposed = True
    repr_args = ("stride", "padding", "output_padding", "groups", "dilation")

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1, *,
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        name, n = type(self).__name__, self.n_dims
        if isinstance(padding, str):
            raise TypeError(f"{name}: padding must be an int or {n} ints, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, "zeros", rng, dtype)
        self.output_padding = ntuple(output_padding, n, "output_padding", name)
        if min(self.output_padding) < 0:
            raise ValueError(f"{name}: output_padding must be >= 0, got {self.output_padding}")
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(
                    f"{name}: output_padding must be smaller than either stride or dilation "
                    f"on each axis, got output_padding={self.output_padding}, "
                    f"stride={self.stride}, dilation={self.dilation}"
                )

    def _check(self, x: np.ndarray) -> None:
        """Raise a ValueError naming the layer for a bad input or an empty output."""
        check_input(self, x, self.n_dims + 2, self.in_channels, self.dtype)
        out = [conv_transpose_output_size(n, k, s, p, op, d) for n, k, s, p, op, d in zip(
            x.shape[2:], self.kernel_size, self.stride, self.padding, self.output_padding,
            self.dilation)]
        if min(out) < 1:
            raise ValueError(f"{type(self).__name__}: output size {tuple(out)} is empty for "
                             f"input of shape {x.shape} (padding {self.padding} removes "
                             "more than the kernel adds)")


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L), as ``torch.nn.ConvTranspose1d``.

    The adjoint of ``Conv1d`` with the same stride, padding, dilation and groups: each
    input sample scatters a copy of its kernel, scaled by the sample, into the output::

        y_full[n, o, t*s + i*d] += x[n, c, t] * weight[c, o', i]

    then ``p`` samples are cropped from the start and ``p - output_padding`` from the
    end, and the bias is added (``o = g*C_out/G + o'`` for input channel c in group g).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k.
        stride, padding: s and p, those of the Conv1d this layer inverts the shape of.
        output_padding: extra samples at the end, < max(s, d); picks among the input
            lengths that a stride-s convolution maps to the same length.
        groups: G; C_in and C_out must be divisible by it.
        bias: learn an additive bias per output channel.
        dilation: d (after ``bias``, in PyTorch's order).
        rng: the generator for the initial weights (fresh entropy if None).
        dtype: of the parameters; inputs must match it.

    **Shape:** (N, C_in, L) -> (N, C_out, L_out),
    ``L_out = (L-1)*s - 2p + d(k-1) + output_padding + 1``.
    Weight (C_in, C_out/G, k), bias (C_out,).

    Example:
        >>> up = ConvTranspose1d(8, 4, kernel_size=4, stride=2, padding=1,
        ...                      rng=np.random.default_rng(0))
        >>> up(np.zeros((2, 8, 25), dtype=np.float32)).shape
        (2, 4, 50)
    """

    n_dims = 1

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Transposed-convolve ``x``: (N, C_in, L) -> (N, C_out, L_out)."""
        self._check(x)
        y, cache = conv_transpose1d_forward(
            x, self.weight.data, self._bias_data(), self.stride[0], self.padding[0],
            self.output_padding[0], self.groups, self.dilation[0])
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Add dL/dweight, dL/dbias into ``.grad``; return dL/dx (None if not ``input_grad``).

        **Shape:** grad_y (N, C_out, L_out) -> grad_x (N, C_in, L).
        """
        cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        grad_x, grad_weight, grad_bias = conv_transpose1d_backward(grad_y, cache, input_grad)
        return self._finish_backward(grad_x, grad_weight, grad_bias, None)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W), as ``torch.nn.ConvTranspose2d``.

    The adjoint of ``Conv2d`` with the same stride, padding, dilation and groups::

        y_full[n, o, h*sH + i*dH, w*sW + j*dW] += x[n, c, h, w] * weight[c, o', i, j]

    then ``pH`` rows are cropped from the top and ``pH - output_padding_H`` from the
    bottom (likewise columns), and the bias is added.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size, stride, padding, dilation: an int or an ``(H, W)`` pair.
        output_padding: int or pair, extra rows/columns at the bottom/right; each
            smaller than ``max(stride, dilation)`` on its axis.
        groups: G; C_in and C_out must be divisible by it.
        bias: learn an additive bias per output channel.
        rng: the generator for the initial weights (fresh entropy if None).
        dtype: of the parameters; inputs must match it.

    **Shape:** (N, C_in, H, W) -> (N, C_out, H_out, W_out) with
    ``H_out = (H-1)*sH - 2pH + dH(kH-1) + output_padding_H + 1``, likewise ``W_out``.
    Weight (C_in, C_out/G, kH, kW), bias (C_out,).

    Example:
        >>> up = ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1,
        ...                      rng=np.random.default_rng(0))
        >>> up(np.zeros((1, 64, 16, 12), dtype=np.float32)).shape
        (1, 32, 32, 24)
    """

    n_dims = 2

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Transposed-convolve ``x``: (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
        self._check(x)
        y, cache = conv_transpose2d_forward(
            x, self.weight.data, self._bias_data(), self.stride, self.padding,
            self.output_padding, self.groups, self.dilation)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Add dL/dweight, dL/dbias into ``.grad``; return dL/dx (None if not ``input_grad``).

        **Shape:** grad_y (N, C_out, H_out, W_out) -> grad_x (N, C_in, H, W).
        """
        cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        grad_x, grad_weight, grad_bias = conv_transpose2d_backward(grad_y, cache, input_grad)
        return self._finish_backward(grad_x, grad_weight, grad_bias, None)


def homework_conv_transpose2d(in_channels: int, out_channels: int,
                              kernel_size: int | tuple[int, int],
                              upsampling_factor: int | tuple[int, int], *,
                              rng: np.random.Generator | None = None,
                              dtype=np.float32) -> Sequential:
    """The CMU 11-785 homework's ``ConvTranspose2d``: ``Upsample2d(s)`` then a valid stride-1 conv.

    ``y = conv2d(upsample_zeros(x, s), weight) + bias`` with an ordinary Conv2d weight
    (C_out, C_in, kH, kW) and no padding. Compared with PyTorch's ConvTranspose2d of
    stride s, it uses the kernel as given instead of flipped and channel-swapped, and
    its output is PyTorch's cropped by ``kH-1`` rows and ``kW-1`` columns on *each*
    side: with ``torch_weight = weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]`` it equals
    ``ConvTranspose2d(..., stride=s, padding=(kH-1, kW-1))``.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: int or (kH, kW).
        upsampling_factor: s, an int or an (sH, sW) pair.
        rng, dtype: as for Conv2d.

    Returns:
        ``Sequential(Upsample2d(s), Conv2d(in_channels, out_channels, kernel_size))``.

    **Shape:** (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    ``H_out = sH(H-1) + 2 - kH``, likewise W_out; PyTorch's ConvTranspose2d of stride s
    gives ``sH(H-1) + kH``, i.e. ``2(kH-1)`` more.

    Example:
        >>> net = homework_conv_transpose2d(3, 2, 3, 2, rng=np.random.default_rng(0))
        >>> net
        Sequential(
          (0): Upsample2d(upsampling_factor=(2, 2))
          (1): Conv2d(3, 2, kernel_size=(3, 3))
        )
        >>> net(np.zeros((1, 3, 5, 6), np.float32)).shape
        (1, 2, 7, 9)
    """
    return Sequential(Upsample2d(upsampling_factor),
                      Conv2d(in_channels, out_channels, kernel_size, rng=rng, dtype=dtype))


def homework_conv_transpose1d(in_channels: int, out_channels: int, kernel_size: int,
                              upsampling_factor: int, *,
                              rng: np.random.Generator | None = None,
                              dtype=np.float32) -> Sequential:
    """The CMU 11-785 homework's ``ConvTranspose1d``: ``Upsample1d(s)`` then a valid stride-1 conv.

    Equals PyTorch's ``ConvTranspose1d(stride=s, padding=k-1)`` with the weight flipped
    and channel-swapped (see ``homework_conv_transpose2d``).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k.
        upsampling_factor: s.
        rng, dtype: as for Conv1d.

    Returns:
        ``Sequential(Upsample1d(s), Conv1d(in_channels, out_channels, kernel_size))``.

    **Shape:** (N, C_in, L) -> (N, C_out, L_out), ``L_out = s(L-1) + 2 - k``.

    Example:
        >>> net = homework_conv_transpose1d(3, 2, 3, 2, rng=np.random.default_rng(0))
        >>> net(np.zeros((1, 3, 10), np.float32)).shape
        (1, 2, 17)
    """
    return Sequential(Upsample1d(upsampling_factor),
                      Conv1d(in_channels, out_channels, kernel_size, rng=rng, dtype=dtype))
