"""Finite-difference gradient checking: is a hand-written backward pass right?

For an output ``y = f(x)`` and a fixed random ``g`` (standing in for dL/dy), the scalar
``L = sum(y * g)`` has gradient ``backward(g)``. Each entry is compared with the central
difference ``(L(x + eps) - L(x - eps)) / (2 eps)``, whose error is O(eps^2). This needs
float64: in float32 the rounding error of L swamps the difference.

``directional=True`` checks one random direction ``v`` per array instead of every entry:
``<grad, v>`` against ``(L(x + eps v) - L(x - eps v)) / (2 eps)``. Two forward passes per
array instead of two per entry, for inputs too big to check element by element.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convnp.layers.module import Module
from convnp.validate import check_bool, check_float, check_generator, kind_of


def gradcheck(f: Module | Callable, *inputs: np.ndarray, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-4, directional: bool = False,
              rng: np.random.Generator | None = None) -> bool:
    """Compare analytic gradients with float64 central differences.

    Args:
        f: a Module (called on one input ``x``; its input gradient and every
            parameter's gradient are checked), or a function ``f(*inputs)`` returning
            ``(y, backward)`` where ``backward(grad_y)`` returns one gradient per input
            (None for inputs that are not differentiated, e.g. integer targets).
        *inputs: float64 arrays (integer arrays are passed through, not checked).
        eps: finite-difference step.
        atol, rtol: pass if ``|analytic - numeric| <= atol + rtol * |numeric|``.
        directional: check one random direction per array instead of every entry.
        rng: generator for ``g`` and the directions (default: seeded with 0).

    Returns:
        True. Raises ``AssertionError`` naming the array, the worst element, the analytic
        and numeric values and the relative error otherwise.

    A Module is left as it was found: its buffers (BatchNorm's running statistics, which
    the many forward passes in training mode would update) and its parameters' ``.grad``
    are restored. A Module whose output changes between two calls on the same input (a
    Dropout in training mode) cannot be checked, and is refused with that reason.

    Example:
        >>> from convnp.layers import Conv2d
        >>> conv = Conv2d(2, 3, 3, stride=(2, 1), rng=np.random.default_rng(0), dtype=np.float64)
        >>> gradcheck(conv, np.random.default_rng(1).standard_normal((2, 2, 5, 6)))
        True
    """
    eps = check_float("gradcheck", "eps", eps, min=0, min_open=True)
    check_float("gradcheck", "atol", atol, min=0)
    check_float("gradcheck", "rtol", rtol, min=0)
    check_bool("gradcheck", "directional", directional)
    rng = check_generator("gradcheck", "rng", rng) or np.random.default_rng(0)
    if isinstance(f, type) or not callable(f):
        raise TypeError(f"gradcheck: f must be a Module or a function returning (y, backward), "
                        f"got {kind_of(f)}")
    for i, x in enumerate(inputs):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"gradcheck: input {i} must be a NumPy array, got {type(x).__name__}")
    # The finite differences perturb each input in place (and put it back), so that a
    # function sharing the array, such as a layer's own weight, sees the change. A
    # read-only input (a broadcast view) is perturbed in a copy instead.
    inputs = tuple(x.copy() if np.issubdtype(x.dtype, np.floating) and not x.flags.writeable
                   else x for x in inputs)
    if not isinstance(f, Module):
        return _gradcheck(f, inputs, eps, atol, rtol, directional, rng)
    state = f.state_dict()  # copies of the parameters and buffers (running statistics)
    grads = [p.grad.copy() for p in f.parameters()]
    try:
        return _gradcheck(f, inputs, eps, atol, rtol, directional, rng)
    finally:
        f.load_state_dict(state)
        for p, grad in zip(f.parameters(), grads):
            p.grad[...] = grad


def _gradcheck(f: Module | Callable, inputs: tuple[np.ndarray, ...], eps: float, atol: float,
               rtol: float, directional: bool, rng: np.random.Generator) -> bool:
    """``gradcheck`` once its arguments are checked."""
    if isinstance(f, Module):
        if len(inputs) != 1:
            raise ValueError(f"gradcheck: a Module takes one input, got {len(inputs)}")
        _require_float64([inputs[0]] + [p.data for p in f.parameters()])

        def run(xs):
            return f.forward(xs[0])

        if not np.array_equal(run(inputs), y := run(inputs), equal_nan=True):
            raise ValueError("gradcheck: two forward passes on the same input gave different "
                             "outputs, so finite differences mean nothing; a Dropout in "
                             "training mode does this: call .eval() on the module first")
        g = rng.standard_normal(y.shape)
        f.zero_grad()
        grad_x = f.backward(g)
        analytic = [grad_x] + [p.grad.copy() for p in f.parameters()]
        arrays = [inputs[0]] + [p.data for p in f.parameters()]
        names = ["input"] + [f"parameter '{name}'" for name, _ in f.named_parameters()]
    else:
        _require_float64([x for x in inputs if np.issubdtype(np.asarray(x).dtype, np.floating)])

        def run(xs):
            return f(*xs)[0]

        out = f(*inputs)
        if not (isinstance(out, tuple) and len(out) == 2 and callable(out[1])):
            raise TypeError("gradcheck: a function f must return a pair (y, backward), with "
                            "backward(grad_y) returning one gradient per input; got "
                            f"{type(out).__name__}")
        y, backward = out
        g = rng.standard_normal(np.shape(y))
        grads = backward(g)
        if not isinstance(grads, (tuple, list)):
            raise TypeError(
                "gradcheck: backward must return a tuple with one gradient per input "
                f"(None for inputs not differentiated), got {type(grads).__name__}"
            )
        if len(grads) != len(inputs):
            raise ValueError(f"gradcheck: backward returned {len(grads)} gradients for "
                             f"{len(inputs)} inputs; return one per input (None to skip one)")
        pairs = [(i, x, gr) for i, (x, gr) in enumerate(zip(inputs, grads)) if gr is not None]
        analytic = [gr for _, _, gr in pairs]
        arrays = [x for _, x, _ in pairs]
        names = [f"input {i}" for i, _, _ in pairs]

    def loss() -> float:
        return float(np.sum(run(inputs) * g))

    for name, array, grad in zip(names, arrays, analytic):
        if grad is None or np.shape(grad) != array.shape:
            raise AssertionError(f"gradcheck: analytic gradient of {name} has shape "
                                 f"{np.shape(grad)}, expected {array.shape}")
        if directional:
            _check_direction(name, array, np.asarray(grad), loss, eps, atol, rtol, rng)
        else:
            _check_elements(name, array, np.asarray(grad), loss, eps, atol, rtol)
    return True


def _require_float64(arrays: list[np.ndarray]) -> None:
    for a in arrays:
        if np.asarray(a).dtype != np.float64:
            raise ValueError(
                f"gradcheck: needs float64 inputs and parameters, got {np.asarray(a).dtype}; "
                "use x.astype(np.float64) and module.to(np.float64)"
            )


def _check_elements(name: str, array: np.ndarray, grad: np.ndarray, loss: Callable[[], float],
                    eps: float, atol: float, rtol: float) -> None:
    numeric = np.zeros(array.shape)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = loss()
        array[index] = original - eps
        minus = loss()
        array[index] = original
        numeric[index] = (plus - minus) / (2 * eps)
    error = np.abs(grad - numeric)
    bad = error > atol + rtol * np.abs(numeric)
    if bad.any():
        worst = np.unravel_index(np.argmax(error - rtol * np.abs(numeric)), array.shape)
        raise AssertionError(
            f"gradcheck: {name} gradient mismatch at index {tuple(int(i) for i in worst)}: "
            f"analytic {grad[worst]:.10g}, numeric {numeric[worst]:.10g}, relative error "
            f"{error[worst] / max(abs(numeric[worst]), 1e-300):.3g} "
            f"({int(bad.sum())} of {bad.size} entries off)"
        )


def _check_direction(name: str, array: np.ndarray, grad: np.ndarray, loss: Callable[[], float],
                     eps: float, atol: float, rtol: float, rng: np.random.Generator) -> None:
    v = rng.standard_normal(array.shape)
    original = array.copy()
    array += eps * v
    plus = loss()
    array[...] = original - eps * v
    minus = loss()
    array[...] = original
    numeric = (plus - minus) / (2 * eps)
    analytic = float(np.sum(grad * v))
    if abs(analytic - numeric) > atol + rtol * abs(numeric):
        raise AssertionError(
            f"gradcheck: {name} directional derivative mismatch: analytic {analytic:.10g}, "
            f"numeric {numeric:.10g}, relative error "
            f"{abs(analytic - numeric) / max(abs(numeric), 1e-300):.3g}"
        )
