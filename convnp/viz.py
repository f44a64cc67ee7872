"""Pictures for teaching: images, kernels, feature maps, training curves, receptive fields.

Needs matplotlib (``pip install convnp[plot]``); it is imported inside each function, so
``import convnp`` works without it. Figures are made with ``matplotlib.figure.Figure``
and the Agg canvas, not ``pyplot``: nothing global changes, no window opens, and the
functions work the same in a script, a test or a notebook (where the returned figure
shows as the cell's result after ``%matplotlib inline``).

Every function returns the ``Figure`` and takes ``save=None``; a path saves a PNG there.
The file is written to a temporary name first and then renamed, so a crash never
leaves half an image behind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from convnp.files import atomic_writer
from convnp.layers.module import Module, Parameter, inspection_mode
from convnp.receptive_field import receptive_field
from convnp.summary import model_dtype, named_layers
from convnp.validate import check_int

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PathLike = str | os.PathLike


def _figure(width: float, height: float) -> Figure:
    """A new Figure on its own Agg canvas (no pyplot, no global state)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("convnp.viz needs matplotlib: pip install convnp[plot] "
                          "(or pip install matplotlib)") from error
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finish(fig: Figure, save: PathLike | None) -> Figure:
    """Save ``fig`` as a PNG at ``save`` (write a temporary file, then rename); return it."""
    if save is not None:
        with atomic_writer(save) as f:
            fig.savefig(f, format="png", dpi=100)
    return fig


def _grid(n: int, ncols: int) -> tuple[int, int]:
    cols = max(1, min(n, ncols))
    return math.ceil(n / cols), cols


def _as_images(x: np.ndarray, caller: str) -> np.ndarray:
    """(N, H, W) gray or (N, H, W, 3) colour images from (H, W), (N, H, W) or (N, C, H, W)."""
    x = np.asarray(x)
    if x.ndim == 2:
        return x[None]
    if x.ndim == 3:
        return x
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 4 and x.shape[1] == 3:
        return x.transpose(0, 2, 3, 1)
    raise ValueError(f"{caller}: expected images of shape (H, W), (N, H, W), (N, 1, H, W) or "
                     f"(N, 3, H, W), got {x.shape}")


def show_images(x: np.ndarray, labels: Sequence[Any] | None = None, *, ncols: int = 8,
                save: PathLike | None = None) -> Figure:
    """Show images in a grid, one axes per image, with an optional title under each.

    Args:
        x: (N, H, W) or (N, 1, H, W) gray images, (N, 3, H, W) colour images in [0, 1],
            or one (H, W) image. Gray images of any range are scaled per image.
        labels: N titles (class indices, names, "pred/true" strings, ...).
        ncols: images per row.
        save: path of a PNG to write.

    Returns:
        The Figure, with N axes.

    **Shape:** x (N, H, W), (N, 1, H, W) or (N, 3, H, W); labels (N,).

    Example:
        >>> fig = show_images(np.eye(5)[None].repeat(3, axis=0), labels=[0, 1, 2])
        >>> len(fig.axes)
        3
    """
    images = _as_images(x, "show_images")
    check_int("show_images", "ncols", ncols, min=1)
    if labels is not None and (isinstance(labels, str) or not hasattr(labels, "__len__")):
        raise TypeError(f"show_images: labels must be a sequence of N titles, got "
                        f"{type(labels).__name__} {labels!r}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"show_images: got {len(images)} images but {len(labels)} labels")
    rows, cols = _grid(len(images), ncols)
    fig = _figure(1.3 * cols, 1.4 * rows)
    for i, image in enumerate(images):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_axis_off()
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    return _finish(fig, save)


def plot_kernels(conv_layer: Module | np.ndarray, *, save: PathLike | None = None) -> Figure:
    """Show every 2-D kernel of a conv layer: one row per output channel, one column per input.

    With a single input channel the kernels are wrapped in rows of 8 instead.

    Colours are shared by all kernels and centred on zero: red positive, blue negative,
    white zero, so kernels can be compared with each other.

    Args:
        conv_layer: a ``Conv2d`` (its ``weight``), or an array of kernels (C_out, C_in, kH, kW),
            (N, kH, kW) or one (kH, kW).
        save: path of a PNG to write.

    Returns:
        The Figure, with C_out * C_in axes.

    **Shape:** weight (C_out, C_in/G, kH, kW).

    Example:
        >>> from convnp.layers import Conv2d
        >>> fig = plot_kernels(Conv2d(2, 3, kernel_size=(3, 5), rng=np.random.default_rng(0)))
        >>> len(fig.axes)
        6
    """
    if isinstance(conv_layer, Module) and not isinstance(getattr(conv_layer, "weight", None),
                                                         Parameter):
        raise TypeError(f"plot_kernels: expected a conv layer (with a weight) or an array of "
                        f"kernels, got {type(conv_layer).__name__}; for a model, pick its "
                        f"layer, e.g. plot_kernels(model[0])")
    weight = np.asarray(conv_layer.weight.data if isinstance(conv_layer, Module) else conv_layer)
    if weight.ndim in (2, 3):
        weight = weight.reshape(-1, 1, *weight.shape[-2:])
    if weight.ndim != 4:
        raise ValueError(f"plot_kernels: expected a Conv2d or kernels of shape (C_out, C_in, "
                         f"kH, kW), got shape {weight.shape}")
    c_out, c_in = weight.shape[:2]
    limit = float(np.abs(weight).max()) or 1.0
    # one input channel: wrap the kernels in rows of 8; otherwise rows = outputs, cols = inputs
    rows, cols = _grid(c_out, 8) if c_in == 1 else (c_out, c_in)
    fig = _figure(max(2.0, 0.9 * cols + 0.6), max(1.5, 0.9 * rows + 0.4))
    for o in range(c_out):
        for c in range(c_in):
            ax = fig.add_subplot(rows, cols, o * c_in + c + 1)
            ax.imshow(weight[o, c], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_xticks([])
            ax.set_yticks([])
            if c_in == 1:
                ax.set_title(str(o), fontsize=8)
            elif c == 0:
                ax.set_ylabel(f"out {o}", fontsize=8)
            if c_in > 1 and o == 0:
                ax.set_title(f"in {c}", fontsize=8)
    fig.suptitle(f"kernels {tuple(weight.shape)}; red > 0 > blue", fontsize=9)
    return _finish(fig, save)


def plot_feature_maps(model: Module, x: np.ndarray, layer_index: int, *, ncols: int = 8,
                      save: PathLike | None = None) -> Figure:
    """Run one image through the model up to ``layer_index`` and show each output channel.

    ``layer_index`` counts the rows of ``convnp.summary`` (nested Sequentials opened up;
    negative indices count from the end). The model runs in eval mode without caching
    and is left as it was.

    Args:
        model: a Module, usually a Sequential.
        x: one image as the model takes it: (H, W), (C, H, W) or (1, C, H, W); cast to
            the model's dtype (scale uint8 pixels to [0, 1] first if the model expects it).
        layer_index: which layer's output to show.
        ncols: maps per row.
        save: path of a PNG to write.

    Returns:
        The Figure, with one axes per channel of that layer's output.

    **Shape:** x (H, W), (C, H, W) or (1, C, H, W); the layer output (1, C_out, H_out, W_out).

    Example:
        >>> from convnp.layers import Conv2d, ReLU, Sequential
        >>> net = Sequential(Conv2d(1, 4, 3, rng=np.random.default_rng(0)), ReLU())
        >>> len(plot_feature_maps(net, np.ones((8, 10)), layer_index=1).axes)
        4
    """
    x = np.asarray(x)
    x = x.reshape((1,) * (4 - x.ndim) + x.shape) if x.ndim in (2, 3) else x
    if x.ndim != 4 or x.shape[0] != 1:
        raise ValueError(f"plot_feature_maps: expected one image (H, W), (C, H, W) or "
                         f"(1, C, H, W), got shape {x.shape}")
    layers = named_layers(model)
    if not -len(layers) <= layer_index < len(layers):
        raise ValueError(f"plot_feature_maps: layer_index must be in [{-len(layers)}, "
                         f"{len(layers)}), got {layer_index}")
    stop = layer_index % len(layers)
    y = x.astype(model_dtype(model))
    with inspection_mode(model):
        for _, layer in layers[:stop + 1]:
            y = layer(y)
    name, layer = layers[stop]
    if y.ndim != 4:
        raise ValueError(f"plot_feature_maps: layer {stop} ({type(layer).__name__}) outputs "
                         f"shape {y.shape}, not feature maps (1, C, H, W)")
    rows, cols = _grid(y.shape[1], ncols)
    fig = _figure(1.4 * cols, 1.5 * rows + 0.3)
    for c in range(y.shape[1]):
        ax = fig.add_subplot(rows, cols, c + 1)
        ax.imshow(y[0, c], cmap="viridis")
        ax.set_axis_off()
        ax.set_title(str(c), fontsize=8)
    fig.suptitle(f"layer {name} ({type(layer).__name__}): output {tuple(y.shape)}", fontsize=9)
    return _finish(fig, save)


def plot_history(history: Any, *, save: PathLike | None = None) -> Figure:
    """Plot loss and accuracy per epoch (train and, if present, validation), and the lr.

    Args:
        history: an object with list attributes ``train_loss``, ``train_acc``,
            ``val_loss``, ``val_acc`` and ``lr`` (``convnp.train.History``); the ``val_*``
            lists may be empty, None or all NaN (no validation), ``lr`` empty or None.
        save: path of a PNG to write.

    Returns:
        The Figure: axes for loss and accuracy, plus one for the learning rate if
        ``history.lr`` is not empty.

    Example:
        >>> from types import SimpleNamespace
        >>> h = SimpleNamespace(train_loss=[2.0, 1.0], train_acc=[0.3, 0.6], val_loss=[],
        ...                     val_acc=None, lr=[0.1, 0.05])
        >>> len(plot_history(h).axes)
        3
    """
    if not hasattr(history, "train_loss") or len(history.train_loss) == 0:
        raise ValueError(f"plot_history: expected a History with at least one epoch (as "
                         f"Trainer.fit returns), got {type(history).__name__}")

    def series(attr: str) -> np.ndarray:
        values = getattr(history, attr, None)
        return np.asarray([] if values is None else values, dtype=np.float64)

    lr = series("lr")
    n_axes = 3 if len(lr) else 2
    fig = _figure(4.0 * n_axes, 3.0)
    from matplotlib.ticker import MaxNLocator

    panels = [("loss", "train_loss", "val_loss"), ("accuracy", "train_acc", "val_acc")]
    for i, (title, train, val) in enumerate(panels):
        ax = fig.add_subplot(1, n_axes, i + 1)
        for label, attr, style in (("train", train, "o-"), ("validation", val, "s--")):
            values = series(attr)
            if not np.isnan(values).all():  # empty, or NaN for epochs without validation
                ax.plot(range(1, len(values) + 1), values, style, label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    if len(lr):
        ax = fig.add_subplot(1, n_axes, n_axes)
        ax.plot(range(1, len(lr) + 1), lr, "o-")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("learning rate")
        ax.grid(alpha=0.3)
    return _finish(fig, save)


def plot_receptive_field(model: Module, input_size: int | tuple[int, int],
                         position: int | tuple[int, int], *, image: np.ndarray | None = None,
                         save: PathLike | None = None) -> Figure:
    """Shade the input pixels that one output pixel sees; mark that pixel in the output grid.

    The region comes from ``convnp.receptive_field`` (the rows ``first + i*j`` to
    ``first + i*j + r - 1`` per axis, clipped to the input); the dashed outline is the
    whole field, including any part that hangs over the padding.

    Args:
        model: conv and pooling layers (as for ``receptive_field``).
        input_size: an int or ``(H, W)``.
        position: the output pixel ``(h, w)`` in the last grid of the model.
        image: an (H, W) image to draw under the shading (default: blank).
        save: path of a PNG to write.

    Returns:
        The Figure, with two axes: the input and the output grid.

    Example:
        >>> from convnp.layers import Conv2d, Sequential
        >>> net = Sequential(Conv2d(1, 1, 3), Conv2d(1, 1, 3, stride=2))
        >>> len(plot_receptive_field(net, (9, 11), (1, 2)).axes)
        2
    """
    table = receptive_field(model, input_size)
    if len(table.input_size) != 2:
        raise ValueError(f"plot_receptive_field: needs a 2-D model, got spatial size "
                         f"{table.input_size}")
    (top, bottom), (left, right) = table.region(position)
    position = (position, position) if isinstance(position, int) else tuple(position)
    H, W = table.input_size
    background = np.zeros((H, W)) if image is None else np.asarray(image, dtype=np.float64)
    if background.shape != (H, W):
        raise ValueError(f"plot_receptive_field: image must have shape {(H, W)}, got "
                         f"{background.shape}")
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    fig = _figure(8.0, 4.0)
    ax_in, ax_out = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax_in.imshow(background, cmap="gray_r" if image is None else "gray")
    ax_in.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                              facecolor="tab:orange", alpha=0.5, edgecolor="tab:orange"))
    fh = table.first[0] + position[0] * table.j[0]
    fw = table.first[1] + position[1] * table.j[1]
    ax_in.add_patch(Rectangle((fw - 0.5, fh - 0.5), table.r[1], table.r[0], fill=False,
                              linestyle="--", edgecolor="tab:red"))
    ax_in.set_xlim(min(-0.5, fw - 0.5), max(W - 0.5, fw + table.r[1] - 0.5))
    ax_in.set_ylim(max(H - 0.5, fh + table.r[0] - 0.5), min(-0.5, fh - 0.5))
    ax_in.set_title(f"input {H}x{W}: rows {top}..{bottom - 1}, cols {left}..{right - 1}",
                    fontsize=9)
    n_h, n_w = table.n
    grid = np.zeros((n_h, n_w))
    grid[position] = 1
    ax_out.imshow(grid, cmap="Oranges", vmin=0, vmax=1.5)
    ax_out.set_title(f"output {n_h}x{n_w}: pixel {position}, receptive field "
                     f"{table.r[0]}x{table.r[1]}", fontsize=9)
    for ax, (h, w) in ((ax_in, (H, W)), (ax_out, (n_h, n_w))):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
        ax.grid(which="minor", color="0.8", linewidth=0.5)
        ax.tick_params(which="minor", length=0)
    return _finish(fig, save)
