"""Weight initialisers. Each takes a shape, the fan values it needs and an explicit Generator.

For a weight of shape (C_out, C_in/G, *kernel): ``fan_in = C_in/G * prod(kernel)``
(inputs feeding one output) and ``fan_out = C_out * prod(kernel)``. A Linear weight
(out, in) has ``fan_in = in``, ``fan_out = out``. ``fans(shape)`` computes both.

The rules keep the variance of activations (Kaiming/He: for ReLU nets) or of
activations and gradients (Xavier/Glorot: for tanh/sigmoid nets) the same from layer to
layer:

    kaiming_uniform: U(-b, b), b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2))
    kaiming_normal:  N(0, std^2), std = gain / sqrt(fan_in)
    xavier_uniform:  U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal:   N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))

PyTorch's default for Conv and Linear weights is ``kaiming_uniform`` with
``a = sqrt(5)``, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convnp.validate import check_float, check_float_dtype, int_tuple

Shape = tuple[int, ...]


def _check(owner: str, shape: Any, rng: Any, dtype: Any, **values: Any) -> Shape:
    """Check an initialiser's arguments; return ``shape`` as ints.

    ``rng`` must be a Generator (never NumPy's global state, ``np.random``), ``dtype``
    floating, fans finite and > 0, ``a`` and ``gain`` finite.
    """
    shape = int_tuple(owner, "shape", shape)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{owner}: rng must be a np.random.Generator (e.g. "
                        f"np.random.default_rng(0)), got {type(rng).__name__}")
    check_float_dtype(owner, "dtype", dtype)
    for name, value in values.items():
        check_float(owner, name, value, min=0 if name.startswith("fan") else None,
                    min_open=name.startswith("fan"))
    return shape


def fans(shape: Shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape (out, in, *kernel) or (out, in).

    Example:
        >>> fans((6, 1, 5, 5))
        (25, 150)
    """
    shape = int_tuple("fans", "shape", shape)
    if len(shape) < 2:
        raise ValueError(f"fans: shape must be (out, in) or (out, in, *kernel), got {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def kaiming_uniform(shape: Shape, fan_in: int, rng: np.random.Generator, a: float = 0.0,
                    dtype=np.float32) -> np.ndarray:
    """He-uniform init: U(-b, b) with ``b = sqrt(2/(1+a^2)) * sqrt(3/fan_in)``.

    Example:
        >>> w = kaiming_uniform((6, 1, 5, 5), 25, np.random.default_rng(0), a=math.sqrt(5))
        >>> bool(np.abs(w).max() <= 1 / 5)
        True
    """
    shape = _check("kaiming_uniform", shape, rng, dtype, fan_in=fan_in, a=a)
    bound = math.sqrt(2 / (1 + a * a)) * math.sqrt(3 / fan_in)
    return rng.uniform(-bound, bound, shape).astype(dtype)


def kaiming_normal(shape: Shape, fan_in: int, rng: np.random.Generator, a: float = 0.0,
                   dtype=np.float32) -> np.ndarray:
    """He-normal init: N(0, std^2) with ``std = sqrt(2/(1+a^2)) / sqrt(fan_in)``."""
    shape = _check("kaiming_normal", shape, rng, dtype, fan_in=fan_in, a=a)
    std = math.sqrt(2 / (1 + a * a)) / math.sqrt(fan_in)
    return (rng.standard_normal(shape) * std).astype(dtype)


def xavier_uniform(shape: Shape, fan_in: int, fan_out: int, rng: np.random.Generator,
                   gain: float = 1.0, dtype=np.float32) -> np.ndarray:
    """Glorot-uniform init: U(-b, b) with ``b = gain * sqrt(6/(fan_in + fan_out))``."""
    shape = _check("xavier_uniform", shape, rng, dtype, fan_in=fan_in, fan_out=fan_out,
                   gain=gain)
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, shape).astype(dtype)


def xavier_normal(shape: Shape, fan_in: int, fan_out: int, rng: np.random.Generator,
                  gain: float = 1.0, dtype=np.float32) -> np.ndarray:
    """Glorot-normal init: N(0, std^2) with ``std = gain * sqrt(2/(fan_in + fan_out))``."""
    shape = _check("xavier_normal", shape, rng, dtype, fan_in=fan_in, fan_out=fan_out,
                   gain=gain)
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    return (rng.standard_normal(shape) * std).astype(dtype)


def zeros(shape: Shape, dtype=np.float32) -> np.ndarray:
    """All zeros (the usual bias init for Xavier/Kaiming schemes)."""
    return np.zeros(shape, dtype=dtype)
