"""Adaptive average pooling: choose the output size, and the windows follow.

Output index ``i`` of an axis of input size ``n`` and output size ``m`` averages the
input window ``[start_i, end_i)`` with PyTorch's boundaries::

    start_i = floor(i * n / m),    end_i = ceil((i + 1) * n / m)

When ``m`` divides ``n`` this is ordinary average pooling with kernel and stride
``n/m``; otherwise the windows have unequal lengths and may overlap by one. ``m = 1``
is global average pooling.

The 2-D windows are rectangles, so a 2-D pool is two 1-D pools: average each row's
windows along W, then each column's along H. The backward pass spreads each output's
gradient evenly over its window, axis by axis in reverse. (Each axis is also a product
with an (m, n) averaging matrix, but there ``0 * inf = nan`` would carry a non-finite
input into every window; summing the windows themselves keeps it in its own, as PyTorch does.)

Axis legend: ``N`` batch, ``C`` channels, ``H, W`` (or ``L``) input size,
``H_out, W_out`` (or ``L_out``) output size.
"""

from __future__ import annotations

import numpy as np


def adaptive_windows(n: int, m: int) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each of the ``m`` windows over an axis of size ``n``.

    Example:
        >>> adaptive_windows(5, 3)
        [(0, 2), (1, 4), (3, 5)]
    """
    return [((i * n) // m, -((-(i + 1) * n) // m)) for i in range(m)]


def pool_last_axis(x: np.ndarray, output_size: int) -> np.ndarray:
    """Average the last axis of ``x`` over its ``output_size`` adaptive windows.

    Each window is summed column by column, every add running over all the other axes.

    Args:
        x: the input; its last axis is pooled.
        output_size: how many windows (outputs) along that axis.

    **Shape:** (*, n) -> (*, output_size).

    Example:
        >>> pool_last_axis(np.array([1.0, np.inf, 3.0, 4.0]), 2)   # inf stays in its window
        array([inf, 3.5])
    """
    # Not x[..., start:end].mean(-1), which reduces runs of a few numbers one run at a
    # time: a (64, 64, 7, 7) map pooled to 3x3 took 2.3 ms that way against 0.44 ms.
    y = np.empty(x.shape[:-1] + (output_size,), dtype=x.dtype)
    for i, (start, end) in enumerate(adaptive_windows(x.shape[-1], output_size)):
        total = y[..., i]  # a view: the window's sum is built in place
        total[...] = x[..., start]
        for k in range(start + 1, end):
            total += x[..., k]
        total /= end - start
    return y


def pool_last_axis_backward(grad_y: np.ndarray, n: int) -> np.ndarray:
    """Spread each output gradient evenly over its window of the last axis, of size ``n``.

    Args:
        grad_y: dL/dy; its last axis holds the windows' gradients.
        n: the pooled axis's input size.

    **Shape:** (*, output_size) -> (*, n).

    Example:
        >>> pool_last_axis_backward(np.array([1.0, 2.0]), 3)   # windows [0, 2) and [1, 3)
        array([0.5, 1.5, 1. ])
    """
    grad_x = np.zeros(grad_y.shape[:-1] + (n,), dtype=np.result_type(grad_y, 1.0))
    for i, (start, end) in enumerate(adaptive_windows(n, grad_y.shape[-1])):
        share = grad_y[..., i] / (end - start)
        for k in range(start, end):
            grad_x[..., k] += share
    return grad_x


def adaptive_avg_pool1d_forward(x: np.ndarray, output_size: int) -> tuple[np.ndarray, tuple]:
    """Average (N, C, L) over ``output_size`` adaptive windows per channel.

    **Shape:** (N, C, L) -> (N, C, L_out), ``L_out = output_size``.

    Example:
        >>> y, _ = adaptive_avg_pool1d_forward(np.arange(5.0).reshape(1, 1, 5), 3)
        >>> y
        array([[[0.5, 2. , 3.5]]])
    """
    return pool_last_axis(x, output_size), (x.shape[-1],)


def adaptive_avg_pool1d_backward(grad_y: np.ndarray, cache: tuple) -> np.ndarray:
    """Spread each output gradient evenly over its window.

    **Shape:** grad_y (N, C, L_out) -> grad_x (N, C, L).
    """
    (L,) = cache
    return pool_last_axis_backward(grad_y, L)


def adaptive_avg_pool2d_forward(x: np.ndarray, output_size: tuple[int, int]
                                ) -> tuple[np.ndarray, tuple]:
    """Average (N, C, H, W) over ``H_out x W_out`` adaptive windows per channel.

    **Shape:** (N, C, H, W) -> (N, C, H_out, W_out), ``(H_out, W_out) = output_size``.

    Example:
        >>> x = np.arange(6.0).reshape(1, 1, 2, 3)
        >>> y, _ = adaptive_avg_pool2d_forward(x, (1, 2))
        >>> y
        array([[[[2., 3.]]]])
    """
    H_out, W_out = output_size
    rows = pool_last_axis(x, W_out)                                 # (N, C, H, W_out)
    y = pool_last_axis(rows.swapaxes(-1, -2), H_out).swapaxes(-1, -2)
    return y, x.shape[-2:]


def adaptive_avg_pool2d_backward(grad_y: np.ndarray, cache: tuple) -> np.ndarray:
    """Spread each output gradient evenly over its window: along H, then along W.

    **Shape:** grad_y (N, C, H_out, W_out) -> grad_x (N, C, H, W).
    """
    H, W = cache
    grad_rows = pool_last_axis_backward(grad_y.swapaxes(-1, -2), H).swapaxes(-1, -2)
    return pool_last_axis_backward(grad_rows, W)
