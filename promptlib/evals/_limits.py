"""Request and token rate limits for a run, per provider: stay under them, never trip them.

A token bucket per limit, refilled continuously at the per-minute rate, holding at most a
few seconds' worth, so requests are spread evenly instead of bursting a minute's allowance
at once (which is what makes providers answer 429).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from promptlib._errors import ConfigurationError

__all__ = ["RateLimit", "RateLimiter"]

_log = logging.getLogger("promptlib.evals")

# The most a bucket holds, in seconds of its rate: a short burst, never a minute's worth.
BURST_SECONDS = 2.0


@dataclass(frozen=True)
class RateLimit:
    """Requests and tokens per minute one provider may be sent (``None``: no limit).

    Tokens are each request's counted input tokens plus its ``max_tokens`` (or the
    experiment's ``expected_output_tokens``).
    """

    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None

    def __post_init__(self) -> None:
        for name, lowest in (("requests_per_minute", 0.01), ("tokens_per_minute", 1.0)):
            value = getattr(self, name)
            if value is None:
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and value >= lowest):
                raise ConfigurationError(
                    f"RateLimit({name}={value!r}): give a number of at least {lowest:g}"
                )


@dataclass
class _Bucket:
    rate: float  # per second
    capacity: float
    level: float
    stamp: float


@dataclass
class RateLimiter:
    """Waits until a request fits every bucket it draws on, then takes its share."""

    limit: RateLimit
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)
    _buckets: dict[str, _Bucket] = field(default_factory=dict, repr=False)
    _lock: asyncio.Lock | None = field(default=None, repr=False)
    _warned: bool = field(default=False, repr=False)

    def _bucket(self, name: str, per_minute: float) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            rate = per_minute / 60
            capacity = max(1.0, rate * BURST_SECONDS)
            bucket = self._buckets[name] = _Bucket(rate, capacity, capacity, self.clock())
        return bucket

    def _wait(self, bucket: _Bucket, amount: float) -> float:
        now = self.clock()
        bucket.level = min(bucket.capacity, bucket.level + (now - bucket.stamp) * bucket.rate)
        bucket.stamp = now
        # A request larger than the bucket waits for a full bucket, then leaves it in
        # debt, so the requests after it wait until its whole size has been refilled.
        needed = min(amount, bucket.capacity)
        if amount > bucket.capacity * 30 and not self._warned:
            self._warned = True
            _log.warning(
                "a request of %d tokens is far above the tokens_per_minute limit (%g): it is "
                "sent, and the requests after it wait until it is paid off",
                amount,
                self.limit.tokens_per_minute,
            )
        return 0.0 if bucket.level >= needed else (needed - bucket.level) / bucket.rate

    async def acquire(self, tokens: int = 0) -> None:
        """Wait until one request of ``tokens`` tokens may be sent."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        wanted = []
        if self.limit.requests_per_minute:
            wanted.append((self._bucket("requests", self.limit.requests_per_minute), 1.0))
        if self.limit.tokens_per_minute and tokens:
            wanted.append((self._bucket("tokens", self.limit.tokens_per_minute), float(tokens)))
        async with self._lock:  # first come, first served
            while True:
                wait = max((self._wait(bucket, amount) for bucket, amount in wanted), default=0.0)
                if wait <= 0:
                    break
                await self.sleep(wait)
            for bucket, amount in wanted:
                bucket.level -= amount


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib.evals", RateLimit)
