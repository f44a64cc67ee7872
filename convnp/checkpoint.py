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

import copy
import os
import zipfile
from typing import Any

import numpy as np

from convnp.data.loader import DataLoader
from convnp.files import atomic_writer
from convnp.layers.module import Module
from convnp.optim.lr_scheduler import LRScheduler
from convnp.optim.optimizer import Optimizer
from convnp.rng import generator_state, restore_generator
from convnp.train import HISTORY_FIELDS, History
from convnp.validate import kind_of

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: Module, optimizer=None,
                    history: History | None = None, *, scheduler=None, loader=None) -> None:
    """Write everything needed to resume training to ``path`` (an ``.npz`` file), atomically.

    Args:
        path: destination file.
        model: a convnp ``Module``; its ``state_dict()`` is saved.
        optimizer, scheduler, loader: optional convnp ``Optimizer``, ``LRScheduler`` and
            ``DataLoader``; their ``state_dict()`` is saved (the loader's holds its random
            generator, so a resumed run shuffles and augments identically).
        history: optional ``History`` of the epochs so far.

    Raises:
        TypeError: for a part of the wrong kind (checked before anything is written, so
            the file at ``path`` is left as it was), naming the slot it belongs in.

    Example:
        >>> import tempfile, os
        >>> from convnp.layers import Linear
        >>> model = Linear(3, 2, rng=np.random.default_rng(0))
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> save_checkpoint(path, model)
        >>> load_checkpoint(path, Linear(3, 2, rng=np.random.default_rng(1)))
    """
    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "loader": loader,
             "history": history}
    _check_arguments("save_checkpoint", path, parts)
    arrays: dict[str, np.ndarray] = {"format_version": np.array(FORMAT_VERSION)}
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

    All or nothing: every part of the file is checked first (format version, model,
    optimizer, scheduler, loader, layer generators, history), the model, optimizer
    and scheduler by loading their state into a throwaway copy. Only if all of it is
    valid is anything changed; after an error every object is exactly as before.

    Raises:
        TypeError: for a path that is not one, or a part of the wrong kind (as
            ``save_checkpoint``).
        ValueError: if the file is not a convnp checkpoint (truncated, not an ``.npz``,
            wrong ``format_version``), or a field is missing or malformed, or does not
            match the given objects (missing or unexpected weights, other shapes or
            dtypes, another optimizer type, a hyperparameter out of range, an invalid
            generator state, an incomplete history). The message names the file and the
            field.
    """
    _check_arguments("load_checkpoint", path, {"model": model, "optimizer": optimizer,
                                               "scheduler": scheduler, "loader": loader})
    where = f"load_checkpoint: {path}"
    arrays = _read(path, where)
    _check_format_version(arrays.get("format_version"), where)
    parts = {"model": model, "optimizer": optimizer, "scheduler": scheduler}
    states = {}
    for field, part in parts.items():
        if part is None:
            continue
        states[field] = state = _section(arrays, field)
        if not state:
            raise ValueError(f"{where} holds no {field} state (field '{field}.*')")
        try:
            copy.deepcopy(part).load_state_dict(state)  # a trial: the real part is untouched
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{where} does not match the {field} (field '{field}'): "
                             f"{error}") from error
    generators = [(f"rng.{name}", rng) for name, rng in _module_generators(model)]
    if loader is not None:
        generators.append(("loader.rng_state", loader.rng))
    for field, rng in generators:
        _check_generator_state(rng, arrays.get(field), where, field)
    history = _section(arrays, "history")
    _check_history(history, where)

    for field, state in states.items():
        parts[field].load_state_dict(state)
    for field, rng in generators:
        restore_generator(rng, arrays[field], f"{where}: field '{field}'")
    return History.from_state_dict(history) if history else None


def _check_arguments(fn: str, path: Any, parts: dict[str, Any]) -> None:
    """Raise a TypeError naming ``fn`` for a path that is not one, or a part of the wrong kind."""
    if not isinstance(path, (str, os.PathLike)):
        swapped = " (the arguments are (path, model))" if isinstance(path, Module) else ""
        raise TypeError(f"{fn}: path must be a str or os.PathLike, got "
                        f"{type(path).__name__}{swapped}")
    if not isinstance(parts["model"], Module):
        raise TypeError(f"{fn}: model must be a convnp Module, got {kind_of(parts['model'])}")
    for name, part in parts.items():
        kind = _KINDS.get(name)
        if part is None or kind is None or isinstance(part, kind):
            continue
        slot = next((f" (pass it as {other}=...)" for other, cls in _KINDS.items()
                     if isinstance(part, cls) and other in parts), "")
        raise TypeError(f"{fn}: {name} must be a convnp {kind.__name__}, got "
                        f"{kind_of(part)}{slot}")


# What each optional part must be. Checked by type, not by having a state_dict(): a part in
# the wrong slot (a scheduler passed as the history) would be saved without complaint, and
# the file, which has replaced the previous checkpoint, could then never be loaded.
_KINDS = {"optimizer": Optimizer, "history": History, "scheduler": LRScheduler,
          "loader": DataLoader}


def _read(path: str | os.PathLike, where: str) -> dict[str, np.ndarray]:
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with data:
            return {key: data[key] for key in data.files}
    except (ValueError, EOFError, zipfile.BadZipFile) as error:
        # NumPy takes any other file for a pickle and suggests allow_pickle=True: not here
        reason = "it is not an .npz archive" if "pickle" in str(error) else str(error)
        raise ValueError(f"{where} is not a readable convnp .npz checkpoint "
                         f"({reason})") from error


def _check_format_version(version: np.ndarray | None, where: str) -> None:
    ok = (version is not None and version.shape == () and version.dtype.kind in "iu"
          and int(version) == FORMAT_VERSION)
    if not ok:
        shown = "nothing" if version is None else f"{version.tolist()!r} ({version.dtype})"
        raise ValueError(f"{where} is not a convnp checkpoint: field 'format_version' must be "
                         f"the integer {FORMAT_VERSION}, got {shown}")


def _check_generator_state(rng: np.random.Generator, saved: np.ndarray | None, where: str,
                           field: str) -> None:
    """Raise a ValueError unless ``saved`` restores a fresh generator of ``rng``'s kind."""
    if saved is None:
        raise ValueError(f"{where} holds no random-generator state for field '{field}'")
    trial = np.random.Generator(type(rng.bit_generator)())
    try:
        restore_generator(trial, saved, f"{where}: field '{field}'")
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"{where}: field '{field}' is not a valid random-generator state "
                         f"({type(error).__name__}: {error})") from error


def _check_history(history: dict[str, np.ndarray], where: str) -> None:
    """Raise a ValueError unless ``history`` is empty or holds every field, 1-D, equally long."""
    if not history:
        return
    missing = [name for name in HISTORY_FIELDS if name not in history]
    unexpected = [name for name in history if name not in HISTORY_FIELDS]
    if missing or unexpected:
        raise ValueError(f"{where}: field 'history' is incomplete: missing {missing}, "
                         f"unexpected {unexpected}")
    lengths = {}
    for name in HISTORY_FIELDS:
        value = history[name]
        if value.ndim != 1 or value.dtype.kind not in "iuf":
            raise ValueError(f"{where}: field 'history.{name}' must be a 1-D array of numbers, "
                             f"got {value.dtype} of shape {value.shape}")
        lengths[name] = len(value)
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{where}: field 'history' has lists of different lengths {lengths}")


def _module_generators(model: Module) -> list[tuple[str, np.random.Generator]]:
    """``(name, generator)`` for every layer that draws random numbers itself (Dropout)."""
    return [(name, m.rng) for name, m in model.named_modules()
            if isinstance(getattr(m, "rng", None), np.random.Generator)]


def _section(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    start = prefix + "."
    return {key[len(start):]: value for key, value in arrays.items() if key.startswith(start)}
