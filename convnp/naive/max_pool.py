"""Max-pooling as loops, straight from the definition.

Axis names: N batch, C channels, H, W (or L) input size, kH, kW (or k) window size,
H_out, W_out (or L_out) output size. Padding is -inf: a tap in it is skipped and never
wins. A window whose every tap is padding (possible with dilation) gives -inf and passes
no gradient. Ties go to the *first* maximum in window order, row by row, as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ._common import (
    as_pair,
    as_single,
    check_flags,
    check_min,
    check_ndim,
    check_out,
    check_pool_padding,
    out_len,
)

IntOrPair = int | tuple[int, int]


def _max_pool2d(fn, x, kernel_size, stride, padding, dilation, ceil_mode, grad_y=None):
    """Output and winners: ``winners[(n, c, h, w)] = (r, q)``, the first max of each window."""
    check_flags(fn, ceil_mode=ceil_mode)
    kH, kW = as_pair(fn, "kernel_size", kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(fn, "stride", stride)
    (pH, pW), (dH, dW) = as_pair(fn, "padding", padding), as_pair(fn, "dilation", dilation)
    for name, value in (("kernel_size", (kH, kW)), ("stride", (sH, sW)), ("dilation", (dH, dW))):
        check_min(fn, name, value, 1)
    check_pool_padding(fn, (kH, kW), (pH, pW))
    check_ndim(fn, "x", np.shape(x), 4, "(N, C, H, W)")
    N, C, H, W = np.shape(x)
    H_out = out_len(H, kH, sH, pH, dH, ceil_mode)
    W_out = out_len(W, kW, sW, pW, dW, ceil_mode)
    check_out(fn, (N, C, H_out, W_out), grad_y)
    xs = np.asarray(x).tolist()
    y = np.full((N, C, H_out, W_out), -math.inf)
    winners = {}
    for n in range(N):
        for c in range(C):
            for h in range(H_out):
                for w in range(W_out):
                    best, where = -math.inf, None
                    for i in range(kH):
                        for j in range(kW):
                            r, q = h * sH - pH + i * dH, w * sW - pW + j * dW
                            if not (0 <= r < H and 0 <= q < W):
                                continue  # padding never wins
                            v = xs[n][c][r][q]
                            # a tie keeps the first; a NaN wins, as in PyTorch (v != v: NaN)
                            if where is None or v > best or v != v and best == best:
                                best, where = v, (r, q)
                    y[n, c, h, w] = best
                    if where is not None:
                        winners[(n, c, h, w)] = where
    return y, winners


def max_pool2d_forward_naive(x: ArrayLike, kernel_size: IntOrPair,
                             stride: IntOrPair | None = None, padding: IntOrPair = 0,
                             dilation: IntOrPair = 1, ceil_mode: bool = False) -> np.ndarray:
    """2-D max-pooling: the largest input value under each window.

    ``y[n, c, h, w] = max_{i, j} x[n, c, h*sH - pH + i*dH, w*sW - pW + j*dW]`` over the
    taps inside the input. Float64 result whatever the input dtype.

    Args:
        x: input (N, C, H, W).
        kernel_size: int or ``(kH, kW)``.
        stride: int or pair; None (the default) means ``kernel_size``.
        padding: int or pair, at most half the kernel size (PyTorch's rule).
        dilation: int or pair.
        ceil_mode: round the output size up; a window starting in the right padding is
            dropped.

    **Shape:** x (N, C, H, W) -> y (N, C, H_out, W_out), float64, with
    ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1`` (``ceil`` with ceil_mode), likewise W.

    Example:
        >>> x = np.array([[[[1.0, 5, 2, 0], [3, 4, 8, 1]]]])
        >>> max_pool2d_forward_naive(x, 2)
        array([[[[5., 8.]]]])
    """
    return _max_pool2d("max_pool2d_forward_naive", x, kernel_size, stride, padding, dilation,
                       ceil_mode)[0]


def max_pool2d_backward_naive(grad_y: ArrayLike, x: ArrayLike, kernel_size: IntOrPair,
                              stride: IntOrPair | None = None, padding: IntOrPair = 0,
                              dilation: IntOrPair = 1, ceil_mode: bool = False) -> np.ndarray:
    """Gradient of ``max_pool2d_forward_naive``: each output's gradient goes to its winner.

    ``grad_x[n, c, r, q] += grad_y[n, c, h, w]`` where ``(r, q)`` is the first maximum of
    window ``(h, w)``, row by row. Overlapping windows that share a winner add up.

    Args:
        grad_y: dL/dy, (N, C, H_out, W_out).
        x, kernel_size, stride, padding, dilation, ceil_mode: the forward's arguments.

    **Shape:** grad_y (N, C, H_out, W_out) -> grad_x (N, C, H, W), float64.

    Example:
        >>> x = np.array([[[[1.0, 9, 2], [9, 0, 3]]]])
        >>> max_pool2d_backward_naive(np.array([[[[1.0, 10]]]]), x, 2, stride=1)
        array([[[[ 0., 11.,  0.],
                 [ 0.,  0.,  0.]]]])
    """
    _, winners = _max_pool2d("max_pool2d_backward_naive", x, kernel_size, stride, padding,
                             dilation, ceil_mode, grad_y)
    gys = np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x))
    for (n, c, h, w), (r, q) in winners.items():
        grad_x[n, c, r, q] += gys[n][c][h][w]
    return grad_x


def _max_pool1d(fn, x, kernel_size, stride, padding, dilation, ceil_mode, grad_y=None):
    """Output and winners: ``winners[(n, c, t)] = u``, the first max of each window."""
    check_flags(fn, ceil_mode=ceil_mode)
    k = as_single(fn, "kernel_size", kernel_size)
    s = k if stride is None else as_single(fn, "stride", stride)
    p, d = as_single(fn, "padding", padding), as_single(fn, "dilation", dilation)
    for name, value in (("kernel_size", k), ("stride", s), ("dilation", d)):
        check_min(fn, name, (value,), 1)
    check_pool_padding(fn, (k,), (p,))
    check_ndim(fn, "x", np.shape(x), 3, "(N, C, L)")
    N, C, L = np.shape(x)
    L_out = out_len(L, k, s, p, d, ceil_mode)
    check_out(fn, (N, C, L_out), grad_y)
    xs = np.asarray(x).tolist()
    y = np.full((N, C, L_out), -math.inf)
    winners = {}
    for n in range(N):
        for c in range(C):
            for t in range(L_out):
                best, where = -math.inf, None
                for i in range(k):
                    u = t * s - p + i * d
                    if 0 <= u < L and (where is None or xs[n][c][u] > best):
                        best, where = xs[n][c][u], u
                y[n, c, t] = best
                if where is not None:
                    winners[(n, c, t)] = where
    return y, winners


def max_pool1d_forward_naive(x: ArrayLike, kernel_size: int, stride: int | None = None,
                             padding: int = 0, dilation: int = 1,
                             ceil_mode: bool = False) -> np.ndarray:
    """1-D max-pooling: ``y[n, c, t] = max_i x[n, c, t*s - p + i*d]`` over the taps inside.

    Args:
        x: input (N, C, L).
        kernel_size: k.
        stride: None (the default) means ``kernel_size``.
        padding: at most ``k // 2``.
        dilation: distance between taps.
        ceil_mode: round the output size up; a window starting in the right padding is
            dropped.

    **Shape:** x (N, C, L) -> y (N, C, L_out), float64,
    ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1`` (``ceil`` with ceil_mode).

    Example:
        >>> max_pool1d_forward_naive(np.array([[[1.0, 2, 3, 4, 5]]]), 2, ceil_mode=True)
        array([[[2., 4., 5.]]])
    """
    return _max_pool1d("max_pool1d_forward_naive", x, kernel_size, stride, padding, dilation,
                       ceil_mode)[0]


def max_pool1d_backward_naive(grad_y: ArrayLike, x: ArrayLike, kernel_size: int,
                              stride: int | None = None, padding: int = 0, dilation: int = 1,
                              ceil_mode: bool = False) -> np.ndarray:
    """Gradient of ``max_pool1d_forward_naive``: ``grad_x[n, c, u] += grad_y[n, c, t]``.

    ``u`` is the first maximum of window ``t``; ties go to the leftmost tap.

    Args:
        grad_y: dL/dy, (N, C, L_out).
        x, kernel_size, stride, padding, dilation, ceil_mode: the forward's arguments.

    **Shape:** grad_y (N, C, L_out) -> grad_x (N, C, L), float64.

    Example:
        >>> max_pool1d_backward_naive(np.array([[[1.0, 10]]]), np.array([[[3.0, 3, 1]]]), 2, 1)
        array([[[ 1., 10.,  0.]]])
    """
    _, winners = _max_pool1d("max_pool1d_backward_naive", x, kernel_size, stride, padding,
                             dilation, ceil_mode, grad_y)
    gys = np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x))
    for (n, c, t), u in winners.items():
        grad_x[n, c, u] += gys[n][c][t]
    return grad_x
