"""Small ufunc buffers for ``+=`` on strided slices (trick 5 of ``_fast.py``).

NumPy 2.4 runs ``a[window] += b`` through buffers of up to ``np.getbufsize()`` elements
(8192 by default) for the operands whose strides do not line up, which together overflow
the CPU's first-level cache. With
buffers of 1024 elements, col2im took 0.35-0.58x the time on the large convolutions of
``conv_bench.py`` and 0.43-0.74x on LeNet's and a ResNet's layers (parity for kernel 4
stride 2), and a README training step on LeNet about 0.9x. col2im
(``_fast.batch_last_col2im``), its row form (``row_columns.conv2d_grad_x_by_rows``) and
average pooling's backward run their ``+=`` loops inside ``small_ufunc_buffers``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

UFUNC_BUFFER = 1024
"""Elements per operand buffer for ``+=`` on strided slices; NumPy's default is 8192."""


@contextmanager
def small_ufunc_buffers() -> Iterator[None]:
    """Run the block with NumPy's ufunc buffers at ``UFUNC_BUFFER`` elements, then restore.

    ``np.setbufsize`` sets NumPy's own setting for the current thread and context only.

    Example:
        >>> with small_ufunc_buffers():
        ...     np.getbufsize()
        1024
    """
    saved = np.setbufsize(UFUNC_BUFFER)
    try:
        yield
    finally:
        np.setbufsize(saved)
