"""Output-size formulas, argument checks, and the one place 1-D becomes 2-D.

Every 1-D kernel (convolution, transposed convolution, pooling, im2col) runs the 2-D
kernel on a signal viewed as an image of height 1: ``as_2d`` makes the view and
``lift_1d`` the matching ``(H, W)`` arguments.

The public functions of ``convnp.functional`` check their arguments in a line or two at
the top, with the helpers at the end of this file (``check_array``, ``int_args``,
``window_args``, ``check_grad``): a wrong type raises TypeError, a wrong shape or value
ValueError, and every message names the function, the argument, what it expects and
what it got. An int is accepted wherever a pair (or, in 1-D, a 1-tuple) is expected,
as in the layers. The checks read shapes and ints only, never the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convnp.validate import batch_axis_hint, check_bool, check_int, is_int

Pair = tuple[int, int]
"""An ``(H, W)`` pair of ints: kernel size, stride, padding or dilation of a 2-D kernel."""


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Length of a convolution's output along one axis.

    ``n_out = floor((n + 2p - d(k-1) - 1)/s) + 1``

    ``d(k-1) + 1`` is the *effective* kernel size: a dilated kernel skips ``d-1``
    samples between taps. The same formula gives pooling output sizes.

    Raises ValueError if the window does not fit the padded input (no output).

    Example:
        >>> conv_output_size(28, 5, padding=2)
        28
        >>> conv_output_size(32, 3, stride=2)
        15
    """
    size_args("conv_output_size", n, kernel_size, stride, padding, dilation)
    if n + 2 * padding < dilation * (kernel_size - 1) + 1:
        raise ValueError(f"conv_output_size: the window (effective size "
                         f"{dilation * (kernel_size - 1) + 1}) does not fit the padded input "
                         f"(n + 2*padding = {n + 2 * padding}): the output would be empty")
    return (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def pool_output_size(n: int, kernel_size: int, stride: int, padding: int = 0,
                     dilation: int = 1, ceil_mode: bool = False) -> int:
    """Length of a pooling output along one axis, PyTorch's rule.

    With ``ceil_mode=False`` this is ``conv_output_size``. With ``ceil_mode=True`` the
    division rounds up, but the last window must still start inside the input or the
    left padding: ``if (n_out - 1) * s >= n + p: n_out -= 1``.

    A result below 1 means no window fits: the callers (the pool layers) refuse it.

    Example:
        >>> pool_output_size(5, 2, 2), pool_output_size(5, 2, 2, ceil_mode=True)
        (2, 3)
    """
    size_args("pool_output_size", n, kernel_size, stride, padding, dilation)
    return _output_size(n, kernel_size, stride, padding, dilation,
                        check_bool("pool_output_size", "ceil_mode", ceil_mode))


def _output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    """``pool_output_size`` without the checks (the callers made them)."""
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = math.ceil(span / s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def conv_transpose_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Length of a transposed convolution's output along one axis.

    ``n_out = (n-1)*s - 2p + d(k-1) + output_padding + 1``

    A result below 1 means the padding crops everything: the callers refuse it.

    Example:
        >>> conv_transpose_output_size(16, 4, stride=2, padding=1)
        32
    """
    size_args("conv_transpose_output_size", n, kernel_size, stride, padding, dilation)
    check_int("conv_transpose_output_size", "output_padding", output_padding, min=0)
    return (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def as_2d(x: np.ndarray) -> np.ndarray:
    """View a 1-D signal batch (N, C, L) as an image batch (N, C, 1, L). No copy.

    Example:
        >>> as_2d(np.zeros((2, 3, 7))).shape
        (2, 3, 1, 7)
    """
    return x[:, :, None, :]


def lift_1d(kernel_size: tuple[int], stride: tuple[int], padding: tuple[int],
            dilation: tuple[int]) -> tuple[Pair, Pair, Pair, Pair]:
    """The ``(H, W)`` arguments that make a 1-D kernel a 2-D one of height 1.

    Takes 1-tuples, as ``window_args(..., 1, ...)`` returns them.

    Example:
        >>> lift_1d((5,), (2,), (1,), (3,))
        ((1, 5), (1, 2), (0, 1), (1, 3))
    """
    return (1, *kernel_size), (1, *stride), (0, *padding), (1, *dilation)


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


# --------------------------------------------------------------------------- checks
LAYOUTS = {1: "(C_out,)", 3: "(N, C, L)", 4: "(N, C, H, W)"}


def check_array(caller: str, name: str, a: Any, ndim: int | tuple[int, ...]) -> None:
    """TypeError unless ``a`` is a NumPy array; ValueError unless it has ``ndim`` axes
    (or one of the ``ndim`` given as a tuple).

    Example:
        >>> check_array("im2col", "x", np.zeros((3, 8, 8)), 4)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: im2col: x must be a 4-D (N, C, H, W) array, got shape (3, 8, 8); if x is ...
    """
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{caller}: {name} must be a numpy.ndarray, got {type(a).__name__}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if a.ndim not in ndims:
        expected = " or ".join(f"{n}-D {LAYOUTS.get(n, '')}".strip() for n in ndims)
        hint = batch_axis_hint(a, ndims[-1]) if name in ("x", "grad_y") else ""
        raise ValueError(f"{caller}: {name} must be a {expected} array, got shape "
                         f"{a.shape}{hint}")


def int_args(caller: str, n: int, **values: Any) -> tuple[tuple[int, ...], ...]:
    """Each keyword argument as a tuple of ``n`` ints; an int ``v`` stands for ``(v,) * n``.

    Paddings (``padding``, ``pads[i]``, ``output_padding``) must be >= 0, the others
    (kernel_size, stride, dilation, ...) >= 1. A bool or float is not an int (TypeError).

    Example:
        >>> int_args("im2col", 2, kernel_size=3, padding=(1, 0))
        ((3, 3), (1, 0))
    """
    normalised = []
    for name, value in values.items():
        if type(value) is int:  # the common cases first: the layers call this every step
            entries = (value,) * n
        elif type(value) is tuple and len(value) == n == 2 and type(value[0]) is int and type(
                value[1]) is int:
            entries = value
        else:
            entries = _int_entries(caller, n, name, value)
        lowest = 0 if name.startswith(("pad", "output_padding")) else 1
        if min(entries) < lowest:
            raise ValueError(f"{caller}: {name} must be >= {lowest}, got {value!r}")
        normalised.append(entries)
    return tuple(normalised)


def _int_entries(caller: str, n: int, name: str, value: Any) -> tuple[int, ...]:
    """``int_args`` for any other value: NumPy ints, lists, arrays, and the errors."""
    value = value.tolist() if isinstance(value, np.ndarray) else value
    entries = (value,) * n if is_int(value) else value
    if not (isinstance(entries, (tuple, list)) and all(is_int(v) for v in entries)):
        raise TypeError(f"{caller}: {name} must be an int or {_ints(n)}, got {value!r}")
    if len(entries) != n:
        raise ValueError(f"{caller}: {name} must be an int or {_ints(n)}, got {value!r}")
    return tuple(int(v) for v in entries)


def _ints(n: int) -> str:
    return "a 1-tuple of ints" if n == 1 else f"a tuple of {n} ints"


def size_args(caller: str, n: int, kernel_size: int, stride: int, padding: int,
              dilation: int) -> None:
    """The checks of the output-size formulas: ints, n and padding >= 0, the others >= 1."""
    if (type(n) is type(kernel_size) is type(stride) is type(padding) is type(dilation) is int
            and n >= 0 <= padding and min(kernel_size, stride, dilation) >= 1):
        return  # the kernels' own calls: a quick pass
    for name, value, lowest in (("n", n, 0), ("kernel_size", kernel_size, 1),
                                ("stride", stride, 1), ("padding", padding, 0),
                                ("dilation", dilation, 1)):
        check_int(caller, name, value, min=lowest)


def window_args(caller: str, x: Any, n_dims: int, kernel_size: Any, stride: Any, padding: Any,
                dilation: Any, ceil_mode: bool | None = None) -> tuple[tuple[int, ...], ...]:
    """Check ``x`` and a window's arguments; return ``(kernel_size, stride, padding,
    dilation)`` as tuples of ``n_dims`` ints.

    ``x`` must be an ``(N, C, *spatial)`` array with ``n_dims`` spatial axes, and some
    window must fit: no empty output. A pool passes ``ceil_mode`` (a bool): its padding
    must then be at most half the kernel size, as in PyTorch (more would make windows of
    padding only), and its stride may be None (meaning kernel_size).
    """
    check_array(caller, "x", x, n_dims + 2)
    return window_args_for_shape(caller, x.shape, n_dims, kernel_size, stride, padding,
                                 dilation, ceil_mode)


def window_args_for_shape(caller: str, x_shape: tuple[int, ...], n_dims: int, kernel_size: Any,
                          stride: Any, padding: Any, dilation: Any,
                          ceil_mode: bool | None = None) -> tuple[tuple[int, ...], ...]:
    """``window_args`` for an input of shape ``x_shape`` (``col2im``'s, a cache's)."""
    if stride is None and ceil_mode is not None:  # a pool's default stride, as in PyTorch
        stride = kernel_size
    k, s, p, d = int_args(caller, n_dims, kernel_size=kernel_size, stride=stride,
                          padding=padding, dilation=dilation)
    if ceil_mode is not None:
        check_bool(caller, "ceil_mode", ceil_mode)
        if any(2 * pi > ki for ki, pi in zip(k, p)):
            raise ValueError(f"{caller}: padding must be at most half the kernel size, got "
                             f"padding={p} for kernel_size={k}")
    out = [_output_size(n, *args, bool(ceil_mode)) for n, *args in zip(x_shape[2:], k, s, p, d)]
    if min(out) < 1:
        names = "(H_out, W_out)" if n_dims == 2 else "(L_out,)"
        raise ValueError(f"{caller}: empty output {names} = {tuple(out)} for x of shape {x_shape}, "
                         f"kernel {k}, stride {s}, padding {p}, dilation {d}: the window "
                         f"does not fit the padded input")
    return k, s, p, d


def check_conv_arrays(caller: str, x: Any, weight: Any, bias: Any, groups: Any, n_dims: int,
                      transposed: bool = False) -> int:
    """Check a (transposed) convolution's arrays and ``groups``; return groups as an int.

    ``weight`` is (C_out, C_in/G, k...) for a convolution and (C_in, C_out/G, k...) for a
    transposed one; ``bias`` None or (C_out,). x, weight and bias share one dtype (no
    silent float32/float64 mix).
    """
    check_array(caller, "x", x, n_dims + 2)
    check_array(caller, "weight", weight, n_dims + 2)
    G = check_int(caller, "groups", groups, min=1)
    if transposed:
        expected, C_out, layout = weight.shape[0], weight.shape[1] * G, "(C_in, C_out/G, k...)"
    else:
        expected, C_out, layout = weight.shape[1] * G, weight.shape[0], "(C_out, C_in/G, k...)"
    if x.shape[1] != expected:
        raise ValueError(f"{caller}: x has {x.shape[1]} channels (x.shape[1]) but weight of "
                         f"shape {weight.shape} with groups={G} expects {expected} (weight "
                         f"layout {layout})")
    if weight.shape[0] % G:
        raise ValueError(f"{caller}: groups={G} must divide weight.shape[0] = "
                         f"{weight.shape[0]}")
    arrays = [("x", x), ("weight", weight)]
    if bias is not None:
        check_array(caller, "bias", bias, 1)
        if bias.shape != (C_out,):
            raise ValueError(f"{caller}: bias must have shape ({C_out},), one entry per "
                             f"output channel, got {bias.shape}")
        arrays.append(("bias", bias))
    if len({a.dtype for _, a in arrays}) > 1:
        dtypes = ", ".join(f"{name} {a.dtype}" for name, a in arrays)
        odd = next((name for name, a in arrays[::-1] if a.dtype != weight.dtype), "x")
        raise ValueError(f"{caller}: x, weight and bias must have one dtype, got {dtypes}; "
                         f"cast {odd}, e.g. {odd}.astype(weight.dtype)")
    return G


def check_grad(caller: str, grad_y: Any, shape: tuple[int, ...]) -> None:
    """TypeError unless ``grad_y`` is an array; ValueError unless it has the forward
    output's ``shape``."""
    check_array(caller, "grad_y", grad_y, len(shape))
    if grad_y.shape != tuple(shape):
        raise ValueError(f"{caller}: grad_y must have the forward output's shape "
                         f"{tuple(shape)}, got {grad_y.shape}")


def check_cache(caller: str, cache: Any, kind: type | tuple[type, ...], made_by: str) -> None:
    """TypeError unless ``cache`` is of ``kind``: what the forward function returned."""
    if not isinstance(cache, kind):
        raise TypeError(f"{caller}: cache must be the cache that {made_by} returned, got "
                        f"{type(cache).__name__}")


def drop_height(shape: tuple[int, ...]) -> tuple[int, ...]:
    """(N, C, 1, L) -> (N, C, L): the 1-D shape of a 2-D kernel's result (see ``as_2d``)."""
    return (*shape[:2], *shape[3:])
