"""Fully connected (affine) layer forward and backward.

    y = x @ weight.T + bias        x (N, in), weight (out, in), bias (out,)

Backward, from the same matrix product:

    grad_x      = grad_y @ weight            (N, in)
    grad_weight = grad_y.T @ x               (out, in)
    grad_bias   = grad_y summed over N       (out,)

Leading axes beyond the last are treated as batch axes, as in PyTorch. The products run
through ``_blas.matmul`` (``np.matmul``, on one BLAS thread when small and the machine
is busy).
"""

from __future__ import annotations

import numpy as np

from convnp.functional._blas import matmul


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Affine map ``x @ weight.T + bias``.

    Args:
        x: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Returns:
        ``(y, cache)``, y of shape (*, out_features); the cache is ``x`` itself.

    **Shape:** (*, in_features) -> (*, out_features).

    Example:
        >>> linear_forward(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]), np.array([0.5]))[0]
        array([[11.5]])
    """
    y = matmul(x, weight.T)
    if bias is not None:
        y += bias
    return y, x


def linear_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray,
                    input_grad: bool = True
                    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of ``linear_forward``.

    Args:
        grad_y: (*, out_features).
        x: the forward input (*, in_features).
        weight: (out_features, in_features).
        input_grad: if False, return None instead of computing grad_x.

    Returns:
        ``(grad_x (*, in), grad_weight (out, in), grad_bias (out,))``.
    """
    gy = grad_y.reshape(-1, grad_y.shape[-1])
    grad_weight = matmul(gy.T, x.reshape(-1, x.shape[-1]))
    grad_bias = gy.sum(axis=0)
    grad_x = matmul(grad_y, weight) if input_grad else None
    return grad_x, grad_weight, grad_bias
