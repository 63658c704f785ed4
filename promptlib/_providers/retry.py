"""One retry policy, and the one layer that owns transport retries.

The SDKs' own retries are switched off (``max_retries=0``), so attempts never multiply:
``RetryPolicy(attempts=3)`` makes at most three HTTP requests for each request promptlib
sends (a repair is a new request, with attempts of its own). Rate limits
(429), server errors (5xx), Anthropic's overloaded (529), timeouts and connection errors
are retried with exponential backoff and jitter, waiting what the provider asks
(``Retry-After``) when it says; everything else fails at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, TypeVar

from promptlib._errors import (
    AuthenticationError,
    ConfigurationError,
    PromptlibError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    RequestRejectedError,
)

__all__ = ["RetryPolicy"]  # the rest serves the adapters: internal

T = TypeVar("T")
_log = logging.getLogger("promptlib.providers")

_TRY_AGAIN = re.compile(r"try again in ([0-9.]+)\s*(ms|s)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard promptlib tries before giving up.

    Attributes:
        attempts: HTTP requests at most for each request sent (1: no retries); with
            repairs, a call sends up to ``repairs + 1`` requests.
        initial_wait: seconds before the first retry; doubles each time, with jitter.
        max_wait: the longest backoff between two attempts, in seconds.
        jitter: up to this many seconds of random wait added to each backoff.
        max_retry_after: the longest ``Retry-After`` honoured; a longer one fails at once.
        deadline: the longest one attempt may take from start to end, in seconds (for
            ``stream()``, the whole stream; for ``astream``, each wait for an event;
            ``None``: no limit). A server that trickles its reply byte by byte, or pings a
            stream without sending, never trips the client's timeout, which counts the
            gaps between bytes. Kept by the clients promptlib makes.
        repairs: re-asks after a reply that does not match the output schema.
        sleep, async_sleep: how to wait (replace them with a fake clock in tests).
    """

    attempts: int = 3
    initial_wait: float = 0.5
    max_wait: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    repairs: int = 2
    deadline: float | None = 600.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name, value, low, high in (
            ("attempts", self.attempts, 1, 100),
            ("repairs", self.repairs, 0, 20),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigurationError(
                    f"RetryPolicy({name}={value!r}): give a whole number from {low} to {high}"
                )
        if self.deadline is not None and not (_is_seconds(self.deadline) and self.deadline > 0):
            raise ConfigurationError(
                f"RetryPolicy(deadline={self.deadline!r}): give seconds above 0, or None"
            )
        waits: dict[str, object] = {
            "initial_wait": self.initial_wait,
            "max_wait": self.max_wait,
            "jitter": self.jitter,
            "max_retry_after": self.max_retry_after,
        }
        for setting, seconds in waits.items():
            if not _is_seconds(seconds):
                raise ConfigurationError(
                    f"RetryPolicy({setting}={seconds!r}): give a finite number of seconds, >= 0"
                )


def _is_seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0


def _header(exc: BaseException, name: str) -> str | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    try:
        value = headers.get(name) if headers is not None else None
    except (AttributeError, TypeError):
        return None
    return value if isinstance(value, str) else None


# A wait longer than this is no instruction a client should follow: treated as absent.
_ABSURD_WAIT = 7 * 24 * 3600.0


def _seconds(text: str, scale: float = 1.0) -> float | None:
    try:
        seconds = float(text) * scale
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and 0 <= seconds <= _ABSURD_WAIT else None


def _timestamp(stamp: str) -> float | None:
    """An HTTP date or RFC 3339 timestamp as seconds since the epoch (``None`` if unreadable)."""
    try:
        when = email.utils.parsedate_to_datetime(stamp)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _until(stamp: str, now: float) -> float | None:
    """Seconds from ``now`` to ``stamp``: 0 for a past time, ``None`` if unreadable or absurd."""
    when = _timestamp(stamp)
    if when is None:
        return None
    wait = when - now
    return max(0.0, wait) if wait <= _ABSURD_WAIT else None


_RESET_HEADERS = tuple(
    f"anthropic-ratelimit-{kind}-reset"
    for kind in ("requests", "tokens", "input-tokens", "output-tokens")
)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked to wait, or ``None`` when it did not say (or said
    something unusable: negative, not a number, absurdly long).

    Read from ``retry-after-ms``, ``retry-after`` (seconds or an HTTP date), Anthropic's
    ``anthropic-ratelimit-*-reset`` timestamps on a 429, then "try again in 26.6s" in the
    message. Dates are measured from the response's own ``date`` header when it has one,
    so a skewed local clock does not matter.
    """
    if (ms := _header(exc, "retry-after-ms")) is not None and (
        wait := _seconds(ms, 1 / 1000)
    ) is not None:
        return wait
    date = _header(exc, "date")
    now = (_timestamp(date) if date else None) or time.time()
    if (value := _header(exc, "retry-after")) is not None:
        wait = _seconds(value)
        if wait is None and not value.strip().lstrip("+-").replace(".", "", 1).isdigit():
            wait = _until(value, now)
        if wait is not None:
            return wait
    if getattr(exc, "status_code", None) == 429:
        resets = [w for h in _RESET_HEADERS if (v := _header(exc, h)) and (w := _until(v, now))]
        if resets:
            return max(resets)
    match = _TRY_AGAIN.search(_message(exc))
    if match:
        return _seconds(match.group(1), 1 / 1000 if match.group(2).lower() == "ms" else 1.0)
    return None


def _message(exc: BaseException) -> str:
    return str(getattr(exc, "message", "") or exc)


def _error_object(exc: BaseException) -> dict[str, Any]:
    """The ``error`` object of an error body (both providers' shapes), or ``{}``."""
    body = getattr(exc, "body", None)
    if not isinstance(body, dict):
        return {}
    error = body.get("error", body)
    return error if isinstance(error, dict) else {}


def _error_kinds(exc: BaseException) -> set[str]:
    """The error's ``type``, ``code`` and ``details.error_code``, lowercased."""
    error = _error_object(exc)
    details = error.get("details")
    values = (
        error.get("type"),
        error.get("code"),
        details.get("error_code") if isinstance(details, dict) else None,
    )
    return {value.lower() for value in values if isinstance(value, str)}


def _request_id(exc: BaseException) -> str | None:
    request_id = getattr(exc, "request_id", None)
    if isinstance(request_id, str) and request_id:
        return request_id
    body = getattr(exc, "body", None)
    for source in (body, _error_object(exc)):
        if isinstance(source, dict) and isinstance(source.get("request_id"), str):
            return str(source["request_id"])
    return None


_QUOTA_KINDS = {
    "insufficient_quota",
    "billing_not_active",
    "billing_error",
    "billing_hard_limit_reached",
    "enforced_spend_limit_reached",
}
_QUOTA_TEXT = re.compile(
    r"credit balance is too low|exceeded your current quota|spend(ing)? limit|"
    r"(api )?usage limits?\b.*\b(reached|regain access)",
    re.IGNORECASE,
)
_TOO_LARGE_TEXT = re.compile(r"\brequest too large\b", re.IGNORECASE)
_AUTH_KINDS = {"authentication_error", "permission_error", "invalid_api_key"}
_RATE_KINDS = {"rate_limit_error", "rate_limit_exceeded", "tokens", "requests"}
_UNAVAILABLE_KINDS = {
    "overloaded_error",
    "api_error",
    "server_error",
    "service_unavailable",
    "internal_server_error",
    "internalservererror",
}
_OVERLOADED_TEXT = re.compile(r"\boverloaded\b", re.IGNORECASE)
_TIMEOUT_KINDS = {"timeout_error"}
_TOO_LARGE_KINDS = {"request_too_large"}


def _family(exc: BaseException, status: int | None) -> str:
    """What kind of failure an error response is: by its body first, then its status.

    One of ``quota``, ``too_large``, ``auth``, ``rate_limit``, ``unavailable``,
    ``timeout`` or ``rejected``. The body decides where it is explicit, so an error event
    inside a stream (HTTP 200) is classified as surely as an error status.
    """
    kinds, message = _error_kinds(exc), _message(exc)
    code = _error_object(exc).get("code")
    if isinstance(code, int | str) and str(code).isdigit() and status in (None, 200):
        status = int(code)  # an error inside a stream says its status in the body
    if kinds & _QUOTA_KINDS or _QUOTA_TEXT.search(message) or status == 402:
        return "quota"
    if kinds & _TOO_LARGE_KINDS or status == 413 or _TOO_LARGE_TEXT.search(message):
        return "too_large"
    if kinds & _AUTH_KINDS or status in (401, 403):
        return "auth"
    # For the retryable families the status decides; the body only when there is none
    # (an error inside a stream, or sent as a 200).
    by_body = status in (None, 200)
    if status == 429 or (by_body and kinds & _RATE_KINDS):
        return "rate_limit"
    if status == 408 or (by_body and kinds & _TIMEOUT_KINDS):
        return "timeout"
    if (status is not None and status >= 500) or status == 409:
        return "unavailable"
    overloaded = not kinds and _OVERLOADED_TEXT.search(message)
    if by_body and (kinds & _UNAVAILABLE_KINDS or overloaded):
        return "unavailable"
    return "rejected"


_RETRYABLE_FAMILIES = {"rate_limit", "unavailable", "timeout"}


def is_transport_error(exc: BaseException) -> bool:
    # A transport error the SDK did not wrap (seen with some HTTP client set-ups).
    return type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2")


def _too_long_to_wait(exc: BaseException, policy: RetryPolicy) -> float | None:
    wait = retry_after(exc)
    return wait if wait is not None and wait > policy.max_retry_after else None


def _is_retryable(exc: BaseException, sdk: Any, policy: RetryPolicy) -> bool:
    if isinstance(exc, sdk.APITimeoutError | sdk.APIConnectionError) or is_transport_error(exc):
        return True
    if isinstance(exc, TimeoutError):  # the policy's deadline
        return True
    if not isinstance(exc, sdk.APIStatusError):
        return False
    if _family(exc, exc.status_code) not in _RETRYABLE_FAMILIES:
        return False  # quota, too large, auth, rejected: asking again cannot help
    if (_header(exc, "x-should-retry") or "").strip().lower() == "false":
        return False
    # The cap applies on every path, the provider's own "x-should-retry: true" included.
    return _too_long_to_wait(exc, policy) is None


def translate(
    exc: BaseException,
    sdk: Any,
    provider: str,
    attempts: int,
    policy: RetryPolicy | None = None,
) -> PromptlibError:
    """The promptlib error for an SDK exception (the SDK's is kept as the cause)."""
    message = _message(exc)
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
    if not isinstance(exc, sdk.APIError):
        return ProviderError(message, provider=provider, attempts=attempts)
    return _status_failure(exc, provider, attempts, policy)


def error_in_body(
    body: dict[str, Any], provider: str, attempts: int, request_id: str | None = None
) -> PromptlibError:
    """The promptlib error for an error a provider (or a proxy) sent as a 200 body."""
    error = body.get("error", body)
    message = error.get("message") if isinstance(error, dict) else None
    reported = SimpleNamespace(
        body=body,
        message=message if isinstance(message, str) else str(error),
        status_code=200,
        request_id=request_id,
        response=None,
    )
    return _status_failure(reported, provider, attempts, None)


def line_failure(
    error: dict[str, Any], status: int | None, provider: str, request_id: str | None = None
) -> PromptlibError:
    """The promptlib error for one failed line of a provider batch (an error object with
    the HTTP status the line got, when it says)."""
    reported = SimpleNamespace(
        body={"error": error},
        message=str(error.get("message") or error.get("type") or error.get("code") or error),
        status_code=status,
        request_id=request_id,
        response=None,
    )
    return _status_failure(reported, provider, 1, None)


def _status_failure(
    exc: Any, provider: str, attempts: int, policy: RetryPolicy | None
) -> PromptlibError:
    message = _message(exc)
    status = getattr(exc, "status_code", None)
    error = _error_object(exc)
    if isinstance(error.get("message"), str) and error["message"]:
        message = error["message"]  # not the SDK's "Error code: 429 - {...}" wrapping
    if status == 200:  # an error sent in a 200: in a stream, or by a proxy
        status, message = None, f"error in the response: {message}"
    common: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "request_id": _request_id(exc),
    }
    family = _family(exc, status)
    if family == "auth":
        return AuthenticationError(
            f"the API key was refused ({message}); check the key and its permissions",
            **common,
        )
    if family == "quota":
        return QuotaExceededError(
            f"the account is out of credit or over its spend limit: {message}; add credit "
            "or raise the limit in the provider's console (not retried)",
            attempts=attempts,
            **common,
        )
    if family == "too_large":
        return RequestRejectedError(
            f"the request is too large: {message}; make it smaller (retrying cannot help)",
            attempts=attempts,
            **common,
        )
    if family in _RETRYABLE_FAMILIES and policy is not None:
        long_wait = _too_long_to_wait(exc, policy)
        if long_wait is not None:
            message += (
                f"; the provider asked to wait {long_wait:g} s, longer than "
                f"RetryPolicy(max_retry_after={policy.max_retry_after:g}), so it was not "
                "retried: raise max_retry_after to wait that long"
            )
    if family == "rate_limit":
        limited = RateLimitError(message, attempts=attempts, **common)
        limited.retry_after = retry_after(exc)
        return limited
    if family == "timeout":
        return ProviderTimeoutError(message, attempts=attempts, **common)
    if family == "unavailable":
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
        return min(asked, policy.max_retry_after)
    backoff = min(policy.max_wait, policy.initial_wait * 2.0 ** min(attempt - 1, 60))
    return backoff + random.uniform(0, policy.jitter) if policy.jitter else backoff


def _failure(
    exc: Exception, sdk: Any, provider: str, attempts: int, policy: RetryPolicy
) -> PromptlibError | None:
    if isinstance(exc, sdk.APIError):
        return translate(exc, sdk, provider, attempts, policy)
    if is_transport_error(exc):
        return ProviderConnectionError(
            f"could not connect: {type(exc).__name__}: {exc}", provider=provider, attempts=attempts
        )
    if isinstance(exc, TimeoutError):
        return ProviderTimeoutError(
            f"an attempt took longer than RetryPolicy(deadline={policy.deadline!r}) seconds; "
            "the server may be sending its reply very slowly",
            provider=provider,
            attempts=attempts,
        )
    if isinstance(exc, UnicodeEncodeError):  # raised while building the request
        return ConfigurationError(
            f"{provider}: a header or URL has a character HTTP cannot carry ({exc.reason}: "
            f"{exc.object[exc.start : exc.end]!r}); check default_headers and base_url"
        )
    if isinstance(exc, ValueError):  # a 200 whose body is not the JSON it should be
        return ProviderError(
            f"the response could not be read: {exc}", provider=provider, attempts=attempts
        )
    return None


def _log_retry(
    provider: str, failure: BaseException, cause: BaseException, wait: float, attempt: int, of: int
) -> None:
    """Say, on the ``promptlib.providers`` logger, that a request failed and will be
    retried: after how long, and why that long."""
    if _log.isEnabledFor(logging.INFO):
        from promptlib._secrets import redact_in_use

        why = "as the provider's Retry-After asks" if retry_after(cause) is not None else "backoff"
        _log.info(
            "%s: attempt %d of %d failed, retrying in %.2f s (%s): %s",
            provider,
            attempt,
            of,
            wait,
            why,
            redact_in_use(f"{type(failure).__name__}: {failure}"),
        )


def _retrying(policy: RetryPolicy, sdk: Any, provider: str, asynchronous: bool) -> Any:
    import tenacity

    def before_sleep(state: Any) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and state.next_action is not None:
            failure = _failure(exc, sdk, provider, state.attempt_number + 1, policy) or exc
            attempt = state.attempt_number + 1
            _log_retry(provider, failure, exc, state.next_action.sleep, attempt, policy.attempts)

    # The first attempt is made before tenacity is involved, so tenacity makes the
    # remaining attempts, numbering them from the second. Measured: letting tenacity make
    # every attempt costs 2-5 points of throughput at 64 in flight (0.96x -> 0.94x of the
    # raw SDK for OpenAI, 0.95x -> 0.90x for Anthropic; benchmarks/bench_providers.py).
    options: dict[str, Any] = {
        "stop": tenacity.stop_after_attempt(policy.attempts - 1),
        "wait": _wait(policy, offset=1),
        "retry": tenacity.retry_if_exception(lambda e: _is_retryable(e, sdk, policy)),
        "before_sleep": before_sleep,
        "reraise": True,
    }
    if asynchronous:
        return tenacity.AsyncRetrying(sleep=policy.async_sleep, **options)
    return tenacity.Retrying(sleep=policy.sleep, **options)


def _after_first_attempt(first: Exception, policy: RetryPolicy, sdk: Any, provider: str) -> float:
    """How long to wait before retrying ``first``; raises when it is not to be retried."""
    failure = _failure(first, sdk, provider, 1, policy)
    if failure is None:
        raise first  # not a provider failure: the caller's own bug, as it was
    if policy.attempts == 1 or not _is_retryable(first, sdk, policy):
        if _too_long_to_wait(first, policy) is not None:
            _log_give_up(provider, failure, 1)  # retryable, but asked to wait too long
        raise failure from first
    wait = _wait_after(policy, first, 1)
    _log_retry(provider, failure, first, wait, 1, policy.attempts)
    return wait


def _attempts(retrying: Any) -> int:
    return 1 + int(retrying.statistics.get("attempt_number", 1))


def _retries_failed(
    exc: Exception, retrying: Any, sdk: Any, provider: str, policy: RetryPolicy
) -> Exception:
    """What to raise when the retries end with ``exc``."""
    failure = _failure(exc, sdk, provider, _attempts(retrying), policy)
    if failure is not None:
        _log_give_up(provider, failure, _attempts(retrying))
    return exc if failure is None else failure


def _log_give_up(provider: str, failure: BaseException, attempts: int) -> None:
    if _log.isEnabledFor(logging.WARNING):
        from promptlib._secrets import redact_in_use

        _log.warning(
            "%s: giving up after %d attempt%s: %s",
            provider,
            attempts,
            "" if attempts == 1 else "s",
            redact_in_use(f"{type(failure).__name__}: {failure}"),
        )


def call_with_retries(
    fn: Callable[[], T], *, policy: RetryPolicy, sdk: Any, provider: str
) -> tuple[T, int]:
    """Call ``fn`` under the policy; return its result and the attempts it took."""
    try:
        return fn(), 1
    except Exception as first:
        policy.sleep(_after_first_attempt(first, policy, sdk, provider))
    retrying = _retrying(policy, sdk, provider, asynchronous=False)
    try:
        result: T = retrying(fn)
    except Exception as exc:
        raised = _retries_failed(exc, retrying, sdk, provider, policy)
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
    retrying = _retrying(policy, sdk, provider, asynchronous=True)
    try:
        result: T = await retrying(fn)
    except Exception as exc:
        raised = _retries_failed(exc, retrying, sdk, provider, policy)
        if raised is exc:
            raise
        raise raised from exc
    return result, _attempts(retrying)


from promptlib._public import named_as  # noqa: E402  (names defined above)

named_as("promptlib", RetryPolicy)
