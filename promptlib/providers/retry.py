"""One retry policy, and the one layer that owns transport retries.

The SDKs' own retries are switched off (``max_retries=0``), so attempts never multiply:
``RetryPolicy(attempts=3)`` makes at most three HTTP requests for one call. Rate limits
(429), server errors (5xx), Anthropic's overloaded (529), timeouts and connection errors
are retried with exponential backoff and jitter, waiting what the provider asks
(``Retry-After``) when it says; everything else fails at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from promptlib.errors import (
    AuthenticationError,
    PromptlibError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    RequestRejectedError,
)

__all__ = [
    "RetryPolicy",
    "acall_with_retries",
    "call_with_retries",
    "is_transport_error",
    "translate",
]

T = TypeVar("T")

_TRY_AGAIN = re.compile(r"try again in ([0-9.]+)\s*(ms|s)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard promptlib tries before giving up.

    Attributes:
        attempts: HTTP requests per call at most (1: no retries).
        initial_wait: seconds before the first retry; doubles each time, with jitter.
        max_wait: the longest backoff between two attempts, in seconds.
        jitter: up to this many seconds of random wait added to each backoff.
        max_retry_after: the longest ``Retry-After`` honoured; a longer one fails at once.
        repairs: re-asks after a reply that does not match the output schema.
        sleep, async_sleep: how to wait (replace them with a fake clock in tests).
    """

    attempts: int = 3
    initial_wait: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    repairs: int = 2
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.repairs < 0:
            raise ValueError("RetryPolicy needs attempts >= 1 and repairs >= 0")


def _header(exc: BaseException, name: str) -> str | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get(name) if headers is not None else None
    return value if isinstance(value, str) else None


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked to wait: headers first, then "try again in 26.6s"."""
    if (ms := _header(exc, "retry-after-ms")) is not None:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    if (value := _header(exc, "retry-after")) is not None:
        try:
            return float(value)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    match = _TRY_AGAIN.search(str(getattr(exc, "message", "") or exc))
    if match:
        amount = float(match.group(1))
        return amount / 1000 if match.group(2).lower() == "ms" else amount
    return None


def _error_code(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        return code if isinstance(code, str) else None
    return None


def is_transport_error(exc: BaseException) -> bool:
    # A transport error the SDK did not wrap (seen with some HTTP client set-ups).
    return type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2")


def _is_retryable(exc: BaseException, sdk: Any, policy: RetryPolicy) -> bool:
    if isinstance(exc, sdk.APITimeoutError | sdk.APIConnectionError) or is_transport_error(exc):
        return True
    if not isinstance(exc, sdk.APIStatusError):
        return False
    should = _header(exc, "x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    status = exc.status_code
    if status == 429 and _error_code(exc) == "insufficient_quota":
        return False
    if status in (408, 409, 429) or status >= 500:
        wait = retry_after(exc)
        return wait is None or wait <= policy.max_retry_after
    return False


def translate(exc: BaseException, sdk: Any, provider: str, attempts: int) -> PromptlibError:
    """The promptlib error for an SDK exception (the SDK's is kept as the cause)."""
    message = str(getattr(exc, "message", "") or exc)
    request_id = getattr(exc, "request_id", None)
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderTimeoutError(
            "the request timed out; raise the client's timeout or retry later",
            provider=provider,
            attempts=attempts,
        )
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderConnectionError(
            f"could not connect: {message}", provider=provider, attempts=attempts
        )
    if not isinstance(exc, sdk.APIStatusError):
        return ProviderError(message, provider=provider, attempts=attempts)
    status = exc.status_code
    common: dict[str, Any] = {"provider": provider, "status": status, "request_id": request_id}
    if status in (401, 403):
        return AuthenticationError(
            f"the API key was refused ({message}); check the key and its permissions",
            **common,
        )
    if status == 429 and _error_code(exc) == "insufficient_quota":
        return QuotaExceededError(
            f"the account is out of credit: {message}", attempts=attempts, **common
        )
    if status == 429:
        return RateLimitError(message, attempts=attempts, **common)
    if status >= 500:
        return ProviderUnavailableError(message, attempts=attempts, **common)
    return RequestRejectedError(message, attempts=attempts, **common)


def _wait(policy: RetryPolicy, offset: int = 0) -> Callable[[Any], float]:
    def wait(state: Any) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return _wait_after(policy, exc, state.attempt_number + offset)

    return wait


def _wait_after(policy: RetryPolicy, exc: BaseException | None, attempt: int) -> float:
    asked = retry_after(exc) if exc is not None else None
    if asked is not None:
        return asked
    backoff = min(policy.max_wait, policy.initial_wait * 2.0 ** (attempt - 1))
    return backoff + random.uniform(0, policy.jitter) if policy.jitter else backoff


def _failure(exc: Exception, sdk: Any, provider: str, attempts: int) -> PromptlibError | None:
    if isinstance(exc, sdk.APIError):
        return translate(exc, sdk, provider, attempts)
    if is_transport_error(exc):
        return ProviderConnectionError(
            f"could not connect: {type(exc).__name__}: {exc}", provider=provider, attempts=attempts
        )
    if isinstance(exc, ValueError):  # a 200 whose body is not the JSON it should be
        return ProviderError(
            f"the response could not be read: {exc}", provider=provider, attempts=attempts
        )
    return None


def _retrying(policy: RetryPolicy, sdk: Any, asynchronous: bool) -> Any:
    import tenacity

    # The first attempt is made before tenacity is involved (it is the fast path), so
    # tenacity makes the remaining attempts, numbering them from the second.
    options: dict[str, Any] = {
        "stop": tenacity.stop_after_attempt(policy.attempts - 1),
        "wait": _wait(policy, offset=1),
        "retry": tenacity.retry_if_exception(lambda e: _is_retryable(e, sdk, policy)),
        "reraise": True,
    }
    if asynchronous:
        return tenacity.AsyncRetrying(sleep=policy.async_sleep, **options)
    return tenacity.Retrying(sleep=policy.sleep, **options)


def _after_first_attempt(first: Exception, policy: RetryPolicy, sdk: Any, provider: str) -> float:
    """How long to wait before retrying ``first``; raises when it is not to be retried."""
    failure = _failure(first, sdk, provider, 1)
    if failure is None:
        raise first  # not a provider failure: the caller's own bug, as it was
    if policy.attempts == 1 or not _is_retryable(first, sdk, policy):
        raise failure from first
    return _wait_after(policy, first, 1)


def _attempts(retrying: Any) -> int:
    return 1 + int(retrying.statistics.get("attempt_number", 1))


def _retries_failed(exc: Exception, retrying: Any, sdk: Any, provider: str) -> Exception:
    """What to raise when the retries end with ``exc``."""
    failure = _failure(exc, sdk, provider, _attempts(retrying))
    return exc if failure is None else failure


def call_with_retries(
    fn: Callable[[], T], *, policy: RetryPolicy, sdk: Any, provider: str
) -> tuple[T, int]:
    """Call ``fn`` under the policy; return its result and the attempts it took."""
    try:
        return fn(), 1
    except Exception as first:
        policy.sleep(_after_first_attempt(first, policy, sdk, provider))
    retrying = _retrying(policy, sdk, asynchronous=False)
    try:
        result: T = retrying(fn)
    except Exception as exc:
        raised = _retries_failed(exc, retrying, sdk, provider)
        if raised is exc:
            raise
        raise raised from exc
    return result, _attempts(retrying)


async def acall_with_retries(
    fn: Callable[[], Awaitable[T]], *, policy: RetryPolicy, sdk: Any, provider: str
) -> tuple[T, int]:
    """The async twin of :func:`call_with_retries`."""
    try:
        return await fn(), 1
    except Exception as first:
        await policy.async_sleep(_after_first_attempt(first, policy, sdk, provider))
    retrying = _retrying(policy, sdk, asynchronous=True)
    try:
        result: T = await retrying(fn)
    except Exception as exc:
        raised = _retries_failed(exc, retrying, sdk, provider)
        if raised is exc:
            raise
        raise raised from exc
    return result, _attempts(retrying)
