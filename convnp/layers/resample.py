"""Resampling layers: CMU-style Upsample1d/2d and Downsample1d/2d, and PyTorch-style Upsample.

``Upsample1d/2d`` insert zeros between samples and ``Downsample1d/2d`` keep every k-th
sample, as in the CMU 11-785 homework, where they turn strided operations into stride-1
ones plus resampling (see ``docs/decompositions.md``). ``Upsample`` is PyTorch's
nearest-neighbour ``nn.Upsample``. The functions are in ``convnp/functional/resample.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convnp.functional.resample import (
    downsample_backward,
    downsample_forward,
    resample_factor,
    upsample_nearest_backward,
    upsample_nearest_forward,
    upsample_zeros_backward,
    upsample_zeros_forward,
)
from convnp.layers.module import Module, check_grad, check_input


class _UpsampleZerosNd(Module):
    """Shared code of Upsample1d and Upsample2d; ``n_dims`` is the number of spatial axes."""

    n_dims = 1

    def __init__(self, upsampling_factor: int | Sequence[int]) -> None:
        super().__init__()
        self.upsampling_factor = resample_factor(upsampling_factor, self.n_dims,
                                                 "upsampling_factor", type(self).__name__)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, L) -> (N, C, k(L-1)+1), or (N, C, H, W) -> (N, C, kH(H-1)+1, kW(W-1)+1).

        An empty spatial axis stays empty (L = 0 gives L_out = 0).
        """
        check_input(self, x, self.n_dims + 2)
        y = upsample_zeros_forward(x, self.upsampling_factor)
        self._save(y.shape)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Keep every k-th gradient: shaped like the output in, like the input out."""
        check_grad(self, grad_y, self._saved())
        return upsample_zeros_backward(grad_y, self.upsampling_factor)

    def extra_repr(self) -> str:
        return f"upsampling_factor={self.upsampling_factor}"


class Upsample1d(_UpsampleZerosNd):
    """Insert ``k-1`` zeros between neighbouring samples (CMU 11-785 ``Upsample1d``).

    ``y[n, c, k*i] = x[n, c, i]``, zero elsewhere. Backward keeps every k-th gradient.
    Followed by a stride-1 convolution this gives a transposed convolution.

    Args:
        upsampling_factor: k >= 1 (an int).

    **Shape:** (N, C, L) -> (N, C, L_out), ``L_out = k(L-1) + 1`` (0 if L = 0).

    Example:
        >>> Upsample1d(2)(np.array([[[1.0, 2, 3]]]))
        array([[[1., 0., 2., 0., 3.]]])
    """

    n_dims = 1


class Upsample2d(_UpsampleZerosNd):
    """Insert ``k-1`` zero rows and columns between neighbouring pixels (CMU ``Upsample2d``).

    ``y[n, c, kH*i, kW*j] = x[n, c, i, j]``, zero elsewhere. Backward keeps every
    (kH, kW)-th gradient.

    Args:
        upsampling_factor: k >= 1, an int or an ``(kH, kW)`` pair.

    **Shape:** (N, C, H, W) -> (N, C, H_out, W_out), ``H_out = kH(H-1) + 1``,
    ``W_out = kW(W-1) + 1``.

    Example:
        >>> Upsample2d(2)(np.ones((1, 1, 2, 3)))[0, 0]
        array([[1., 0., 1., 0., 1.],
               [0., 0., 0., 0., 0.],
               [1., 0., 1., 0., 1.]])
    """

    n_dims = 2


class _DownsampleNd(Module):
    """Shared code of Downsample1d and Downsample2d."""

    n_dims = 1

    def __init__(self, downsampling_factor: int | Sequence[int]) -> None:
        super().__init__()
        self.downsampling_factor = resample_factor(downsampling_factor, self.n_dims,
                                                   "downsampling_factor", type(self).__name__)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, L) -> (N, C, ceil(L/k)), or (N, C, H, W) -> (N, C, ceil(H/kH), ceil(W/kW))."""
        check_input(self, x, self.n_dims + 2)
        y = downsample_forward(x, self.downsampling_factor)
        self._save((x.shape, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Scatter the gradient into zeros of the input's size, at every k-th position."""
        x_shape, y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        return downsample_backward(grad_y, self.downsampling_factor, x_shape[2:])

    def extra_repr(self) -> str:
        return f"downsampling_factor={self.downsampling_factor}"


class Downsample1d(_DownsampleNd):
    """Keep every k-th sample, starting with the first (CMU 11-785 ``Downsample1d``).

    ``y = x[..., ::k]``. Backward writes the gradient to those positions of a zero array
    of the input's length (which need not be a multiple of k).
    A stride-1 convolution followed by ``Downsample1d(s)`` is a stride-s convolution.

    Args:
        downsampling_factor: k >= 1 (an int).

    **Shape:** (N, C, L) -> (N, C, L_out), ``L_out = ceil(L/k)``.

    Example:
        >>> Downsample1d(2)(np.arange(5.0).reshape(1, 1, 5))
        array([[[0., 2., 4.]]])
    """

    n_dims = 1


class Downsample2d(_DownsampleNd):
    """Keep every k-th row and column, starting with the first (CMU ``Downsample2d``).

    ``y = x[..., ::kH, ::kW]``. Backward scatters the gradient into zeros of the input's
    size.

    Args:
        downsampling_factor: k >= 1, an int or an ``(kH, kW)`` pair.

    **Shape:** (N, C, H, W) -> (N, C, H_out, W_out), ``H_out = ceil(H/kH)``,
    ``W_out = ceil(W/kW)``.

    Example:
        >>> Downsample2d(2)(np.arange(15.0).reshape(1, 1, 3, 5))[0, 0]
        array([[ 0.,  2.,  4.],
               [10., 12., 14.]])
    """

    n_dims = 2


class Upsample(Module):
    """Nearest-neighbour upsampling by integer factors, as ``torch.nn.Upsample(mode='nearest')``.

    ``y[..., i] = x[..., i // k]`` along each spatial axis: every pixel becomes a
    ``kH x kW`` block. Backward sums each block's gradients. Takes (N, C, L) or
    (N, C, H, W) input.

    Unlike PyTorch, whose first positional argument is ``size``, the first argument here
    is ``scale_factor`` (and ``size`` is not supported); write ``scale_factor=`` for code
    that runs under both.

    Args:
        scale_factor: an int, or ``(kH, kW)`` for 2-D input (``(k,)`` for 1-D). Whole
            floats such as ``2.0`` are accepted; other floats are not.
        mode: only ``'nearest'``.

    **Shape:** (N, C, L) -> (N, C, k*L); (N, C, H, W) -> (N, C, kH*H, kW*W).

    Example:
        >>> Upsample(scale_factor=(1, 2))(np.array([[[[1.0, 2], [3, 4]]]]))[0, 0]
        array([[1., 1., 2., 2.],
               [3., 3., 4., 4.]])
    """

    def __init__(self, scale_factor: int | Sequence[int], mode: str = "nearest") -> None:
        super().__init__()
        if not isinstance(mode, str) or mode != "nearest":
            error = ValueError if isinstance(mode, str) else TypeError
            raise error(f"Upsample: only mode='nearest' is supported, got mode={mode!r}")
        if isinstance(scale_factor, (tuple, list)):
            if len(scale_factor) not in (1, 2):
                raise ValueError(f"Upsample: scale_factor must be an integer or a tuple of 1 "
                                 f"or 2 integers, got {scale_factor!r}")
            self.scale_factor: int | tuple[int, ...] = resample_factor(
                scale_factor, len(scale_factor), "scale_factor", "Upsample")
        else:
            self.scale_factor = resample_factor(scale_factor, 1, "scale_factor", "Upsample")[0]
        self.mode = mode

    def _factor(self, x: np.ndarray) -> tuple[int, ...]:
        check_input(self, x)
        if x.ndim not in (3, 4):
            raise ValueError(f"Upsample: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, "
                             f"got {x.shape}")
        n = x.ndim - 2
        if isinstance(self.scale_factor, tuple):
            if len(self.scale_factor) != n:
                raise ValueError(f"Upsample: scale_factor {self.scale_factor} has "
                                 f"{len(self.scale_factor)} entries but the input of shape "
                                 f"{x.shape} has {n} spatial axes")
            return self.scale_factor
        return (self.scale_factor,) * n

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, L) -> (N, C, k*L), or (N, C, H, W) -> (N, C, kH*H, kW*W)."""
        factor = self._factor(x)
        y = upsample_nearest_forward(x, factor)
        self._save((factor, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Sum the gradient over each block: shaped like the output in, like the input out."""
        factor, y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        return upsample_nearest_backward(grad_y, factor)

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor!r}, mode={self.mode!r}"
