"""``receptive_field(model, input_size)``: how much of the input one output pixel sees.

Walk the layers in order, keeping four numbers per spatial axis for the feature map that
is coming in:

- ``n``: its size;
- ``r``: the receptive field of one of its pixels, in input pixels;
- ``j``: the jump, how many input pixels apart two neighbouring pixels' fields are;
- ``first``: the input index where the field of pixel 0 begins (negative when it
  hangs over the padding).

A convolution or pooling layer with kernel ``k``, stride ``s``, padding ``p`` and
dilation ``d`` has the effective kernel size ``k_eff = d(k-1) + 1`` and maps them to::

    n_out = floor((n_in + 2p - k_eff)/s) + 1
    r_out = r_in + (k_eff - 1) * j_in
    j_out = j_in * s
    first_out = first_in - p * j_in

Layers that keep the grid (activations, Dropout, Identity, ...) change nothing. At
``Flatten``, ``Linear`` or a global average pool (an adaptive pool to one pixel, which
averages the whole grid, as in ResNet, NiN and DenseNet) the grid ends and the table
stops. ``Flatten`` only reshapes:
each of its features is one pixel of the last grid and still sees that pixel's
``r x r`` field. A ``Linear`` layer after it (or a global average pool) mixes all of
them, so each of its outputs sees every input pixel that some window reads. The
arithmetic is checked against a forward pass of zeros, so a layer that changes the grid
in some unknown way is an error rather than a wrong table.

Derivation and worked examples: ``docs/07_receptive_fields.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convnp.functional.shapes import conv_output_size, ntuple, pool_output_size
from convnp.layers.adaptive_pool import AdaptiveAvgPool1d, AdaptiveAvgPool2d
from convnp.layers.container import Concat, Residual, Sequential
from convnp.layers.conv import Conv1d, Conv2d
from convnp.layers.linear import Flatten, Linear
from convnp.layers.module import Module, inspection_mode
from convnp.layers.pool import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from convnp.summary import model_dtype, named_layers

Sizes = tuple[int, ...]

CONVOLUTIONS = (Conv1d, Conv2d)
POOLINGS = (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d)
ADAPTIVE_POOLS = (AdaptiveAvgPool1d, AdaptiveAvgPool2d)


class RFRow(NamedTuple):
    """One conv or pooling layer; every number is a tuple with one entry per spatial axis,
    in (H, W) order (one entry for 1-D layers)."""

    name: str
    layer: str
    n_in: Sizes
    r_in: Sizes
    j_in: Sizes
    k: Sizes
    s: Sizes
    p: Sizes
    d: Sizes
    n_out: Sizes
    r_out: Sizes
    j_out: Sizes
    first: Sizes


_COLUMNS = ("n_in", "r_in", "j_in", "k", "s", "p", "d", "n_out", "r_out", "j_out", "first")


def _cell(values: Sizes) -> str:
    """``32`` when every axis agrees, ``(28, 32)`` (H, W order) when they differ."""
    return str(values[0]) if len(set(values)) == 1 else "(" + ", ".join(map(str, values)) + ")"


class ReceptiveField:
    """The result of ``receptive_field``: ``print`` it for the table, or read its attributes.

    Attributes:
        rows: list of ``RFRow``, one per conv or pooling layer.
        input_size: the input's spatial size, one entry per axis.
        r, j, first: receptive field, jump and start of the field of output 0 after the
            last row (``r = 1, j = 1, first = 0`` for a model with no such layer).
        n: the spatial size of the last grid.
    """

    def __init__(self, rows: list[RFRow], input_size: Sizes) -> None:
        self.rows = rows
        self.input_size = input_size
        ones = (1,) * len(input_size)
        last = rows[-1] if rows else None
        self.n = last.n_out if last else input_size
        self.r = last.r_out if last else ones
        self.j = last.j_out if last else ones
        self.first = last.first if last else (0,) * len(input_size)

    def region(self, position: Sizes | int) -> tuple[tuple[int, int], ...]:
        """The input pixels that output ``position`` of the last grid sees, per axis.

        Args:
            position: an index into the last grid, one per axis (an int for all axes).

        Returns:
            ``((top, bottom), (left, right))`` half-open ranges (one per axis), clipped to
            the input: rows ``top:bottom``, columns ``left:right``.

        Example:
            >>> from convnp.layers import Conv2d, Sequential
            >>> net = Sequential(Conv2d(1, 1, 3), Conv2d(1, 1, 3, stride=2))
            >>> receptive_field(net, 9).region((1, 0))
            ((2, 7), (0, 5))
        """
        position = ntuple(position, len(self.n), "position", "ReceptiveField.region")
        spans = []
        for i, n, r, j, first, size in zip(position, self.n, self.r, self.j, self.first,
                                           self.input_size):
            if not 0 <= i < n:
                raise ValueError(f"ReceptiveField.region: position {position} is outside "
                                 f"the output grid of size {self.n}")
            start = first + i * j
            spans.append((max(start, 0), min(start + r, size)))
        return tuple(spans)

    def __str__(self) -> str:
        header = ("layer", *_COLUMNS)
        cells = [(f"{row.name} ({row.layer})" if row.name else row.layer,
                  *(_cell(getattr(row, c)) for c in _COLUMNS)) for row in self.rows]
        widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
        lines = ["  ".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}"
                           for i, (c, w) in enumerate(zip(line, widths))).rstrip()
                 for line in [header, *cells]]
        lines.append(f"receptive field {' x '.join(map(str, self.r))}, "
                     f"jump {' x '.join(map(str, self.j))}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ReceptiveField({len(self.rows)} layers, r={self.r}, j={self.j})"


def _window(layer: Module, sizes: Sizes) -> tuple[Sizes, Sizes, Sizes, Sizes, Sizes]:
    """``(k, s, d, p, n_out)`` of a conv or pooling layer for an input of size ``sizes``.

    ``p`` is the padding before (top/left). Conv2d's ``padding='same'`` with an even
    effective kernel puts one more row/column after than before; ``n_out`` counts both.
    """
    k, s, d = layer.kernel_size, layer.stride, layer.dilation
    if isinstance(layer, POOLINGS):
        p = layer.padding
        n_out = tuple(pool_output_size(*args, layer.ceil_mode) for args in zip(sizes, k, s, p, d))
        return k, s, d, p, n_out
    pads = layer.pads_for(sizes)
    n_out = tuple(conv_output_size(n + before + after, ki, si, 0, di)
                  for n, (before, after), ki, si, di in zip(sizes, pads, k, s, d))
    return k, s, d, tuple(before for before, _ in pads), n_out


def receptive_field(model: Module, input_size: int | Sizes) -> ReceptiveField:
    """Tabulate the receptive field after every conv and pooling layer of ``model``.

    Per layer and spatial axis: ``k_eff = d(k-1) + 1``,
    ``n_out = floor((n_in + 2p - k_eff)/s) + 1``, ``r_out = r_in + (k_eff - 1) j_in``,
    ``j_out = j_in s``, ``first_out = first_in - p j_in``; the input starts with
    ``r = j = 1``, ``first = 0``. Nested ``Sequential`` containers are opened up; the
    table stops at the first ``Flatten``, ``Linear`` or global average pool. Each branch
    of a ``Residual`` or ``Concat`` starts from the block's input and adds its own rows;
    after the block the field is the union of the branches' fields (the largest of them,
    for branches centred alike), and branches with different jumps are an error naming
    the block.

    Args:
        model: a layer or a ``Sequential`` of convnp layers.
        input_size: the input's spatial size: an int for a square image (or a 1-D
            signal), or ``(H, W)``.

    Returns:
        A ``ReceptiveField``: ``print`` it for the table, ``.rows`` for the numbers.
        A number that differs between axes prints as an ``(H, W)`` pair.

    **Shape:** ``n_out = floor((n_in + 2p - d(k-1) - 1)/s) + 1`` per axis, as in Conv2d.

    Example:
        >>> from convnp.layers import Conv2d, MaxPool2d, ReLU, Sequential
        >>> net = Sequential(Conv2d(1, 4, 3, padding=1), ReLU(), MaxPool2d(2),
        ...                  Conv2d(4, 4, 3, padding=1))
        >>> print(receptive_field(net, 32))
        layer          n_in  r_in  j_in  k  s  p  d  n_out  r_out  j_out  first
        0 (Conv2d)       32     1     1  3  1  1  1     32      3      1     -1
        2 (MaxPool2d)    32     3     1  2  2  0  1     16      4      2     -1
        3 (Conv2d)       16     4     2  3  1  1  1     16      8      2     -3
        receptive field 8 x 8, jump 2 x 2
    """
    if not isinstance(model, Module):
        raise TypeError(f"receptive_field: model must be a convnp Module, got "
                        f"{type(model).__name__}")
    windowed = [m for m in model.modules() if isinstance(m, CONVOLUTIONS + POOLINGS)]
    n_dims = windowed[0].n_dims if windowed else (1 if isinstance(input_size, int) else
                                                  len(input_size))
    sizes = ntuple(input_size, n_dims, "input_size", "receptive_field")
    if min(sizes) < 1:
        raise ValueError(f"receptive_field: input_size must be positive, got {input_size!r}")
    channels = next((m.in_channels for m in windowed if isinstance(m, CONVOLUTIONS)), 1)
    x = np.zeros((1, channels, *sizes), dtype=model_dtype(model))
    rows: list[RFRow] = []
    with inspection_mode(model):
        _walk(named_layers(model), x, (sizes, (1,) * n_dims, (1,) * n_dims, (0,) * n_dims),
              rows, None)
    return ReceptiveField(rows, sizes)


_State = tuple[Sizes, Sizes, Sizes, Sizes]  # n, r, j, first


def _walk(layers: list[tuple[str, Module]], x: np.ndarray, state: _State, rows: list[RFRow],
          container: str | None) -> tuple[np.ndarray, _State, bool]:
    """Push ``x`` through ``layers``, appending a row per conv/pool layer.

    Returns the output, the state after the last layer, and whether a ``Flatten``,
    ``Linear`` or global average pool ended the grid. ``container`` names the enclosing
    Residual/Concat, if any.
    """
    n, r, j, first = state
    for name, layer in layers:
        ends = isinstance(layer, (Flatten, Linear))
        if isinstance(layer, (Residual, Concat)):
            n, r, j, first = _branches(name, layer, x, (n, r, j, first), rows)
        x = layer(x)
        # a global average pool: each output averages the whole grid, as Linear mixes it
        ends = ends or isinstance(layer, ADAPTIVE_POOLS) and set(x.shape[2:]) == {1}
        if ends:
            if container is not None:
                raise ValueError(f"receptive_field: layer {name!r} ({type(layer).__name__}) "
                                 f"ends the grid inside the branch of {container}")
            return x, (n, r, j, first), True
        if isinstance(layer, CONVOLUTIONS + POOLINGS):
            k, s, d, p, n_out = _window(layer, n)
            r_out = tuple(ri + di * (ki - 1) * ji for ri, ki, di, ji in zip(r, k, d, j))
            j_out = tuple(ji * si for ji, si in zip(j, s))
            first_out = tuple(fi - pi * ji for fi, pi, ji in zip(first, p, j))
            rows.append(RFRow(name, type(layer).__name__, n, r, j, k, s, p, d, n_out,
                              r_out, j_out, first_out))
            n, r, j, first = n_out, r_out, j_out, first_out
        if x.shape[2:] != n:
            raise ValueError(
                f"receptive_field: layer {name!r} ({type(layer).__name__}) turned a grid "
                f"of size {n} into one of size {x.shape[2:]}; receptive_field knows the "
                "arithmetic of Conv1d/2d, MaxPool1d/2d, AvgPool1d/2d, Residual and Concat only"
            )
    return x, (n, r, j, first), False


def _branches(name: str, block: Module, x: np.ndarray, state: _State,
              rows: list[RFRow]) -> _State:
    """The state after a Residual or Concat: the union of its branches' fields.

    Every branch starts from ``state``; an identity shortcut keeps it. The fields of
    output pixel 0 are united (``first`` the smallest start, ``r`` reaching the furthest
    end), which is the largest branch's field when the branches are centred alike. The
    branches must agree on the jump, as they do whenever their outputs can be added or
    concatenated pixel by pixel.
    """
    where = f"{type(block).__name__} {name!r}" if name else type(block).__name__
    branches = ([("body", block.body), ("shortcut", block.shortcut)]
                if isinstance(block, Residual) else list(block.named_children()))
    states = []
    for branch_name, branch in branches:
        if branch is None:
            states.append(state)
            continue
        prefix = f"{name}.{branch_name}" if name else branch_name
        layers = (named_layers(branch, prefix + ".") if isinstance(branch, Sequential)
                  else [(prefix, branch)])
        states.append(_walk(layers, x, state, rows, where)[1])
    jumps = {s[2] for s in states}
    if len(jumps) > 1:
        raise ValueError(f"receptive_field: the branches of {where} have different jumps "
                         f"{sorted(jumps)}, so no single receptive field describes it")
    n_dims = len(state[0])
    first = tuple(min(s[3][a] for s in states) for a in range(n_dims))
    end = tuple(max(s[3][a] + s[1][a] for s in states) for a in range(n_dims))
    r = tuple(e - f for e, f in zip(end, first))
    return states[0][0], r, states[0][2], first
