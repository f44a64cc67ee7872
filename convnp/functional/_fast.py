"""Faster ways to compute what ``columns.py`` and ``conv.py`` compute plainly.

Read the plain versions first: ``columns.im2col``/``col2im`` and the matrix products in
``conv.py``. Each function here returns what its plain counterpart returns (the tests
check it, ``tests/test_fast.py``); only the order of memory traffic, or of the numbers
in memory, differs. The convolution layers use these by default. The measurements
behind each choice are in ``docs/performance.md`` and come from
``benchmarks/conv_bench.py``.

1. The batch axis last (``batch_last_im2col``, ``batch_last_col2im``). A strided copy
   or ``+=`` costs a fixed amount per contiguous run, on top of the numbers it moves.
   In ``columns.py``'s (C, N, H, W) layout, the slice under one kernel offset is made
   of runs of ``W_out`` numbers (of one number when the stride is 2): 28 for LeNet's
   first layer, 4 in a ResNet's last stage. With the batch axis last, (C, H, W, N),
   the same slice is made of runs of ``W_out*N`` numbers (``N`` with stride 2), and
   im2col and col2im ran 2 to 10 times faster on the ladder's layers. The columns are
   then ordered (h, w, n) rather than (n, h, w), and so is the product ``Wmat @ cols``:
   a convolution returns an (N, C_out, H_out, W_out) view of a (C_out, H_out, W_out, N)
   array, which the next convolution reads without reordering.
2. dL/dx as a correlation (``conv2d_grad_x_by_correlation``). With stride 1, dL/dx is the
   convolution of grad_y, zero-padded by ``d(k-1) - p``, with the kernel flipped and
   its in/out channels swapped. It replaces col2im's scattered ``+=`` with im2col's
   plain copy, which moves less memory when the layer has about as many output as
   input channels.
3. Small products on one BLAS thread when the machine is busy (``_blas.matmul``, which
   every product here goes through).
4. Products with a tiny weight in pieces (``fast_forward``, ``fast_grad_weight``).
   OpenBLAS multiplies without packing when ``M*N*K <= 100**3`` (its Skylake-X
   ``small_kernel_permit``). LeNet's first layer has a 6 x 25 weight and 50,176
   positions: one product is far above that limit, while pieces of 6,666 positions are
   under it. grad_W summed piece by piece came out twice as fast, and ``Y = Wmat @
   cols`` computed piece by piece 1.7x as fast. So when the weight is that small
   (``PIECE_FLOOR``), the positions are split into pieces under the limit.
5. Small ufunc buffers for ``+=`` on strided slices (``_ufunc_buffers.py``): NumPy's
   default buffers overflow the first-level cache, and col2im with smaller ones took
   0.35-0.74x the time (parity for kernel 4 stride 2), a README step on LeNet about 0.9x.
6. y by transposition (``transposition_is_cheaper``), trick 2's mirror image. A
   stride-1 convolution is the transposed convolution of its ``flipped_kernel``, so
   ``conv_transpose.conv2d_by_transposition`` computes it as ``col2im(flipped.T @ x)``,
   with no im2col of x; its backward builds the columns of grad_y once and takes both
   gradients from them. Where a layer narrows the channels, those columns are the
   smaller ones: a DenseNet layer's convolution (forward and backward) took 0.46-0.89x
   the time, and a DenseNet training step 0.70-0.77x.
7. Row columns (``row_columns.py``): im2col along the width only, once per input row;
   each output row's columns are a view of kH consecutive rows of it, and one product
   per output row computes y. For stride 1, in the forward pass and in trick 2's
   correlation. Training steps took 0.76 (LeNet), 0.83 (BN-LeNet), 0.92 (ResNet) and
   0.94 (VGG) of the time with im2col. For a network's first layer, dL/dx goes by rows
   too (col2im folded per input row): README's LeNet step took 0.79-0.95.
"""

from __future__ import annotations

import numpy as np

from convnp.functional._blas import matmul
from convnp.functional._ufunc_buffers import small_ufunc_buffers
from convnp.functional.columns import window_slices
from convnp.functional.row_columns import conv2d_by_rows, rows_are_cheaper
from convnp.functional.shapes import Pair, conv_output_size


def batch_last_im2col(x: np.ndarray, kernel_size: Pair, stride: Pair = (1, 1),
                      padding: Pair = (0, 0), dilation: Pair = (1, 1)) -> np.ndarray:
    """``columns.im2col(x, ...)`` with the batch axis moved last (trick 1).

    ``cols[c, i, j, h, w, n] = x_padded[n, c, h*sH + i*dH, w*sW + j*dW]``

    The same loop over kernel offsets as ``im2col``, on the input stored as
    (C, H_padded, W_padded, N).

    **Shape:** (N, C, H, W) -> (C, kH, kW, H_out, W_out, N).

    Example:
        >>> from convnp.functional.columns import im2col
        >>> x = np.random.default_rng(0).normal(size=(2, 3, 7, 9))
        >>> np.array_equal(batch_last_im2col(x, (3, 2)), np.moveaxis(im2col(x, (3, 2)), 3, 5))
        True
    """
    N, C, H, W = x.shape
    (kH, kW), (pH, pW) = kernel_size, padding
    H_out = conv_output_size(H, kH, stride[0], pH, dilation[0])
    W_out = conv_output_size(W, kW, stride[1], pW, dilation[1])
    if pH == pW == 0:  # no copy if x is already stored batch-last
        xp = np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    else:
        xp = np.zeros((C, H + 2 * pH, W + 2 * pW, N), dtype=x.dtype)
        xp[:, pH:pH + H, pW:pW + W] = x.transpose(1, 2, 3, 0)
    cols = np.empty((C, kH, kW, H_out, W_out, N), dtype=x.dtype)
    for i, j, (_, _, rows, columns) in window_slices(kernel_size, stride, dilation,
                                                      (H_out, W_out)):
        cols[:, i, j] = xp[:, rows, columns]
    return cols


def batch_last_col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int],
                      kernel_size: Pair, stride: Pair = (1, 1), padding: Pair = (0, 0),
                      dilation: Pair = (1, 1)) -> np.ndarray:
    """``columns.col2im`` for columns with the batch axis last: the same loop, with ``+=``.

    **Shape:** (C, kH, kW, H_out, W_out, N) -> (N, C, H, W), a view of a
    (C, H, W, N)-ordered array.

    Example:
        >>> from convnp.functional.columns import col2im
        >>> cols = np.random.default_rng(0).normal(size=(3, 3, 2, 5, 8, 2))
        >>> np.allclose(batch_last_col2im(cols, (2, 3, 7, 9), (3, 2)),
        ...             col2im(np.moveaxis(cols, 5, 3), (2, 3, 7, 9), (3, 2)))
        True
    """
    N, C, H, W = x_shape
    pH, pW = padding
    grad_xp = np.zeros((C, H + 2 * pH, W + 2 * pW, N), dtype=cols.dtype)
    with small_ufunc_buffers():
        for i, j, (_, _, rows, columns) in window_slices(kernel_size, stride, dilation,
                                                          cols.shape[3:5]):
            grad_xp[:, rows, columns] += cols[:, i, j]
    return grad_xp[:, pH:pH + H, pW:pW + W].transpose(3, 0, 1, 2)


def correlation_is_cheaper(x_shape: tuple[int, ...], y_shape: tuple[int, ...],
                           kernel_size: Pair, stride: Pair, padding: Pair,
                           dilation: Pair) -> bool:
    """Compute dL/dx by ``conv2d_grad_x_by_correlation`` rather than by col2im?

    The correlation form needs stride 1 and padding <= d(k-1). Both ways do the same
    GEMM flops; they differ in the memory they move. col2im adds (read, read, write) an
    array of C_in*kH*kW*N*H_out*W_out numbers; the correlation copies (read, write) one
    of C_out*kH*kW*N*H*W. So the correlation wins when
    ``C_out*H*W <= 1.5 * C_in*H_out*W_out``.
    """
    (_, C_in, H, W), (_, C_out, H_out, W_out) = x_shape, y_shape
    if not has_flipped_form(kernel_size, stride, padding, dilation):
        return False
    return C_out * H * W <= 1.5 * C_in * H_out * W_out


def has_flipped_form(kernel_size: Pair, stride: Pair, padding: Pair, dilation: Pair) -> bool:
    """Stride 1 and padding <= d(k-1): the convolution can be run backwards with its
    ``flipped_kernel`` and padding ``d(k-1) - p`` (tricks 2 and 6).

    Example:
        >>> has_flipped_form((3, 3), (1, 1), (1, 2), (1, 1))   # padding 1 and 2 <= 1*(3-1)
        True
        >>> has_flipped_form((3, 3), (1, 1), (3, 0), (1, 1))   # padding 3 > 2
        False
    """
    return stride == (1, 1) and min(flipped_padding(kernel_size, padding, dilation)) >= 0


def flipped_padding(kernel_size: Pair, padding: Pair, dilation: Pair) -> Pair:
    """``d(k-1) - p`` per axis: the padding that goes with ``flipped_kernel`` (tricks 2 and 6).

    Example:
        >>> flipped_padding((3, 5), (1, 0), (1, 2))
        (1, 8)
    """
    (kH, kW), (pH, pW), (dH, dW) = kernel_size, padding, dilation
    return dH * (kH - 1) - pH, dW * (kW - 1) - pW


def conv2d_grad_x_by_correlation(grad_y: np.ndarray, weight: np.ndarray, padding: Pair,
                                 dilation: Pair, groups: int) -> np.ndarray:
    """dL/dx of a stride-1 convolution as a "full" correlation of grad_y with the kernel.

    Input pixel ``u`` (one axis) meets tap ``i`` in output ``u + p - i*d``, so
    ``grad_x[u] = sum_i weight[i] * grad_y[u + p - i*d]``. With ``i' = k-1-i`` that is
    a correlation (as in the forward pass) of grad_y, zero-padded by ``d(k-1) - p``, with
    the kernel flipped in H and W and its in/out channels swapped (within each group).
    That correlation is computed like a forward pass: by row columns (trick 7) where
    ``rows_are_cheaper``, else by im2col.

    Args:
        grad_y: (N, C_out, H_out, W_out).
        weight: (C_out, C_in/G, kH, kW).
        padding, dilation: of the forward convolution (stride 1).
        groups: G.

    **Shape:** grad_y (N, C_out, H_out, W_out) -> grad_x (N, C_in, H, W), a view of a
    (C_in, H, W, N)-ordered array.
    """
    C_out, C_in_g, kH, kW = weight.shape
    G = groups
    full = flipped_padding((kH, kW), padding, dilation)
    N = grad_y.shape[0]
    H, W = (conv_output_size(n, k, 1, p, d)  # the input's size
            for n, k, p, d in zip(grad_y.shape[2:], (kH, kW), full, dilation))
    flipped = flipped_kernel(weight, G)
    if rows_are_cheaper(grad_y.shape, (N, G * C_in_g, H, W), (kH, kW), (1, 1), dilation, G):
        grad_x, _ = conv2d_by_rows(grad_y, flipped, (1, 1), full, dilation)  # trick 7
        return grad_x.transpose(3, 0, 1, 2)
    cols = batch_last_im2col(grad_y, (kH, kW), (1, 1), full, dilation)
    cols = cols.reshape(G, C_out // G * kH * kW, H * W * N)
    w = flipped.reshape(G, C_in_g, C_out // G * kH * kW)
    return matmul(w, cols).reshape(G * C_in_g, H, W, N).transpose(3, 0, 1, 2)


def flipped_kernel(weight: np.ndarray, groups: int) -> np.ndarray:
    """The kernel flipped in H and W, with its in/out channels swapped within each group.

    ``flipped[g*C_in/G + c, o, i, j] = weight[g*C_out/G + o, c, kH-1-i, kW-1-j]``: the
    weight that runs a stride-1 convolution backwards (tricks 2 and 6). Applied twice it
    gives the weight back.

    **Shape:** (C_out, C_in/G, kH, kW) -> (C_in, C_out/G, kH, kW).

    Example:
        >>> w = np.arange(12.0).reshape(2, 3, 1, 2)
        >>> flipped_kernel(w, 1)[:, :, 0, :].tolist()     # [c][o] = w[o][c] reversed
        [[[1.0, 0.0], [7.0, 6.0]], [[3.0, 2.0], [9.0, 8.0]], [[5.0, 4.0], [11.0, 10.0]]]
        >>> np.array_equal(flipped_kernel(flipped_kernel(w, 1), 1), w)
        True
    """
    C_out, C_in_g, kH, kW = weight.shape
    G = groups
    swapped = weight.reshape(G, C_out // G, C_in_g, kH, kW).transpose(0, 2, 1, 3, 4)
    return swapped.reshape(G * C_in_g, C_out // G, kH, kW)[:, :, ::-1, ::-1]


def transposition_is_cheaper(x_shape: tuple[int, ...], y_shape: tuple[int, ...],
                             kernel_size: Pair, stride: Pair, padding: Pair,
                             dilation: Pair) -> bool:
    """Compute y by ``conv_transpose.conv2d_by_transposition`` rather than im2col (trick 6)?

    The mirror image of ``correlation_is_cheaper``. With stride 1 and padding <=
    d(k-1), a convolution is the transposed convolution of its ``flipped_kernel``:
    ``y = col2im(flipped.T @ x)``. Both ways do the same GEMM flops when the padding
    keeps the size; they differ in the columns they move. im2col copies (read, write)
    C_in*kH*kW*N*H_out*W_out numbers; the transposed form writes C_out*kH*kW*N*H*W from
    the GEMM and col2im adds them (read, read, write). So transposition wins when
    ``1.5 * C_out*H*W <= C_in*H_out*W_out``: layers that narrow the channels, like a
    DenseNet layer's (C_in up to 96, C_out 16). A 1x1 kernel has no windows to overlap,
    and there the fold is a wasted pass (96 -> 48 channels measured 1.4x slower).
    """
    (_, C_in, H, W), (_, C_out, H_out, W_out) = x_shape, y_shape
    if kernel_size == (1, 1) or not has_flipped_form(kernel_size, stride, padding, dilation):
        return False
    return 1.5 * C_out * H * W <= C_in * H_out * W_out


SMALL_KERNEL_MNK = 100 ** 3
"""OpenBLAS (Skylake-X kernels) multiplies an ``M x K`` by a ``K x N`` matrix without
packing them when ``M*N*K`` is at most this."""

PIECE_FLOOR = 4096
"""Products are split only if the pieces can hold at least this many positions; for a
larger weight the pieces would be short and the split measured no faster."""


def pieces(weight_size: int, positions: int) -> list[slice] | None:
    """Split ``range(positions)`` for a product of a ``weight_size``-entry matrix with a
    (.., positions) one, so that each piece stays under ``SMALL_KERNEL_MNK`` (trick 4).

    None when one product is better: the pieces would be shorter than ``PIECE_FLOOR``,
    or one piece already holds every position.

    Example:
        >>> pieces(6 * 25, 15000)                      # LeNet's first layer's weight
        [slice(0, 6666, None), slice(6666, 13332, None), slice(13332, 15000, None)]
        >>> pieces(16 * 150, 15000) is None            # its second layer's: too big
        True
    """
    piece = SMALL_KERNEL_MNK // weight_size
    if piece < PIECE_FLOOR or piece >= positions:
        return None
    return [slice(start, min(start + piece, positions)) for start in range(0, positions, piece)]


def fast_forward(weight_groups: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``Wmat @ cols`` per group; in pieces of positions when the weight is tiny (trick 4).

    Args:
        weight_groups: (G, C_out/G, K).
        cols: (G, K, M) with ``M = N*H_out*W_out``.

    **Shape:** -> (G, C_out/G, M).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> w, cols = rng.normal(size=(1, 2, 3)), rng.normal(size=(1, 3, 9000))
        >>> np.allclose(fast_forward(w, cols), w @ cols)
        True
    """
    parts = pieces(weight_groups[0].size, cols.shape[2])
    if parts is None:
        return matmul(weight_groups, cols)
    y = np.empty((*weight_groups.shape[:2], cols.shape[2]),
                 dtype=np.result_type(weight_groups, cols))
    for part in parts:
        y[:, :, part] = matmul(weight_groups, cols[:, :, part])
    return y


def fast_grad_weight(grad_y_groups: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``grad_Y @ cols.T`` per group, computed as ``(cols @ grad_Y.T).T``; in pieces when
    grad_W is tiny (trick 4).

    The same numbers in the other orientation: the long contraction (over
    ``M = N*H_out*W_out``) then has the big matrix on the left, where OpenBLAS's threads
    stalled far less in our measurements when other processes shared the cores. In
    pieces, the sum over positions is done piece by piece (same sum, another order of
    additions).

    Args:
        grad_y_groups: (G, C_out/G, M) with ``M = N*H_out*W_out``.
        cols: (G, K, M) with ``K = C_in/G*kH*kW``.

    **Shape:** -> (G, C_out/G, K).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> gy, cols = rng.normal(size=(1, 4, 30)), rng.normal(size=(1, 6, 30))
        >>> np.allclose(fast_grad_weight(gy, cols), gy @ cols.transpose(0, 2, 1))
        True
    """
    G, C_out_g, M = grad_y_groups.shape
    parts = pieces(C_out_g * cols.shape[1], M)
    if parts is None:
        return matmul(cols, grad_y_groups.transpose(0, 2, 1)).transpose(0, 2, 1)
    total = np.zeros((G, cols.shape[1], C_out_g), dtype=np.result_type(cols, grad_y_groups))
    for part in parts:
        total += matmul(cols[:, :, part], grad_y_groups[:, :, part].transpose(0, 2, 1))
    return total.transpose(0, 2, 1)
