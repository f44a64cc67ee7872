"""Convolution (cross-correlation) forward and backward, as im2col plus one matrix product.

Axis names: N batch, C_in/C_out channels, H, W input size, kH, kW kernel size,
H_out, W_out output size, G groups (see ``columns.py``).

Forward, for each group g (channels ``g*C_in/G ...`` in, ``g*C_out/G ...`` out)::

    y[n, o, h, w] = b[o] + sum_{c, i, j} weight[o, c, i, j] * x_pad[n, c, h*sH + i*dH, w*sW + j*dW]

With ``cols = im2col(x)`` read as a ``(C_in/G*kH*kW, N*H_out*W_out)`` matrix per group
and the weight as ``(C_out/G, C_in/G*kH*kW)``, that sum is one matrix product::

    Y = Wmat @ cols

Backward follows from it::

    grad_weight = grad_Y @ cols.T          (cols is kept from the forward pass)
    grad_cols   = Wmat.T @ grad_Y          then grad_x = col2im(grad_cols)
    grad_bias   = grad_Y summed over N, H_out, W_out

``matmul`` is ``np.matmul``, one product per group. Chainer writes the same contraction
as ``np.tensordot`` over the (C, kH, kW) axes of the columns and the weight; for G = 1
both reach the same BLAS product, and ``np.matmul`` measured 5-11% faster on LeNet's
layers (``docs/performance.md``), so it stays. The columns are built and folded, and the
products run, by the equal but faster variants in ``_fast.py`` (columns with the batch
axis last, so the columns are ordered (h, w, n); dL/dx by correlation, and y by
transposition, where that moves less memory; small products on one BLAS thread while the
machine is busy; a tiny weight's products in pieces; for stride 1, columns built along
the width only and shared by consecutive output rows, ``row_columns.py``, which also
folds a first layer's dL/dx by rows); ``columns.py`` has the plain loops they are tested
against.

``algorithm='tensordot'`` computes the same numbers without columns, one
``np.tensordot`` per kernel offset (``conv_tensordot.py``). The 1-D functions view
(N, C, L) as (N, C, 1, L): a 1-D convolution *is* a 2-D one with a kernel of height 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convnp.functional import conv_tensordot
from convnp.functional._blas import matmul
from convnp.functional._fast import (
    batch_last_col2im,
    batch_last_im2col,
    conv2d_grad_x_by_correlation,
    correlation_is_cheaper,
    fast_forward,
    fast_grad_weight,
    flipped_kernel,
    transposition_is_cheaper,
)
from convnp.functional.conv_transpose import (
    ConvTransposeCache,
    conv2d_by_transposition,
    conv_transpose2d_backward,
)
from convnp.functional.row_columns import (
    conv2d_by_rows,
    conv2d_grad_x_by_rows,
    grad_x_rows_are_cheaper,
    row_grad_weight,
    rows_are_cheaper,
)
from convnp.functional.shapes import (
    Pair,
    as_2d,
    check_cache,
    check_conv_arrays,
    check_grad,
    conv_output_size,
    drop_height,
    lift_1d,
    window_args,
)

ALGORITHMS = ("im2col", "tensordot")


class ConvCache(NamedTuple):
    """What ``conv2d_backward`` needs from an ``algorithm='im2col'`` forward pass."""

    x_shape: tuple[int, int, int, int]
    cols: np.ndarray  # (G, C_in/G*kH*kW, H_out*W_out*N): batch axis last
    weight: np.ndarray  # (C_out, C_in/G, kH, kW)
    has_bias: bool
    stride: Pair
    padding: Pair
    dilation: Pair
    y_shape: tuple[int, int, int, int]  # the output's: backward checks grad_y against it


class RowsCache(NamedTuple):
    """``ConvCache`` for a forward pass by row columns: the windows instead of cols."""

    x_shape: tuple[int, int, int, int]
    windows: np.ndarray  # (H_out, kH*kW*C_in, W_out*N): see row_columns.row_windows
    weight: np.ndarray
    has_bias: bool
    stride: Pair
    padding: Pair
    dilation: Pair
    y_shape: tuple[int, int, int, int]


AnyConvCache = ConvCache | RowsCache | ConvTransposeCache | conv_tensordot.TensordotCache
"""A forward pass's cache: ``RowsCache`` when y was computed by row columns,
``ConvTransposeCache`` when by transposition."""
CONV_CACHES = (ConvCache, RowsCache, ConvTransposeCache, conv_tensordot.TensordotCache)


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   stride: Pair = (1, 1), padding: Pair = (0, 0), dilation: Pair = (1, 1),
                   groups: int = 1, algorithm: str = "im2col"
                   ) -> tuple[np.ndarray, AnyConvCache]:
    """2-D convolution (cross-correlation, as in PyTorch) with zero padding.

    Args:
        x: (N, C_in, H, W).
        weight: (C_out, C_in/G, kH, kW).
        bias: (C_out,) or None.
        stride, padding, dilation: ``(H, W)`` pairs (or ints).
        groups: G; C_in and C_out must be divisible by it.
        algorithm: ``'im2col'`` (columns and one matrix product) or ``'tensordot'``
            (one ``np.tensordot`` per kernel offset); the results agree.

    x, weight and bias must have one dtype (a float32/float64 mix is a ValueError).

    Returns:
        ``(y, cache)``: y of shape (N, C_out, H_out, W_out) and the cache for backward.
        ``y`` is a view of a (C_out, H_out, W_out, N)-ordered array, which is what the
        next convolution wants to read.

    **Shape:** ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1``, likewise ``W_out``.

    Example:
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> w = np.array([[[[0.0, 1], [2, 3]]]])
        >>> y, _ = conv2d_forward(x, w, None)
        >>> y[0, 0]
        array([[19., 25.],
               [37., 43.]])
        >>> np.array_equal(conv2d_forward(x, w, None, algorithm="tensordot")[0], y)
        True
    """
    stride, padding, dilation, groups = check_conv_args("conv2d_forward", x, weight, bias, stride,
                                                        padding, dilation, groups, algorithm)
    if algorithm == "tensordot":
        return conv_tensordot.conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    N, C_in, H, W = x.shape
    C_out, C_in_g, kH, kW = weight.shape
    G = groups
    H_out, W_out = (conv_output_size(n, k, s, p, d)
                    for n, k, s, p, d in zip((H, W), (kH, kW), stride, padding, dilation))
    if transposition_is_cheaper(x.shape, (N, C_out, H_out, W_out), (kH, kW), stride,
                                padding, dilation):
        return conv2d_by_transposition(x, weight, bias, padding, dilation, G)
    cache: ConvCache | RowsCache
    if rows_are_cheaper(x.shape, (N, C_out, H_out, W_out), (kH, kW), stride, dilation, G):
        y, windows = conv2d_by_rows(x, weight, stride, padding, dilation)
        cache = RowsCache(x.shape, windows, weight, bias is not None, stride, padding, dilation,
                          (N, C_out, H_out, W_out))
    else:
        # (C_in, kH, kW, H_out, W_out, N): im2col's columns with the batch axis last
        cols = batch_last_im2col(x, (kH, kW), stride, padding, dilation)
        cols = cols.reshape(G, C_in_g * kH * kW, H_out * W_out * N)
        w = weight.reshape(G, C_out // G, C_in_g * kH * kW)
        y = fast_forward(w, cols).reshape(C_out, H_out, W_out, N)  # Y = Wmat @ cols
        cache = ConvCache(x.shape, cols, weight, bias is not None, stride, padding, dilation,
                          (N, C_out, H_out, W_out))
    if bias is not None:
        y += bias[:, None, None, None]
    return y.transpose(3, 0, 1, 2), cache


def conv2d_backward(grad_y: np.ndarray,
                    cache: AnyConvCache,
                    input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of a 2-D convolution, by the algorithm its forward pass used.

    Args:
        grad_y: dL/dy, shape (N, C_out, H_out, W_out).
        cache: from ``conv2d_forward``.
        input_grad: if False, skip dL/dx (the costliest part) and return None for it.

    Returns:
        ``(grad_x, grad_weight, grad_bias)`` with shapes (N, C_in, H, W),
        (C_out, C_in/G, kH, kW) and (C_out,) (None when there is no bias).

    Example:
        >>> x, w = np.ones((1, 1, 3, 4)), np.ones((1, 1, 2, 2))
        >>> y, cache = conv2d_forward(x, w, None)
        >>> grad_x, grad_w, _ = conv2d_backward(np.ones_like(y), cache)
        >>> grad_x[0, 0]                       # how many outputs each pixel feeds
        array([[1., 2., 2., 1.],
               [2., 4., 4., 2.],
               [1., 2., 2., 1.]])
    """
    check_cache("conv2d_backward", cache, CONV_CACHES, "conv2d_forward")
    check_grad("conv2d_backward", grad_y, cache.y_shape)
    if isinstance(cache, conv_tensordot.TensordotCache):
        return conv_tensordot.conv2d_backward(grad_y, cache, input_grad)
    if isinstance(cache, ConvTransposeCache):  # y was computed by transposition
        grad_x, grad_flipped, grad_bias = conv_transpose2d_backward(grad_y, cache, input_grad)
        return grad_x, flipped_kernel(grad_flipped, cache.x_groups.shape[0]), grad_bias
    x_shape, cols, weight, has_bias, stride, padding, dilation, _ = cache
    N, C_out, H_out, W_out = grad_y.shape
    C_in, C_in_g, kH, kW = x_shape[1], *weight.shape[1:]
    G = C_in // C_in_g
    # A copy only if grad_y is not already (C_out, H_out, W_out, N)-ordered in memory.
    gy = grad_y.transpose(1, 2, 3, 0).reshape(G, C_out // G, H_out * W_out * N)
    grad_bias = gy.sum(axis=2).reshape(C_out) if has_bias else None
    if isinstance(cache, RowsCache):  # cols holds the windows: sum_h grad_Y[:, h] @ block_h.T
        grad_weight = row_grad_weight(gy.reshape(C_out, H_out, -1), cols, weight.shape,
                                      x_shape[2], stride[0], padding[0])
    else:
        grad_weight = fast_grad_weight(gy, cols).reshape(weight.shape)  # grad_Y @ cols.T
    if not input_grad:
        return None, grad_weight, grad_bias
    if correlation_is_cheaper(x_shape, grad_y.shape, (kH, kW), stride, padding, dilation):
        # gy's batch-last copy, so that grad_y is not reordered twice: 0.9x the time of
        # this backward on conv_bench's 64-channel layer, whose grad_y comes in NCHW order.
        gy_nchw = gy.reshape(C_out, H_out, W_out, N).transpose(3, 0, 1, 2)
        return (conv2d_grad_x_by_correlation(gy_nchw, weight, padding, dilation, G),
                grad_weight, grad_bias)
    if grad_x_rows_are_cheaper(x_shape, grad_y.shape, (kH, kW), stride, dilation, G):
        grad_x = conv2d_grad_x_by_rows(gy.reshape(C_out, H_out, W_out, N), weight, x_shape,
                                       stride, padding, dilation)  # col2im by rows
        return grad_x, grad_weight, grad_bias
    w = weight.reshape(G, C_out // G, -1)
    grad_cols = matmul(w.transpose(0, 2, 1), gy)  # Wmat.T @ grad_Y
    grad_cols = grad_cols.reshape(C_in, kH, kW, H_out, W_out, N)
    grad_x = batch_last_col2im(grad_cols, x_shape, (kH, kW), stride, padding, dilation)
    return grad_x, grad_weight, grad_bias


def check_conv_args(caller: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                    stride: Pair, padding: Pair, dilation: Pair, groups: int, algorithm: str,
                    n_dims: int = 2) -> tuple[tuple[int, ...], tuple[int, ...],
                                              tuple[int, ...], int]:
    """Check a convolution's arguments (see ``shapes.py``) with errors naming ``caller``;
    return ``(stride, padding, dilation, groups)``, ints as tuples of ``n_dims``."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"{caller}: algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    groups = check_conv_arrays(caller, x, weight, bias, groups, n_dims)
    _, stride, padding, dilation = window_args(caller, x, n_dims, weight.shape[2:], stride,
                                               padding, dilation)
    return stride, padding, dilation, groups


def conv1d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   stride: int = 1, padding: int = 0, dilation: int = 1,
                   groups: int = 1, algorithm: str = "im2col"
                   ) -> tuple[np.ndarray, AnyConvCache]:
    """1-D convolution: ``conv2d_forward`` on (N, C_in, 1, L) with a height-1 kernel.

    ``y[n, o, t] = b[o] + sum_{c, i} weight[o, c, i] * x_pad[n, c, t*s + i*d]``

    Args:
        x: (N, C_in, L).
        weight: (C_out, C_in/G, k).
        bias, groups, algorithm: as in ``conv2d_forward``; stride, padding, dilation: ints.

    **Shape:** (N, C_in, L) -> (N, C_out, L_out), ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``.

    Example:
        >>> y, _ = conv1d_forward(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 2)), None)
        >>> y
        array([[[1., 3., 5., 7.]]])
    """
    *args, groups = check_conv_args("conv1d_forward", x, weight, bias, stride, padding,
                                    dilation, groups, algorithm, n_dims=1)
    _, s, p, d = lift_1d((1,), *args)
    y, cache = conv2d_forward(as_2d(x), as_2d(weight), bias, s, p, d, groups, algorithm)
    return y[:, :, 0, :], cache


def conv1d_backward(grad_y: np.ndarray, cache: AnyConvCache,
                    input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv1d_forward``.

    **Shape:** grad_y (N, C_out, L_out) -> grad_x (N, C_in, L) (None if not
    ``input_grad``), grad_weight (C_out, C_in/G, k), grad_bias (C_out,) or None.
    """
    check_cache("conv1d_backward", cache, CONV_CACHES, "conv1d_forward")
    check_grad("conv1d_backward", grad_y, drop_height(cache.y_shape))
    grad_x, grad_weight, grad_bias = conv2d_backward(as_2d(grad_y), cache, input_grad)
    if grad_x is not None:
        grad_x = grad_x[:, :, 0, :]
    return grad_x, grad_weight[:, :, 0, :], grad_bias
