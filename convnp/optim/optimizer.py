"""Optimizer: the base class of SGD, Adam, AdamW and RMSprop.

An optimizer holds a list of Parameters and, after ``loss.backward()`` has filled each
``p.grad``, moves every ``p.data`` a little against its gradient:

    optimizer.zero_grad()       # forget the gradients of the last batch
    model.backward(...)         # add this batch's gradients into p.grad
    optimizer.step()            # update p.data in place

Besides the hyperparameters (``lr``, ``momentum``, ...) an optimizer may keep **state**
per parameter, e.g. a momentum buffer. ``self.state[i]`` is a dict of arrays for
``self.params[i]``, created the first time that parameter is stepped (as in PyTorch).

``state_dict()`` flattens all of this into ``{str: np.ndarray}`` (scalars become 0-d
arrays, so it can go straight into ``np.savez``); ``load_state_dict`` puts it back so
that training resumes exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from convnp.layers.module import Module, Parameter
from convnp.validate import check_float, check_state_dict


def to_array(value: Any) -> np.ndarray:
    """A copy of ``value`` as an ndarray: ``0.1 -> array(0.1)``, ``(0.9, 0.999) -> 1-D``."""
    return np.array(value)


def from_array(value: np.ndarray) -> Any:
    """Undo ``to_array`` for a hyperparameter: 0-d -> Python scalar, 1-D -> tuple."""
    value = np.asarray(value)
    return value.item() if value.ndim == 0 else tuple(value.tolist())


def check_keys(owner: str, state: dict[str, Any], expected: Iterable[str]) -> None:
    """Raise a KeyError listing the keys ``state`` is missing or should not have."""
    expected = set(expected)
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise KeyError(f"{owner}.load_state_dict: missing keys {missing}, "
                       f"unexpected keys {unexpected}")


def check_type(owner: str, state: dict[str, Any]) -> None:
    """Raise unless ``state`` is a dict whose ``'type'`` names the class ``owner``."""
    check_state_dict(f"{owner}.load_state_dict", state)
    if "type" not in state:
        raise ValueError(f"{owner}.load_state_dict: this is not a convnp {owner} state (it "
                         f"has no 'type' key, which state_dict() writes; PyTorch's are not)")
    saved = from_array(state["type"])
    if saved != owner:
        raise ValueError(f"{owner}.load_state_dict: the state was saved by {saved}, "
                         f"expected {owner}")


class Optimizer:
    """Base class: keeps the parameters, their state, and saves/loads both.

    Subclasses list their hyperparameters' names in ``hyperparameters`` (for ``repr``
    and ``state_dict``), implement ``checked_hyperparameters`` (which checks the type
    and range of each and is used both by the constructor and by ``load_state_dict``, so
    a saved ``lr = nan`` is refused just like ``SGD(lr=nan)``), list the names of the
    per-parameter state arrays in ``state_names`` (every parameter with state has all of
    them) and ``optional_state`` (arrays an option adds, such as RMSprop's momentum
    buffer: a saved state may hold them or not), and implement ``step()``.

    Args:
        params: an iterable of Parameters, e.g. ``model.parameters()``. It is read once
            into the list ``self.params``. Parameters with ``requires_grad=False`` stay
            in the list (so indices match) but ``step()`` leaves them alone.

    Example:
        >>> from convnp.optim import SGD
        >>> p = Parameter(np.array([1.0]))
        >>> p.grad[...] = 2.0
        >>> opt = SGD([p], lr=0.1)
        >>> opt.step()
        >>> p.data
        array([0.8])
    """

    hyperparameters: tuple[str, ...] = ()
    state_names: tuple[str, ...] = ()
    optional_state: tuple[str, ...] = ()
    nonnegative_state: tuple[str, ...] = ()  # e.g. Adam's step count and squared averages

    def __init__(self, params: Iterable[Parameter]) -> None:
        name = type(self).__name__
        if isinstance(params, (Module, Parameter, np.ndarray)) or not isinstance(params, Iterable):
            raise TypeError(f"{name}: params must be an iterable of Parameters, e.g. "
                            f"model.parameters(), got {type(params).__name__}")
        self.params: list[Parameter] = list(params)
        if not self.params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{name}: params[{i}] should be a Parameter, "
                                f"got {type(p).__name__}")
            if any(p is q for q in self.params[:i]):
                raise ValueError(f"{name}: params[{i}] appears twice in the parameter "
                                 "list; it would be updated twice per step")
        self.state: dict[int, dict[str, np.ndarray]] = {}

    def checked_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """Return ``values`` (one per name in ``hyperparameters``) checked and normalised.

        Raises TypeError or ValueError naming the optimizer, the hyperparameter and the
        value (see ``convnp.validate``).
        """
        raise NotImplementedError(f"{type(self).__name__}.checked_hyperparameters is not "
                                  "implemented")

    def _set_hyperparameters(self, values: dict[str, Any]) -> None:
        for name, value in self.checked_hyperparameters(values).items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        """A hyperparameter set later is checked like the constructor's argument, except
        that ``lr``, which schedulers set, need only be a finite number: PyTorch lets a
        schedule overshoot below 0 (``OneCycleLR`` one step past its end), but
        ``opt.lr = float('nan')`` or ``'0.1'`` is refused."""
        if name == "lr":
            value = check_float(type(self).__name__, name, value)
        elif name in self.hyperparameters and all(h in vars(self) for h in self.hyperparameters):
            values = {h: getattr(self, h) for h in self.hyperparameters}
            value = self.checked_hyperparameters({**values, name: value})[name]
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        """Called only for a missing attribute: explain PyTorch's ``param_groups``."""
        if name == "param_groups":
            raise AttributeError(
                f"{type(self).__name__} has no param_groups: a convnp optimizer holds one group "
                "of parameters, and its hyperparameters are attributes: set opt.lr = ... (a "
                "scheduler does that for you)")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _trainable(self) -> Iterator[tuple[int, Parameter]]:
        """Yield ``(index, parameter)`` for every parameter with ``requires_grad``.

        Floating state arrays follow their parameter's dtype: after ``model.to(np.float64)``
        the next step casts them, so the state stays consistent and a checkpoint of it
        loads back.
        """
        for i, p in enumerate(self.params):
            state = self.state.get(i, {})  # frozen ones too: the state is saved with them
            for name, value in state.items():
                if value.dtype.kind == "f" and value.dtype != p.dtype:
                    state[name] = value.astype(p.dtype)
            if p.requires_grad:
                yield i, p

    def step(self) -> None:
        """Update every trainable ``p.data`` in place from ``p.grad``."""
        raise NotImplementedError(f"{type(self).__name__}.step is not implemented")

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero, in place."""
        for p in self.params:
            p.zero_grad()

    # ----------------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, np.ndarray]:
        """Return copies of the hyperparameters and state as a flat ``{str: ndarray}``.

        Keys: ``'type'`` (the class name), ``'num_params'``, one per hyperparameter
        (``'lr'``, ...) and ``'state.<i>.<name>'`` for each state array of
        ``params[i]`` (e.g. ``'state.3.momentum_buffer'``).
        """
        out = {"type": to_array(type(self).__name__), "num_params": to_array(len(self.params))}
        for name in self.hyperparameters:
            out[name] = to_array(getattr(self, name))
        for i, state in self.state.items():
            for name, value in state.items():
                out[f"state.{i}.{name}"] = value.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore hyperparameters and state saved by ``state_dict()`` (copies them).

        Everything is checked before anything is changed: the optimizer type, the
        number of parameters, the keys, the hyperparameters' types and ranges, and the
        shape and dtype of every state array (which must match the parameter it belongs
        to; ``'step'`` is a 0-d int64).
        """
        owner = type(self).__name__
        check_type(owner, state)
        new_state: dict[int, dict[str, np.ndarray]] = {}
        for key, value in state.items():
            parts = key.split(".")
            if len(parts) == 3 and parts[0] == "state" and parts[1].isdigit():
                new_state.setdefault(int(parts[1]), {})[parts[2]] = np.asarray(value)
        expected = ["type", "num_params", *self.hyperparameters]
        expected += [f"state.{i}.{name}" for i, arrays in new_state.items()
                     for name in self.state_names + tuple(n for n in self.optional_state
                                                          if n in arrays)]
        check_keys(owner, state, expected)
        saved_count = from_array(state["num_params"])
        hyperparameters = self.checked_hyperparameters(
            {name: from_array(state[name]) for name in self.hyperparameters})
        if saved_count != len(self.params):
            raise ValueError(f"{owner}.load_state_dict: the state is for {saved_count} "
                             f"parameters, this optimizer has {len(self.params)}")
        for i, arrays in new_state.items():
            if i >= len(self.params):
                raise ValueError(f"{owner}.load_state_dict: state for parameter {i}, "
                                 f"but there are only {len(self.params)}")
            p = self.params[i]
            for name, value in arrays.items():
                is_count = name == "step"
                shape = () if is_count else p.shape
                dtype = np.dtype(np.int64) if is_count else p.dtype
                if value.shape != shape or value.dtype != dtype:
                    raise ValueError(
                        f"{owner}.load_state_dict: 'state.{i}.{name}' expected shape "
                        f"{shape} and dtype {dtype}, got {value.shape} and {value.dtype}"
                    )
                if name in self.nonnegative_state and not (value >= 0).all():
                    raise ValueError(f"{owner}.load_state_dict: 'state.{i}.{name}' must be "
                                     f">= 0 (and not NaN) everywhere")
        self._set_hyperparameters(hyperparameters)  # checked together above, set together
        self.state = {i: {name: value.copy() for name, value in arrays.items()}
                      for i, arrays in new_state.items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({args})"
