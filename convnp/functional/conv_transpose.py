"""Transposed convolution forward and backward, built from the convolution's own pieces.

Axis names as in ``columns.py``; here C_in is the transposed convolution's input (the
convolution's *output*) and C_out its output. Weight shape (C_in, C_out/G, kH, kW), as
in PyTorch.

A convolution is ``Y = Wmat @ im2col(X)``. Its adjoint (transpose) maps the other way:
``X' = col2im(Wmat.T @ Y')``. That is all a transposed convolution is. Each input pixel
``x[n, c, h, w]`` scatters ``x[n, c, h, w] * weight[c, :, :, :]`` into the output window
that starts at ``(h*sH, w*sW)``, summing where windows overlap::

    y_full[n, o, h*sH + i*dH, w*sW + j*dW] += x[n, c, h, w] * weight[c, o', i, j]

(``o = g*C_out/G + o'`` for input channel ``c`` in group ``g``), then the first ``pH``
rows and the last ``pH - output_padding`` rows of ``y_full`` are dropped (likewise for
columns), and the bias is added.

The columns are built and folded, and the products run, by the equal, faster variants
in ``_fast.py`` (``columns.py`` has the plain loops).

Forward, per group g::

    cols = weight_g.T @ x_g        (C_out/G*kH*kW, H*W*N), im2col's columns, batch last
    y    = col2im(cols) + bias     col2im does the scattering and the cropping

Backward uses the same identity the other way round: the adjoint of a transposed
convolution is the convolution with the same weight, so::

    cols_g      = im2col(grad_y)                 (C_out*kH*kW, H*W*N)
    grad_x      = weight_g @ cols_g              = conv2d(grad_y, weight)
    grad_weight = x_g @ cols_g.T
    grad_bias   = grad_y summed over N, H_out, W_out
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convnp.functional._blas import matmul
from convnp.functional._fast import (
    batch_last_col2im,
    batch_last_im2col,
    fast_grad_weight,
    flipped_kernel,
    flipped_padding,
)
from convnp.functional.shapes import (
    Pair,
    as_2d,
    check_cache,
    check_conv_arrays,
    check_grad,
    conv_transpose_output_size,
    drop_height,
    int_args,
    lift_1d,
)


class ConvTransposeCache(NamedTuple):
    """What ``conv_transpose2d_backward`` needs from the forward pass."""

    x_groups: np.ndarray  # (G, C_in/G, H*W*N): the input, grouped for the matmul
    x_shape: tuple[int, int, int, int]
    weight: np.ndarray  # (C_in, C_out/G, kH, kW)
    has_bias: bool
    stride: Pair
    padding: Pair
    dilation: Pair
    y_shape: tuple[int, int, int, int]  # the output's: backward checks grad_y against it


def conv_transpose2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                             stride: Pair = (1, 1), padding: Pair = (0, 0),
                             output_padding: Pair = (0, 0), groups: int = 1,
                             dilation: Pair = (1, 1)
                             ) -> tuple[np.ndarray, ConvTransposeCache]:
    """2-D transposed convolution (the adjoint of ``conv2d_forward``), as PyTorch's.

    Arguments in the order of ``torch.nn.functional.conv_transpose2d``.

    Args:
        x: (N, C_in, H, W).
        weight: (C_in, C_out/G, kH, kW).
        bias: (C_out,) or None.
        stride, padding, dilation: ``(H, W)`` pairs (or ints), those of the convolution
            this is the transpose of.
        output_padding: ``(H, W)`` extra rows/columns at the bottom/right of the output;
            each must be smaller than ``max(stride, dilation)`` on its axis.
        groups: G; C_in and C_out must be divisible by it.

    Returns:
        ``(y, cache)``, y of shape (N, C_out, H_out, W_out).

    **Shape:** ``H_out = (H-1)*sH - 2pH + dH(kH-1) + output_padding_H + 1``, likewise W_out.

    Raises:
        ValueError: if an output_padding is too large or the output would be empty, and
            for mismatched shapes or dtypes (TypeError for wrong types).

    Example:
        >>> x = np.array([[[[1.0, 2]]]])                 # (1, 1, 1, 2)
        >>> w = np.array([[[[1.0, 10, 100]]]])           # (1, 1, 1, 3)
        >>> conv_transpose2d_forward(x, w, None, stride=(1, 2))[0]
        array([[[[  1.,  10., 102.,  20., 200.]]]])
    """
    stride, padding, _, dilation, G, out = check_conv_transpose_args(
        "conv_transpose2d_forward", x, weight, bias, stride, padding, output_padding, groups,
        dilation)
    N, C_in, H, W = x.shape
    _, C_out_g, kH, kW = weight.shape
    x_groups = x.transpose(1, 2, 3, 0).reshape(G, C_in // G, H * W * N)
    w = weight.reshape(G, C_in // G, C_out_g * kH * kW)
    cols = matmul(w.transpose(0, 2, 1), x_groups)  # (G, C_out/G*kH*kW, H*W*N)
    cols = cols.reshape(G * C_out_g, kH, kW, H, W, N)
    y = batch_last_col2im(cols, (N, G * C_out_g, out[0], out[1]), (kH, kW), stride, padding,
                          dilation)
    if bias is not None:
        y += bias[None, :, None, None]
    cache = ConvTransposeCache(x_groups, x.shape, weight, bias is not None, stride, padding,
                               dilation, y.shape)
    return y, cache


def conv_transpose2d_backward(grad_y: np.ndarray, cache: ConvTransposeCache,
                              input_grad: bool = True
                              ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of a 2-D transposed convolution.

    Args:
        grad_y: dL/dy, shape (N, C_out, H_out, W_out).
        cache: from ``conv_transpose2d_forward``.
        input_grad: if False, skip dL/dx and return None for it.

    Returns:
        ``(grad_x, grad_weight, grad_bias)`` with shapes (N, C_in, H, W),
        (C_in, C_out/G, kH, kW) and (C_out,) (None when there is no bias).
        ``grad_x`` equals ``conv2d_forward(grad_y, weight, None, stride, padding,
        dilation, groups)`` (cropped to (H, W) when output_padding >= stride).
    """
    check_cache("conv_transpose2d_backward", cache, ConvTransposeCache, "conv_transpose2d_forward")
    check_grad("conv_transpose2d_backward", grad_y, cache.y_shape)
    x_groups, x_shape, weight, has_bias, stride, padding, dilation, _ = cache
    N, C_in, H, W = x_shape
    G = x_groups.shape[0]
    cols = batch_last_im2col(grad_y, weight.shape[2:], stride, padding, dilation)
    # With output_padding >= stride (possible when dilation > stride) the windows of
    # grad_y reach one step past the input: those columns belong to no input pixel.
    C_out_g, kH, kW = weight.shape[1:]
    cols = cols[:, :, :, :H, :W].reshape(G, C_out_g * kH * kW, H * W * N)
    grad_bias = grad_y.sum(axis=(0, 2, 3)) if has_bias else None
    grad_weight = fast_grad_weight(x_groups, cols).reshape(weight.shape)  # x_g @ cols_g.T
    if not input_grad:
        return None, grad_weight, grad_bias
    grad_x = matmul(weight.reshape(G, C_in // G, C_out_g * kH * kW), cols)  # (G, C_in/G, H*W*N)
    return grad_x.reshape(C_in, H, W, N).transpose(3, 0, 1, 2), grad_weight, grad_bias


def check_conv_transpose_args(caller: str, x: np.ndarray, weight: np.ndarray,
                              bias: np.ndarray | None, stride: Pair, padding: Pair,
                              output_padding: Pair, groups: int, dilation: Pair, n_dims: int = 2
                              ) -> tuple:
    """Check a transposed convolution's arguments (see ``shapes.py``); return ``(stride,
    padding, output_padding, dilation, groups, output size)``, ints as ``n_dims``-tuples."""
    groups = check_conv_arrays(caller, x, weight, bias, groups, n_dims, transposed=True)
    stride, padding, output_padding, dilation = int_args(
        caller, n_dims, stride=stride, padding=padding, output_padding=output_padding,
        dilation=dilation)
    out = []
    for axis, n, k, s, p, op, d in zip("HW" if n_dims == 2 else "L", x.shape[2:],
                                       weight.shape[2:], stride, padding, output_padding,
                                       dilation):
        if op >= max(s, d):
            raise ValueError(f"{caller}: output_padding along {axis} must be smaller than "
                             f"max(stride, dilation) = {max(s, d)}, got {op}")
        out.append(conv_transpose_output_size(n, k, s, p, op, d))
    if min(out) < 1:
        raise ValueError(f"{caller}: output size {tuple(out)} is empty for input of shape "
                         f"{x.shape}, kernel {weight.shape[2:]}, padding {padding}")
    return stride, padding, output_padding, dilation, groups, tuple(out)


def conv2d_by_transposition(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                            padding: Pair, dilation: Pair, groups: int
                            ) -> tuple[np.ndarray, ConvTransposeCache]:
    """A stride-1 convolution, computed as the transposed convolution of its flipped kernel.

    Input pixel ``u`` (one axis) meets tap ``i`` in output ``h = u + p - i*d``: each input
    pixel scatters into the outputs, as in a transposed convolution. With ``i' = k-1-i``,
    ``h + d(k-1) - p = u + i'*d``, so ``y`` is the transposed convolution of ``x`` with
    ``_fast.flipped_kernel(weight)`` and padding ``d(k-1) - p`` (needs ``p <= d(k-1)``).
    ``conv2d_forward`` takes this way where it moves less memory (``_fast.py``, trick 6);
    ``conv2d_backward`` then gets a ``ConvTransposeCache``, and flips grad_weight back.

    Args:
        x: (N, C_in, H, W).
        weight: (C_out, C_in/G, kH, kW), as for ``conv2d_forward``.
        bias: (C_out,) or None.
        padding, dilation: of the convolution (stride 1).
        groups: G.

    Returns:
        ``(y, cache)``: y as ``conv2d_forward(x, weight, bias, (1, 1), padding, dilation,
        groups)`` gives it, and the transposed convolution's cache.

    **Shape:** (N, C_in, H, W) -> (N, C_out, H + 2pH - dH(kH-1), W + 2pW - dW(kW-1)).

    Example:
        >>> from convnp.functional.conv import conv2d_forward
        >>> rng = np.random.default_rng(0)
        >>> x, w = rng.normal(size=(2, 4, 5, 7)), rng.normal(size=(2, 4, 3, 2))
        >>> y, _ = conv2d_by_transposition(x, w, None, (1, 0), (1, 1), 1)
        >>> np.allclose(y, conv2d_forward(x, w, None, padding=(1, 0))[0])
        True
    """
    pads = flipped_padding(weight.shape[2:], padding, dilation)
    return conv_transpose2d_forward(x, flipped_kernel(weight, groups), bias, (1, 1), pads,
                                    (0, 0), groups, dilation)


def conv_transpose1d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                             stride: int = 1, padding: int = 0, output_padding: int = 0,
                             groups: int = 1, dilation: int = 1
                             ) -> tuple[np.ndarray, ConvTransposeCache]:
    """1-D transposed convolution: x (N, C_in, L), weight (C_in, C_out/G, k) -> (N, C_out, L_out).

    A 2-D one with height 1.

    **Shape:** ``L_out = (L-1)*s - 2p + d(k-1) + output_padding + 1``.

    Example:
        >>> y, _ = conv_transpose1d_forward(np.array([[[1.0, 2]]]), np.ones((1, 1, 3)), None,
        ...                                 stride=2)
        >>> y
        array([[[1., 1., 3., 2., 2.]]])
    """
    stride, padding, output_padding, dilation, groups, _ = check_conv_transpose_args(
        "conv_transpose1d_forward", x, weight, bias, stride, padding, output_padding, groups,
        dilation, n_dims=1)
    _, s, p, d = lift_1d((1,), stride, padding, dilation)
    y, cache = conv_transpose2d_forward(as_2d(x), as_2d(weight), bias, s, p, (0, *output_padding),
                                        groups, d)
    return y[:, :, 0, :], cache


def conv_transpose1d_backward(grad_y: np.ndarray, cache: ConvTransposeCache,
                              input_grad: bool = True
                              ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """Gradients of ``conv_transpose1d_forward``: grad_y (N, C_out, L_out) -> (grad_x
    (N, C_in, L), grad_weight (C_in, C_out/G, k), grad_bias (C_out,) or None)."""
    check_cache("conv_transpose1d_backward", cache, ConvTransposeCache, "conv_transpose1d_forward")
    check_grad("conv_transpose1d_backward", grad_y, drop_height(cache.y_shape))
    grad_x, grad_weight, grad_bias = conv_transpose2d_backward(as_2d(grad_y), cache, input_grad)
    if grad_x is not None:
        grad_x = grad_x[:, :, 0, :]
    return grad_x, grad_weight[:, :, 0, :], grad_bias
