"""Sequential: a chain of layers, forward in order, backward in reverse."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import numpy as np

from convnp.layers.module import Module


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
            raise TypeError(f"Sequential: expected a Module, got {type(layer).__name__}")
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
        return self.layers[index]

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
        with_params = [i for i, layer in enumerate(self.layers) if layer.parameters()]
        if not with_params:
            return None
        first = with_params[0]
        for layer in reversed(self.layers[first + 1:]):
            grad = layer.backward(grad)
        if takes_input_grad(self.layers[first]):
            return self.layers[first].backward(grad, input_grad=False)
        self.layers[first].backward(grad)  # a layer without the option: drop its dL/dx
        return None


def takes_input_grad(layer: Module) -> bool:
    """Does ``layer.backward`` declare the optional ``input_grad`` argument?

    Example:
        >>> from convnp.layers import Linear, ReLU
        >>> takes_input_grad(Linear(2, 1)), takes_input_grad(ReLU())
        (True, False)
    """
    return "input_grad" in inspect.signature(layer.backward).parameters
