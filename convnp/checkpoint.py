"""Save and restore a training run: model weights, optimizer state, schedule, history.

A checkpoint is one ``.npz`` file of plain arrays (read back with ``allow_pickle=False``,
so loading a file cannot run code). Keys are prefixed by what they belong to:
``model.0.weight``, ``optimizer.state.0.momentum_buffer``, ``scheduler.last_epoch``,
``loader.rng_state``, ``history.train_loss``, and ``rng.<layer>`` for each layer with its
own random generator (Dropout), so that a resumed run draws the same masks. The file
is written to a temporary name in the same folder and renamed only when complete, so a
crash never leaves a half-written checkpoint in place of a good one.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from convnp.files import atomic_writer
from convnp.layers.module import Module
from convnp.rng import generator_state, restore_generator
from convnp.train import History

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: Module, optimizer=None,
                    history: History | None = None, *, scheduler=None, loader=None) -> None:
    """Write everything needed to resume training to ``path`` (an ``.npz`` file), atomically.

    Args:
        path: destination file.
        model: its ``state_dict()`` is saved.
        optimizer, scheduler, loader: optional; their ``state_dict()`` is saved (the
            loader's holds its random generator, so a resumed run shuffles identically).
        history: optional ``History`` of the epochs so far.

    Example:
        >>> import tempfile, os
        >>> from convnp.layers import Linear
        >>> model = Linear(3, 2, rng=np.random.default_rng(0))
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> save_checkpoint(path, model)
        >>> load_checkpoint(path, Linear(3, 2, rng=np.random.default_rng(1)))
    """
    arrays: dict[str, np.ndarray] = {"format_version": np.array(FORMAT_VERSION)}
    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "loader": loader,
             "history": history}
    for prefix, part in parts.items():
        if part is not None:
            for key, value in part.state_dict().items():
                arrays[f"{prefix}.{key}"] = np.asarray(value)
    for name, rng in _module_generators(model):
        arrays[f"rng.{name}"] = generator_state(rng)
    with atomic_writer(path) as f:
        np.savez(f, **arrays)


def load_checkpoint(path: str | os.PathLike, model: Module, optimizer=None, *, scheduler=None,
                    loader=None) -> History | None:
    """Restore what ``save_checkpoint`` wrote into the given objects; return the History.

    Raises:
        ValueError: if the file is not a convnp checkpoint (truncated, not an ``.npz``),
            or does not match the model (missing or unexpected weights,
            other shapes or dtypes), or lacks the state of a given optimizer, scheduler or
            loader. The message names the file.
    """
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with data:
            arrays = {key: data[key] for key in data.files}
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"load_checkpoint: {path} is not a readable convnp .npz checkpoint "
                         f"({error})") from error
    if int(arrays.get("format_version", -1)) != FORMAT_VERSION:
        raise ValueError(f"load_checkpoint: {path} is not a convnp checkpoint (format version "
                         f"{FORMAT_VERSION} expected)")
    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "loader": loader}
    for prefix, part in parts.items():
        if part is None:
            continue
        state = _section(arrays, prefix)
        if not state:
            raise ValueError(f"load_checkpoint: {path} holds no {prefix} state")
        try:
            part.load_state_dict(state)
        except (KeyError, ValueError) as error:
            raise ValueError(f"load_checkpoint: {path} does not match the {prefix}: "
                             f"{error}") from error
    saved_generators = _section(arrays, "rng")
    for name, rng in _module_generators(model):
        if name not in saved_generators:
            raise ValueError(f"load_checkpoint: {path} holds no random-generator state for "
                             f"the model's layer '{name}'")
        restore_generator(rng, saved_generators[name], f"load_checkpoint: layer '{name}'")
    history = _section(arrays, "history")
    return History.from_state_dict(history) if history else None


def _module_generators(model: Module) -> list[tuple[str, np.random.Generator]]:
    """``(name, generator)`` for every layer that draws random numbers itself (Dropout)."""
    return [(name, m.rng) for name, m in model.named_modules()
            if isinstance(getattr(m, "rng", None), np.random.Generator)]


def _section(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    start = prefix + "."
    return {key[len(start):]: value for key, value in arrays.items() if key.startswith(start)}
