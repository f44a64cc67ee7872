"""Normalisation layers: BatchNorm1d/2d, LayerNorm and GroupNorm, as in PyTorch.

The functions (forward, and backward through the statistics) are in
``convnp.functional.norm``; these classes own the learned scale ``weight`` and shift
``bias``, BatchNorm's running statistics (buffers, not Parameters) and the cache.
"""

from __future__ import annotations

import numpy as np

from convnp.functional.norm import (
    batch_norm_backward,
    batch_norm_eval_backward,
    batch_norm_eval_forward,
    batch_norm_forward,
    group_norm_backward,
    group_norm_forward,
    layer_norm_backward,
    layer_norm_forward,
)
from convnp.layers.module import Module, Parameter, check_grad, check_input
from convnp.validate import (
    batch_axis_hint,
    check_bool,
    check_float,
    check_float_dtype,
    check_int,
    is_int,
)


def _affine_parameters(layer: Module, shape: tuple[int, ...], weight: bool, bias: bool) -> None:
    """Set ``layer.weight`` to ones and ``layer.bias`` to zeros (or None), PyTorch's init."""
    layer.weight = Parameter(np.ones(shape, layer.dtype)) if weight else None
    layer.bias = Parameter(np.zeros(shape, layer.dtype)) if bias else None


def _add_grads(layer: Module, grad_weight: np.ndarray | None,
               grad_bias: np.ndarray | None) -> None:
    if layer.weight is not None:
        layer.weight.grad += grad_weight
    if layer.bias is not None:
        layer.bias.grad += grad_bias


def _bias_and_dtype_repr(layer: Module) -> str:
    """``', bias=False'`` for an affine layer without bias, then a non-default dtype."""
    s = ", bias=False" if layer.weight is not None and layer.bias is None else ""
    return s + (f", dtype={layer.dtype}" if layer.dtype != np.float32 else "")


def _data(p: Parameter | None) -> np.ndarray | None:
    return None if p is None else p.data


class _BatchNorm(Module):
    """Batch normalisation over (N, C, *): the common part of BatchNorm1d and BatchNorm2d."""

    _ndims: tuple[int, ...] = ()
    _layouts = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 bias: bool = True, dtype=np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        num_features = check_int(name, "num_features", num_features, min=1)
        eps = check_float(name, "eps", eps, min=0, min_open=True)
        if momentum is not None:
            momentum = check_float(name, "momentum", momentum, min=0, max=1)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine = check_bool(name, "affine", affine)
        self.track_running_stats = check_bool(name, "track_running_stats", track_running_stats)
        check_bool(name, "bias", bias)
        self.dtype = check_float_dtype(name, "dtype", dtype)
        _affine_parameters(self, (num_features,), affine, affine and bias)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, self.dtype))
            self.register_buffer("running_var", np.ones(num_features, self.dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))
        else:  # as in PyTorch: the attributes exist, and are None
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, *) -> (N, C, *): batch statistics in training, running ones in eval."""
        name = type(self).__name__
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name}: expected a numpy.ndarray input, got {type(x).__name__}")
        if x.ndim not in self._ndims:
            raise ValueError(f"{name}: expected input of shape {self._layouts}, got shape "
                             f"{x.shape}{batch_axis_hint(x, max(self._ndims))}")
        check_input(self, x, x.ndim, self.num_features, self.dtype)
        use_batch = self.training or not self.track_running_stats
        if not use_batch:
            y, cache = batch_norm_eval_forward(x, self.running_mean, self.running_var,
                                               _data(self.weight), _data(self.bias), self.eps)
            self._save((False, cache, y.shape))
            return y
        count = x.size // self.num_features
        if count < 2:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        y, mean, var, cache = batch_norm_forward(x, _data(self.weight), _data(self.bias),
                                                 self.eps)
        if self.training and self.track_running_stats:
            self._update_running_stats(mean, var * (count / (count - 1)))
        self._save((True, cache, y.shape))
        return y

    def _update_running_stats(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        """``running = (1 - f) running + f batch`` with ``f = momentum``, or 1/batches if None."""
        self.num_batches_tracked += 1
        f = (1 / float(self.num_batches_tracked) if self.momentum is None
             else self.momentum)
        self.running_mean[...] = (1 - f) * self.running_mean + f * mean
        self.running_var[...] = (1 - f) * self.running_var + f * unbiased_var

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """(N, C, *) -> (N, C, *); adds into weight.grad and bias.grad (if affine).

        In training mode the gradient flows through the batch mean and variance too; in
        eval mode those are constants. ``input_grad`` is accepted for ``Sequential``;
        the input gradient is computed either way (it is cheap next to the statistics).
        """
        batch_stats, cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        backward = batch_norm_backward if batch_stats else batch_norm_eval_backward
        grad_x, grad_weight, grad_bias = backward(grad_y, cache)
        _add_grads(self, grad_weight, grad_bias)
        return grad_x if input_grad else None

    def extra_repr(self) -> str:
        s = f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
        s += f", affine={self.affine}, track_running_stats={self.track_running_stats}"
        return s + _bias_and_dtype_repr(self)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L), as ``torch.nn.BatchNorm1d``.

    Per channel c, in training mode, with the batch's mean and *biased* variance over
    N (and L)::

        y = weight_c * (x - mean_c) / sqrt(var_c + eps) + bias_c

    and the running statistics move towards the batch's, with the *unbiased* variance
    (``M/(M-1)`` times the biased one, ``M`` values per channel), as PyTorch does::

        running_mean = (1 - momentum) * running_mean + momentum * mean_c
        running_var  = (1 - momentum) * running_var  + momentum * var_c * M/(M-1)

    ``momentum=None`` uses ``1/num_batches_tracked`` instead: a plain average over every
    batch seen. In eval mode the running statistics replace the batch's (and the layer
    is a fixed affine map). With ``track_running_stats=False`` there are no running
    statistics and batch statistics are used in both modes.

    Args:
        num_features: C.
        eps: added to the variance. Default 1e-5.
        momentum: weight of the new batch in the running statistics, or None. Default 0.1.
        affine: learn ``weight`` (init 1) and, if ``bias``, ``bias`` (init 0), each (C,).
        track_running_stats: keep the buffers ``running_mean`` (init 0), ``running_var``
            (init 1) and ``num_batches_tracked`` (int64, init 0); if False, those three
            attributes are None, as in PyTorch.
        bias: learn ``bias`` (only with ``affine``; PyTorch's keyword-only ``bias``).
        dtype: of the parameters and running statistics; inputs must match it.

    **Shape:** (N, C) -> (N, C) or (N, C, L) -> (N, C, L).

    Example:
        >>> bn = BatchNorm1d(2)
        >>> y = bn(np.array([[1.0, 10.0], [3.0, 30.0]], np.float32))
        >>> y
        array([[-0.999995, -1.      ],
               [ 0.999995,  1.      ]], dtype=float32)
        >>> bn.running_mean, bn.running_var, int(bn.num_batches_tracked)
        (array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32), 1)
    """

    _ndims = (2, 3)
    _layouts = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) per channel, as ``torch.nn.BatchNorm2d``.

    The statistics of channel c are taken over N, H and W together (``M = N*H*W`` values):
    one mean and one variance per channel, so the layer has 2C parameters whatever the
    image size, and every position of a feature map is treated alike, as the convolution
    that made it does. Otherwise exactly ``BatchNorm1d``: biased variance for
    normalising, unbiased variance in ``running_var``, ``momentum=None`` for a
    cumulative average, running statistics in eval mode.

    Args:
        num_features: C.
        eps, momentum, affine, track_running_stats, bias, dtype: as in ``BatchNorm1d``.

    **Shape:** (N, C, H, W) -> (N, C, H, W).

    Example:
        >>> bn = BatchNorm2d(3)
        >>> x = np.random.default_rng(0).standard_normal((4, 3, 5, 6)).astype(np.float32)
        >>> y = bn(x)
        >>> bool(np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-6))
        True
        >>> [name for name, _ in bn.named_buffers()]
        ['running_mean', 'running_var', 'num_batches_tracked']
    """

    _ndims = (4,)
    _layouts = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise each sample over its last axes, as ``torch.nn.LayerNorm``.

    With ``normalized_shape = (D_1, ..., D_n)``, the mean and biased variance of each
    sample are taken over its last n axes, and then ``y = weight * x_hat + bias`` with
    ``weight`` and ``bias`` of shape ``normalized_shape`` (one per element). The same in
    training and eval mode: there are no running statistics.

    Args:
        normalized_shape: an int or a tuple, the trailing shape of the input.
        eps: added to the variance. Default 1e-5.
        elementwise_affine: learn ``weight`` (init 1), and ``bias`` (init 0) if ``bias``.
        bias: learn ``bias`` (only with ``elementwise_affine``).
        dtype: of the parameters; inputs must match it.

    **Shape:** (*, D_1, ..., D_n) -> same.

    Example:
        >>> ln = LayerNorm((2, 3))
        >>> x = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
        >>> ln(x)[0].round(3)
        array([[-1.464, -0.878, -0.293],
               [ 0.293,  0.878,  1.464]], dtype=float32)
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, *,
                 dtype=np.float32) -> None:
        super().__init__()
        shape = ((normalized_shape,) if is_int(normalized_shape)
                 else _int_tuple("LayerNorm", "normalized_shape", normalized_shape))
        if not shape or min(shape) < 1:
            raise ValueError(f"LayerNorm: normalized_shape must be positive sizes, got "
                             f"{normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = check_float("LayerNorm", "eps", eps, min=0, min_open=True)
        self.elementwise_affine = check_bool("LayerNorm", "elementwise_affine",
                                             elementwise_affine)
        check_bool("LayerNorm", "bias", bias)
        self.dtype = check_float_dtype("LayerNorm", "dtype", dtype)
        _affine_parameters(self, shape, elementwise_affine, elementwise_affine and bias)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*, D_1, ..., D_n) -> same."""
        check_input(self, x, x.ndim if isinstance(x, np.ndarray) else 0, dtype=self.dtype)
        n = len(self.normalized_shape)
        if x.ndim < n or x.shape[x.ndim - n:] != self.normalized_shape:
            raise ValueError(f"LayerNorm: expected input of shape (*, "
                             f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}")
        y, cache = layer_norm_forward(x, n, _data(self.weight), _data(self.bias), self.eps)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """(*, D_1, ..., D_n) -> same; adds into weight.grad and bias.grad."""
        cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        grad_x, grad_weight, grad_bias = layer_norm_backward(grad_y, cache)
        _add_grads(self, grad_weight, grad_bias)
        return grad_x if input_grad else None

    def extra_repr(self) -> str:
        s = f"{self.normalized_shape}, eps={self.eps}, "
        s += f"elementwise_affine={self.elementwise_affine}"
        return s + _bias_and_dtype_repr(self)


class GroupNorm(Module):
    """Normalise each sample over groups of channels, as ``torch.nn.GroupNorm``.

    The C channels are split into ``num_groups`` groups of ``C/G`` consecutive
    channels; each sample's mean and biased variance are taken per group, over its
    channels and every spatial position. Then ``y = weight_c * x_hat + bias_c`` per
    channel. No running statistics: the same in training and eval mode, and it works
    with a batch of one. ``num_groups=1`` is layer norm over (C, *); ``num_groups=C``
    is instance norm.

    Args:
        num_groups: G, must divide ``num_channels``.
        num_channels: C.
        eps: added to the variance. Default 1e-5.
        affine: learn ``weight`` (init 1) and, if ``bias``, ``bias`` (init 0), each (C,).
        bias: learn ``bias`` (only with ``affine``; PyTorch's keyword-only ``bias``).
        dtype: of the parameters; inputs must match it.

    **Shape:** (N, C, *) -> (N, C, *).

    Example:
        >>> gn = GroupNorm(2, 4)
        >>> x = np.random.default_rng(0).standard_normal((1, 4, 3, 5)).astype(np.float32)
        >>> y = gn(x)
        >>> round(float(y[0, :2].mean()), 6), round(float(y[0, :2].std()), 3)
        (0.0, 1.0)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, bias: bool = True, dtype=np.float32) -> None:
        super().__init__()
        num_groups = check_int("GroupNorm", "num_groups", num_groups, min=1)
        num_channels = check_int("GroupNorm", "num_channels", num_channels, min=1)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be a positive "
                             f"multiple of num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps = check_float("GroupNorm", "eps", eps, min=0, min_open=True)
        self.affine = check_bool("GroupNorm", "affine", affine)
        check_bool("GroupNorm", "bias", bias)
        self.dtype = check_float_dtype("GroupNorm", "dtype", dtype)
        _affine_parameters(self, (num_channels,), affine, affine and bias)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C, *) -> (N, C, *)."""
        if isinstance(x, np.ndarray) and x.ndim < 2:
            raise ValueError(f"GroupNorm: expected input of shape (N, C, *), got shape "
                             f"{x.shape}")
        check_input(self, x, None, self.num_channels, self.dtype)
        y, cache = group_norm_forward(x, self.num_groups, _data(self.weight),
                                      _data(self.bias), self.eps)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """(N, C, *) -> (N, C, *); adds into weight.grad and bias.grad."""
        cache, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        grad_x, grad_weight, grad_bias = group_norm_backward(grad_y, cache)
        _add_grads(self, grad_weight, grad_bias)
        return grad_x if input_grad else None

    def extra_repr(self) -> str:
        s = f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
        return s + _bias_and_dtype_repr(self)


def _int_tuple(owner: str, name: str, value: object) -> tuple[int, ...]:
    """``value`` as a tuple of ints, or a TypeError naming ``owner`` and ``name``."""
    try:
        entries = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{owner}: {name} must be an int or a tuple of ints, got "
                        f"{type(value).__name__} {value!r}") from None
    if not all(is_int(v) for v in entries):
        raise TypeError(f"{owner}: {name} must be an int or a tuple of ints, got {value!r}")
    return entries
