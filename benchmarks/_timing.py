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


def interleaved(
    sides: dict[str, Callable[[], object]],
    reference: str,
    rounds: int,
    *,
    batch_s: float = 0.002,
) -> list[tuple[str, float, float]]:
    """Time every side in many short interleaved batches, so machine noise hits them alike.

    Each round times one batch of every side back to back (about ``batch_s`` each); the
    ratio to the reference is taken within each round, where the sides ran milliseconds
    apart, and its median over the rounds is reported.

    Returns ``(name, median us per call, median ratio to the reference per round)``.
    """
    timers = {name: timeit.Timer(fn) for name, fn in sides.items()}
    numbers = {}
    for name, timer in timers.items():
        number, took = timer.autorange()  # also warms every side up
        numbers[name] = max(1, round(number * batch_s / took))
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, timer in timers.items():
            samples[name].append(timer.timeit(numbers[name]) / numbers[name] * 1e6)
    return [
        (
            name,
            median(values),
            median([us / ref for us, ref in zip(values, samples[reference], strict=True)]),
        )
        for name, values in samples.items()
    ]


def report(rows: list[tuple[str, float, float]], reference: str, rounds: int) -> None:
    """Print what :func:`interleaved` measured."""
    width = max(len(name) for name, _, _ in rows) + 2
    print(f"median of {rounds} interleaved rounds; ratio to '{reference}' per round")
    for name, us, ratio in rows:
        print(f"{name:{width}} {us:8.1f} us  {ratio:.2f}x")
