"""Saving and restoring a random generator's state as a plain array (no pickle).

A ``np.random.Generator``'s position in its stream is ``rng.bit_generator.state``, a dict
of ints (and, for some bit generators, arrays). Stored as a JSON string in a 0-d array,
it fits in an ``.npz`` read with ``allow_pickle=False``; restoring it makes the
generator draw exactly the numbers it would have drawn next.
"""

from __future__ import annotations

import json

import numpy as np


def generator_state(rng: np.random.Generator) -> np.ndarray:
    """The generator's state as a 0-d string array.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> saved = generator_state(rng)
        >>> first = rng.random()
        >>> restore_generator(rng, saved, "example")
        >>> rng.random() == first
        True
    """
    # Some bit generators (MT19937, Philox, SFC64) keep arrays in their state.
    return np.array(json.dumps(rng.bit_generator.state, default=np.ndarray.tolist))


def restore_generator(rng: np.random.Generator, saved: np.ndarray, owner: str) -> None:
    """Put ``rng`` back in the state ``generator_state`` saved.

    Raises:
        ValueError: naming ``owner`` if the state is not one ``generator_state`` wrote, or
            is for another kind of bit generator.
    """
    try:
        state = json.loads(np.asarray(saved).item())
    except (ValueError, TypeError) as error:
        raise ValueError(f"{owner}: the saved generator state is not the JSON text that "
                         f"generator_state writes ({type(error).__name__}: {error})") from error
    expected = type(rng.bit_generator).__name__
    if not isinstance(state, dict) or state.get("bit_generator") != expected:
        got = state.get("bit_generator") if isinstance(state, dict) else state
        raise ValueError(f"{owner}: saved state is for bit generator {got!r}, this one uses "
                         f"{expected!r}")
    try:
        rng.bit_generator.state = state
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{owner}: the saved {expected} state is malformed "
                         f"({type(error).__name__}: {error})") from error
