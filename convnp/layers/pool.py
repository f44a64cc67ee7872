"""MaxPool1d/2d and AvgPool1d/2d layers: argument checks and the cache around the pool functions.

``_PoolNd`` checks and stores the arguments; each layer's ``forward`` and ``backward``
call its function in ``convnp/functional/pool.py`` directly.
"""

from __future__ import annotations

import numpy as np

from convnp.functional.pool import (
    avg_pool1d_backward,
    avg_pool1d_forward,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool1d_backward,
    max_pool1d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from convnp.functional.shapes import ntuple, pool_output_size
from convnp.layers.module import (
    Module,
    check_grad,
    check_input,
    check_positive,
    check_window_fits,
)
from convnp.validate import check_bool


class _PoolNd(Module):
    """Shared code of the pooling layers; ``n_dims`` is the number of spatial axes."""

    n_dims: int
    is_max: bool

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        name, n = type(self).__name__, self.n_dims
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else ntuple(stride, n, "stride", name)
        self.padding = ntuple(padding, n, "padding", name)
        self.dilation = ntuple(dilation, n, "dilation", name)
        self.ceil_mode = check_bool(name, "ceil_mode", ceil_mode)
        self.count_include_pad = check_bool(name, "count_include_pad", count_include_pad)
        check_positive(self, "kernel_size", "stride", "dilation")
        for k, p in zip(self.kernel_size, self.padding):
            if not 0 <= p <= k // 2:
                raise ValueError(
                    f"{name}: padding must be between 0 and half the kernel size ({k // 2}), "
                    f"got padding={self.padding}"
                )

    def _check(self, x: np.ndarray) -> None:
        """Raise a ValueError naming the layer for a wrong-sized input.

        With ``ceil_mode`` the last window may hang over the end of the padded input (the
        part inside is pooled, as in PyTorch), even when the window is longer than the
        whole padded input; only an output with no window at all is refused.
        """
        check_input(self, x, self.n_dims + 2)
        if not self.ceil_mode:
            check_window_fits(self, x.shape, [(p, p) for p in self.padding])
            return
        sizes = tuple(pool_output_size(*args, ceil_mode=True) for args in zip(
            x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation))
        if min(sizes) < 1:
            raise ValueError(f"{type(self).__name__}: the output would be empty, size {sizes}, "
                             f"for input shape {x.shape} (kernel {self.kernel_size}, padding "
                             f"{self.padding}, ceil_mode=True)")

    def _check_grad(self, grad_y: np.ndarray) -> tuple:
        """Return the forward cache after checking ``grad_y`` against the output shape."""
        cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        return cache

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}"
        if self.stride != self.kernel_size:
            s += f", stride={self.stride}"
        if any(self.padding):
            s += f", padding={self.padding}"
        if self.is_max and self.dilation != (1,) * self.n_dims:
            s += f", dilation={self.dilation}"
        if self.ceil_mode:
            s += ", ceil_mode=True"
        if not self.is_max and not self.count_include_pad:
            s += ", count_include_pad=False"
        return s


class _MaxPoolNd(_PoolNd):
    """The constructor shared by MaxPool1d and MaxPool2d (torch's argument order).

    ``ceil_mode`` is keyword-only: torch's fifth positional argument is ``return_indices``.
    """

    is_max = True

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, *,
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)


class MaxPool2d(_MaxPoolNd):
    """2-D max-pooling, as ``torch.nn.MaxPool2d``: the largest value in each window.

    ``y[n, c, h, w] = max_{i, j} x_pad[n, c, h*sH + i*dH, w*sW + j*dW]`` (padding = -inf).
    The gradient goes to the winner; on ties, to the first maximum in row-major window
    order, as in PyTorch. A dilated window can lie wholly in the padding (kernel 2,
    padding 1, dilation 2 on a 1-pixel input): its output is -inf and it passes no
    gradient, as in PyTorch.

    Args:
        kernel_size: int or (kH, kW).
        stride: int or pair; default ``kernel_size``.
        padding: int or pair, at most half the kernel size (so without dilation no window
            is all padding).
        dilation: int or pair (1 = ordinary window).
        ceil_mode: round the output size up instead of down (keyword-only).

    **Shape:** (N, C, H, W) -> (N, C, H_out, W_out),
    ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1`` (ceil with ceil_mode).

    Example:
        >>> MaxPool2d(2)(np.zeros((1, 6, 28, 32), dtype=np.float32)).shape
        (1, 6, 14, 16)
    """

    n_dims = 2

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pool ``x``: (N, C, H, W) -> (N, C, H_out, W_out)."""
        self._check(x)
        y, cache = max_pool2d_forward(x, self.kernel_size, self.stride, self.padding,
                                       self.dilation, self.ceil_mode)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Return dL/dx. **Shape:** grad_y (N, C, H_out, W_out) -> grad_x (N, C, H, W)."""
        return max_pool2d_backward(grad_y, self._check_grad(grad_y))


class MaxPool1d(_MaxPoolNd):
    """1-D max-pooling over (N, C, L), as ``torch.nn.MaxPool1d``.

    **Shape:** (N, C, L) -> (N, C, L_out), ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``.

    Example:
        >>> MaxPool1d(3, stride=2)(np.zeros((2, 4, 9))).shape
        (2, 4, 4)
    """

    n_dims = 1

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pool ``x``: (N, C, L) -> (N, C, L_out)."""
        self._check(x)
        y, cache = max_pool1d_forward(x, self.kernel_size[0], self.stride[0],
                                       self.padding[0], self.dilation[0], self.ceil_mode)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Return dL/dx. **Shape:** grad_y (N, C, L_out) -> grad_x (N, C, L)."""
        return max_pool1d_backward(grad_y, self._check_grad(grad_y))


class _AvgPoolNd(_PoolNd):
    """The constructor shared by AvgPool1d and AvgPool2d (torch's argument order)."""

    is_max = False

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """2-D average-pooling, as ``torch.nn.AvgPool2d``: the mean of each window.

    ``y[n, c, h, w] = sum_{i, j} x_pad[n, c, h*sH + i, w*sW + j] / divisor[h, w]``, where
    the divisor counts the window's positions inside the zero-padded input
    (``count_include_pad=True``) or inside the input only (``False``).

    Args:
        kernel_size: int or (kH, kW).
        stride: int or pair; default ``kernel_size``.
        padding: int or pair, at most half the kernel size.
        ceil_mode: round the output size up instead of down.
        count_include_pad: count the zero padding in the divisor.

    **Shape:** (N, C, H, W) -> (N, C, H_out, W_out), ``H_out = floor((H + 2pH - kH)/sH) + 1``.

    Example:
        >>> AvgPool2d(2)(np.ones((1, 6, 28, 32))).shape
        (1, 6, 14, 16)
    """

    n_dims = 2

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pool ``x``: (N, C, H, W) -> (N, C, H_out, W_out)."""
        self._check(x)
        y, cache = avg_pool2d_forward(x, self.kernel_size, self.stride, self.padding,
                                       self.ceil_mode, self.count_include_pad)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Return dL/dx. **Shape:** grad_y (N, C, H_out, W_out) -> grad_x (N, C, H, W)."""
        return avg_pool2d_backward(grad_y, self._check_grad(grad_y))


class AvgPool1d(_AvgPoolNd):
    """1-D average-pooling over (N, C, L), as ``torch.nn.AvgPool1d``.

    **Shape:** (N, C, L) -> (N, C, L_out), ``L_out = floor((L + 2p - k)/s) + 1``.

    Example:
        >>> AvgPool1d(2)(np.arange(6.0).reshape(1, 1, 6))
        array([[[0.5, 2.5, 4.5]]])
    """

    n_dims = 1

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pool ``x``: (N, C, L) -> (N, C, L_out)."""
        self._check(x)
        y, cache = avg_pool1d_forward(x, self.kernel_size[0], self.stride[0],
                                       self.padding[0], self.ceil_mode, self.count_include_pad)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Return dL/dx. **Shape:** grad_y (N, C, L_out) -> grad_x (N, C, L)."""
        return avg_pool1d_backward(grad_y, self._check_grad(grad_y))
