"""Convolution (cross-correlation, as in PyTorch) as loops, straight from the definition.

Axis names: N batch, C_in/C_out channels, H, W (or L) input size, kH, kW (or k) kernel
size, H_out, W_out (or L_out) output size, G groups, Cg = C_in/G input channels per group.

Output channel ``o`` belongs to group ``g = o // (C_out/G)`` and reads input channels
``g*Cg ... g*Cg + Cg - 1``. Padding is zeros: a tap that falls in it adds nothing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._common import as_pair, as_single, check_conv, check_min, check_ndim, check_out, out_len

IntOrPair = int | tuple[int, int]


def _setup2d(fn, x, weight, bias, stride, padding, dilation, groups):
    """Normalise the arguments, check them, and return every size the loops need."""
    (sH, sW), (pH, pW) = as_pair(fn, "stride", stride), as_pair(fn, "padding", padding)
    dH, dW = as_pair(fn, "dilation", dilation)
    check_min(fn, "stride", (sH, sW), 1)
    check_min(fn, "padding", (pH, pW), 0)
    check_min(fn, "dilation", (dH, dW), 1)
    check_ndim(fn, "x", np.shape(x), 4, "(N, C_in, H, W)")
    check_ndim(fn, "weight", np.shape(weight), 4, "(C_out, C_in/G, kH, kW)")
    N, _, H, W = np.shape(x)
    C_out = check_conv(fn, np.shape(x), np.shape(weight), bias, groups, transposed=False)
    _, Cg, kH, kW = np.shape(weight)
    out_shape = (N, C_out, out_len(H, kH, sH, pH, dH), out_len(W, kW, sW, pW, dW))
    return out_shape, (H, W, Cg, kH, kW), (sH, sW, pH, pW, dH, dW)


def conv2d_forward_naive(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                         stride: IntOrPair = 1, padding: IntOrPair = 0, dilation: IntOrPair = 1,
                         groups: int = 1) -> np.ndarray:
    """2-D convolution, one output element at a time.

    ``y[n, o, h, w] = b[o] + sum_{c, i, j} weight[o, c, i, j] * x[n, g*Cg + c, r, q]`` with
    ``r = h*sH - pH + i*dH`` and ``q = w*sW - pW + j*dW``; a tap outside the input adds 0.

    The arithmetic runs on Python floats, so the result is float64 whatever the input dtype.

    Args:
        x: input (N, C_in, H, W).
        weight: (C_out, C_in/G, kH, kW).
        bias: (C_out,) or None.
        stride, padding, dilation: int or ``(H, W)`` pair, as in ``torch.nn.functional.conv2d``.
        groups: G; it must divide C_in and C_out.

    **Shape:** x (N, C_in, H, W) -> y (N, C_out, H_out, W_out), float64, with
    ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1``, likewise ``W_out``.

    Example:
        >>> x = np.arange(6.0).reshape(1, 1, 2, 3)
        >>> conv2d_forward_naive(x, np.ones((1, 1, 2, 2)), bias=np.array([0.5]))
        array([[[[ 8.5, 12.5]]]])
    """
    fn = "conv2d_forward_naive"
    out_shape, (H, W, Cg, kH, kW), (sH, sW, pH, pW, dH, dW) = _setup2d(
        fn, x, weight, bias, stride, padding, dilation, groups)
    check_out(fn, out_shape)
    N, C_out, H_out, W_out = out_shape
    xs, ws = np.asarray(x).tolist(), np.asarray(weight).tolist()
    bs = None if bias is None else np.asarray(bias).tolist()
    y = np.zeros(out_shape)
    for n in range(N):
        for o in range(C_out):
            g = o // (C_out // groups)
            for h in range(H_out):
                for w in range(W_out):
                    total = 0.0 if bs is None else bs[o]
                    for c in range(Cg):
                        for i in range(kH):
                            r = h * sH - pH + i * dH
                            for j in range(kW):
                                q = w * sW - pW + j * dW
                                if 0 <= r < H and 0 <= q < W:
                                    total += ws[o][c][i][j] * xs[n][g * Cg + c][r][q]
                    y[n, o, h, w] = total
    return y


def conv2d_backward_naive(grad_y: ArrayLike, x: ArrayLike, weight: ArrayLike,
                          bias: ArrayLike | None = None, stride: IntOrPair = 1,
                          padding: IntOrPair = 0, dilation: IntOrPair = 1, groups: int = 1
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv2d_forward_naive``: each term of the forward sum, one at a time.

    The forward term ``weight[o, c, i, j] * x[n, g*Cg + c, r, q]`` (same r, q) feeds
    ``y[n, o, h, w]``, so with ``gy = grad_y[n, o, h, w]`` it contributes::

        grad_x[n, g*Cg + c, r, q] += gy * weight[o, c, i, j]
        grad_weight[o, c, i, j]   += gy * x[n, g*Cg + c, r, q]
        grad_bias[o]              += gy

    Args:
        grad_y: dL/dy, (N, C_out, H_out, W_out).
        x, weight, bias, stride, padding, dilation, groups: the forward's arguments; only
            whether ``bias`` is None matters.

    Returns:
        ``(grad_x, grad_weight, grad_bias)``, float64; ``grad_bias`` is None without bias.

    **Shape:** grad_y (N, C_out, H_out, W_out) -> grad_x (N, C_in, H, W),
    grad_weight (C_out, C_in/G, kH, kW), grad_bias (C_out,).

    Example:
        >>> x = np.arange(6.0).reshape(1, 1, 2, 3)
        >>> gx, gw, gb = conv2d_backward_naive(np.ones((1, 1, 1, 2)), x, np.ones((1, 1, 2, 2)))
        >>> gx[0, 0], gw[0, 0], gb
        (array([[1., 2., 1.],
               [1., 2., 1.]]), array([[1., 3.],
               [7., 9.]]), None)
    """
    fn = "conv2d_backward_naive"
    out_shape, (H, W, Cg, kH, kW), (sH, sW, pH, pW, dH, dW) = _setup2d(
        fn, x, weight, bias, stride, padding, dilation, groups)
    check_out(fn, out_shape, grad_y)
    N, C_out, H_out, W_out = out_shape
    xs, ws, gys = np.asarray(x).tolist(), np.asarray(weight).tolist(), np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x)).tolist()
    grad_weight = np.zeros(np.shape(weight)).tolist()
    grad_bias = [0.0] * C_out
    for n in range(N):
        for o in range(C_out):
            g = o // (C_out // groups)
            for h in range(H_out):
                for w in range(W_out):
                    gy = gys[n][o][h][w]
                    grad_bias[o] += gy
                    for c in range(Cg):
                        for i in range(kH):
                            r = h * sH - pH + i * dH
                            for j in range(kW):
                                q = w * sW - pW + j * dW
                                if 0 <= r < H and 0 <= q < W:
                                    grad_x[n][g * Cg + c][r][q] += gy * ws[o][c][i][j]
                                    grad_weight[o][c][i][j] += gy * xs[n][g * Cg + c][r][q]
    return (np.array(grad_x, dtype=np.float64).reshape(np.shape(x)),
            np.array(grad_weight, dtype=np.float64).reshape(np.shape(weight)),
            None if bias is None else np.array(grad_bias, dtype=np.float64))


def _setup1d(fn, x, weight, bias, stride, padding, dilation, groups):
    """Normalise the arguments, check them, and return every size the loops need."""
    s, p = as_single(fn, "stride", stride), as_single(fn, "padding", padding)
    d = as_single(fn, "dilation", dilation)
    check_min(fn, "stride", (s,), 1)
    check_min(fn, "padding", (p,), 0)
    check_min(fn, "dilation", (d,), 1)
    check_ndim(fn, "x", np.shape(x), 3, "(N, C_in, L)")
    check_ndim(fn, "weight", np.shape(weight), 3, "(C_out, C_in/G, k)")
    N, _, L = np.shape(x)
    C_out = check_conv(fn, np.shape(x), np.shape(weight), bias, groups, transposed=False)
    _, Cg, k = np.shape(weight)
    return (N, C_out, out_len(L, k, s, p, d)), (L, Cg, k), (s, p, d)


def conv1d_forward_naive(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                         stride: int = 1, padding: int = 0, dilation: int = 1,
                         groups: int = 1) -> np.ndarray:
    """1-D convolution, one output element at a time.

    ``y[n, o, t] = b[o] + sum_{c, i} weight[o, c, i] * x[n, g*Cg + c, t*s - p + i*d]``;
    a tap outside the input adds 0. Float64 result whatever the input dtype.

    Args:
        x: input (N, C_in, L).
        weight: (C_out, C_in/G, k).
        bias: (C_out,) or None.
        stride, padding, dilation: ints, as in ``torch.nn.functional.conv1d``.
        groups: G; it must divide C_in and C_out.

    **Shape:** x (N, C_in, L) -> y (N, C_out, L_out), float64,
    ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``.

    Example:
        >>> conv1d_forward_naive(np.array([[[1.0, 2, 3, 4]]]), np.array([[[1.0, -1]]]))
        array([[[-1., -1., -1.]]])
    """
    fn = "conv1d_forward_naive"
    out_shape, (L, Cg, k), (s, p, d) = _setup1d(fn, x, weight, bias, stride, padding,
                                                dilation, groups)
    check_out(fn, out_shape)
    N, C_out, L_out = out_shape
    xs, ws = np.asarray(x).tolist(), np.asarray(weight).tolist()
    bs = None if bias is None else np.asarray(bias).tolist()
    y = np.zeros(out_shape)
    for n in range(N):
        for o in range(C_out):
            g = o // (C_out // groups)
            for t in range(L_out):
                total = 0.0 if bs is None else bs[o]
                for c in range(Cg):
                    for i in range(k):
                        u = t * s - p + i * d
                        if 0 <= u < L:
                            total += ws[o][c][i] * xs[n][g * Cg + c][u]
                y[n, o, t] = total
    return y


def conv1d_backward_naive(grad_y: ArrayLike, x: ArrayLike, weight: ArrayLike,
                          bias: ArrayLike | None = None, stride: int = 1, padding: int = 0,
                          dilation: int = 1, groups: int = 1
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv1d_forward_naive``, term by term.

    With ``u = t*s - p + i*d`` inside the input and ``gy = grad_y[n, o, t]``::

        grad_x[n, g*Cg + c, u] += gy * weight[o, c, i]
        grad_weight[o, c, i]   += gy * x[n, g*Cg + c, u]
        grad_bias[o]           += gy

    Args:
        grad_y: dL/dy, (N, C_out, L_out).
        x, weight, bias, stride, padding, dilation, groups: the forward's arguments.

    Returns:
        ``(grad_x, grad_weight, grad_bias)``, float64; ``grad_bias`` is None without bias.

    **Shape:** grad_y (N, C_out, L_out) -> grad_x (N, C_in, L), grad_weight (C_out, C_in/G, k),
    grad_bias (C_out,).

    Example:
        >>> gx, gw, gb = conv1d_backward_naive(np.array([[[1.0, 10]]]), np.array([[[1.0, 2, 3]]]),
        ...                                    np.array([[[1.0, -1]]]), bias=np.zeros(1))
        >>> gx, gw, gb
        (array([[[ 1.,  9., -10.]]]), array([[[21., 32.]]]), array([11.]))
    """
    fn = "conv1d_backward_naive"
    out_shape, (L, Cg, k), (s, p, d) = _setup1d(fn, x, weight, bias, stride, padding,
                                                dilation, groups)
    check_out(fn, out_shape, grad_y)
    N, C_out, L_out = out_shape
    xs, ws, gys = np.asarray(x).tolist(), np.asarray(weight).tolist(), np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x)).tolist()
    grad_weight = np.zeros(np.shape(weight)).tolist()
    grad_bias = [0.0] * C_out
    for n in range(N):
        for o in range(C_out):
            g = o // (C_out // groups)
            for t in range(L_out):
                gy = gys[n][o][t]
                grad_bias[o] += gy
                for c in range(Cg):
                    for i in range(k):
                        u = t * s - p + i * d
                        if 0 <= u < L:
                            grad_x[n][g * Cg + c][u] += gy * ws[o][c][i]
                            grad_weight[o][c][i] += gy * xs[n][g * Cg + c][u]
    return (np.array(grad_x, dtype=np.float64).reshape(np.shape(x)),
            np.array(grad_weight, dtype=np.float64).reshape(np.shape(weight)),
            None if bias is None else np.array(grad_bias, dtype=np.float64))
