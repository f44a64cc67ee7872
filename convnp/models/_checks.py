"""Argument checks shared by the model builders, on top of ``convnp.validate``.

The builders check their arguments first, so that a mistake is reported in the builder's
own terms (``nin: widths must be a tuple of 3 ints, got int 16``) instead of by a layer
deep inside, or by Python's ``cannot unpack non-iterable int object``.

Example:
    >>> int_tuple("nin", "widths", [8, 16, 24], length=3)
    (8, 16, 24)
    >>> int_tuple("nin", "widths", (8, 0, 24), length=3)
    Traceback (most recent call last):
    ...
    ValueError: nin: widths[1] must be >= 1, got 0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from convnp.validate import check_float_dtype, check_generator, check_int


def sequence(owner: str, name: str, value: Any, what: str, length: int | None = None) -> list:
    """Return ``value`` (a tuple, list or NumPy array) as a list; TypeError / ValueError else.

    ``what`` describes the expected value in the message. It must not be empty, and it
    must hold ``length`` entries if ``length`` is given.
    """
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{owner}: {name} must be {what}, got {type(value).__name__} {value!r}")
    if len(value) == 0 or length is not None and len(value) != length:
        raise ValueError(f"{owner}: {name} must be {what}, got {len(value)} entries: {value!r}")
    return list(value)


def int_tuple(owner: str, name: str, value: Any, *, length: int | None = None,
              what: str | None = None) -> tuple[int, ...]:
    """Return ``value`` as a non-empty tuple of ints >= 1 (``length`` of them if given).

    ``what`` describes the expected value in the message (default: "a tuple of 3 ints").
    """
    what = what or f"a tuple of {length or 'one or more'} ints"
    entries = sequence(owner, name, value, what, length)
    return tuple(check_int(owner, f"{name}[{i}]", v, min=1) for i, v in enumerate(entries))


def rng_and_dtype(owner: str, rng: Any, dtype: Any) -> np.random.Generator:
    """Check ``rng`` (a Generator or None) and ``dtype`` (floating); return a Generator.

    None becomes a generator seeded with fresh entropy.
    """
    check_generator(owner, "rng", rng)
    check_float_dtype(owner, "dtype", dtype)
    return rng if rng is not None else np.random.default_rng()
