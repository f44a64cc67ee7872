"""Max- and average-pooling forward and backward, vectorised over the kernel offsets.

Axis names as in ``columns.py``. Like im2col, pooling loops over the ``kH*kW`` kernel
offsets only; ``x_padded[window]`` is the (C, N, H_out, W_out) array of input pixels
under offset ``(i, j)`` for every output position.

Max-pooling keeps a running maximum (``np.maximum`` over the offsets; padding is
-inf). Backward finds the winners again by comparing each offset's pixels with the
kept output. Ties go to the *first* maximum in window order (row by row), as in
PyTorch: once an output's gradient is routed, that output is crossed out so a later
equal pixel doesn't win too. Backward pads with NaN, which equals nothing, so a padded
position never wins.

Average-pooling sums the window and divides by ``divisor[h, w]``: the number of
positions counted in that window. PyTorch counts the zero padding
(``count_include_pad=True``) but never the extra positions that ``ceil_mode`` adds at
the end; with ``count_include_pad=False`` it counts only real input pixels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convnp.functional._ufunc_buffers import small_ufunc_buffers
from convnp.functional.columns import full_in_order, memory_order, pad_cnhw, window_slices
from convnp.functional.shapes import (
    Pair,
    as_2d,
    check_cache,
    check_grad,
    drop_height,
    lift_1d,
    pool_output_size,
    window_args,
)
from convnp.validate import check_bool


class PoolCache(NamedTuple):
    """What the pooling backward functions need from the forward pass."""

    x_shape: tuple[int, int, int, int]
    kernel_size: Pair
    stride: Pair
    dilation: Pair
    pads: tuple[Pair, Pair]
    x: np.ndarray | None  # max: the input (a reference, not a copy)
    y: np.ndarray | None  # max: the output, (C, N, H_out, W_out)
    divisor: np.ndarray | None  # avg: window count per output, (H_out, W_out)
    order: tuple[int, ...]  # memory_order of the padded (C, N, H, W) input
    y_shape: tuple[int, int, int, int]  # the output's: backward checks grad_y against it


def _pads(x_shape: tuple[int, ...], kernel_size: Pair, stride: Pair, padding: Pair,
          dilation: Pair, ceil_mode: bool) -> tuple[Pair, tuple[Pair, Pair]]:
    """Output size and ``((top, bottom), (left, right))`` padding, incl. the ceil_mode overhang."""
    out, pads = [], []
    for n, k, s, p, d in zip(x_shape[2:], kernel_size, stride, padding, dilation):
        n_out = pool_output_size(n, k, s, p, d, ceil_mode)
        last = (n_out - 1) * s + d * (k - 1) + 1  # padded length the windows reach
        out.append(n_out)
        pads.append((p, max(p, last - n - p)))
    return (out[0], out[1]), (pads[0], pads[1])


def max_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair | None = None,
                       padding: Pair = (0, 0), dilation: Pair = (1, 1), ceil_mode: bool = False
                       ) -> tuple[np.ndarray, PoolCache]:
    """2-D max-pooling: the largest value in each window.

    Args:
        x: (N, C, H, W).
        kernel_size, stride, padding, dilation: ``(H, W)`` pairs (or ints); stride None
            means kernel_size; padding at most half the kernel size, as in PyTorch.
        ceil_mode: round the output size up (PyTorch semantics).

    Returns:
        ``(y, cache)`` with y of shape (N, C, H_out, W_out).

    **Shape:** ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1`` (ceil with ceil_mode).

    Example:
        >>> x = np.array([[[[1.0, 5, 2, 0], [3, 4, 8, 1]]]])
        >>> max_pool2d_forward(x, (2, 2), (2, 2))[0]
        array([[[[5., 8.]]]])
    """
    kernel_size, stride, padding, dilation = window_args(
        "max_pool2d_forward", x, 2, kernel_size, stride, padding, dilation, ceil_mode)
    out_size, pads = _pads(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    xp = pad_cnhw(x, pads, fill=-np.inf)
    windows = [window for _, _, window in window_slices(kernel_size, stride, dilation, out_size)]
    y = xp[windows[0]].copy(order="K")  # stored like x, so the passes run along memory
    for window in windows[1:]:
        # One vectorised pass per offset; recording the winner here (an argmax) would
        # cost two more passes, and backward can find it again from y.
        np.maximum(y, xp[window], out=y)
    cache = PoolCache(x.shape, kernel_size, stride, dilation, pads, x, y, None,
                      memory_order(xp), (x.shape[0], x.shape[1], *out_size))
    return y.transpose(1, 0, 2, 3), cache


def max_pool2d_backward(grad_y: np.ndarray, cache: PoolCache) -> np.ndarray:
    """Route each output gradient to the input pixel that won its window.

    Args:
        grad_y: (N, C, H_out, W_out).

    Returns:
        grad_x: (N, C, H, W); zero except at the winners.
    """
    check_pool_backward("max_pool2d_backward", grad_y, cache, is_max=True)
    x_shape, kernel_size, stride, dilation, pads, x, y, _, _, _ = cache
    # Every array below is stored like y (and x), so each pass runs along memory: a
    # grad_y stored in another order is copied once here, not re-read out of order per
    # offset. With the in-place passes, backward took 3-4x less time on LeNet's pools.
    gy = np.empty_like(y, dtype=grad_y.dtype)
    gy[...] = grad_y.transpose(1, 0, 2, 3)
    xp = pad_cnhw(x, pads, fill=np.nan)
    grad_xp = np.zeros_like(xp, dtype=grad_y.dtype)
    overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(kernel_size, stride, dilation))
    unrouted = np.ones_like(y, dtype=bool)  # outputs whose gradient has no winner yet
    won = np.empty_like(y, dtype=bool)
    for _, _, window in window_slices(kernel_size, stride, dilation, y.shape[2:]):
        np.equal(xp[window], y, out=won)
        won &= unrouted  # on a tie, only the first maximum wins
        unrouted ^= won  # won is a subset of unrouted: this crosses the winners out
        # gy * won (0/1 mask) into a temporary, then one strided copy, is ~4x faster than
        # np.copyto(grad_xp[window], gy, where=won) (and equal unless gy holds inf/NaN).
        if overlap:
            grad_xp[window] += gy * won
        else:  # windows that do not overlap write disjoint pixels: no need to add
            grad_xp[window] = gy * won
    return _unpad(grad_xp, x_shape, pads)


def avg_pool2d_forward(x: np.ndarray, kernel_size: Pair, stride: Pair | None = None,
                       padding: Pair = (0, 0), ceil_mode: bool = False,
                       count_include_pad: bool = True) -> tuple[np.ndarray, PoolCache]:
    """2-D average-pooling: the mean of each window.

    Args:
        x: (N, C, H, W).
        kernel_size, stride, padding: ``(H, W)`` pairs (or ints); stride None means
            kernel_size; padding at most half the kernel size, as in PyTorch.
        ceil_mode: round the output size up (PyTorch semantics).
        count_include_pad: count the zero padding in the divisor.

    Returns:
        ``(y, cache)`` with y of shape (N, C, H_out, W_out).

    **Shape:** ``H_out = floor((H + 2pH - kH)/sH) + 1`` (ceil with ceil_mode).

    Example:
        >>> x = np.array([[[[1.0, 5, 2, 0], [3, 4, 8, 1]]]])
        >>> avg_pool2d_forward(x, (2, 2), (2, 2))[0]
        array([[[[3.25, 2.75]]]])
    """
    kernel_size, stride, padding, dilation = window_args(
        "avg_pool2d_forward", x, 2, kernel_size, stride, padding, 1, ceil_mode)
    check_bool("avg_pool2d_forward", "count_include_pad", count_include_pad)
    out_size, pads = _pads(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    xp = pad_cnhw(x, pads)
    windows = [window for _, _, window in window_slices(kernel_size, stride, dilation, out_size)]
    # A float copy of the first window (integers give float64), stored like x so that the
    # passes run along memory; the other windows are added to it in place.
    y = xp[windows[0]].astype(np.result_type(x, 1.0), order="K")
    for window in windows[1:]:
        y += xp[window]
    divisor = _divisor(x.shape, kernel_size, stride, padding, pads, out_size,
                       count_include_pad).astype(y.dtype)
    y /= divisor
    cache = PoolCache(x.shape, kernel_size, stride, dilation, pads, None, None, divisor,
                      memory_order(xp), (x.shape[0], x.shape[1], *out_size))
    return y.transpose(1, 0, 2, 3), cache


def avg_pool2d_backward(grad_y: np.ndarray, cache: PoolCache) -> np.ndarray:
    """Spread each output gradient evenly (``/ divisor``) over its window.

    Args:
        grad_y: (N, C, H_out, W_out).

    Returns:
        grad_x: (N, C, H, W).
    """
    check_pool_backward("avg_pool2d_backward", grad_y, cache, is_max=False)
    x_shape, kernel_size, stride, dilation, pads, _, _, divisor, order, _ = cache
    # share and grad_xp are stored like x, so that every += runs along memory.
    share = full_in_order((x_shape[1], x_shape[0], *divisor.shape), order, 0, grad_y.dtype)
    np.divide(grad_y.transpose(1, 0, 2, 3), divisor, out=share)
    (top, bottom), (left, right) = pads
    padded = (x_shape[1], x_shape[0], x_shape[2] + top + bottom, x_shape[3] + left + right)
    grad_xp = full_in_order(padded, order, 0, grad_y.dtype)
    with small_ufunc_buffers():  # strided += (trick 5 of _fast.py)
        for _, _, window in window_slices(kernel_size, stride, dilation, divisor.shape):
            grad_xp[window] += share
    return _unpad(grad_xp, x_shape, pads)


def check_pool_backward(caller: str, grad_y: np.ndarray, cache: PoolCache, is_max: bool,
                        n_dims: int = 2) -> None:
    """TypeError unless ``cache`` came from the matching forward; ValueError unless
    ``grad_y`` has the shape of that forward's output."""
    made_by = f"{'max' if is_max else 'avg'}_pool{n_dims}d_forward"
    check_cache(caller, cache, PoolCache, made_by)
    if (cache.y is not None) != is_max:
        raise TypeError(f"{caller}: cache must be the cache that {made_by} returned, got "
                        f"that of {'average' if is_max else 'max'}-pooling")
    check_grad(caller, grad_y, cache.y_shape if n_dims == 2 else drop_height(cache.y_shape))


def _divisor(x_shape: tuple[int, ...], kernel_size: Pair, stride: Pair, padding: Pair,
             pads: tuple[Pair, Pair], out_size: Pair, count_include_pad: bool) -> np.ndarray:
    """Count, per output position, the window positions that the average divides by.

    Separable: count along H times count along W. Along one axis, ``counted`` marks the
    padded positions that count (the padding too, or only the real input); the count
    for output ``h`` is the number of marked positions its window covers.
    """
    counts = []
    for n, k, s, p, (before, after), n_out in zip(x_shape[2:], kernel_size, stride, padding,
                                                  pads, out_size):
        counted = np.zeros(before + n + after)
        if count_include_pad:
            counted[:n + 2 * p] = 1
        else:
            counted[before:before + n] = 1
        count = np.zeros(n_out)
        for i in range(k):
            count += counted[i:i + s * (n_out - 1) + 1:s]
        counts.append(count)
    return counts[0][:, None] * counts[1][None, :]


def _unpad(grad_xp: np.ndarray, x_shape: tuple[int, ...], pads: tuple[Pair, Pair]
           ) -> np.ndarray:
    """Drop the padding of a (C, N, Hp, Wp) gradient; return it as an (N, C, H, W) view."""
    H, W = x_shape[2:]
    (top, _), (left, _) = pads
    return grad_xp[:, :, top:top + H, left:left + W].transpose(1, 0, 2, 3)


def max_pool1d_forward(x: np.ndarray, kernel_size: int, stride: int | None = None,
                       padding: int = 0, dilation: int = 1, ceil_mode: bool = False
                       ) -> tuple[np.ndarray, PoolCache]:
    """1-D max-pooling: x (N, C, L) -> (N, C, L_out), a 2-D pool with a window of height 1.

    **Shape:** ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1`` (ceil with ceil_mode).
    """
    args = window_args("max_pool1d_forward", x, 1, kernel_size, stride, padding, dilation,
                       ceil_mode)
    y, cache = max_pool2d_forward(as_2d(x), *lift_1d(*args), ceil_mode)
    return y[:, :, 0, :], cache


def max_pool1d_backward(grad_y: np.ndarray, cache: PoolCache) -> np.ndarray:
    """grad_y (N, C, L_out) -> grad_x (N, C, L)."""
    check_pool_backward("max_pool1d_backward", grad_y, cache, is_max=True, n_dims=1)
    return max_pool2d_backward(as_2d(grad_y), cache)[:, :, 0, :]


def avg_pool1d_forward(x: np.ndarray, kernel_size: int, stride: int | None = None,
                       padding: int = 0, ceil_mode: bool = False,
                       count_include_pad: bool = True) -> tuple[np.ndarray, PoolCache]:
    """1-D average-pooling: x (N, C, L) -> (N, C, L_out).

    **Shape:** ``L_out = floor((L + 2p - k)/s) + 1`` (ceil with ceil_mode).
    """
    k, s, p, _ = lift_1d(*window_args("avg_pool1d_forward", x, 1, kernel_size, stride, padding,
                                      1, ceil_mode))
    y, cache = avg_pool2d_forward(as_2d(x), k, s, p, ceil_mode, count_include_pad)
    return y[:, :, 0, :], cache


def avg_pool1d_backward(grad_y: np.ndarray, cache: PoolCache) -> np.ndarray:
    """grad_y (N, C, L_out) -> grad_x (N, C, L)."""
    check_pool_backward("avg_pool1d_backward", grad_y, cache, is_max=False, n_dims=1)
    return avg_pool2d_backward(as_2d(grad_y), cache)[:, :, 0, :]
