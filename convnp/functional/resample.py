"""Resampling functions: zero-insertion upsampling, downsampling, nearest-neighbour upsampling.

All three work on the trailing spatial axes of an (N, C, L) or (N, C, H, W) array, with
one integer factor ``k`` per spatial axis. For one axis, with ``n`` input samples:

    upsample_zeros   [a b c], k=3  ->  [a 0 0 b 0 0 c]       n_out = k(n-1) + 1
    downsample       [a b c d e], k=2  ->  [a c e]            n_out = ceil(n/k)
    upsample_nearest [a b c], k=2  ->  [a a b b c c]          n_out = k*n

The first two are the CMU 11-785 ``Upsample1d/2d`` and ``Downsample1d/2d``: they turn a
strided convolution into a stride-1 one plus resampling. They are each other's adjoint:
``upsample_zeros`` writes ``x`` to every k-th position, ``downsample`` reads every k-th
position, so ``<upsample_zeros(x), y> = <x, downsample(y)>``. Hence their backward
passes are each other's forward pass (``downsample_backward`` only needs to know the
input size, which may not be a multiple of k).

``upsample_nearest`` is PyTorch's ``nn.Upsample(mode='nearest')`` for integer factors:
each sample is copied into a block of ``k`` (``kH x kW`` in 2-D). Its backward sums each
block. Everything here is slicing or reshaping: no Python loop over elements.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from convnp.functional.shapes import check_array
from convnp.validate import check_int


def resample_factor(value: int | Sequence[int], n_dims: int, name: str, caller: str
                    ) -> tuple[int, ...]:
    """Normalise a resampling factor to a tuple of ``n_dims`` ints >= 1, or raise ValueError.

    Accepts an int or ``n_dims`` ints; a float is accepted only if it is a whole number
    (PyTorch stores ``scale_factor=2`` as ``2.0``). Strings, bools and None raise
    TypeError; ``1.5``, a wrong number of entries and values < 1 raise ValueError. Both
    messages name ``caller``, ``name`` and the value.

    Example:
        >>> resample_factor(2, 2, "factor", "Upsample2d")
        (2, 2)
        >>> resample_factor((1, 3.0), 2, "factor", "Upsample2d")
        (1, 3)
    """
    values = list(value) if isinstance(value, (tuple, list)) else [value] * n_dims
    if not all(_is_real(v) for v in values):
        raise TypeError(f"{caller}: {name} must be an integer (or a tuple of {n_dims}), got "
                        f"{type(value).__name__} {value!r}")
    if len(values) != n_dims or not all(_is_whole(v) for v in values):
        raise ValueError(f"{caller}: {name} must be an integer or {n_dims} integers (only "
                         f"integer factors are supported), got {value!r}")
    factor = tuple(int(v) for v in values)
    if min(factor) < 1:
        raise ValueError(f"{caller}: {name} must be >= 1, got {value!r}")
    return factor


def _is_real(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _is_whole(v: object) -> bool:
    if isinstance(v, numbers.Integral):
        return True
    return math.isfinite(v) and float(v).is_integer()


def resample_args(caller: str, x: np.ndarray, factor: int | Sequence[int], name: str = "x",
                  factor_name: str = "factor") -> tuple[int, ...]:
    """Check that ``x`` is an (N, C, L) or (N, C, H, W) array; return ``factor`` as one int
    >= 1 per spatial axis (an int stands for all of them)."""
    check_array(caller, name, x, (3, 4))
    factor = factor.tolist() if isinstance(factor, np.ndarray) else factor
    return resample_factor(factor, x.ndim - 2, factor_name, caller)


def check_multiples(caller: str, grad_y: np.ndarray, factor: tuple[int, ...], offset: int,
                    form: str) -> None:
    """ValueError unless each spatial size n of ``grad_y`` is ``k*m + offset`` (``form``):
    the output sizes the forward pass can give."""
    if any(n and (n - offset) % k for n, k in zip(grad_y.shape[2:], factor)):
        raise ValueError(f"{caller}: grad_y's spatial sizes must be {form} for factor "
                         f"{factor} (the forward output's), got shape {grad_y.shape}")


def _every(factor: Sequence[int]) -> tuple[slice, ...]:
    """Index picking every k-th sample along each trailing spatial axis."""
    return (Ellipsis, *(slice(None, None, k) for k in factor))


def upsample_zeros_forward(x: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """Insert ``k-1`` zeros between neighbouring samples along each spatial axis.

    ``y[..., k*i] = x[..., i]`` and ``y`` is zero elsewhere.

    Args:
        x: (N, C, L) or (N, C, H, W).
        factor: one int per spatial axis, ``(k,)`` or ``(kH, kW)``.

    Returns:
        y, a new array.

    **Shape:** ``L_out = k(L-1) + 1``; in 2-D ``H_out = kH(H-1) + 1``, ``W_out = kW(W-1) + 1``.
    An empty axis stays empty (``L = 0`` gives ``L_out = 0``).

    Example:
        >>> upsample_zeros_forward(np.array([[[1.0, 2, 3]]]), (3,))
        array([[[1., 0., 0., 2., 0., 0., 3.]]])
        >>> upsample_zeros_forward(np.zeros((1, 1, 0)), (3,)).shape
        (1, 1, 0)
    """
    factor = resample_args("upsample_zeros_forward", x, factor)
    out = [k * (n - 1) + 1 if n else 0 for n, k in zip(x.shape[2:], factor)]
    y = np.zeros((*x.shape[:2], *out), dtype=x.dtype)
    y[_every(factor)] = x
    return y


def upsample_zeros_backward(grad_y: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """Gradient of ``upsample_zeros_forward``: keep every k-th gradient (the inserted
    zeros do not depend on ``x``).

    Args:
        grad_y: (N, C, L_out) or (N, C, H_out, W_out).
        factor: as given to the forward.

    Returns:
        grad_x, (N, C, L) or (N, C, H, W) with ``L = (L_out - 1)/k + 1``.

    Example:
        >>> upsample_zeros_backward(np.arange(7.0).reshape(1, 1, 7), (3,))
        array([[[0., 3., 6.]]])
    """
    factor = resample_args("upsample_zeros_backward", grad_y, factor, "grad_y")
    check_multiples("upsample_zeros_backward", grad_y, factor, 1, "k*(L-1) + 1")
    return grad_y[_every(factor)].copy()


def downsample_forward(x: np.ndarray, factor: Sequence[int]) -> np.ndarray:
    """Keep every k-th sample along each spatial axis, starting with the first: ``x[..., ::k]``.

    Args:
        x: (N, C, L) or (N, C, H, W).
        factor: one int per spatial axis.

    Returns:
        y, a new array.

    **Shape:** ``L_out = ceil(L/k)``; in 2-D ``H_out = ceil(H/kH)``, ``W_out = ceil(W/kW)``.

    Example:
        >>> downsample_forward(np.arange(5.0).reshape(1, 1, 5), (2,))
        array([[[0., 2., 4.]]])
    """
    factor = resample_args("downsample_forward", x, factor)
    return x[_every(factor)].copy()


def downsample_backward(grad_y: np.ndarray, factor: Sequence[int],
                        in_size: Sequence[int]) -> np.ndarray:
    """Gradient of ``downsample_forward``: scatter ``grad_y`` to every k-th position of zeros.

    The input size is needed because ``ceil(L/k)`` forgets it: L = 5 and L = 6 both give
    3 outputs for k = 2.

    Args:
        grad_y: (N, C, L_out) or (N, C, H_out, W_out).
        factor: as given to the forward.
        in_size: the forward input's spatial size, ``(L,)`` or ``(H, W)``.

    Returns:
        grad_x, (N, C, L) or (N, C, H, W).

    Raises:
        ValueError: if ``grad_y`` is not shaped ``ceil(in_size/k)``.

    Example:
        >>> downsample_backward(np.array([[[1.0, 2, 3]]]), (2,), (6,))
        array([[[1., 0., 2., 0., 3., 0.]]])
    """
    factor = resample_args("downsample_backward", grad_y, factor, "grad_y")
    in_size = in_size.tolist() if isinstance(in_size, np.ndarray) else in_size
    in_size = [check_int("downsample_backward", "in_size", n, min=0)
               for n in (in_size if isinstance(in_size, (tuple, list)) else [in_size])]
    expected = tuple(math.ceil(n / k) for n, k in zip(in_size, factor))
    if len(in_size) != len(factor) or grad_y.shape[2:] != expected:
        raise ValueError(f"downsample_backward: expected a gradient of spatial size {expected} "
                         f"(input size {tuple(in_size)}, factor {tuple(factor)}), got shape "
                         f"{grad_y.shape}")
    grad_x = np.zeros((*grad_y.shape[:2], *in_size), dtype=grad_y.dtype)
    grad_x[_every(factor)] = grad_y
    return grad_x


def upsample_nearest_forward(x: np.ndarray, scale_factor: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour upsampling by integer factors: ``y[..., i] = x[..., i // k]``.

    Implemented by broadcasting: view ``y`` as (N, C, H, kH, W, kW) and copy ``x``, viewed
    as (N, C, H, 1, W, 1), into every ``(a, b)`` offset of each block at once.

    Args:
        x: (N, C, L) or (N, C, H, W).
        scale_factor: one int per spatial axis.

    Returns:
        y, a new array.

    **Shape:** ``L_out = k*L``; in 2-D ``H_out = kH*H``, ``W_out = kW*W``.

    Example:
        >>> upsample_nearest_forward(np.array([[[[1.0, 2]]]]), (2, 3))
        array([[[[1., 1., 1., 2., 2., 2.],
                 [1., 1., 1., 2., 2., 2.]]]])
    """
    scale_factor = resample_args("upsample_nearest_forward", x, scale_factor,
                                 factor_name="scale_factor")
    N, C, *size = x.shape
    y = np.empty((N, C, *(n * k for n, k in zip(size, scale_factor))), dtype=x.dtype)
    blocks = [a for n, k in zip(size, scale_factor) for a in (n, k)]  # H, kH, W, kW
    y.reshape(N, C, *blocks)[...] = x.reshape(N, C, *[a for n in size for a in (n, 1)])
    return y


def upsample_nearest_backward(grad_y: np.ndarray, scale_factor: Sequence[int]) -> np.ndarray:
    """Gradient of ``upsample_nearest_forward``: sum each block of ``k`` (``kH x kW``) gradients.

    Args:
        grad_y: (N, C, k*L) or (N, C, kH*H, kW*W).
        scale_factor: as given to the forward.

    Returns:
        grad_x, (N, C, L) or (N, C, H, W).

    Example:
        >>> upsample_nearest_backward(np.arange(6.0).reshape(1, 1, 6), (2,))
        array([[[1., 5., 9.]]])
    """
    scale_factor = resample_args("upsample_nearest_backward", grad_y, scale_factor, "grad_y",
                                 "scale_factor")
    check_multiples("upsample_nearest_backward", grad_y, scale_factor, 0, "multiples of k")
    N, C, *size = grad_y.shape
    blocks = [a for n, k in zip(size, scale_factor) for a in (n // k, k)]
    summed_axes = tuple(range(3, 2 + len(blocks), 2))
    return grad_y.reshape(N, C, *blocks).sum(axis=summed_axes)
