"""Adam and AdamW: per-coordinate step sizes from running moments of the gradient."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from convnp.layers.module import Parameter
from convnp.optim.optimizer import Optimizer
from convnp.validate import check_float


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), exactly as ``torch.optim.Adam``.

    Update rule for each parameter ``p`` at its step ``t = 1, 2, ...``:

        g = p.grad + weight_decay * p            (L2 penalty, added to the gradient)
        m = beta1 * m + (1 - beta1) * g          (running mean of g; m starts at 0)
        v = beta2 * v + (1 - beta2) * g * g      (running mean of g**2; v starts at 0)
        step_size = lr / (1 - beta1**t)
        denom = sqrt(v) / sqrt(1 - beta2**t) + eps
        p = p - step_size * m / denom

    Dividing by ``1 - beta**t`` is the bias correction: ``m`` and ``v`` start at 0, so
    their early values are too small by exactly that factor. As in PyTorch, ``eps`` is
    added after correcting ``sqrt(v)``.

    ``m``, ``v`` and ``t`` are ``state[i]['exp_avg']``, ``['exp_avg_sq']`` and
    ``['step']`` (a 0-d int64 array, counted per parameter as in PyTorch).

    Args:
        params: iterable of Parameters (e.g. ``model.parameters()``).
        lr: learning rate, >= 0. Default 1e-3.
        betas: decay rates ``(beta1, beta2)`` of the two averages, each in [0, 1).
            Default (0.9, 0.999).
        eps: added to the denominator for stability, >= 0. Default 1e-8.
        weight_decay: L2 penalty, >= 0. Default 0.

    Example:
        >>> p = Parameter(np.array([1.0]))
        >>> p.grad[...] = 5.0
        >>> opt = Adam([p], lr=0.1)
        >>> opt.step()   # the first step moves each coordinate by about lr
        >>> p.data.round(6)
        array([0.9])
    """

    hyperparameters = ("lr", "betas", "eps", "weight_decay")
    state_names = ("step", "exp_avg", "exp_avg_sq")
    nonnegative_state = ("step", "exp_avg_sq")
    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params)
        self._set_hyperparameters(dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def checked_hyperparameters(self, values: dict) -> dict:
        """Check and normalise ``lr``, ``betas``, ``eps``, ``weight_decay`` (see ``Optimizer``)."""
        name = type(self).__name__
        betas = values["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got "
                            f"{type(betas).__name__} {betas!r}")
        return dict(lr=check_float(name, "lr", values["lr"], min=0),
                    betas=tuple(check_float(name, f"betas[{i}]", b, min=0, max=1, max_open=True)
                                for i, b in enumerate(betas)),
                    eps=check_float(name, "eps", values["eps"], min=0),
                    weight_decay=check_float(name, "weight_decay", values["weight_decay"],
                                             min=0))

    def step(self) -> None:
        """Apply one update to every parameter with ``requires_grad``."""
        beta1, beta2 = self.betas
        for i, p in self._trainable():
            g = p.grad
            if self.weight_decay != 0:
                if self.decoupled_weight_decay:
                    p.data *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p.data
            if i not in self.state:
                self.state[i] = {"step": np.zeros((), np.int64),
                                 "exp_avg": np.zeros_like(p.data),
                                 "exp_avg_sq": np.zeros_like(p.data)}
            state = self.state[i]
            state["step"] += 1
            t = int(state["step"])
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            step_size = self.lr / (1 - beta1**t)
            denom = np.sqrt(v) / (1 - beta2**t) ** 0.5 + self.eps
            p.data -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Identical to ``Adam`` except for the weight decay: instead of adding
    ``weight_decay * p`` to the gradient (where Adam's division by ``sqrt(v)`` would
    rescale it), the parameter is shrunk directly before the Adam update:

        p = p * (1 - lr * weight_decay)
        (then Adam's update with g = p.grad, i.e. without the L2 term)

    Args:
        params: iterable of Parameters (e.g. ``model.parameters()``).
        lr: learning rate, >= 0. Default 1e-3.
        betas: decay rates ``(beta1, beta2)``, each in [0, 1). Default (0.9, 0.999).
        eps: added to the denominator for stability, >= 0. Default 1e-8.
        weight_decay: decoupled decay rate, >= 0. Default 1e-2.

    Example:
        >>> p = Parameter(np.array([1.0]))
        >>> opt = AdamW([p], lr=0.1, weight_decay=0.5)
        >>> opt.step()   # zero gradient: only the decay acts, 1 * (1 - 0.1*0.5)
        >>> p.data
        array([0.95])
    """

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
