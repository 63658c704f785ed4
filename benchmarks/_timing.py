"""Small timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import timeit
from collections.abc import Callable


def per_call_us(fn: Callable[[], object], *, repeat: int = 7, target_s: float = 0.2) -> float:
    """Best-of-``repeat`` time of one call, in microseconds (auto-ranged loop count)."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * target_s / 0.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def median(values: list[float]) -> float:
    return statistics.median(values)
