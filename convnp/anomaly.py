"""``detect_anomaly()``: catch arrays changed behind a layer's back, and the first NaN/inf.

NumPy cannot see an array change in place. A layer keeps, from ``forward``, the
arrays its ``backward`` needs (its input, its output, or something computed from
them); if the caller changes one of them in between (``y = relu(x); y -= 5``, or
``lin(x); x *= 10``) the next ``backward`` silently returns a wrong gradient. PyTorch
counts versions of each tensor and raises "modified by an inplace operation"; NumPy
has no such counter, so convnp checks on request, as ``torch.autograd.detect_anomaly``
does for its slower checks.

Inside ``with convnp.detect_anomaly():`` (or in a function decorated with
``@convnp.detect_anomaly()``):

- every forward keeps a private copy of each array it caches, and the matching
  ``backward`` compares them before using the cache: a change raises ``RuntimeError``
  naming the layer and the array (its input, its output, or another cached array);
- a second backward on the cache of one forward, in a layer with parameters, raises
  ``RuntimeError`` naming the layer: it would add the parameter gradients twice, and it
  is what such a layer placed twice in one network does (PyTorch refuses a second
  backward through a graph);
- with ``check_nan=True`` (the default), a NaN or inf in any layer's input, output,
  input gradient or parameter gradient raises ``RuntimeError`` naming the layer and the
  pass (forward or backward), at the first layer where it appears.

How it reaches every layer: ``Module._save``/``_saved`` call :func:`guard`/:func:`unguard`,
``Module.__call__`` checks forward values, and ``Module`` wraps each subclass's
``backward`` with :func:`checked_backward`. The losses do the same. No layer needs code
of its own.

The only state is the context variable ``MODE`` (``None`` when off, else the
``check_nan`` setting of the innermost ``detect_anomaly``); it is per thread and per
asyncio task, and each ``with`` restores the value it found. Outside the mode the
cost is one ``ContextVar.get()`` per forward and per backward call: nothing is copied.

Example:
    >>> import numpy as np, convnp
    >>> from convnp.layers import ReLU
    >>> relu = ReLU()
    >>> with convnp.detect_anomaly():  # doctest: +ELLIPSIS
    ...     y = relu(np.array([-1.0, 2.0]))
    ...     y -= 5                      # changes the output ReLU kept for backward
    ...     relu.backward(np.ones(2))
    Traceback (most recent call last):
    ...
    RuntimeError: ReLU.backward: its output (cache, shape (2,), float64) was modified in place ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from typing import Any

import numpy as np

MODE: ContextVar[bool | None] = ContextVar("convnp_detect_anomaly", default=None)


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (PyTorch's ``torch.is_anomaly_enabled``)."""
    return MODE.get() is not None


class detect_anomaly:  # noqa: N801 (PyTorch's name)
    """Context manager and decorator turning on the checks described in :mod:`convnp.anomaly`.

    Args:
        check_nan: also raise at the first NaN or inf a layer receives or produces,
            forward or backward. Default True, as in PyTorch.

    Example:
        >>> import numpy as np
        >>> from convnp.layers import Linear
        >>> @detect_anomaly()
        ... def step(layer, x):
        ...     return layer.backward(np.ones_like(layer(x)))
        >>> step(Linear(2, 1, rng=np.random.default_rng(0)), np.ones((3, 2), np.float32)).shape
        (3, 2)
        >>> is_anomaly_enabled()
        False
    """

    def __init__(self, check_nan: bool = True) -> None:
        if not isinstance(check_nan, bool):
            raise TypeError(f"detect_anomaly: check_nan must be a bool, got "
                            f"{type(check_nan).__name__} {check_nan!r}")
        self.check_nan = check_nan
        self._tokens: list[Token] = []  # a stack, so one instance may be re-entered

    def __enter__(self) -> detect_anomaly:
        self._tokens.append(MODE.set(self.check_nan))
        return self

    def __exit__(self, *exc_info: object) -> None:
        MODE.reset(self._tokens.pop())

    def __call__(self, func: Callable) -> Callable:
        """Use as a decorator: each call of ``func`` runs inside a fresh ``detect_anomaly``.

        A generator or ``async`` function returns before its body runs, so the checks
        would be off when it does: those are refused (use ``with`` inside them).
        """
        if not callable(func):
            raise TypeError(f"detect_anomaly: can decorate a function, got {type(func).__name__}")
        if inspect.isgeneratorfunction(func) or inspect.iscoroutinefunction(func):
            raise TypeError(f"detect_anomaly: cannot decorate the generator or async function "
                            f"{func.__name__!r}, whose body runs after the call returns; write "
                            f"'with convnp.detect_anomaly():' inside it")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:  # the signature is func's
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)
        return wrapper


# --------------------------------------------------------------------------- cache copies
class Guarded:
    """A cache together with a copy of each array in it, made at forward time."""

    __slots__ = ("cache", "records", "used")

    def __init__(self, cache: Any, records: list[list]) -> None:
        self.cache = cache
        self.records = records  # [path, array, copy, role]
        self.used = False  # set once a backward has run on this cache


def _arrays(obj: Any, path: str) -> Iterator[tuple[str, np.ndarray]]:
    if isinstance(obj, np.ndarray):
        yield path, obj
    elif isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            yield from _arrays(item, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _arrays(item, f"{path}[{key!r}]")


def guard(cache: Any) -> Any:
    """``cache`` itself, or, in anomaly mode, a ``Guarded`` holding copies of its arrays."""
    if MODE.get() is None or cache is None:
        return cache
    return Guarded(cache, [[path, a, a.copy(), "an array computed in forward"]
                           for path, a in _arrays(cache, "cache")])


def label(stored: Any, x: Any, y: Any) -> None:
    """Name the guarded arrays that are (views of) the forward input ``x`` or output ``y``."""
    if not isinstance(stored, Guarded):
        return
    for record in stored.records:
        if isinstance(x, np.ndarray) and np.may_share_memory(record[1], x):
            record[3] = "its input"
        elif isinstance(y, np.ndarray) and np.may_share_memory(record[1], y):
            record[3] = "its output"


def unguard(owner: str, stored: Any) -> Any:
    """Return the cache; if it was guarded, first raise if any of its arrays changed."""
    if not isinstance(stored, Guarded):
        return stored
    for path, array, copy, role in stored.records:
        if not np.array_equal(array, copy, equal_nan=True):
            raise RuntimeError(
                f"{owner}.backward: {role} ({path}, shape {array.shape}, {array.dtype}) was "
                "modified in place between forward and backward, so the gradient would be "
                "wrong; copy an array before changing it in place (x = x.copy()), or run "
                "forward again"
            )
    return stored.cache


# --------------------------------------------------------------------------- NaN / inf
def check_finite(owner: str, what: str, value: Any) -> None:
    """In anomaly mode with ``check_nan``, raise if the array ``value`` holds NaN or inf."""
    if not MODE.get() or not isinstance(value, np.ndarray) or value.dtype.kind not in "fc":
        return
    if not np.isfinite(value).all():
        bad = "nan" if np.isnan(value).any() else "inf"
        raise RuntimeError(f"{owner}: {what} contains {bad} (detect_anomaly)")


def checked_backward(backward: Callable, once: bool = False) -> Callable:
    """Wrap a ``backward`` method so that, in anomaly mode, its gradients are checked.

    Checked: the incoming ``grad_y``, the returned input gradient and the ``.grad`` of
    the module's own Parameters. With ``once`` (layers), a second backward on the cache
    of one forward is refused for a layer with parameters of its own: it would add their
    gradients twice, and it is what such a layer placed twice in a network does (its
    first use's cache was overwritten by the second). A layer without parameters, and a
    loss, only repeat their first answer, so they may be asked again (a Jacobian row by
    row). Outside anomaly mode the wrapper only calls through.
    """
    @functools.wraps(backward)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:  # the signature is backward's
        if MODE.get() is None:
            return backward(self, *args, **kwargs)
        name = type(self).__name__
        stored = getattr(self, "_cache", None)
        if (once and isinstance(stored, Guarded) and stored.used
                and next(self._own_parameters(), None) is not None):
            unguard(name, stored)  # an array changed in place is reported first
            raise RuntimeError(
                f"{name}.backward: called again on the cache of one forward, which would add "
                "its parameter gradients twice (detect_anomaly). Run forward before each "
                "backward (also after a backward that raised part-way); if this layer instance "
                "sits in two places of the network, give each its own")
        check_finite(f"{name}.backward", "the gradient it received (grad_y)",
                     args[0] if args else kwargs.get("grad_y", kwargs.get("grad")))
        grad_x = backward(self, *args, **kwargs)
        if isinstance(stored, Guarded):
            stored.used = True
        check_finite(f"{name}.backward", "the input gradient it returned", grad_x)
        for attr, value in vars(self).items():
            grad = getattr(value, "grad", None)
            if attr != "_cache" and isinstance(grad, np.ndarray):
                check_finite(f"{name}.backward", f"{attr}.grad", grad)
        return grad_x
    return wrapper
