"""Transposed convolution as loops: the scatter definition, then the crop.

Axis names: N batch, C_in/C_out channels, H, W (or L) input size, kH, kW (or k) kernel
size, G groups, Cig = C_in/G and Cog = C_out/G channels per group. The weight is
(C_in, C_out/G, kH, kW), as in PyTorch. Input channel ``c`` belongs to group
``g = c // Cig`` and writes output channels ``g*Cog ... g*Cog + Cog - 1``.

Each input pixel scatters a copy of its kernel, scaled by the pixel, into a window of
the full output that starts at ``(h*sH, w*sW)`` with taps ``dH, dW`` apart::

    y_full[n, g*Cog + o, h*sH + i*dH, w*sW + j*dW] += x[n, c, h, w] * weight[c, o, i, j]

``y_full`` has ``(H-1)*sH + dH*(kH-1) + 1 + output_padding`` rows. ``padding`` then
crops ``pH`` rows from the top and ``pH`` from the bottom (likewise for columns),
and the bias is added.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._common import as_pair, as_single, check_conv, check_min, check_ndim, check_out

IntOrPair = int | tuple[int, int]


def _check_output_padding(fn, output_padding, stride, dilation):
    check_min(fn, "output_padding", output_padding, 0)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{fn}: output_padding must be smaller than stride or dilation, got "
                         f"output_padding={output_padding}, stride={stride}, "
                         f"dilation={dilation}")


def _setup2d(fn, x, weight, bias, stride, padding, output_padding, groups, dilation, grad_y=None):
    """Normalise and check the arguments; return the output shape and the loop constants."""
    (sH, sW), (pH, pW) = as_pair(fn, "stride", stride), as_pair(fn, "padding", padding)
    (oH, oW), (dH, dW) = as_pair(fn, "output_padding", output_padding), as_pair(
        fn, "dilation", dilation)
    check_min(fn, "stride", (sH, sW), 1)
    check_min(fn, "padding", (pH, pW), 0)
    check_min(fn, "dilation", (dH, dW), 1)
    _check_output_padding(fn, (oH, oW), (sH, sW), (dH, dW))
    check_ndim(fn, "x", np.shape(x), 4, "(N, C_in, H, W)")
    check_ndim(fn, "weight", np.shape(weight), 4, "(C_in, C_out/G, kH, kW)")
    N, _, H, W = np.shape(x)
    C_out = check_conv(fn, np.shape(x), np.shape(weight), bias, groups, transposed=True)
    _, _, kH, kW = np.shape(weight)
    full_H, full_W = (H - 1) * sH + dH * (kH - 1) + 1 + oH, (W - 1) * sW + dW * (kW - 1) + 1 + oW
    out_shape = (N, C_out, full_H - 2 * pH, full_W - 2 * pW)
    check_out(fn, out_shape, grad_y)
    return out_shape, (full_H, full_W), (sH, sW, pH, pW, dH, dW)


def conv_transpose2d_forward_naive(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                                   stride: IntOrPair = 1, padding: IntOrPair = 0,
                                   output_padding: IntOrPair = 0, groups: int = 1,
                                   dilation: IntOrPair = 1) -> np.ndarray:
    """2-D transposed convolution: scatter every input pixel times the kernel, then crop.

    ``y_full[n, g*Cog + o, h*sH + i*dH, w*sW + j*dW] += x[n, c, h, w] * weight[c, o, i, j]``,
    then ``y = y_full[:, :, pH:pH + H_out, pW:pW + W_out] + b``. Float64 result whatever
    the input dtype. The argument order is PyTorch's (output_padding and groups before
    dilation).

    Args:
        x: input (N, C_in, H, W).
        weight: (C_in, C_out/G, kH, kW).
        bias: (C_out,) or None.
        stride, padding, output_padding, dilation: int or ``(H, W)`` pair, as in
            ``torch.nn.functional.conv_transpose2d``; output_padding must be smaller than
            the stride or the dilation.
        groups: G; it must divide C_in.

    **Shape:** x (N, C_in, H, W) -> y (N, C_out, H_out, W_out), float64, with
    ``H_out = (H - 1)*sH - 2pH + dH(kH-1) + output_padding + 1``, likewise ``W_out``.

    Example:
        >>> x = np.array([[[[1.0, 2]]]])
        >>> conv_transpose2d_forward_naive(x, np.ones((1, 1, 2, 3)), stride=(1, 2))
        array([[[[1., 1., 3., 2., 2.],
                 [1., 1., 3., 2., 2.]]]])
    """
    fn = "conv_transpose2d_forward_naive"
    out_shape, (full_H, full_W), (sH, sW, pH, pW, dH, dW) = _setup2d(
        fn, x, weight, bias, stride, padding, output_padding, groups, dilation)
    N, C_out, H_out, W_out = out_shape
    _, C_in, H, W = np.shape(x)
    _, Cog, kH, kW = np.shape(weight)
    xs, ws = np.asarray(x).tolist(), np.asarray(weight).tolist()
    y_full = np.zeros((N, C_out, full_H, full_W)).tolist()
    for n in range(N):
        for c in range(C_in):
            g = c // (C_in // groups)
            for h in range(H):
                for w in range(W):
                    for o in range(Cog):
                        for i in range(kH):
                            for j in range(kW):
                                y_full[n][g * Cog + o][h * sH + i * dH][w * sW + j * dW] += (
                                    xs[n][c][h][w] * ws[c][o][i][j])
    y = np.array(y_full, dtype=np.float64).reshape(N, C_out, full_H, full_W)
    y = y[:, :, pH:pH + H_out, pW:pW + W_out]
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)[None, :, None, None]
    return np.ascontiguousarray(y)


def conv_transpose2d_backward_naive(grad_y: ArrayLike, x: ArrayLike, weight: ArrayLike,
                                    bias: ArrayLike | None = None, stride: IntOrPair = 1,
                                    padding: IntOrPair = 0, output_padding: IntOrPair = 0,
                                    groups: int = 1, dilation: IntOrPair = 1
                                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv_transpose2d_forward_naive``, term by term.

    A scattered term lands on ``y[n, g*Cog + o, r, q]`` with ``r = h*sH + i*dH - pH`` and
    ``q = w*sW + j*dW - pW``, or nowhere if the crop dropped it. With ``gy`` that
    entry of grad_y it contributes::

        grad_x[n, c, h, w]      += gy * weight[c, o, i, j]
        grad_weight[c, o, i, j] += gy * x[n, c, h, w]

    and ``grad_bias[o] = sum of grad_y[:, o]``.

    Args:
        grad_y: dL/dy, (N, C_out, H_out, W_out).
        x, weight, bias, stride, padding, output_padding, groups, dilation: the forward's
            arguments; only whether ``bias`` is None matters.

    Returns:
        ``(grad_x, grad_weight, grad_bias)``, float64; ``grad_bias`` is None without bias.

    **Shape:** grad_y (N, C_out, H_out, W_out) -> grad_x (N, C_in, H, W),
    grad_weight (C_in, C_out/G, kH, kW), grad_bias (C_out,).

    Example:
        >>> gy = np.arange(10.0).reshape(1, 1, 2, 5)
        >>> gx, gw, gb = conv_transpose2d_backward_naive(
        ...     gy, np.array([[[[1.0, 2]]]]), np.ones((1, 1, 2, 3)), np.zeros(1), stride=(1, 2))
        >>> gx, gb
        (array([[[[21., 33.]]]]), array([45.]))
    """
    fn = "conv_transpose2d_backward_naive"
    out_shape, _, (sH, sW, pH, pW, dH, dW) = _setup2d(
        fn, x, weight, bias, stride, padding, output_padding, groups, dilation, grad_y)
    N, C_out, H_out, W_out = out_shape
    _, C_in, H, W = np.shape(x)
    _, Cog, kH, kW = np.shape(weight)
    xs, ws, gys = np.asarray(x).tolist(), np.asarray(weight).tolist(), np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x)).tolist()
    grad_weight = np.zeros(np.shape(weight)).tolist()
    for n in range(N):
        for c in range(C_in):
            g = c // (C_in // groups)
            for h in range(H):
                for w in range(W):
                    for o in range(Cog):
                        for i in range(kH):
                            r = h * sH + i * dH - pH
                            for j in range(kW):
                                q = w * sW + j * dW - pW
                                if 0 <= r < H_out and 0 <= q < W_out:
                                    gy = gys[n][g * Cog + o][r][q]
                                    grad_x[n][c][h][w] += gy * ws[c][o][i][j]
                                    grad_weight[c][o][i][j] += gy * xs[n][c][h][w]
    grad_bias = [0.0] * C_out
    for n in range(N):
        for o in range(C_out):
            for r in range(H_out):
                for q in range(W_out):
                    grad_bias[o] += gys[n][o][r][q]
    return (np.array(grad_x, dtype=np.float64).reshape(np.shape(x)),
            np.array(grad_weight, dtype=np.float64).reshape(np.shape(weight)),
            None if bias is None else np.array(grad_bias, dtype=np.float64))


def _setup1d(fn, x, weight, bias, stride, padding, output_padding, groups, dilation, grad_y=None):
    """Normalise and check the arguments; return the output shape and the loop constants."""
    s, p = as_single(fn, "stride", stride), as_single(fn, "padding", padding)
    op, d = as_single(fn, "output_padding", output_padding), as_single(fn, "dilation", dilation)
    check_min(fn, "stride", (s,), 1)
    check_min(fn, "padding", (p,), 0)
    check_min(fn, "dilation", (d,), 1)
    _check_output_padding(fn, (op,), (s,), (d,))
    check_ndim(fn, "x", np.shape(x), 3, "(N, C_in, L)")
    check_ndim(fn, "weight", np.shape(weight), 3, "(C_in, C_out/G, k)")
    N, _, L = np.shape(x)
    C_out = check_conv(fn, np.shape(x), np.shape(weight), bias, groups, transposed=True)
    full_L = (L - 1) * s + d * (np.shape(weight)[2] - 1) + 1 + op
    out_shape = (N, C_out, full_L - 2 * p)
    check_out(fn, out_shape, grad_y)
    return out_shape, full_L, (s, p, d)


def conv_transpose1d_forward_naive(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                                   stride: int = 1, padding: int = 0, output_padding: int = 0,
                                   groups: int = 1, dilation: int = 1) -> np.ndarray:
    """1-D transposed convolution: scatter every input sample times the kernel, then crop.

    ``y_full[n, g*Cog + o, t*s + i*d] += x[n, c, t] * weight[c, o, i]``, then
    ``y = y_full[:, :, p:p + L_out] + b``. Float64 result whatever the input dtype.

    Args:
        x: input (N, C_in, L).
        weight: (C_in, C_out/G, k).
        bias: (C_out,) or None.
        stride, padding, output_padding, dilation: ints, as in
            ``torch.nn.functional.conv_transpose1d``; output_padding < stride or dilation.
        groups: G; it must divide C_in.

    **Shape:** x (N, C_in, L) -> y (N, C_out, L_out), float64,
    ``L_out = (L - 1)*s - 2p + d(k-1) + output_padding + 1``.

    Example:
        >>> x, weight = np.array([[[1.0, 10]]]), np.array([[[1.0, 2, 3]]])
        >>> conv_transpose1d_forward_naive(x, weight, stride=2)
        array([[[ 1.,  2., 13., 20., 30.]]])
    """
    fn = "conv_transpose1d_forward_naive"
    out_shape, full_L, (s, p, d) = _setup1d(fn, x, weight, bias, stride, padding,
                                            output_padding, groups, dilation)
    N, C_out, L_out = out_shape
    _, C_in, L = np.shape(x)
    _, Cog, k = np.shape(weight)
    xs, ws = np.asarray(x).tolist(), np.asarray(weight).tolist()
    y_full = np.zeros((N, C_out, full_L)).tolist()
    for n in range(N):
        for c in range(C_in):
            g = c // (C_in // groups)
            for t in range(L):
                for o in range(Cog):
                    for i in range(k):
                        y_full[n][g * Cog + o][t * s + i * d] += xs[n][c][t] * ws[c][o][i]
    y = np.array(y_full, dtype=np.float64).reshape(N, C_out, full_L)[:, :, p:p + L_out]
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64)[None, :, None]
    return np.ascontiguousarray(y)


def conv_transpose1d_backward_naive(grad_y: ArrayLike, x: ArrayLike, weight: ArrayLike,
                                    bias: ArrayLike | None = None, stride: int = 1,
                                    padding: int = 0, output_padding: int = 0, groups: int = 1,
                                    dilation: int = 1
                                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv_transpose1d_forward_naive``, term by term.

    A scattered term lands on ``y[n, g*Cog + o, u]`` with ``u = t*s + i*d - p`` (or was
    cropped); with ``gy`` that entry of grad_y::

        grad_x[n, c, t]      += gy * weight[c, o, i]
        grad_weight[c, o, i] += gy * x[n, c, t]

    and ``grad_bias[o] = sum of grad_y[:, o]``.

    Args:
        grad_y: dL/dy, (N, C_out, L_out).
        x, weight, bias, stride, padding, output_padding, groups, dilation: the forward's
            arguments.

    Returns:
        ``(grad_x, grad_weight, grad_bias)``, float64; ``grad_bias`` is None without bias.

    **Shape:** grad_y (N, C_out, L_out) -> grad_x (N, C_in, L),
    grad_weight (C_in, C_out/G, k), grad_bias (C_out,).

    Example:
        >>> gx, gw, gb = conv_transpose1d_backward_naive(
        ...     np.array([[[1.0, 0, 0, 0, 1]]]), np.array([[[1.0, 10]]]),
        ...     np.array([[[1.0, 2, 3]]]), stride=2)
        >>> gx, gw, gb
        (array([[[1., 3.]]]), array([[[ 1.,  0., 10.]]]), None)
    """
    fn = "conv_transpose1d_backward_naive"
    out_shape, _, (s, p, d) = _setup1d(fn, x, weight, bias, stride, padding, output_padding,
                                       groups, dilation, grad_y)
    N, C_out, L_out = out_shape
    _, C_in, L = np.shape(x)
    _, Cog, k = np.shape(weight)
    xs, ws, gys = np.asarray(x).tolist(), np.asarray(weight).tolist(), np.asarray(grad_y).tolist()
    grad_x = np.zeros(np.shape(x)).tolist()
    grad_weight = np.zeros(np.shape(weight)).tolist()
    for n in range(N):
        for c in range(C_in):
            g = c // (C_in // groups)
            for t in range(L):
                for o in range(Cog):
                    for i in range(k):
                        u = t * s + i * d - p
                        if 0 <= u < L_out:
                            gy = gys[n][g * Cog + o][u]
                            grad_x[n][c][t] += gy * ws[c][o][i]
                            grad_weight[c][o][i] += gy * xs[n][c][t]
    grad_bias = [sum(gys[n][o][u] for n in range(N) for u in range(L_out)) for o in range(C_out)]
    return (np.array(grad_x, dtype=np.float64).reshape(np.shape(x)),
            np.array(grad_weight, dtype=np.float64).reshape(np.shape(weight)),
            None if bias is None else np.array(grad_bias, dtype=np.float64))
