"""Provider faults: waits that never stall, streams that end early, errors in the right
family, truncation named, refusals alike on every path, compatible servers, event loops."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from types import SimpleNamespace

import anthropic
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from promptlib import (
    ConfigurationError,
    JsonOutput,
    ModelRefusalError,
    OpenAIProvider,
    OutputTruncatedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExceededError,
    RateLimitError,
    RequestRejectedError,
    RetryPolicy,
    Template,
    UnsupportedFeatureError,
    User,
)
from promptlib._providers.retry import retry_after
from tests.conftest import stand_in
from tests.providers.conftest import EXCHANGES, Script, response
from tests.providers.test_anthropic_and_streams import (
    ANTHROPIC,
    COUNT,
    anthropic_provider,
    openai_provider,
    sse,
)
from tests.providers.test_openai import WEATHER

COUNTED = copy.deepcopy(ANTHROPIC["tool_use"]["body"])
COUNTED["content"] = [{"type": "tool_use", "id": "t1", "name": "Numbers", "input": {"value": [1]}}]

FAULTS = json.loads((Path(__file__).parents[1] / "data" / "provider_faults.json").read_text())

modes = pytest.mark.parametrize("mode", ["sync", "async"])


def run(provider, prompt, mode):
    return asyncio.run(provider.acomplete(prompt)) if mode == "async" else provider.complete(prompt)


def read_stream(provider, prompt, mode):
    if mode == "sync":
        stream = provider.stream(prompt)
        return list(stream), stream

    stream = provider.astream(prompt)

    async def read():
        return [delta async for delta in stream]

    return asyncio.run(read()), stream


# --- 1. Retry-After never stalls a program ----------------------------------------------------


@modes
@pytest.mark.parametrize("family", ["anthropic", "openai"])
def test_a_long_retry_after_fails_at_once_even_when_the_provider_says_retry(
    mode, family, policy, clock
):
    sdk = anthropic if family == "anthropic" else openai
    body = EXCHANGES["anthropic_error_429" if family == "anthropic" else "error_rate_limit"]
    limited = response(sdk, 429, body, {"retry-after": "3600", "x-should-retry": "true"})
    script = Script(sdk, [limited])
    make = anthropic_provider if family == "anthropic" else openai_provider
    prompt = COUNT.render() if family == "anthropic" else WEATHER.render()
    with pytest.raises(RateLimitError, match=r"asked to wait 3600 s.*max_retry_after=60") as info:
        run(make(script, policy), prompt, mode)
    assert clock.waits == []
    assert len(script.requests) == 1
    assert info.value.retry_after == 3600


@pytest.mark.parametrize(
    "value",
    ["-5", "soon-ish", "", "inf", "-inf", "nan", "1e308", "1e9", "0x10", "Wed, 99 Foo 2025"],
)
@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
def test_unusable_retry_after_values_are_treated_as_absent(header, value, policy, clock):
    limited = response(anthropic, 429, EXCHANGES["anthropic_error_429"], {header: value})
    script = Script(anthropic, [limited, response(anthropic, 200, COUNTED)])
    completion = anthropic_provider(script, policy).complete(COUNT.render())
    assert completion.attempts == 2
    assert clock.waits == [0.5]  # the policy's own backoff (no jitter in these tests)


def _error_with(headers, message=""):
    return SimpleNamespace(response=SimpleNamespace(headers=headers), message=message)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["retry-after", "retry-after-ms", "date", "anthropic-ratelimit-tokens-reset"]
        ),
        st.one_of(st.text(max_size=40), st.floats().map(str), st.integers().map(str)),
    ),
    st.text(max_size=60),
)
def test_reading_retry_after_never_raises_and_never_asks_for_absurd_waits(headers, message):
    wait = retry_after(_error_with(headers, message))
    assert wait is None or 0 <= wait <= 7 * 24 * 3600


def test_anthropic_reset_timestamps_are_read_against_the_response_date():
    headers = {
        "date": "Tue, 26 Mar 2024 19:59:59 GMT",
        "anthropic-ratelimit-requests-reset": "2024-03-26T20:00:00Z",
    }
    error = SimpleNamespace(response=SimpleNamespace(headers=headers), status_code=429)
    assert retry_after(error) == 1.0


def test_retry_policy_settings_are_checked():
    with pytest.raises(ConfigurationError, match="max_retry_after"):
        RetryPolicy(max_retry_after=float("nan"))
    with pytest.raises(ConfigurationError, match="attempts"):
        RetryPolicy(attempts=0)


# --- 2. Incomplete streams are errors ---------------------------------------------------------


def _openai_sse_without_finish():
    events = [e for e in EXCHANGES["structured_sse"].split("\n\n") if e.strip()]
    kept = [e for e in events if '"finish_reason":"stop"' not in e and "[DONE]" not in e]
    kept = [e for e in kept if '"usage":{' not in e or '"choices":[{' in e]
    return "\n\n".join(kept) + "\n\n"


def _anthropic_sse_without_stop():
    events = ANTHROPIC["text_stream"]["sse"].split("\n\n")
    return "\n\n".join(e for e in events if "message_stop" not in e)


@modes
def test_an_openai_stream_without_its_finish_reason_is_cut_off(mode, policy):
    script = Script(openai, [])
    script.steps = [sse(script, _openai_sse_without_finish())]
    with pytest.raises(ProviderConnectionError, match="ended without a finish_reason"):
        read_stream(openai_provider(script, policy), WEATHER.render(), mode)


@modes
def test_an_anthropic_stream_without_message_stop_is_cut_off(mode, policy):
    script = Script(anthropic, [])
    script.steps = [sse(script, _anthropic_sse_without_stop())]
    prompt = Template(User("hi"), name="t", model="claude-3-haiku-20240307").render()
    with pytest.raises(ProviderConnectionError, match="ended without message_stop"):
        read_stream(anthropic_provider(script, policy), prompt, mode)


@modes
@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_a_malformed_first_event_is_a_provider_error(mode, family, policy):
    sdk = anthropic if family == "anthropic" else openai
    script = Script(sdk, [])
    body = (
        "event: message_start\ndata: {not json\n\n" if family == "anthropic" else "data: {oops\n\n"
    )
    script.steps = [sse(script, body)]
    make = anthropic_provider if family == "anthropic" else openai_provider
    prompt = COUNT.render() if family == "anthropic" else WEATHER.render()
    with pytest.raises(ProviderError, match="the stream could not be read") as info:
        read_stream(make(script, policy), prompt, mode)
    assert not isinstance(info.value, json.JSONDecodeError)


@modes
@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("overloaded_error", ProviderUnavailableError),
        ("api_error", ProviderUnavailableError),
        ("rate_limit_error", RateLimitError),
        ("billing_error", QuotaExceededError),
        ("invalid_request_error", RequestRejectedError),
    ],
)
def test_an_error_event_mid_stream_is_mapped_by_its_type(mode, kind, error, policy):
    events = ANTHROPIC["text_stream"]["sse"].split("\n\n")
    body = copy.deepcopy(FAULTS["anthropic_overloaded_event"])
    body["error"]["type"] = kind
    cut = [*events[:3], f"event: error\ndata: {json.dumps(body)}", ""]
    script = Script(anthropic, [])
    script.steps = [sse(script, "\n\n".join(cut))]
    prompt = Template(User("hi"), name="t", model="claude-3-haiku-20240307").render()
    with pytest.raises(error) as info:
        read_stream(anthropic_provider(script, policy), prompt, mode)
    assert "HTTP 200" not in str(info.value)
    assert type(info.value) is error


@modes
def test_an_openai_error_chunk_mid_stream_is_mapped_by_its_type(mode, policy):
    head = EXCHANGES["structured_sse"].split("\n\n")[:3]
    error = {"error": {"message": "The server had an error", "type": "server_error"}}
    script = Script(openai, [])
    script.steps = [sse(script, "\n\n".join([*head, f"data: {json.dumps(error)}", ""]))]
    with pytest.raises(ProviderUnavailableError, match="The server had an error"):
        read_stream(openai_provider(script, policy), WEATHER.render(), mode)


# --- refusals: the same on every path ---------------------------------------------------------


@modes
def test_openai_refusal_is_the_same_streamed_or_not(mode, policy):
    script = Script(openai, [response(openai, 200, EXCHANGES["refusal"])])
    with pytest.raises(ModelRefusalError) as plain:
        run(openai_provider(script, policy), WEATHER.render(), mode)
    refusal = EXCHANGES["refusal"]["choices"][0]["message"]["refusal"]
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "refusal": ""}}]},
        {"choices": [{"index": 0, "delta": {"refusal": refusal[:10]}}]},
        {"choices": [{"index": 0, "delta": {"refusal": refusal[10:]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ]
    common = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o"}
    text = "".join(f"data: {json.dumps({**common, **c})}\n\n" for c in chunks) + "data: [DONE]\n\n"
    script = Script(openai, [])
    script.steps = [sse(script, text)]
    with pytest.raises(ModelRefusalError) as streamed:
        read_stream(openai_provider(script, policy), WEATHER.render(), mode)
    assert streamed.value.text == plain.value.text == refusal


@modes
def test_anthropic_refusal_is_the_same_streamed_or_not(mode, policy):
    prompt = Template(User("hi"), name="t", model="claude-opus-4-7").render()
    body = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-opus-4-7",
        "content": [],
        "stop_reason": "refusal",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 0},
    }
    script = Script(anthropic, [response(anthropic, 200, body)])
    with pytest.raises(ModelRefusalError) as plain:
        run(anthropic_provider(script, policy), prompt, mode)
    script = Script(anthropic, [])
    script.steps = [
        sse(script, FAULTS["anthropic_refusal_sse"] + "\n")
    ]  # the file lost its last \n
    with pytest.raises(ModelRefusalError) as streamed:
        read_stream(anthropic_provider(script, policy), prompt, mode)
    assert streamed.value.text == plain.value.text == "refused"
    assert len(script.requests) == 1  # refusals are not repaired


# --- 4. errors in the right family ------------------------------------------------------------


@modes
@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (400, "anthropic_credit_balance", {}, QuotaExceededError),
        (429, "anthropic_spend_limit", {"x-should-retry": "true"}, QuotaExceededError),
        (402, "anthropic_billing_402", {}, QuotaExceededError),
        (413, "anthropic_too_large_413", {}, RequestRejectedError),
    ],
)
def test_anthropic_account_errors_are_not_retried(mode, status, body, headers, error, policy):
    failing = response(anthropic, status, FAULTS[body], {"request-id": "", **headers})
    script = Script(anthropic, [failing])
    with pytest.raises(error) as info:
        run(anthropic_provider(script, policy), COUNT.render(), mode)
    assert type(info.value) is error
    assert len(script.requests) == 1
    if "request_id" in FAULTS[body]:  # the body's id, when the header has none
        assert info.value.request_id == FAULTS[body]["request_id"]


@modes
def test_an_openai_request_too_large_for_the_rate_limit_is_not_retried(mode, policy):
    failing = response(openai, 429, FAULTS["openai_request_too_large"])
    script = Script(openai, [failing])
    with pytest.raises(RequestRejectedError, match=r"too large.*retrying cannot help") as info:
        run(openai_provider(script, policy), WEATHER.render(), mode)
    assert not isinstance(info.value, RateLimitError)
    assert len(script.requests) == 1


# --- 5. truncation is named -------------------------------------------------------------------


@modes
def test_an_anthropic_reply_cut_off_at_max_tokens_is_named(mode, policy):
    body = copy.deepcopy(COUNTED)
    body["content"] = [{"type": "text", "text": '{"value": [1, 2'}]
    body["stop_reason"] = "max_tokens"
    script = Script(anthropic, [response(anthropic, 200, body)])
    with pytest.raises(OutputTruncatedError) as info:
        run(anthropic_provider(script, policy), COUNT.render(), mode)
    assert info.value.max_tokens == 4096  # claude-3-haiku-20240307: its maximum output
    assert info.value.text == '{"value": [1, 2'
    assert len(script.requests) == 1


@modes
def test_a_streamed_reply_cut_off_at_max_tokens_is_named(mode, policy):
    text = EXCHANGES["structured_sse"].replace('"finish_reason":"stop"', '"finish_reason":"length"')
    events = [e for e in text.split("\n\n") if e.strip()]
    events = events[:4] + [e for e in events if "length" in e or "[DONE]" in e]
    script = Script(openai, [])
    script.steps = [sse(script, "\n\n".join(events) + "\n\n")]
    with pytest.raises(OutputTruncatedError, match="cut off at the model's output limit"):
        read_stream(openai_provider(script, policy), WEATHER.render(), mode)


# --- 6. OpenAI-compatible servers -------------------------------------------------------------


class City(BaseModel):
    city: str


CITY = Template(
    [User("Name a city."), JsonOutput()],
    name="city",
    output=City,
    model="smollm2",
    params={"max_tokens": 20},
)


def test_server_profiles_choose_the_token_limit_and_structured_output_mode():
    official = OpenAIProvider().build_request(CITY.render())
    assert official["max_completion_tokens"] == 20
    assert official["response_format"]["type"] == "json_schema"
    local = OpenAIProvider(base_url="http://127.0.0.1:8080/v1").build_request(CITY.render())
    assert local["max_tokens"] == 20
    assert "max_completion_tokens" not in local
    llama = OpenAIProvider(base_url="http://x/v1", server="llama-cpp-python")
    request = llama.build_request(CITY.render())
    assert request["response_format"] == {
        "type": "json_object",
        "schema": CITY.render().output.schema,
    }
    from promptlib import ServerProfile

    prompted = OpenAIProvider(server=ServerProfile("mine", structured_output="prompted"))
    assert "response_format" not in prompted.build_request(CITY.render())
    bare = Template([User("Name a city.")], name="bare", output=City, model="m")
    with pytest.raises(ConfigurationError, match=r"add a JsonOutput\(\) block"):
        prompted.build_request(bare.render())
    with pytest.raises(ConfigurationError, match=r"did you mean 'llama\.cpp'"):
        OpenAIProvider(server="llama.cp")
    with pytest.raises(ConfigurationError, match="structured_output"):
        ServerProfile("x", structured_output="xml")  # type: ignore[arg-type]


@modes
def test_a_server_refusing_a_response_format_says_so_and_is_not_retried(mode, policy, clock):
    refused = response(openai, 500, FAULTS["llama_cpp_python_json_schema_refused"])
    script = Script(openai, [refused])
    local = OpenAIProvider(
        openai.OpenAI(api_key="x", base_url="http://127.0.0.1:9/v1", http_client=script.client()),
        async_client=openai.AsyncOpenAI(
            api_key="x", base_url="http://127.0.0.1:9/v1", http_client=script.async_client()
        ),
        retry=policy,
    )
    assert local.server.name == "compatible"  # told by the client's base URL
    with pytest.raises(UnsupportedFeatureError, match="server='llama-cpp-python'") as info:
        run(local, CITY.render(), mode)
    assert info.value.feature == "response_format json_schema"
    assert len(script.requests) == 1
    assert clock.waits == []
    # From OpenAI's own API the same words are the request's fault, not a missing feature.
    script = Script(openai, [response(openai, 400, FAULTS["llama_cpp_python_json_schema_refused"])])
    with pytest.raises(RequestRejectedError) as info:
        run(openai_provider(script, policy), CITY.render(), mode)
    assert not isinstance(info.value, UnsupportedFeatureError)


# --- 7. strict schemas never change meaning ---------------------------------------------------


class Scores(BaseModel):
    scores: dict[str, float]


def test_schemas_strict_mode_cannot_express_are_sent_non_strict_and_unchanged(caplog):
    template = Template([User("x"), JsonOutput()], name="s", output=Scores, model="gpt-4o")
    prompt = template.render()
    caplog.set_level("INFO", logger="promptlib.providers")
    request = OpenAIProvider().build_request(prompt)
    sent = request["response_format"]["json_schema"]
    assert sent["strict"] is False
    assert sent["schema"] == prompt.output.schema
    assert "open map" in caplog.text
    with pytest.raises(ConfigurationError, match="cannot be sent in OpenAI strict mode"):
        OpenAIProvider(strict=True).build_request(prompt)
    assert (
        OpenAIProvider(strict=False).build_request(WEATHER.render())["response_format"][
            "json_schema"
        ]["strict"]
        is False
    )


# --- 8. one provider, many event loops --------------------------------------------------------


@pytest.mark.allow_provider_requests  # a stand-in server on 127.0.0.1
@pytest.mark.parametrize("provider_class", [OpenAIProvider])
def test_a_provider_is_reusable_across_event_loops(provider_class, local_openai):
    url, seen = local_openai
    provider = provider_class(base_url=url, retry=RetryPolicy(attempts=1))
    prompt = Template(User("hi"), name="t", model="gpt-4o-mini").render()
    first = asyncio.run(provider.acomplete(prompt))
    second = asyncio.run(provider.acomplete(prompt))
    assert first.text == second.text == '{"priority": "urgent"}'
    assert len(seen) == 2


@pytest.fixture
def trickling_server():
    """A stand-in on 127.0.0.1 that sends its reply one byte every 0.05 s, forever."""
    import threading
    import time as clock

    stop = threading.Event()

    def post(handler):
        handler.rfile.read(int(handler.headers["content-length"]))
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", "100000")
        handler.end_headers()
        for _ in range(400):  # bounded: 20 s at most
            if stop.is_set():
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()
            clock.sleep(0.05)

    with stand_in(post) as url:
        yield url
        stop.set()


@pytest.mark.allow_provider_requests  # the stand-in on 127.0.0.1
def test_a_reply_trickled_byte_by_byte_ends_at_the_deadline(trickling_server, clock):
    import time as wall

    policy = RetryPolicy(attempts=2, jitter=0, deadline=0.5, async_sleep=clock.async_sleep)
    provider = OpenAIProvider(base_url=trickling_server, timeout=5, retry=policy)
    started = wall.monotonic()
    with pytest.raises(ProviderTimeoutError, match=r"deadline=0\.5"):
        asyncio.run(provider.acomplete(WEATHER.render()))
    assert wall.monotonic() - started < 5
    with pytest.raises(ConfigurationError, match="deadline"):
        RetryPolicy(deadline=0)


@pytest.fixture
def pinging_server():
    """A stand-in on 127.0.0.1 that opens a stream and then only sends pings (bounded)."""
    import threading
    import time as clock

    stop = threading.Event()

    def post(handler):
        handler.rfile.read(int(handler.headers["content-length"]))
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.end_headers()
        for _ in range(200):  # 20 s at most
            if stop.is_set():
                return
            handler.wfile.write(b": ping\n\n")
            handler.wfile.flush()
            clock.sleep(0.1)

    with stand_in(post) as url:
        yield url
        stop.set()


@pytest.mark.allow_provider_requests  # the stand-in on 127.0.0.1
def test_an_async_stream_that_only_pings_ends_at_the_deadline(pinging_server):
    import time as wall

    policy = RetryPolicy(attempts=1, deadline=0.5)
    provider = OpenAIProvider(base_url=pinging_server, timeout=5, retry=policy)

    async def read():
        return [delta async for delta in provider.astream(WEATHER.render())]

    started = wall.monotonic()
    with pytest.raises(ProviderTimeoutError, match="no event arrived"):
        asyncio.run(read())
    assert wall.monotonic() - started < 3


@pytest.mark.allow_provider_requests  # the stand-in on 127.0.0.1
def test_a_sync_reply_trickled_byte_by_byte_ends_at_the_deadline(trickling_server, clock):
    import time as wall

    policy = RetryPolicy(attempts=2, jitter=0, deadline=0.5, sleep=clock.sleep)
    provider = OpenAIProvider(base_url=trickling_server, timeout=5, retry=policy)
    started = wall.monotonic()
    with pytest.raises(ProviderTimeoutError):
        provider.complete(WEATHER.render())
    assert wall.monotonic() - started < 4  # two attempts of about half a second
