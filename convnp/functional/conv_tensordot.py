"""Convolution with ``np.tensordot``: one contraction per kernel offset, no columns.

Axis names as in ``columns.py``. This is the course's "good" way between the loops of
``convnp.naive`` and im2col. For kernel offset ``(i, j)`` the input pixels under that
tap, for every image and output position at once, are one strided slice ``window``
(C_in, N, H_out, W_out) of the padded input (``columns.window_slices``). The
convolution is the sum over offsets of one contraction over the input channels::

    y       += tensordot(weight[:, :, i, j], window, axes=(C_in, C_in))   (C_out, N, H_out, W_out)

and backward runs the same loop::

    grad_weight[:, :, i, j] = tensordot(grad_y, window, axes=(N, H_out, W_out))   (C_out, C_in)
    grad_window            += tensordot(weight[:, :, i, j], grad_y, axes=(C_out, C_out))

The loop runs over the kH*kW kernel offsets (two nested loops in 2-D, one in 1-D where
kH = 1), not over the H_out*W_out output positions: there are far fewer offsets (25
against 784 for LeNet's first layer), and each contraction is then large enough to
keep BLAS busy. With groups, the loop also runs over the G groups, each contracting its
own channels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convnp.functional.columns import pad_cnhw, window_slices
from convnp.functional.shapes import Pair, conv_output_size


class TensordotCache(NamedTuple):
    """What ``conv2d_backward`` needs from an ``algorithm='tensordot'`` forward pass."""

    xp: np.ndarray  # (C_in, N, H + 2pH, W + 2pW): the zero-padded input
    x_shape: tuple[int, int, int, int]
    weight: np.ndarray  # (C_out, C_in/G, kH, kW)
    has_bias: bool
    stride: Pair
    padding: Pair
    dilation: Pair
    groups: int
    y_shape: tuple[int, int, int, int]  # the output's: backward checks grad_y against it


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   stride: Pair, padding: Pair, dilation: Pair, groups: int
                   ) -> tuple[np.ndarray, TensordotCache]:
    """2-D convolution as a sum over kernel offsets of ``np.tensordot`` contractions.

    Called by ``functional.conv.conv2d_forward(..., algorithm='tensordot')``, which
    checks the arguments; the arguments and results are the same.

    **Shape:** x (N, C_in, H, W), weight (C_out, C_in/G, kH, kW) -> y (N, C_out, H_out, W_out).

    Example:
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> conv2d_forward(x, np.ones((1, 1, 2, 2)), None, (1, 1), (0, 0), (1, 1), 1)[0][0, 0]
        array([[ 8., 12.],
               [20., 24.]])
    """
    N, C_in, H, W = x.shape
    C_out, C_in_g, kH, kW = weight.shape
    G, C_out_g = groups, C_out // groups
    out = (conv_output_size(H, kH, stride[0], padding[0], dilation[0]),
           conv_output_size(W, kW, stride[1], padding[1], dilation[1]))
    xp = pad_cnhw(x, ((padding[0],) * 2, (padding[1],) * 2))  # (C_in, N, H_pad, W_pad)
    y = np.zeros((C_out, N, *out), dtype=np.result_type(x, weight))
    for i, j, window in window_slices((kH, kW), stride, dilation, out):
        for g in range(G):
            o, c = slice(g * C_out_g, (g + 1) * C_out_g), slice(g * C_in_g, (g + 1) * C_in_g)
            y[o] += np.tensordot(weight[o, :, i, j], xp[window][c], axes=([1], [0]))
    if bias is not None:
        y += bias[:, None, None, None]
    cache = TensordotCache(xp, x.shape, weight, bias is not None, stride, padding, dilation, G,
                           (N, C_out, *out))
    return y.transpose(1, 0, 2, 3), cache


def conv2d_backward(grad_y: np.ndarray, cache: TensordotCache, input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of the tensordot convolution, the same loop over kernel offsets.

    **Shape:** grad_y (N, C_out, H_out, W_out) -> grad_x (N, C_in, H, W) (None if not
    ``input_grad``), grad_weight (C_out, C_in/G, kH, kW), grad_bias (C_out,) or None.

    Example:
        >>> x, w = np.ones((1, 1, 3, 4)), np.ones((1, 1, 2, 2))
        >>> y, cache = conv2d_forward(x, w, None, (1, 1), (0, 0), (1, 1), 1)
        >>> conv2d_backward(np.ones_like(y), cache)[1]    # each tap saw 2*3 ones
        array([[[[6., 6.],
                 [6., 6.]]]])
    """
    xp, x_shape, weight, has_bias, stride, padding, dilation, G, _ = cache
    N, C_in, H, W = x_shape
    C_out, C_in_g, kH, kW = weight.shape
    C_out_g = C_out // G
    gy = grad_y.transpose(1, 0, 2, 3)  # (C_out, N, H_out, W_out), like the windows
    grad_bias = gy.sum(axis=(1, 2, 3)) if has_bias else None
    grad_weight = np.zeros_like(weight)
    grad_xp = np.zeros(xp.shape, dtype=grad_y.dtype) if input_grad else None
    for i, j, window in window_slices((kH, kW), stride, dilation, gy.shape[2:]):
        for g in range(G):
            o, c = slice(g * C_out_g, (g + 1) * C_out_g), slice(g * C_in_g, (g + 1) * C_in_g)
            grad_weight[o, :, i, j] = np.tensordot(gy[o], xp[window][c],
                                                   axes=([1, 2, 3], [1, 2, 3]))
            if input_grad:
                grad_xp[window][c] += np.tensordot(weight[o, :, i, j], gy[o], axes=([0], [0]))
    if not input_grad:
        return None, grad_weight, grad_bias
    pH, pW = padding
    return grad_xp[:, :, pH:pH + H, pW:pW + W].transpose(1, 0, 2, 3), grad_weight, grad_bias
