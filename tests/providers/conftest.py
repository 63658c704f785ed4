from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from promptlib import RetryPolicy
from tests.conftest import sdk_httpx

EXCHANGES = json.loads((Path(__file__).parents[1] / "data" / "openai_exchanges.json").read_text())


class FakeClock:
    """Records the waits a retry policy asks for, instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy(clock: FakeClock) -> RetryPolicy:
    return RetryPolicy(attempts=3, jitter=0, sleep=clock.sleep, async_sleep=clock.async_sleep)


Step = Any  # an httpx(2) Response, or an exception to raise


class Script:
    """A transport that answers with scripted responses, in order, and records requests."""

    def __init__(self, sdk: Any, steps: list[Step]) -> None:
        self.http = sdk_httpx(sdk)
        self.steps = list(steps)
        self.requests: list[Any] = []

    def _next(self, request: Any) -> Any:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step(request) if callable(step) else step

    def client(self) -> Any:
        return self.http.Client(transport=self.http.MockTransport(self._next))

    def async_client(self) -> Any:
        async def handler(request: Any) -> Any:
            return self._next(request)

        return self.http.AsyncClient(transport=self.http.MockTransport(handler))

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def response(sdk: Any, status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    http = sdk_httpx(sdk)
    return http.Response(status, json=body, headers={"x-request-id": "req_123", **(headers or {})})


ScriptFactory = Callable[[list[Step]], Script]
