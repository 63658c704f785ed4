"""API keys: checked before anything is sent, and never shown."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback

import anthropic
import openai
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from promptlib import (
    AnthropicProvider,
    AuthenticationError,
    OpenAIProvider,
    ProviderError,
    RequestRejectedError,
    RetryPolicy,
    SecretsFilter,
)
from promptlib._secrets import redact
from tests.conftest import stand_in
from tests.providers.conftest import Script, response
from tests.providers.test_openai import WEATHER
from tests.repository.conftest import SHIPPED

BAD_KEYS = [
    "sk-proj-abcdefghijklmnop\n",
    "sk-proj-abcdefghijklmnop\r\n",
    " sk-proj-abcdefghijklmnop",
    "sk-proj-abcdefgh ijklmnop",
    "sk-proj-abcdéfghijklmnop",
    "sk-proj-abcdefghijklmnop\u200b",
    "sk-proj-abcdefgh\x00ijklmnop",
    "sk-proj-ａｂｃｄefghijklmnop",
]


def send(provider, mode):
    prompt = WEATHER.render()
    return asyncio.run(provider.acomplete(prompt)) if mode == "async" else provider.complete(prompt)


def shown(exc: BaseException) -> str:
    """Everything a user could see of an exception: its text, repr and whole traceback."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


@pytest.mark.parametrize("key", [k for k in BAD_KEYS if "\x00" not in k])  # no NUL in env vars
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_malformed_key_from_the_environment_is_refused_before_sending(
    key, mode, monkeypatch, policy, clock
):
    monkeypatch.setenv("OPENAI_API_KEY", key)
    provider = OpenAIProvider(retry=policy)
    with pytest.raises(AuthenticationError, match="OPENAI_API_KEY") as info:
        send(provider, mode)
    assert "The key was not sent" in str(info.value)
    assert "abcdefgh" not in shown(info.value)
    assert provider._client is None  # no client was even made
    assert clock.waits == []


@pytest.mark.parametrize("key", BAD_KEYS[:4])
def test_a_malformed_key_given_in_code_or_on_a_client_is_refused(key, policy):
    with pytest.raises(AuthenticationError, match="api_key given to AnthropicProvider") as info:
        AnthropicProvider(api_key=key, retry=policy).complete(WEATHER.render(), "claude-haiku-4-5")
    assert "abcdefgh" not in shown(info.value)
    script = Script(openai, [response(openai, 200, {})])
    client = openai.OpenAI(api_key=key, http_client=script.client())
    with pytest.raises(AuthenticationError, match="api_key of the OpenAI client") as info:
        OpenAIProvider(client, retry=policy).stream(WEATHER.render()).__iter__().__next__()
    assert "abcdefgh" not in shown(info.value)
    assert script.requests == []


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12),
    st.characters(blacklist_categories=(), min_codepoint=0, max_codepoint=0x10FFFF).filter(
        lambda c: not 0x21 <= ord(c) <= 0x7E
    ),
    st.integers(min_value=0, max_value=12),
)
def test_any_key_outside_printable_ascii_is_refused_without_echoing_it(body, bad, at):
    def refusal(key: str) -> str:
        with pytest.raises(AuthenticationError) as info:
            OpenAIProvider(api_key=key).complete(WEATHER.render())
        return shown(info.value)

    key = body[:at] + bad + body[at:]
    text = refusal(key)
    assert key not in text
    # A body that is part of the message itself (say "OpenAIProvid") proves nothing.
    other = "Z" * at + bad + "Z" * (len(body) - at)
    assume(body not in refusal(other))
    assert body not in text


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_key_echoed_in_an_error_body_is_masked_everywhere(mode, policy):
    key = "sk-live-0123456789abcdefghij"
    echoed = {
        "error": {
            "message": f"Incorrect API key: {key}. Also seen: sk-ant-api03-XYZXYZXYZXYZXYZ",
            "type": "invalid_request_error",
            "code": "bad_request",
        }
    }
    script = Script(openai, [response(openai, 400, echoed)])
    client = openai.OpenAI(api_key=key, http_client=script.client())
    async_client = openai.AsyncOpenAI(api_key=key, http_client=script.async_client())
    provider = OpenAIProvider(client, async_client=async_client, retry=policy)
    with pytest.raises(RequestRejectedError) as info:
        send(provider, mode)
    text = shown(info.value)
    assert key not in text
    assert "XYZXYZXYZ" not in text
    assert "[redacted]" in str(info.value)
    assert key not in repr(info.value.__cause__.body)


def test_a_password_in_base_url_is_never_shown(policy):
    provider = OpenAIProvider(base_url="http://user:hunter2-secret@127.0.0.1:9/v1", retry=policy)
    assert "hunter2" not in repr(provider)
    assert (
        redact("https://proxy/v1?api_key=abc123&x=1") == "https://proxy/v1?api_key=[redacted]&x=1"
    )


def test_the_logging_filter_removes_keys_from_messages_arguments_and_tracebacks():
    key = "sk-" + "abcdefghijklmnop1234"
    headers = {"authorization": f"Bearer {key}"}
    record = logging.LogRecord(
        "openai", logging.DEBUG, __file__, 1, "headers: %s", (headers,), None
    )
    try:
        raise ValueError(f"Illegal header value b'Bearer {key}\\n'")
    except ValueError as exc:
        record.exc_info = (ValueError, exc, exc.__traceback__)
    SecretsFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert key not in formatted
    assert "[redacted]" in formatted


@pytest.fixture
def echo_server():
    """A stand-in on 127.0.0.1 that refuses every request, echoing its auth header back."""

    def post(handler):
        handler.rfile.read(int(handler.headers["content-length"]))
        message = f"bad credentials: {handler.headers.get('authorization')}"
        data = json.dumps({"error": {"message": message, "type": "invalid_request_error"}})
        _refuse(handler, data)

    with stand_in(post) as url:
        yield url


def _refuse(handler, data: str) -> None:
    handler.send_response(400)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data.encode())


@pytest.mark.allow_provider_requests  # the stand-in server on 127.0.0.1
def test_cli_debug_output_never_shows_the_key(echo_server, monkeypatch, capsys):
    from promptlib._cli import main

    key = "sk-debug-0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    argv = ["--templates", str(SHIPPED), "run", "ticket-priority@production"]
    argv += ["--model", "gpt-4o-mini", "--base-url", echo_server, "--var", "ticket=down"]
    assert main(["--debug", *argv]) == 3  # the traceback is shown, the exit code kept
    logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "promptlib.RequestRejectedError: openai: bad credentials: Bearer [redacted]" in err
    assert key not in err
    assert main(argv) == 3  # the provider failed, not the command line
    err = capsys.readouterr().err
    assert "bad credentials: Bearer [redacted]" in err
    assert key not in err


def test_anthropic_sdk_clients_are_checked_too(policy):
    script = Script(anthropic, [response(anthropic, 200, {})])
    client = anthropic.Anthropic(api_key="sk-ant-abcdefghij\n", http_client=script.client())
    with pytest.raises(AuthenticationError, match=r"contains|newline"):
        AnthropicProvider(client, retry=RetryPolicy(attempts=1)).complete(
            WEATHER.render(), "claude-haiku-4-5"
        )
    assert script.requests == []


@pytest.fixture
def key_recorder():
    """A stand-in on 127.0.0.1 that notes the credentials each request carried."""
    seen: list[str | None] = []

    def post(handler):
        handler.rfile.read(int(handler.headers["content-length"]))
        seen.append(handler.headers.get("authorization"))
        _refuse(handler, json.dumps({"error": {"message": "no", "type": "invalid_request_error"}}))

    with stand_in(post) as url:
        yield url, seen


@pytest.mark.allow_provider_requests  # the stand-in server on 127.0.0.1
def test_the_providers_key_in_the_environment_never_goes_to_another_server(
    key_recorder, monkeypatch
):
    url, seen = key_recorder
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-0123456789abcdefghij")
    with pytest.raises(ProviderError):
        OpenAIProvider(base_url=url, retry=RetryPolicy(attempts=1)).complete(WEATHER.render())
    assert seen == ["Bearer unused"]
    with pytest.raises(ProviderError):
        OpenAIProvider(
            base_url=url, api_key="local-key-123", retry=RetryPolicy(attempts=1)
        ).complete(WEATHER.render())
    assert seen[-1] == "Bearer local-key-123"  # a key given for that server is sent to it
