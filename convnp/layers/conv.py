"""Conv1d and Conv2d layers: own the weight and bias, call ``functional.conv`` directly.

``_ConvNd`` holds what every convolution layer shares, as PyTorch's ``_ConvNd`` does:
argument checks, the weight and bias, the default init, padding modes and the repr.
Each layer's ``forward`` and ``backward`` then call the kernel that does the arithmetic
(``conv2d_forward``/``conv2d_backward`` in ``convnp/functional/conv.py``).
"""

from __future__ import annotations

import math

import numpy as np

from convnp import init
from convnp.functional.conv import (
    ALGORITHMS,
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_forward,
)
from convnp.functional.padding import PADDING_MODES, pad, pad_backward
from convnp.functional.shapes import ntuple
from convnp.layers.module import (
    Module,
    Parameter,
    check_grad,
    check_input,
    check_positive,
    check_window_fits,
)
from convnp.validate import (
    check_bool,
    check_choice,
    check_float_dtype,
    check_generator,
    check_int,
)


class _ConvNd(Module):
    """What convolution and transposed-convolution layers share (PyTorch's ``_ConvNd``).

    Checks of channels, groups, kernel_size, stride, dilation and padding; the weight
    and bias; PyTorch's default init; padding modes; the repr. ``n_dims`` is the number
    of spatial axes; ``transposed`` layers have weight (C_in, C_out/G, *k) instead of
    (C_out, C_in/G, *k). Subclasses write ``forward`` and ``backward``.
    """

    n_dims: int
    transposed = False
    repr_args = ("stride", "padding", "dilation", "groups", "padding_mode", "algorithm")

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, groups: int, bias: bool, padding_mode: str,
                 rng: np.random.Generator | None, dtype) -> None:
        super().__init__()
        name, n = type(self).__name__, self.n_dims
        in_channels = check_int(name, "in_channels", in_channels, min=1)
        out_channels = check_int(name, "out_channels", out_channels, min=1)
        groups = check_int(name, "groups", groups, min=1)
        check_bool(name, "bias", bias)
        check_generator(name, "rng", rng)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups})"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = ntuple(stride, n, "stride", name)
        self.dilation = ntuple(dilation, n, "dilation", name)
        check_positive(self, "kernel_size", "stride", "dilation")
        if not isinstance(padding_mode, str):
            raise TypeError(f"{name}: padding_mode must be one of {PADDING_MODES}, got "
                            f"{type(padding_mode).__name__} {padding_mode!r}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{name}: padding must be 'valid', 'same', an int or "
                                 f"{n} ints, got {padding!r}")
            if padding == "same" and max(self.stride) > 1:
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride "
                                 f"{self.stride}")
            self.padding = padding
        else:
            self.padding = ntuple(padding, n, "padding", name)
            if min(self.padding) < 0:
                raise ValueError(f"{name}: padding must be >= 0, got {self.padding}")
        self.dtype = check_float_dtype(name, "dtype", dtype)
        first, second = (in_channels, out_channels) if self.transposed else (out_channels,
                                                                              in_channels)
        shape = (first, second // groups, *self.kernel_size)
        self.weight = Parameter(np.zeros(shape, dtype=self.dtype))
        self.bias = Parameter(np.zeros(out_channels, dtype=self.dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | None = None) -> None:
        """PyTorch's default init: weight and bias uniform in +-1/sqrt(fan_in).

        ``fan_in = weight.shape[1] * prod(kernel_size)``: C_in/G * prod(k) for a
        convolution. PyTorch uses the same expression for a transposed convolution, where
        ``weight.shape[1]`` is C_out/G.
        """
        rng = rng if rng is not None else np.random.default_rng()
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        self.weight.data[...] = init.kaiming_uniform(self.weight.shape, fan_in, rng,
                                                     a=math.sqrt(5), dtype=self.dtype)
        if self.bias is not None:
            bound = 1 / math.sqrt(fan_in)
            self.bias.data[...] = rng.uniform(-bound, bound, self.out_channels)

    def pads_for(self, sizes: tuple[int, ...]) -> list[tuple[int, int]]:
        """``(before, after)`` padding per spatial axis for an input of spatial size ``sizes``.

        ``'same'`` pads ``d(k-1)`` in total and puts any odd extra after, as PyTorch does.
        Raises ValueError if a reflect/circular padding is too large for ``sizes``.
        """
        if self.padding == "valid":
            pads = [(0, 0)] * self.n_dims
        elif self.padding == "same":
            total = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            pads = [(t // 2, t - t // 2) for t in total]
        else:
            pads = [(p, p) for p in self.padding]
        name = type(self).__name__
        for n, (before, after) in zip(sizes, pads):
            p = max(before, after)
            if self.padding_mode == "reflect" and p >= n:
                raise ValueError(f"{name}: reflect padding {p} must be smaller than the "
                                 f"input size {n}")
            if self.padding_mode == "circular" and p > n:
                raise ValueError(f"{name}: circular padding {p} must not exceed the input "
                                 f"size {n}")
        return pads

    def _prepare(self, x: np.ndarray) -> tuple[np.ndarray, tuple[int, ...], list | None]:
        """Check ``x`` and pad it here if the kernel cannot (a non-zero mode, uneven 'same').

        Returns ``(x, padding for the kernel, pads done here or None)``.
        """
        check_input(self, x, self.n_dims + 2, self.in_channels, self.dtype)
        pads = self.pads_for(x.shape[2:])
        check_window_fits(self, x.shape, pads)
        if self.padding_mode == "zeros" and all(before == after for before, after in pads):
            return x, tuple(before for before, _ in pads), None
        return pad(x, pads, self.padding_mode), (0,) * self.n_dims, pads

    def _finish_backward(self, grad_x: np.ndarray | None, grad_weight: np.ndarray,
                         grad_bias: np.ndarray | None, pads: list | None) -> np.ndarray | None:
        """Add the parameter gradients into ``.grad``; undo ``_prepare``'s padding of grad_x."""
        self.weight.grad += grad_weight
        if self.bias is not None:
            self.bias.grad += grad_bias
        if grad_x is None or pads is None:
            return grad_x
        return pad_backward(grad_x, pads, self.padding_mode)

    def _bias_data(self) -> np.ndarray | None:
        return None if self.bias is None else self.bias.data

    def extra_repr(self) -> str:
        n = self.n_dims
        defaults = {"stride": (1,) * n, "padding": (0,) * n, "output_padding": (0,) * n,
                    "dilation": (1,) * n, "groups": 1, "padding_mode": "zeros",
                    "algorithm": "im2col"}
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        for arg in self.repr_args:
            value, default = getattr(self, arg), defaults[arg]
            if value != default:
                s += f", {arg}={value!r}"
        if self.bias is None:
            s += ", bias=False"
        if self.dtype != np.float32:
            s += f", dtype={self.dtype}"
        return s


class _Conv(_ConvNd):
    """The constructor of Conv1d and Conv2d: PyTorch's arguments, then ``algorithm``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 *, algorithm: str = "im2col", rng: np.random.Generator | None = None,
                 dtype=np.float32) -> None:
        self.algorithm = check_choice(type(self).__name__, "algorithm", algorithm, ALGORITHMS)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, rng, dtype)


class Conv1d(_Conv):
    """1-D convolution (cross-correlation) over (N, C_in, L) signals, as ``torch.nn.Conv1d``.

    ``y[n, o, t] = bias[o] + sum_{c, i} weight[o, c, i] * x_pad[n, g*C_in/G + c, t*s + i*d]``
    for output channel ``o`` in group ``g``.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: k.
        stride, dilation: s and d (``dilation=1`` is an ordinary kernel).
        padding: p on both ends, or ``'valid'`` (0) or ``'same'`` (output length = input).
        groups: G; C_in and C_out must be divisible by it.
        bias: learn an additive bias per output channel.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        algorithm: ``'im2col'`` (default) or ``'tensordot'``; the same numbers, computed
            as in ``functional/conv.py`` or ``functional/conv_tensordot.py``.
        rng: the generator for the initial weights (fresh entropy if None).
        dtype: of the parameters; inputs must match it.

    **Shape:** (N, C_in, L) -> (N, C_out, L_out), ``L_out = floor((L + 2p - d(k-1) - 1)/s) + 1``.
    Weight (C_out, C_in/G, k), bias (C_out,).

    Example:
        >>> conv = Conv1d(24, 8, kernel_size=8, stride=4, rng=np.random.default_rng(0))
        >>> conv(np.zeros((2, 24, 128), dtype=np.float32)).shape
        (2, 8, 31)
    """

    n_dims = 1

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Convolve ``x``: (N, C_in, L) -> (N, C_out, L_out)."""
        x, padding, pads = self._prepare(x)
        y, cache = conv1d_forward(x, self.weight.data, self._bias_data(), self.stride[0],
                                  padding[0], self.dilation[0], self.groups, self.algorithm)
        self._save((cache, pads, y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Add dL/dweight, dL/dbias into ``.grad``; return dL/dx (None if not ``input_grad``).

        **Shape:** grad_y (N, C_out, L_out) -> grad_x (N, C_in, L).
        """
        cache, pads, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        grad_x, grad_weight, grad_bias = conv1d_backward(grad_y, cache, input_grad)
        return self._finish_backward(grad_x, grad_weight, grad_bias, pads)


class Conv2d(_Conv):
    """2-D convolution (cross-correlation) over (N, C_in, H, W) images, as ``torch.nn.Conv2d``.

    ``y[n,o,h,w] = bias[o] + sum_{c,i,j} weight[o,c,i,j] * x_pad[n, c', h*sH + i*dH, w*sW + j*dW]``
    with ``c' = g*C_in/G + c`` for output channel ``o`` in group ``g``.

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size, stride, padding, dilation: an int or an ``(H, W)`` pair; padding may
            also be ``'valid'`` or ``'same'`` (stride 1 only; an odd total puts the extra
            row/column at the bottom/right, as PyTorch does).
        groups: G; C_in and C_out must be divisible by it.
        bias: learn an additive bias per output channel.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        algorithm: ``'im2col'`` (default) or ``'tensordot'``; the same numbers, computed
            as in ``functional/conv.py`` or ``functional/conv_tensordot.py``.
        rng: the generator for the initial weights (fresh entropy if None).
        dtype: of the parameters; inputs must match it.

    **Shape:** (N, C_in, H, W) -> (N, C_out, H_out, W_out) with
    ``H_out = floor((H + 2pH - dH(kH-1) - 1)/sH) + 1`` and likewise ``W_out``.
    Weight (C_out, C_in/G, kH, kW), bias (C_out,).

    Example:
        >>> conv = Conv2d(1, 6, kernel_size=5, padding=2, rng=np.random.default_rng(0))
        >>> conv(np.zeros((1, 1, 28, 32), dtype=np.float32)).shape
        (1, 6, 28, 32)
    """

    n_dims = 2

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Convolve ``x``: (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
        x, padding, pads = self._prepare(x)
        y, cache = conv2d_forward(x, self.weight.data, self._bias_data(), self.stride,
                                  padding, self.dilation, self.groups, self.algorithm)
        self._save((cache, pads, y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Add dL/dweight, dL/dbias into ``.grad``; return dL/dx (None if not ``input_grad``).

        **Shape:** grad_y (N, C_out, H_out, W_out) -> grad_x (N, C_in, H, W).
        """
        cache, pads, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        grad_x, grad_weight, grad_bias = conv2d_backward(grad_y, cache, input_grad)
        return self._finish_backward(grad_x, grad_weight, grad_bias, pads)

