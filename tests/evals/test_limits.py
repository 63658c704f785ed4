"""Rate limits: requests and tokens spread under the per-minute limits."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from promptlib import ConfigurationError
from promptlib.evals._limits import BURST_SECONDS, RateLimit, RateLimiter
from promptlib.evals._runner import run
from tests.evals.test_runner import experiment, mock


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def sent_at(limit: RateLimit, requests: int, tokens: int = 0) -> list[float]:
    clock = Clock()
    limiter = RateLimiter(limit, clock=clock, sleep=clock.sleep)
    times = []

    async def go() -> None:
        for _ in range(requests):
            await limiter.acquire(tokens)
            times.append(clock.now)

    asyncio.run(go())
    return times


def test_requests_are_spread_at_the_per_minute_rate_after_a_short_burst():
    times = sent_at(RateLimit(requests_per_minute=120), 20)  # 2 per second
    burst = int(2 * BURST_SECONDS)
    assert times[:burst] == [0.0] * burst
    gaps = [b - a for a, b in zip(times[burst:], times[burst + 1 :], strict=False)]
    assert all(gap == pytest.approx(0.5) for gap in gaps)
    # Over any minute, never more than the limit (plus the burst).
    assert sum(1 for t in times if t < 60) <= 120 + burst


def test_tokens_per_minute_hold_too():
    times = sent_at(RateLimit(tokens_per_minute=6000), 10, tokens=1000)  # 100 tokens/s
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([10.0] * 9)  # each request's 1,000 tokens refilled first


def test_a_request_larger_than_the_bucket_still_goes_and_the_next_waits_for_all_of_it():
    times = sent_at(RateLimit(tokens_per_minute=60), 3, tokens=100)  # 1 token/s, bucket of 2
    assert times[1] - times[0] == pytest.approx(100)
    assert times[2] - times[1] == pytest.approx(100)


@pytest.mark.parametrize("value", [0, -1, float("inf"), "10", True])
def test_bad_limits_are_refused(value):
    with pytest.raises(ConfigurationError, match="RateLimit"):
        RateLimit(requests_per_minute=value)


def test_a_run_keeps_to_its_rate_limit(tmp_path):
    started = time.monotonic()
    result = run(
        experiment(rate_limits={"mock": RateLimit(requests_per_minute=1200)}, concurrency=8),
        store=tmp_path / "s.sqlite",
        providers=mock(),
        progress=False,
    )
    elapsed = time.monotonic() - started
    assert result.done == 8
    # 20 per second with a burst of 40: eight requests need no wait at all...
    assert elapsed < 5
    slow = run(
        experiment(
            rate_limits={"mock": RateLimit(requests_per_minute=300)}, concurrency=8, repeats=2
        ),
        store=tmp_path / "t.sqlite",
        providers=mock(),
        progress=False,
    )
    # ...but at five per second, the six after the burst of ten wait 0.2 s each.
    assert slow.done == 16
    assert time.monotonic() - started - elapsed >= 1.1
