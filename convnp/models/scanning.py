"""Scanning MLPs are CNNs: an MLP slid over time is a Conv1d, a distributed one a deeper CNN.

An MLP that reads a window of ``K`` time steps of ``C`` features, slid along the time axis
with stride ``S``, computes exactly what ``Conv1d(C, out, kernel_size=K, stride=S)``
computes; its later layers act on one window at a time, so they are 1x1 convolutions.
A *distributed* scanning MLP whose first-layer neurons each see only a few time steps,
with the same neurons (tied weights) at every position, is a CNN with small kernels.

Conventions used throughout:

* The MLP's input for one window is flattened **time-step-major**:
  ``[x[:, t0], x[:, t0+1], ...]``, each a block of ``C`` features, so row ``k*C + c``
  of a weight matrix belongs to time step ``k`` and channel ``c``.
* MLP weights are used as ``y = x @ w``, shape (in, out); Conv1d weights are
  (C_out, C_in, K) as in PyTorch.
* Output order. The CNNs end, as the homework's ``CNN_SimpleScanningMLP`` and
  ``CNN_DistributedScanningMLP`` do, with ``Flatten``: the last convolution's (N, O, T)
  output becomes ``reshape(N, -1)``, **channel-major**, ``[ch0 t0..t(T-1), ch1 t0..., ...]``.
  The loop references ``scan_mlp``/``distributed_scan_mlp`` concatenate the window outputs
  in time order, **time-major**, ``[t0 ch0..ch(O-1), t1 ch0..ch(O-1), ...]``. One becomes
  the other by ``scan.reshape(N, T, O).transpose(0, 2, 1).reshape(N, -1)``.

The slow definitions the models must agree with (``scan_mlp``, ``distributed_scan_mlp``)
and the parameter-sharing count are in ``scan_reference.py``. See docs/scanning_mlp.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convnp.functional.shapes import conv_output_size
from convnp.layers import Conv1d, Flatten, Linear, ReLU, Sequential, Sigmoid, Tanh
from convnp.layers.module import Module, check_grad, check_input


def mlp_to_conv1d_weight(w: np.ndarray, in_channels: int, kernel_size: int) -> np.ndarray:
    """Turn an MLP weight matrix over a flattened window into a Conv1d weight.

    ``weight[o, c, k] = w[k * in_channels + c, o]``: the window is flattened
    time-step-major, so rows ``k*C .. k*C + C-1`` are time step ``k``.

    Args:
        w: MLP weight (kernel_size * in_channels, out), used as ``y = x @ w``.
        in_channels: C, features per time step.
        kernel_size: K, time steps per window.

    **Shape:** (K*C, out) -> (out, C, K).

    Example:
        >>> mlp_to_conv1d_weight(np.zeros((192, 8)), in_channels=24, kernel_size=8).shape
        (8, 24, 8)
    """
    w = np.asarray(w)
    if w.ndim != 2 or w.shape[0] != kernel_size * in_channels:
        raise ValueError(
            f"mlp_to_conv1d_weight: expected a matrix of shape (kernel_size * in_channels, "
            f"out) = ({kernel_size * in_channels}, out), got shape {w.shape}"
        )
    return np.ascontiguousarray(w.reshape(kernel_size, in_channels, w.shape[1]).transpose(2, 1, 0))


def conv1d_to_mlp_weight(weight: np.ndarray) -> np.ndarray:
    """Turn a Conv1d weight into the MLP matrix of one window; inverse of the above.

    ``w[k * C + c, o] = weight[o, c, k]`` (time-step-major rows).

    Args:
        weight: Conv1d weight (out, C, K).

    **Shape:** (out, C, K) -> (K*C, out).

    Example:
        >>> conv1d_to_mlp_weight(np.zeros((8, 24, 8))).shape
        (192, 8)
    """
    weight = np.asarray(weight)
    if weight.ndim != 3:
        raise ValueError(f"conv1d_to_mlp_weight: expected a Conv1d weight of shape "
                         f"(out, in_channels, kernel_size), got shape {weight.shape}")
    out, channels, k = weight.shape
    return np.ascontiguousarray(weight.transpose(2, 1, 0).reshape(k * channels, out))


class RowsAsTime(Module):
    """Read a one-channel image as a sequence: rows become time steps, columns features.

    ``y[n, w, h] = x[n, 0, h, w]``: time runs down the image (axis H), and the W pixels
    of each row are the features (channels) of that step.

    **Shape:** (N, 1, H, W) -> (N, W, H), i.e. (N, features, time).

    Example:
        >>> RowsAsTime()(np.zeros((2, 1, 28, 20))).shape
        (2, 20, 28)
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, 1, H, W) -> (N, W, H)."""
        check_input(self, x, 4, channels=1)
        y = x[:, 0].transpose(0, 2, 1)
        self._save(y.shape)
        return y

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """(N, W, H) -> (N, 1, H, W): the same transpose undone."""
        check_grad(self, grad_y, self._saved())
        return grad_y.transpose(0, 2, 1)[:, None]


def _load_mlp(model: Sequential, weights: Sequence[np.ndarray],
              shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """Check the MLP matrices' shapes for ``model.init_weights``; return them as arrays."""
    name = type(model).__name__
    weights = [np.asarray(w) for w in weights]
    got = [w.shape for w in weights]
    if got != list(shapes):
        raise ValueError(f"{name}.init_weights: expected MLP weights of shapes {list(shapes)}, "
                         f"got {got}")
    return weights


class SimpleScanningMLP(Sequential):
    """The homework's MLP (192 -> 8 -> 16 -> 4) scanned over 128 steps, as a CNN.

    The MLP reads 8 time steps x 24 features = 192 inputs and is slid with stride 4:
    Conv1d(24->8, k=8, s=4)-ReLU-Conv1d(8->16, k=1)-ReLU-Conv1d(16->4, k=1)-Flatten.
    No biases (the homework's MLP has none) and no activation after the last layer.
    ``Flatten`` is channel-major, as in the homework: ``y[n, o * L_out + t]`` is output
    ``o`` of the window at position ``t``, i.e. ``self[:-1](x).reshape(N, -1)``.

    Args:
        rng: generator for the initial weights (fresh entropy if None).
        dtype: parameter dtype.

    **Shape:** (N, 24, L) -> (N, 4 * L_out), ``L_out = floor((L - 8) / 4) + 1``;
    (N, 24, 128) -> (N, 4, 31) -> (N, 124). Output order ``[ch0 t0..30, ch1 t0..30, ...]``
    (channel-major); ``scan_mlp`` gives the same numbers time-major.

    Example:
        >>> net = SimpleScanningMLP(rng=np.random.default_rng(0))
        >>> net(np.zeros((2, 24, 128), np.float32)).shape
        (2, 124)
    """

    mlp_shapes = ((192, 8), (8, 16), (16, 4))

    def __init__(self, *, rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        kw = {"bias": False, "rng": rng, "dtype": dtype}
        super().__init__(Conv1d(24, 8, 8, stride=4, **kw), ReLU(), Conv1d(8, 16, 1, **kw),
                         ReLU(), Conv1d(16, 4, 1, **kw), Flatten())

    def init_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Load the MLP's matrices [w1 (192, 8), w2 (8, 16), w3 (16, 4)] (``y = x @ w``)."""
        w1, w2, w3 = _load_mlp(self, weights, self.mlp_shapes)
        for conv, w, k in ((self[0], w1, 8), (self[2], w2, 1), (self[4], w3, 1)):
            conv.weight.data[...] = mlp_to_conv1d_weight(w, conv.in_channels, k)


class DistributedScanningMLP(Sequential):
    """The homework's distributed scanning MLP with shared neurons, as a CNN of width-2 kernels.

    Conv1d(24->2, k=2, s=2)-ReLU-Conv1d(2->8, k=2, s=2)-ReLU-Conv1d(8->4, k=2, s=1)-
    Flatten (channel-major, as in the homework); no biases, no final activation. Each
    output sees 2 x 2 x 2 = 8 time steps and the outputs are 2 x 2 x 1 = 4 steps apart, as
    in ``SimpleScanningMLP``.

    ``init_weights`` takes full MLP matrices of the simple model's shapes (192, 8), (8, 16),
    (16, 4) (the homework loads another set of them for this model) and keeps only the
    shared neurons (rows are time-step-major inputs, columns neurons):

    * ``w1[:48, :2]``: layer 1 has 2 neurons, each seeing 2 time steps x 24 features = 48
      inputs (the first 48 rows are time steps 0 and 1).
    * ``w2[:4, :8]``: layer 2's 8 neurons see 2 positions x 2 channels of layer 1 = 4 inputs.
    * ``w3[:16, :4]``: layer 3's 4 neurons see 2 positions x 8 channels of layer 2 = 16.

    The same slices serve at every position: that is the parameter sharing.

    Args:
        rng: generator for the initial weights (fresh entropy if None).
        dtype: parameter dtype.

    **Shape:** (N, 24, L) -> (N, 4 * L3), ``L1 = floor((L-2)/2)+1``, ``L2 = floor((L1-2)/2)+1``,
    ``L3 = L2 - 1``; (N, 24, 128) -> 64 -> 32 -> 31 -> (N, 4, 31) -> (N, 124), channel-major
    (``distributed_scan_mlp`` gives the same numbers time-major).

    Example:
        >>> net = DistributedScanningMLP(rng=np.random.default_rng(0))
        >>> net(np.zeros((2, 24, 128), np.float32)).shape
        (2, 124)
        >>> [p.shape for p in net.parameters()]
        [(2, 24, 2), (8, 2, 2), (4, 8, 2)]
    """

    mlp_shapes = SimpleScanningMLP.mlp_shapes

    def __init__(self, *, rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        kw = {"bias": False, "rng": rng, "dtype": dtype}
        super().__init__(Conv1d(24, 2, 2, stride=2, **kw), ReLU(),
                         Conv1d(2, 8, 2, stride=2, **kw), ReLU(),
                         Conv1d(8, 4, 2, stride=1, **kw), Flatten())

    def init_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Slice the shared neurons out of [w1 (192, 8), w2 (8, 16), w3 (16, 4)] and load them."""
        w1, w2, w3 = _load_mlp(self, weights, self.mlp_shapes)
        for conv, w in ((self[0], w1[:48, :2]), (self[2], w2[:4, :8]), (self[4], w3[:16, :4])):
            conv.weight.data[...] = mlp_to_conv1d_weight(w, conv.in_channels, 2)


class CNN(Sequential):
    """The homework's 1-D CNN classifier: Conv1d layers with activations, Flatten, Linear.

    Defaults: Conv1d(24->56, k=5, s=1)-Tanh-Conv1d(56->28, k=6, s=2)-ReLU-
    Conv1d(28->14, k=2, s=2)-Sigmoid-Flatten-Linear(420->10); train it with
    ``CrossEntropyLoss``. Flatten is PyTorch's (channel by channel).

    Args:
        input_width: L, time steps of the input.
        num_input_channels: C, features per step.
        num_channels, kernel_sizes, strides: one entry per Conv1d layer.
        num_linear_neurons: outputs of the final Linear (classes).
        activations: one Module per Conv1d layer (new instances); None for the defaults.
        rng: generator for the initial weights (fresh entropy if None).
        dtype: parameter dtype.

    **Shape:** (N, C, L) -> (N, num_linear_neurons). Each layer maps width
    ``L -> floor((L - k) / s) + 1`` (128 -> 124 -> 60 -> 30); Linear takes
    ``num_channels[-1] * L_last`` inputs (14 * 30 = 420), stored in ``linear_in_features``.

    Example:
        >>> net = CNN(rng=np.random.default_rng(0))
        >>> net.linear_in_features, net(np.zeros((2, 24, 128), np.float32)).shape
        (420, (2, 10))
    """

    def __init__(self, input_width: int = 128, num_input_channels: int = 24,
                 num_channels: Sequence[int] = (56, 28, 14),
                 kernel_sizes: Sequence[int] = (5, 6, 2), strides: Sequence[int] = (1, 2, 2),
                 num_linear_neurons: int = 10, activations: Sequence[Module] | None = None, *,
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        if activations is None:
            activations = [Tanh(), ReLU(), Sigmoid()]
        lengths = {len(num_channels), len(kernel_sizes), len(strides), len(activations)}
        if len(lengths) != 1:
            raise ValueError(
                f"CNN: num_channels, kernel_sizes, strides and activations must have the same "
                f"length, got {len(num_channels)}, {len(kernel_sizes)}, {len(strides)} and "
                f"{len(activations)}"
            )
        layers: list[Module] = []
        width, channels = input_width, num_input_channels
        for out, k, s, act in zip(num_channels, kernel_sizes, strides, activations):
            if width < k:
                raise ValueError(f"CNN: a width-{k} kernel does not fit the width-{width} "
                                 f"input of layer {len(layers) // 2} (input_width "
                                 f"{input_width})")
            layers += [Conv1d(channels, out, k, stride=s, rng=rng, dtype=dtype), act]
            width, channels = conv_output_size(width, k, s), out
        super().__init__(*layers, Flatten(),
                         Linear(channels * width, num_linear_neurons, rng=rng, dtype=dtype))
        self.linear_in_features = channels * width
