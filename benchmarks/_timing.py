"""Timing, memory and machine-report helpers shared by the benchmarks.

``conv_bench.py`` (the default table and ``--check``) and ``algorithms_bench.py``
(``--algorithms``, ``--tricks``) use them, so that every figure is timed the same way;
``lenet_bench.py`` and ``models_bench.py`` use ``take_turns`` (and ``busy_core``).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

PAUSE = 0.3  # seconds between timed blocks (see time_blocks)
BUSY_SECONDS = 120  # default bound on the life of the process ``busy_core`` starts


def torch_or_none():
    """PyTorch if it is installed, else None (it is an optional oracle, never required)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def default_repeats(flops: float) -> int:
    """More repeats for the quick small shapes, fewer for the large ones."""
    return 15 if flops < 1e9 else 7


def time_blocks(fns: list[Callable[[], object]], repeats: int, warmup: int = 2) -> list[float]:
    """Median ms of each function: warm-up, then ``repeats`` timed calls, one function at a time.

    Not interleaved: after a call, OpenBLAS's and PyTorch's worker threads keep spinning
    on a core for a while, which would slow down whichever library runs next. A pause
    between the blocks lets them go to sleep.
    """
    medians = []
    for fn in fns:
        time.sleep(PAUSE)
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        medians.append(1e3 * statistics.median(times))
    return medians


def time_alternating(fns: list[Callable[[], object]], repeats: int,
                     rounds: int = 3) -> list[float]:
    """Median ms of each function over ``rounds`` rounds of ``time_blocks`` in turn.

    For comparing two ways of computing the same thing on a shared machine: each round
    times every function once, so a burst of load from elsewhere hits all of them
    rather than only the one that happened to run during it.
    """
    per_round = [time_blocks(fns, repeats) for _ in range(rounds)]
    return [statistics.median(ms) for ms in zip(*per_round)]


def segment_sizes(total: int, segments: int) -> list[int]:
    """Split ``total`` steps into ``segments`` nearly equal runs (fewer if total is small).

    Example:
        >>> segment_sizes(938, 10)
        [94, 94, 94, 94, 94, 94, 94, 94, 93, 93]
    """
    segments = max(1, min(segments, total))
    return [total // segments + (i < total % segments) for i in range(segments)]


def take_turns(runs: dict[str, Iterator], segments: int) -> dict[str, list]:
    """Advance every run by one segment (one ``next()``), in turn, ``segments`` times.

    The speed of these shared machines drifts by tens of percent within seconds; when
    the runs being compared take turns a segment at a time, a drift slows them alike,
    and their ratio holds. Each run continues its own work (its own model and batches)
    from one turn to the next. A pause before each turn lets the previous library's
    worker threads go to sleep (see ``time_blocks``). Returns what each run yielded.
    """
    out: dict[str, list] = {name: [] for name in runs}
    for _ in range(segments):
        for name, run in runs.items():
            time.sleep(PAUSE)
            out[name].append(next(run))
    return out


def peak_extra_mb(make: Callable[[], Callable[[], object]]) -> float:
    """Peak memory (MB) that ``make()()`` allocates beyond what existed before the call."""
    step = make()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return (peak - before) / 2**20


@contextmanager
def busy_core(seconds: float = BUSY_SECONDS) -> Iterator[None]:
    """Run a busy Python loop in another process for the duration of the ``with`` block.

    The loop stops by itself after ``seconds`` even if this process dies; on leaving the
    block it is terminated. A block that outlives the loop raises RuntimeError, since part
    of it was timed without the load: give a block that may take longer a larger bound.
    """
    loop = f"import time\nt = time.time()\nwhile time.time() - t < {seconds}: pass"
    proc = subprocess.Popen([sys.executable, "-c", loop])
    try:
        time.sleep(0.5)
        yield
        if proc.poll() is not None:
            raise RuntimeError(f"busy_core: the busy loop ended (after {seconds} s) before "
                               "the timed block did; pass a larger seconds=")
    finally:
        proc.terminate()
        proc.wait()


def fmt(value: float | None, width: int, decimals: int) -> str:
    """``value`` right-aligned in ``width`` columns, or ``-`` when it was not measured."""
    return "-".rjust(width) if value is None else f"{value:{width}.{decimals}f}"


def print_machine() -> None:
    """Python, NumPy, BLAS, thread settings, torch, and the load average of the machine."""
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"os.cpu_count() = {os.cpu_count()}")
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    print(f"BLAS: {blas.get('name', '?')} {blas.get('version', '')}")
    threads = {v: os.environ[v] for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS") if v in os.environ}
    print(f"thread variables: {threads or 'none set (BLAS uses all cores)'}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("BLAS threads: unknown (install threadpoolctl to see them)")
    else:
        for pool in threadpool_info():
            print(f"BLAS threads: {pool['internal_api']} uses {pool['num_threads']}")
    torch = torch_or_none()
    if torch is None:
        print("torch: not installed (no comparison columns)")
    else:
        print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}")
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min): " + ", ".join(f"{v:.1f}" for v in os.getloadavg()))
