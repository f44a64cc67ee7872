"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convnp.layers.module import Parameter
from convnp.optim.optimizer import Optimizer
from convnp.validate import check_bool, check_float


class SGD(Optimizer):
    """Gradient descent with optional momentum, exactly as ``torch.optim.SGD``.

    Update rule for each parameter ``p`` with gradient ``p.grad``:

        g = p.grad + weight_decay * p            (L2 penalty, added to the gradient)
        if momentum != 0:
            b = g                                 (first step: the buffer starts at g)
            b = momentum * b + (1 - dampening) * g    (every later step)
            g = g + momentum * b   if nesterov   else   b
        p = p - lr * g

    The buffer ``b`` is ``state[i]['momentum_buffer']``. With ``momentum=0`` there is
    no state and this is plain gradient descent.

    Args:
        params: iterable of Parameters (e.g. ``model.parameters()``).
        lr: learning rate, >= 0. Default 1e-3, as in PyTorch.
        momentum: momentum factor, >= 0. Default 0.
        dampening: scales the new gradient in the buffer by ``1 - dampening``, in
            [0, 1]. Default 0.
        weight_decay: L2 penalty, >= 0. Default 0.
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
            Default False.

    The arguments come in PyTorch's order, so ``SGD(params, 0.1, 0.9, 0, 5e-4)`` means
    the same in both.

    Example:
        >>> p = Parameter(np.array([1.0]))
        >>> opt = SGD([p], lr=0.1, momentum=0.9)
        >>> for _ in range(2):
        ...     p.grad[...] = 1.0
        ...     opt.step()
        >>> p.data       # 1 - 0.1*1 - 0.1*(0.9*1 + 1)
        array([0.71])
    """

    hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov")
    state_names = ("momentum_buffer",)

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params)
        self._set_hyperparameters(dict(lr=lr, momentum=momentum, dampening=dampening,
                                       weight_decay=weight_decay, nesterov=nesterov))

    def checked_hyperparameters(self, values: dict) -> dict:
        """Check and normalise ``lr``, ``momentum``, ... (see ``Optimizer``)."""
        name = type(self).__name__
        out = dict(lr=check_float(name, "lr", values["lr"], min=0),
                   momentum=check_float(name, "momentum", values["momentum"], min=0),
                   dampening=check_float(name, "dampening", values["dampening"], min=0, max=1),
                   weight_decay=check_float(name, "weight_decay", values["weight_decay"],
                                            min=0),
                   nesterov=check_bool(name, "nesterov", values["nesterov"]))
        if out["nesterov"] and out["momentum"] <= 0:
            raise ValueError(f"{name}: momentum must be > 0 when nesterov=True, got "
                             f"{values['momentum']!r}")
        if out["nesterov"] and out["dampening"] != 0:
            raise ValueError(f"{name}: dampening must be 0 when nesterov=True, got "
                             f"{values['dampening']!r}")
        return out

    def step(self) -> None:
        """Apply one update to every parameter with ``requires_grad``."""
        for i, p in self._trainable():
            g = p.grad
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            if self.momentum != 0:
                if i not in self.state:
                    # np.array copies g, and keeps a 0-d array an array (g.copy()
                    # of a 0-d result would be a NumPy scalar, not updatable in place)
                    self.state[i] = {"momentum_buffer": np.array(g)}
                else:
                    b = self.state[i]["momentum_buffer"]
                    b *= self.momentum
                    b += (1 - self.dampening) * g
                b = self.state[i]["momentum_buffer"]
                g = g + self.momentum * b if self.nesterov else b
            p.data -= self.lr * g
