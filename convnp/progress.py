"""A per-epoch progress bar: tqdm when it is installed, else one compact self-rewriting line.

Either way it is silent when ``verbose=0`` or when the stream is not a terminal (a log
file or a CI run gets only the one-line epoch summaries the Trainer prints).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ProgressBar:
    """Show batch count, running loss and accuracy, images/s and time left for one epoch.

    Args:
        total: number of batches in the epoch.
        description: text in front, e.g. ``'epoch 3/10'``.
        verbose: 0 = silent; 1 = show when ``stream`` is a terminal.
        stream: where to write (default ``sys.stderr``).

    Example:
        >>> bar = ProgressBar(10, "epoch 1/1", verbose=0)
        >>> bar.update(loss=0.5, accuracy=0.9, images=64)
        >>> bar.close()
    """

    def __init__(self, total: int, description: str, verbose: int = 1,
                 stream: TextIO | None = None) -> None:
        self.total, self.description = total, description
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = verbose > 0 and _is_terminal(self.stream)
        self.count, self.images, self.start = 0, 0, time.perf_counter()
        self._tqdm = None
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._tqdm = tqdm(total=total, desc=description, file=self.stream,
                                  leave=False, unit="batch")

    def update(self, loss: float, accuracy: float, images: int) -> None:
        """Record one finished batch with the running loss and accuracy."""
        self.count += 1
        self.images += images
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        rate = self.images / elapsed if elapsed > 0 else 0.0
        if self._tqdm is not None:
            self._tqdm.set_postfix(loss=f"{loss:.4f}", acc=f"{accuracy:.4f}",
                                   img_s=f"{rate:.0f}", refresh=False)
            self._tqdm.update(1)
            return
        left = elapsed / self.count * (self.total - self.count)
        self.stream.write(
            f"\r{self.description} {self.count}/{self.total} loss {loss:.4f} "
            f"acc {accuracy:.4f} {rate:.0f} img/s {left:.0f}s left "
        )
        self.stream.flush()

    def close(self) -> None:
        """Remove the bar, leaving the line free for the epoch summary."""
        if self._tqdm is not None:
            self._tqdm.close()
        elif self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
