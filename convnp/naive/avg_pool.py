"""Average-pooling as loops, straight from PyTorch's definition.

Axis names: N batch, C channels, H, W (or L) input size, kH, kW (or k) window size,
H_out, W_out (or L_out) output size.

A window along one axis starts at ``start = h*s - p`` and ends at
``end = min(start + k, H + p)``: it may cover the zero padding but is clipped before
the overhang that ``ceil_mode`` adds past it. The window's sum over the real pixels
``max(start, 0) <= r < min(end, H)`` is divided by the number of positions counted: all
of ``end - start`` with ``count_include_pad=True``, only the real pixels
``min(end, H) - max(start, 0)`` otherwise. The 2-D divisor is the product of the two axes'.
"""

from __future__ import annotations

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


def _windows(n_out: int, n: int, k: int, s: int, p: int, count_include_pad: bool):
    """Per output index along one axis: (first real index, end of real indices, divisor)."""
    spans = []
    for t in range(n_out):
        start = t * s - p
        end = min(start + k, n + p)
        lo, hi = max(start, 0), min(end, n)
        spans.append((lo, hi, (end - start) if count_include_pad else (hi - lo)))
    return spans


def _setup2d(fn, x, kernel_size, stride, padding, ceil_mode, count_include_pad, grad_y=None):
    check_flags(fn, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    kH, kW = as_pair(fn, "kernel_size", kernel_size)
    sH, sW = (kH, kW) if stride is None else as_pair(fn, "stride", stride)
    pH, pW = as_pair(fn, "padding", padding)
    check_min(fn, "kernel_size", (kH, kW), 1)
    check_min(fn, "stride", (sH, sW), 1)
    check_pool_padding(fn, (kH, kW), (pH, pW))
    check_ndim(fn, "x", np.shape(x), 4, "(N, C, H, W)")
    N, C, H, W = np.shape(x)
    H_out, W_out = out_len(H, kH, sH, pH, 1, ceil_mode), out_len(W, kW, sW, pW, 1, ceil_mode)
    check_out(fn, (N, C, H_out, W_out), grad_y)
    return ((N, C, H_out, W_out), _windows(H_out, H, kH, sH, pH, count_include_pad),
            _windows(W_out, W, kW, sW, pW, count_include_pad))


def avg_pool2d_forward_naive(x: ArrayLike, kernel_size: IntOrPair,
                             stride: IntOrPair | None = None, padding: IntOrPair = 0,
                             ceil_mode: bool = False, count_include_pad: bool = True
                             ) -> np.ndarray:
    """2-D average-pooling: ``y[n, c, h, w] = sum of x over the window / divisor[h, w]``.

    The window rows are ``max(h*sH - pH, 0) <= r < min(h*sH - pH + kH, H)``, columns
    likewise; the divisor is described in the module docstring. Float64 result whatever
    the input dtype.

    Args:
        x: input (N, C, H, W).
        kernel_size: int or ``(kH, kW)``.
        stride: int or pair; None (the default) means ``kernel_size``.
        padding: int or pair of zero padding, at most half the kernel size.
        ceil_mode: round the output size up; a window starting in the right padding is
            dropped.
        count_include_pad: count the zero padding in the divisor.

    **Shape:** x (N, C, H, W) -> y (N, C, H_out, W_out), float64, with
    ``H_out = floor((H + 2pH - kH)/sH) + 1`` (``ceil`` with ceil_mode), likewise W.

    Example:
        >>> avg_pool2d_forward_naive(np.ones((1, 1, 2, 3)), 2, padding=1)
        array([[[[0.25, 0.5 ],
                 [0.25, 0.5 ]]]])
    """
    out_shape, rows, cols = _setup2d("avg_pool2d_forward_naive", x, kernel_size, stride,
                                     padding, ceil_mode, count_include_pad)
    N, C, H_out, W_out = out_shape
    xs = np.asarray(x).tolist()
    y = np.zeros(out_shape)
    for n in range(N):
        for c in range(C):
            for h, (r0, r1, div_h) in enumerate(rows):
                for w, (q0, q1, div_w) in enumerate(cols):
                    total = 0.0
                    for r in range(r0, r1):
                        for q in range(q0, q1):
                            total += xs[n][c][r][q]
                    y[n, c, h, w] = total / (div_h * div_w)
    return y


def avg_pool2d_backward_naive(grad_y: ArrayLike, x: ArrayLike, kernel_size: IntOrPair,
                              stride: IntOrPair | None = None, padding: IntOrPair = 0,
                              ceil_mode: bool = False, count_include_pad: bool = True
                              ) -> np.ndarray:
    """Gradient of ``avg_pool2d_forward_naive``: each window shares its gradient out evenly.

    ``grad_x[n, c, r, q] += grad_y[n, c, h, w] / divisor[h, w]`` for every real pixel
    ``(r, q)`` of window ``(h, w)``.

    Args:
        grad_y: dL/dy, (N, C, H_out, W_out).
        x: the forward's input; only its shape is used.
        kernel_size, stride, padding, ceil_mode, count_include_pad: the forward's arguments.

    **Shape:** grad_y (N, C, H_out, W_out) -> grad_x (N, C, H, W), float64.

    Example:
        >>> avg_pool2d_backward_naive(np.array([[[[4.0, 8]]]]), np.zeros((1, 1, 2, 3)), 2, 1)
        array([[[[1., 3., 2.],
                 [1., 3., 2.]]]])
    """
    out_shape, rows, cols = _setup2d("avg_pool2d_backward_naive", x, kernel_size, stride,
                                     padding, ceil_mode, count_include_pad, grad_y)
    N, C, H_out, W_out = out_shape
    gys = np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x)).tolist()
    for n in range(N):
        for c in range(C):
            for h, (r0, r1, div_h) in enumerate(rows):
                for w, (q0, q1, div_w) in enumerate(cols):
                    share = gys[n][c][h][w] / (div_h * div_w)
                    for r in range(r0, r1):
                        for q in range(q0, q1):
                            grad_x[n][c][r][q] += share
    return np.array(grad_x, dtype=np.float64).reshape(np.shape(x))


def _setup1d(fn, x, kernel_size, stride, padding, ceil_mode, count_include_pad, grad_y=None):
    check_flags(fn, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    k = as_single(fn, "kernel_size", kernel_size)
    s = k if stride is None else as_single(fn, "stride", stride)
    p = as_single(fn, "padding", padding)
    check_min(fn, "kernel_size", (k,), 1)
    check_min(fn, "stride", (s,), 1)
    check_pool_padding(fn, (k,), (p,))
    check_ndim(fn, "x", np.shape(x), 3, "(N, C, L)")
    N, C, L = np.shape(x)
    L_out = out_len(L, k, s, p, 1, ceil_mode)
    check_out(fn, (N, C, L_out), grad_y)
    return (N, C, L_out), _windows(L_out, L, k, s, p, count_include_pad)


def avg_pool1d_forward_naive(x: ArrayLike, kernel_size: int, stride: int | None = None,
                             padding: int = 0, ceil_mode: bool = False,
                             count_include_pad: bool = True) -> np.ndarray:
    """1-D average-pooling: ``y[n, c, t] = sum_{u0 <= u < u1} x[n, c, u] / divisor[t]``.

    ``u0 = max(t*s - p, 0)``, ``u1 = min(t*s - p + k, L + p, L)``; the divisor is described in
    the module docstring.

    Args:
        x: input (N, C, L).
        kernel_size: k.
        stride: None (the default) means ``kernel_size``.
        padding: zero padding, at most ``k // 2``.
        ceil_mode: round the output size up; a window starting in the right padding is
            dropped.
        count_include_pad: count the zero padding in the divisor.

    **Shape:** x (N, C, L) -> y (N, C, L_out), float64,
    ``L_out = floor((L + 2p - k)/s) + 1`` (``ceil`` with ceil_mode).

    Example:
        >>> x = np.array([[[1.0, 2, 3, 4]]])
        >>> avg_pool1d_forward_naive(x, 3, 2, padding=1, ceil_mode=True)
        array([[[1., 3., 2.]]])
        >>> avg_pool1d_forward_naive(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        array([[[1.5, 3. , 4. ]]])
    """
    out_shape, spans = _setup1d("avg_pool1d_forward_naive", x, kernel_size, stride, padding,
                                ceil_mode, count_include_pad)
    N, C, L_out = out_shape
    xs = np.asarray(x).tolist()
    y = np.zeros(out_shape)
    for n in range(N):
        for c in range(C):
            for t, (u0, u1, divisor) in enumerate(spans):
                total = 0.0
                for u in range(u0, u1):
                    total += xs[n][c][u]
                y[n, c, t] = total / divisor
    return y


def avg_pool1d_backward_naive(grad_y: ArrayLike, x: ArrayLike, kernel_size: int,
                              stride: int | None = None, padding: int = 0,
                              ceil_mode: bool = False, count_include_pad: bool = True
                              ) -> np.ndarray:
    """Gradient of ``avg_pool1d_forward_naive``: each window shares its gradient out evenly.

    ``grad_x[n, c, u] += grad_y[n, c, t] / divisor[t]`` for every real position ``u`` of
    window ``t``.

    Args:
        grad_y: dL/dy, (N, C, L_out).
        x: the forward's input; only its shape is used.
        kernel_size, stride, padding, ceil_mode, count_include_pad: the forward's arguments.

    **Shape:** grad_y (N, C, L_out) -> grad_x (N, C, L), float64.

    Example:
        >>> avg_pool1d_backward_naive(np.array([[[6.0, 3]]]), np.zeros((1, 1, 5)), 3, 2)
        array([[[2., 2., 3., 1., 1.]]])
    """
    out_shape, spans = _setup1d("avg_pool1d_backward_naive", x, kernel_size, stride, padding,
                                ceil_mode, count_include_pad, grad_y)
    N, C, L_out = out_shape
    gys = np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x)).tolist()
    for n in range(N):
        for c in range(C):
            for t, (u0, u1, divisor) in enumerate(spans):
                for u in range(u0, u1):
                    grad_x[n][c][u] += gys[n][c][t] / divisor
    return np.array(grad_x, dtype=np.float64).reshape(np.shape(x))
