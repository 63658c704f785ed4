"""The offline guard stops the official SDK clients too, not only promptlib's adapters."""

from __future__ import annotations

import asyncio
import json

import anthropic
import httpx
import httpx2
import openai
import pytest

from promptlib import (
    OpenAIProvider,
    ProviderConnectionError,
    RequestsBlockedError,
    RetryPolicy,
    Template,
    User,
)
from promptlib.testing._guard import (
    OFFLINE_TRANSPORT,
    blocking_sdk_transports,
    is_offline_transport,
)
from tests.repository.conftest import SHIPPED


@pytest.fixture
def prompt():
    from promptlib import Registry

    return Registry(SHIPPED).render("sentiment@production", review="Lovely.")


# A refused loopback port: even if the guard failed, nothing would leave the machine.
CLOSED = "http://127.0.0.1:9"


def ask_openai(**options):
    client = openai.OpenAI(api_key="sk-test", base_url=f"{CLOSED}/v1", **options)
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )


def ask_anthropic(**options):
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=CLOSED, **options)
    return client.messages.create(
        model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )


async def ask_both_async():
    results = []
    for ask in (
        lambda: openai.AsyncOpenAI(api_key="k", base_url=f"{CLOSED}/v1").chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        ),
        lambda: anthropic.AsyncAnthropic(api_key="k", base_url=CLOSED).messages.create(
            model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        ),
    ):
        try:
            await ask()
        except Exception as exc:
            results.append(exc)
    return results


@pytest.mark.parametrize("ask", [ask_openai, ask_anthropic])
def test_a_raw_sdk_client_is_blocked_with_the_guards_message(ask):
    with pytest.raises(RequestsBlockedError, match="a test tried to send a real request") as info:
        ask()
    assert "allow_provider_requests" in str(info.value)
    assert "127.0.0.1" in str(info.value)  # loopback is blocked too, unless the test opts in


def test_async_sdk_clients_are_blocked():
    errors = asyncio.run(ask_both_async())
    assert [type(e).__mro__[1] for e in errors] == [RequestsBlockedError] * 2


def test_the_sdk_does_not_retry_a_blocked_request():
    with pytest.raises(RequestsBlockedError):
        ask_anthropic(max_retries=5)  # would sleep for seconds if it retried


def test_mocked_transports_are_not_blocked():
    def reply(request):
        return httpx2.Response(200, json={"id": "m", "choices": [], "object": "chat.completion",
                                          "created": 0, "model": "gpt-4o-mini"})  # fmt: skip

    mocked = httpx2.Client(transport=httpx2.MockTransport(reply))
    assert ask_openai(http_client=mocked).id == "m"

    class Replayer(httpx2.BaseTransport):
        def handle_request(self, request):
            return reply(request)

    setattr(Replayer, OFFLINE_TRANSPORT, True)
    assert ask_openai(http_client=httpx2.Client(transport=Replayer())).id == "m"

    class Scripted(httpx2.HTTPTransport):  # marked in its class body
        OFFLINE_TRANSPORT = True

        def handle_request(self, request):
            return reply(request)

    assert ask_openai(http_client=httpx2.Client(transport=Scripted())).id == "m"
    provider = OpenAIProvider(openai.OpenAI(api_key="k", http_client=mocked))
    assert is_offline_transport(provider._sync()._client._transport)


def test_setting_the_variable_inside_a_test_allows_the_adapters(monkeypatch, prompt):
    provider = OpenAIProvider(api_key="sk-test", base_url=f"{CLOSED}/v1")
    provider.retry = RetryPolicy(attempts=1)
    with pytest.raises(RequestsBlockedError, match="request to openai"):
        provider.complete(prompt)
    monkeypatch.setenv("PROMPTLIB_ALLOW_REQUESTS", "1")
    with pytest.raises(ProviderConnectionError):  # sent, and refused by the closed port
        provider.complete(prompt)


def test_other_http_traffic_is_left_alone():
    with pytest.raises(httpx.ConnectError):
        httpx.get(CLOSED)
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(CLOSED)


def test_setting_the_variable_inside_a_test_allows_requests(monkeypatch):
    monkeypatch.setenv("PROMPTLIB_ALLOW_REQUESTS", "1")
    with pytest.raises(openai.APIConnectionError):  # sent, and refused by the closed port
        ask_openai(max_retries=0)


@pytest.mark.allow_provider_requests
def test_the_marker_allows_requests():
    with pytest.raises(anthropic.APIConnectionError):
        ask_anthropic(max_retries=0)


OK = {
    "id": "m",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
}


class TracedOpenAI(openai.OpenAI):
    """A user's subclass, as tracing wrappers make."""


@pytest.mark.parametrize(
    "make",
    [
        lambda: openai.OpenAI(
            api_key="k", base_url=f"{CLOSED}/v1", default_headers={"User-Agent": "myapp/1.0"}
        ),
        lambda: openai.OpenAI(api_key="k", base_url=f"{CLOSED}/v1").with_options(
            default_headers={"user-agent": "svc"}
        ),
        lambda: TracedOpenAI(api_key="k", base_url=f"{CLOSED}/v1"),
        lambda: openai.OpenAI(api_key="k", base_url="https://api.openai.com/v1").with_options(
            default_headers={"user-agent": "x", "x-stainless-lang": openai.Omit()}
        ),
    ],
    ids=["user-agent", "with-options", "subclass", "provider-host"],
)
def test_sdk_requests_are_recognised_whatever_the_client_says(make):
    with pytest.raises(RequestsBlockedError, match="request to openai"):
        make().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )


def test_an_anthropic_client_with_its_own_user_agent_is_blocked():
    with pytest.raises(RequestsBlockedError, match="request to anthropic"):
        ask_anthropic(default_headers={"User-Agent": "svc/2"})


def test_the_module_level_client_is_blocked(monkeypatch):
    monkeypatch.setattr(openai, "api_key", "sk-test")
    monkeypatch.setattr(openai, "base_url", f"{CLOSED}/v1/")
    monkeypatch.setattr(openai, "_client", None)
    with pytest.raises(RequestsBlockedError):
        openai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )


@pytest.mark.parametrize("http", [httpx, httpx2])
def test_any_client_posting_to_a_provider_api_is_blocked(http):
    with pytest.raises(RequestsBlockedError):
        http.post(f"{CLOSED}/v1/chat/completions", json={"model": "m"})
    with pytest.raises(RequestsBlockedError):
        http.get("https://api.anthropic.com/v1/models")


PATH_VARIANTS = [
    "/V1/Chat/Completions",
    "/v1/CHAT/completions/",
    "/v1//chat//completions",
    "/v1/chat/completions//",
    "/v1/chat%2Fcompletions",
    "/v1/chat%2fcompletions",
    "/v1/%63hat/completions",
    "/v1/chat%252Fcompletions",
    "/v1/./chat/completions",
    "/v1/chat/completions;x=1",
    "/V1/MESSAGES",
    "/v1/Embeddings/",
    "/v1/responses?stream=true",
]


@pytest.mark.parametrize("path", PATH_VARIANTS)
@pytest.mark.parametrize("http", [httpx, httpx2])
def test_provider_paths_are_recognised_in_any_spelling(http, path):
    with pytest.raises(RequestsBlockedError):
        http.post(f"{CLOSED}{path}", json={"model": "m"})


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/completions-log", "/v1/chat/completions/x"])
def test_other_paths_stay_allowed(path):
    with pytest.raises(httpx2.ConnectError):  # sent, and refused by the closed port
        httpx2.post(f"{CLOSED}{path}", json={"model": "m"})


@pytest.mark.parametrize("http", [httpx, httpx2])
def test_a_real_transport_marked_offline_is_still_guarded(http):
    class Flagged(http.HTTPTransport):  # type: ignore[misc,name-defined]
        OFFLINE_TRANSPORT = True

    class Named(http.HTTPTransport):  # type: ignore[misc,name-defined]
        pass

    setattr(Named, OFFLINE_TRANSPORT, True)

    class Both(http.MockTransport, http.HTTPTransport):  # type: ignore[misc,name-defined]
        pass

    for transport in (Flagged(), Named()):
        assert not is_offline_transport(transport)
        with pytest.raises(RequestsBlockedError):
            ask_openai(http_client=httpx2.Client(transport=transport), max_retries=0)
    assert not is_offline_transport(Both(ok))


def test_a_mock_transport_forwarding_to_the_network_is_still_guarded():
    class Forwarding(httpx2.MockTransport):
        def __init__(self) -> None:
            self.real = httpx2.HTTPTransport()

        def handle_request(self, request):
            return self.real.handle_request(request)

    with pytest.raises(RequestsBlockedError):
        ask_openai(http_client=httpx2.Client(transport=Forwarding()), max_retries=0)


class RecordingTransport(httpx2.MockTransport):
    """A MockTransport subclass, as tests write to keep the requests they saw."""

    def __init__(self) -> None:
        self.seen: list[httpx2.Request] = []
        super().__init__(lambda r: (self.seen.append(r), httpx2.Response(200, json=OK))[1])


def hi():
    return Template([User("hi")], name="hi", model="gpt-4o-mini").render()


def ok(request):
    return httpx2.Response(200, json=OK)


def wsgi_app(environ, start_response):
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps(OK).encode()]


@pytest.mark.parametrize(
    "http_client",
    [
        lambda: httpx2.Client(transport=RecordingTransport()),
        lambda: httpx2.Client(mounts={"all://": httpx2.MockTransport(ok)}),
        lambda: httpx2.Client(transport=httpx2.WSGITransport(app=wsgi_app)),
    ],
    ids=["mock-subclass", "mounts", "wsgi"],
)
def test_requests_that_never_reach_the_network_are_not_blocked(http_client):
    client = openai.OpenAI(api_key="sk-test", base_url=f"{CLOSED}/v1", http_client=http_client())
    assert OpenAIProvider(client).complete(hi()).text == "hi"
    assert ask_openai(http_client=http_client()).id == "m"


def test_the_transports_are_restored_when_the_last_guard_ends():
    guarded = httpx2.HTTPTransport.handle_request
    # a nested session (pytester) whose test opted in
    with blocking_sdk_transports(allowed=True), pytest.raises(openai.APIConnectionError):
        ask_openai(max_retries=0)
    assert httpx2.HTTPTransport.handle_request is guarded  # the outer guard still stands
    with pytest.raises(RequestsBlockedError):
        ask_openai()
