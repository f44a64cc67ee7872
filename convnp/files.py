"""Writing files so that nothing a user saved is ever lost or half-written.

``atomic_writer(path)`` hands out a temporary file in the same folder and renames it to
``path`` only once everything is written and flushed to disk. A crash, an exception or
Ctrl-C in the middle leaves the old file (or no file) in place, never a half-written
one, and no temporary file behind. Checkpoints, figures and IDX files all go through it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path``; rename it to ``path`` only on success.

    If the ``with`` block raises (or is interrupted by Ctrl-C), the temporary file is
    deleted and ``path`` is untouched, so a reader never sees a half-written file. The
    new file gets the usual permissions (as set by the umask).

    Args:
        path: the final file name.

    Raises:
        FileNotFoundError: if the folder of ``path`` does not exist (naming it).
        IsADirectoryError: if ``path`` is a folder.
        OSError: if the folder cannot be written; the message names ``path``, not the
            temporary file.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "out.bin")
        >>> with atomic_writer(path) as f:
        ...     _ = f.write(b"all or nothing")
        >>> open(path, "rb").read()
        b'all or nothing'
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder; give a file name")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    except OSError as error:
        raise type(error)(error.errno, f"cannot write {path}: the folder {path.parent} "
                                       f"refuses new files ({error.strerror})") from error
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
