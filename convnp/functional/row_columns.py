"""Convolution by row columns: im2col over the width only, shared by the output rows.

Trick 7 of ``_fast.py``. im2col (``columns.py``) copies every input pixel once per kernel
tap, kH*kW times. But output row h reads input rows ``h*sH ... h*sH + kH-1`` (dilation 1
in H), and output row h+1 the same rows shifted by sH. So build the columns along the
width only, once per input row::

    rows[r, j, c, w, n] = x_pad[n, c, r, w*sW + j*dW]       shape (H_pad, kW, C, W_out, N)

Read ``rows`` as a matrix with H_pad*kW*C rows of W_out*N numbers. Its kH*kW*C
consecutive rows from ``r = h*sH`` on are the columns im2col builds for output row h,
ordered (i, j, c) rather than (c, i, j). With the weight's columns ordered the same way::

    Y[:, h] = Wmat_ijc @ block_h,     block_h = rows[h*sH : h*sH + kH]

The blocks overlap; ``row_windows`` views all H_out of them at once, without a copy, and
``np.matmul`` runs one product per output row. Backward sums the same products over h::

    grad_W = sum_h grad_Y[:, h] @ block_h.T

The copy is ``H_pad / (kH*H_out)`` of im2col's: 16/42 for a 3x3 kernel on a 14x14 map.
This is the memory-efficient convolution (MEC) of Cho and Brand (ICML 2017), with the
batch axis last (trick 1). ``rows_are_cheaper`` says where it pays: stride 1, where the
blocks overlap most, and products at least ``ROWS_MIN_WIDTH`` positions wide.

The rows of padding are zero, and an output row at the top or bottom border multiplies
some of them. Its product leaves out the kernel rows that fall there
(``kernel_row_bands``): on a 2x2 map with padding 1, each output row uses two of a 3x3
kernel's three rows, and the products do 2/3 of the work.

dL/dx runs the same idea backwards (``conv2d_grad_x_by_rows``): one product per input
row sums its kH kernel rows, and col2im is left with the kW shifts along the width.
``grad_x_rows_are_cheaper`` takes it for a network's first layer.

Axis names as in ``conv.py``; ``H_pad = H + 2*pH``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convnp.functional._blas import matmul
from convnp.functional._ufunc_buffers import small_ufunc_buffers
from convnp.functional.shapes import Pair, conv_output_size


def row_columns(x: np.ndarray, kernel_size: Pair, stride: Pair = (1, 1),
                padding: Pair = (0, 0), dilation: Pair = (1, 1)) -> np.ndarray:
    """im2col along the width only: ``rows[r, j, c, w, n] = x_pad[n, c, r, w*sW + j*dW]``.

    One copy of x per kernel column j, zero where the tap falls on padding.

    **Shape:** (N, C, H, W) -> (H + 2pH, kW, C, W_out, N).

    Example:
        >>> x = np.arange(8.0).reshape(1, 1, 2, 4)
        >>> row_columns(x, (2, 2))[:, :, 0, :, 0]       # [r, j, w] = x[r, w + j]
        array([[[0., 1., 2.],
                [1., 2., 3.]],
        <BLANKLINE>
               [[4., 5., 6.],
                [5., 6., 7.]]])
    """
    N, C, H, W = x.shape
    pH = padding[0]
    kW, sW, pW, dW = kernel_size[1], stride[1], padding[1], dilation[1]
    W_out = conv_output_size(W, kW, sW, pW, dW)
    rows = np.empty((H + 2 * pH, kW, C, W_out, N), dtype=x.dtype)
    rows[:pH] = 0
    rows[pH + H:] = 0
    # (H, C, W, N), a view of x stored batch-last. The reordering copy, made once only
    # if x is stored otherwise (a network's input), lets the kW copies below read along
    # memory: 0.4-0.6x the time of this function on NCHW-stored inputs.
    x_rows = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(1, 0, 2, 3)
    for j in range(kW):
        # Output column w reads input column u = w*sW + j*dW - pW, which lies inside x
        # (0 <= u < W) for first <= w < stop; the other columns read padding.
        first = min(W_out, max(0, math.ceil((pW - j * dW) / sW)))
        stop = max(first, min(W_out, (W - 1 + pW - j * dW) // sW + 1))
        rows[pH:pH + H, j, :, :first] = 0
        rows[pH:pH + H, j, :, stop:] = 0
        u = first * sW + j * dW - pW
        rows[pH:pH + H, j, :, first:stop] = x_rows[:, :, u:u + sW * (stop - first):sW]
    return rows


def row_windows(rows: np.ndarray, kernel_height: int, stride_height: int,
                H_out: int) -> np.ndarray:
    """Every output row's columns, as overlapping read-only views into ``rows``.

    ``windows[h] = rows[h*sH : h*sH + kH].reshape(kH*kW*C, W_out*N)`` for all h, no copy:
    one step in h is sH input rows of ``rows``.

    **Shape:** (H_pad, kW, C, W_out, N) -> (H_out, kH*kW*C, W_out*N).

    Example:
        >>> rows = row_columns(np.arange(8.0).reshape(1, 1, 2, 4), (2, 2))
        >>> row_windows(rows, 2, 1, 1)[0]             # the columns of output row 0
        array([[0., 1., 2.],
               [1., 2., 3.],
               [4., 5., 6.],
               [5., 6., 7.]])
    """
    H_pad, kW, C, W_out, N = rows.shape
    matrix = rows.reshape(H_pad * kW * C, W_out * N)
    row_step, number_step = matrix.strides
    return as_strided(matrix, (H_out, kernel_height * kW * C, W_out * N),
                      (stride_height * kW * C * row_step, row_step, number_step),
                      writeable=False)


def kernel_row_bands(x_height: int, H_out: int, kernel_height: int, stride_height: int,
                     pad_height: int, row_size: int) -> list[tuple[slice, slice]]:
    """The output rows, in bands that meet the input with the same kernel rows.

    Output row h meets input row ``h*sH + i - pH`` with kernel row i. Outside the input
    that row is padding: zero in ``rows``, so it adds nothing to the product. Only kernel
    rows ``max(0, pH - h*sH) <= i < min(kH, H + pH - h*sH)`` count. Consecutive output
    rows that use the same kernel rows make one band: each border row on its own, and the
    rows in between, which use all kH, together.

    Args:
        x_height, H_out, kernel_height, stride_height, pad_height: H, H_out, kH, sH, pH.
        row_size: numbers per kernel row in a window, ``kW*C_in``.

    Returns:
        ``(output rows, window rows)`` pairs of slices: the band's rows of y, and the rows
        of their windows (and of ``Wmat_ijc``'s columns) that it uses. The second is
        empty where every kernel row falls on padding (padding of kH or more).

    Example:
        >>> kernel_row_bands(2, 2, 3, 1, 1, 10)     # a 2x2 map, 3x3 kernel, padding 1
        [(slice(0, 1, None), slice(10, 30, None)), (slice(1, 2, None), slice(0, 20, None))]
        >>> [(b.start, b.stop) for b, _ in kernel_row_bands(14, 14, 3, 1, 1, 48)]
        [(0, 1), (1, 13), (13, 14)]
    """
    bands: list[tuple[int, int, int, int]] = []
    for h in range(H_out):
        first = max(0, pad_height - h * stride_height)
        stop = max(first, min(kernel_height, x_height + pad_height - h * stride_height))
        if bands and bands[-1][2:] == (first, stop):
            bands[-1] = (bands[-1][0], h + 1, first, stop)
        else:
            bands.append((h, h + 1, first, stop))
    return [(slice(h0, h1), slice(first * row_size, stop * row_size))
            for h0, h1, first, stop in bands]


def conv2d_by_rows(x: np.ndarray, weight: np.ndarray, stride: Pair, padding: Pair,
                   dilation: Pair) -> tuple[np.ndarray, np.ndarray]:
    """A convolution without bias (groups 1, dilation 1 in H), one product per output row.

    ``Y[:, h] = Wmat_ijc @ windows[h]``, with ``Wmat_ijc[o, (i, j, c)] = weight[o, c, i, j]``.

    Returns:
        ``(y, windows)``: y stored (C_out, H_out, W_out, N), and the windows, which
        ``row_grad_weight`` needs.

    **Shape:** x (N, C_in, H, W), weight (C_out, C_in, kH, kW) -> y (C_out, H_out, W_out, N).

    Example:
        >>> from convnp.functional.conv import conv2d_forward
        >>> rng = np.random.default_rng(0)
        >>> x, w = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 2))
        >>> y, _ = conv2d_by_rows(x, w, (1, 1), (1, 0), (1, 1))
        >>> np.allclose(y.transpose(3, 0, 1, 2), conv2d_forward(x, w, None, padding=(1, 0))[0])
        True
    """
    N, C_in, H, _ = x.shape
    C_out, _, kH, kW = weight.shape
    H_out = conv_output_size(H, kH, stride[0], padding[0], 1)
    rows = row_columns(x, (kH, kW), stride, padding, dilation)
    windows = row_windows(rows, kH, stride[0], H_out)
    w = weight.transpose(0, 2, 3, 1).reshape(C_out, kH * kW * C_in)
    y = np.empty((C_out, H_out, windows.shape[2]), dtype=np.result_type(x, weight))
    for out_rows, k in kernel_row_bands(H, H_out, kH, stride[0], padding[0], kW * C_in):
        # y[:, h] = Wmat_ijc @ windows[h], over the kernel rows that meet the input
        matmul(w[:, k], windows[out_rows, k], out=y[:, out_rows].transpose(1, 0, 2))
    return y.reshape(C_out, H_out, -1, N), windows


def row_grad_weight(grad_y: np.ndarray, windows: np.ndarray, weight_shape: tuple[int, ...],
                    x_height: int, stride_height: int, pad_height: int) -> np.ndarray:
    """``grad_W = sum_h grad_Y[:, h] @ windows[h].T``, in the weight's (c, i, j) order.

    Each product is taken as ``windows[h] @ grad_Y[:, h].T`` (the long side on the left,
    as in ``_fast.fast_grad_weight``), then the H_out of them are summed. As in
    ``conv2d_by_rows``, a border row's product leaves out the kernel rows over padding,
    whose columns are zero.

    Args:
        grad_y: (C_out, H_out, W_out*N): dL/dy stored batch-last.
        windows: from ``conv2d_by_rows``.
        weight_shape: (C_out, C_in, kH, kW).
        x_height, stride_height, pad_height: H, sH and pH of the forward pass.

    **Shape:** -> (C_out, C_in, kH, kW).

    Example:
        >>> from convnp.naive import conv2d_backward_naive
        >>> rng = np.random.default_rng(0)
        >>> x, w = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 2))
        >>> y, windows = conv2d_by_rows(x, w, (1, 1), (0, 0), (1, 1))    # (4, 3, 5, 2)
        >>> grad_y = rng.normal(size=(2, 4, 3, 5))
        >>> grad_w = row_grad_weight(grad_y.transpose(1, 2, 3, 0).reshape(4, 3, 10),
        ...                          windows, w.shape, 5, 1, 0)
        >>> expected = conv2d_backward_naive(grad_y, x, w, None, 1, 0, 1, 1)[1]
        >>> np.allclose(grad_w, expected)
        True
    """
    C_out, C_in, kH, kW = weight_shape
    grad_w = np.zeros((kH * kW * C_in, C_out), dtype=np.result_type(grad_y, windows))
    for out_rows, k in kernel_row_bands(x_height, grad_y.shape[1], kH, stride_height,
                                        pad_height, kW * C_in):
        per_row = matmul(windows[out_rows, k], grad_y[:, out_rows].transpose(1, 2, 0))
        grad_w[k] += per_row.sum(axis=0)  # per_row: (rows of the band, K of the band, C_out)
    return grad_w.reshape(kH, kW, C_in, C_out).transpose(3, 2, 0, 1)


def conv2d_grad_x_by_rows(grad_y: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...],
                          stride: Pair, padding: Pair, dilation: Pair) -> np.ndarray:
    """dL/dx of a convolution (groups 1, stride and dilation 1 in H): col2im by rows.

    col2im (``_fast.batch_last_col2im``) adds back kH*kW slices of ``Wmat.T @ grad_Y``,
    one per tap. Here the kH taps of a kernel column are summed inside one product per
    input row instead. Input row r meets tap i in output row ``r + pH - i``, so with
    grad_y padded by kH-1 zero rows above and below (``grad_Y``, stored (rows, C_out,
    W_out*N))::

        G[r] = Wflip @ grad_Y[r + pH : r + pH + kH]   shape (kW*C_in, W_out*N)
        Wflip[(j, c), (i, o)] = weight[o, c, kH-1-i, j]

    The kH-row windows overlap, and one ``np.matmul`` runs the H products on
    ``row_windows``'s views of them. ``G[r, (j, c), (w, n)]`` is
    then input row r's gradient through tap column j, at input column ``w*sW + j*dW``
    of the width-padded row: col2im along the width, kW shifted adds rather than kH*kW.

    The product writes kH times fewer numbers than col2im's, and the adds are kH times
    fewer; ``grad_x_rows_are_cheaper`` says where that pays.

    Args:
        grad_y: (C_out, H_out, W_out, N): dL/dy stored batch-last.
        weight: (C_out, C_in, kH, kW).
        x_shape: (N, C_in, H, W), the input's shape.
        stride, padding, dilation: of the forward convolution (stride and dilation 1 in H).

    **Shape:** -> grad_x (N, C_in, H, W), a view of a (C_in, H, W, N)-ordered array.

    Example:
        >>> from convnp.naive import conv2d_backward_naive
        >>> rng = np.random.default_rng(0)
        >>> x, w = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 2))
        >>> grad_y = rng.normal(size=(2, 4, 5, 3))                  # padding (1, 0), stride (1, 2)
        >>> grad_x = conv2d_grad_x_by_rows(grad_y.transpose(1, 2, 3, 0), w, x.shape,
        ...                                (1, 2), (1, 0), (1, 1))
        >>> expected = conv2d_backward_naive(grad_y, x, w, None, (1, 2), (1, 0), 1, 1)[0]
        >>> np.allclose(grad_x, expected)
        True
    """
    N, C_in, H, W = x_shape
    C_out, _, kH, kW = weight.shape
    _, H_out, W_out, _ = grad_y.shape
    (pH, pW), sW, dW = padding, stride[1], dilation[1]
    # padded[t] = grad_y[:, t + first]: the rows the windows read, zero outside grad_y
    first = pH - (kH - 1)
    padded = np.empty((H + kH - 1, C_out, W_out * N), dtype=grad_y.dtype)
    top, end = max(first, 0), min(H + pH, H_out)
    padded[:top - first] = 0
    padded[end - first:] = 0
    padded[top - first:end - first] = grad_y[:, top:end].reshape(C_out, end - top, -1
                                                                 ).transpose(1, 0, 2)
    # padded is grad_y's row columns with kW = 1: (rows, 1, C_out, W_out, N)
    windows = row_windows(padded.reshape(H + kH - 1, 1, C_out, W_out, N), kH, 1, H)
    w_flip = weight[:, :, ::-1].transpose(3, 1, 2, 0).reshape(kW * C_in, kH * C_out)
    per_row = matmul(w_flip, windows).reshape(H, kW, C_in, W_out, N)  # G[r]
    grad_x = np.zeros((C_in, H, W + 2 * pW, N), dtype=per_row.dtype)
    with small_ufunc_buffers():  # trick 5 of _fast.py: the fold took 0.4 of the time
        for j in range(kW):  # col2im along the width
            grad_x[:, :, j * dW:j * dW + sW * (W_out - 1) + 1:sW] += per_row[:, j].transpose(
                1, 0, 2, 3)
    return grad_x[:, :, pW:pW + W].transpose(3, 0, 1, 2)


ROWS_MIN_WIDTH = 128
"""Fewest positions (``W_out*N``) per output-row product for ``rows_are_cheaper``."""


def rows_are_cheaper(x_shape: tuple[int, ...], y_shape: tuple[int, ...],
                     kernel_size: Pair, stride: Pair, dilation: Pair, groups: int) -> bool:
    """Compute y by ``conv2d_by_rows`` rather than im2col?

    Where consecutive output rows share input rows (stride 1 and dilation 1 in H, kH > 1),
    the row columns are a fraction of im2col's, but the one product becomes H_out
    narrower ones of ``W_out*N`` positions each. Forward and backward of one layer, new
    time over old (batch 64 unless given): a ResNet's 16 channels on 14x14 maps 0.48,
    32 on 7x7 0.76, 64 on 4x4 0.92; LeNet's layers 0.79 and 0.86; ``conv_bench.py``'s
    64- and 128-channel layers 0.80 and 0.92. On 2x2 maps the border rows' products
    skip a third of the kernel (``kernel_row_bands``), and rows of 128 positions (batch
    64) measured 0.79 to 0.85; rows narrower than ``ROWS_MIN_WIDTH`` about 1.04, and
    stride 2 0.98 to 1.03 on 3x3 kernels: those keep im2col. Groups would need one set of
    row columns per group; they keep im2col too.
    """
    (N, _, _, _), (_, _, _, W_out) = x_shape, y_shape
    return (groups == 1 and kernel_size[0] > 1 and stride[0] == 1 and dilation[0] == 1
            and W_out * N >= ROWS_MIN_WIDTH)


GRAD_X_ROWS_MAX_CHANNELS = (3, 16)
"""Most input and output channels for which ``grad_x_rows_are_cheaper`` says yes."""


def grad_x_rows_are_cheaper(x_shape: tuple[int, ...], y_shape: tuple[int, ...],
                            kernel_size: Pair, stride: Pair, dilation: Pair,
                            groups: int) -> bool:
    """Compute dL/dx by ``conv2d_grad_x_by_rows`` rather than by col2im?

    For a network's first layer: images with at most 3 channels (grey or RGB), at most
    16 filters. There col2im's columns are most of dL/dx's work: LeNet's first layer
    (1 -> 6 channels, 5x5, batch 64) writes 25 columns of 50,176 numbers, 5 MB, and adds
    them back, while its products are small. By rows it took 0.28 ms against 0.46 (0.29
    against 1.07 with another core kept busy), and README's LeNet step, which computes
    this gradient (``Trainer`` does not), 0.79-0.95 of the time. With more filters the
    products dominate, and the rows' ones, kW*C_in rows tall, are the slower: 1 -> 32
    channels (5x5) took 1.3-2.2 times as long, LeNet's second layer (6 -> 16, no
    padding) 1.1-1.25. The conditions of ``rows_are_cheaper`` apply too.
    """
    C_in, C_out = x_shape[1], y_shape[1]
    max_in, max_out = GRAD_X_ROWS_MAX_CHANNELS
    return (C_in <= max_in and C_out <= max_out
            and rows_are_cheaper(x_shape, y_shape, kernel_size, stride, dilation, groups))
