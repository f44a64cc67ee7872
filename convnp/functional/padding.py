"""Padding of the spatial axes, in PyTorch's four ``padding_mode`` flavours, and its gradient.

For a row ``[a b c d]`` padded by 2 on each side:

    zeros      0 0 | a b c d | 0 0
    reflect    c b | a b c d | c b      (mirror, edge not repeated)
    replicate  a a | a b c d | d d      (repeat the edge)
    circular   c d | a b c d | a b      (wrap around)

Every padded sample is a copy of some input sample (or zero), so the gradient of an
input sample is the sum of the gradients of all its copies. ``pad_backward`` computes
that sum with one ``+=`` per padded position along each axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convnp.functional.shapes import check_array, int_args
from convnp.validate import check_choice, is_int

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(x: np.ndarray, pads: Sequence[tuple[int, int]], mode: str = "zeros") -> np.ndarray:
    """Pad the last ``len(pads)`` axes of ``x``.

    Args:
        x: (N, C, L) or (N, C, H, W).
        pads: one ``(before, after)`` pair per spatial axis, in axis order (H, then W);
            an int ``p`` stands for ``(p, p)``, for one axis or (alone) for every axis.
        mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Unlike ``torch.nn.functional.pad``, which takes one flat tuple starting from the
    *last* axis (``(left, right, top, bottom)``) and calls zero padding ``'constant'``,
    this takes ``(before, after)`` pairs in (H, W) order and uses the ``padding_mode``
    names of the conv layers (``'zeros'``, ...).

    **Shape:** each spatial size n becomes ``n + before + after``. Reflect padding must
    be smaller than n, circular padding at most n (as in PyTorch).

    Example:
        >>> pad(np.array([[[1.0, 2, 3, 4]]]), [(2, 2)], "reflect")
        array([[[3., 2., 1., 2., 3., 4., 3., 2.]]])
    """
    pads = pad_widths("pad", "x", x, pads, mode)
    width = [(0, 0)] * (x.ndim - len(pads)) + [tuple(p) for p in pads]
    if mode == "zeros":
        return np.pad(x, width, mode="constant")
    return np.pad(x, width, mode=_NUMPY_MODE[mode])


def pad_backward(grad: np.ndarray, pads: Sequence[tuple[int, int]], mode: str = "zeros"
                 ) -> np.ndarray:
    """Gradient of ``pad``: fold the padded gradient back onto the input samples.

    Args:
        grad: gradient with respect to the padded array.
        pads, mode: as given to ``pad``.

    Returns:
        The gradient with respect to the unpadded input (spatial sizes shrink back).

    Example:
        >>> pad_backward(np.ones((1, 1, 8)), [(2, 2)], "replicate")
        array([[[3., 1., 1., 3.]]])
    """
    pads = pad_widths("pad_backward", "grad", grad, pads, mode, padded=True)
    first = grad.ndim - len(pads)
    for axis, (before, after) in enumerate(pads, start=first):
        n = grad.shape[axis] - before - after
        inner = [slice(None)] * grad.ndim
        inner[axis] = slice(before, before + n)
        folded = grad[tuple(inner)].copy()
        if mode != "zeros":
            source = np.pad(np.arange(n), (before, after), mode=_NUMPY_MODE[mode])
            for p in [*range(before), *range(before + n, before + n + after)]:
                to, frm = [slice(None)] * grad.ndim, [slice(None)] * grad.ndim
                to[axis], frm[axis] = source[p], p
                folded[tuple(to)] += grad[tuple(frm)]
        grad = folded
    return grad


def pad_widths(caller: str, name: str, x: np.ndarray, pads: Sequence[tuple[int, int]] | int,
               mode: str, padded: bool = False) -> list[tuple[int, int]]:
    """Check ``pad``'s arguments; return one ``(before, after)`` pair per spatial axis.

    ``x`` is the array to pad, or (``padded``) the padded array whose padding
    ``pad_backward`` folds back. Every pad is an int >= 0, and the input must be large
    enough for the mode along each axis (reflect: pads < n; circular: pads <= n).
    """
    check_array(caller, name, x, (3, 4))
    check_choice(caller, "mode", mode, PADDING_MODES)
    n_dims = x.ndim - 2
    pads = pads.tolist() if isinstance(pads, np.ndarray) else pads  # e.g. [[1, 1], [2, 2]]
    pads = [pads] * n_dims if is_int(pads) else pads
    if not isinstance(pads, (tuple, list)) or len(pads) != n_dims:
        raise (ValueError if isinstance(pads, (tuple, list)) else TypeError)(
            f"{caller}: pads must hold one (before, after) pair (or int) per spatial axis of "
            f"the {x.ndim}-D {name}, {n_dims}, got {pads!r}")
    pairs = [int_args(caller, 2, **{f"pads[{i}]": p})[0] for i, p in enumerate(pads)]
    for axis, size, (before, after) in zip(range(2, x.ndim), x.shape[2:], pairs):
        n, p = (size - before - after if padded else size), max(before, after)
        if n < 0:
            raise ValueError(f"{caller}: {name} of shape {x.shape} is smaller than its "
                             f"padding {(before, after)} along axis {axis}")
        if mode == "reflect" and p >= n or mode == "circular" and p > n:
            rule = "smaller than" if mode == "reflect" else "at most"
            raise ValueError(f"{caller}: {mode} padding {p} must be {rule} the input size {n} "
                             f"(axis {axis})")
    return pairs
