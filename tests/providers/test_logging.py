"""What promptlib says on its loggers: retries and waits, repairs, refusals, give-ups,
budget stops; never a key, and no handler of its own."""

from __future__ import annotations

import logging

import pytest

import promptlib
from promptlib import ProviderUnavailableError, RetryPolicy
from promptlib.testing import Failure, MockProvider
from tests.providers.test_openai import WEATHER


def test_retries_waits_and_give_ups_are_logged(caplog):
    caplog.set_level(logging.INFO, logger="promptlib")
    mock = MockProvider(
        [Failure("rate_limit", retry_after=2), {"city": "SF", "temperature": 1, "units": "f"}]
    )
    mock.complete(WEATHER.render())
    assert (
        "mock: attempt 1 of 3 failed, retrying in 2.00 s (as the provider's Retry-After asks): "
        "RateLimitError" in caplog.text
    )
    caplog.clear()
    with pytest.raises(ProviderUnavailableError):
        MockProvider(
            [Failure("server_error")], retry=RetryPolicy(jitter=0, sleep=lambda s: None)
        ).complete(WEATHER.render())
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.INFO, logging.INFO]
    assert "attempt 2 of 3 failed, retrying in 1.00 s (backoff)" in retries[1].getMessage()
    gave_up = [r for r in caplog.records if "giving up" in r.getMessage()]
    assert len(gave_up) == 1
    assert gave_up[0].levelno == logging.WARNING


def test_repairs_and_refusals_are_logged(caplog):
    caplog.set_level(logging.INFO, logger="promptlib")
    good = {"city": "SF", "temperature": 1, "units": "f"}
    MockProvider([Failure("invalid_output"), good]).complete(WEATHER.render())
    assert "asking again (repair 1 of 2)" in caplog.text
    with pytest.raises(promptlib.ModelRefusalError):
        MockProvider([Failure("refusal", "No.")]).complete(WEATHER.render())
    assert "the model refused: No." in caplog.text


def test_repairs_running_out_and_truncation_are_logged_as_warnings(caplog):
    caplog.set_level(logging.INFO, logger="promptlib")
    with pytest.raises(promptlib.OutputValidationError):
        MockProvider([Failure("invalid_output")] * 3).complete(WEATHER.render())
    gave_up = [r for r in caplog.records if "giving up after 2 repair(s)" in r.getMessage()]
    assert [r.levelno for r in gave_up] == [logging.WARNING]
    caplog.clear()
    with pytest.raises(promptlib.OutputTruncatedError):
        MockProvider([Failure("truncation")]).complete(WEATHER.render())
    cut = [r for r in caplog.records if "the reply was cut off at" in r.getMessage()]
    assert [r.levelno for r in cut] == [logging.WARNING]


def test_keys_never_reach_the_log(caplog):
    caplog.set_level(logging.INFO, logger="promptlib")
    key = "sk-" + "proj-0123456789abcdefghijkl"
    # A rate limit whose message echoes a key, as a misbehaving proxy might.
    mock = MockProvider([Failure("rate_limit"), {"city": "SF", "temperature": 1, "units": "f"}])
    original = mock._handle

    def echo(request):
        response = original(request)
        if response.status_code == 429:
            response._content = response.content.replace(b"(simulated)", key.encode())
        return response

    mock._handle = echo  # type: ignore[method-assign]
    mock.complete(WEATHER.render())
    assert "retrying" in caplog.text
    assert key not in caplog.text
    assert "sk-proj-[redacted]" in caplog.text  # the echo was there, and was removed


def test_promptlib_configures_no_handler():
    assert logging.getLogger("promptlib").handlers == []
    assert logging.getLogger("promptlib.providers").handlers == []


@pytest.mark.allow_provider_requests  # the stand-in server on 127.0.0.1
def test_a_key_of_any_shape_echoed_by_a_server_never_reaches_the_log(caplog):
    """Known keys, not only key-shaped text, are removed from log lines, as from errors."""
    import json

    from promptlib import OpenAIProvider, RateLimitError
    from tests.conftest import stand_in

    key = "0123456789abcdef0123456789abcdef"  # an Azure-style key: no sk- prefix

    def limited(handler):
        body = json.dumps({"error": {"message": f"Rate limited for key {key}"}}).encode()
        handler.send_response(429)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    caplog.set_level(logging.INFO, logger="promptlib")
    policy = RetryPolicy(attempts=2, jitter=0, sleep=lambda s: None)
    with stand_in(limited) as url:
        provider = OpenAIProvider(api_key=key, base_url=url, retry=policy)
        with pytest.raises(RateLimitError) as raised:
            provider.complete(WEATHER.render(), "gpt-4o-mini")
    assert "retrying" in caplog.text
    assert "giving up" in caplog.text
    assert key not in caplog.text
    assert "Rate limited for key [redacted]" in caplog.text
    assert key not in str(raised.value)


def test_a_rate_limit_not_retried_for_its_long_retry_after_is_logged(caplog):
    from promptlib import RateLimitError

    caplog.set_level(logging.INFO, logger="promptlib")
    with pytest.raises(RateLimitError, match="not retried"):
        MockProvider([Failure("rate_limit", retry_after=120)]).complete(WEATHER.render())
    gave_up = [r for r in caplog.records if "giving up after 1 attempt:" in r.getMessage()]
    assert [r.levelno for r in gave_up] == [logging.WARNING]
