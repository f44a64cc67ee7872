"""Module: the contract every layer follows (``Parameter`` is in ``parameter.py``).

A layer is a small object with two methods:

- ``forward(x)`` computes the output and keeps, in one attribute ``self._cache``,
  exactly what ``backward`` will need. A second ``forward`` overwrites it.
- ``backward(grad_y)`` reads that cache, **adds** (``+=``) the gradient of the loss
  with respect to each parameter into ``parameter.grad``, and returns the gradient
  with respect to the input. Gradients accumulate until ``zero_grad()``.

A layer may also take ``backward(grad_y, input_grad=False)``, which skips the input
gradient (and returns ``None``): training never needs the gradient with respect to the
images, so ``Sequential`` asks its first layer with parameters for this. It is an
optional speed-up: ``Sequential`` passes the keyword only to layers whose ``backward``
declares it, so a layer written with just ``backward(self, grad_y)`` trains too.

Children (sub-modules) and parameters are found by looking at the attributes of the
module in the order they were set, so ``self.weight = Parameter(...)`` is all it takes
to register a parameter, like in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from convnp import anomaly
from convnp.layers.parameter import Parameter as Parameter
from convnp.layers.parameter import check_replacement
from convnp.validate import check_bool, check_buffer, check_float_dtype, check_state_dict

# The array checks layers call on their inputs and gradients live with the other
# argument checks in convnp/validate.py; they are re-exported here for the layers.
from convnp.validate import check_grad as check_grad
from convnp.validate import check_input as check_input
from convnp.validate import check_positive as check_positive
from convnp.validate import check_window_fits as check_window_fits


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` skipped (with ``strict=False``), as PyTorch returns it."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and of ``Sequential``.

    Subclasses call ``super().__init__()`` first, set their Parameters and child
    Modules as attributes, and implement ``forward`` and ``backward``.

    ``training`` is this module's own flag, set by ``train()``/``eval()`` on the module
    and all its children; there is no global mode. ``cache_enabled`` (set by
    ``requires_cache()``) decides whether ``forward`` keeps its cache: evaluation turns
    it off so no memory is held for a backward pass that never comes.

    Call a module (``layer(x)``) rather than ``layer.forward(x)``: ``__call__`` adds
    what every layer needs around ``forward``. If ``forward`` raises, the caches of the
    module and all its children are dropped, so a following ``backward`` raises instead
    of mixing a new cache with old ones; and under ``convnp.detect_anomaly()`` the input
    and output are checked for NaN/inf. Each subclass's ``backward`` is wrapped (in
    ``__init_subclass__``) to check its gradients in that mode; outside it the wrapper
    only calls through.
    """

    def __init__(self) -> None:
        self.training = True
        self.cache_enabled = True
        self._cache: Any = None

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an attribute; replacing a Parameter or a buffer is checked
        (``parameter.check_replacement``, ``validate.check_buffer``)."""
        old = self.__dict__.get(name)
        if isinstance(old, Parameter):
            check_replacement(type(self).__name__, name, old, value)
        elif isinstance(old, np.ndarray) and name in self._buffer_names:
            value = check_buffer(type(self).__name__, name, old, value)
        object.__setattr__(self, name, value)

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "backward" in cls.__dict__:
            cls.backward = anomaly.checked_backward(cls.__dict__["backward"], once=True)

    # ----------------------------------------------------------------- the contract
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output from ``x`` and keep what backward needs with ``self._save``.

        Layers override this. ``layer(x)`` calls it.

        **Shape:** the layer's input -> its output, as each layer's docstring states.
        """
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Return dL/dx from dL/dy, and add (``+=``) dL/dparameter into each ``.grad``.

        Layers override this, reading what ``forward`` kept with ``self._saved()``.
        A layer with parameters may declare ``backward(self, grad_y, input_grad=True)``
        and return None when ``input_grad`` is False (see the module docstring).

        **Shape:** grad_y shaped like the last forward's output -> grad_x shaped like
        its input.
        """
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run ``forward(x)``; drop every cache in this module if it raises."""
        try:
            if anomaly.MODE.get() is None:  # the usual case: only forward
                return self.forward(x)
            name = type(self).__name__
            anomaly.check_finite(f"{name}.forward", "its input", x)
            y = self.forward(x)
            anomaly.label(self._cache, x, y)
            anomaly.check_finite(f"{name}.forward", "its output", y)
            return y
        except BaseException:
            self._forget()
            raise

    def _forget(self) -> None:
        """Drop the forward cache of this module and of all its children."""
        for m in self.modules():
            m._cache = None

    def _save(self, cache: Any) -> None:
        """Keep ``cache`` for backward (overwriting the last one), unless caching is off.

        Under ``detect_anomaly()`` a copy of each array in it is kept too, so that
        ``_saved`` can tell whether one was changed in place.
        """
        self._cache = anomaly.guard(cache) if self.cache_enabled else None

    def _saved(self) -> Any:
        """Return the cache kept by the last ``forward``, or raise if there is none."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward (or after a "
                "forward that raised, or one with caching turned off by requires_cache(False))"
            )
        return anomaly.unguard(type(self).__name__, self._cache)

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

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn`` on every descendant, children before parents, then on this module;
        returns self (PyTorch's ``Module.apply``, e.g. d2l's ``net.apply(init_cnn)``).

        Example:
            >>> from convnp.layers import ReLU, Sequential
            >>> seen = []
            >>> _ = Sequential(ReLU(), Sequential(ReLU())).apply(lambda m: seen.append(repr(m)))
            >>> seen[:2], len(seen)
            (['ReLU()', 'ReLU()'], 4)
        """
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}.apply: fn must be a function of a "
                            f"module, got {type(fn).__name__}")
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def _own_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """This module's own Parameters (not its children's), by attribute name."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield name, value

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(dotted name, Parameter)`` pairs, e.g. ``('0.weight', ...)``."""
        for name, value in self._own_parameters():
            yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        """Every Parameter of this module and its children, in ``named_parameters`` order.

        Example:
            >>> from convnp.layers import Linear
            >>> [p.shape for p in Linear(3, 2, rng=np.random.default_rng(0)).parameters()]
            [(2, 3), (2,)]
        """
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
        or by assigning a new array of the same shape and dtype (``check_buffer``).
        """
        if isinstance(self.__dict__.get(name), (Parameter, Module)):
            raise ValueError(f"{type(self).__name__}.register_buffer: {name!r} is already a "
                             f"{type(self.__dict__[name]).__name__} of this module")
        self._buffer_names = (*(n for n in self._buffer_names if n != name), name)
        object.__setattr__(self, name, np.asarray(value))  # (re)registering: any shape

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

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every Parameter (False freezes them: optimizers skip
        them); returns self, as PyTorch's ``Module.requires_grad_``."""
        flag = check_bool(type(self).__name__ + ".requires_grad_", "requires_grad",
                          requires_grad)
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # ----------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and all its children; returns self."""
        check_bool(type(self).__name__ + ".train", "mode", mode)
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_cache(self, mode: bool = True) -> Module:
        """Turn caching for backward on or off for this module and its children."""
        check_bool(type(self).__name__ + ".requires_cache", "mode", mode)
        for m in self.modules():
            m.cache_enabled = mode
            if not mode:
                m._cache = None
        return self

    def to(self, dtype: np.dtype | type) -> Module:
        """Cast every parameter (and floating-point buffer) to ``dtype``; returns self.

        Each ``Parameter`` object stays the same (an optimizer holding it still works),
        but its ``.data`` is replaced by a cast copy and its ``.grad`` by fresh zeros, so
        accumulated gradients and forward caches are discarded. ``dtype`` must be floating.
        """
        dtype = check_float_dtype(type(self).__name__ + ".to", "dtype", dtype)
        for m in self.modules():
            m._cache = None
            if hasattr(m, "dtype"):
                m.dtype = dtype
        for p in self.parameters():
            p.to(dtype)
        for m in self.modules():
            for name in m._buffer_names:
                value = getattr(m, name)
                if np.issubdtype(value.dtype, np.floating):
                    object.__setattr__(m, name, value.astype(dtype))  # a new dtype
        return self

    # ----------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, np.ndarray]:
        """Return ``{dotted name: copy}`` of every parameter's and buffer's values.

        The order is PyTorch's: module by module (``named_modules``), each module's own
        parameters, then its own buffers.

        Example:
            >>> from convnp.layers import BatchNorm1d, Linear, Sequential
            >>> net = Sequential(BatchNorm1d(3, affine=False), Linear(3, 2))
            >>> list(net.state_dict())
            ['0.running_mean', '0.running_var', '0.num_batches_tracked', '1.weight', '1.bias']
        """
        state = {}
        for prefix, module in self.named_modules():
            dotted = prefix + "." if prefix else ""
            state.update((dotted + name, p.data.copy()) for name, p in module._own_parameters())
            state.update((dotted + name, np.array(getattr(module, name)))
                         for name in module._buffer_names)
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``state`` into the parameters and buffers, checking names, shapes and dtypes.

        Values may be NumPy arrays, anything ``np.asarray`` accepts, or torch tensors
        (``torch_model.state_dict()``, also with ``keep_vars=True``). With ``strict=False``
        missing and unexpected keys are skipped, and returned, as PyTorch does, so that a
        mistyped key does not go unnoticed; shape and dtype mismatches are always errors,
        and nothing is copied unless every value fits.
        """
        cls = type(self).__name__
        check_state_dict(f"{cls}.load_state_dict", state)
        check_bool(f"{cls}.load_state_dict", "strict", strict)
        params = {name: p.data for name, p in self.named_parameters()}
        params.update(self.named_buffers())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if strict and (missing or unexpected):
            raise KeyError(f"{cls}.load_state_dict: missing keys {missing}, unexpected keys "
                           f"{unexpected}; this model has keys {list(params)}")
        checked = {}
        for name, value in state.items():
            if name not in params:
                continue
            try:
                if hasattr(value, "detach"):  # a torch tensor, perhaps one that requires grad
                    value = value.detach().cpu()
                value = np.asarray(value)
            except (TypeError, RuntimeError, NotImplementedError) as error:  # bfloat16, meta
                raise ValueError(f"{cls}.load_state_dict: '{name}' cannot be read as a NumPy "
                                 f"array ({type(error).__name__}: {error})") from error
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
        return IncompatibleKeys(missing, unexpected)

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
    through and draws no random numbers) and ``cache_enabled = False`` (so no forward
    cache is kept). On leaving, each module's ``training``, ``cache_enabled`` and cache
    are put back as they were, even if an exception was raised.

    Example:
        >>> from convnp.layers import Dropout, Sequential
        >>> net = Sequential(Dropout(0.5))
        >>> with inspection_mode(net):
        ...     net.training, net[0].cache_enabled
        (False, False)
        >>> net.training, net[0].cache_enabled
        (True, True)
    """
    saved = [(m, m.training, m.cache_enabled, m._cache) for m in model.modules()]
    model.eval()
    model.requires_cache(False)
    try:
        yield model
    finally:
        for m, training, cache_enabled, cache in saved:
            m.training, m.cache_enabled, m._cache = training, cache_enabled, cache
