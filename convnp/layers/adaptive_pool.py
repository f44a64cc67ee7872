"""AdaptiveAvgPool1d/2d: average pooling to a chosen output size, as in PyTorch.

The windows (``start = floor(i*n/m)``, ``end = ceil((i+1)*n/m)``) and the functions are in
``convnp.functional.adaptive_pool``. ``AdaptiveAvgPool2d(1)`` is global average pooling,
the head of NiN, ResNet and DenseNet: one number per channel, whatever the image size.
"""

from __future__ import annotations

import numpy as np

from convnp.functional.adaptive_pool import (
    adaptive_avg_pool1d_backward,
    adaptive_avg_pool1d_forward,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
)
from convnp.layers.module import Module, check_grad, check_input
from convnp.validate import is_int


def _check_size(layer: Module, size: int | None) -> None:
    if size is not None and not is_int(size):
        raise TypeError(f"{type(layer).__name__}: output_size entries must be ints >= 1 or "
                        f"None, got {layer.output_size!r}")
    if size is not None and size < 1:
        raise ValueError(f"{type(layer).__name__}: output_size entries must be ints >= 1 or "
                         f"None, got {layer.output_size!r}")



def _check_input(layer: Module, x: np.ndarray, ndim: int) -> None:
    """``check_input``, and no empty spatial axis: a window needs at least one value."""
    check_input(layer, x, ndim)
    if min(x.shape[2:]) == 0:
        raise ValueError(f"{type(layer).__name__}: every spatial axis needs at least one "
                         f"value to average, got input of shape {x.shape}")

class AdaptiveAvgPool1d(Module):
    """Average each channel of (N, C, L) over ``output_size`` adaptive windows.

    Output ``i`` averages ``x[..., floor(i*L/L_out) : ceil((i+1)*L/L_out)]``; when
    ``L_out`` divides ``L`` this is ``AvgPool1d(L/L_out)``.

    Args:
        output_size: ``L_out``, an int or a 1-tuple (as PyTorch accepts).

    **Shape:** (N, C, L) -> (N, C, L_out).

    Example:
        >>> AdaptiveAvgPool1d(3)(np.arange(5.0).reshape(1, 1, 5))
        array([[[0.5, 2. , 3.5]]])
    """

    def __init__(self, output_size: int | tuple[int]) -> None:
        super().__init__()
        if isinstance(output_size, (tuple, list)) and len(output_size) == 1:
            output_size = output_size[0]
        self.output_size = output_size
        _check_size(self, output_size)
        if output_size is None:
            raise ValueError("AdaptiveAvgPool1d: output_size must be an int >= 1, got None")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, L) -> (N, C, L_out)."""
        _check_input(self, x, 3)
        y, cache = adaptive_avg_pool1d_forward(x, self.output_size)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """(N, C, L_out) -> (N, C, L): each output's gradient spread evenly over its window."""
        cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        return adaptive_avg_pool1d_backward(grad_y, cache)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """Average each channel of (N, C, H, W) over ``H_out x W_out`` adaptive windows.

    Window ``(i, j)`` is rows ``floor(i*H/H_out) : ceil((i+1)*H/H_out)`` times columns
    ``floor(j*W/W_out) : ceil((j+1)*W/W_out)``. Sizes that do not divide give windows of
    unequal length, overlapping by at most one row or column.

    Args:
        output_size: ``(H_out, W_out)`` (a tuple or a list), or one int for both; ``None``
            in the pair keeps that axis's input size. ``1`` is global average pooling.

    **Shape:** (N, C, H, W) -> (N, C, H_out, W_out).

    Example:
        >>> x = np.arange(24.0).reshape(1, 2, 3, 4)
        >>> AdaptiveAvgPool2d(1)(x).ravel()
        array([ 5.5, 17.5])
        >>> AdaptiveAvgPool2d((2, 3))(x).shape
        (1, 2, 2, 3)
    """

    def __init__(self, output_size: int | tuple[int | None, int | None]) -> None:
        super().__init__()
        if isinstance(output_size, list):
            output_size = tuple(output_size)
        self.output_size = output_size
        sizes = (output_size, output_size) if not isinstance(output_size, tuple) else output_size
        if isinstance(output_size, str):
            raise TypeError(f"AdaptiveAvgPool2d: output_size must be an int or a pair, got "
                            f"{output_size!r}")
        if len(sizes) != 2:
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be an int or a pair, got "
                             f"{output_size!r}")
        for size in sizes:
            _check_size(self, size)
        if sizes[0] is None and not isinstance(output_size, tuple):
            raise ValueError("AdaptiveAvgPool2d: output_size must be an int >= 1 or a pair, "
                             "got None")
        self._sizes = sizes

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, H, W) -> (N, C, H_out, W_out)."""
        _check_input(self, x, 4)
        out = tuple(n if m is None else m for n, m in zip(x.shape[2:], self._sizes))
        y, cache = adaptive_avg_pool2d_forward(x, out)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """(N, C, H_out, W_out) -> (N, C, H, W): the transpose of the window averages."""
        cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        return adaptive_avg_pool2d_backward(grad_y, cache)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
