"""Timing helpers shared by the benchmarks: best-of-k wall-clock timings."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    """Best and median seconds per call over `repeats` calls."""

    best: float
    median: float
    repeats: int


def measure(
    func: Callable[[], object],
    *,
    min_time: float = 0.3,
    max_repeats: int = 50,
    clock: Callable[[], float] = time.perf_counter,
) -> Timing:
    """Time `func`: one warm-up call, then repeat until `min_time` or `max_repeats`.

    The best time is the figure of merit (the least disturbed run); the median
    is printed beside it to show the spread. `clock` may be
    :func:`time.thread_time` for single-threaded work: CPU time of the calling
    thread does not count the time other processes hold the core.
    """
    func()  # warm-up: caches, lazy imports, allocator
    times: list[float] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        total = 0.0
        while len(times) < max_repeats and (total < min_time or len(times) < 5):
            start = clock()
            func()
            elapsed = clock() - start
            times.append(elapsed)
            total += elapsed
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(min(times), statistics.median(times), len(times))


def settle(seconds: float = 0.5) -> None:
    """Sleep so that OpenMP worker threads of the previous peer stop spinning."""
    time.sleep(seconds)


def measure_interleaved(
    funcs: dict[str, Callable[[], object]],
    *,
    rounds: int = 5,
    min_time: float = 0.1,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Best seconds per call of each function, measured in alternating rounds.

    On a shared or throttling machine the speed drifts over seconds; alternating
    short rounds exposes every function to the same drift, so their ratio holds.
    """
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, func in funcs.items():
            t = measure(func, min_time=min_time, clock=clock).best
            best[name] = min(best.get(name, float("inf")), t)
    return best
