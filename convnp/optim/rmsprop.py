"""RMSprop: divide each gradient coordinate by a running root mean square of its past values."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convnp.layers.module import Parameter
from convnp.optim.optimizer import Optimizer
from convnp.validate import check_bool, check_float


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, Coursera lecture 6.5, 2012), exactly as ``torch.optim.RMSprop``.

    Update rule for each parameter ``p``:

        g = p.grad + weight_decay * p                (L2 penalty, added to the gradient)
        s = alpha * s + (1 - alpha) * g * g          (running mean of g**2; s starts at 0)
        if centered:
            a = alpha * a + (1 - alpha) * g          (running mean of g; a starts at 0)
            denom = sqrt(s - a * a) + eps            (a running standard deviation)
        else:
            denom = sqrt(s) + eps
        if momentum > 0:
            b = momentum * b + g / denom             (b starts at 0)
            p = p - lr * b
        else:
            p = p - lr * g / denom

    A coordinate whose gradients have been large takes small steps, and one whose
    gradients have been small takes larger ones. CS231n's ``rmsprop`` is this rule with
    ``alpha`` its ``decay_rate`` (0.99) and ``eps`` added after the square root, as here.
    Unlike Adam there is no bias correction, so the first steps are large.

    ``s``, ``a``, ``b`` are ``state[i]['square_avg']``, ``['grad_avg']`` (only when
    ``centered``) and ``['momentum_buffer']`` (only when ``momentum > 0``), and
    ``['step']`` counts the steps, as in PyTorch. Turning ``centered`` or ``momentum`` on
    after some steps starts its array at 0 then; turning one off leaves its array unused
    (PyTorch raises a KeyError in the first case).

    Args:
        params: iterable of Parameters (e.g. ``model.parameters()``).
        lr: learning rate, >= 0. Default 1e-2.
        alpha: decay rate of the running means, in [0, 1) (at 1 ``s`` would stay 0 and
            every step be ``lr * g / eps``). Default 0.99.
        eps: added to the denominator for stability, >= 0. Default 1e-8.
        weight_decay: L2 penalty, >= 0. Default 0.
        momentum: momentum factor, >= 0. Default 0.
        centered: divide by the running standard deviation instead of the root mean
            square. Default False.

    Example:
        >>> p = Parameter(np.array([1.0]))
        >>> p.grad[...] = 2.0
        >>> opt = RMSprop([p], lr=0.01, alpha=0.75)
        >>> opt.step()   # s = 0.25 * 4 = 1, so the step is lr * 2 / (1 + eps)
        >>> p.data.round(6)
        array([0.98])
    """

    hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")
    state_names = ("step", "square_avg")
    optional_state = ("momentum_buffer", "grad_avg")
    nonnegative_state = ("step", "square_avg")

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params)
        self._set_hyperparameters(dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                       momentum=momentum, centered=centered))

    def checked_hyperparameters(self, values: dict) -> dict:
        """Check and normalise ``lr``, ``alpha``, ... (see ``Optimizer``)."""
        name = type(self).__name__
        return dict(lr=check_float(name, "lr", values["lr"], min=0),
                    alpha=check_float(name, "alpha", values["alpha"], min=0, max=1,
                                      max_open=True),
                    eps=check_float(name, "eps", values["eps"], min=0),
                    weight_decay=check_float(name, "weight_decay", values["weight_decay"],
                                             min=0),
                    momentum=check_float(name, "momentum", values["momentum"], min=0),
                    centered=check_bool(name, "centered", values["centered"]))

    def step(self) -> None:
        """Apply one update to every parameter with ``requires_grad``."""
        for i, p in self._trainable():
            g = p.grad
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            if i not in self.state:
                self.state[i] = {"step": np.zeros((), np.int64),
                                 "square_avg": np.zeros_like(p.data)}
            state = self.state[i]
            state["step"] += 1
            s = state["square_avg"]
            s *= self.alpha
            s += (1 - self.alpha) * g * g
            if self.centered:
                if "grad_avg" not in state:
                    state["grad_avg"] = np.zeros_like(p.data)
                a = state["grad_avg"]
                a *= self.alpha
                a += (1 - self.alpha) * g
                denom = np.sqrt(s - a * a) + self.eps
            else:
                denom = np.sqrt(s) + self.eps
            if self.momentum > 0:
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = np.zeros_like(p.data)
                b = state["momentum_buffer"]
                b *= self.momentum
                b += g / denom
                p.data -= self.lr * b
            else:
                p.data -= self.lr * (g / denom)
