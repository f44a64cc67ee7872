"""Parameter: a learnable array together with its gradient, as ``torch.nn.Parameter``.

A layer registers one by assigning it as an attribute (``self.weight = Parameter(...)``);
``Module.named_parameters`` finds it there.
"""

from __future__ import annotations

import numpy as np

from convnp.validate import check_bool, check_float_dtype


class Parameter:
    """A learnable array together with its gradient.

    Args:
        data: the values, a floating array (integer, bool or complex parameters could
            not be learned by small steps, so they are refused). Kept as given (no copy).
        requires_grad: ``False`` freezes it: optimizers skip it and ``summary`` counts
            it as non-trainable.

    Attributes:
        data: ndarray of values. Assigning ``p.data = array`` is checked: the new array
            must have the same shape and dtype (``Module.to``/``Parameter.to`` change
            the dtype on purpose).
        grad: ndarray of the same shape and dtype, zeros until a ``backward`` adds to it;
            assignments are checked in the same way.

    Example:
        >>> p = Parameter(np.ones((2, 3)))
        >>> p.grad.shape, p.grad.dtype
        ((2, 3), dtype('float64'))
        >>> p.data = np.zeros((3, 2))
        Traceback (most recent call last):
        ...
        ValueError: Parameter: cannot assign data of shape (3, 2) to a parameter of shape (2, 3)
    """

    def __init__(self, data: np.ndarray, requires_grad: bool = True) -> None:
        data = np.asarray(data)
        check_float_dtype("Parameter", "data's dtype", data.dtype)
        self._data = _writable("data", data)
        self._grad = np.zeros_like(data)
        self.requires_grad = requires_grad

    def _checked(self, what: str, value: np.ndarray) -> np.ndarray:
        if value is None:
            clear = ("; to clear it (PyTorch's p.grad = None) call p.zero_grad()"
                     if what == "grad" else "")
            raise TypeError(f"Parameter: {what} is always an array of shape "
                            f"{self._data.shape}, got None{clear}")
        value = np.asarray(value)
        if value.shape != self._data.shape:
            raise ValueError(f"Parameter: cannot assign {what} of shape {value.shape} to a "
                             f"parameter of shape {self._data.shape}")
        if value.dtype != self._data.dtype:
            raise ValueError(f"Parameter: cannot assign {what} of dtype {value.dtype} to a "
                             f"parameter of dtype {self._data.dtype}; cast it with "
                             f".astype(np.{self._data.dtype}), or change the parameter's "
                             "dtype with Parameter.to / Module.to")
        return _writable(what, value)

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value: np.ndarray) -> None:
        self._data = self._checked("data", value)

    @property
    def grad(self) -> np.ndarray:
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad = self._checked("grad", value)

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self._requires_grad = check_bool("Parameter", "requires_grad", value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    def to(self, dtype: np.dtype | type) -> Parameter:
        """Cast the values to the floating ``dtype`` and reset ``grad`` to zeros; returns self."""
        dtype = check_float_dtype("Parameter.to", "dtype", dtype)
        self._data = self._data.astype(dtype)
        self._grad = np.zeros_like(self._data)
        return self

    def zero_grad(self) -> None:
        self._grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={self._data.shape}, dtype={self._data.dtype})"


def check_replacement(owner: str, name: str, old: Parameter, new: object) -> None:
    """Raise unless ``new`` may take the place of the Parameter ``old`` as ``owner.name``.

    As in PyTorch, only a Parameter or None (a layer without bias, say) may replace a
    Parameter: a bare array would silently stop being learned and saved. The layer was
    built for the old one's shape and dtype (its ``kernel_size``, ``in_features``, ...), so
    a new Parameter must have them too. To change the values, assign
    ``layer.weight.data[...] = array``.

    Example:
        >>> check_replacement("Linear", "bias", Parameter(np.zeros(2)), Parameter(np.zeros(1)))
        Traceback (most recent call last):
        ...
        ValueError: Linear: a new bias must have the old one's shape (2,) and dtype float64, \
which the layer was built for, got (1,) float64
    """
    if new is None:
        return
    if not isinstance(new, Parameter):
        raise TypeError(f"{owner}: {name} is a Parameter; assign a Parameter or None, or set "
                        f"its values with {name}.data[...] = array, got {type(new).__name__}")
    if new.shape != old.shape or new.dtype != old.dtype:
        raise ValueError(f"{owner}: a new {name} must have the old one's shape {old.shape} and "
                         f"dtype {old.dtype}, which the layer was built for, got {new.shape} "
                         f"{new.dtype}")


def _writable(what: str, value: np.ndarray) -> np.ndarray:
    """``value``, unless it is read-only: optimizers and backward passes change it in place."""
    if not value.flags.writeable:
        raise ValueError(f"Parameter: {what} must be a writable array (it is updated in place), "
                         f"got a read-only one (a broadcast view, or np.load(..., "
                         f"mmap_mode='r')); pass a copy, np.array(value)")
    return value
