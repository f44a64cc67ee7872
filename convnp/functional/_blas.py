"""Small products on one BLAS thread when the machine is busy (trick 3 of ``_fast.py``).

When another program keeps a core busy, one of OpenBLAS's threads waits for that core while
the others spin-wait for it, and LeNet-sized products become several times slower; on a
quiet machine the second thread makes them faster. So while other programs use more than
half a core (``_cpu_load.py``), products under ``SMALL_PRODUCT_FLOPS`` run on one thread;
larger ones, and every product on a quiet machine, keep every thread the user allows. The
thread count is restored after each product; nothing else changes. Every matrix product in
``convnp.functional`` goes through ``matmul``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from convnp.functional._cpu_load import others_busy

SMALL_PRODUCT_FLOPS = 1e8
"""Products below this many flops (``2*M*K*N``) run on one BLAS thread when the machine
is busy; see ``matmul``."""


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)``, on one BLAS thread when the product is small and other
    programs keep a core busy (``_cpu_load.others_busy``).

    **Shape:** (..., M, K) @ (..., K, N) -> (..., M, N), as ``np.matmul``.

    Example:
        >>> a, b = np.ones((2, 3, 4)), np.ones((2, 4, 5))
        >>> np.array_equal(matmul(a, b), np.matmul(a, b))
        True
    """
    if 2 * a.size * b.shape[-1] >= SMALL_PRODUCT_FLOPS or not others_busy():
        return np.matmul(a, b, out=out)
    with one_blas_thread():
        return np.matmul(a, b, out=out)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with every BLAS library on one thread, then restore its thread count.

    Uses ``threadpoolctl`` to reach the BLAS library NumPy loaded. The libraries are looked
    up once, on first use, and kept in ``_BLAS``.
    """
    libraries = _blas_libraries()
    saved = [lib.get_num_threads() for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libraries, saved):
            lib.set_num_threads(n)


_BLAS: list | None = None


def _blas_libraries() -> list:
    """The threadpoolctl controllers of the loaded BLAS libraries, found on first use."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController().select(user_api="blas").lib_controllers
    return _BLAS
