"""Argument checks and output sizes shared by the loop kernels of ``convnp.naive``.

Written here again on purpose: ``convnp.naive`` imports nothing from the rest of convnp.
"""

from __future__ import annotations

import numpy as np


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def as_pair(fn: str, name: str, value: int | tuple[int, int]) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair of ints stays a pair, ``(H, W)`` order. Anything else is an
    error (a float is never truncated)."""
    if _is_int(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_int, value)):
        return int(value[0]), int(value[1])
    raise ValueError(f"{fn}: {name} must be an int or an (H, W) pair, got {value!r}")


def as_single(fn: str, name: str, value: int | tuple[int]) -> int:
    """``3`` or ``(3,)`` -> ``3``, for the 1-D functions."""
    if _is_int(value):
        return int(value)
    if isinstance(value, (tuple, list)) and len(value) == 1 and _is_int(value[0]):
        return int(value[0])
    raise ValueError(f"{fn}: {name} must be an int or a 1-tuple, got {value!r}")


def check_flags(fn: str, **flags: object) -> None:
    """Raise unless every flag (``ceil_mode``, ``count_include_pad``) is a bool: a string
    such as ``'no'`` would count as True."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{fn}: {name} must be True or False, got {value!r}")


def out_len(n: int, k: int, s: int = 1, p: int = 0, d: int = 1, ceil_mode: bool = False) -> int:
    """PyTorch's output length ``floor((n + 2p - d(k-1) - 1)/s) + 1`` (0 if the kernel overhangs).

    With ``ceil_mode`` (pooling) the division rounds up, and a last window that would start
    in the right padding (at or past ``n + p``) is dropped; a window may then hang over
    the end, even be longer than the padded input, and pools the part inside.
    """
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1 if span >= 0 else 0
    out = -(-span // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return max(out, 0)


def check_ndim(fn: str, name: str, shape: tuple[int, ...], ndim: int, layout: str) -> None:
    """Raise unless ``len(shape) == ndim``."""
    if len(shape) != ndim:
        raise ValueError(f"{fn}: {name} must be {ndim}-D {layout}, got shape {shape}")


def check_min(fn: str, name: str, value: tuple[int, ...], minimum: int) -> None:
    """Raise unless every entry of ``value`` (a stride, padding, dilation...) is >= minimum."""
    if min(value) < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value}")


def check_conv(fn: str, x_shape: tuple[int, ...], w_shape: tuple[int, ...], bias,
               groups: int, transposed: bool) -> int:
    """Check channels against the weight and groups; return the output channel count.

    A convolution's weight is (C_out, C_in/G, k...); a transposed one's (C_in, C_out/G, k...).
    """
    C_in = x_shape[1]
    if not _is_int(groups) or groups < 1 or C_in % groups:
        raise ValueError(f"{fn}: groups must be >= 1 and divide C_in={C_in}, got {groups}")
    if transposed:
        expected_in, C_out = w_shape[0], w_shape[1] * groups
    else:
        expected_in, C_out = w_shape[1] * groups, w_shape[0]
        if C_out % groups:
            raise ValueError(f"{fn}: groups={groups} must divide C_out={C_out} (weight.shape[0])")
    if C_in != expected_in:
        where = "weight.shape[0]" if transposed else "weight.shape[1] * groups"
        raise ValueError(f"{fn}: x has C_in={C_in} channels but {where} = {expected_in} "
                         f"(weight shape {w_shape}, groups={groups})")
    if bias is not None and np.shape(bias) != (C_out,):
        raise ValueError(f"{fn}: bias must have shape ({C_out},), got {np.shape(bias)}")
    return C_out


def check_out(fn: str, out_shape: tuple[int, ...], grad_y=None) -> None:
    """Raise if the output would be empty, or if ``grad_y`` does not have the output's shape."""
    if min(out_shape[2:]) < 1:
        raise ValueError(f"{fn}: output size {out_shape[2:]} is empty; the input (with "
                         f"padding) is smaller than the (dilated) kernel")
    if grad_y is not None and np.shape(grad_y) != tuple(out_shape):
        raise ValueError(f"{fn}: grad_y must have the output's shape {tuple(out_shape)}, "
                         f"got {np.shape(grad_y)}")


def check_pool_padding(fn: str, kernel: tuple[int, ...], padding: tuple[int, ...]) -> None:
    """PyTorch's rule for pooling: padding at most half the kernel size, per axis."""
    if any(p < 0 or 2 * p > k for k, p in zip(kernel, padding)):
        raise ValueError(f"{fn}: padding must be between 0 and half the kernel size, got "
                         f"padding={padding} for kernel_size={kernel}")
