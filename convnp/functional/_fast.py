"""Faster ways to compute what ``columns.py`` and ``conv.py`` compute plainly.

Read the plain versions first: ``columns.im2col``/``col2im`` and the matrix products in
``conv.py``. Each function here returns exactly what its plain counterpart returns (the
tests check it, ``tests/test_fast.py``); only the order of memory traffic differs. The
convolution layers use these by default. The measurements behind each choice are in
``docs/performance.md`` and come from ``benchmarks/conv_bench.py``.

1. Two passes for short rows (``im2col``, ``col2im``). A strided copy costs a fixed
   amount per row on top of the numbers it moves. When output rows are short (small
   images, ``W_out < 16``) and the stride along H is 1, copying the kW column shifts
   first and then the kH row shifts copies runs of ``H_out*W_out`` numbers instead of
   ``W_out``.
2. dL/dx as a correlation (``conv2d_grad_x``). With stride 1, dL/dx is the
   convolution of grad_y, zero-padded by ``d(k-1) - p``, with the kernel flipped and
   its in/out channels swapped. It replaces col2im's scattered ``+=`` with im2col's
   plain copy, which moves less memory when the layer has about as many output as
   input channels.
3. Small products on one BLAS thread when the machine is busy (``matmul``). When another
   program keeps a core busy, OpenBLAS's second thread spin-waits for that core and
   makes LeNet-sized products several times slower; on a quiet machine it makes them
   faster. So while other programs use more than half a core (``_cpu_load.py``),
   products under ``SMALL_PRODUCT_FLOPS`` run on one thread; larger ones, and every
   product on a quiet machine, keep every thread the user allows. The thread count is
   restored after each product; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from convnp.functional._cpu_load import others_busy
from convnp.functional.columns import col2im, im2col, pad_cnhw
from convnp.functional.shapes import Pair, conv_output_size


def short_rows(kernel_size: Pair, stride: Pair, W_out: int) -> bool:
    """Use the two-pass copy? For rows under 16 numbers, stride 1 in H and kH > 1."""
    return W_out < 16 and stride[0] == 1 and kernel_size[0] > 1


def fast_im2col(x: np.ndarray, kernel_size: Pair, stride: Pair = (1, 1),
                padding: Pair = (0, 0), dilation: Pair = (1, 1)) -> np.ndarray:
    """``columns.im2col(x, ...)``, copied in two passes when rows are short.

    Pass 1, a loop over the kW kernel columns, takes every padded row at once::

        rows[c, j, n, r, w] = x_padded[c, n, r, w*sW + j*dW]     (C, kW, N, H_padded, W_out)

    Pass 2, with stride 1 in H: ``cols[c, i, j, n, h, w] = rows[c, j, n, h + i*dH, w]``,
    one block copy of ``rows[:, :, :, i*dH : i*dH + H_out]`` per kernel row i.

    **Shape:** (N, C, H, W) -> (C, kH, kW, N, H_out, W_out), as ``im2col``.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(2, 3, 7, 9))
        >>> np.array_equal(fast_im2col(x, (3, 2)), im2col(x, (3, 2)))
        True
    """
    N, C, H, W = x.shape
    (kH, kW), (_, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    H_out = conv_output_size(H, kH, stride[0], pH, dH)
    W_out = conv_output_size(W, kW, sW, pW, dW)
    if not short_rows(kernel_size, stride, W_out):
        return im2col(x, kernel_size, stride, padding, dilation)
    xp = pad_cnhw(x, ((pH, pH), (pW, pW)))
    rows = np.empty((C, kW, N, xp.shape[2], W_out), dtype=x.dtype)
    for j in range(kW):
        rows[:, j] = xp[:, :, :, j * dW:j * dW + sW * (W_out - 1) + 1:sW]
    cols = np.empty((C, kH, kW, N, H_out, W_out), dtype=x.dtype)
    for i in range(kH):
        cols[:, i] = rows[:, :, :, i * dH:i * dH + H_out]
    return cols


def fast_col2im(cols: np.ndarray, x_shape: tuple[int, int, int, int], kernel_size: Pair,
                stride: Pair = (1, 1), padding: Pair = (0, 0),
                dilation: Pair = (1, 1)) -> np.ndarray:
    """``columns.col2im(cols, ...)``: ``fast_im2col``'s two passes backwards, with ``+=``.

    **Shape:** (C, kH, kW, N, H_out, W_out) -> (N, C, H, W), as ``col2im``.

    Example:
        >>> cols = np.random.default_rng(0).normal(size=(3, 3, 2, 2, 5, 8))
        >>> np.allclose(fast_col2im(cols, (2, 3, 7, 9), (3, 2)), col2im(cols, (2, 3, 7, 9), (3, 2)))
        True
    """
    N, C, H, W = x_shape
    (kH, kW), (_, sW), (pH, pW), (dH, dW) = kernel_size, stride, padding, dilation
    H_out, W_out = cols.shape[4:]
    if not short_rows(kernel_size, stride, W_out):
        return col2im(cols, x_shape, kernel_size, stride, padding, dilation)
    grad_xp = np.zeros((C, N, H + 2 * pH, W + 2 * pW), dtype=cols.dtype)
    rows = np.zeros((C, kW, N, grad_xp.shape[2], W_out), dtype=cols.dtype)
    for i in range(kH):
        rows[:, :, :, i * dH:i * dH + H_out] += cols[:, i]
    for j in range(kW):
        grad_xp[:, :, :, j * dW:j * dW + sW * (W_out - 1) + 1:sW] += rows[:, j]
    return grad_xp[:, :, pH:pH + H, pW:pW + W].transpose(1, 0, 2, 3)


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
    if stride != (1, 1) or any(p > d * (k - 1) for p, d, k in zip(padding, dilation,
                                                                    kernel_size)):
        return False
    return C_out * H * W <= 1.5 * C_in * H_out * W_out


def conv2d_grad_x_by_correlation(grad_y: np.ndarray, weight: np.ndarray, padding: Pair,
                                 dilation: Pair, groups: int) -> np.ndarray:
    """dL/dx of a stride-1 convolution as a "full" correlation of grad_y with the kernel.

    Input pixel ``u`` (one axis) meets tap ``i`` in output ``u + p - i*d``, so
    ``grad_x[u] = sum_i weight[i] * grad_y[u + p - i*d]``. With ``i' = k-1-i`` that is
    a correlation (as in the forward pass) of grad_y, zero-padded by ``d(k-1) - p``, with
    the kernel flipped in H and W and its in/out channels swapped (within each group).

    Args:
        grad_y: (N, C_out, H_out, W_out).
        weight: (C_out, C_in/G, kH, kW).
        padding, dilation: of the forward convolution (stride 1).
        groups: G.

    **Shape:** grad_y (N, C_out, H_out, W_out) -> grad_x (N, C_in, H, W), a view of a
    (C_in, N, H, W)-ordered array.
    """
    C_out, C_in_g, kH, kW = weight.shape
    (pH, pW), (dH, dW), G = padding, dilation, groups
    cols = fast_im2col(grad_y, (kH, kW), (1, 1), (dH * (kH - 1) - pH, dW * (kW - 1) - pW),
                       dilation)
    N, H, W = cols.shape[3:]  # (C_out, kH, kW, N, H, W): output size = input size
    cols = cols.reshape(G, C_out // G * kH * kW, N * H * W)
    flipped = weight[:, :, ::-1, ::-1].reshape(G, C_out // G, C_in_g, kH, kW)
    w = flipped.transpose(0, 2, 1, 3, 4).reshape(G, C_in_g, C_out // G * kH * kW)
    return matmul(w, cols).reshape(G * C_in_g, N, H, W).transpose(1, 0, 2, 3)


def fast_grad_weight(grad_y_groups: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``grad_Y @ cols.T`` per group, computed as ``(cols @ grad_Y.T).T``.

    The same numbers in the other orientation: the long contraction (over
    ``N*H_out*W_out``) then has the big matrix on the left, where OpenBLAS's threads
    stall far less when other processes share the cores.

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
    return matmul(cols, grad_y_groups.transpose(0, 2, 1)).transpose(0, 2, 1)


SMALL_PRODUCT_FLOPS = 1e8
"""Products below this many flops (``2*M*K*N``) run on one BLAS thread when the machine
is busy; see ``matmul``."""


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)``, on one BLAS thread when the product is small and other
    programs keep a core busy (``_cpu_load.others_busy``).

    **Shape:** (..., M, K) @ (..., K, N) -> (..., M, N), as ``np.matmul``.

    Example:
        >>> a, b = np.ones((2, 3, 4)), np.ones((2, 4, 5))
        >>> np.array_equal(matmul(a, b), np.matmul(a, b))
        True
    """
    if 2 * a.size * b.shape[-1] >= SMALL_PRODUCT_FLOPS or not others_busy():
        return np.matmul(a, b)
    with one_blas_thread():
        return np.matmul(a, b)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with every BLAS library on one thread, then restore its thread count.

    Uses ``threadpoolctl`` to reach the BLAS library NumPy loaded. The libraries are looked
    up once, on first use, and kept in ``_BLAS``.
    """
    libraries = _blas_libraries()
    saved = [lib.get_num_threads() for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libraries, saved):
            lib.set_num_threads(n)


_BLAS: list | None = None


def _blas_libraries() -> list:
    """The threadpoolctl controllers of the loaded BLAS libraries, found on first use."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas").lib_controllers
    return _BLAS
