"""The slow, obvious definitions of scanning MLPs, and how much they share.

``scan_mlp`` slides an MLP over the time axis with a Python loop, one window at a time;
``distributed_scan_mlp`` evaluates the tree of small MLPs of a distributed scanning
network with tied weights. They use NumPy and Python loops only, no convnp code, so
they are an independent definition that the CNN forms in ``scanning.py`` must match.
``shared_parameter_count`` counts the neurons of the unrolled network and the distinct
parameter sets it really has.

Conventions as in ``scanning.py``: a window is flattened time-step-major, MLP weights
are (in, out) and used as ``y = x @ w``, and the window outputs are concatenated in time
order (**time-major**: all ``out`` outputs of window 0, then of window 1, ...). The CNN
models end with the homework's channel-major ``Flatten`` instead; with ``T`` windows,
``scan.reshape(N, T, out).transpose(0, 2, 1).reshape(N, -1)`` is the CNN's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def _layers(weights, biases, activation, activate_last) -> list[tuple]:
    """``(w, b, activation or None)`` per layer: no activation after the last by default."""
    biases = [None] * len(weights) if biases is None else biases
    acts = [activation] * (len(weights) - 1) + [activation if activate_last else None]
    return list(zip(weights, biases, acts))


def _dense(h: np.ndarray, w: np.ndarray, b, activation) -> np.ndarray:
    """One MLP layer: ``activation(h @ w + b)`` (no ``+ b`` if None, no activation if None)."""
    h = h @ w
    if b is not None:
        h = h + b
    return h if activation is None else activation(h)


def _check_scan(caller: str, x: np.ndarray, window: int, stride: int, rows: int,
                first_width: int) -> None:
    """ValueError unless x is (N, C, L >= window), stride >= 1, the first weight has
    ``first_width * C`` rows."""
    if x.ndim != 3 or x.shape[2] < window or stride < 1:
        raise ValueError(f"{caller}: expected x of shape (N, C, L) with L >= window {window} "
                         f"and stride >= 1, got shape {x.shape} and stride {stride}")
    if rows != first_width * x.shape[1]:
        raise ValueError(f"{caller}: the first weight has {rows} rows, but its neurons read "
                         f"{first_width} steps x {x.shape[1]} features = "
                         f"{first_width * x.shape[1]} inputs")


def scan_mlp(weights: Sequence[np.ndarray], x: np.ndarray, window: int, stride: int,
             activation: Callable[[np.ndarray], np.ndarray] = _relu, *,
             biases: Sequence[np.ndarray] | None = None,
             activate_last: bool = False) -> np.ndarray:
    """Slide an MLP over time, one window at a time: the definition a Conv1d must match.

    For ``t = 0, stride, 2*stride, ...`` (while ``t + window <= L``):
    ``h = [x[:, :, t], x[:, :, t+1], ..., x[:, :, t+window-1]]`` (time-step-major), then
    ``h = activation(h @ w + b)`` for each layer, without the activation on the last one
    unless ``activate_last``. The window outputs are concatenated in time order
    (time-major): ``y[n, t * out + o]`` is output ``o`` of window ``t``.

    Args:
        weights: MLP matrices (in, out), the first with ``window * C`` rows.
        x: (N, C, L): C features at each of L time steps.
        window, stride: window length and step, in time steps.
        activation: applied between layers (default ReLU).
        biases: one (out,) vector per layer, or None for none.
        activate_last: also apply ``activation`` after the last layer.

    **Shape:** (N, C, L) -> (N, T * out), ``T = floor((L - window) / stride) + 1``,
    time-major. ``Conv1d`` layers followed by ``Flatten`` give the same numbers
    channel-major: ``y.reshape(N, T, out).transpose(0, 2, 1).reshape(N, -1)``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> ws = [rng.standard_normal(s) for s in [(192, 8), (8, 16), (16, 4)]]
        >>> scan_mlp(ws, rng.standard_normal((2, 24, 128)), window=8, stride=4).shape
        (2, 124)
        >>> x = np.arange(5.0).reshape(1, 1, 5)           # two outputs per window of 2
        >>> scan_mlp([np.array([[1.0, 0.0], [0.0, 10.0]])], x, window=2, stride=1)
        array([[ 0., 10.,  1., 20.,  2., 30.,  3., 40.]])
    """
    x = np.asarray(x)
    _check_scan("scan_mlp", x, window, stride, np.shape(weights[0])[0], window)
    layers = _layers(weights, biases, activation, activate_last)
    outputs = []
    for t in range(0, x.shape[2] - window + 1, stride):
        h = np.concatenate([x[:, :, t + k] for k in range(window)], axis=1)
        for w, b, act in layers:
            h = _dense(h, w, b, act)
        outputs.append(h)
    return np.concatenate(outputs, axis=1)


def distributed_scan_mlp(weights: Sequence[np.ndarray], x: np.ndarray, widths: Sequence[int],
                         stride: int, activation: Callable[[np.ndarray], np.ndarray] = _relu, *,
                         biases: Sequence[np.ndarray] | None = None,
                         activate_last: bool = False) -> np.ndarray:
    """Slide a distributed MLP with tied weights over time, unrolled with Python loops.

    A window covers ``prod(widths)`` time steps. Inside it, layer ``l`` is one small MLP
    layer ``weights[l]`` applied, with the same weights, to every group of ``widths[l]``
    consecutive outputs of the layer below (concatenated time-step-major); the groups do
    not overlap. The last layer leaves one group. Windows start every ``stride`` steps, and
    their outputs are concatenated in time order (time-major), as in ``scan_mlp``.

    For the homework, ``widths=(2, 2, 2), stride=4``: 4 copies of a 48->2 layer, 2 copies
    of 4->8, one 16->4. ``Conv1d`` layers with kernels ``widths`` and strides
    ``widths[0], ..., widths[-2], stride / prod(widths[:-1])`` compute the same thing,
    without recomputing the neurons that overlapping windows share.

    Args:
        weights: one (widths[l] * C_l, C_{l+1}) matrix per layer, ``y = x @ w``.
        x: (N, C, L).
        widths: inputs (positions of the layer below) of each layer's neurons.
        stride: distance between window starts, in time steps.
        activation: applied between layers (default ReLU).
        biases: one (out,) vector per layer, or None.
        activate_last: also apply ``activation`` after the last layer.

    **Shape:** (N, C, L) -> (N, T * out), ``T = floor((L - prod(widths)) / stride) + 1``,
    time-major (``DistributedScanningMLP`` gives the same numbers channel-major).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> ws = [rng.standard_normal(s) for s in [(48, 2), (4, 8), (16, 4)]]
        >>> x = rng.standard_normal((2, 24, 128))
        >>> distributed_scan_mlp(ws, x, widths=(2, 2, 2), stride=4).shape
        (2, 124)
    """
    x = np.asarray(x)
    if len(widths) != len(weights):
        raise ValueError(f"distributed_scan_mlp: need one width per weight, got "
                         f"{len(widths)} widths and {len(weights)} weights")
    window = math.prod(widths)
    _check_scan("distributed_scan_mlp", x, window, stride, np.shape(weights[0])[0],
                widths[0])
    layers = _layers(weights, biases, activation, activate_last)
    outputs = []
    for t in range(0, x.shape[2] - window + 1, stride):
        nodes = [x[:, :, t + k] for k in range(window)]  # one (N, C) vector per time step
        for (w, b, act), width in zip(layers, widths):
            nodes = [_dense(np.concatenate(nodes[j:j + width], axis=1), w, b, act)
                     for j in range(0, len(nodes), width)]
        outputs.append(nodes[0])
    return np.concatenate(outputs, axis=1)


class SharingCount(NamedTuple):
    """What ``shared_parameter_count`` reports."""

    neurons: int
    unique_sets: int
    receptive_field: int
    unrolled_weights: int
    unique_weights: int


def shared_parameter_count(in_channels: int,
                           layers: Sequence[tuple[int, int, int]]) -> SharingCount:
    """Count neurons and shared parameters of a distributed scanning network.

    ``layers`` lists ``(n_filters, width, stride)`` per layer, bottom first. Unroll the
    network into the MLP that computes one output position (a tree): a top-layer neuron
    reads ``width_L`` positions of the layer below, each of those ``width_{L-1}`` below it,
    and so on. So layer ``l`` appears ``copies_l = width_{l+1} * ... * width_L`` times:

    * ``neurons = sum_l n_l * copies_l``: neurons in the unrolled MLP.
    * ``unique_sets = sum_l n_l``: distinct parameter sets (one per filter); all copies of
      a filter share it.
    * ``receptive_field = 1 + sum_l (width_l - 1) * stride_1 * ... * stride_{l-1}``: input
      time steps seen by one output.
    * ``unique_weights = sum_l n_l * width_l * n_{l-1}`` (``n_0 = in_channels``; no biases)
      and ``unrolled_weights = sum_l copies_l * n_l * width_l * n_{l-1}``.

    Strides do not change the counts for one output; they set how far apart outputs are.

    Args:
        in_channels: features per input time step.
        layers: ``(n_filters, width, stride)`` per layer.

    Example (the lecture's: 1 channel, then 2, 1 and 3 filters of width 2, stride 2;
    8 + 2 + 3 = 13 neurons from 2 + 1 + 3 = 6 parameter sets):

        >>> count = shared_parameter_count(1, [(2, 2, 2), (1, 2, 2), (3, 2, 2)])
        >>> count.neurons, count.unique_sets, count.receptive_field
        (13, 6, 8)
    """
    if in_channels < 1 or not layers or any(min(layer) < 1 for layer in layers):
        raise ValueError(f"shared_parameter_count: expected in_channels >= 1 and a non-empty "
                         f"list of positive (n_filters, width, stride), got {in_channels} and "
                         f"{list(layers)}")
    neurons = unique = unrolled = unique_weights = 0
    receptive_field, jump, below = 1, 1, in_channels
    for i, (n, width, stride) in enumerate(layers):
        copies = math.prod(w for _, w, _ in layers[i + 1:])
        neurons += n * copies
        unique += n
        unique_weights += n * width * below
        unrolled += copies * n * width * below
        receptive_field += (width - 1) * jump
        jump *= stride
        below = n
    return SharingCount(neurons, unique, receptive_field, unrolled, unique_weights)
