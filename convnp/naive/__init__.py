"""Convolution, pooling and transposed convolution as loops, straight from the definitions.

This is the first of the three ways the course computes a convolution: every output
element (or, for the backward passes and the transposed convolution, every term of every
sum) worked out on its own, each index written by hand. The names follow CS231n
(``conv2d_forward_naive``); the arguments, their order and the layouts follow PyTorch
(NCHW / NCL; weight (C_out, C_in/G, kH, kW), or (C_in, C_out/G, kH, kW) when transposed;
cross-correlation, no kernel flip; 2-D sizes given as an int or an ``(H, W)`` pair).

Every ``*_forward_naive(x, ...)`` returns y; every ``*_backward_naive(grad_y, x, ...)``
takes the output gradient followed by the forward's own arguments and returns the input
gradient, with ``(grad_x, grad_weight, grad_bias)`` for the convolutions (``grad_bias``
is None when ``bias`` is).

The arithmetic runs on Python floats (``tolist()``), so every result is float64 whatever
the input dtype. The loops are slow: use them on small arrays, to read, and as an
independent reference. This subpackage imports only NumPy and shares no code with the
rest of convnp; convnp's tests check the vectorised kernels against it.

Example:
    >>> import numpy as np
    >>> from convnp import naive
    >>> x = np.arange(12.0).reshape(1, 1, 3, 4)
    >>> naive.conv2d_forward_naive(x, np.array([[[[1.0], [2.0]]]]))
    array([[[[ 8., 11., 14., 17.],
             [20., 23., 26., 29.]]]])
"""

from .avg_pool import (
    avg_pool1d_backward_naive,
    avg_pool1d_forward_naive,
    avg_pool2d_backward_naive,
    avg_pool2d_forward_naive,
)
from .conv import (
    conv1d_backward_naive,
    conv1d_forward_naive,
    conv2d_backward_naive,
    conv2d_forward_naive,
)
from .conv_transpose import (
    conv_transpose1d_backward_naive,
    conv_transpose1d_forward_naive,
    conv_transpose2d_backward_naive,
    conv_transpose2d_forward_naive,
)
from .max_pool import (
    max_pool1d_backward_naive,
    max_pool1d_forward_naive,
    max_pool2d_backward_naive,
    max_pool2d_forward_naive,
)

__all__ = [
    "avg_pool1d_backward_naive", "avg_pool1d_forward_naive", "avg_pool2d_backward_naive",
    "avg_pool2d_forward_naive", "conv1d_backward_naive", "conv1d_forward_naive",
    "conv2d_backward_naive", "conv2d_forward_naive", "conv_transpose1d_backward_naive",
    "conv_transpose1d_forward_naive", "conv_transpose2d_backward_naive",
    "conv_transpose2d_forward_naive", "max_pool1d_backward_naive", "max_pool1d_forward_naive",
    "max_pool2d_backward_naive", "max_pool2d_forward_naive",
]
