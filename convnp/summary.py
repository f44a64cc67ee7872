"""``summary(model, input_shape)``: a table of each layer's output shape and parameter count.

Like Keras' ``model.summary()`` or the ``torchsummary`` package: push one batch of zeros
through the model and write down, for every layer, the shape that comes out and how many
numbers it learns. The totals answer two questions students ask of every network: how
many parameters does it have, and how much memory do its activations take for one
input (that memory is what a training step must keep for the backward pass).

The two helpers here are shared with ``convnp.receptive_field`` and ``convnp.viz``:

- ``named_layers(model)`` flattens nested ``Sequential`` containers into a list of
  ``(dotted name, layer)`` pairs, e.g. ``('3.1', ReLU())``;
- ``model_dtype(model)``, the dtype a forward pass of zeros should use.

``inspection_mode(model)`` (in ``convnp.layers.module``) runs the model in eval mode with
caching off inside a ``with`` block and leaves every module exactly as it found it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convnp.layers.container import Sequential
from convnp.layers.module import Module, inspection_mode
from convnp.validate import check_float_dtype, int_tuple, kind_of


def named_layers(model: Module, prefix: str = "") -> list[tuple[str, Module]]:
    """Flatten nested ``Sequential`` containers into ``(dotted name, layer)`` pairs, in order.

    Anything that is not a ``Sequential`` is one layer, even if it has children of its
    own (a custom block is shown as one row, holding all its parameters).

    Args:
        model: a Module; a bare layer gives one pair with the name ``''``.
        prefix: put in front of every name (used by the recursion).

    Example:
        >>> from convnp.layers import Conv2d, ReLU
        >>> net = Sequential(Sequential(Conv2d(1, 2, 3), ReLU()), ReLU())
        >>> [name for name, _ in named_layers(net)]
        ['0.0', '0.1', '1']
    """
    if not isinstance(model, Sequential):
        return [(prefix, model)]
    pairs = []
    for name, child in model.named_children():
        if isinstance(child, Sequential):
            pairs += named_layers(child, f"{prefix}{name}.")
        else:
            pairs.append((f"{prefix}{name}", child))
    return pairs


def model_dtype(model: Module) -> np.dtype:
    """The dtype of the model's first parameter (float32 for a model without parameters).

    Example:
        >>> from convnp.layers import Linear, ReLU
        >>> model_dtype(Linear(2, 3, dtype=np.float64)), model_dtype(ReLU())
        (dtype('float64'), dtype('float32'))
    """
    params = model.parameters()
    return params[0].data.dtype if params else np.dtype(np.float32)


class SummaryRow(NamedTuple):
    """One line of the table: a layer and what comes out of it."""

    name: str
    layer: str
    output_shape: tuple[int, ...]
    n_params: int


class Summary:
    """The result of ``summary``: ``print`` it for the table, or read its attributes.

    Attributes:
        rows: list of ``SummaryRow(name, layer, output_shape, n_params)``, one per layer
            in the order they run.
        input_shape: the shape of the zeros that were pushed through.
        dtype: the dtype of that input (the model's dtype).
        total_params, trainable_params, non_trainable_params: parameter counts;
            trainable means ``Parameter.requires_grad``.
        activation_bytes: bytes of all the layer outputs together, for this input.
    """

    def __init__(self, rows: list[SummaryRow], input_shape: tuple[int, ...], dtype: np.dtype,
                 total_params: int, trainable_params: int, activation_bytes: int) -> None:
        self.rows = rows
        self.input_shape = input_shape
        self.dtype = dtype
        self.total_params = total_params
        self.trainable_params = trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.activation_bytes = activation_bytes

    def __str__(self) -> str:
        header = ("Layer (type)", "Output shape", "Param #")
        cells = [(f"{r.name} ({r.layer})" if r.name else r.layer, str(r.output_shape),
                  f"{r.n_params:,}") for r in self.rows]
        widths = [max(len(line[i]) for line in [header, *cells]) for i in range(3)]
        width = sum(widths) + 4

        def line(c: tuple[str, str, str]) -> str:
            return f"{c[0]:<{widths[0]}}  {c[1]:<{widths[1]}}  {c[2]:>{widths[2]}}"

        input_bytes = int(np.prod(self.input_shape)) * self.dtype.itemsize
        return "\n".join([
            line(header), "=" * width, *[line(c) for c in cells], "=" * width,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            "-" * width,
            f"Input: {self.input_shape} {self.dtype}, {format_bytes(input_bytes)}",
            f"Activations (all layer outputs): {format_bytes(self.activation_bytes)}",
        ])

    def __repr__(self) -> str:
        return (f"Summary({len(self.rows)} layers, {self.total_params:,} params, "
                f"activations {format_bytes(self.activation_bytes)})")


def format_bytes(n: int) -> str:
    """Write a byte count for people: ``B`` below 1 KB, then ``KB``, ``MB``, ``GB`` (1 KB = 1024 B).

    Example:
        >>> format_bytes(512), format_bytes(60008), format_bytes(3 * 2**20)
        ('512 B', '58.60 KB', '3.00 MB')
    """
    if n < 1024:
        return f"{n} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
    raise AssertionError("unreachable")


def summary(model: Module, input_shape: tuple[int, ...], dtype: np.dtype | None = None
            ) -> Summary:
    """Push zeros of ``input_shape`` through ``model`` and tabulate every layer's output.

    For each layer (nested ``Sequential`` containers are opened up, with dotted names
    such as ``'2.0'``) the table shows the output shape and the number of parameters,
    then the total, trainable and non-trainable parameter counts and the memory of all
    layer outputs for this input. The forward pass runs in ``inspection_mode``: eval
    mode, no cache, and the model is left as it was.

    A conv layer has ``C_out * (C_in/G * kH * kW + 1)`` parameters (the ``+ 1`` is the
    bias), a linear layer ``out * (in + 1)``.

    Args:
        model: a Module, usually a ``Sequential``.
        input_shape: the full input shape including the batch, e.g. ``(1, 1, 28, 28)``.
        dtype: of the zeros; default the dtype of the model's first parameter.

    Returns:
        A ``Summary``; ``print(summary(...))`` shows the table, ``.rows`` has the data.

    **Shape:** the input ``input_shape``; each row holds its layer's output shape.

    Example:
        >>> from convnp.layers import Conv2d, Flatten, Linear, ReLU
        >>> rng = np.random.default_rng(0)
        >>> net = Sequential(Conv2d(1, 4, 3, rng=rng), ReLU(), Flatten(),
        ...                  Linear(4 * 6 * 8, 10, rng=rng))
        >>> print(summary(net, (1, 1, 8, 10)))
        Layer (type)  Output shape  Param #
        ===================================
        0 (Conv2d)    (1, 4, 6, 8)       40
        1 (ReLU)      (1, 4, 6, 8)        0
        2 (Flatten)   (1, 192)            0
        3 (Linear)    (1, 10)         1,930
        ===================================
        Total params: 1,970
        Trainable params: 1,970
        Non-trainable params: 0
        -----------------------------------
        Input: (1, 1, 8, 10) float32, 320 B
        Activations (all layer outputs): 2.29 KB
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a convnp Module, got {kind_of(model)}")
    if isinstance(input_shape, np.ndarray) and input_shape.ndim != 1:
        raise TypeError(f"summary: input_shape must be the input's shape with its batch axis, "
                        f"a tuple of ints, got an array of shape {input_shape.shape}; for an "
                        f"array x pass x.shape")
    input_shape = int_tuple("summary", "input_shape", input_shape,
                            what="the input's shape with its batch axis, a tuple of ints")
    dtype = (check_float_dtype("summary", "dtype", dtype) if dtype is not None
             else model_dtype(model))
    rows, activation_bytes = [], 0
    x = np.zeros(input_shape, dtype=dtype)
    with inspection_mode(model):
        for name, layer in named_layers(model):
            try:
                x = layer(x)
            except (TypeError, ValueError) as error:
                kind = TypeError if isinstance(error, TypeError) else ValueError
                raise kind(f"summary: zeros of input_shape {input_shape} and dtype {dtype} "
                           f"do not pass layer {name!r}: {error}") from error
            n_params = sum(p.data.size for p in layer.parameters())
            rows.append(SummaryRow(name, type(layer).__name__, x.shape, n_params))
            activation_bytes += x.nbytes
    params = model.parameters()
    total = sum(p.data.size for p in params)
    trainable = sum(p.data.size for p in params if p.requires_grad)
    return Summary(rows, input_shape, dtype, total, trainable, activation_bytes)
