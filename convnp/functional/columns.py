"""im2col and col2im: lay every receptive field out as a column, and fold columns back.

Axis names used in all the array functions::

    N              batch size
    C, C_in        input channels          C_out   output channels
    H, W           input height, width     kH, kW  kernel height, width
    H_out, W_out   output height, width    G       groups
    sH, sW         strides                 pH, pW  paddings    dH, dW  dilations

Layout. ``im2col`` returns the columns "channel-major", with shape
``(C, kH, kW, N, H_out, W_out)``. Read as a matrix of shape ``(C*kH*kW, N*H_out*W_out)``,
column ``(n, h, w)`` holds the receptive field of output pixel ``(h, w)`` of image
``n``, so a convolution is one matrix product ``weight (C_out, C*kH*kW) @ cols``.

How. There is one loop, over the ``kH*kW`` kernel offsets. For offset ``(i, j)`` the
input pixels it touches, for *all* images, channels and output positions at once, are
the strided slice::

    x_padded[:, :, i*dH : i*dH + sH*(H_out-1) + 1 : sH,  j*dW : j*dW + sW*(W_out-1) + 1 : sW]

``im2col`` copies that slice into ``cols[:, i, j]``; ``col2im`` is the same loop with
``+=`` (an input pixel that lies in several windows collects a gradient from each).
The padded input is stored as ``(C, N, H+2pH, W+2pW)`` so each copy runs over long
contiguous rows.

These are the plain versions. ``_fast.py`` has variants that give the same columns
faster on small images; the convolution layers use them, and the tests check that
both agree.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from convnp.functional.shapes import (
    Pair,
    as_2d,
    check_array,
    conv_output_size,
    lift_1d,
    window_args,
    window_args_for_shape,
)
from convnp.validate import int_tuple


def pad_cnhw(x: np.ndarray, pads: tuple[Pair, Pair], fill: float = 0.0) -> np.ndarray:
    """Return ``x`` (N, C, H, W) as (C, N, H+top+bottom, W+left+right), bordered by ``fill``.

    ``pads`` is ``((top, bottom), (left, right))``. With no padding this is a
    transposed *view* of ``x`` (no copy). The padded copy keeps the order of ``x``'s axes
    in memory (a convolution's output is stored batch-last, see ``_fast.py``), so that
    copying ``x`` in, and reading windows out, runs along memory.

    Example:
        >>> pad_cnhw(np.ones((2, 3, 4, 5)), ((1, 1), (0, 2))).shape
        (3, 2, 6, 7)
    """
    (top, bottom), (left, right) = pads
    xt = x.transpose(1, 0, 2, 3)
    if top == bottom == left == right == 0:
        return xt
    C, N, H, W = xt.shape
    xp = full_in_order((C, N, H + top + bottom, W + left + right), memory_order(xt), fill,
                       x.dtype)
    xp[:, :, top:top + H, left:left + W] = xt
    return xp


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """The axes of ``a``, outermost in memory first.

    Example:
        >>> memory_order(np.zeros((2, 3, 4)).transpose(2, 0, 1))
        (1, 2, 0)
    """
    return tuple(sorted(range(a.ndim), key=lambda axis: -a.strides[axis]))


def full_in_order(shape: tuple[int, ...], order: tuple[int, ...], fill: float,
                  dtype: np.dtype) -> np.ndarray:
    """A new array of ``shape`` filled with ``fill``, its axes stored in ``order``
    (outermost first, as ``memory_order`` gives).

    Example:
        >>> memory_order(full_in_order((2, 3, 4), (1, 2, 0), 0.0, np.float32))
        (1, 2, 0)
    """
    a = np.full([shape[axis] for axis in order], fill, dtype=dtype)
    return a.transpose(np.argsort(order))


def window_slices(kernel_size: Pair, stride: Pair, dilation: Pair,
                  out_size: Pair) -> Iterator[tuple[int, int, tuple[slice, slice, slice, slice]]]:
    """Yield ``(i, j, index)`` for each kernel offset; ``x_padded[index]`` is (C, N, H_out, W_out).

    ``index`` picks, for kernel tap ``(i, j)``, the input pixel under that tap for
    every output position at once.

    Example:
        >>> [(i, j) for i, j, _ in window_slices((2, 3), (1, 1), (1, 1), (4, 4))]
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    """
    (kH, kW), (sH, sW), (dH, dW), (H_out, W_out) = kernel_size, stride, dilation, out_size
    for i in range(kH):
        rows = slice(i * dH, i * dH + sH * (H_out - 1) + 1, sH)
        for j in range(kW):
            cols = slice(j * dW, j * dW + sW * (W_out - 1) + 1, sW)
            yield i, j, (slice(None), slice(None), rows, cols)


def im2col(x: np.ndarray, kernel_size: Pair, stride: Pair = (1, 1), padding: Pair = (0, 0),
           dilation: Pair = (1, 1)) -> np.ndarray:
    """Gather every receptive field of ``x`` into columns.

    ``cols[c, i, j, n, h, w] = x_padded[n, c, h*sH + i*dH, w*sW + j*dW]``

    Args:
        x: input, shape (N, C, H, W).
        kernel_size, stride, padding, dilation: ``(H, W)`` pairs (or ints); zero padding.

    Returns:
        cols, shape (C, kH, kW, N, H_out, W_out).

    Raises:
        ValueError: if the window does not fit the padded input (no columns).

    **Shape:** ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1``, likewise ``W_out``.

    Example:
        >>> x = np.arange(12.0).reshape(1, 1, 3, 4)
        >>> im2col(x, (2, 2)).reshape(4, -1)[:, 0]   # the top-left 2x2 window
        array([0., 1., 4., 5.])
    """
    kernel_size, stride, padding, dilation = window_args("im2col", x, 2, kernel_size, stride,
                                                         padding, dilation)
    N, C, H, W = x.shape
    (kH, kW), (pH, pW) = kernel_size, padding
    H_out = conv_output_size(H, kH, stride[0], pH, dilation[0])
    W_out = conv_output_size(W, kW, stride[1], pW, dilation[1])
    xp = pad_cnhw(x, ((pH, pH), (pW, pW)))
    cols = np.empty((C, kH, kW, N, H_out, W_out), dtype=x.dtype)
    for i, j, index in window_slices(kernel_size, stride, dilation, (H_out, W_out)):
        cols[:, i, j] = xp[index]
    return cols


def col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kernel_size: Pair,
           stride: Pair = (1, 1), padding: Pair = (0, 0),
           dilation: Pair = (1, 1)) -> np.ndarray:
    """Fold columns back into an image, summing where windows overlap (adjoint of im2col).

    ``grad_x_padded[n, c, h*sH + i*dH, w*sW + j*dW] += cols[c, i, j, n, h, w]``

    Args:
        cols: shape (C, kH, kW, N, H_out, W_out), as made by ``im2col``.
        x_shape: (N, C, H, W), the shape of the image to rebuild.
        kernel_size, stride, padding, dilation: as given to ``im2col``.

    Returns:
        An array of shape (N, C, H, W) with ``<im2col(x), cols> = <x, col2im(cols)>``.
        It is a view of a (C, N, H, W)-ordered buffer (no extra copy).

    Example:
        >>> x = np.ones((1, 1, 3, 4))
        >>> col2im(im2col(x, (2, 2)), x.shape, (2, 2))[0, 0]   # how many windows cover each pixel
        array([[1., 2., 2., 1.],
               [2., 4., 4., 2.],
               [1., 2., 2., 1.]])
    """
    kernel_size, stride, padding, dilation = check_cols("col2im", cols, x_shape, 2, kernel_size,
                                                        stride, padding, dilation)
    N, C, H, W = x_shape
    (pH, pW) = padding
    H_out, W_out = cols.shape[4], cols.shape[5]
    grad_xp = np.zeros((C, N, H + 2 * pH, W + 2 * pW), dtype=cols.dtype)
    for i, j, index in window_slices(kernel_size, stride, dilation, (H_out, W_out)):
        grad_xp[index] += cols[:, i, j]
    return grad_xp[:, :, pH:pH + H, pW:pW + W].transpose(1, 0, 2, 3)


def im2col1d(x: np.ndarray, kernel_size: int, stride: int = 1, padding: int = 0,
             dilation: int = 1) -> np.ndarray:
    """1-D im2col: ``x`` (N, C, L) -> cols (C, k, N, L_out). A 2-D im2col with H = 1.

    **Shape:** ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``.

    Example:
        >>> im2col1d(np.arange(5.0).reshape(1, 1, 5), 3)[0, :, 0]
        array([[0., 1., 2.],
               [1., 2., 3.],
               [2., 3., 4.]])
    """
    args = window_args("im2col1d", x, 1, kernel_size, stride, padding, dilation)
    return im2col(as_2d(x), *lift_1d(*args))[:, 0, :, :, 0, :]


def col2im1d(cols: np.ndarray, x_shape: tuple[int, int, int], kernel_size: int,
             stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """1-D col2im: cols (C, k, N, L_out) -> (N, C, L), the adjoint of ``im2col1d``.

    Example:
        >>> col2im1d(np.ones((1, 3, 1, 3)), (1, 1, 5), 3)
        array([[[1., 2., 3., 2., 1.]]])
    """
    args = check_cols("col2im1d", cols, x_shape, 1, kernel_size, stride, padding, dilation)
    N, C, L = x_shape
    return col2im(cols[:, None, :, :, None, :], (N, C, 1, L), *lift_1d(*args))[:, :, 0, :]


def check_cols(caller: str, cols: np.ndarray, x_shape: tuple[int, ...], n_dims: int,
               kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair
               ) -> tuple[tuple[int, ...], ...]:
    """Check col2im's arguments; return ``(kernel_size, stride, padding, dilation)`` as tuples.

    ``cols`` must have exactly the shape ``im2col`` gives for an input of ``x_shape`` with
    these arguments: columns made for another input size or kernel would fold into a
    wrong image without any error.
    """
    x_shape = int_tuple(caller, "x_shape", x_shape, length=n_dims + 2)
    args = window_args_for_shape(caller, x_shape, n_dims, kernel_size, stride, padding,
                                 dilation)
    out = [conv_output_size(n, *a) for n, *a in zip(x_shape[2:], *args)]
    N, C, k = x_shape[0], x_shape[1], args[0]
    expected = (C, *k, N, *out)
    check_array(caller, "cols", cols, len(expected))
    if cols.shape != expected:
        raise ValueError(f"{caller}: cols must have shape {expected}, what im2col gives for "
                         f"x_shape {x_shape} and kernel_size {k}, stride {args[1]}, padding "
                         f"{args[2]}, dilation {args[3]}; got {cols.shape}")
    return args

