"""Argument checks shared by every constructor: one place, one wording.

Each helper takes the owner's name (``"Linear"``, ``"SGD"``), the argument's name and
its value, and either returns the value normalised (``2`` -> ``2``, ``np.float32(0.5)``
-> ``0.5``) or raises:

- ``TypeError`` when the value has the wrong type: ``Linear(2.0, 3)``, ``Dropout(None)``,
  ``Softmax(dim=1.5)``. A bool is not an int (as in PyTorch), so ``groups=True`` is
  refused, and a bool is not a float either;
- ``ValueError`` when it has the right type but is out of range: ``Linear(0, 3)``,
  ``Dropout(1.5)``, ``SGD(lr=nan)``.

Every message names the owner, the argument and the value, e.g.
``Linear: in_features must be an int, got float 2.0``.

The checks layers make on arrays at run time are here too: ``check_float_array`` (the
input-dtype policy), ``check_input`` (dtype, ndim, channels), ``check_grad``,
``check_positive`` and ``check_window_fits``. ``convnp.layers.module`` re-exports them.

Example:
    >>> check_int("Linear", "in_features", 3, min=1)
    3
    >>> check_int("Linear", "in_features", True, min=1)
    Traceback (most recent call last):
    ...
    TypeError: Linear: in_features must be an int, got bool True
    >>> check_float("Dropout", "p", 1.5, min=0, max=1)
    Traceback (most recent call last):
    ...
    ValueError: Dropout: p must be in [0, 1], got 1.5
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np


def _got(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def kind_of(value: Any) -> str:
    """How an error names a value of the wrong kind: its type, with a hint for two slips.

    A class passed where an instance belongs, and a torch object where a convnp one (or
    a NumPy array) does: only a torch ``Sequential`` can be converted, by
    ``convnp.interop.from_torch``.

    Example:
        >>> from convnp.layers import ReLU
        >>> kind_of(ReLU), kind_of(ReLU()), kind_of([1])
        ('the class ReLU; pass an instance, ReLU()', 'ReLU', 'list')
    """
    cls = value if isinstance(value, type) else type(value)
    name, from_torch = cls.__name__, cls.__module__.split(".")[0] == "torch"
    if from_torch and not isinstance(value, type) and name == "Sequential":
        return "torch's Sequential (convnp.interop.from_torch converts it)"
    if from_torch:
        what = f"the torch class {name}" if isinstance(value, type) else f"torch's {name}"
        return f"{what} (convnp takes its own layers and NumPy arrays)"
    if isinstance(value, type):
        return f"the class {name}; pass an instance, {name}()"
    return name


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers; False for bools, floats and everything else."""
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(
        value, (bool, np.bool_))


def _check_range(owner: str, name: str, value: float, lo: float | None, hi: float | None,
                 lo_open: bool, hi_open: bool) -> None:
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and (value >= hi if hi_open else value > hi)
    if not (too_low or too_high):
        return
    if lo is not None and hi is not None:
        expected = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    elif lo is not None:
        expected = f"{'>' if lo_open else '>='} {lo:g}"
    else:
        expected = f"{'<' if hi_open else '<='} {hi:g}"
    raise ValueError(f"{owner}: {name} must be {expected}, got {value!r}")


def check_int(owner: str, name: str, value: Any, *, min: int | None = None,
              max: int | None = None) -> int:
    """Return ``value`` as an int, or raise TypeError (not an int, or a bool) / ValueError.

    Example:
        >>> check_int("Conv2d", "groups", np.int64(2), min=1)
        2
    """
    if type(value) is int and (min is None or value >= min) and (max is None or value <= max):
        return value  # the common case, quickly: layers check ints on every call
    if not is_int(value):
        raise TypeError(f"{owner}: {name} must be an int, got {_got(value)}")
    _check_range(owner, name, int(value), min, max, False, False)
    return int(value)


def check_float(owner: str, name: str, value: Any, *, min: float | None = None,
                max: float | None = None, min_open: bool = False,
                max_open: bool = False) -> float:
    """Return ``value`` as a finite float, or raise TypeError / ValueError.

    Ints and NumPy reals are accepted; bools, strings and None are not (TypeError).
    NaN and +-inf are refused (ValueError), as is anything outside ``[min, max]``
    (``min_open``/``max_open`` make that end exclusive).

    Example:
        >>> check_float("SGD", "lr", 1, min=0)
        1.0
        >>> check_float("SGD", "lr", float("nan"), min=0)
        Traceback (most recent call last):
        ...
        ValueError: SGD: lr must be a finite number, got nan
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating,
                                                                      np.integer)):
        raise TypeError(f"{owner}: {name} must be a number, got {_got(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    _check_range(owner, name, value, min, max, min_open, max_open)
    return value


def check_bool(owner: str, name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (Python or NumPy), else raise TypeError.

    Example:
        >>> check_bool("Linear", "bias", 1)
        Traceback (most recent call last):
        ...
        TypeError: Linear: bias must be a bool, got int 1
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be a bool, got {_got(value)}")
    return bool(value)


def check_choice(owner: str, name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``; TypeError / ValueError else.

    Example:
        >>> check_choice("MSELoss", "reduction", "avg", ("mean", "sum", "none"))
        Traceback (most recent call last):
        ...
        ValueError: MSELoss: reduction must be one of 'mean', 'sum', 'none', got 'avg'
    """
    choices = tuple(choices)
    listed = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{owner}: {name} must be one of {listed}, got {_got(value)}")
    if value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {listed}, got {value!r}")
    return value


def sequence(owner: str, name: str, value: Any, what: str, length: int | None = None) -> list:
    """Return ``value`` (a tuple, list or NumPy array) as a list; TypeError / ValueError else.

    ``what`` describes the expected value in the message. It must not be empty, and it
    must hold ``length`` entries if ``length`` is given.
    """
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{owner}: {name} must be {what}, got {type(value).__name__} {value!r}")
    if len(value) == 0 or length is not None and len(value) != length:
        raise ValueError(f"{owner}: {name} must be {what}, got {len(value)} entries: {value!r}")
    return list(value)


def int_tuple(owner: str, name: str, value: Any, *, length: int | None = None,
              what: str | None = None) -> tuple[int, ...]:
    """Return ``value`` as a non-empty tuple of ints >= 1 (``length`` of them if given).

    ``what`` describes the expected value in the message (default: "a tuple of 3 ints").

    Example:
        >>> int_tuple("nin", "widths", [8, 16, 24], length=3)
        (8, 16, 24)
        >>> int_tuple("nin", "widths", (8, 0, 24), length=3)
        Traceback (most recent call last):
        ...
        ValueError: nin: widths[1] must be >= 1, got 0
    """
    what = what or f"a tuple of {length or 'one or more'} ints"
    entries = sequence(owner, name, value, what, length)
    return tuple(check_int(owner, f"{name}[{i}]", v, min=1) for i, v in enumerate(entries))


def check_float_dtype(owner: str, name: str, dtype: Any) -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is a floating dtype, else raise TypeError.

    Parameters are learned by small steps, so an integer or bool dtype (which would
    round every step away) is refused, as is complex.

    Example:
        >>> check_float_dtype("Linear", "dtype", "float64")
        dtype('float64')
        >>> check_float_dtype("Linear", "dtype", np.int32)
        Traceback (most recent call last):
        ...
        TypeError: Linear: dtype must be a floating dtype (float16, float32, float64), got int32
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"{owner}: {name} must be a floating NumPy dtype, got "
                        f"{_got(dtype)}") from error
    if dtype is None or not np.issubdtype(resolved, np.floating):
        shown = "None" if dtype is None else resolved
        raise TypeError(f"{owner}: {name} must be a floating dtype (float16, float32, float64), "
                        f"got {shown}")
    if not resolved.isnative:  # '>f4' on a little-endian machine: layers would mix orders
        raise ValueError(f"{owner}: {name} must be in the machine's byte order, got "
                         f"{resolved.str}; use {resolved.newbyteorder('=').name}")
    return resolved


def check_generator(owner: str, name: str, value: Any) -> np.random.Generator | None:
    """Return ``value`` if it is a ``np.random.Generator`` or None, else raise TypeError.

    Example:
        >>> check_generator("Dropout", "rng", 0)
        Traceback (most recent call last):
        ...
        TypeError: Dropout: rng must be a np.random.Generator or None, got int 0
    """
    if value is not None and not isinstance(value, np.random.Generator):
        raise TypeError(f"{owner}: {name} must be a np.random.Generator or None, got "
                        f"{_got(value)}")
    return value


# --------------------------------------------------------------------------- arrays
def check_float_array(owner: str, name: str, x: Any) -> np.ndarray:
    """Return ``x`` if it is a real floating ndarray; TypeError naming ``owner`` otherwise.

    The input-dtype policy of every layer and loss: integer, bool and complex arrays are
    refused (PyTorch refuses them in its conv, linear and most activation layers), so no
    layer silently rounds, truncates or compares complex numbers.

    Example:
        >>> check_float_array("ReLU", "input", np.array([1, 2]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: ReLU: input must be a floating array (float16, ...), got dtype int64; ...
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{owner}: expected a numpy.ndarray {name}, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{owner}: {name} must be a floating array (float16, float32, float64), "
                        f"got dtype {x.dtype}; cast it, e.g. x.astype(np.float32)")
    return x


def check_input(layer: Any, x: np.ndarray, ndim: int | None = None,
                channels: int | None = None, dtype: np.dtype | None = None) -> None:
    """Raise an error naming ``layer`` unless ``x`` is a floating ndarray of the right form.

    The input-dtype policy: ``x`` must be a real floating array; integer, bool and
    complex arrays raise TypeError (as PyTorch's conv and linear layers do), so no layer
    rounds, truncates or compares complex numbers silently. Then, ValueError: ``ndim``
    (None: any) against ``x.ndim``, ``channels`` against ``x.shape[1]``, and ``dtype``
    against ``x.dtype`` (so a float64 input to float32 weights is an error, not a
    silent cast).
    """
    name = type(layer).__name__
    check_float_array(name, "input", x)
    if ndim is not None and x.ndim != ndim:
        layout = {2: "(N, features)", 3: "(N, C, L)", 4: "(N, C, H, W)"}.get(ndim, "")
        raise ValueError(f"{name}: expected a {ndim}-D input {layout}, got shape {x.shape}"
                         f"{batch_axis_hint(x, ndim)}")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{name}: expected {channels} input channels (x.shape[1]), got input of shape "
            f"{x.shape}"
        )
    if dtype is not None:
        check_input_dtype(layer, x, dtype)


def check_input_dtype(layer: Any, x: np.ndarray, dtype: np.dtype) -> None:
    """Raise a ValueError naming ``layer`` unless ``x.dtype`` is the layer's ``dtype``."""
    if x.dtype != dtype:
        build = (f" or build the layer with dtype=np.{x.dtype}" if x.dtype.isnative
                 else f" (a layer's dtype is in the machine's byte order; x's is {x.dtype.str})")
        raise ValueError(
            f"{type(layer).__name__}: input dtype {x.dtype} does not match the layer's dtype "
            f"{np.dtype(dtype)}; cast the input with x.astype(np.{np.dtype(dtype)}){build}"
        )


def batch_axis_hint(x: np.ndarray, ndim: int) -> str:
    """The end of a wrong-ndim message: how to add the batch axis if ``x`` lacks only that.

    PyTorch's layers take one unbatched example; convnp's always want the batch axis.
    An axis too few may also be a batch of another layout ((N, C, L) given to a 2-D
    layer), hence the "if".

    Example:
        >>> batch_axis_hint(np.zeros((1, 28, 28)), 4)
        '; if x is one example, add a batch axis of size 1: x[None] has shape (1, 1, 28, 28)'
        >>> batch_axis_hint(np.zeros((2, 1, 28, 28, 1)), 4)
        ''
    """
    if x.ndim != ndim - 1:
        return ""
    return (f"; if x is one example, add a batch axis of size 1: x[None] has shape "
            f"{(1, *x.shape)}")


def check_positive(layer: Any, *names: str) -> None:
    """Raise a ValueError naming ``layer`` unless each named tuple attribute is all >= 1.

    Used for ``kernel_size``, ``stride`` and ``dilation``, already normalised to tuples.
    """
    for name in names:
        if min(getattr(layer, name)) < 1:
            raise ValueError(f"{type(layer).__name__}: {name} must be >= 1, got "
                             f"{getattr(layer, name)}")


def check_window_fits(layer: Any, x_shape: tuple[int, ...],
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


def check_grad(layer: Any, grad_y: np.ndarray, shape: tuple[int, ...],
               dtype: np.dtype | None = None) -> None:
    """Raise an error naming ``layer`` unless ``grad_y`` is an array shaped like its output.

    A TypeError for anything but an ndarray (a hint for a scalar: the loss was passed
    instead of ``loss_fn.backward()``), a ValueError for a wrong shape.

    With ``dtype`` (layers with parameters pass their own) a gradient of another dtype
    is an error too: ``param.grad += ...`` would otherwise cast it silently.
    """
    name = type(layer).__name__
    if not isinstance(grad_y, np.ndarray):
        loss = (": the loss value itself, not its gradient? pass loss_fn.backward(), dL/d(output)"
                if isinstance(grad_y, (int, float, np.number)) else "")
        raise TypeError(f"{name}.backward: expected a NumPy array dL/dy of the output's shape "
                        f"{tuple(shape)}, got {type(grad_y).__name__}{loss}")
    if grad_y.shape != tuple(shape):
        raise ValueError(
            f"{name}.backward: expected a gradient of the output's shape "
            f"{tuple(shape)}, got {grad_y.shape}"
        )
    if dtype is not None and grad_y.dtype != dtype:
        raise ValueError(
            f"{name}.backward: expected a gradient of dtype {np.dtype(dtype)} (the layer's "
            f"dtype), got {grad_y.dtype}"
        )


def rng_and_dtype(owner: str, rng: Any, dtype: Any) -> np.random.Generator:
    """Check ``rng`` (a Generator or None) and ``dtype`` (floating); return a Generator.

    None becomes a generator seeded with fresh entropy. The model builders use it.
    """
    check_generator(owner, "rng", rng)
    check_float_dtype(owner, "dtype", dtype)
    return rng if rng is not None else np.random.default_rng()


def check_state_dict(owner: str, state: Any) -> None:
    """Raise a TypeError naming ``owner`` unless ``state`` is a dict (any Mapping, such as
    an opened ``.npz``), as every ``load_state_dict`` takes.

    Example:
        >>> check_state_dict("SGD.load_state_dict", [("lr", 0.1)])
        Traceback (most recent call last):
        ...
        TypeError: SGD.load_state_dict: expected a dict of arrays by name, as state_dict() \
returns, got list
    """
    if not isinstance(state, Mapping):
        raise TypeError(f"{owner}: expected a dict of arrays by name, as state_dict() "
                        f"returns, got {type(state).__name__}")


def check_buffer(owner: str, name: str, old: np.ndarray, new: Any) -> np.ndarray:
    """Return ``new`` if it may replace the buffer ``old`` (``running_mean``, ...): an array
    (or NumPy scalar, for a 0-d buffer) of the same shape and dtype. Another dtype would
    leak into the outputs and make saved checkpoints unloadable; another shape would fail
    deep inside the next forward.

    Example:
        >>> check_buffer("BatchNorm2d", "running_mean", np.zeros(3, np.float32), np.zeros(4))
        Traceback (most recent call last):
        ...
        ValueError: BatchNorm2d: running_mean must stay an array of shape (3,) and dtype \
float32, got float64 of shape (4,); to change its values, assign running_mean[...] = values
    """
    if isinstance(new, np.generic):  # ``count = count + 1`` on a 0-d buffer gives a scalar
        new = np.asarray(new)
    if not isinstance(new, np.ndarray):
        raise TypeError(f"{owner}: {name} must stay an array of shape {old.shape} and dtype "
                        f"{old.dtype}, got {type(new).__name__}; to change its values, assign "
                        f"{name}[...] = values")
    if new.shape != old.shape or new.dtype != old.dtype:
        raise ValueError(f"{owner}: {name} must stay an array of shape {old.shape} and dtype "
                         f"{old.dtype}, got {new.dtype} of shape {new.shape}; to change its "
                         f"values, assign {name}[...] = values")
    return new
