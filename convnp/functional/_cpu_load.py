"""Are other programs keeping a core busy? ``_blas.matmul`` asks before a small product.

Why it matters: OpenBLAS splits a matrix product over threads that spin-wait for each
other. When every core is free, two threads make LeNet's products faster; when another
program holds a core, the second thread waits for it and the product becomes several
times slower (``docs/performance.md`` has both measurements). So ``matmul`` keeps every
BLAS thread while the machine is quiet and drops to one thread for small products when
it is busy.

How it tells. Linux counts, in the first line of ``/proc/stat``, how long all the CPUs
together have been busy. Subtract what this process used (``time.process_time``, all
its threads, BLAS's included) and what is left is the other programs' use::

    other_cores = (d machine_busy_seconds - d own_cpu_seconds) / d wall_seconds

over the last ``INTERVAL`` seconds or more. The machine counts as busy when the other
programs used more than ``BUSY_CORES`` cores. That threshold assumes BLAS's default of
one thread per core, so any core another program takes is one a BLAS thread would wait
for. Child processes of this one count as other programs; so does everything else on
the host, even outside a container's share. Where ``/proc/stat`` cannot be read
(macOS, Windows), the machine always counts as busy: small products then run on one
thread, slower on a quiet machine but never stalled.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

INTERVAL = 0.5
"""Seconds between two readings of ``/proc/stat``; between them the last answer stands."""

BUSY_CORES = 0.5
"""The machine is busy when other programs use more than this many cores."""


def machine_busy_seconds(path: str = "/proc/stat") -> float | None:
    """Seconds all CPUs together have spent busy since boot, or None if unreadable.

    The first line of ``/proc/stat`` is ``cpu user nice system idle iowait irq softirq
    steal guest guest_nice`` in clock ticks. Busy is everything but idle and iowait (guest
    time is already inside user); steal counts as busy, since a virtual machine cannot
    use a CPU its host gave to someone else.
    """
    try:
        with open(path) as f:
            fields = f.readline().split()
        ticks = [int(v) for v in fields[1:9]]
        user, nice, system, idle, iowait, irq, softirq, steal = ticks
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class OtherLoad:
    """Call it to learn whether other programs are using more than ``BUSY_CORES`` cores.

    The first call takes the first reading and answers "not busy" (or "busy" if there is
    nothing to read); each later call at least ``INTERVAL`` seconds after the last
    reading compares with it (``(d busy - d own) / d wall``); calls in between repeat
    the last answer.

    Args:
        read_busy: returns the machine's busy seconds (``machine_busy_seconds``), or None.
        clock: wall-clock seconds (``time.monotonic``).
        own_cpu: this process's CPU seconds, all threads (``time.process_time``).

    Example:
        >>> ticks = iter([0.0, 0.6, 1.2])                 # wall clock, 0.6 s apart
        >>> machine = iter([10.0, 10.9, 11.2])            # busy seconds of all the CPUs
        >>> own = iter([1.0, 1.3, 1.6])                   # of which this process: 0.3 s
        >>> load = OtherLoad(lambda: next(machine), lambda: next(ticks), lambda: next(own))
        >>> [load() for _ in range(3)]   # quiet until measured; 1 core, then 0 cores
        [False, True, False]
    """

    def __init__(self, read_busy: Callable[[], float | None] = machine_busy_seconds,
                 clock: Callable[[], float] = time.monotonic,
                 own_cpu: Callable[[], float] = time.process_time) -> None:
        self.read_busy, self.clock, self.own_cpu = read_busy, clock, own_cpu
        self.busy = False
        self.last: tuple[float, float, float] | None = None  # (wall, machine busy, own cpu)

    def __call__(self) -> bool:
        wall, last = self.clock(), self.last
        if last is not None and wall - last[0] < INTERVAL:
            return self.busy
        machine = self.read_busy()
        if machine is None:  # no /proc/stat: assume the worst, and look again later
            self.busy, self.last = True, (wall, float("nan"), float("nan"))
            return True
        now = (wall, machine, self.own_cpu())
        if last is not None and now[0] > last[0]:
            elapsed, busy, own = (a - b for a, b in zip(now, last))
            self.busy = (busy - own) / elapsed > BUSY_CORES  # False after a NaN reading
        self.last = now
        return self.busy


others_busy = OtherLoad()
"""The one ``OtherLoad`` that ``_blas.matmul`` consults (it keeps the last reading)."""

if hasattr(os, "register_at_fork"):  # a forked child's own CPU time starts again at 0
    os.register_at_fork(after_in_child=lambda: setattr(others_busy, "last", None))
