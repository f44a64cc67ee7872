"""Activation layers: ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Softmax, LogSoftmax, Identity.

Each keeps what its derivative needs (the input or the output) and calls the functions in
``convnp/functional/activation.py``. All map shape (*) to (*).

``ReLU`` and ``LeakyReLU`` take PyTorch's ``inplace`` flag, so that PyTorch code runs
unchanged and ``interop`` keeps it, but they never overwrite their input: the numbers are
the same either way. An earlier layer may keep that very array for its backward (``Tanh``
keeps its output), and an in-place change would silently corrupt its gradient; PyTorch
catches that with version counters, which convnp does not have.
"""

from __future__ import annotations

import numpy as np

from convnp.functional.activation import (
    gelu_backward,
    gelu_phi,
    leaky_relu,
    leaky_relu_backward,
    log_softmax,
    log_softmax_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    softmax,
    softmax_backward,
    tanh_backward,
)
from convnp.layers.module import Module, check_grad, check_input
from convnp.validate import check_bool, check_choice, check_float, check_int


class _Elementwise(Module):
    """An activation ``y = f(x)`` whose backward needs only ``kept`` = x or y.

    Subclasses define ``f(x)`` and ``grad_x(grad_y, kept)``, which returns the input
    gradient ``grad_y * f'(x)`` (not ``f'`` alone).
    """

    keeps_output = True

    def f(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def grad_x(self, grad_y: np.ndarray, kept: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*) -> (*); ``x`` must be a floating array."""
        check_input(self, x)
        y = self.f(x)
        self._save(y if self.keeps_output else x)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """(*) -> (*): ``grad_x = grad_y * f'(x)``."""
        kept = self._saved()
        check_grad(self, grad_y, kept.shape)
        return self.grad_x(grad_y, kept)


class ReLU(_Elementwise):
    """``y = max(x, 0)``; ``dy/dx = 1`` where ``x > 0``, else 0.

    Args:
        inplace: accepted so that PyTorch code runs unchanged; the output is a new
            array and x is left as it was (the module docstring says why).

    **Shape:** (*) -> (*).

    Example:
        >>> ReLU()(np.array([-2.0, 0.0, 3.0]))
        array([0., 0., 3.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = check_bool("ReLU", "inplace", inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def f(self, x):
        return relu(x)

    def grad_x(self, grad_y, y):
        return relu_backward(grad_y, y)


class LeakyReLU(_Elementwise):
    """``y = x`` if ``x > 0`` else ``negative_slope * x``.

    Args:
        negative_slope: the slope for ``x <= 0``.
        inplace: accepted so that PyTorch code runs unchanged; the output is a new
            array and x is left as it was (the module docstring says why).

    **Shape:** (*) -> (*).

    Example:
        >>> LeakyReLU(0.1)(np.array([-2.0, 3.0]))
        array([-0.2,  3. ])
    """

    keeps_output = False

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = check_float("LeakyReLU", "negative_slope", negative_slope)
        self.inplace = check_bool("LeakyReLU", "inplace", inplace)

    def f(self, x):
        return leaky_relu(x, self.negative_slope)

    def grad_x(self, grad_y, x):
        return leaky_relu_backward(grad_y, x, self.negative_slope)

    def extra_repr(self) -> str:
        args = [] if self.negative_slope == 0.01 else [f"negative_slope={self.negative_slope}"]
        return ", ".join(args + ["inplace=True"] * self.inplace)


class Sigmoid(_Elementwise):
    """``y = 1/(1 + exp(-x))``; ``dy/dx = y(1 - y)``. No overflow warning for any x.

    **Shape:** (*) -> (*).

    Example:
        >>> Sigmoid()(np.array([0.0]))
        array([0.5])
    """

    def f(self, x):
        return sigmoid(x)

    def grad_x(self, grad_y, y):
        return sigmoid_backward(grad_y, y)


class Tanh(_Elementwise):
    """``y = tanh(x)``; ``dy/dx = 1 - y^2``.

    **Shape:** (*) -> (*).

    Example:
        >>> Tanh()(np.array([0.0]))
        array([0.])
    """

    def f(self, x):
        return np.tanh(x)

    def grad_x(self, grad_y, y):
        return tanh_backward(grad_y, y)


class GELU(_Elementwise):
    """``y = x * Phi(x)``, Phi the standard normal CDF (``approximate='tanh'`` for the tanh form).

    **Shape:** (*) -> (*).

    Example:
        >>> GELU()(np.array([0.0, 1.0])).round(4)
        array([0.    , 0.8413])
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = check_choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*) -> (*); keeps x and Phi(x), so backward need not evaluate erf again."""
        check_input(self, x)
        phi = gelu_phi(x, self.approximate)
        self._save((x, phi))
        return (x * phi).astype(x.dtype, copy=False)

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """(*) -> (*): ``grad_x = grad_y * (Phi(x) + x * Phi'(x))``."""
        x, phi = self._saved()
        check_grad(self, grad_y, x.shape)
        return gelu_backward(grad_y, x, self.approximate, phi)

    def extra_repr(self) -> str:
        return "" if self.approximate == "none" else f"approximate={self.approximate!r}"


class _SoftmaxNd(_Elementwise):
    """Shared by Softmax and LogSoftmax: the ``dim`` argument and its check."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = check_int(type(self).__name__, "dim", dim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*) -> (*), normalised along ``dim``."""
        check_input(self, x)
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"{type(self).__name__}: dim {self.dim} is out of range for an "
                             f"input of shape {x.shape}")
        return super().forward(x)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxNd):
    """``y = exp(x) / sum(exp(x))`` along ``dim``; ``grad_x = y (grad_y - sum(grad_y y))``.

    Args:
        dim: the axis normalised. Default 1, the class or channel axis of (N, C, *).
            PyTorch's default, None, makes it guess an axis (dim 0 for 1-D and 3-D
            input) and is deprecated there; ``interop`` refuses it.

    **Shape:** (*) -> (*).

    Example:
        >>> Softmax(dim=1)(np.array([[0.0, 0.0]]))
        array([[0.5, 0.5]])
    """

    def f(self, x):
        return softmax(x, self.dim)

    def grad_x(self, grad_y, y):
        return softmax_backward(grad_y, y, self.dim)


class LogSoftmax(_SoftmaxNd):
    """``y = x - log sum exp(x)`` along ``dim``, computed stably.

    Args:
        dim: the axis normalised; default 1, as for ``Softmax``.

    **Shape:** (*) -> (*).

    Example:
        >>> np.exp(LogSoftmax(dim=1)(np.array([[0.0, 0.0]])))
        array([[0.5, 0.5]])
    """

    def f(self, x):
        return log_softmax(x, self.dim)

    def grad_x(self, grad_y, y):
        return log_softmax_backward(grad_y, y, self.dim)


class Identity(Module):
    """``y = x``: a placeholder layer that passes its input through.

    It keeps only the input's shape, so changing ``x`` (which is also ``y``) in place
    after forward does not affect backward.

    **Shape:** (*) -> (*).

    Example:
        >>> Identity()(np.array([1.0]))
        array([1.])
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*) -> (*), the same array."""
        check_input(self, x)
        self._save(x.shape)
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """(*) -> (*): ``grad_x = grad_y``."""
        check_grad(self, grad_y, self._saved())
        return grad_y
