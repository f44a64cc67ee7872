"""Checks for the command lines of the example scripts (``examples/*.py``).

Each stops the script with ``parser.error`` (usage line, exit code 2) before any data is
loaded or any training starts, naming the flag, what it accepts and what it got: a
mistake costs a second, not a finished training run.

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser(prog="train", exit_on_error=False)
    >>> check_range(p, "--epochs", 10, 1)           # fine: nothing happens
    >>> p.error = lambda message: print(message)    # show the message instead of exiting
    >>> check_range(p, "--lr", float("nan"), 0)
    --lr must be a finite number >= 0, got nan
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path


def check_range(p: argparse.ArgumentParser, flag: str, value: float | None, low: float,
                high: float | None = None) -> None:
    """Stop unless ``value`` is None (not given) or a finite number in [low, high].

    ``high=None`` means no upper bound.
    """
    if value is None:
        return
    in_range = low <= value and (high is None or value <= high)  # False for NaN
    if in_range and value != math.inf:
        return
    if high is not None:
        allowed = f"in [{low}, {high}]"
    elif isinstance(value, float):
        allowed = f"a finite number >= {low}"
    else:
        allowed = f">= {low}"
    p.error(f"{flag} must be {allowed}, got {value}")


def check_training_flags(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``check_range`` on the flags every training script has: ``--epochs``,
    ``--batch-size``, ``--lr``, ``--weight-decay``, ``--seed`` and ``--verbose``."""
    check_range(p, "--epochs", args.epochs, 1)
    check_range(p, "--batch-size", args.batch_size, 1)
    check_range(p, "--lr", args.lr, 0)
    check_range(p, "--weight-decay", args.weight_decay, 0)
    check_range(p, "--seed", args.seed, 0)
    check_range(p, "--verbose", args.verbose, 0)


def check_output(p: argparse.ArgumentParser, flag: str, path: str | None) -> None:
    """Stop unless a file can be written at ``path`` (None: no file wanted).

    Checked before training, so that a bad path does not lose the trained model.
    """
    if path is None:
        return
    if not path:
        p.error(f"{flag} must be a file path, got an empty string")
    if Path(path).is_dir():
        p.error(f"{flag} {path}: is a folder; give a file path")
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        p.error(f"{flag} {path}: the folder {folder} does not exist")
    try:  # create and delete a file: unlike os.access, this also tells the truth for root
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        p.error(f"{flag} {path}: cannot write a file in the folder {folder} ({error.strerror})")


def check_data_dir(p: argparse.ArgumentParser, path: str | None, download: bool) -> None:
    """Stop if ``--data-dir`` can hold no dataset: empty, a file, or (without downloads) a
    folder that does not exist. A new folder is fine when downloading: the data goes there.
    """
    if path is None:
        return
    folder = Path(path).expanduser()
    if not path or folder.exists() and not folder.is_dir():
        p.error(f"--data-dir {path!r} is not a folder")
    if not download and not folder.is_dir():
        p.error(f"--data-dir {path!r} does not exist, and without downloading nothing can "
                f"be found there")
