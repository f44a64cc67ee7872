"""Convolution (cross-correlation) forward and backward, as im2col plus one matrix product.

Axis names: N batch, C_in/C_out channels, H, W input size, kH, kW kernel size,
H_out, W_out output size, G groups (see ``im2col.py``).

Forward, for each group g (channels ``g*C_in/G ...`` in, ``g*C_out/G ...`` out)::

    y[n, o, h, w] = b[o] + sum_{c, i, j} weight[o, c, i, j] * x_pad[n, c, h*sH + i*dH, w*sW + j*dW]

With ``cols = im2col(x)`` read as a ``(C_in*kH*kW, N*H_out*W_out)`` matrix and the
weight as ``(C_out, C_in/G*kH*kW)``, that sum is the matrix product ``weight @ cols``.

Backward follows from ``Y = Wmat @ cols``::

    grad_weight = grad_Y @ cols.T          (cols is kept from the forward pass)
    grad_cols   = Wmat.T @ grad_Y          then grad_x = col2im(grad_cols)
    grad_bias   = grad_Y summed over N, H_out, W_out

With stride 1, grad_x is also a convolution: of grad_Y, zero-padded by d(k-1) - p,
with the kernel flipped and its in/out channels swapped (``_grad_x_by_correlation``).
It replaces col2im's scattered ``+=`` by im2col's plain copy, which is faster when the
layer has about as many output as input channels (``_correlation_is_cheaper``).

The 1-D functions treat (N, C, L) as (N, C, 1, L): a 1-D convolution *is* a 2-D one
with a kernel of height 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convnp.functional.im2col import col2im, im2col
from convnp.functional.shapes import conv_output_size

Pair = tuple[int, int]


class ConvCache(NamedTuple):
    """What ``conv2d_backward`` needs from the forward pass."""

    x_shape: tuple[int, int, int, int]
    cols: np.ndarray  # (G, C_in/G*kH*kW, N*H_out*W_out)
    weight: np.ndarray  # (C_out, C_in/G, kH, kW)
    has_bias: bool
    stride: Pair
    padding: Pair
    dilation: Pair


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   stride: Pair = (1, 1), padding: Pair = (0, 0), dilation: Pair = (1, 1),
                   groups: int = 1) -> tuple[np.ndarray, ConvCache]:
    """2-D convolution (cross-correlation, as in PyTorch) with zero padding.

    Args:
        x: (N, C_in, H, W).
        weight: (C_out, C_in/G, kH, kW).
        bias: (C_out,) or None.
        stride, padding, dilation: ``(H, W)`` pairs.
        groups: G; C_in and C_out must be divisible by it.

    Returns:
        ``(y, cache)``: y of shape (N, C_out, H_out, W_out) and the cache for backward.
        ``y`` is a view of a (C_out, N, H_out, W_out)-ordered array, which is what the
        next convolution or pooling wants to read.

    **Shape:** ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1``, likewise ``W_out``.

    Example:
        >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
        >>> y, _ = conv2d_forward(x, np.array([[[[0.0, 1], [2, 3]]]]), None)
        >>> y[0, 0]
        array([[19., 25.],
               [37., 43.]])
    """
    N, C_in, H, W = x.shape
    C_out, C_in_g, kH, kW = weight.shape
    G = groups
    if C_in != C_in_g * G:
        raise ValueError(f"conv2d_forward: x has {C_in} channels (x.shape[1]) but weight of "
                         f"shape {weight.shape} with groups={G} expects {C_in_g * G}")
    out = [conv_output_size(n, k, s, p, d)
           for n, k, s, p, d in zip((H, W), (kH, kW), stride, padding, dilation)]
    if min(out) < 1:
        raise ValueError(f"conv2d_forward: empty output (H_out, W_out) = {tuple(out)} for x of "
                         f"shape {x.shape}, kernel {(kH, kW)}, padding {padding}, dilation "
                         f"{dilation}")
    cols = im2col(x, (kH, kW), stride, padding, dilation)  # (C_in, kH, kW, N, H_out, W_out)
    H_out, W_out = cols.shape[4], cols.shape[5]
    cols = cols.reshape(G, C_in_g * kH * kW, N * H_out * W_out)
    w = weight.reshape(G, C_out // G, C_in_g * kH * kW)
    y = np.matmul(w, cols).reshape(C_out, N, H_out, W_out)
    if bias is not None:
        y += bias[:, None, None, None]
    cache = ConvCache(x.shape, cols, weight, bias is not None, stride, padding, dilation)
    return y.transpose(1, 0, 2, 3), cache


def conv2d_backward(grad_y: np.ndarray, cache: ConvCache, input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of a 2-D convolution.

    Args:
        grad_y: dL/dy, shape (N, C_out, H_out, W_out).
        cache: from ``conv2d_forward``.
        input_grad: if False, skip dL/dx (the costliest part) and return None for it.

    Returns:
        ``(grad_x, grad_weight, grad_bias)`` with shapes (N, C_in, H, W),
        (C_out, C_in/G, kH, kW) and (C_out,) (None when there is no bias).
    """
    x_shape, cols, weight, has_bias, stride, padding, dilation = cache
    N, C_out, H_out, W_out = grad_y.shape
    G = cols.shape[0]
    C_in, (kH, kW) = x_shape[1], weight.shape[2:]
    # A copy only if grad_y is not already (C_out, N, H_out, W_out)-ordered in memory.
    gy = grad_y.transpose(1, 0, 2, 3).reshape(G, C_out // G, N * H_out * W_out)
    grad_bias = gy.sum(axis=2).reshape(C_out) if has_bias else None
    # (cols @ gy.T).T equals gy @ cols.T. When other processes share the cores, OpenBLAS's
    # threads stall far less in this orientation (measured: ms at worst, not 100s of ms).
    grad_weight = np.matmul(cols, gy.transpose(0, 2, 1)).transpose(0, 2, 1).reshape(weight.shape)
    if not input_grad:
        return None, grad_weight, grad_bias
    if _correlation_is_cheaper(x_shape, grad_y.shape, weight.shape, stride, padding, dilation):
        # A plain copy (im2col of grad_y) instead of col2im's scattered +=: less memory traffic.
        grad_x = _grad_x_by_correlation(grad_y, weight, padding, dilation, G)
        return grad_x, grad_weight, grad_bias
    w = weight.reshape(G, C_out // G, -1)
    grad_cols = np.matmul(w.transpose(0, 2, 1), gy)  # (G, C_in/G*kH*kW, N*H_out*W_out)
    grad_cols = grad_cols.reshape(C_in, kH, kW, N, H_out, W_out)
    grad_x = col2im(grad_cols, x_shape, (kH, kW), stride, padding, dilation)
    return grad_x, grad_weight, grad_bias


def _correlation_is_cheaper(x_shape: tuple[int, ...], y_shape: tuple[int, ...],
                            w_shape: tuple[int, ...], stride: Pair, padding: Pair,
                            dilation: Pair) -> bool:
    """Pick how to compute dL/dx: by ``col2im`` or by ``_grad_x_by_correlation``.

    The correlation form needs stride 1 and padding <= d(k-1). Both ways do the same
    GEMM flops; they differ in the memory they move. col2im adds (``+=``: read, read,
    write) an array of C_in*kH*kW*N*H_out*W_out numbers; the correlation copies (read,
    write) one of C_out*kH*kW*N*H*W. So the correlation wins when
    ``C_out*H*W <= 1.5 * C_in*H_out*W_out``: on layers with as many outputs as inputs,
    not on LeNet's (C_out = 16 > C_in = 6), where it was 2.5x slower.
    """
    (_, C_in, H, W), (_, C_out, H_out, W_out) = x_shape, y_shape
    if stride != (1, 1) or any(p > d * (k - 1) for p, d, k in zip(padding, dilation,
                                                                    w_shape[2:])):
        return False
    return C_out * H * W <= 1.5 * C_in * H_out * W_out


def _grad_x_by_correlation(grad_y: np.ndarray, weight: np.ndarray, padding: Pair,
                           dilation: Pair, groups: int) -> np.ndarray:
    """dL/dx of a stride-1 convolution as a "full" correlation of grad_y with the kernel.

    Input pixel ``u`` (one axis) meets tap ``i`` in output ``u + p - i*d``, so
    ``grad_x[u] = sum_i weight[i] * grad_y[u + p - i*d]``. With ``i' = k-1-i`` that is
    a correlation (as in the forward pass) of grad_y, zero-padded by ``d(k-1) - p``, with
    the kernel flipped in H and W and its in/out channels swapped (within each group).

    Args:
        grad_y: (N, C_out, H_out, W_out).
        weight: (C_out, C_in/G, kH, kW).

    Returns:
        grad_x: (N, C_in, H, W), a view of a (C_in, N, H, W)-ordered array.
    """
    C_out, C_in_g, kH, kW = weight.shape
    (pH, pW), (dH, dW), G = padding, dilation, groups
    cols = im2col(grad_y, (kH, kW), (1, 1), (dH * (kH - 1) - pH, dW * (kW - 1) - pW), dilation)
    N, H, W = cols.shape[3:]  # (C_out, kH, kW, N, H, W): output size = input size
    cols = cols.reshape(G, C_out // G * kH * kW, N * H * W)
    flipped = weight[:, :, ::-1, ::-1].reshape(G, C_out // G, C_in_g, kH, kW)
    w = flipped.transpose(0, 2, 1, 3, 4).reshape(G, C_in_g, C_out // G * kH * kW)
    return np.matmul(w, cols).reshape(G * C_in_g, N, H, W).transpose(1, 0, 2, 3)


def conv1d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   stride: int = 1, padding: int = 0, dilation: int = 1,
                   groups: int = 1) -> tuple[np.ndarray, ConvCache]:
    """1-D convolution: x (N, C_in, L), weight (C_out, C_in/G, k) -> y (N, C_out, L_out).

    **Shape:** ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``.

    Example:
        >>> y, _ = conv1d_forward(np.arange(5.0).reshape(1, 1, 5), np.ones((1, 1, 2)), None)
        >>> y
        array([[[1., 3., 5., 7.]]])
    """
    y, cache = conv2d_forward(x[:, :, None, :], weight[:, :, None, :], bias, (1, stride),
                              (0, padding), (1, dilation), groups)
    return y[:, :, 0, :], cache


def conv1d_backward(grad_y: np.ndarray, cache: ConvCache, input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv1d_forward``: grad_y (N, C_out, L_out) -> (grad_x (N, C_in, L),
    grad_weight (C_out, C_in/G, k), grad_bias (C_out,) or None)."""
    grad_x, grad_weight, grad_bias = conv2d_backward(grad_y[:, :, None, :], cache, input_grad)
    if grad_x is not None:
        grad_x = grad_x[:, :, 0, :]
    return grad_x, grad_weight[:, :, 0, :], grad_bias
