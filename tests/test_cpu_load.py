"""The busy-machine detector behind ``_blas.matmul``'s BLAS thread choice."""

import os
import time
from contextlib import contextmanager

import numpy as np
import pytest

import convnp.functional._blas as blas
from convnp.functional._cpu_load import (
    BUSY_CORES,
    INTERVAL,
    OtherLoad,
    machine_busy_seconds,
    others_busy,
)


def fake_load(machine, own, step=0.6):
    """An OtherLoad reading the given busy and own-CPU seconds, ``step`` seconds apart."""
    clock, machine, own = iter([i * step for i in range(len(machine))]), iter(machine), iter(own)
    return OtherLoad(lambda: next(machine), lambda: next(clock), lambda: next(own))


@pytest.mark.parametrize("other_cores, busy", [(0.0, False), (BUSY_CORES - 0.05, False),
                                               (BUSY_CORES + 0.05, True), (1.0, True)])
def test_busy_when_other_programs_use_more_than_half_a_core(other_cores, busy):
    own_per_step = 0.5  # this process's own use never counts
    machine = [100.0, 100.0 + 0.6 * other_cores + own_per_step]
    load = fake_load(machine, [3.0, 3.0 + own_per_step])
    assert load() is False  # the first call only takes a reading
    assert load() is busy


def test_readings_are_at_least_an_interval_apart():
    readings = []
    clock = iter([0.0, 0.1, INTERVAL - 0.01, INTERVAL + 0.01])

    def read():
        readings.append(1)
        return 10.0 * len(readings)  # ten busy cores: very busy

    load = OtherLoad(read, lambda: next(clock), lambda: 0.0)
    assert [load(), load(), load()] == [False, False, False]
    assert len(readings) == 1
    assert load() is True and len(readings) == 2


def test_without_proc_stat_the_machine_counts_as_busy_and_is_read_once_per_interval():
    reads, clock = [], iter([0.0, 0.1, INTERVAL + 0.2, INTERVAL + 0.3, 2 * INTERVAL + 0.3])
    answers = iter([None, None, 5.0])
    load = OtherLoad(lambda: reads.append(1) or next(answers), lambda: next(clock), lambda: 0.0)
    assert [load(), load(), load(), load()] == [True, True, True, True]
    assert len(reads) == 2
    assert load() is False and len(reads) == 3  # readable again: a fresh first reading


def test_the_shared_detector_reads_this_machine():
    assert others_busy.own_cpu is time.process_time  # all threads of this process
    assert others_busy.clock is time.monotonic
    if os.path.exists("/proc/stat"):
        assert machine_busy_seconds() > 0
    assert isinstance(others_busy(), bool)


def test_machine_busy_seconds_reads_the_first_line_of_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    #                 user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  100 20 30 5000 40 5 6 7 50 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n")
    hz = os.sysconf("SC_CLK_TCK")
    assert machine_busy_seconds(str(stat)) == pytest.approx((100 + 20 + 30 + 5 + 6 + 7) / hz)
    stat.write_text("not a stat file\n")
    assert machine_busy_seconds(str(stat)) is None
    assert machine_busy_seconds(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("busy, size, one_thread", [(True, 8, True), (False, 8, False),
                                                    (True, 1000, False)])
def test_matmul_uses_one_thread_only_for_small_products_on_a_busy_machine(
        monkeypatch, busy, size, one_thread):
    entered = []

    @contextmanager
    def spy():
        entered.append(1)
        yield

    monkeypatch.setattr(blas, "others_busy", lambda: busy)
    monkeypatch.setattr(blas, "one_blas_thread", spy)
    a = np.ones((size, size))
    np.testing.assert_array_equal(blas.matmul(a, a), a @ a)
    assert 2 * 8**3 < blas.SMALL_PRODUCT_FLOPS < 2 * 1000**3
    assert bool(entered) is one_thread
