"""Reference implementations written straight from the definitions, sharing no code with convnp.

Every function here is the obvious loop: one output element at a time, each index worked
out by hand. They are slow and meant for small arrays only. Only NumPy and
``convnp.naive`` are imported; the arithmetic is done on Python floats (``tolist()``),
so the results are float64 whatever the input dtype. ``tests/test_reference.py`` pins
each of them on hand-computed cases.

The convolution and pooling loops are public teaching code in ``convnp.naive`` (which
imports only NumPy and shares no code with the rest of convnp); they are re-exported here
under the tests' short names, and ``tests/test_naive.py`` checks them further (backward
against finite differences, everything against PyTorch). What they do not cover is below.

Conventions, as in PyTorch: NCHW / NCL layout, weights (C_out, C_in/G, kH, kW),
cross-correlation (no kernel flip), ``(H, W)`` ordered pairs.
"""

from __future__ import annotations

import math

import numpy as np

from convnp.naive import avg_pool1d_forward_naive as avgpool1d_ref
from convnp.naive import avg_pool2d_forward_naive as avgpool2d_ref
from convnp.naive import conv1d_forward_naive as conv1d_ref
from convnp.naive import conv2d_forward_naive as conv2d_ref
from convnp.naive import max_pool1d_forward_naive as maxpool1d_ref
from convnp.naive import max_pool2d_backward_naive, max_pool2d_forward_naive
from convnp.naive._common import out_len as out_size_ref

__all__ = [
    "avgpool1d_ref", "avgpool2d_ref", "conv1d_ref", "conv2d_ref", "cross_entropy_ref",
    "gelu_ref", "linear_ref", "log_softmax_ref", "maxpool1d_ref", "maxpool2d_backward_ref",
    "maxpool2d_ref", "out_size_ref", "pad_ref", "same_pads_ref", "softmax_ref",
]

# --------------------------------------------------------------------------- from convnp.naive
maxpool2d_ref = max_pool2d_forward_naive


def maxpool2d_backward_ref(x, grad_y, kernel_size, stride=None, padding=0, dilation=1,
                           ceil_mode: bool = False) -> np.ndarray:
    """``max_pool2d_backward_naive`` with the tests' argument order ``(x, grad_y, ...)``."""
    return max_pool2d_backward_naive(grad_y, x, kernel_size, stride, padding, dilation,
                                     ceil_mode)


# --------------------------------------------------------------------------- padding
def _source(t: int, n: int, mode: str) -> int | None:
    """Input index that padded position ``t`` (``t < 0`` or ``t >= n`` is padding) copies."""
    if 0 <= t < n:
        return t
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if t < 0 else n - 1
    if mode == "circular":
        return t % n
    if mode == "reflect":  # mirror about the edge sample, which is not repeated
        return -t if t < 0 else 2 * (n - 1) - t
    raise ValueError(f"pad_ref: unknown mode {mode!r}")


def pad_ref(x: np.ndarray, pads, mode: str = "zeros") -> np.ndarray:
    """Pad the last ``len(pads)`` axes; ``pads`` holds one ``(before, after)`` per axis.

    Position ``t`` of an axis of length n (``-before <= t < n + after``) copies input
    index: t itself inside; 0 (zeros); clamp(t, 0, n-1) (replicate); t mod n (circular);
    -t or 2(n-1)-t (reflect).
    """
    x = np.asarray(x)
    lead = x.ndim - len(pads)
    spatial = x.shape[lead:]
    out_shape = x.shape[:lead] + tuple(n + b + a for n, (b, a) in zip(spatial, pads))
    out = np.zeros(out_shape, dtype=np.float64)
    for index in np.ndindex(*out_shape[lead:]):
        src = []
        for t, n, (before, _) in zip(index, spatial, pads):
            src.append(_source(t - before, n, mode))
        if None in src:
            continue
        out[(Ellipsis, *index)] = x[(Ellipsis, *src)]
    return out


# --------------------------------------------------------------------------- 'same' padding
def same_pads_ref(kernel_size, dilation) -> list[tuple[int, int]]:
    """PyTorch's ``padding='same'``: total ``d(k-1)`` per axis, the odd extra at the end."""
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
            for k, d in zip(kernel_size, dilation)]


# --------------------------------------------------------------------------- dense layers
def linear_ref(x, weight, bias=None) -> np.ndarray:
    """``y[..., o] = b[o] + sum_i x[..., i] * w[o, i]`` for every leading index."""
    x = np.asarray(x)
    C_out, C_in = np.shape(weight)
    ws = np.asarray(weight).tolist()
    y = np.zeros(x.shape[:-1] + (C_out,))
    for lead in np.ndindex(*x.shape[:-1]):
        row = x[lead].tolist()
        for o in range(C_out):
            total = 0.0 if bias is None else float(bias[o])
            for i in range(C_in):
                total += row[i] * ws[o][i]
            y[lead + (o,)] = total
    return y


# --------------------------------------------------------------------------- softmax, losses
def log_softmax_ref(x, dim: int) -> np.ndarray:
    """``y = x - log(sum(exp(x)))`` along ``dim``, one slice at a time, max subtracted first."""
    x = np.moveaxis(np.asarray(x, dtype=np.float64), dim, -1)
    y = np.zeros(x.shape)
    for lead in np.ndindex(*x.shape[:-1]):
        row = x[lead].tolist()
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        y[lead] = [v - lse for v in row]
    return np.moveaxis(y, -1, dim)


def softmax_ref(x, dim: int) -> np.ndarray:
    """``exp(x_c) / sum_c' exp(x_c')`` along ``dim``."""
    return np.exp(log_softmax_ref(x, dim))


def cross_entropy_ref(logits, target, label_smoothing: float = 0.0,
                      reduction: str = "mean"):
    """``loss_n = -sum_c q[n,c] log p[n,c]``, ``q = (1-e) onehot + e/C`` (or given probabilities).

    'mean' divides the sum by N, 'sum' adds, 'none' returns the (N,) vector.
    """
    logits = np.asarray(logits, dtype=np.float64)
    N, C = logits.shape
    log_p = log_softmax_ref(logits, 1)
    target = np.asarray(target)
    losses = np.zeros(N)
    for n in range(N):
        for c in range(C):
            if target.ndim == 1:
                q = 1.0 if c == int(target[n]) else 0.0
            else:
                q = float(target[n, c])
            q = (1 - label_smoothing) * q + label_smoothing / C
            losses[n] -= q * log_p[n, c]
    if reduction == "none":
        return losses
    return float(losses.sum() / N) if reduction == "mean" else float(losses.sum())


def gelu_ref(x, approximate: str = "none") -> np.ndarray:
    """``x * Phi(x)``: ``Phi = (1 + erf(x/sqrt 2))/2``, or the tanh approximation."""
    out = []
    for v in np.asarray(x, dtype=np.float64).ravel().tolist():
        if approximate == "tanh":
            phi = 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
        else:
            phi = 0.5 * (1 + math.erf(v / math.sqrt(2)))
        out.append(v * phi)
    return np.array(out).reshape(np.shape(x))
