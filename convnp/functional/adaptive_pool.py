"""Adaptive average pooling: choose the output size, and the windows follow.

Output index ``i`` of an axis of input size ``n`` and output size ``m`` averages the
input window ``[start_i, end_i)`` with PyTorch's boundaries::

    start_i = floor(i * n / m),    end_i = ceil((i + 1) * n / m)

When ``m`` divides ``n`` this is ordinary average pooling with kernel and stride
``n/m``; otherwise the windows have unequal lengths and may overlap by one. ``m = 1``
is global average pooling.

Each axis is a linear map, so pooling one axis is a product with an (m, n) matrix ``P``
whose row ``i`` holds ``1/(end_i - start_i)`` on the window, and a 2-D window is the
product of its two 1-D windows: ``y = P_H x P_W^T`` for each (sample, channel). The
backward pass is the transpose, ``grad_x = P_H^T grad_y P_W``.

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


def adaptive_pool_matrix(n: int, m: int, dtype: np.dtype) -> np.ndarray:
    """The (m, n) averaging matrix of one axis: row i is ``1/len`` on window i, else 0.

    Example:
        >>> adaptive_pool_matrix(3, 2, np.float64)
        array([[0.5, 0.5, 0. ],
               [0. , 0.5, 0.5]])
    """
    p = np.zeros((m, n), dtype=dtype)
    for i, (start, end) in enumerate(adaptive_windows(n, m)):
        p[i, start:end] = 1 / (end - start)
    return p


def adaptive_avg_pool1d_forward(x: np.ndarray, output_size: int) -> tuple[np.ndarray, tuple]:
    """Average (N, C, L) over ``output_size`` adaptive windows per channel.

    **Shape:** (N, C, L) -> (N, C, L_out), ``L_out = output_size``.

    Example:
        >>> y, _ = adaptive_avg_pool1d_forward(np.arange(5.0).reshape(1, 1, 5), 3)
        >>> y
        array([[[0.5, 2. , 3.5]]])
    """
    p = adaptive_pool_matrix(x.shape[-1], output_size, x.dtype)
    return x @ p.T, (p,)


def adaptive_avg_pool1d_backward(grad_y: np.ndarray, cache: tuple) -> np.ndarray:
    """Spread each output gradient evenly over its window.

    **Shape:** grad_y (N, C, L_out) -> grad_x (N, C, L).
    """
    (p,) = cache
    return grad_y @ p


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
    p_h = adaptive_pool_matrix(x.shape[-2], output_size[0], x.dtype)
    p_w = adaptive_pool_matrix(x.shape[-1], output_size[1], x.dtype)
    return p_h @ (x @ p_w.T), (p_h, p_w)


def adaptive_avg_pool2d_backward(grad_y: np.ndarray, cache: tuple) -> np.ndarray:
    """The transpose of the forward map: ``P_H^T grad_y P_W``.

    **Shape:** grad_y (N, C, H_out, W_out) -> grad_x (N, C, H, W).
    """
    p_h, p_w = cache
    return (p_h.T @ grad_y) @ p_w
