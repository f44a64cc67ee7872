"""The matrix products of one training step, timed alone: a floor under convnp's step time.

convnp computes each ``Conv2d`` and ``Linear`` layer as matrix products (im2col, then
``np.matmul``), and everything else around them is extra memory traffic. So the time
NumPy's BLAS needs for those products alone, each as one ``np.matmul``, shows how much
of convnp's step the products take. It is close to a floor, not a strict one:
``_fast.fast_grad_weight`` computes a tiny grad_W faster, in pieces, and a stride-1
layer's products run one per output row (``row_columns.py``), at another rate.

Per layer and group, with ``M = N*H_out*W_out`` and ``K = C_in/G*kH*kW`` (as in
``functional/conv.py``), the three products are::

    forward      (C_out/G, K) @ (K, M)
    grad_W       (K, M) @ (M, C_out/G)      (the orientation ``_fast.fast_grad_weight`` uses)
    grad_cols    (K, C_out/G) @ (C_out/G, M)  only if the layer's dL/dx is computed

A ``Linear`` layer has ``x @ W.T``, ``grad_y.T @ x`` and ``grad_y @ W``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from convnp import Conv2d, Linear
from convnp.layers import Module

Product = tuple[int, int, int, int]  # (groups, rows, inner, columns)


def step_products(model: Module, x: np.ndarray, input_grad: bool) -> list[Product]:
    """The matrix products of one forward+backward of ``model`` on ``x``.

    Runs one forward pass to see each layer's input and output shape. With
    ``input_grad=False`` the first layer's grad_cols product is left out, as
    ``backward(..., input_grad=False)`` skips it.
    """
    shapes: list[tuple[Module, tuple[int, ...], tuple[int, ...]]] = []
    layers = [m for m in model.modules() if isinstance(m, (Conv2d, Linear))]
    for layer in layers:
        def recording(x_in: np.ndarray, layer: Module = layer) -> np.ndarray:
            y = type(layer).forward(layer, x_in)
            shapes.append((layer, x_in.shape, y.shape))
            return y
        layer.forward = recording
    try:
        model(x)
    finally:
        for layer in layers:
            del layer.forward
    products = []
    for i, (layer, x_shape, y_shape) in enumerate(shapes):
        with_grad_x = input_grad or i > 0
        if isinstance(layer, Conv2d):
            G = layer.groups
            M = y_shape[0] * y_shape[2] * y_shape[3]
            K = layer.weight.data[0].size  # C_in/G * kH * kW
            C = layer.out_channels // G
            products += [(G, C, K, M), (G, K, M, C)] + ([(G, K, C, M)] if with_grad_x else [])
        else:  # x @ W.T, grad_y.T @ x, grad_y @ W (functional/linear.py)
            N, n_in, n_out = x_shape[0], layer.in_features, layer.out_features
            products += [(1, N, n_in, n_out), (1, n_out, N, n_in)]
            products += [(1, N, n_out, n_in)] if with_grad_x else []
    return products


def time_products(products: list[Product], dtype: np.dtype = np.float32,
                  repeats: int = 5) -> float:
    """Seconds for all ``products`` with ``np.matmul``: the sum of each one's median."""
    rng = np.random.default_rng(0)
    total = 0.0
    for G, rows, inner, cols in products:
        a = rng.standard_normal((G, rows, inner)).astype(dtype)
        b = rng.standard_normal((G, inner, cols)).astype(dtype)
        np.matmul(a, b)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b)
            times.append(time.perf_counter() - start)
        total += statistics.median(times)
    return total
