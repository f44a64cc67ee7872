"""Learning-rate schedules: change ``optimizer.lr`` as training goes on.

A scheduler is a formula ``lr_at(t)`` for the learning rate after ``t`` calls to
``scheduler.step()``. Building one sets ``optimizer.lr = lr_at(0)``; each ``step()``
advances ``t`` by one and sets ``optimizer.lr = lr_at(t)``. As in PyTorch, call
``optimizer.step()`` first, then ``scheduler.step()``: usually once per epoch for
``StepLR`` and ``CosineAnnealingLR``, once per batch for ``OneCycleLR`` and ``LinearWarmup``.

Every schedule here is written in closed form (a function of ``t``), so the value
never depends on rounding errors accumulated over earlier steps, and ``state_dict()``
only needs ``t``, the base learning rate and the hyperparameters.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convnp.optim.optimizer import Optimizer, check_keys, check_type, from_array, to_array
from convnp.validate import check_bool, check_choice, check_float, check_int


class LRScheduler:
    """Base class: remembers the starting lr and the step count ``last_epoch``.

    Subclasses list their hyperparameters in ``hyperparameters``, implement
    ``checked_hyperparameters`` (type and range checks, used by the constructor and by
    ``load_state_dict``) and ``lr_at(t)``; their constructor calls
    ``self._set_hyperparameters(...)`` and then ``super().__init__(optimizer)``.

    Args:
        optimizer: the Optimizer whose ``lr`` is scheduled. Its ``lr`` at construction
            becomes ``base_lr``.

    Attributes:
        base_lr: the learning rate the schedule starts from.
        last_epoch: the number of ``step()`` calls so far (PyTorch's name; it counts
            batches for schedulers stepped per batch).

    Example:
        >>> from convnp import Parameter
        >>> from convnp.optim import SGD, StepLR
        >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(opt.lr)
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    hyperparameters: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0
        self.last_lr = self.lr_at(0)
        optimizer.lr = self.last_lr

    def lr_at(self, t: int) -> float:
        """The learning rate after ``t`` calls to ``step()``."""
        raise NotImplementedError(f"{type(self).__name__}.lr_at is not implemented")

    def step(self) -> None:
        """Advance one step and set ``optimizer.lr`` to the new learning rate."""
        self.last_lr = self.lr_at(self.last_epoch + 1)
        self.last_epoch += 1
        self.optimizer.lr = self.last_lr

    def get_last_lr(self) -> float:
        """The learning rate set by the last ``step()`` (or by the constructor)."""
        return self.last_lr

    def checked_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """Return ``values`` (one per name in ``hyperparameters``) checked and normalised."""
        return {}

    def _set_hyperparameters(self, values: dict[str, Any]) -> None:
        for name, value in self.checked_hyperparameters(values).items():
            setattr(self, name, value)

    # ----------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, np.ndarray]:
        """Return ``'type'``, ``'base_lr'``, ``'last_epoch'`` and the hyperparameters.

        The optimizer's own lr is not included: save ``optimizer.state_dict()`` too.
        """
        out = {"type": to_array(type(self).__name__), "base_lr": to_array(self.base_lr),
               "last_epoch": to_array(self.last_epoch)}
        for name in self.hyperparameters:
            out[name] = to_array(getattr(self, name))
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a ``state_dict()``; ``get_last_lr()`` then matches the saved scheduler.

        Like PyTorch, this does not change ``optimizer.lr`` (load the optimizer's state).
        Every value is checked first (as the constructor checks them); on any error
        nothing is changed.
        """
        owner = type(self).__name__
        check_type(owner, state)
        check_keys(owner, state, ["type", "base_lr", "last_epoch", *self.hyperparameters])
        new = self.checked_hyperparameters(
            {name: from_array(state[name]) for name in self.hyperparameters})
        new["base_lr"] = check_float(owner, "base_lr", from_array(state["base_lr"]), min=0)
        new["last_epoch"] = check_int(owner, "last_epoch", from_array(state["last_epoch"]),
                                      min=0)
        old = {name: getattr(self, name) for name in new}
        for name, value in new.items():
            setattr(self, name, value)
        try:
            self.last_lr = self.lr_at(self.last_epoch)
        except ValueError:
            for name, value in old.items():
                setattr(self, name, value)
            raise

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps (``torch``'s StepLR).

        lr(t) = base_lr * gamma ** (t // step_size)

    Args:
        optimizer: the Optimizer; its current ``lr`` is ``base_lr``.
        step_size: number of steps between two decays, a positive int.
        gamma: the decay factor. Default 0.1.

    Example:
        >>> from convnp import Parameter
        >>> from convnp.optim import SGD
        >>> opt = SGD([Parameter(np.zeros(1))], lr=0.1)
        >>> StepLR(opt, step_size=30).lr_at(65)   # 0.1 * 0.1**2
        0.0010000000000000002
    """

    hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self._set_hyperparameters(dict(step_size=step_size, gamma=gamma))
        super().__init__(optimizer)

    def checked_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        return dict(step_size=check_int("StepLR", "step_size", values["step_size"], min=1),
                    gamma=check_float("StepLR", "gamma", values["gamma"], min=0))

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` steps.

        lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    This is the closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR`` (which
    computes the same values recursively, equal up to rounding). After ``T_max`` steps
    the cosine carries on, back up towards ``base_lr``, as in PyTorch.

    Args:
        optimizer: the Optimizer; its current ``lr`` is ``base_lr``.
        T_max: number of steps from ``base_lr`` to ``eta_min``, a positive int.
        eta_min: the smallest learning rate. Default 0.

    Example:
        >>> from convnp import Parameter
        >>> from convnp.optim import SGD
        >>> opt = SGD([Parameter(np.zeros(1))], lr=0.1)
        >>> sched = CosineAnnealingLR(opt, T_max=10)
        >>> sched.lr_at(5), sched.lr_at(10)   # half way: the mean; the end: eta_min
        (0.05, 0.0)
    """

    hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self._set_hyperparameters(dict(T_max=T_max, eta_min=eta_min))
        super().__init__(optimizer)

    def checked_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        name = "CosineAnnealingLR"
        return dict(T_max=check_int(name, "T_max", values["T_max"], min=1),
                    eta_min=check_float(name, "eta_min", values["eta_min"], min=0))

    def lr_at(self, t: int) -> float:
        cosine = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith, 2018), as ``torch.optim.lr_scheduler.OneCycleLR``.

    Step it once per **batch**, ``total_steps`` times in all. Two phases:

        warm up    steps 0 .. pct_start*total_steps - 1:   initial_lr -> max_lr
        anneal     up to step total_steps - 1:              max_lr -> min_lr

    with ``initial_lr = max_lr / div_factor`` and ``min_lr = initial_lr /
    final_div_factor``. With ``three_phase=True`` the second phase goes back down to
    ``initial_lr`` (ending at step ``2*pct_start*total_steps - 2``) and a third one
    anneals to ``min_lr``. Within a phase running from step ``a`` (lr ``start``) to
    step ``b`` (lr ``end``), with ``x = (t - a) / (b - a)``:

        'cos':     lr = end + (start - end) * (1 + cos(pi * x)) / 2
        'linear':  lr = start + (end - start) * x

    Differences from PyTorch: the lr the optimizer was built with is ignored (as in
    PyTorch, the cycle starts at ``initial_lr``), and momentum / beta1 is **not**
    cycled (PyTorch's ``cycle_momentum``); ``epochs``/``steps_per_epoch`` are not
    accepted, pass ``total_steps = epochs * steps_per_epoch``. So the arguments after
    ``total_steps`` are keyword-only: PyTorch's fourth positional one is ``epochs``.

    Args:
        optimizer: the Optimizer.
        max_lr: the peak learning rate.
        total_steps: the number of ``step()`` calls in the cycle, a positive int.
        pct_start: the fraction of the steps spent warming up, in [0, 1]. Default 0.3.
        anneal_strategy: ``'cos'`` or ``'linear'``. Default ``'cos'``.
        div_factor: ``initial_lr = max_lr / div_factor``. Default 25.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``. Default 1e4.
        three_phase: use the three-phase schedule. Default False.

    Example:
        >>> from convnp import Parameter
        >>> from convnp.optim import SGD
        >>> opt = SGD([Parameter(np.zeros(1))], lr=0.1)
        >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.3)
        >>> [round(sched.lr_at(t), 6) for t in (0, 2, 9)]   # start, peak (t = 0.3*10 - 1), end
        [0.04, 1.0, 4e-06]
    """

    hyperparameters = ("max_lr", "total_steps", "pct_start", "anneal_strategy",
                       "div_factor", "final_div_factor", "three_phase")

    def __init__(self, optimizer: Optimizer, max_lr: float, total_steps: int, *,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False) -> None:
        self._set_hyperparameters(dict(
            max_lr=max_lr, total_steps=total_steps, pct_start=pct_start,
            anneal_strategy=anneal_strategy, div_factor=div_factor,
            final_div_factor=final_div_factor, three_phase=three_phase))
        super().__init__(optimizer)

    def checked_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        name = "OneCycleLR"
        out = dict(
            max_lr=check_float(name, "max_lr", values["max_lr"], min=0),
            total_steps=check_int(name, "total_steps", values["total_steps"], min=1),
            pct_start=check_float(name, "pct_start", values["pct_start"], min=0, max=1),
            anneal_strategy=check_choice(name, "anneal_strategy", values["anneal_strategy"],
                                         ("cos", "linear")),
            div_factor=check_float(name, "div_factor", values["div_factor"], min=0,
                                   min_open=True),
            final_div_factor=check_float(name, "final_div_factor", values["final_div_factor"],
                                         min=0, min_open=True),
            three_phase=check_bool(name, "three_phase", values["three_phase"]))
        ends = [end for end, _, _ in _one_cycle_phases(
            out["max_lr"], out["total_steps"], out["pct_start"], out["div_factor"],
            out["final_div_factor"], out["three_phase"])]
        if any(a == b for a, b in zip([0.0, *ends], ends)):
            raise ValueError(f"{name}: pct_start must be such that no phase is 0 steps long "
                             f"(with total_steps={out['total_steps']} the phases end at "
                             f"steps {ends}), got {values['pct_start']!r}")
        return out

    def phases(self) -> list[tuple[float, float, float]]:
        """The phases as ``(end step, start lr, end lr)``, in order."""
        return _one_cycle_phases(self.max_lr, self.total_steps, self.pct_start,
                                 self.div_factor, self.final_div_factor, self.three_phase)

    def lr_at(self, t: int) -> float:
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, but total_steps is "
                             f"{self.total_steps}")
        phases = self.phases()
        k = 0  # the first phase not over at step t; the last one takes every later t
        while k < len(phases) - 1 and t > phases[k][0]:
            k += 1
        start_step = phases[k - 1][0] if k > 0 else 0.0
        end_step, start_lr, end_lr = phases[k]
        x = (t - start_step) / (end_step - start_step)
        if self.anneal_strategy == "cos":
            return end_lr + (start_lr - end_lr) / 2.0 * (math.cos(math.pi * x) + 1)
        return (end_lr - start_lr) * x + start_lr


def _one_cycle_phases(max_lr: float, total_steps: int, pct_start: float, div_factor: float,
                      final_div_factor: float, three_phase: bool
                      ) -> list[tuple[float, float, float]]:
    """OneCycleLR's phases as ``(end step, start lr, end lr)``, in order."""
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    warmup_end = pct_start * total_steps - 1
    last = total_steps - 1
    if three_phase:
        return [(warmup_end, initial_lr, max_lr),
                (2 * pct_start * total_steps - 2, max_lr, initial_lr),
                (last, initial_lr, min_lr)]
    return [(warmup_end, initial_lr, max_lr), (last, max_lr, min_lr)]


class LinearWarmup(LRScheduler):
    """Ramp the lr linearly up to ``base_lr``, then hand over to another schedule.

        lr(t) = base_lr * (start_factor + (1 - start_factor) * t / warmup_steps)
                                                              for t < warmup_steps
        lr(t) = after.lr_at(t - warmup_steps)   if after is given,   else base_lr

    Without ``after`` this is ``torch.optim.lr_scheduler.LinearLR(optimizer,
    start_factor, end_factor=1.0, total_iters=warmup_steps)``. With ``after`` it is
    PyTorch's ``SequentialLR([LinearLR(...), after], milestones=[warmup_steps])``:
    build ``after`` first (so it sees the full lr), pass it in, and step only the
    warm-up, which uses ``after`` for its formula only.

    Args:
        optimizer: the Optimizer; its current ``lr`` is ``base_lr``.
        warmup_steps: number of steps to reach ``base_lr``, a positive int.
        start_factor: the first lr is ``start_factor * base_lr``, in (0, 1].
            Default 0.1.
        after: the scheduler (on the same optimizer) to follow after the warm-up, or
            None to keep ``base_lr``. Default None.

    Example:
        >>> from convnp import Parameter
        >>> from convnp.optim import SGD
        >>> opt = SGD([Parameter(np.zeros(1))], lr=1.0)
        >>> sched = LinearWarmup(opt, 4, start_factor=0.2, after=CosineAnnealingLR(opt, 4))
        >>> [round(sched.lr_at(t), 6) for t in range(9)]
        [0.2, 0.4, 0.6, 0.8, 1.0, 0.853553, 0.5, 0.146447, 0.0]
    """

    hyperparameters = ("warmup_steps", "start_factor")

    def __init__(self, optimizer: Optimizer, warmup_steps: int, start_factor: float = 0.1,
                 after: LRScheduler | None = None) -> None:
        if after is not None and not isinstance(after, LRScheduler):
            raise TypeError(f"LinearWarmup: after must be None or a scheduler on the same "
                            f"optimizer, got {type(after).__name__} {after!r}")
        if after is not None and after.optimizer is not optimizer:
            raise ValueError(f"LinearWarmup: after must be None or a scheduler on the same "
                             f"optimizer, got {after!r} on another optimizer")
        self._set_hyperparameters(dict(warmup_steps=warmup_steps, start_factor=start_factor))
        self.after = after
        super().__init__(optimizer)

    def checked_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        name = "LinearWarmup"
        return dict(
            warmup_steps=check_int(name, "warmup_steps", values["warmup_steps"], min=1),
            start_factor=check_float(name, "start_factor", values["start_factor"], min=0,
                                     max=1, min_open=True))

    def lr_at(self, t: int) -> float:
        if t < self.warmup_steps:
            progress = t / self.warmup_steps
            return self.base_lr * (self.start_factor + (1 - self.start_factor) * progress)
        if self.after is not None:
            return self.after.lr_at(t - self.warmup_steps)
        return self.base_lr

    def state_dict(self) -> dict[str, np.ndarray]:
        """As ``LRScheduler.state_dict``, plus ``after``'s state under ``'after.'`` keys."""
        out = super().state_dict()
        if self.after is not None:
            out.update({f"after.{k}": v for k, v in self.after.state_dict().items()})
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """As ``LRScheduler.load_state_dict``, restoring ``after`` from the ``'after.'`` keys."""
        own = {k: v for k, v in state.items() if not k.startswith("after.")}
        inner = {k[len("after."):]: v for k, v in state.items() if k.startswith("after.")}
        if bool(inner) != (self.after is not None):
            raise ValueError(f"LinearWarmup.load_state_dict: the state "
                             f"{'has' if inner else 'has no'} 'after' scheduler, this "
                             f"LinearWarmup {'has no' if self.after is None else 'has'} one")
        if self.after is None:
            super().load_state_dict(own)
            return
        before = self.after.state_dict()
        self.after.load_state_dict(inner)  # first: this schedule's lr_at reads after's
        try:
            super().load_state_dict(own)
        except (KeyError, TypeError, ValueError):
            self.after.load_state_dict(before)  # all or nothing
            raise
