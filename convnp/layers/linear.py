"""Linear (fully connected) layer and Flatten, which turns feature maps into vectors."""

from __future__ import annotations

import math

import numpy as np

from convnp import init
from convnp.functional.linear import linear_backward, linear_forward
from convnp.layers.module import Module, Parameter, check_grad, check_input
from convnp.validate import (
    check_bool,
    check_float_dtype,
    check_generator,
    check_input_dtype,
    check_int,
)


class Linear(Module):
    """Affine layer ``y = x @ weight.T + bias``, as ``torch.nn.Linear``.

    Args:
        in_features, out_features: sizes of each input and output vector.
        bias: learn an additive bias.
        rng: the generator for the initial weights (fresh entropy if None).
        dtype: of the parameters, a floating dtype; inputs must match it.

    Init is PyTorch's: weight and bias uniform in +-1/sqrt(in_features).

    **Shape:** (*, in_features) -> (*, out_features). Weight (out, in), bias (out,).

    Example:
        >>> Linear(400, 120, rng=np.random.default_rng(0))(np.zeros((2, 400), np.float32)).shape
        (2, 120)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        super().__init__()
        self.in_features = check_int("Linear", "in_features", in_features, min=1)
        self.out_features = check_int("Linear", "out_features", out_features, min=1)
        check_bool("Linear", "bias", bias)
        check_generator("Linear", "rng", rng)
        self.dtype = check_float_dtype("Linear", "dtype", dtype)
        self.weight = Parameter(np.zeros((out_features, in_features), dtype=self.dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=self.dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng: np.random.Generator | None = None) -> None:
        """PyTorch's default: uniform in +-1/sqrt(in_features) for weight and bias."""
        rng = rng if rng is not None else np.random.default_rng()
        self.weight.data[...] = init.kaiming_uniform(self.weight.shape, self.in_features, rng,
                                                     a=math.sqrt(5), dtype=self.dtype)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            self.bias.data[...] = rng.uniform(-bound, bound, self.out_features)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*, in_features) -> (*, out_features)."""
        check_input(self, x)
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            hint = ("; after a Flatten, this means the images fed to the model have another "
                    "size than the one it was built for" if x.ndim == 2 else "")
            raise ValueError(f"Linear: expected input of shape (*, {self.in_features}), "
                             f"got {x.shape}{hint}")
        check_input_dtype(self, x, self.dtype)
        y, cache = linear_forward(x, self.weight.data,
                                  None if self.bias is None else self.bias.data)
        self._save((cache, y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """(*, out_features) -> (*, in_features); adds into weight.grad and bias.grad."""
        x, y_shape = self._saved()
        check_grad(self, grad_y, y_shape, self.dtype)
        grad_x, grad_weight, grad_bias = linear_backward(grad_y, x, self.weight.data,
                                                         input_grad)
        self.weight.grad += grad_weight
        if self.bias is not None:
            self.bias.grad += grad_bias
        return grad_x

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}"
        if self.bias is None:
            s += ", bias=False"
        if self.dtype != np.float32:
            s += f", dtype={self.dtype}"
        return s


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one, as ``torch.nn.Flatten``.

    **Shape:** (N, C, H, W) -> (N, C*H*W) with the defaults ``start_dim=1, end_dim=-1``.

    Example:
        >>> Flatten()(np.zeros((2, 16, 5, 5))).shape
        (2, 400)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = check_int("Flatten", "start_dim", start_dim)
        self.end_dim = check_int("Flatten", "end_dim", end_dim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(*, d_start, ..., d_end, *) -> (*, d_start*...*d_end, *)."""
        check_input(self, x)
        for dim in (self.start_dim, self.end_dim):
            if not -x.ndim <= dim < x.ndim:
                raise ValueError(f"Flatten: dimension {dim} is out of range [{-x.ndim}, "
                                 f"{x.ndim - 1}] for an input of shape {x.shape}")
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for an input of shape {x.shape}")
        merged = math.prod(x.shape[start:end + 1])
        y = x.reshape(*x.shape[:start], merged, *x.shape[end + 1:])
        self._save((x.shape, y.shape))
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Reshape the gradient back to the input's shape."""
        x_shape, y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        return grad_y.reshape(x_shape)

    def extra_repr(self) -> str:
        return "" if (self.start_dim, self.end_dim) == (1, -1) else (
            f"start_dim={self.start_dim}, end_dim={self.end_dim}")
