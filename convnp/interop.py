"""Convert models between convnp and PyTorch: ``from_torch`` and ``to_torch``.

A ``torch.nn.Sequential`` built from layers that convnp has becomes the equivalent
convnp ``Sequential`` with the same weights, and back. Use it to check a convnp model
against PyTorch, to start from a PyTorch model, or to move a model that has outgrown
NumPy to PyTorch.

Both directions keep: every constructor option convnp supports, the weights (copied,
so the two models do not share memory), the dtype (float32 or float64), each layer's
training/eval mode and ``requires_grad``. Layers are matched by their exact class, so a
subclass with its own ``forward`` is reported as unsupported rather than silently
converted. Children of a PyTorch ``Sequential`` built from an ``OrderedDict`` lose
their names: convnp numbers them ``0, 1, ...``.

convnp's ``Residual`` and ``Concat`` have no class in PyTorch: ``to_torch`` turns them
into ``convnp.interop.TorchResidual`` and ``convnp.interop.TorchConcat``, two small
``torch.nn.Module`` classes (in ``_torch_containers.py``, imported on first use) with the
same children and ``state_dict`` keys, and ``from_torch`` turns those back. BatchNorm's
running statistics and ``num_batches_tracked`` are copied with the weights.

PyTorch is imported inside the functions only: convnp never needs it to run.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from convnp.layers import (
    GELU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv1d,
    Conv2d,
    Dropout,
    Dropout2d,
    Flatten,
    GroupNorm,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Module,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from convnp.layers.conv_transpose import ConvTranspose1d, ConvTranspose2d
from convnp.layers.resample import Upsample
from convnp.validate import kind_of

if TYPE_CHECKING:
    import torch

_NO_ARGS = (Sigmoid, Tanh, Identity)


def from_torch(module: torch.nn.Sequential, *, rng: np.random.Generator | None = None
               ) -> Sequential:
    """Build the convnp ``Sequential`` equivalent to a ``torch.nn.Sequential``, weights copied.

    Supported: Conv1d/2d (every padding mode, ``'same'``/``'valid'``), ConvTranspose1d/2d,
    MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, Linear, Flatten, ReLU, LeakyReLU,
    Sigmoid, Tanh, GELU, Softmax, LogSoftmax (with an explicit ``dim``), Identity,
    Dropout, Dropout2d, BatchNorm1d/2d, LayerNorm, GroupNorm, Upsample
    (``mode='nearest'``, integer ``scale_factor``), nested Sequential, and this module's
    ``TorchResidual`` and ``TorchConcat``.

    Args:
        module: the PyTorch model, on the CPU, float32 or float64.
        rng: generator for the convnp Dropout masks (fresh entropy if None).

    Returns:
        A convnp ``Sequential`` whose parameters have the dtype of the torch weights.

    Raises:
        TypeError: naming the index (``'2'``, or ``'3.1'`` inside a nested Sequential) and
            class of the first layer convnp does not have.
        ValueError: naming the index and class of the first layer with an option convnp
            does not support (e.g. ``Upsample(mode='bilinear')``, ``return_indices=True``).

    Example:
        >>> import pytest; torch = pytest.importorskip("torch"); nn = torch.nn
        >>> net = from_torch(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten()))
        >>> net
        Sequential(
          (0): Conv2d(1, 4, kernel_size=(3, 3))
          (1): ReLU()
          (2): Flatten()
        )
        >>> net(np.zeros((2, 1, 5, 6), np.float32)).shape
        (2, 48)
    """
    import torch.nn as nn

    if type(module) is not nn.Sequential:
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, got "
                        f"{type(module).__name__}")
    _torch_containers().refuse_shared_modules(module)
    net = _sequential_from_torch(module, "", rng if rng is not None else np.random.default_rng())
    for ours, theirs in zip(net.modules(), module.modules()):  # the same tree, in order
        ours.training = theirs.training
    return net


def to_torch(model: Sequential) -> torch.nn.Sequential:
    """Build the ``torch.nn.Sequential`` equivalent to a convnp ``Sequential``, weights copied.

    The inverse of ``from_torch``, for the same layers. Parameters keep their dtype
    (float32 -> ``torch.float32``, float64 -> ``torch.float64``); the model is on the CPU.

    Args:
        model: a convnp Sequential (possibly nested).

    Returns:
        A ``torch.nn.Sequential`` with the same layers, weights, modes and
        ``state_dict`` keys.

    Raises:
        TypeError: naming the index and class of the first layer PyTorch has no
            equivalent for (e.g. convnp's zero-inserting ``Upsample2d``).

    Example:
        >>> import pytest; torch = pytest.importorskip("torch")
        >>> from convnp.layers import Linear
        >>> net = Sequential(Linear(4, 3, rng=np.random.default_rng(0)), ReLU())
        >>> to_torch(net)
        Sequential(
          (0): Linear(in_features=4, out_features=3, bias=True)
          (1): ReLU()
        )
        >>> bool(np.allclose(to_torch(net)[0].weight.detach().numpy(), net[0].weight.data))
        True
    """
    if type(model) is not Sequential:
        raise TypeError(f"to_torch: expected a convnp Sequential, got {kind_of(model)}")
    net = _sequential_to_torch(model, "")
    for theirs, ours in zip(net.modules(), model.modules()):  # the same tree, in order
        theirs.training = ours.training
    return net


# ---------------------------------------------------------------------- torch -> convnp
def _sequential_from_torch(seq: Any, prefix: str, rng: np.random.Generator) -> Sequential:
    layers = [_layer_from_torch(child, f"{prefix}{i}", rng) for i, child in enumerate(seq)]
    net = Sequential(*layers)
    net.training = seq.training
    for layer, child in zip(layers, seq):
        layer.train(child.training)
    return net


def _layer_from_torch(m: Any, where: str, rng: np.random.Generator) -> Module:
    import torch.nn as nn

    t, cls = type(m), type(m).__name__
    if t is nn.Sequential:
        return _sequential_from_torch(m, where + ".", rng)
    containers = _torch_containers()
    if t is containers.TorchResidual:
        if m.body is None:
            raise ValueError(f"from_torch: layer {where} (TorchResidual): its body is None")
        shortcut = (None if m.shortcut is None
                    else _layer_from_torch(m.shortcut, f"{where}.shortcut", rng))
        return Residual(_layer_from_torch(m.body, f"{where}.body", rng), shortcut)
    if t is containers.TorchConcat:
        if not m._modules:
            raise ValueError(f"from_torch: layer {where} (TorchConcat): it has no branches")
        return Concat(*(_layer_from_torch(c, f"{where}.{name}", rng)
                        for name, c in m.named_children()), dim=m.dim)
    try:
        layer = _build_from_torch(m, nn, rng)
    except ValueError as e:
        raise ValueError(f"from_torch: layer {where} ({cls}): {e}") from e
    if layer is None:
        raise TypeError(f"from_torch: layer {where} ({cls}) is not supported by convnp; see "
                        "convnp.interop.from_torch for the supported layers")
    torch_params = dict(m.named_parameters())
    for name, p in layer.named_parameters():
        if name not in torch_params or torch_params[name].is_meta:
            why = ("is on the 'meta' device: it has no values" if name in torch_params else
                   "is not a plain parameter (pruned? torch.nn.utils.prune.remove it first)")
            raise ValueError(f"from_torch: layer {where} ({cls}): its {name} {why}")
        p.data[...] = torch_params[name].detach().cpu().numpy()
        p.requires_grad = torch_params[name].requires_grad
    torch_buffers = dict(m.named_buffers())
    for name, b in layer.named_buffers():
        b[...] = torch_buffers[name].detach().cpu().numpy()
    return layer


def _build_from_torch(m: Any, nn: Any, rng: np.random.Generator) -> Module | None:
    """The convnp layer for ``m`` with fresh weights, or None if convnp has no such layer."""
    t = type(m)
    if t in (nn.Conv1d, nn.Conv2d):
        conv = Conv1d if t is nn.Conv1d else Conv2d
        return conv(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                    m.dilation, m.groups, m.bias is not None, m.padding_mode, rng=rng,
                    dtype=_numpy_dtype(m.weight))
    if t in (nn.ConvTranspose1d, nn.ConvTranspose2d):
        if m.padding_mode != "zeros":
            raise ValueError(f"padding_mode={m.padding_mode!r} is not supported")
        conv_t = ConvTranspose1d if t is nn.ConvTranspose1d else ConvTranspose2d
        return conv_t(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                      m.output_padding, m.groups, m.bias is not None, m.dilation, rng=rng,
                      dtype=_numpy_dtype(m.weight))
    if t in (nn.MaxPool1d, nn.MaxPool2d):
        if m.return_indices:
            raise ValueError("return_indices=True is not supported")
        pool = MaxPool1d if t is nn.MaxPool1d else MaxPool2d
        return pool(m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode)
    if t in (nn.AvgPool1d, nn.AvgPool2d):
        if getattr(m, "divisor_override", None) is not None:
            raise ValueError(f"divisor_override={m.divisor_override} is not supported")
        pool = AvgPool1d if t is nn.AvgPool1d else AvgPool2d
        return pool(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad)
    if t in (nn.BatchNorm1d, nn.BatchNorm2d):
        norm = BatchNorm1d if t is nn.BatchNorm1d else BatchNorm2d
        return norm(m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats,
                    bias=not (m.affine and m.bias is None),
                    dtype=_numpy_dtype(m.weight if m.affine else m.running_mean))
    if t is nn.LayerNorm:
        return LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine, m.bias is not None,
                         dtype=_numpy_dtype(m.weight))
    if t is nn.GroupNorm:
        return GroupNorm(m.num_groups, m.num_channels, m.eps, m.affine,
                         bias=not (m.affine and m.bias is None), dtype=_numpy_dtype(m.weight))
    if t in (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d):
        pool = AdaptiveAvgPool1d if t is nn.AdaptiveAvgPool1d else AdaptiveAvgPool2d
        return pool(m.output_size)
    if t is nn.Linear:
        return Linear(m.in_features, m.out_features, m.bias is not None, rng=rng,
                      dtype=_numpy_dtype(m.weight))
    if t is nn.Flatten:
        return Flatten(m.start_dim, m.end_dim)
    if t in (nn.Softmax, nn.LogSoftmax):
        if m.dim is None:
            raise ValueError("dim=None (PyTorch's implicit, deprecated choice) is not "
                             "supported; give dim explicitly")
        return (Softmax if t is nn.Softmax else LogSoftmax)(m.dim)
    if t in (nn.Upsample, nn.UpsamplingNearest2d):
        if m.mode != "nearest":
            raise ValueError(f"mode={m.mode!r} is not supported (only 'nearest')")
        if m.size is not None or m.scale_factor is None:
            raise ValueError(f"size={m.size!r} is not supported; use scale_factor")
        return Upsample(m.scale_factor)
    simple = {nn.ReLU: lambda: ReLU(m.inplace), nn.Sigmoid: Sigmoid, nn.Tanh: Tanh,
              nn.Identity: Identity,
              nn.LeakyReLU: lambda: LeakyReLU(m.negative_slope, m.inplace),
              nn.GELU: lambda: GELU(m.approximate),
              nn.Dropout: lambda: Dropout(m.p, m.inplace, rng=rng),
              nn.Dropout2d: lambda: Dropout2d(m.p, m.inplace, rng=rng)}
    return simple[t]() if t in simple else None


def _numpy_dtype(weight: torch.Tensor | None) -> np.dtype:
    import torch

    if weight is None:  # a norm layer without affine parameters or running statistics
        return np.dtype(np.float32)
    dtypes = {torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64)}
    if weight.dtype not in dtypes:
        raise ValueError(f"weights of dtype {weight.dtype} are not supported (float32 or "
                         "float64 only)")
    return dtypes[weight.dtype]


# ---------------------------------------------------------------------- convnp -> torch
def _sequential_to_torch(seq: Sequential, prefix: str) -> torch.nn.Sequential:
    import torch.nn as nn

    layers = [_layer_to_torch(layer, f"{prefix}{i}") for i, layer in enumerate(seq)]
    net = nn.Sequential(*layers)
    net.training = seq.training
    for tlayer, layer in zip(layers, seq):
        tlayer.train(layer.training)
    return net


def _layer_to_torch(layer: Module, where: str) -> torch.nn.Module:
    import torch

    cls = type(layer).__name__
    if type(layer) is Sequential:
        return _sequential_to_torch(layer, where + ".")
    if type(layer) in (Residual, Concat):
        children = [_layer_to_torch(c, f"{where}.{name}") for name, c in layer.named_children()]
        containers = _torch_containers()
        return (containers.TorchResidual(*children) if type(layer) is Residual
                else containers.TorchConcat(*children, dim=layer.dim))
    m = _build_torch(layer, torch.nn)
    if m is None:
        raise TypeError(f"to_torch: layer {where} ({cls}) has no PyTorch equivalent in "
                        "convnp.interop")
    torch_params = dict(m.named_parameters())
    with torch.no_grad():
        for name, p in layer.named_parameters():
            torch_params[name].copy_(torch.from_numpy(np.array(p.data)))
            torch_params[name].requires_grad_(p.requires_grad)
        torch_buffers = dict(m.named_buffers())
        for name, b in layer.named_buffers():
            torch_buffers[name].copy_(torch.from_numpy(np.array(b)))
    return m


def _build_torch(layer: Module, nn: Any) -> Any:
    """The torch layer for ``layer`` with fresh weights, or None if there is none."""
    t = type(layer)
    if t in (Conv1d, Conv2d):
        conv = nn.Conv1d if t is Conv1d else nn.Conv2d
        return conv(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                    layer.padding, layer.dilation, layer.groups, layer.bias is not None,
                    layer.padding_mode, dtype=_torch_dtype(layer.dtype))
    if t in (ConvTranspose1d, ConvTranspose2d):
        conv_t = nn.ConvTranspose1d if t is ConvTranspose1d else nn.ConvTranspose2d
        return conv_t(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                      layer.padding, layer.output_padding, layer.groups,
                      layer.bias is not None, layer.dilation, dtype=_torch_dtype(layer.dtype))
    if t in (MaxPool1d, MaxPool2d):
        pool = nn.MaxPool1d if t is MaxPool1d else nn.MaxPool2d
        return pool(layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                    ceil_mode=layer.ceil_mode)
    if t in (AvgPool1d, AvgPool2d):
        pool = nn.AvgPool1d if t is AvgPool1d else nn.AvgPool2d
        return pool(layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode,
                    layer.count_include_pad)
    if t in (BatchNorm1d, BatchNorm2d):
        norm = nn.BatchNorm1d if t is BatchNorm1d else nn.BatchNorm2d
        return norm(layer.num_features, layer.eps, layer.momentum, layer.affine,
                    layer.track_running_stats, dtype=_torch_dtype(layer.dtype),
                    **_bias_keyword(layer))
    if t is LayerNorm:
        return nn.LayerNorm(layer.normalized_shape, layer.eps, layer.elementwise_affine,
                            layer.bias is not None, dtype=_torch_dtype(layer.dtype))
    if t is GroupNorm:
        return nn.GroupNorm(layer.num_groups, layer.num_channels, layer.eps, layer.affine,
                            dtype=_torch_dtype(layer.dtype), **_bias_keyword(layer))
    if t in (AdaptiveAvgPool1d, AdaptiveAvgPool2d):
        pool = nn.AdaptiveAvgPool1d if t is AdaptiveAvgPool1d else nn.AdaptiveAvgPool2d
        return pool(layer.output_size)
    if t is Dropout2d:
        return nn.Dropout2d(layer.p, layer.inplace)
    if t is Linear:
        return nn.Linear(layer.in_features, layer.out_features, layer.bias is not None,
                         dtype=_torch_dtype(layer.dtype))
    if t is Flatten:
        return nn.Flatten(layer.start_dim, layer.end_dim)
    if t is LeakyReLU:
        return nn.LeakyReLU(layer.negative_slope, layer.inplace)
    if t is GELU:
        return nn.GELU(layer.approximate)
    if t is ReLU:
        return nn.ReLU(layer.inplace)
    if t in (Softmax, LogSoftmax):
        return (nn.Softmax if t is Softmax else nn.LogSoftmax)(layer.dim)
    if t is Dropout:
        return nn.Dropout(layer.p, layer.inplace)
    if t is Upsample:
        factor = layer.scale_factor
        scale = tuple(float(k) for k in factor) if isinstance(factor, tuple) else float(factor)
        return nn.Upsample(scale_factor=scale, mode="nearest")
    if t in _NO_ARGS:
        return getattr(nn, t.__name__)()
    return None


def _bias_keyword(layer: Module) -> dict[str, bool]:
    """``{'bias': False}`` for an affine norm layer without bias, else ``{}``.

    PyTorch's BatchNorm and GroupNorm took the keyword-only ``bias`` only recently, so it
    is passed only when needed: older versions still convert every other norm layer.
    """
    return {"bias": False} if layer.weight is not None and layer.bias is None else {}


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    import torch

    dtypes = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
    if np.dtype(dtype) not in dtypes:
        raise ValueError(f"to_torch: parameters of dtype {dtype} are not supported (float32 "
                         "or float64 only)")
    return dtypes[np.dtype(dtype)]


def _torch_containers() -> ModuleType:
    """The module that defines ``TorchResidual`` and ``TorchConcat`` (this imports torch)."""
    from convnp import _torch_containers

    return _torch_containers


def __getattr__(name: str) -> type:
    """``convnp.interop.TorchResidual`` and ``TorchConcat`` (this imports torch)."""
    if name in ("TorchResidual", "TorchConcat"):
        return getattr(_torch_containers(), name)
    raise AttributeError(f"module 'convnp.interop' has no attribute {name!r}")
