"""Parameter and Module: the contract every layer follows.

A layer is a small object with two methods:

- ``forward(x)`` computes the output and keeps, in one attribute ``self._cache``,
  exactly what ``backward`` will need. A second ``forward`` overwrites it.
- ``backward(grad_y)`` reads that cache, **adds** (``+=``) the gradient of the loss
  with respect to each parameter into ``parameter.grad``, and returns the gradient
  with respect to the input. Gradients accumulate until ``zero_grad()``.

Layers with parameters also take ``backward(grad_y, input_grad=False)``, which skips
the input gradient (and returns ``None``). Training never needs the gradient with
respect to the images, so ``Sequential`` uses this for its first layer.

Children (sub-modules) and parameters are found by looking at the attributes of the
module in the order they were set, so ``self.weight = Parameter(...)`` is all it takes
to register a parameter, like in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


class Parameter:
    """A learnable array together with its gradient.

    Args:
        data: the values. Kept as given (no copy, no cast).
        requires_grad: ``False`` freezes it: optimizers skip it and ``summary`` counts
            it as non-trainable.

    Attributes:
        data: ndarray of values.
        grad: ndarray of the same shape and dtype, zeros until a ``backward`` adds to it.

    Example:
        >>> p = Parameter(np.ones((2, 3)))
        >>> p.grad.shape, p.grad.dtype
        ((2, 3), dtype('float64'))
    """

    def __init__(self, data: np.ndarray, requires_grad: bool = True) -> None:
        self.data = np.asarray(data)
        self.grad = np.zeros_like(self.data)
        self.requires_grad = requires_grad

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def zero_grad(self) -> None:
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of every layer and of ``Sequential``.

    Subclasses call ``super().__init__()`` first, set their Parameters and child
    Modules as attributes, and implement ``forward`` and ``backward``.

    ``training`` is this module's own flag, set by ``train()``/``eval()`` on the module
    and all its children; there is no global mode. ``grad_enabled`` (set by
    ``requires_cache()``) decides whether ``forward`` keeps its cache: evaluation turns
    it off so no memory is held for a backward pass that never comes.
    """

    def __init__(self) -> None:
        self.training = True
        self.grad_enabled = True
        self._cache: Any = None

    # ----------------------------------------------------------------- the contract
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def _save(self, cache: Any) -> None:
        """Keep ``cache`` for backward (overwriting the last one), unless caching is off."""
        self._cache = cache if self.grad_enabled else None

    def _saved(self) -> Any:
        """Return the cache kept by the last ``forward``, or raise if there is none."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward "
                "(or after a forward with caching turned off by requires_cache(False))"
            )
        return self._cache

    # ----------------------------------------------------------------- the tree
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(dotted name, module)``: this module as ``prefix``, then every descendant.

        Example:
            >>> from convnp.layers import ReLU, Sequential
            >>> net = Sequential(ReLU(), Sequential(ReLU(), ReLU()))
            >>> [name for name, _ in net.named_modules()]
            ['', '0', '1', '1.0', '1.1']
        """
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module, then every descendant, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted name, Parameter)`` pairs, e.g. ``('0.weight', ...)``."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    # ----------------------------------------------------------------- buffers
    _buffer_names: tuple[str, ...] = ()

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep ``value`` as ``self.<name>``: state that is saved but not learned.

        Buffers (BatchNorm's ``running_mean``, ``running_var``, ``num_batches_tracked``)
        are listed by ``named_buffers``, saved and loaded by ``state_dict`` and
        ``load_state_dict`` under the same dotted names as in PyTorch, and cast by
        ``to(dtype)`` when they are floating point; optimizers never see them, because
        they are not Parameters. Update a buffer in place (``self.running_mean[...] = m``)
        or by assigning a new array to the attribute.
        """
        self._buffer_names = (*(n for n in self._buffer_names if n != name), name)
        setattr(self, name, np.asarray(value))

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(dotted name, array)`` for every buffer, e.g. ``('1.running_mean', ...)``.

        Example:
            >>> m = Module()
            >>> m.register_buffer("count", np.zeros((), np.int64))
            >>> [name for name, _ in m.named_buffers()]
            ['count']
        """
        for name in self._buffer_names:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    def buffers(self) -> list[np.ndarray]:
        return [b for _, b in self.named_buffers()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    # ----------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and all its children; returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_cache(self, mode: bool = True) -> Module:
        """Turn caching for backward on or off for this module and its children."""
        for m in self.modules():
            m.grad_enabled = mode
            if not mode:
                m._cache = None
        return self

    def to(self, dtype: np.dtype | type) -> Module:
        """Cast every parameter (and floating-point buffer) to ``dtype``; returns self.

        Each ``Parameter`` object stays the same (an optimizer holding it still works),
        but its ``.data`` is replaced by a cast copy and its ``.grad`` by fresh zeros, so
        accumulated gradients and forward caches are discarded.
        """
        for m in self.modules():
            m._cache = None
            if hasattr(m, "dtype"):
                m.dtype = np.dtype(dtype)
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = np.zeros_like(p.data)
        for m in self.modules():
            for name in m._buffer_names:
                value = getattr(m, name)
                if np.issubdtype(value.dtype, np.floating):
                    setattr(m, name, value.astype(dtype))
        return self

    # ----------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, np.ndarray]:
        """Return ``{dotted name: copy}`` of every parameter's values, then of every buffer."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy ``state`` into the parameters and buffers, checking names, shapes and dtypes.

        Values may be NumPy arrays or anything ``np.asarray`` accepts (a detached torch
        tensor on the CPU works). With ``strict=False`` missing and unexpected keys are
        ignored; shape and dtype mismatches are always errors.
        """
        params = {name: p.data for name, p in self.named_parameters()}
        params.update(self.named_buffers())
        cls = type(self).__name__
        if strict:
            missing = [k for k in params if k not in state]
            unexpected = [k for k in state if k not in params]
            if missing or unexpected:
                raise KeyError(
                    f"{cls}.load_state_dict: missing keys {missing}, unexpected keys "
                    f"{unexpected}; this model has keys {list(params)}"
                )
        checked = {}
        for name, value in state.items():
            if name not in params:
                continue
            value = np.asarray(value)
            target = params[name]
            if value.shape != target.shape:
                raise ValueError(
                    f"{cls}.load_state_dict: '{name}' expected shape {target.shape}, "
                    f"got {value.shape}"
                )
            if value.dtype != target.dtype:
                raise ValueError(
                    f"{cls}.load_state_dict: '{name}' expected dtype {target.dtype}, "
                    f"got {value.dtype}"
                )
            checked[name] = value
        for name, value in checked.items():
            params[name][...] = value

    # ----------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The arguments shown inside ``Name(...)``; layers override it."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


@contextmanager
def inspection_mode(model: Module) -> Iterator[Module]:
    """Run ``model`` in eval mode with caching off inside a ``with`` block, then restore it.

    Inside the block every module has ``training = False`` (so Dropout passes its input
    through and draws no random numbers) and ``grad_enabled = False`` (so no forward
    cache is kept). On leaving, each module's ``training``, ``grad_enabled`` and cache
    are put back as they were, even if an exception was raised.

    Example:
        >>> from convnp.layers import Dropout, Sequential
        >>> net = Sequential(Dropout(0.5))
        >>> with inspection_mode(net):
        ...     net.training, net[0].grad_enabled
        (False, False)
        >>> net.training, net[0].grad_enabled
        (True, True)
    """
    saved = [(m, m.training, m.grad_enabled, m._cache) for m in model.modules()]
    model.eval()
    model.requires_cache(False)
    try:
        yield model
    finally:
        for m, training, grad_enabled, cache in saved:
            m.training, m.grad_enabled, m._cache = training, grad_enabled, cache


def check_input(layer: Module, x: np.ndarray, ndim: int, channels: int | None = None,
                dtype: np.dtype | None = None) -> None:
    """Raise a ValueError naming ``layer`` when ``x`` has the wrong ndim, channels or dtype.

    ``channels`` is checked against ``x.shape[1]``; ``dtype`` against ``x.dtype`` (so a
    float64 input to float32 weights is an error, not a silent cast).
    """
    name = type(layer).__name__
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray input, got {type(x).__name__}")
    if x.ndim != ndim:
        layout = {2: "(N, features)", 3: "(N, C, L)", 4: "(N, C, H, W)"}.get(ndim, "")
        raise ValueError(
            f"{name}: expected a {ndim}-D input {layout}, got shape {x.shape}"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{name}: expected {channels} input channels (x.shape[1]), got input of shape "
            f"{x.shape}"
        )
    if dtype is not None and x.dtype != dtype:
        raise ValueError(
            f"{name}: input dtype {x.dtype} does not match the layer's dtype {dtype}; "
            f"cast the input with x.astype(np.{dtype}) or build the layer with "
            f"dtype=np.{x.dtype}"
        )


def check_positive(layer: Module, *names: str) -> None:
    """Raise a ValueError naming ``layer`` unless each named tuple attribute is all >= 1.

    Used for ``kernel_size``, ``stride`` and ``dilation``, already normalised to tuples.
    """
    for name in names:
        if min(getattr(layer, name)) < 1:
            raise ValueError(f"{type(layer).__name__}: {name} must be >= 1, got "
                             f"{getattr(layer, name)}")


def check_window_fits(layer: Module, x_shape: tuple[int, ...],
                      pads: list[tuple[int, int]]) -> None:
    """Raise a ValueError naming ``layer`` if its (dilated) window is larger than the padded input.

    ``pads`` holds ``(before, after)`` per spatial axis; the window of kernel size k and
    dilation d spans ``d(k-1) + 1`` samples.
    """
    for n, (before, after), k, d in zip(x_shape[2:], pads, layer.kernel_size, layer.dilation):
        if n + before + after < d * (k - 1) + 1:
            raise ValueError(
                f"{type(layer).__name__}: kernel of effective size {d * (k - 1) + 1} is "
                f"larger than the padded input ({n} + {before + after} padding), input "
                f"shape {x_shape}"
            )


def check_grad(layer: Module, grad_y: np.ndarray, shape: tuple[int, ...],
               dtype: np.dtype | None = None) -> None:
    """Raise a ValueError naming ``layer`` when ``grad_y`` is not shaped like its output.

    With ``dtype`` (layers with parameters pass their own) a gradient of another dtype
    is an error too: ``param.grad += ...`` would otherwise cast it silently.
    """
    name = type(layer).__name__
    if not isinstance(grad_y, np.ndarray) or grad_y.shape != tuple(shape):
        got = grad_y.shape if isinstance(grad_y, np.ndarray) else type(grad_y).__name__
        raise ValueError(
            f"{name}.backward: expected a gradient of the output's shape "
            f"{tuple(shape)}, got {got}"
        )
    if dtype is not None and grad_y.dtype != dtype:
        raise ValueError(
            f"{name}.backward: expected a gradient of dtype {np.dtype(dtype)} (the layer's "
            f"dtype), got {grad_y.dtype}"
        )
