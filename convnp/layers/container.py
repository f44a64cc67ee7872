"""Sequential: a chain of layers, forward in order, backward in reverse."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np

from convnp.layers.module import Module, check_grad
from convnp.validate import check_int, is_int, kind_of


class Sequential(Module):
    """Run layers one after another; backpropagate through them in reverse.

    ``forward`` is ``for layer in layers: x = layer(x)``; ``backward`` is the same loop
    reversed, passing each layer's input gradient to the layer before it. Children are
    named ``'0'``, ``'1'``, ... so parameters are ``'0.weight'``, ``'3.bias'`` as in
    PyTorch, and a PyTorch ``nn.Sequential``'s ``state_dict`` loads directly.

    A layer holds one cache, so one instance may appear only once in a network.

    Args:
        *layers: the Modules, in order.

    **Shape:** whatever the first layer takes -> whatever the last layer returns.

    Example:
        >>> from convnp.layers import Linear, ReLU
        >>> rng = np.random.default_rng(0)
        >>> net = Sequential(Linear(4, 3, rng=rng), ReLU(), Linear(3, 2, rng=rng))
        >>> [name for name, _ in net.named_parameters()]
        ['0.weight', '0.bias', '2.weight', '2.bias']
        >>> net(np.zeros((5, 4), np.float32)).shape
        (5, 2)
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        self.layers: list[Module] = []
        for layer in layers:
            self.append(layer)

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end; returns self."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential: expected a Module, got {kind_of(layer)}")
        present = {id(m) for m in self.modules()}
        reused = next((m for m in layer.modules() if id(m) in present), None)
        if reused is not None:
            raise ValueError(
                f"Sequential: this {type(reused).__name__} instance is already in the network; "
                "a layer keeps one cache, so create a new instance for each position"
            )
        self.layers.append(layer)
        return self

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            view = Sequential()
            view.layers = self.layers[index]
            view.training = self.training
            return view
        return _item("Sequential", self.layers, index)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Pass ``x`` through every layer in order."""
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Pass ``grad_y`` back through every layer in reverse; return dL/d(input).

        With ``input_grad=False`` the backward pass stops at the first layer that has
        parameters: it is told not to compute its input gradient (if its ``backward``
        takes ``input_grad``; otherwise the gradient it returns is dropped), the
        parameter-free layers before it are skipped, and None is returned. Training uses
        this: nobody needs the gradient with respect to the images.
        """
        grad = grad_y
        if input_grad:
            for layer in reversed(self.layers):
                grad = layer.backward(grad)
            return grad
        first = next((i for i, layer in enumerate(self.layers) if _has_parameters(layer)), None)
        if first is None:
            return None
        for layer in reversed(self.layers[first + 1:]):
            grad = layer.backward(grad)
        return backward_without_input_grad(self.layers[first], grad)


def takes_input_grad(layer: Module) -> bool:
    """Does ``layer.backward`` declare the optional ``input_grad`` argument?

    Example:
        >>> from convnp.layers import Linear, ReLU
        >>> takes_input_grad(Linear(2, 1)), takes_input_grad(ReLU())
        (True, False)
    """
    return "input_grad" in inspect.signature(layer.backward).parameters


def backward_without_input_grad(layer: Module, grad_y: np.ndarray) -> None:
    """Add ``layer``'s parameter gradients for ``grad_y``, skipping dL/dx where it can.

    A layer that declares ``input_grad`` is told not to compute dL/dx; one that does not
    is called as ``backward(grad_y)`` and its dL/dx dropped. Returns None either way.
    """
    if takes_input_grad(layer):
        return layer.backward(grad_y, input_grad=False)
    layer.backward(grad_y)
    return None


def _branch_backward(branch: Module, grad_y: np.ndarray, input_grad: bool) -> np.ndarray | None:
    """``branch.backward(grad_y)``; with ``input_grad=False`` only its parameters' gradients.

    A branch without parameters then needs no backward pass at all, and one with
    parameters is told to skip its own input gradient.
    """
    if input_grad:
        return branch.backward(grad_y)
    if not _has_parameters(branch):
        return None
    return backward_without_input_grad(branch, grad_y)


def _has_parameters(module: Module) -> bool:
    """Does ``module`` or a child of it hold a Parameter? Stops at the first one found."""
    return next(module.named_parameters(), None) is not None


def _check_distinct(owner: str, modules: list[Module]) -> None:
    seen: set[int] = set()
    for module in modules:
        for m in module.modules():
            if id(m) in seen:
                raise ValueError(
                    f"{owner}: this {type(m).__name__} instance appears in two branches; a "
                    "layer keeps one cache, so create a new instance for each branch")
            seen.add(id(m))


class Residual(Module):
    """A skip connection: ``y = body(x) + shortcut(x)``, the shortcut being the identity if None.

    ``x`` fans out to two branches, so its gradient is the **sum** of what comes back
    through each: ``dL/dx = body.backward(grad_y) + shortcut.backward(grad_y)``, and with
    the identity shortcut ``grad_y`` itself reaches ``x`` untouched, however deep the
    body. This is why very deep residual networks still train.

    Args:
        body: the main path, e.g. ``Sequential(Conv2d, BatchNorm2d, ReLU, Conv2d, ...)``.
        shortcut: a Module for when the body changes the shape (typically a strided 1x1
            convolution), or None for the identity.

    Children are named ``body`` and ``shortcut``, so parameters are ``'body.0.weight'``.

    **Shape:** x (N, C_in, *) -> (N, C_out, *): the shape ``body`` returns, which
    ``shortcut`` (or ``x`` itself) must match.

    Example:
        >>> from convnp.layers import Linear
        >>> rng = np.random.default_rng(0)
        >>> block = Residual(Linear(3, 3, rng=rng, dtype=np.float64))
        >>> x = np.ones((2, 3))
        >>> bool(np.allclose(block(x), block.body(x) + x))
        True
        >>> block.backward(np.ones((2, 3))).shape
        (2, 3)
    """

    def __init__(self, body: Module, shortcut: Module | None = None) -> None:
        super().__init__()
        for name, m in (("body", body), ("shortcut", shortcut)):
            if not isinstance(m, Module) and (m is not None or name == "body"):
                what = "a Module" if name == "body" else "a Module or None (the identity)"
                raise TypeError(f"Residual: {name} must be {what}, got {kind_of(m)}")
        _check_distinct("Residual", [m for m in (body, shortcut) if m is not None])
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C_in, *) -> (N, C_out, *): the sum of both branches."""
        y = self.body(x)
        skip = x if self.shortcut is None else self.shortcut(x)
        if y.shape != skip.shape:
            what = "the input" if self.shortcut is None else "the shortcut's output"
            raise ValueError(
                f"Residual: the body's output {y.shape} and {what} {skip.shape} differ; "
                "give a shortcut (e.g. a 1x1 Conv2d with the body's stride) that matches")
        self._save(y.shape)
        return y + skip

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """(N, C_out, *) -> (N, C_in, *): the body's input gradient plus the shortcut's."""
        y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        grad_body = _branch_backward(self.body, grad_y, input_grad)
        if self.shortcut is None:
            grad_skip = grad_y if input_grad else None
        else:
            grad_skip = _branch_backward(self.shortcut, grad_y, input_grad)
        return grad_body + grad_skip if input_grad else None


class Concat(Module):
    """Run every branch on the same input and concatenate the outputs along ``dim``.

    Inception blocks (branches of different kernel sizes) and DenseNet blocks (the input
    next to new features, ``Concat(Identity(), conv_block)``) are built from this.
    Backward splits ``grad_y`` along ``dim`` into each branch's part, sends each part
    back through its branch, and **sums** the input gradients: every branch used ``x``.

    Args:
        *branches: one or more Modules; their outputs must agree on every axis but ``dim``.
        dim: the axis to concatenate along (1, the channels, by default; may be negative).

    Children are named ``'0'``, ``'1'``, ... as in ``Sequential``.

    **Shape:** x -> (N, C_1 + ... + C_k, *) for branch outputs (N, C_i, *) with dim=1.

    Example:
        >>> from convnp.layers import Identity, ReLU
        >>> block = Concat(Identity(), ReLU())
        >>> block(np.array([[-1.0, 2.0]]))
        array([[-1.,  2.,  0.,  2.]])
        >>> block.backward(np.ones((1, 4)))
        array([[1., 2.]])
    """

    def __init__(self, *branches: Module, dim: int = 1) -> None:
        super().__init__()
        if not branches:
            raise ValueError("Concat: expected at least one branch, got none")
        for i, branch in enumerate(branches):
            if not isinstance(branch, Module):
                raise TypeError(f"Concat: branch {i} must be a Module, got {kind_of(branch)}")
        _check_distinct("Concat", list(branches))
        self.branches = list(branches)
        self.dim = check_int("Concat", "dim", dim)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, branch in enumerate(self.branches):
            yield str(i), branch

    def __len__(self) -> int:
        return len(self.branches)

    def __getitem__(self, index: int) -> Module:
        return _item("Concat", self.branches, index)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, C_in, *) -> (N, C_1 + ... + C_k, *) for dim=1: the branch outputs, concatenated."""
        outs = [branch(x) for branch in self.branches]
        first = outs[0]
        if not -first.ndim <= self.dim < first.ndim:
            raise ValueError(f"Concat: dim {self.dim} is out of range for branch outputs of "
                             f"shape {first.shape}")
        dim = self.dim % first.ndim
        for i, out in enumerate(outs):
            if out.ndim != first.ndim or out.shape[:dim] + out.shape[dim + 1:] != (
                    first.shape[:dim] + first.shape[dim + 1:]):
                raise ValueError(f"Concat: branch {i} returned shape {out.shape}, which does "
                                 f"not match branch 0's {first.shape} outside dim {self.dim}")
        y = np.concatenate(outs, axis=dim)
        self._save((dim, [out.shape[dim] for out in outs], y.shape))
        return y

    def backward(self, grad_y: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """(N, C_1 + ... + C_k, *) -> (N, C_in, *): split, each branch back, summed."""
        dim, sizes, y_shape = self._saved()
        check_grad(self, grad_y, y_shape)
        parts = np.split(grad_y, np.cumsum(sizes)[:-1], axis=dim)
        grads = [_branch_backward(branch, part, input_grad)
                 for branch, part in zip(self.branches, parts)]
        if not input_grad:
            return None
        grad_x = grads[0]
        for grad in grads[1:]:
            grad_x = grad_x + grad
        return grad_x

    def extra_repr(self) -> str:
        return "" if self.dim == 1 else f"dim={self.dim}"


def _item(owner: str, items: list[Module], index: Any) -> Module:
    """``items[index]``, with errors that name the container (``Sequential``, ``Concat``)."""
    if not is_int(index):
        raise TypeError(f"{owner} indices must be ints or slices, got "
                        f"{type(index).__name__} {index!r}")
    if not -len(items) <= index < len(items):
        raise IndexError(f"{owner} index {index} is out of range for {len(items)} layers")
    return items[index]
