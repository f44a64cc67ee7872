"""Output-size formulas, argument normalisation, and the one place 1-D becomes 2-D.

Every 1-D kernel (convolution, transposed convolution, pooling, im2col) runs the 2-D
kernel on a signal viewed as an image of height 1: ``as_2d`` makes the view and
``lift_1d`` the matching ``(H, W)`` arguments.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

Pair = tuple[int, int]
"""An ``(H, W)`` pair of ints: kernel size, stride, padding or dilation of a 2-D kernel."""


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Length of a convolution's output along one axis.

    ``n_out = floor((n + 2p - d(k-1) - 1)/s) + 1``

    ``d(k-1) + 1`` is the *effective* kernel size: a dilated kernel skips ``d-1``
    samples between taps. The same formula gives pooling output sizes.

    Example:
        >>> conv_output_size(28, 5, padding=2)
        28
        >>> conv_output_size(32, 3, stride=2)
        15
    """
    return (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def pool_output_size(n: int, kernel_size: int, stride: int, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Length of a pooling output along one axis, PyTorch's rule.

    With ``ceil_mode=False`` this is ``conv_output_size``. With ``ceil_mode=True`` the
    division rounds up, but the last window must still start inside the input or the
    left padding: ``if (n_out - 1) * s >= n + p: n_out -= 1``.

    Example:
        >>> pool_output_size(5, 2, 2), pool_output_size(5, 2, 2, ceil_mode=True)
        (2, 3)
    """
    span = n + 2 * padding - dilation * (kernel_size - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = math.ceil(span / stride) + 1
    if (out - 1) * stride >= n + padding:
        out -= 1
    return out


def conv_transpose_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Length of a transposed convolution's output along one axis.

    ``n_out = (n-1)*s - 2p + d(k-1) + output_padding + 1``

    Example:
        >>> conv_transpose_output_size(16, 4, stride=2, padding=1)
        32
    """
    return (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def as_2d(x: np.ndarray) -> np.ndarray:
    """View a 1-D signal batch (N, C, L) as an image batch (N, C, 1, L). No copy.

    Example:
        >>> as_2d(np.zeros((2, 3, 7))).shape
        (2, 3, 1, 7)
    """
    return x[:, :, None, :]


def lift_1d(kernel_size: int, stride: int, padding: int, dilation: int
            ) -> tuple[Pair, Pair, Pair, Pair]:
    """The ``(H, W)`` arguments that make a 1-D kernel a 2-D one of height 1.

    Example:
        >>> lift_1d(5, 2, 1, 3)
        ((1, 5), (1, 2), (0, 1), (1, 3))
    """
    return (1, kernel_size), (1, stride), (0, padding), (1, dilation)


def pair(value: int | Sequence[int], name: str, layer: str) -> Pair:
    """Normalise an int or a pair of ints to a ``(H, W)`` tuple, with a clear error."""
    return ntuple(value, 2, name, layer)


def ntuple(value: int | Sequence[int], n: int, name: str, layer: str) -> tuple[int, ...]:
    """Normalise an int or a length-``n`` sequence of ints to a tuple of ``n`` ints.

    Raises TypeError for anything that is not an int or a sequence of ints (``3.0``,
    ``(3.0, 3.0)``, ``True``: a bool is not an int, as in PyTorch) and ValueError for a
    sequence of the wrong length, naming ``layer`` and the argument.

    Example:
        >>> ntuple(3, 2, "kernel_size", "Conv2d"), ntuple((3, 5), 2, "kernel_size", "Conv2d")
        ((3, 3), (3, 5))
    """
    def is_int(v: object) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))

    if is_int(value):
        return (int(value),) * n
    expected = f"{layer}: {name} must be an int or {n} ints, got {value!r}"
    try:
        entries = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(expected) from None
    if isinstance(value, str) or not all(is_int(v) for v in entries):
        raise TypeError(expected)
    if len(entries) != n:
        raise ValueError(expected)
    return tuple(int(v) for v in entries)
